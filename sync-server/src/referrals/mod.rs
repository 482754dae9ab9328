//! Referral links: each partner's links document and its projection (a
//! code confirmed is the partner's for good), the partner's coupon, the
//! click recorded at `/r/{code}` with its signed first-party cookie, and
//! the attribution an order's checkout decides with.
//!
//! | `GET /r/{code}`        | anyone: records the click, then the storefront |
//! | `GET /api/referrals`   | a partner: their links' figures, coupon, orders |

pub mod api;
pub mod attribution;
pub mod clicks;
pub mod coupons;
pub mod documents;
pub mod projection;

use std::sync::Arc;

use axum::{Router, extract::FromRef, routing::get};
use sqlx::PgPool;

use crate::events::{DocumentStored, FiguresMoved, Inbox, Outbox};

/// What the referral routes read from the server's state.
#[derive(Clone)]
pub struct ReferralsState {
    pub pool: PgPool,
    pub key: Arc<clicks::ClickKey>,
    pub attribution: attribution::Settings,
    pub secure_cookies: bool,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ReferralsState: FromRef<S>,
    crate::http::session::SessionSettings: FromRef<S>,
    PgPool: FromRef<S>,
{
    Router::new()
        .route("/r/{code}", get(clicks::follow))
        .route("/api/referrals", get(api::mine))
}

/// Makes the documents partners made before links existed, and starts
/// confirming links.
pub async fn start(
    pool: &PgPool,
    changed: Inbox<DocumentStored>,
    figures: Outbox<FiguresMoved>,
) -> anyhow::Result<()> {
    let made = documents::catch_up(pool).await?;
    if made > 0 {
        tracing::info!(made, "made referrals documents for existing partners");
    }
    tokio::spawn(projection::run(pool.clone(), changed, figures));
    Ok(())
}
