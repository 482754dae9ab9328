//! `GET /api/referrals`: what a partner's links brought.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use wire::{LinkAmount, LinkFigures, MyReferrals, ReferralOrder, RefusedLink};

use super::ReferralsState;
use crate::http::{error::AppError, session::Authenticated};

pub async fn mine(
    State(state): State<ReferralsState>,
    who: Authenticated,
) -> Result<Json<MyReferrals<DateTime<Utc>>>, AppError> {
    let partner = who
        .partner_id
        .as_ref()
        .ok_or_else(|| AppError::Forbidden("only a partner has referral links".to_owned()))?;
    let partner = partner.as_str();
    let pool = &state.pool;
    let coupon: Option<String> =
        sqlx::query_scalar("SELECT code FROM partner_coupons WHERE partner_id = $1")
            .bind(partner)
            .fetch_optional(pool)
            .await?;
    let rows: Vec<(String, String, DateTime<Utc>, i64, i64)> = sqlx::query_as(
        "SELECT l.code, l.label, l.confirmed_at,
                (SELECT count(*) FROM referral_clicks c WHERE c.code = l.code),
                (SELECT count(*) FROM orders o WHERE o.link_code = l.code)
         FROM referral_links l WHERE l.partner_id = $1
         ORDER BY l.created_at, l.code",
    )
    .bind(partner)
    .fetch_all(pool)
    .await?;
    let amounts: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT o.link_code, o.currency::text,
                coalesce(sum(o.amount_minor) FILTER (WHERE o.refunded_at IS NULL), 0)::bigint,
                coalesce(sum((SELECT sum(l.amount_minor) FROM ledger_lines l
                              WHERE l.order_id = o.id AND l.partner_id = $1)), 0)::bigint
         FROM orders o WHERE o.partner_id = $1 AND o.link_code IS NOT NULL
         GROUP BY o.link_code, o.currency ORDER BY o.currency",
    )
    .bind(partner)
    .fetch_all(pool)
    .await?;
    let links = rows
        .into_iter()
        .map(|(code, label, confirmed_at, clicks, orders)| LinkFigures {
            amounts: amounts
                .iter()
                .filter(|a| a.0 == code)
                .map(|a| LinkAmount {
                    currency: a.1.clone(),
                    revenue_minor: a.2,
                    commission_minor: a.3,
                })
                .collect(),
            code,
            label,
            confirmed_at,
            clicks,
            orders,
        })
        .collect();
    let refused = sqlx::query_as::<_, (String, String)>(
        "SELECT code, reason FROM referral_link_refusals WHERE partner_id = $1 ORDER BY noticed_at",
    )
    .bind(partner)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(code, reason)| RefusedLink { code, reason })
    .collect();
    type OrderRow = (
        String,
        Option<String>,
        i64,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let orders = sqlx::query_as::<_, OrderRow>(
        "SELECT o.reference, o.link_code, o.amount_minor, o.currency::text, o.recorded_at,
                o.refunded_at,
                (SELECT sum(l.amount_minor)::bigint FROM ledger_lines l
                 WHERE l.order_id = o.id AND l.partner_id = $1),
                (SELECT l.explanation FROM ledger_lines l
                 WHERE l.order_id = o.id AND l.partner_id = $1 AND l.kind = 'referral'),
                o.attribution->>'commission'
         FROM orders o WHERE o.partner_id = $1
         ORDER BY o.recorded_at DESC, o.id DESC LIMIT 50",
    )
    .bind(partner)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(
        |(reference, code, amount_minor, currency, recorded_at, refunded_at, net, line, note)| {
            ReferralOrder {
                reference,
                code,
                amount_minor,
                currency,
                recorded_at,
                refunded_at,
                commission_minor: net,
                why: line.or(note).unwrap_or_default(),
            }
        },
    )
    .collect();
    Ok(Json(MyReferrals {
        coupon,
        links,
        refused,
        orders,
    }))
}
