//! Money: a partner proposes, the server decides. One file per subdomain,
//! each with its SQL and its handlers (the route table is here): [`decisions`] on deals (and their
//! clawback), challenge [`bonuses`], the ledger's [`lines`] and balances, [`tiers`] standing,
//! referral [`orders`], [`payouts`] and statements (and their PDF, [`statement_pdf`]), [`payout_methods`],
//! [`reports`], the back-office's [`partners`] and the public
//! [`programme`]. Errors are the
//! module's own ([`error::LedgerError`]), made HTTP answers at the edge.
//!
//! Dependencies inside run one way: `lines` and `tiers` first, the
//! others build on them.

pub mod bonuses;
pub mod decisions;
pub mod error;
pub mod lines;
pub mod orders;
pub mod partners;
pub mod payout_methods;
pub mod payouts;
pub mod programme;
pub mod reports;
pub mod statement_pdf;
pub mod tiers;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    routing::{get, post, put},
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

/// Every money route, each answered by its subdomain's file (whose doc
/// lists them), with the body limit they share.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    MoneyState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route("/api/admin/deals", get(decisions::list_deals))
        .route(
            "/api/admin/deals/{id}/approve",
            post(decisions::handle_approve),
        )
        .route(
            "/api/admin/deals/{id}/preview",
            get(decisions::handle_preview),
        )
        .route(
            "/api/admin/deals/{id}/reject",
            post(decisions::handle_reject),
        )
        .route(
            "/api/admin/deals/{id}/clawback",
            post(decisions::handle_claw_back),
        )
        .route("/api/admin/bonuses", get(bonuses::list))
        .route(
            "/api/admin/bonuses/{id}/approve",
            post(bonuses::handle_approve),
        )
        .route(
            "/api/admin/bonuses/{id}/reject",
            post(bonuses::handle_reject),
        )
        .route("/api/me/ledger", get(lines::my_ledger))
        .route("/api/me/balances", get(lines::my_balances))
        .route(
            "/api/admin/orders",
            get(orders::list_orders).post(orders::handle_record_order),
        )
        .route(
            "/api/admin/orders/{id}/refund",
            post(orders::handle_refund_order),
        )
        .route(
            "/api/admin/orders/{id}/delivered",
            post(orders::handle_delivered),
        )
        .route("/api/admin/payouts/preview", get(payouts::payout_preview))
        .route("/api/admin/payouts", post(payouts::handle_run_payouts))
        .route(
            "/api/admin/payouts/{id}/export",
            get(payouts::handle_payout_export),
        )
        .route("/api/me/statements", get(payouts::my_statements))
        // Outside `/api`: a device may keep it (the shell's service worker
        // caches nothing under `/api`).
        .route(
            "/statements/{id}/statement.pdf",
            get(statement_pdf::statement_pdf),
        )
        .route(
            "/api/me/payout-method",
            put(payout_methods::handle_set_payout_method),
        )
        .route("/api/admin/reports", get(reports::list_reports))
        .route("/api/admin/reports/{name}", get(reports::report))
        .route("/api/programme", get(programme::programme))
        .route("/api/admin/partners", get(partners::list_partners))
        .route("/api/admin/partners/{id}/terms", put(partners::set_terms))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

fn partner_of(who: &Authenticated) -> Result<String, AppError> {
    who.partner_id
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .ok_or_else(|| AppError::Forbidden("only partners have earnings".to_owned()))
}
