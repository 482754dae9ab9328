//! Tier standing: a partner's tier and approvals in the rules' window,
//! computed from approved deals at the time asked.

use chrono::{DateTime, Utc};
use model::Timestamp;
use rules::{RulesConfig, Tier};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

use super::{LedgerSettings, error::LedgerError};

/// A partner's tier at `now` and the approved deals that make it.
/// Every partner's tier at `now` and the deals counted, by partner (one
/// query); a partner with no approved deal is not listed.
pub async fn all_tiers(
    pool: &PgPool,
    settings: &LedgerSettings,
    now: DateTime<Utc>,
) -> Result<HashMap<String, (Tier, u32)>, LedgerError> {
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
pub(super) async fn tier_at(
    tx: &mut PgConnection,
    partner_id: &str,
    now: DateTime<Utc>,
    rules: &RulesConfig,
) -> Result<(Tier, u32), LedgerError> {
    let approvals: Vec<DateTime<Utc>> = standing_approvals(tx, Some(partner_id))
        .await?
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    Ok(standing(&approvals, now, rules))
}

/// When each deal still standing was approved, of one partner or of all.
pub(super) async fn standing_approvals(
    tx: &mut PgConnection,
    partner_id: Option<&str>,
) -> Result<Vec<(String, DateTime<Utc>)>, LedgerError> {
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
