//! A partner's payout method, stored masked (the last four characters).
//!
//! | `PUT /api/me/payout-method` | partner |

use axum::{Json, extract::State};
use sqlx::PgPool;
use wire::{PayoutMethod, PayoutMethodKind, PayoutMethodSet};

use super::{MoneyState, error::LedgerError, partner_of};
use crate::{http::error::AppError, http::extract::ApiJson, http::session::Authenticated};

/// Registers where a partner is paid; only the last four characters of the
/// account are kept.
pub async fn set_payout_method(
    pool: &PgPool,
    partner_id: &str,
    kind: &str,
    holder: &str,
    account: &str,
) -> Result<String, LedgerError> {
    if !matches!(kind, "bank_account" | "paypal") {
        return Err(LedgerError::Invalid(
            "kind must be bank_account or paypal".to_owned(),
        ));
    }
    let account: String = account.chars().filter(|c| !c.is_whitespace()).collect();
    let holder = holder.trim();
    if account.chars().count() < 6 || account.chars().count() > 64 || holder.is_empty() {
        return Err(LedgerError::Invalid(
            "a payout method needs a holder and an account of 6 to 64 characters".to_owned(),
        ));
    }
    use crate::http::extract::{Lines, plain_text};
    // Its message is the 400's: the text says what is wrong.
    let invalid = |e: crate::http::error::AppError| LedgerError::Invalid(e.to_string());
    plain_text(holder, "a payout method", "holder", Lines::One).map_err(invalid)?;
    plain_text(&account, "a payout method", "account", Lines::One).map_err(invalid)?;
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

pub(super) async fn handle_set_payout_method(
    State(state): State<MoneyState>,
    who: Authenticated,
    ApiJson(method): ApiJson<PayoutMethod>,
) -> Result<Json<PayoutMethodSet>, AppError> {
    let partner = partner_of(&who)?;
    let masked = set_payout_method(
        &state.pool,
        &partner,
        &method.kind,
        &method.holder,
        &method.account,
    )
    .await?;
    // `set_payout_method` refused any other kind.
    let kind = PayoutMethodKind::parse(&method.kind)
        .ok_or_else(|| anyhow::anyhow!("payout method kind {:?} passed", method.kind))?;
    Ok(Json(PayoutMethodSet { kind, masked }))
}
