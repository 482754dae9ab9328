//! Payout runs and statements: a run for a closed month (one per month,
//! from 2000-01) turns available balances into statements (a line is paid
//! once), with a preview and a CSV export for the bank.
//!
//! | `GET /api/admin/payouts/preview`      | admin   |
//! | `POST /api/admin/payouts`             | admin   |
//! | `GET /api/admin/payouts/{id}/export`  | admin   |
//! | `GET /api/me/statements`              | partner |

use anyhow::Context;
use axum::{
    Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::{Currency, Money};
use sqlx::{PgConnection, PgPool};
use wire::{NewRun, NotificationKind, Run};

use super::{LedgerSettings, MoneyState, error::LedgerError, partner_of};
use crate::{
    http::csv, http::error::AppError, http::extract::ApiJson, http::session::Authenticated,
    notifications::outbox,
};

/// What a payout run pays one partner in one currency.
pub use wire::Payable;

/// Unpaid available lines whose sum, per partner and currency, reaches the
/// minimum: what a run at `now` would pay.
pub async fn payable(
    conn: &mut PgConnection,
    minimum_minor: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Payable>, LedgerError> {
    let rows = sqlx::query_as::<_, (String, String, String, i64, i64, Option<String>)>(
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
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(partner_id, partner_name, currency, total_minor, lines, method)| Payable {
                partner_id,
                partner_name,
                currency,
                total_minor,
                lines,
                method,
            },
        )
        .collect())
}

/// A statement: what a payout run paid one partner in one currency.
pub type StatementEntry = wire::StatementEntry<DateTime<Utc>>;

/// A statement as [`STATEMENT_COLUMNS`] read it.
#[derive(sqlx::FromRow)]
pub(super) struct StatementRow {
    pub id: i64,
    pub run_id: i64,
    pub period: String,
    pub partner_id: String,
    pub currency: String,
    pub total_minor: i64,
    pub run_at: DateTime<Utc>,
}

impl From<StatementRow> for StatementEntry {
    fn from(row: StatementRow) -> StatementEntry {
        StatementEntry {
            id: row.id,
            run_id: row.run_id,
            period: row.period,
            partner_id: row.partner_id,
            currency: row.currency,
            total_minor: row.total_minor,
            run_at: row.run_at,
        }
    }
}

pub(super) const STATEMENT_COLUMNS: &str = "s.id, s.run_id, r.period, s.partner_id, \
     s.currency::text AS currency, s.total_minor, r.run_at";

/// The first month a payout run may be for. A run pays every line
/// available when it runs, whatever its period: the period names the run
/// (one per month), so what matters is refusing a month nobody means
/// ("0000-01", "2206-11"). A fixed floor rather than the month of the first
/// ledger line: the check does not depend on what the ledger holds, and no
/// money of this portal predates 2000.
pub(super) const FIRST_PAYOUT_PERIOD: (i32, u32) = (2000, 1);

/// A payout period is a closed month (before the month of `now`, in UTC,
/// as the reports count months), not before [`FIRST_PAYOUT_PERIOD`],
/// written `YYYY-MM`.
pub(super) fn closed_month(period: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
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
            Err(LedgerError::Invalid(format!(
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
) -> Result<(i64, Vec<StatementEntry>), LedgerError> {
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
    let run_id = run_id
        .ok_or_else(|| LedgerError::Conflict(format!("the payout run for {period} is done")))?;
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
    let statements: Vec<StatementEntry> = sqlx::query_as::<_, StatementRow>(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s JOIN payout_runs r ON r.id = s.run_id
         WHERE s.run_id = $1 ORDER BY s.partner_id, s.currency"
    ))
    .bind(run_id)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(StatementEntry::from)
    .collect();
    for statement in &statements {
        notify_paid(&mut tx, statement).await?;
    }
    tx.commit().await?;
    settings.tell(statements.iter().map(|s| s.partner_id.clone()));
    Ok((run_id, statements))
}

/// Tells a statement's partner they are paid, in the run's transaction;
/// the notice opens the statement.
async fn notify_paid(tx: &mut PgConnection, statement: &StatementEntry) -> Result<(), LedgerError> {
    let Some(account_id) = outbox::account_of(tx, &statement.partner_id).await? else {
        return Ok(());
    };
    let total = match Currency::parse(&statement.currency) {
        Ok(currency) => {
            let english = model::NumberFormat::for_language("en");
            format!(
                "{} {currency}",
                Money::new(statement.total_minor, currency).format_grouped_in(english)
            )
        }
        Err(_) => format!(
            "{} minor units of {}",
            statement.total_minor, statement.currency
        ),
    };
    outbox::enqueue(
        tx,
        &outbox::Notice {
            account_id,
            kind: NotificationKind::PayoutMade,
            dedupe_key: format!("statement:{}", statement.id),
            title: format!("Payout made: {total}"),
            body: format!("Your commission for {} is on its way.", statement.period),
            screen: format!("#statement-{}", statement.id),
            topic: None,
        },
    )
    .await?;
    Ok(())
}

/// The finance team's file for a run: one row per statement, with the
/// partner's masked payout method.
pub async fn payout_export(pool: &PgPool, run_id: i64) -> Result<String, LedgerError> {
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
        return Err(LedgerError::NotFound);
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
            csv::field(&row.partner_id),
            row.currency,
            amount.to_decimal(),
            csv::field(row.holder.as_deref().unwrap_or("")),
            csv::field(row.method.as_deref().unwrap_or("missing"))
        ));
    }
    Ok(csv)
}

/// A partner's statements, newest first.
pub async fn statements_of(
    pool: &PgPool,
    partner_id: &str,
) -> Result<Vec<StatementEntry>, LedgerError> {
    Ok(sqlx::query_as::<_, StatementRow>(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s JOIN payout_runs r ON r.id = s.run_id
         WHERE s.partner_id = $1 ORDER BY r.run_at DESC, s.id DESC"
    ))
    .bind(partner_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(StatementEntry::from)
    .collect())
}

/// What a run now would pay, and whom it would skip for want of a method.
pub(super) async fn payout_preview(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<Payable>>, AppError> {
    who.require_admin()?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        payable(&mut conn, state.ledger.payout_minimum_minor, Utc::now()).await?,
    ))
}

pub(super) async fn handle_run_payouts(
    State(state): State<MoneyState>,
    who: Authenticated,
    ApiJson(run): ApiJson<NewRun>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let (run_id, statements) = run_payouts(
        &state.pool,
        &state.ledger,
        run.period.trim(),
        &who.account_id,
        Utc::now(),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(Run { run_id, statements }),
    )
        .into_response())
}

pub(super) async fn handle_payout_export(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let csv = payout_export(&state.pool, id).await?;
    Ok(csv::attachment(&format!("payout-run-{id}"), csv))
}

pub(super) async fn my_statements(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<StatementEntry>>, AppError> {
    Ok(Json(statements_of(&state.pool, &partner_of(&who)?).await?))
}

#[cfg(test)]
mod tests {
    use super::closed_month;

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
}
