//! The ledger's lines and balances: append-only commission lines (each
//! with its idempotency key, rate, tier, hold date and explanation), the
//! reversal of lines by clawback lines, and balances as sums of lines.
//!
//! | `GET /api/me/ledger`   | partner |
//! | `GET /api/me/balances` | partner |

use anyhow::Context;
use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use model::{Currency, Money};
use rules::{Rate, Tier};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

use super::{MoneyState, error::LedgerError, partner_of};
use crate::{http::error::AppError, http::session::Authenticated};

/// A partner's money in one currency: held, payable, paid.
pub use wire::Balance;

/// Balances per currency at `now`: a line is pending until its hold ends,
/// then available until a statement pays it. Sums of the lines, nothing
/// stored.
pub async fn balances(
    pool: &PgPool,
    partner_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Balance>, LedgerError> {
    Ok(
        balances_by_partner(pool, Some(&[partner_id.to_owned()]), now)
            .await?
            .remove(partner_id)
            .unwrap_or_default(),
    )
}

/// Every partner's balances, by partner: one query for the whole list.
pub async fn all_balances(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Balance>>, LedgerError> {
    balances_by_partner(pool, None, now).await
}

/// Balances by partner, of `partners` or (`None`) of all, in one query; a
/// partner with no lines is absent.
pub async fn balances_by_partner(
    pool: &PgPool,
    partners: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Balance>>, LedgerError> {
    Ok(crate::grouped(balance_rows(pool, partners, now).await?))
}

/// Balances by partner and currency, of some partners or of all.
async fn balance_rows(
    pool: &PgPool,
    partners: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Balance)>, LedgerError> {
    Ok(sqlx::query_as::<_, (String, String, i64, i64, i64)>(
        "SELECT l.partner_id, l.currency::text AS currency,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NULL AND l.available_at > $2), 0)::bigint AS pending_minor,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NULL AND l.available_at <= $2), 0)::bigint AS available_minor,
                coalesce(sum(l.amount_minor) FILTER (WHERE s.line_id IS NOT NULL), 0)::bigint AS paid_minor
         FROM ledger_lines l LEFT JOIN statement_lines s ON s.line_id = l.id
         WHERE $1::text[] IS NULL OR l.partner_id = ANY($1)
         GROUP BY l.partner_id, l.currency ORDER BY l.partner_id, l.currency",
    )
    .bind(partners)
    .bind(now)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(partner_id, currency, pending_minor, available_minor, paid_minor)| {
        let balance = Balance {
            currency,
            pending_minor,
            available_minor,
            paid_minor,
        };
        (partner_id, balance)
    })
    .collect())
}

/// A ledger line as stored (`ledger_lines`); the API answers with
/// [`Line::to_wire`].
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

/// Lines as the API answers them.
pub fn wire_lines(lines: &[Line]) -> Result<Vec<wire::Line<DateTime<Utc>>>, LedgerError> {
    lines.iter().map(Line::to_wire).collect()
}

impl Line {
    /// The line as the API answers it: its kind and tier as words the
    /// contract knows (a stored word it does not know is a defect).
    pub fn to_wire(&self) -> Result<wire::Line<DateTime<Utc>>, LedgerError> {
        let kind = wire::LineKind::parse(&self.kind)
            .ok_or_else(|| anyhow::anyhow!("line {} has kind {:?}", self.id, self.kind))?;
        let tier = match &self.tier {
            None => None,
            Some(tier) => Some(
                wire::Tier::parse(tier)
                    .ok_or_else(|| anyhow::anyhow!("line {} has tier {tier:?}", self.id))?,
            ),
        };
        Ok(wire::Line {
            id: self.id,
            partner_id: self.partner_id.clone(),
            kind,
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
            rate_bps: self.rate_bps,
            tier,
            deal_id: self.deal_id,
            order_id: self.order_id,
            source_line_id: self.source_line_id,
            accrued_at: self.accrued_at,
            available_at: self.available_at,
            explanation: self.explanation.clone(),
        })
    }

    pub fn amount(&self) -> Money {
        Money::new(
            self.amount_minor,
            Currency::parse(&self.currency).expect("the ledger holds valid currencies"),
        )
    }
}

pub(super) const LINE_COLUMNS: &str = "id, partner_id, kind, amount_minor, currency::text AS currency, \
     rate_bps, tier, deal_id, order_id, source_line_id, accrued_at, available_at, explanation";

pub async fn lines_of_deal(tx: &mut PgConnection, deal_id: i64) -> Result<Vec<Line>, LedgerError> {
    Ok(sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE deal_id = $1 ORDER BY id"
    ))
    .bind(deal_id)
    .fetch_all(&mut *tx)
    .await?)
}

/// One line, by id.
pub(super) async fn line(tx: &mut PgConnection, id: i64) -> Result<Line, LedgerError> {
    Ok(sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?)
}

/// A partner's lines, newest first.
pub async fn lines_of_partner(pool: &PgPool, partner_id: &str) -> Result<Vec<Line>, LedgerError> {
    Ok(sqlx::query_as::<_, Line>(&format!(
        "SELECT {LINE_COLUMNS} FROM ledger_lines WHERE partner_id = $1
         ORDER BY accrued_at DESC, id DESC"
    ))
    .bind(partner_id)
    .fetch_all(pool)
    .await?)
}

pub(super) struct NewLine<'a> {
    pub(super) key: String,
    pub(super) partner_id: &'a str,
    pub(super) kind: &'static str,
    pub(super) amount: Money,
    pub(super) rate: Option<Rate>,
    pub(super) tier: Option<Tier>,
    pub(super) deal_id: Option<i64>,
    pub(super) order_id: Option<i64>,
    pub(super) source_line_id: Option<i64>,
    pub(super) accrued_at: DateTime<Utc>,
    pub(super) available_at: DateTime<Utc>,
    pub(super) explanation: String,
}

/// Appends one line, or returns the line already appended for its key.
pub(super) async fn append(tx: &mut PgConnection, line: NewLine<'_>) -> Result<Line, LedgerError> {
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
pub(super) async fn claw_back(
    tx: &mut PgConnection,
    lines: &[Line],
    why: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, LedgerError> {
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

/// The signed-in partner's ledger lines, newest first.
pub(super) async fn my_ledger(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<wire::Line<DateTime<Utc>>>>, AppError> {
    let lines = lines_of_partner(&state.pool, &partner_of(&who)?).await?;
    Ok(Json(wire_lines(&lines)?))
}

pub(super) async fn my_balances(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<Balance>>, AppError> {
    Ok(Json(
        balances(&state.pool, &partner_of(&who)?, Utc::now()).await?,
    ))
}

/// The answer of a reversal (a clawback, a refund): the lines it appended.
pub(super) fn reversed(lines: &[Line]) -> Result<wire::Reversed<DateTime<Utc>>, LedgerError> {
    Ok(wire::Reversed {
        lines: wire_lines(lines)?,
    })
}
