//! The scores of a period, from the ledger's decisions and the training
//! projection, and the frozen scores of a closed period.
//!
//! Metrics, each over the period's instants `[starts_at, ends_at)`:
//! - `deals`: deals approved in it and still standing (not refunded);
//!   reached at the last such approval.
//! - `revenue`: those deals' amounts, one board per currency (amounts are
//!   never added across currencies); reached at the last approval.
//! - `training`: modules completed in it (every lesson of the module's
//!   latest version done, the last of them in the period); reached at the
//!   last such completion.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::platform::periods::{Period, Span};

/// One board's metric: `deals`, `training`, or `revenue` in a currency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Metric {
    pub name: &'static str,
    pub currency: Option<String>,
}

/// A partner's score on one metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub partner: String,
    pub score: i64,
    pub reached_at: DateTime<Utc>,
}

/// Every metric's scores in `period`, computed now.
pub async fn live(
    pool: &PgPool,
    period: &Period,
) -> Result<BTreeMap<Metric, Vec<Row>>, sqlx::Error> {
    let mut boards: BTreeMap<Metric, Vec<Row>> = BTreeMap::new();
    let deals: Vec<(String, String, i64, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT partner_id, trim(currency), count(*), sum(amount_minor)::bigint, max(decided_at)
         FROM deals
         WHERE status = 'approved' AND reversed_at IS NULL
           AND decided_at >= $1 AND decided_at < $2
         GROUP BY partner_id, currency",
    )
    .bind(period.starts_at)
    .bind(period.ends_at)
    .fetch_all(pool)
    .await?;
    let mut by_partner: BTreeMap<String, (i64, DateTime<Utc>)> = BTreeMap::new();
    for (partner, currency, count, amount, at) in deals {
        let entry = by_partner.entry(partner.clone()).or_insert((0, at));
        entry.0 += count;
        entry.1 = entry.1.max(at);
        boards
            .entry(Metric {
                name: "revenue",
                currency: Some(currency),
            })
            .or_default()
            .push(Row {
                partner,
                score: amount,
                reached_at: at,
            });
    }
    boards.insert(
        Metric {
            name: "deals",
            currency: None,
        },
        by_partner
            .into_iter()
            .map(|(partner, (score, reached_at))| Row {
                partner,
                score,
                reached_at,
            })
            .collect(),
    );
    let training: Vec<(String, i64, DateTime<Utc>)> = sqlx::query_as(
        "WITH latest AS (
             SELECT track_id, max(version) AS version FROM training_versions GROUP BY track_id
         ), modules AS (
             SELECT l.track_id, l.module_id, count(*) AS lessons
             FROM training_lessons l JOIN latest USING (track_id, version)
             GROUP BY l.track_id, l.module_id
         ), done AS (
             SELECT p.partner_id, l.track_id, l.module_id, count(*) AS lessons,
                    max(p.completed_at) AS done_at
             FROM training_lessons l JOIN latest USING (track_id, version)
             JOIN training_progress p ON p.track_id = l.track_id AND p.lesson_id = l.lesson_id
             GROUP BY p.partner_id, l.track_id, l.module_id
         )
         SELECT d.partner_id, count(*), max(d.done_at)
         FROM done d JOIN modules m USING (track_id, module_id)
         WHERE d.lessons = m.lessons AND d.done_at >= $1 AND d.done_at < $2
         GROUP BY d.partner_id",
    )
    .bind(period.starts_at)
    .bind(period.ends_at)
    .fetch_all(pool)
    .await?;
    boards.insert(
        Metric {
            name: "training",
            currency: None,
        },
        training
            .into_iter()
            .map(|(partner, score, reached_at)| Row {
                partner,
                score,
                reached_at,
            })
            .collect(),
    );
    Ok(boards)
}

/// Each partner's team now: their team leader's account, or their own if
/// they lead one; none for a partner in no team.
pub async fn teams(pool: &PgPool) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT partner_id, CASE WHEN role = 'team_leader' THEN id ELSE team_leader_id END
         FROM accounts
         WHERE status = 'approved' AND partner_id IS NOT NULL
           AND (role = 'team_leader' OR team_leader_id IS NOT NULL)",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// How long after its end a period is frozen: a decision is stamped
/// (`decided_at`) before its transaction commits, so one stamped in the
/// last moments may become visible a little after the end. A minute is
/// far longer than any decision's transaction.
pub const SETTLING: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The scores of the closed `period`, frozen the first time this is
/// asked (its scores then, with each partner's team then); afterwards
/// always those. Returns them with the teams they were frozen with.
pub async fn frozen(
    pool: &PgPool,
    span: Span,
    period: &Period,
) -> Result<(BTreeMap<Metric, Vec<Row>>, BTreeMap<String, String>), sqlx::Error> {
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM leaderboard_periods WHERE span = $1 AND period_key = $2)",
    )
    .bind(span.as_str())
    .bind(&period.key)
    .fetch_one(pool)
    .await?;
    if !known {
        let live = live(pool, period).await?;
        let teams = teams(pool).await?;
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO leaderboard_periods (span, period_key) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(span.as_str())
        .bind(&period.key)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Another node froze it first: theirs stands.
        if inserted == 1 {
            for (metric, rows) in &live {
                for row in rows {
                    sqlx::query(
                        "INSERT INTO leaderboard_scores
                             (span, period_key, metric, currency, partner_id, team, score, reached_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(span.as_str())
                    .bind(&period.key)
                    .bind(metric.name)
                    .bind(metric.currency.as_deref().unwrap_or(""))
                    .bind(&row.partner)
                    .bind(teams.get(&row.partner))
                    .bind(row.score)
                    .bind(row.reached_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, String, Option<String>, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT metric, trim(currency), partner_id, team, score, reached_at
         FROM leaderboard_scores WHERE span = $1 AND period_key = $2",
    )
    .bind(span.as_str())
    .bind(&period.key)
    .fetch_all(pool)
    .await?;
    let mut boards: BTreeMap<Metric, Vec<Row>> = BTreeMap::new();
    let mut teams = BTreeMap::new();
    for (metric, currency, partner, team, score, reached_at) in rows {
        let name = match metric.as_str() {
            "deals" => "deals",
            "training" => "training",
            _ => "revenue",
        };
        if let Some(team) = team {
            teams.insert(partner.clone(), team);
        }
        boards
            .entry(Metric {
                name,
                currency: (!currency.is_empty()).then_some(currency),
            })
            .or_default()
            .push(Row {
                partner,
                score,
                reached_at,
            });
    }
    // A frozen period lists every metric, scored or not.
    for name in ["deals", "training"] {
        boards
            .entry(Metric {
                name,
                currency: None,
            })
            .or_default();
    }
    Ok((boards, teams))
}
