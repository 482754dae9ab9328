//! What partners do with resources, as their devices recorded it (views,
//! downloads, shares, co-branded copies made, links copied), offline too:
//! sent in batches when online, each event under an id the device made,
//! so a batch sent again after a lost answer is kept once. And what admins
//! read of it, beside the clicks and revenue of the links in co-branded
//! copies: use tied to money, per asset and partner.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use wire::{EventsTaken, LinkAmount, ResourceEvents, ResourceFigures};

use super::ResourcesState;
use crate::http::{error::AppError, extract::ApiJson, session::Authenticated};

/// Events one request may carry: a device offline for a week of heavy use
/// sends a few hundred; more is sent in several.
const BATCH: usize = 500;
const KINDS: [&str; 5] = ["view", "download", "share", "cobrand", "link_copied"];

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `POST /api/resources/events`.
pub async fn record(
    State(state): State<ResourcesState>,
    who: Authenticated,
    ApiJson(batch): ApiJson<ResourceEvents>,
) -> Result<Json<EventsTaken>, AppError> {
    let partner = who
        .partner_id
        .as_ref()
        .ok_or_else(|| AppError::Forbidden("only a partner's use is recorded".to_owned()))?;
    if batch.events.len() > BATCH {
        return Err(AppError::BadRequest(format!(
            "at most {BATCH} events at once"
        )));
    }
    let now = Utc::now();
    for event in &batch.events {
        if !valid_id(&event.id) {
            return Err(AppError::BadRequest(
                "an event's id is 1 to 64 of A-Z, a-z, 0-9, _ and -".to_owned(),
            ));
        }
        if !KINDS.contains(&event.kind.as_str()) {
            return Err(AppError::BadRequest(format!(
                "no event kind {:?}: {}",
                event.kind.chars().take(32).collect::<String>(),
                KINDS.join(", ")
            )));
        }
    }
    let mut tx = state.pool.begin().await?;
    let (mut kept, mut unknown) = (0, 0);
    for event in &batch.events {
        // A device's clock is its own: nothing is kept as done later than
        // it arrived.
        let at = DateTime::from_timestamp_millis(event.at_ms).map_or(now, |t| t.min(now));
        let inserted = sqlx::query(
            "INSERT INTO resource_events (partner_id, id, resource_id, kind, at)
             SELECT $1, $2, r.id, $4, $5 FROM resources r WHERE r.id = $3
             ON CONFLICT (partner_id, id) DO NOTHING",
        )
        .bind(partner.as_str())
        .bind(&event.id)
        .bind(&event.resource_id)
        .bind(&event.kind)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            kept += 1;
        } else {
            let known: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM resources WHERE id = $1)")
                    .bind(&event.resource_id)
                    .fetch_one(&mut *tx)
                    .await?;
            unknown += usize::from(!known);
        }
    }
    tx.commit().await?;
    Ok(Json(EventsTaken {
        kept,
        already: batch.events.len() - kept - unknown,
        unknown,
    }))
}

type UseRow = (String, String, String, String, i64, i64, i64, i64);

/// `GET /api/admin/resources/analytics`.
pub async fn analytics(
    State(state): State<ResourcesState>,
    who: Authenticated,
) -> Result<Json<Vec<ResourceFigures>>, AppError> {
    who.require_admin()?;
    let uses: Vec<UseRow> = sqlx::query_as(
        "WITH used AS (
             SELECT resource_id, partner_id FROM resource_events
             UNION SELECT resource_id, partner_id FROM referral_links WHERE resource_id IS NOT NULL)
         SELECT r.id, r.title, p.id, p.name,
                (SELECT count(*) FROM resource_events e WHERE e.resource_id = u.resource_id
                    AND e.partner_id = u.partner_id AND e.kind = 'view'),
                (SELECT count(*) FROM resource_events e WHERE e.resource_id = u.resource_id
                    AND e.partner_id = u.partner_id AND e.kind = 'download'),
                (SELECT count(*) FROM resource_events e WHERE e.resource_id = u.resource_id
                    AND e.partner_id = u.partner_id AND e.kind IN ('share', 'link_copied')),
                (SELECT count(*) FROM resource_events e WHERE e.resource_id = u.resource_id
                    AND e.partner_id = u.partner_id AND e.kind = 'cobrand')
         FROM used u JOIN resources r ON r.id = u.resource_id JOIN partners p ON p.id = u.partner_id
         ORDER BY r.position, r.id, p.name",
    )
    .fetch_all(&state.pool)
    .await?;
    let links: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT l.resource_id, l.partner_id,
                (SELECT count(*) FROM referral_clicks c WHERE c.code = l.code),
                (SELECT count(*) FROM orders o WHERE o.link_code = l.code AND o.refunded_at IS NULL)
         FROM referral_links l WHERE l.resource_id IS NOT NULL",
    )
    .fetch_all(&state.pool)
    .await?;
    let revenue: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT l.resource_id, l.partner_id, o.currency::text, sum(o.amount_minor)::bigint,
                coalesce(sum((SELECT sum(ll.amount_minor) FROM ledger_lines ll
                              WHERE ll.order_id = o.id AND ll.partner_id = l.partner_id)), 0)::bigint
         FROM referral_links l JOIN orders o ON o.link_code = l.code AND o.refunded_at IS NULL
         WHERE l.resource_id IS NOT NULL
         GROUP BY l.resource_id, l.partner_id, o.currency ORDER BY o.currency",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut by_pair: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (resource, partner, clicks, orders) in links {
        let entry = by_pair.entry((resource, partner)).or_default();
        entry.0 += clicks;
        entry.1 += orders;
    }
    Ok(Json(
        uses.into_iter()
            .map(
                |(
                    resource_id,
                    title,
                    partner_id,
                    partner_name,
                    views,
                    downloads,
                    shares,
                    cobrands,
                )| {
                    let key = (resource_id.clone(), partner_id.clone());
                    let (clicks, orders) = by_pair.get(&key).copied().unwrap_or_default();
                    ResourceFigures {
                        revenue: revenue
                            .iter()
                            .filter(|r| r.0 == key.0 && r.1 == key.1)
                            .map(|r| LinkAmount {
                                currency: r.2.clone(),
                                revenue_minor: r.3,
                                commission_minor: r.4,
                            })
                            .collect(),
                        resource_id,
                        title,
                        partner_id,
                        partner_name,
                        views,
                        downloads,
                        shares,
                        cobrands,
                        clicks,
                        orders,
                    }
                },
            )
            .collect(),
    ))
}
