//! Money: a partner proposes, the server decides. One file per subdomain,
//! each with its SQL and its routes: [`decisions`] on deals (and their
//! clawback), the ledger's [`lines`] and balances, [`tiers`] standing,
//! referral [`orders`], [`payouts`] and statements, [`payout_methods`],
//! [`reports`] and the back-office's [`partners`]. Errors are the
//! module's own ([`error::LedgerError`]), made HTTP answers at the edge.
//!
//! Dependencies inside run one way: `lines` and `tiers` first, the
//! others build on them.

pub mod decisions;
pub mod error;
pub mod lines;
pub mod orders;
pub mod partners;
pub mod payout_methods;
pub mod payouts;
pub mod reports;
pub mod tiers;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
};
use rules::RulesConfig;
use sqlx::PgPool;

use crate::http::{
    error::AppError,
    session::{Authenticated, SessionSettings},
};

/// The money rules, the hold before a line becomes available, and who to
/// tell that a partner's earnings moved.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    pub rules: RulesConfig,
    pub hold: chrono::Duration,
    /// The smallest available balance a payout run pays, per currency, in
    /// that currency's minor units (50.00 by default).
    pub payout_minimum_minor: i64,
    /// Partner ids whose deals or lines changed (the account view writer
    /// listens); sent after the change is committed.
    pub changed: crate::events::Outbox<crate::events::FiguresMoved>,
}

impl LedgerSettings {
    /// Has these partners' account views written again.
    pub fn tell(&self, partners: impl IntoIterator<Item = String>) {
        for partner in partners {
            self.changed.send(crate::events::FiguresMoved(partner));
        }
    }
}

/// What the money routes read from the server's state.
#[derive(Clone)]
pub struct MoneyState {
    pub pool: PgPool,
    pub ledger: std::sync::Arc<LedgerSettings>,
}

/// Every money route: each subdomain's, with the body limit they share.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    MoneyState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .merge(decisions::routes())
        .merge(lines::routes())
        .merge(orders::routes())
        .merge(payouts::routes())
        .merge(payout_methods::routes())
        .merge(reports::routes())
        .merge(partners::routes())
        .layer(DefaultBodyLimit::max(16 * 1024))
}

fn partner_of(who: &Authenticated) -> Result<String, AppError> {
    who.partner_id
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .ok_or_else(|| AppError::Forbidden("only partners have earnings".to_owned()))
}
