//! Training: tracks admins author and publish (`authoring`), the files
//! they show (`files`, over the platform's blob store), each partner's
//! training document (`documents`) and its projection, where exams are
//! graded (`projection`), certificates anyone can verify
//! (`certificates`) as signed Open Badges too (`badges`), modules assigned by a date (`assignments`), and the
//! demo catalog (`seed`).
//!
//! Content is published, not co-edited: a published version is frozen in
//! Postgres and read by partners from a read-only catalog document per
//! track (exam keys kept out); only learner state is a CRDT, written by
//! the learner alone.

pub mod assignments;
pub mod authoring;
pub mod badges;
pub mod certificates;
pub mod documents;
pub mod files;
pub mod projection;
pub mod seed;
pub mod standing;

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{HeaderValue, header},
    routing::{get, post},
};
use sqlx::PgPool;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{
    events::{DocumentStored, FiguresMoved, Inbox, Outbox},
    http::session::SessionSettings,
    platform::{blobs::BlobStore, residency::Residency},
};

/// What the training routes read.
#[derive(Clone)]
pub struct TrainingState {
    pub pool: PgPool,
    pub blobs: BlobStore,
    pub residency: Arc<Residency>,
    /// The largest file an admin may upload.
    pub max_blob_bytes: u64,
    /// Where the app is reached (`--public-origin`), which a certificate
    /// prints as where to check it; empty when not set.
    pub public_origin: std::sync::Arc<str>,
    /// Partners whose account view must be written again (an assignment).
    pub figures: Outbox<FiguresMoved>,
    /// Signs certificates' credentials.
    pub signer: Arc<badges::Signer>,
}

/// The largest JSON body: a whole track with its texts.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    TrainingState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    let api = Router::new()
        .route("/api/admin/blobs/uploads", post(files::begin))
        .route(
            "/api/admin/blobs/uploads/{id}",
            get(files::status)
                .put(files::append)
                .layer(DefaultBodyLimit::max(files::MAX_PART_BYTES)),
        )
        .route("/api/admin/blobs/uploads/{id}/finish", post(files::finish))
        .route("/api/admin/training/tracks", get(authoring::list))
        .route(
            "/api/admin/training/tracks/{id}",
            get(authoring::get).put(authoring::put),
        )
        .route(
            "/api/admin/training/tracks/{id}/publish",
            post(authoring::publish),
        )
        .route(
            "/api/admin/training/assignments",
            get(assignments::list_admin).post(assignments::assign_admin),
        )
        .route(
            "/api/team/training/assignments",
            get(assignments::list_team).post(assignments::assign_team),
        )
        .route("/api/certificates/{id}", get(certificates::json))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // Outside `/api`: files keep their own cache headers.
    Router::new()
        .merge(api)
        .route("/blobs/{sha256}", get(files::serve))
        .route("/verify/{id}", get(certificates::page))
        .route("/verify/{id}/certificate.pdf", get(certificates::pdf_file))
        .route("/verify/{id}/badge.json", get(badges::badge))
        .route("/issuer", get(badges::issuer))
}

/// Makes the documents partners lack, refreshes catalogs, and starts the
/// projection of training documents.
pub async fn start(
    state: &TrainingState,
    policy: projection::ExamPolicy,
    changed: Inbox<DocumentStored>,
    figures: Outbox<FiguresMoved>,
) -> anyhow::Result<()> {
    let made = documents::catch_up(&state.pool).await?;
    if made > 0 {
        tracing::info!(made, "training documents made for partners who had none");
    }
    authoring::refresh_catalogs(state)
        .await
        .map_err(|e| anyhow::anyhow!("refreshing catalogs: {e}"))?;
    tokio::spawn(projection::run(
        state.pool.clone(),
        policy,
        changed,
        figures,
    ));
    Ok(())
}
