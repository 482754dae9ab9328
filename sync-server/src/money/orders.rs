//! Referral orders: an order attributed to a partner's link, the referral
//! line it earns, and its refund (which reverses the line and leaves the
//! revenue reports).
//!
//! | `GET /api/admin/orders`              | admin |
//! | `POST /api/admin/orders`             | admin |
//! | `POST /api/admin/orders/{id}/refund` | admin |
//! | `POST /api/admin/orders/{id}/delivered` | admin |

use axum::{
    Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::Money;
use sqlx::{PgConnection, PgPool};
use wire::{NewOrder, OrderEntry};

use super::{LedgerSettings, MoneyState, error::LedgerError};
use crate::money::{
    lines::{LINE_COLUMNS, Line, NewLine, append, claw_back, reversed},
    tiers::tier_at,
};
use crate::{
    http::error::AppError,
    http::extract::{ApiJson, Reason, bounded_text, decision_reason},
    http::session::Authenticated,
};

/// An order attributed to a partner's referral link, and the referral line
/// it earns if the partner's tier does (Active and above by default).
#[derive(Debug, Clone)]
pub struct RecordedOrder {
    pub order_id: i64,
    pub line: Option<Line>,
    /// Why a partner's order earned no line (their tier), for the partner.
    pub no_line: Option<String>,
}

pub async fn record_order(
    pool: &PgPool,
    settings: &LedgerSettings,
    reference: &str,
    partner_id: Option<&str>,
    amount: Money,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<RecordedOrder, LedgerError> {
    let mut tx = pool.begin().await?;
    let recorded = record_order_on(
        &mut tx,
        settings,
        reference,
        partner_id,
        amount,
        Some(admin),
        now,
    )
    .await?;
    tx.commit().await?;
    settings.tell(partner_id.map(str::to_owned));
    Ok(recorded)
}

/// Records an order on `tx`, which the caller commits (the storefront's
/// checkout, with its attribution, in one transaction), and then tells the
/// ledger's listeners about `partner_id`. `recorded_by` is the admin who
/// typed it, none for the storefront's.
pub async fn record_order_on(
    tx: &mut PgConnection,
    settings: &LedgerSettings,
    reference: &str,
    partner_id: Option<&str>,
    amount: Money,
    recorded_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RecordedOrder, LedgerError> {
    let order_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO orders (reference, partner_id, amount_minor, currency, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (reference) DO NOTHING RETURNING id",
    )
    .bind(reference)
    .bind(partner_id)
    .bind(amount.minor)
    .bind(amount.currency.as_str())
    .bind(recorded_by)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let order_id = order_id
        .ok_or_else(|| LedgerError::Conflict(format!("order {reference:?} is recorded already")))?;
    let Some(partner_id) = partner_id else {
        // A direct sale: revenue for the reports, nobody's commission.
        return Ok(RecordedOrder {
            order_id,
            line: None,
            no_line: None,
        });
    };
    let rules = &settings.rules;
    let (tier, _) = tier_at(&mut *tx, partner_id, now, rules).await?;
    let (line, no_line) =
        match rules::referral_share(amount, tier, rules).map_err(anyhow::Error::from)? {
            None => (
                None,
                Some(format!(
                    "{} earns no referral share: it starts at {}",
                    capitalised(&tier.to_string()),
                    capitalised(&rules.referral.min_tier.to_string())
                )),
            ),
            Some(share) => {
                let rate = rules.referral.rate;
                let line = append(
                    &mut *tx,
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
                .await?;
                (Some(line), None)
            }
        };
    Ok(RecordedOrder {
        order_id,
        line,
        no_line,
    })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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
) -> Result<Vec<Line>, LedgerError> {
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
    found.ok_or(LedgerError::NotFound)?;
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

/// An `orders` row as the list reads it: the wire's shape, field for field.
#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    reference: String,
    partner_id: Option<String>,
    partner_name: Option<String>,
    amount_minor: i64,
    currency: String,
    recorded_at: DateTime<Utc>,
    refunded_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
}

/// The most recent orders (newest first, at most 200), with the partner
/// they are attributed to and whether they were refunded.
pub(super) async fn list_orders(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<OrderEntry<DateTime<Utc>>>>, AppError> {
    who.require_admin()?;
    let rows = sqlx::query_as::<_, OrderRow>(
        "SELECT o.id, o.reference, o.partner_id, p.name AS partner_name, o.amount_minor,
                o.currency::text AS currency, o.recorded_at, o.refunded_at, o.delivered_at
         FROM orders o LEFT JOIN partners p ON p.id = o.partner_id
         ORDER BY o.recorded_at DESC, o.id DESC
         LIMIT 200",
    )
    .fetch_all(&state.pool)
    .await?;
    let orders = rows
        .into_iter()
        .map(|row| OrderEntry {
            id: row.id,
            reference: row.reference,
            partner_id: row.partner_id,
            partner_name: row.partner_name,
            amount_minor: row.amount_minor,
            currency: row.currency,
            recorded_at: row.recorded_at,
            refunded_at: row.refunded_at,
            delivered_at: row.delivered_at,
        })
        .collect();
    Ok(Json(orders))
}

pub(super) async fn handle_record_order(
    State(state): State<MoneyState>,
    who: Authenticated,
    ApiJson(order): ApiJson<NewOrder>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let reference = bounded_text(&order.reference, "an order", "reference", 100)?;
    let reference = reference.as_str();
    let bad = |e: model::ModelError| AppError::BadRequest(e.to_string());
    let currency = model::Currency::parse(&order.currency).map_err(bad)?;
    let amount = model::Money::parse_decimal(&order.amount, currency).map_err(bad)?;
    if amount.minor <= 0 {
        return Err(AppError::BadRequest(
            "an order amount is positive".to_owned(),
        ));
    }
    if let Some(partner) = &order.partner_id {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)")
                .bind(partner)
                .fetch_one(&state.pool)
                .await?;
        if !known {
            return Err(AppError::BadRequest(format!("no partner {partner:?}")));
        }
    }
    let recorded = record_order(
        &state.pool,
        &state.ledger,
        reference,
        order.partner_id.as_deref(),
        amount,
        &who.account_id,
        Utc::now(),
    )
    .await?;
    let recorded = wire::RecordedOrder {
        order_id: recorded.order_id,
        line: recorded.line.as_ref().map(Line::to_wire).transpose()?,
    };
    Ok((axum::http::StatusCode::CREATED, Json(recorded)).into_response())
}

/// `POST /api/admin/orders/{id}/delivered`: the order reached its client,
/// who may now rate the partner who brought it. Once: a second time
/// changes nothing; a refunded order is not delivered.
pub(super) async fn handle_delivered(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    who.require_admin()?;
    let row: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "UPDATE orders SET delivered_at = coalesce(delivered_at, now())
         WHERE id = $1 AND refunded_at IS NULL
         RETURNING delivered_at",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    match row {
        Some(delivered) => Ok(Json(serde_json::json!({ "delivered_at": delivered }))),
        None => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)")
                    .bind(id)
                    .fetch_one(&state.pool)
                    .await?;
            Err(if exists {
                AppError::Conflict("a refunded order is not delivered".to_owned())
            } else {
                AppError::NotFound
            })
        }
    }
}

pub(super) async fn handle_refund_order(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<wire::Reversed<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&body.reason, "a refund")?;
    let lines = refund_order(&state.pool, &state.ledger, id, &why, Utc::now()).await?;
    Ok(Json(reversed(&lines)?))
}
