//! Which partner an order is theirs, decided inside the order's own
//! transaction, and why, kept with the order.
//!
//! The candidates are every click the buyer's browser made (its signed
//! visitor cookie names them), each inside the programme's window or not,
//! each by the buyer's own partner account or not. Then:
//!
//! 1. A coupon the buyer typed wins: it is the buyer naming a partner at
//!    the moment of buying, and the only trace of a partner on a device
//!    that never clicked (the phone saw the link, the laptop buys). A
//!    partner's own coupon on their own order is refused.
//! 2. Otherwise the model picks among the clicks inside the window that
//!    are not the buyer's own: the first or the last.
//! 3. Otherwise nobody: a direct sale.
//!
//! The record lists every candidate with why it lost, so a dispute, an
//! admin or the partner reads the decision as it was made.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgConnection;

/// First- or last-click attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The click that brought the buyer first.
    FirstClick,
    /// The click that brought the buyer last.
    LastClick,
}

/// The programme's attribution settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub window: Duration,
    pub model: Model,
}

/// What a checkout brings to the decision.
#[derive(Debug, Clone)]
pub struct Buyer<'a> {
    /// The visitor the signed cookie names, if any.
    pub visitor: Option<i64>,
    /// A coupon code as typed, normalised; `None` when none was typed.
    pub coupon: Option<&'a str>,
    pub email: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub click: i64,
    pub code: String,
    pub partner: String,
    pub at: DateTime<Utc>,
    /// Why it did not win (`None` for the winner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Winner {
    pub partner: String,
    /// The link, when a click won.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click: Option<i64>,
    pub by: &'static str,
}

/// The decision, as kept with the order (`orders.attribution`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub model: Model,
    pub window_days: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponUse>,
    pub candidates: Vec<Candidate>,
    pub winner: Option<Winner>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponUse {
    pub code: String,
    pub partner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<&'static str>,
}

/// Clicks of one visitor looked at: the oldest this many inside the window
/// that are not the buyer's own (the first click's), and the newest this
/// many (the last click's, and what the record shows). Bounded, as a
/// browser can be made to click without end; and neither model's winner
/// can be pushed out of the reading by clicks stuffed after it.
const CANDIDATES: i64 = 25;

/// Decides, on `tx` (the order's transaction), whose order it is.
pub async fn decide(
    tx: &mut PgConnection,
    settings: &Settings,
    buyer: &Buyer<'_>,
    now: DateTime<Utc>,
) -> Result<Decision, sqlx::Error> {
    // The partners whose account has the buyer's address: their own clicks
    // and coupon do not pay them.
    let own: Vec<String> = sqlx::query_scalar(
        "SELECT partner_id FROM accounts WHERE partner_id IS NOT NULL AND lower(email) = lower($1)",
    )
    .bind(buyer.email)
    .fetch_all(&mut *tx)
    .await?;
    let clicks: Vec<(i64, String, String, DateTime<Utc>)> = match buyer.visitor {
        None => Vec::new(),
        Some(visitor) => {
            sqlx::query_as(
                "(SELECT id, code, partner_id, clicked_at FROM referral_clicks
                  WHERE visitor = $1 AND clicked_at >= $3 AND clicked_at <= $4
                    AND partner_id <> ALL($5)
                  ORDER BY clicked_at, id LIMIT $2)
                 UNION
                 (SELECT id, code, partner_id, clicked_at FROM referral_clicks
                  WHERE visitor = $1 ORDER BY clicked_at DESC, id DESC LIMIT $2)
                 ORDER BY clicked_at, id",
            )
            .bind(visitor)
            .bind(CANDIDATES)
            .bind(now - settings.window)
            .bind(now)
            .bind(&own)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let coupon = match buyer.coupon {
        None => None,
        Some(code) => sqlx::query_scalar::<_, String>(
            "SELECT partner_id FROM partner_coupons WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?
        .map(|partner| CouponUse {
            refused: own
                .contains(&partner)
                .then_some("the buyer is the coupon's partner"),
            code: code.to_owned(),
            partner,
        }),
    };
    Ok(pick(settings, &own, clicks, coupon, now))
}

/// The decision on what was read: no IO, so the table of cases is tested
/// without a database too.
fn pick(
    settings: &Settings,
    own: &[String],
    clicks: Vec<(i64, String, String, DateTime<Utc>)>,
    coupon: Option<CouponUse>,
    now: DateTime<Utc>,
) -> Decision {
    let mut candidates: Vec<Candidate> = clicks
        .into_iter()
        .map(|(click, code, partner, at)| Candidate {
            lost: if own.contains(&partner) {
                Some("the buyer is this link's partner")
            } else if at < now - settings.window {
                Some("outside the window")
            } else if at > now {
                Some("after the order")
            } else {
                None
            },
            click,
            code,
            partner,
            at,
        })
        .collect();
    let eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].lost.is_none())
        .collect();
    let by_coupon = coupon.as_ref().filter(|c| c.refused.is_none());
    let chosen = if by_coupon.is_some() {
        None
    } else {
        match settings.model {
            Model::FirstClick => eligible.first().copied(),
            Model::LastClick => eligible.last().copied(),
        }
    };
    for &i in &eligible {
        if Some(i) != chosen {
            candidates[i].lost = Some(if by_coupon.is_some() {
                "a coupon was typed"
            } else {
                match settings.model {
                    Model::FirstClick => "a click came earlier",
                    Model::LastClick => "a click came later",
                }
            });
        }
    }
    let (winner, reason) = match (by_coupon, chosen) {
        (Some(c), _) => (
            Some(Winner {
                partner: c.partner.clone(),
                code: None,
                click: None,
                by: "coupon",
            }),
            format!("the buyer typed {}'s coupon {}", c.partner, c.code),
        ),
        (None, Some(i)) => {
            let c = &candidates[i];
            (
                Some(Winner {
                    partner: c.partner.clone(),
                    code: Some(c.code.clone()),
                    click: Some(c.click),
                    by: "click",
                }),
                format!(
                    "the {} click inside {} days: link {} of {}",
                    match settings.model {
                        Model::FirstClick => "first",
                        Model::LastClick => "last",
                    },
                    settings.window.num_days(),
                    c.code,
                    c.partner
                ),
            )
        }
        (None, None) if candidates.is_empty() && coupon.is_none() => {
            (None, "no click and no coupon: a direct sale".to_owned())
        }
        (None, None) => (
            None,
            "no click or coupon that counts: a direct sale".to_owned(),
        ),
    };
    Decision {
        model: settings.model,
        window_days: settings.window.num_days(),
        coupon,
        candidates,
        winner,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() - Duration::days(days_ago)
    }

    fn click(id: i64, partner: &str, days_ago: i64) -> (i64, String, String, DateTime<Utc>) {
        (id, format!("code{id:08}"), partner.to_owned(), at(days_ago))
    }

    fn winner(
        model: Model,
        own: &[&str],
        clicks: Vec<(i64, String, String, DateTime<Utc>)>,
        coupon: Option<(&str, bool)>,
    ) -> Option<(String, &'static str)> {
        let settings = Settings {
            window: Duration::days(30),
            model,
        };
        let own: Vec<String> = own.iter().map(|s| s.to_string()).collect();
        let coupon = coupon.map(|(partner, refused)| CouponUse {
            code: "X-1234".into(),
            partner: partner.into(),
            refused: refused.then_some("own"),
        });
        pick(&settings, &own, clicks, coupon, at(0))
            .winner
            .map(|w| (w.partner, w.by))
    }

    #[test]
    fn the_table_of_cases() {
        use Model::*;
        let w = |p: &str, by| Some((p.to_owned(), by));
        // Expired window: a click of 31 days ago counts for nobody.
        assert_eq!(
            winner(LastClick, &[], vec![click(1, "p-ana", 31)], None),
            None
        );
        assert_eq!(
            winner(LastClick, &[], vec![click(1, "p-ana", 29)], None),
            w("p-ana", "click")
        );
        // Two partners' links, in either order, under both models.
        let ana_then_ben = vec![click(1, "p-ana", 10), click(2, "p-ben", 2)];
        let ben_then_ana = vec![click(1, "p-ben", 10), click(2, "p-ana", 2)];
        assert_eq!(
            winner(FirstClick, &[], ana_then_ben.clone(), None),
            w("p-ana", "click")
        );
        assert_eq!(
            winner(LastClick, &[], ana_then_ben.clone(), None),
            w("p-ben", "click")
        );
        assert_eq!(
            winner(FirstClick, &[], ben_then_ana.clone(), None),
            w("p-ben", "click")
        );
        assert_eq!(
            winner(LastClick, &[], ben_then_ana.clone(), None),
            w("p-ana", "click")
        );
        // The first click out of the window: first-click takes the next.
        let old_then_new = vec![click(1, "p-ana", 40), click(2, "p-ben", 2)];
        assert_eq!(
            winner(FirstClick, &[], old_then_new, None),
            w("p-ben", "click")
        );
        // A coupon after another partner's click: the coupon.
        assert_eq!(
            winner(
                LastClick,
                &[],
                ana_then_ben.clone(),
                Some(("p-cleo", false))
            ),
            w("p-cleo", "coupon")
        );
        assert_eq!(
            winner(FirstClick, &[], vec![], Some(("p-cleo", false))),
            w("p-cleo", "coupon")
        );
        // A partner's own coupon and own clicks pay nobody; the others stand.
        assert_eq!(
            winner(
                LastClick,
                &["p-cleo"],
                ana_then_ben.clone(),
                Some(("p-cleo", true))
            ),
            w("p-ben", "click")
        );
        assert_eq!(
            winner(LastClick, &["p-ben"], ana_then_ben, None),
            w("p-ana", "click")
        );
        assert_eq!(winner(LastClick, &[], vec![], None), None);
    }

    #[test]
    fn the_record_says_why_each_candidate_lost() {
        let settings = Settings {
            window: Duration::days(30),
            model: Model::LastClick,
        };
        let d = pick(
            &settings,
            &[],
            vec![
                click(1, "p-ana", 40),
                click(2, "p-ana", 10),
                click(3, "p-ben", 1),
            ],
            None,
            at(0),
        );
        let lost: Vec<_> = d.candidates.iter().map(|c| c.lost).collect();
        assert_eq!(
            lost,
            [Some("outside the window"), Some("a click came later"), None]
        );
        assert_eq!(
            d.reason,
            "the last click inside 30 days: link code00000003 of p-ben"
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["model"], "last_click");
        assert_eq!(json["winner"]["click"], 3);
    }
}
