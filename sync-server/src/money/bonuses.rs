//! Challenge bonuses: a met challenge whose reward is a bonus leaves an
//! achievement `pending` with its amount frozen (`leaderboards::challenges`
//! awards it); an admin approves it, as a deal, and the ledger gains one
//! `bonus` line, or rejects it with a reason the partner reads. Money is
//! decided here, on the server, never by the evaluation that found the
//! challenge met.
//!
//! | `GET /api/admin/bonuses?status=`       | admin |
//! | `POST /api/admin/bonuses/{id}/approve` | admin |
//! | `POST /api/admin/bonuses/{id}/reject`  | admin |

use axum::{
    Json,
    extract::{Path, Query, State},
};
use chrono::{DateTime, Utc};
use model::{Currency, Money};
use sqlx::{PgConnection, PgPool};
use wire::{BonusEntry, NotificationKind, Reason};

use super::{
    LedgerSettings, MoneyState,
    error::LedgerError,
    lines::{Line, NewLine, append},
};
use crate::{
    http::{error::AppError, extract::decision_reason, session::Authenticated},
    notifications::outbox,
};

/// An achievement's bonus, locked for a decision.
#[derive(sqlx::FromRow)]
struct Locked {
    partner_id: String,
    challenge: String,
    period_key: String,
    bonus_status: String,
    bonus_minor: Option<i64>,
    bonus_currency: Option<String>,
    line_id: Option<i64>,
}

async fn lock(tx: &mut PgConnection, id: i64) -> Result<Locked, LedgerError> {
    sqlx::query_as(
        "SELECT a.partner_id, c.title AS challenge, a.period_key, a.bonus_status,
                a.bonus_minor, a.bonus_currency::text AS bonus_currency, a.line_id
         FROM achievements a JOIN challenges c ON c.id = a.challenge_id
         WHERE a.id = $1 FOR UPDATE OF a",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LedgerError::NotFound)
}

impl Locked {
    /// The frozen amount; an achievement without one earned a badge.
    fn amount(&self) -> Result<Money, LedgerError> {
        match (self.bonus_minor, self.bonus_currency.as_deref()) {
            (Some(minor), Some(code)) => Ok(Money::new(
                minor,
                Currency::parse(code).map_err(|e| anyhow::anyhow!("bonus currency: {e}"))?,
            )),
            _ => Err(LedgerError::Conflict(
                "this achievement earned a badge, not a bonus".to_owned(),
            )),
        }
    }
}

/// Approves a pending bonus: one `bonus` line for the partner, available
/// at once (a bonus has no refund to wait out, unlike a deal's
/// commission). Approving it again answers the same line; a rejected one
/// is refused.
pub async fn approve(
    pool: &PgPool,
    settings: &LedgerSettings,
    id: i64,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Line, LedgerError> {
    let mut tx = pool.begin().await?;
    let bonus = lock(&mut tx, id).await?;
    let amount = bonus.amount()?;
    match bonus.bonus_status.as_str() {
        "pending" => {}
        "approved" => {
            let line_id = bonus
                .line_id
                .ok_or_else(|| anyhow::anyhow!("approved bonus {id} names no line"))?;
            let line = super::lines::line(&mut tx, line_id).await?;
            return Ok(line);
        }
        "rejected" => {
            return Err(LedgerError::Conflict(
                "the bonus was rejected; it cannot be approved now".to_owned(),
            ));
        }
        other => return Err(LedgerError::Conflict(format!("the bonus is {other}"))),
    }
    let line = append(
        &mut tx,
        NewLine {
            key: format!("bonus:{id}"),
            partner_id: &bonus.partner_id,
            kind: "bonus",
            amount,
            rate: None,
            tier: None,
            deal_id: None,
            order_id: None,
            source_line_id: None,
            accrued_at: now,
            available_at: now,
            explanation: format!(
                "bonus for meeting the challenge \u{201c}{}\u{201d} in {}",
                bonus.challenge, bonus.period_key
            ),
        },
    )
    .await?;
    sqlx::query(
        "UPDATE achievements SET bonus_status = 'approved', decided_by = $2, decided_at = $3,
                line_id = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(admin)
    .bind(now)
    .bind(line.id)
    .execute(&mut *tx)
    .await?;
    notify(
        &mut tx,
        id,
        &bonus,
        "approved",
        format!(
            "{} is in your earnings, available now.",
            super::decisions::english_amount(amount)
        ),
    )
    .await?;
    tx.commit().await?;
    settings.tell([bonus.partner_id]);
    Ok(line)
}

/// Rejects a pending bonus with a reason the partner reads; rejecting it
/// again is a no-op, and an approved one is refused (a line once paid is
/// reversed by a clawback, never by changing the decision).
pub async fn reject(
    pool: &PgPool,
    settings: &LedgerSettings,
    id: i64,
    admin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let mut tx = pool.begin().await?;
    let bonus = lock(&mut tx, id).await?;
    bonus.amount()?;
    match bonus.bonus_status.as_str() {
        "pending" => {}
        "rejected" => return Ok(()),
        other => return Err(LedgerError::Conflict(format!("the bonus is {other}"))),
    }
    sqlx::query(
        "UPDATE achievements SET bonus_status = 'rejected', decided_by = $2, decided_at = $3,
                reason = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(admin)
    .bind(now)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    notify(&mut tx, id, &bonus, "rejected", reason.to_owned()).await?;
    tx.commit().await?;
    settings.tell([bonus.partner_id]);
    Ok(())
}

/// Tells the partner how their bonus was decided, in the decision's
/// transaction; the notice opens the leaderboard, where achievements are.
async fn notify(
    tx: &mut PgConnection,
    id: i64,
    bonus: &Locked,
    outcome: &str,
    body: String,
) -> Result<(), LedgerError> {
    let Some(account_id) = outbox::account_of(tx, &bonus.partner_id).await? else {
        return Ok(());
    };
    let title = match outcome {
        "approved" => format!("Bonus approved: {}", bonus.challenge),
        _ => format!("Bonus not approved: {}", bonus.challenge),
    };
    outbox::enqueue(
        tx,
        &outbox::Notice {
            account_id,
            kind: NotificationKind::Achievement,
            dedupe_key: format!("bonus:{id}:{outcome}"),
            title,
            body,
            screen: "#leaderboard".to_owned(),
            topic: None,
        },
    )
    .await?;
    Ok(())
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    partner_id: String,
    partner_name: String,
    challenge: String,
    period_key: String,
    score: i64,
    bonus_minor: i64,
    bonus_currency: String,
    bonus_status: String,
    achieved_at: DateTime<Utc>,
    reason: Option<String>,
    line_id: Option<i64>,
}

/// Bonuses, oldest first; `?status=pending` (the default: the queue),
/// `approved`, `rejected` or `all`. At most 500, so the list stays a page.
pub(super) async fn list(
    State(state): State<MoneyState>,
    who: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<BonusEntry>>, AppError> {
    who.require_admin()?;
    let status = query.status.as_deref().unwrap_or("pending");
    if !matches!(status, "pending" | "approved" | "rejected" | "all") {
        return Err(AppError::BadRequest(
            "status must be one of pending, approved, rejected, all".to_owned(),
        ));
    }
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT a.id, a.partner_id, p.name AS partner_name, c.title AS challenge, a.period_key,
                a.score, a.bonus_minor, a.bonus_currency::text AS bonus_currency, a.bonus_status,
                a.achieved_at, a.reason, a.line_id
         FROM achievements a JOIN challenges c ON c.id = a.challenge_id
         JOIN partners p ON p.id = a.partner_id
         WHERE a.bonus_status <> 'none' AND ($1 = 'all' OR a.bonus_status = $1)
         ORDER BY a.achieved_at, a.id LIMIT 500",
    )
    .bind(status)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| BonusEntry {
                id: r.id,
                partner_id: r.partner_id,
                partner_name: r.partner_name,
                challenge: r.challenge,
                period: r.period_key,
                score: r.score,
                amount_minor: r.bonus_minor,
                currency: r.bonus_currency,
                status: r.bonus_status,
                achieved_at: r.achieved_at.to_rfc3339(),
                reason: r.reason,
                line_id: r.line_id,
            })
            .collect(),
    ))
}

pub(super) async fn handle_approve(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<wire::Line<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    let line = approve(&state.pool, &state.ledger, id, &who.account_id, Utc::now()).await?;
    Ok(Json(line.to_wire()?))
}

pub(super) async fn handle_reject(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    crate::http::extract::ApiJson(body): crate::http::extract::ApiJson<Reason>,
) -> Result<axum::http::StatusCode, AppError> {
    who.require_admin()?;
    let why = decision_reason(&body.reason, "a rejection")?;
    reject(
        &state.pool,
        &state.ledger,
        id,
        &who.account_id,
        &why,
        Utc::now(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
