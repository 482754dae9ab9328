//! The back-office's partners: each partner's tier and balances, and an
//! Elite partner's agreed terms.
//!
//! | `GET /api/admin/partners`             | admin |
//! | `PUT /api/admin/partners/{id}/terms`  | admin |

use axum::{
    Json,
    extract::{Path, State},
};
use chrono::Utc;
use wire::{PartnerEntry, Terms};

use super::MoneyState;
use crate::money::{
    lines::all_balances,
    tiers::{all_tiers, standing},
};
use crate::{http::error::AppError, http::extract::ApiJson, http::session::Authenticated};

/// Every partner with their tier now and their balances.
pub(super) async fn list_partners(
    State(state): State<MoneyState>,
    who: Authenticated,
) -> Result<Json<Vec<PartnerEntry>>, AppError> {
    who.require_admin()?;
    let now = Utc::now();
    #[derive(sqlx::FromRow)]
    struct Row {
        partner_id: String,
        name: String,
        company: String,
        account_id: Option<String>,
        team_leader_id: Option<String>,
        elite_custom_bps: Option<i32>,
    }
    let partners = sqlx::query_as::<_, Row>(
        "SELECT p.id AS partner_id, p.name, p.company, a.id AS account_id, a.team_leader_id,
                t.elite_custom_bps
         FROM partners p
         LEFT JOIN accounts a ON a.partner_id = p.id
         LEFT JOIN partner_terms t ON t.partner_id = p.id
         ORDER BY p.name",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut tiers = all_tiers(&state.pool, &state.ledger, now).await?;
    let mut balances = all_balances(&state.pool, now).await?;
    let mut out = Vec::with_capacity(partners.len());
    for Row {
        partner_id,
        name,
        company,
        account_id,
        team_leader_id,
        elite_custom_bps,
    } in partners
    {
        let (tier, deals_in_window) = tiers
            .remove(&partner_id)
            .unwrap_or_else(|| standing(&[], now, &state.ledger.rules));
        let balances = balances.remove(&partner_id).unwrap_or_default();
        out.push(PartnerEntry {
            partner_id,
            name,
            company,
            account_id,
            team_leader_id,
            tier: wire::Tier::parse(tier.as_str())
                .ok_or_else(|| anyhow::anyhow!("the rules' tier {tier:?} is not the API's"))?,
            deals_in_window,
            elite_custom_bps,
            balances,
        });
    }
    Ok(Json(out))
}

pub(super) async fn set_terms(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(partner): Path<String>,
    ApiJson(terms): ApiJson<Terms>,
) -> Result<Json<Terms>, AppError> {
    who.require_admin()?;
    // What cannot be a partner id names no partner (and a NUL in it would
    // reach Postgres, which refuses it).
    let partner = model::PartnerId::parse(&partner).map_err(|_| AppError::NotFound)?;
    let partner = partner.as_str();
    let rate = rules::Rate::from_bps(terms.elite_custom_bps)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let elite = rules::base_rate(rules::Tier::Elite, &state.ledger.rules);
    if elite.checked_add(rate).is_none() {
        return Err(AppError::BadRequest(format!(
            "{elite} base plus {rate} would pay more than the deal"
        )));
    }
    let updated = sqlx::query(
        "INSERT INTO partner_terms (partner_id, elite_custom_bps, set_by)
         SELECT id, $2, $3 FROM partners WHERE id = $1
         ON CONFLICT (partner_id) DO UPDATE SET elite_custom_bps = EXCLUDED.elite_custom_bps,
             set_by = EXCLUDED.set_by, set_at = now()",
    )
    .bind(partner)
    .bind(i32::try_from(rate.bps()).unwrap_or(i32::MAX))
    .bind(&who.account_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    // The account view says what a deal approved now earns.
    state.ledger.tell([partner.to_owned()]);
    Ok(Json(terms))
}
