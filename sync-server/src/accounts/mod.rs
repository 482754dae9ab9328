//! Accounts: applications (`applications`: applying, invite links, the
//! admin's decisions on applicants), sign-in (passwords, email addresses,
//! the limiters), who am I (`api`), and a person's
//! profile (`profile`). Sessions themselves
//! are read by every module, so they live below, in `http::session`.

pub mod api;
pub mod applications;
pub mod directory;
pub mod email;
pub mod limits;
pub mod partners;
pub mod passwords;
pub mod profile;
pub mod shared_limits;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{HeaderValue, header},
    routing::{delete, get, post},
};
use sqlx::PgPool;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::session::SessionSettings;

pub use api::{Accounts, AccountsState};

/// Largest JSON body the accounts API reads; its requests are a few fields.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Every accounts route (`api`'s and `applications`' docs list who may
/// call each).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AccountsState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route("/api/applications", post(applications::apply))
        .route("/api/sessions", post(api::sign_in))
        .route("/api/sessions/current", delete(api::sign_out))
        .route("/api/me", get(api::me))
        .route(
            "/api/me/profile",
            get(profile::profile).put(profile::set_profile),
        )
        .route(
            "/api/me/photo",
            get(profile::photo)
                .put(profile::put_photo)
                .delete(profile::delete_photo)
                // A photo is bigger than the rest of this API's bodies.
                .layer(DefaultBodyLimit::max(profile::MAX_PHOTO_BYTES + 1)),
        )
        .route(
            "/api/admin/applications",
            get(applications::list_applications),
        )
        .route(
            "/api/admin/applications/{id}/approve",
            post(applications::approve),
        )
        .route(
            "/api/admin/applications/{id}/reject",
            post(applications::reject),
        )
        .route("/api/invites/{code}", get(applications::read_invite))
        .route("/api/team/invite", post(applications::my_invite))
        .route("/api/admin/teams", get(applications::list_teams))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers carry tokens and personal data: no cache may keep them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
