//! The resources library: assets admins publish into categories (images,
//! PDFs, videos, SVG templates), which partners browse, download and keep
//! offline; each partner's co-branded copy of a template (their name,
//! company, and a link of theirs with its QR code), made on the server as
//! PNG (resvg), PDF (the certificates' engine) or SVG, and kept by the
//! template and the branding it was made with; and what partners' devices
//! record of their use, sent when online and kept once per event.
//!
//! | `GET /api/resources`                           | signed in: the library |
//! | `GET /api/resources/{id}/file`                 | signed in: an asset as published |
//! | `GET /api/resources/{id}/cobranded/{format}`   | a partner: their copy (`png`, `pdf`, `svg`) |
//! | `POST /api/resources/events`                   | a partner: what their device recorded |
//! | `GET /api/admin/resources/analytics`           | admin: use, clicks and revenue per asset and partner |
//! | `POST /api/admin/resources`                    | admin: an uploaded file published into a category |

pub mod cobrand;
pub mod events;
pub mod library;
pub mod publish;

use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};
use sqlx::PgPool;

use crate::platform::blobs::BlobStore;

/// What the resources' routes read from the server's state.
#[derive(Clone)]
pub struct ResourcesState {
    pub pool: PgPool,
    pub blobs: BlobStore,
    /// Where links in co-branded copies point (`https://portal.example`);
    /// empty: the address the request came to.
    pub public_origin: Arc<str>,
    pub secure_cookies: bool,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ResourcesState: FromRef<S>,
    crate::http::session::SessionSettings: FromRef<S>,
    PgPool: FromRef<S>,
{
    Router::new()
        .route("/api/resources", get(library::list))
        .route("/api/resources/events", post(events::record))
        .route("/api/resources/{id}/file", get(library::file))
        .route("/api/resources/{id}/cobranded/{format}", get(cobrand::copy))
        .route("/api/admin/resources/analytics", get(events::analytics))
        .route("/api/admin/resources", post(publish::publish))
}
