//! Deciding deals and what a decision appends to the ledger.
//!
//! Approving a deal appends, in one transaction with the decision:
//! - the partner's base line: their tier's base rate at approval time (the
//!   deal itself counted, see `rules::deals_in_window`) of the deal amount;
//! - an Elite partner's custom line, when an admin agreed one;
//! - their team leader's override line, linked to the base line, when the
//!   leader's own tier earns overrides.
//!
//! Every line freezes its rate, tier and hold date, and carries an
//! explanation a partner can read. The deal row is locked for the decision,
//! so two admins approving at once serialise: the second finds it approved
//! and gets the same lines back. The idempotency keys' unique constraint is
//! the backstop should anything else ever append for the same cause.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use model::{Currency, Money, Timestamp};
use rules::{Rate, RulesConfig, Tier};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::AppError;

/// The money rules, the hold before a line becomes available, and who to
/// tell that a partner's earnings moved.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    pub rules: RulesConfig,
    pub hold: chrono::Duration,
    /// The smallest available balance a payout run pays, per currency, in
    /// that currency's minor units (50.00 by default).
    pub payout_minimum_minor: i64,
    /// Partner ids whose deals or lines changed (the account view writer
    /// listens); sent after the change is committed.
    pub changed: tokio::sync::mpsc::UnboundedSender<String>,
}

impl LedgerSettings {
    /// Has these partners' account views written again.
    pub fn tell(&self, partners: impl IntoIterator<Item = String>) {
        for partner in partners {
            let _ = self.changed.send(partner);
        }
    }
}

/// A partner's money in one currency: held, payable, paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Balance {
    pub currency: String,
    pub pending_minor: i64,
    pub available_minor: i64,
    pub paid_minor: i64,
}

/// Balances per currency at `now`: a line is pending until its hold ends,
/// then available until a statement pays it. Sums of the lines, nothing
/// stored.
pub async fn balances(
    pool: &PgPool,
    partner_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Balance>, AppError> {
    Ok(balance_rows(pool, Some(partner_id), now)
        .await?
        .into_iter()
        .map(|(_, balance)| balance)
        .collect())
}

/// Every partner's balances, by partner: one query for the whole list.
pub async fn all_balances(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Balance>>, AppError> {
    let mut by_partner: HashMap<String, Vec<Balance>> = HashMap::new();
    for (partner, balance) in balance_rows(pool, None, now).await? {
        by_partner.entry(partner).or_default().push(balance);
    }
    Ok(by_partner)
}

/// Balances by partner and currency, of one partner or of all.
async fn balance_rows(
    pool: &PgPool,
    partner_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Balance)>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        partner_id: String,
        #[sqlx(flatten)]
        balance: Balance,
    }
    Ok(sqlx::query_as::<_, Row>(
        "SELECT l.partner_id, l.currency::text AS currency,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NULL AND l.available_at > $2), 0)::bigint AS pending_minor,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NULL AND l.available_at <= $2), 0)::bigint AS available_minor,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NOT NULL), 0)::bigint AS paid_minor
         FROM ledger_lines l LEFT JOIN statement_lines s ON s.line_id = l.id
         WHERE $1::text IS NULL OR l.partner_id = $1
         GROUP BY l.partner_id, l.currency ORDER BY l.partner_id, l.currency",
    )
    .bind(partner_id)
    .bind(now)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.partner_id, r.balance))
    .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Line {
    pub id: i64,
    pub partner_id: String,
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub rate_bps: Option<i32>,
    pub tier: Option<String>,
    pub deal_id: Option<i64>,
    pub order_id: Option<i64>,
    pub source_line_id: Option<i64>,
    pub accrued_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub explanation: String,
}

#[derive(sqlx::FromRow)]
struct DealRow {
    partner_id: String,
    lead_id: String,
    amount_minor: i64,
    currency: String,
    status: String,
    version: i64,
}

/// What an admin saw of a deal when they decided on it. The partner may
/// edit a submitted deal's lead until the decision, so a decision names the
/// figures it was made on and is refused when the deal moved in between
/// (`deals.version` moves with every change of amount or currency, and
/// when a withdrawn deal comes back to the queue).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reviewed {
    pub amount_minor: i64,
    pub currency: String,
    pub version: i64,
}

impl DealRow {
    fn require_reviewed(&self, reviewed: &Reviewed) -> Result<(), AppError> {
        let now = (self.amount_minor, self.currency.as_str(), self.version);
        if now
            == (
                reviewed.amount_minor,
                reviewed.currency.as_str(),
                reviewed.version,
            )
        {
            return Ok(());
        }
        // The server's messages are in English: amounts grouped as there.
        let english = model::NumberFormat::for_language("en");
        let show = |minor: i64, currency: &str| match Currency::parse(currency) {
            Ok(c) => format!("{} {c}", Money::new(minor, c).format_grouped_in(english)),
            Err(_) => format!("{minor} minor units of {currency:?}"),
        };
        Err(AppError::Stale {
            message: format!(
                "this deal changed since you reviewed it: it is now {} (you saw {}); review it again",
                show(self.amount_minor, &self.currency),
                show(reviewed.amount_minor, &reviewed.currency),
            ),
            current: serde_json::json!({
                "amount_minor": self.amount_minor,
                "currency": self.currency,
                "version": self.version,
                "status": self.status,
            }),
        })
    }
}

const LINE_COLUMNS: &str = "id, partner_id, kind, amount_minor, currency::text AS currency, \
     rate_bps, tier, deal_id, order_id, source_line_id, accrued_at, available_at, explanation";

/// Approves a submitted deal and appends its lines; an approved deal
/// answers with the lines it already has.
pub async fn approve(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    reviewed: &Reviewed,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, AppError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    match deal.status.as_str() {
        // Approved already (a second click, a second admin): the same
        // lines, if it was approved as this admin saw it.
        "approved" => {
            deal.require_reviewed(reviewed)?;
            let lines = lines_of_deal(&mut tx, deal_id).await?;
            tx.commit().await?;
            return Ok(lines);
        }
        "submitted" => deal.require_reviewed(reviewed)?,
        other => return Err(AppError::Conflict(format!("the deal is {other}"))),
    }
    sqlx::query(
        "UPDATE deals SET status = 'approved', decided_at = $2, decided_by = $3 WHERE id = $1",
    )
    .bind(deal_id)
    .bind(now)
    .bind(admin)
    .execute(&mut *tx)
    .await?;

    let rules = &settings.rules;
    let currency = Currency::parse(&deal.currency).context("deal currency")?;
    let amount = Money::new(deal.amount_minor, currency);
    let available_at = now + settings.hold;
    let (tier, deals) = tier_at(&mut tx, &deal.partner_id, now, rules).await?;
    let rate = rules::base_rate(tier, rules);
    let base = rules::base_commission(amount, rate).map_err(anyhow::Error::from)?;
    let what = format!("deal {} of {amount}", deal.lead_id);
    let standing = format!(
        "{tier}, {deals} approved deal{} in {} days",
        if deals == 1 { "" } else { "s" },
        rules.deal_window_days
    );
    let mut lines = Vec::new();
    let base_line = append(
        &mut tx,
        NewLine {
            key: format!("deal:{deal_id}:base"),
            partner_id: &deal.partner_id,
            kind: "base",
            amount: base,
            rate: Some(rate),
            tier: Some(tier),
            deal_id: Some(deal_id),
            order_id: None,
            source_line_id: None,
            accrued_at: now,
            available_at,
            explanation: format!("{rate} base commission on {what} ({standing})"),
        },
    )
    .await?;

    let custom: Option<i32> =
        sqlx::query_scalar("SELECT elite_custom_bps FROM partner_terms WHERE partner_id = $1")
            .bind(&deal.partner_id)
            .fetch_optional(&mut *tx)
            .await?;
    let custom = custom
        .map(|bps| Rate::from_bps(u32::try_from(bps).unwrap_or(u32::MAX)))
        .transpose()
        .map_err(anyhow::Error::from)?;
    if let Some(extra) =
        rules::elite_custom(amount, tier, custom, rules).map_err(anyhow::Error::from)?
    {
        let custom_rate = custom.unwrap_or(rules.elite_custom_default);
        lines.push(
            append(
                &mut tx,
                NewLine {
                    key: format!("deal:{deal_id}:elite"),
                    partner_id: &deal.partner_id,
                    kind: "elite",
                    amount: extra,
                    rate: Some(custom_rate),
                    tier: Some(tier),
                    deal_id: Some(deal_id),
                    order_id: None,
                    source_line_id: None,
                    accrued_at: now,
                    available_at,
                    explanation: format!("{custom_rate} agreed Elite rate on {what}"),
                },
            )
            .await?,
        );
    }

    let leader: Option<String> = sqlx::query_scalar(
        "SELECT leader.partner_id FROM accounts member
         JOIN accounts leader ON leader.id = member.team_leader_id
         WHERE member.partner_id = $1 AND leader.status = 'approved'
           AND leader.partner_id IS NOT NULL",
    )
    .bind(&deal.partner_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(leader) = leader {
        let (leader_tier, _) = tier_at(&mut tx, &leader, now, rules).await?;
        if let Some(cut) = rules::team_override(base_line.amount(), leader_tier, rules)
            .map_err(anyhow::Error::from)?
        {
            let rate = rules.team_override.rate;
            lines.push(
                append(
                    &mut tx,
                    NewLine {
                        key: format!("deal:{deal_id}:override"),
                        partner_id: &leader,
                        kind: "override",
                        amount: cut,
                        rate: Some(rate),
                        tier: Some(leader_tier),
                        deal_id: Some(deal_id),
                        order_id: None,
                        source_line_id: Some(base_line.id),
                        accrued_at: now,
                        available_at,
                        explanation: format!(
                            "{rate} team override ({leader_tier}) on {}'s base commission of {} for {what}",
                            deal.partner_id,
                            base_line.amount()
                        ),
                    },
                )
                .await?,
            );
        }
    }
    lines.insert(0, base_line);
    tx.commit().await?;
    settings.tell(lines.iter().map(|l| l.partner_id.clone()));
    Ok(lines)
}

/// Rejects a submitted deal with a reason the partner will read.
pub async fn reject(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    reviewed: &Reviewed,
    admin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    match deal.status.as_str() {
        "rejected" => return deal.require_reviewed(reviewed),
        "submitted" => deal.require_reviewed(reviewed)?,
        other => return Err(AppError::Conflict(format!("the deal is {other}"))),
    }
    sqlx::query(
        "UPDATE deals SET status = 'rejected', reason = $2, decided_at = $3, decided_by = $4
         WHERE id = $1",
    )
    .bind(deal_id)
    .bind(reason)
    .bind(now)
    .bind(admin)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    settings.tell([deal.partner_id]);
    Ok(())
}

async fn lock_deal(tx: &mut PgConnection, deal_id: i64) -> Result<DealRow, AppError> {
    sqlx::query_as::<_, DealRow>(
        "SELECT partner_id, lead_id, amount_minor, currency::text AS currency, status,
                version
         FROM deals WHERE id = $1 FOR UPDATE",
    )
    .bind(deal_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)
}

/// A partner's tier at `now` and the approved deals that make it.
/// Every partner's tier at `now` and the deals counted, by partner (one
/// query); a partner with no approved deal is not listed.
pub async fn all_tiers(
    pool: &PgPool,
    settings: &LedgerSettings,
    now: DateTime<Utc>,
) -> Result<HashMap<String, (Tier, u32)>, AppError> {
    let mut approvals: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    let mut conn = pool.acquire().await?;
    for (partner, at) in standing_approvals(&mut conn, None).await? {
        approvals.entry(partner).or_default().push(at);
    }
    Ok(approvals
        .into_iter()
        .map(|(partner, at)| {
            let standing = standing(&at, now, &settings.rules);
            (partner, standing)
        })
        .collect())
}

/// A partner's tier at `now`, from their approved deals in the window.
async fn tier_at(
    tx: &mut PgConnection,
    partner_id: &str,
    now: DateTime<Utc>,
    rules: &RulesConfig,
) -> Result<(Tier, u32), AppError> {
    let approvals: Vec<DateTime<Utc>> = standing_approvals(tx, Some(partner_id))
        .await?
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    Ok(standing(&approvals, now, rules))
}

/// When each deal still standing was approved, of one partner or of all.
async fn standing_approvals(
    tx: &mut PgConnection,
    partner_id: Option<&str>,
) -> Result<Vec<(String, DateTime<Utc>)>, AppError> {
    Ok(sqlx::query_as(
        // A refunded deal no longer counts toward the tier.
        "SELECT partner_id, decided_at FROM deals
         WHERE ($1::text IS NULL OR partner_id = $1)
           AND status = 'approved' AND reversed_at IS NULL",
    )
    .bind(partner_id)
    .fetch_all(&mut *tx)
    .await?)
}

/// The tier that approvals of deals still standing (approved, not clawed
/// back) at these times give at `now`, and how many of them count: the one
/// reading for pricing a deal and for the partner's account view.
pub fn standing(
    approvals: &[DateTime<Utc>],
    now: DateTime<Utc>,
    rules: &RulesConfig,
) -> (Tier, u32) {
    let count = rules::deals_in_window(
        approvals.iter().map(|t| Timestamp(t.timestamp_millis())),
        Timestamp(now.timestamp_millis()),
        rules,
    );
    (Tier::for_deals(count, rules), count)
}

pub async fn lines_of_deal(tx: &mut PgConnection, deal_id: i64) -> Result<Vec<Line>, AppError> {
    Ok(sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE deal_id = $1 ORDER BY id"
    ))
    .bind(deal_id)
    .fetch_all(&mut *tx)
    .await?)
}

/// A partner's lines, newest first.
pub async fn lines_of_partner(pool: &PgPool, partner_id: &str) -> Result<Vec<Line>, AppError> {
    Ok(sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE partner_id = $1
         ORDER BY accrued_at DESC, id DESC"
    ))
    .bind(partner_id)
    .fetch_all(pool)
    .await?)
}

impl Line {
    pub fn amount(&self) -> Money {
        Money::new(
            self.amount_minor,
            Currency::parse(&self.currency).expect("the ledger holds valid currencies"),
        )
    }
}

struct NewLine<'a> {
    key: String,
    partner_id: &'a str,
    kind: &'static str,
    amount: Money,
    rate: Option<Rate>,
    tier: Option<Tier>,
    deal_id: Option<i64>,
    order_id: Option<i64>,
    source_line_id: Option<i64>,
    accrued_at: DateTime<Utc>,
    available_at: DateTime<Utc>,
    explanation: String,
}

/// Appends one line, or returns the line already appended for its key.
async fn append(tx: &mut PgConnection, line: NewLine<'_>) -> Result<Line, AppError> {
    let inserted = sqlx::query_as::<_, Line>(&format!(
        "INSERT INTO ledger_lines (idempotency_key, partner_id, kind, amount_minor, currency,
                                   rate_bps, tier, deal_id, order_id, source_line_id,
                                   accrued_at, available_at, explanation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING {LINE_COLUMNS}"
    ))
    .bind(&line.key)
    .bind(line.partner_id)
    .bind(line.kind)
    .bind(line.amount.minor)
    .bind(line.amount.currency.as_str())
    .bind(
        line.rate
            .map(|r| i32::try_from(r.bps()).unwrap_or(i32::MAX)),
    )
    .bind(line.tier.map(Tier::as_str))
    .bind(line.deal_id)
    .bind(line.order_id)
    .bind(line.source_line_id)
    .bind(line.accrued_at)
    .bind(line.available_at)
    .bind(&line.explanation)
    .fetch_optional(&mut *tx)
    .await?;
    match inserted {
        Some(line) => Ok(line),
        None => Ok(sqlx::query_as::<_, Line>(&format!(
            "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE idempotency_key = $1"
        ))
        .bind(&line.key)
        .fetch_one(&mut *tx)
        .await?),
    }
}

/// Reverses `lines` (a refund, a cancellation): one clawback line per line,
/// for the same partner, naming it as its source. A clawback of a line
/// still on hold becomes available when that line does, so the two net out
/// in the same balance; of a line already available or paid, at once (a
/// negative available balance carries forward to the next payout run).
async fn claw_back(
    tx: &mut PgConnection,
    lines: &[Line],
    why: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, AppError> {
    let mut reversals = Vec::new();
    for line in lines.iter().filter(|l| l.kind != "clawback") {
        // A line from before currencies were checked against ISO 4217 may
        // hold a code that no longer parses: an error, not a panic.
        let currency = Currency::parse(&line.currency).context("ledger line currency")?;
        let amount = rules::clawback(Money::new(line.amount_minor, currency))
            .map_err(anyhow::Error::from)?;
        reversals.push(
            append(
                &mut *tx,
                NewLine {
                    key: format!("clawback:{}", line.id),
                    partner_id: &line.partner_id,
                    kind: "clawback",
                    amount,
                    rate: None,
                    tier: None,
                    deal_id: line.deal_id,
                    order_id: line.order_id,
                    source_line_id: Some(line.id),
                    accrued_at: now,
                    available_at: line.available_at.max(now),
                    explanation: format!("reverses line {} ({}): {why}", line.id, line.kind),
                },
            )
            .await?,
        );
    }
    Ok(reversals)
}

/// Claws back an approved deal: every line it produced, the team leader's
/// override included. Doing it again answers the same clawback lines.
pub async fn claw_back_deal(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    admin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, AppError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    if deal.status != "approved" {
        return Err(AppError::Conflict(format!(
            "only an approved deal can be clawed back; this one is {}",
            deal.status
        )));
    }
    sqlx::query(
        "UPDATE deals SET reversed_at = coalesce(reversed_at, $2),
                          reversed_by = coalesce(reversed_by, $3),
                          reverse_reason = coalesce(reverse_reason, $4)
         WHERE id = $1",
    )
    .bind(deal_id)
    .bind(now)
    .bind(admin)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    let lines = lines_of_deal(&mut tx, deal_id).await?;
    let reversals = claw_back(&mut tx, &lines, reason, now).await?;
    tx.commit().await?;
    settings.tell(reversals.iter().map(|l| l.partner_id.clone()));
    Ok(reversals)
}

/// An order attributed to a partner's referral link, and the referral line
/// it earns if the partner's tier does (Active and above by default).
#[derive(Debug, Clone, Serialize)]
pub struct RecordedOrder {
    pub order_id: i64,
    pub line: Option<Line>,
}

pub async fn record_order(
    pool: &PgPool,
    settings: &LedgerSettings,
    reference: &str,
    partner_id: Option<&str>,
    amount: Money,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<RecordedOrder, AppError> {
    let mut tx = pool.begin().await?;
    let order_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO orders (reference, partner_id, amount_minor, currency, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (reference) DO NOTHING RETURNING id",
    )
    .bind(reference)
    .bind(partner_id)
    .bind(amount.minor)
    .bind(amount.currency.as_str())
    .bind(admin)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let order_id = order_id
        .ok_or_else(|| AppError::Conflict(format!("order {reference:?} is recorded already")))?;
    let Some(partner_id) = partner_id else {
        // A direct sale: revenue for the reports, nobody's commission.
        tx.commit().await?;
        return Ok(RecordedOrder {
            order_id,
            line: None,
        });
    };
    let rules = &settings.rules;
    let (tier, _) = tier_at(&mut tx, partner_id, now, rules).await?;
    let line = match rules::referral_share(amount, tier, rules).map_err(anyhow::Error::from)? {
        None => None,
        Some(share) => {
            let rate = rules.referral.rate;
            Some(
                append(
                    &mut tx,
                    NewLine {
                        key: format!("order:{order_id}:referral"),
                        partner_id,
                        kind: "referral",
                        amount: share,
                        rate: Some(rate),
                        tier: Some(tier),
                        deal_id: None,
                        order_id: Some(order_id),
                        source_line_id: None,
                        accrued_at: now,
                        available_at: now + settings.hold,
                        explanation: format!(
                            "{rate} referral share ({tier}) of order {reference} of {amount}"
                        ),
                    },
                )
                .await?,
            )
        }
    };
    tx.commit().await?;
    settings.tell([partner_id.to_owned()]);
    Ok(RecordedOrder { order_id, line })
}

/// A refunded order: marked refunded (which takes it out of the revenue
/// reports), and its referral line, if it earned one, clawed back. A direct
/// sale earned nobody a line: its refund reverses none.
pub async fn refund_order(
    pool: &PgPool,
    settings: &LedgerSettings,
    order_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, AppError> {
    let mut tx = pool.begin().await?;
    // The id alone: a direct sale's `partner_id` is NULL, and reading that
    // as a partner made its refund an internal error that recorded nothing.
    let found: Option<i64> = sqlx::query_scalar(
        "UPDATE orders SET refunded_at = coalesce(refunded_at, $2) WHERE id = $1
         RETURNING id",
    )
    .bind(order_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    found.ok_or(AppError::NotFound)?;
    let lines = sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE order_id = $1 ORDER BY id"
    ))
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    let reversals = claw_back(&mut tx, &lines, reason, now).await?;
    tx.commit().await?;
    settings.tell(reversals.iter().map(|l| l.partner_id.clone()));
    Ok(reversals)
}

/// What a payout run pays one partner in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Payable {
    pub partner_id: String,
    pub partner_name: String,
    pub currency: String,
    pub total_minor: i64,
    pub lines: i64,
    /// How the finance team pays them, masked; `None` when the partner has
    /// not registered a method (they are paid once they do).
    pub method: Option<String>,
}

/// Unpaid available lines whose sum, per partner and currency, reaches the
/// minimum: what a run at `now` would pay.
pub async fn payable(
    conn: &mut PgConnection,
    minimum_minor: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Payable>, AppError> {
    Ok(sqlx::query_as::<_, Payable>(
        "SELECT l.partner_id, p.name AS partner_name, l.currency::text AS currency,
                sum(l.amount_minor)::bigint AS total_minor, count(*) AS lines,
                m.kind || ' ' || m.masked AS method
         FROM ledger_lines l
         JOIN partners p ON p.id = l.partner_id
         LEFT JOIN statement_lines s ON s.line_id = l.id
         LEFT JOIN payout_methods m ON m.partner_id = l.partner_id
         WHERE s.line_id IS NULL AND l.available_at <= $2
         GROUP BY l.partner_id, p.name, l.currency, m.kind, m.masked
         HAVING sum(l.amount_minor) >= $1
         ORDER BY p.name, l.currency",
    )
    .bind(minimum_minor)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StatementEntry {
    pub id: i64,
    pub run_id: i64,
    pub period: String,
    pub partner_id: String,
    pub currency: String,
    pub total_minor: i64,
    pub run_at: DateTime<Utc>,
}

const STATEMENT_COLUMNS: &str = "s.id, s.run_id, r.period, s.partner_id, \
     s.currency::text AS currency, s.total_minor, r.run_at";

/// The first month a payout run may be for. A run pays every line
/// available when it runs, whatever its period: the period names the run
/// (one per month), so what matters is refusing a month nobody means
/// ("0000-01", "2206-11"). A fixed floor rather than the month of the first
/// ledger line: the check does not depend on what the ledger holds, and no
/// money of this portal predates 2000.
const FIRST_PAYOUT_PERIOD: (i32, u32) = (2000, 1);

/// A payout period is a closed month (before the month of `now`, in UTC,
/// as the reports count months), not before [`FIRST_PAYOUT_PERIOD`],
/// written `YYYY-MM`.
fn closed_month(period: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    use chrono::Datelike;
    let last = match (now.year(), now.month()) {
        (year, 1) => (year - 1, 12),
        (year, month) => (year, month - 1),
    };
    let month = match period.as_bytes() {
        [y @ .., b'-', m1, m2] if y.len() == 4 => {
            let digits = |b: &[u8]| b.iter().all(u8::is_ascii_digit);
            (digits(y) && digits(&[*m1, *m2])).then(|| {
                let year: i32 = period[..4].parse().unwrap_or_default();
                (year, u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0'))
            })
        }
        _ => None,
    };
    match month {
        Some(m @ (_, 1..=12)) if (FIRST_PAYOUT_PERIOD..=last).contains(&m) => Ok(()),
        _ => {
            let (first_year, first_month) = FIRST_PAYOUT_PERIOD;
            Err(AppError::BadRequest(format!(
                "a payout period is a closed month from {first_year}-{first_month:02} to \
                 {}-{:02}, written YYYY-MM; not {period:?}",
                last.0, last.1
            )))
        }
    }
}

/// The monthly payout run: one statement per partner and currency that
/// reaches the minimum, listing the lines it pays; those lines are paid
/// from then on. One run per period: a second is refused.
pub async fn run_payouts(
    pool: &PgPool,
    settings: &LedgerSettings,
    period: &str,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<(i64, Vec<StatementEntry>), AppError> {
    closed_month(period, now)?;
    let mut tx = pool.begin().await?;
    let run_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payout_runs (period, minimum_minor, run_by, run_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (period) DO NOTHING RETURNING id",
    )
    .bind(period)
    .bind(settings.payout_minimum_minor)
    .bind(admin)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let run_id =
        run_id.ok_or_else(|| AppError::Conflict(format!("the payout run for {period} is done")))?;
    let payable = payable(&mut tx, settings.payout_minimum_minor, now).await?;
    // Without a payout method the finance team cannot pay: those balances
    // stay available for the next run.
    for entry in payable.iter().filter(|entry| entry.method.is_some()) {
        // The statement pays exactly the lines it lists, and its total is
        // their sum: both come from the same rows in one statement.
        let statement: i64 = sqlx::query_scalar(
            "WITH paid AS (
                 SELECT l.id, l.amount_minor FROM ledger_lines l
                 LEFT JOIN statement_lines s ON s.line_id = l.id
                 WHERE s.line_id IS NULL AND l.available_at <= $4
                   AND l.partner_id = $2 AND l.currency = $3
             ), statement AS (
                 INSERT INTO statements (run_id, partner_id, currency, total_minor)
                 SELECT $1, $2, $3, coalesce(sum(amount_minor), 0) FROM paid
                 RETURNING id
             ), listed AS (
                 INSERT INTO statement_lines (line_id, statement_id)
                 SELECT paid.id, statement.id FROM paid, statement
             )
             SELECT id FROM statement",
        )
        .bind(run_id)
        .bind(&entry.partner_id)
        .bind(&entry.currency)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tracing::info!(statement, partner = entry.partner_id, "statement issued");
    }
    let statements = sqlx::query_as::<_, StatementEntry>(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s JOIN payout_runs r ON r.id = s.run_id
         WHERE s.run_id = $1 ORDER BY s.partner_id, s.currency"
    ))
    .bind(run_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    settings.tell(statements.iter().map(|s| s.partner_id.clone()));
    Ok((run_id, statements))
}

/// The finance team's file for a run: one row per statement, with the
/// partner's masked payout method.
pub async fn payout_export(pool: &PgPool, run_id: i64) -> Result<String, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        period: String,
        partner_id: String,
        currency: String,
        total_minor: i64,
        holder: Option<String>,
        method: Option<String>,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT s.id, r.period, s.partner_id, s.currency::text AS currency, s.total_minor,
                m.holder, m.kind || ' ' || m.masked AS method
         FROM statements s JOIN payout_runs r ON r.id = s.run_id
         LEFT JOIN payout_methods m ON m.partner_id = s.partner_id
         WHERE s.run_id = $1 ORDER BY s.id",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM payout_runs WHERE id = $1)")
        .bind(run_id)
        .fetch_one(pool)
        .await?;
    if !known {
        return Err(AppError::NotFound);
    }
    let mut csv = String::from("statement,period,partner_id,currency,amount,holder,method\n");
    for row in rows {
        let amount = Money::new(
            row.total_minor,
            Currency::parse(&row.currency).context("statement currency")?,
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            row.id,
            row.period,
            csv_field(&row.partner_id),
            row.currency,
            amount.to_decimal(),
            csv_field(row.holder.as_deref().unwrap_or("")),
            csv_field(row.method.as_deref().unwrap_or("missing"))
        ));
    }
    Ok(csv)
}

/// A CSV field, quoted when it must be; text with a leading `=`, `+`, `-`
/// or `@` is defused so a spreadsheet never runs it as a formula (a
/// negative number is left alone).
pub fn csv_field(value: &str) -> String {
    let number = value
        .strip_prefix('-')
        .unwrap_or(value)
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.')
        && !value.is_empty();
    let value = if !number && value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A partner's statements, newest first.
pub async fn statements_of(
    pool: &PgPool,
    partner_id: &str,
) -> Result<Vec<StatementEntry>, AppError> {
    Ok(sqlx::query_as::<_, StatementEntry>(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s JOIN payout_runs r ON r.id = s.run_id
         WHERE s.partner_id = $1 ORDER BY r.run_at DESC, s.id DESC"
    ))
    .bind(partner_id)
    .fetch_all(pool)
    .await?)
}

/// Registers where a partner is paid; only the last four characters of the
/// account are kept.
pub async fn set_payout_method(
    pool: &PgPool,
    partner_id: &str,
    kind: &str,
    holder: &str,
    account: &str,
) -> Result<String, AppError> {
    if !matches!(kind, "bank_account" | "paypal") {
        return Err(AppError::BadRequest(
            "kind must be bank_account or paypal".to_owned(),
        ));
    }
    let account: String = account.chars().filter(|c| !c.is_whitespace()).collect();
    let holder = holder.trim();
    if account.chars().count() < 6 || account.chars().count() > 64 || holder.is_empty() {
        return Err(AppError::BadRequest(
            "a payout method needs a holder and an account of 6 to 64 characters".to_owned(),
        ));
    }
    use crate::api_auth::{Lines, plain_text};
    plain_text(holder, "a payout method", "holder", Lines::One)?;
    plain_text(&account, "a payout method", "account", Lines::One)?;
    let last: String = account
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let masked = format!("•••• {last}");
    sqlx::query(
        "INSERT INTO payout_methods (partner_id, kind, holder, masked) VALUES ($1, $2, $3, $4)
         ON CONFLICT (partner_id) DO UPDATE SET kind = EXCLUDED.kind, holder = EXCLUDED.holder,
             masked = EXCLUDED.masked, updated_at = now()",
    )
    .bind(partner_id)
    .bind(kind)
    .bind(holder)
    .bind(&masked)
    .execute(pool)
    .await?;
    Ok(masked)
}

#[cfg(test)]
mod tests {
    use super::{closed_month, csv_field};

    #[test]
    fn a_payout_period_is_a_closed_month_since_2000() {
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let now = at("2026-12-02T03:00:00Z");
        for ok in ["2026-11", "2000-01", "2013-06"] {
            assert!(closed_month(ok, now).is_ok(), "{ok}");
        }
        for bad in [
            "2026-12",
            "2027-01",
            "1999-12",
            "0000-01",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            " 2026-11",
            "２０２６-11",
            "9999-12",
            "",
        ] {
            let refused = closed_month(bad, now).unwrap_err().to_string();
            assert!(
                refused.contains("from 2000-01 to 2026-11"),
                "{bad}: {refused}"
            );
        }
        // In January, the closed months end in December of the year before.
        assert!(closed_month("2026-12", at("2027-01-01T00:00:00Z")).is_ok());
        assert!(closed_month("2027-01", at("2027-01-31T23:59:59Z")).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-12.50"), "-12.50");
        assert_eq!(csv_field("-cmd"), "'-cmd");
        assert_eq!(csv_field(""), "");
    }
}
