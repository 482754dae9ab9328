//! Training's files over HTTP: admins upload them (resumable, see
//! `platform/blobs.rs`), partners fetch them by name with ranges, so a
//! video seeks, and with cache headers that let a device keep them for
//! good (a name is the hash of the bytes: it never means other bytes).
//!
//! Who may fetch a blob: an admin any; anyone else a blob that a published
//! version of a track they may read shows (`training_version_blobs`; the
//! same audience as the track's catalog document). Anything else is a 404,
//! as for a blob nobody has, so a name cannot be probed.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use wire::{MediaKind, NewUpload, Role, UploadState};

use super::TrainingState;
use crate::{
    http::{error::AppError, extract::ApiJson, session::Authenticated},
    platform::{
        blob_http::serve_blob,
        blobs::{BlobError, BlobId},
    },
};

/// What a lesson's file may be: what the app knows how to show. Anything
/// else (HTML, SVG, scripts) is refused at upload, and every blob is
/// served with `nosniff` and a sandboxing CSP besides.
pub const CONTENT_TYPES: &[&str] = &[
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/mp4",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
];

/// What may be uploaded besides a lesson's files: the resources library's
/// SVG templates (`resources::publish` checks each before it is
/// published; served, a blob is sandboxed whatever it holds).
const TEMPLATE_TYPE: &str = "image/svg+xml";

/// What a file of this name is, by its extension, of the
/// [`CONTENT_TYPES`]: for files named rather than uploaded (the demo
/// catalog).
pub fn by_extension(name: &str) -> Option<(MediaKind, &'static str)> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "mp4" => (MediaKind::Video, "video/mp4"),
        "webm" => (MediaKind::Video, "video/webm"),
        "mp3" => (MediaKind::Audio, "audio/mpeg"),
        "m4a" => (MediaKind::Audio, "audio/mp4"),
        "pdf" => (MediaKind::Pdf, "application/pdf"),
        "png" => (MediaKind::Image, "image/png"),
        "jpg" | "jpeg" => (MediaKind::Image, "image/jpeg"),
        "webp" => (MediaKind::Image, "image/webp"),
        _ => return None,
    })
}

/// Lists a blob the store keeps (`blobs`, the registry serving reads):
/// once, whoever keeps the same bytes again. `by` is the admin who sent
/// it; `None` for what the server made itself (a certificate).
pub async fn register(
    conn: &mut sqlx::PgConnection,
    id: &BlobId,
    bytes: u64,
    content_type: &str,
    by: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blobs (sha256, bytes, content_type, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(id.hex())
    .bind(bytes as i64)
    .bind(content_type)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// A part sent in one request, at most.
pub const MAX_PART_BYTES: usize = 8 * 1024 * 1024;

fn blob_error(e: BlobError) -> AppError {
    match e {
        BlobError::NotFound => AppError::NotFound,
        BlobError::Store(e) => AppError::Internal(e.into()),
        other => AppError::BadRequest(other.to_string()),
    }
}

fn new_upload_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn upload_id(id: &str) -> Result<&str, AppError> {
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(id)
    } else {
        Err(AppError::NotFound)
    }
}

/// `POST /api/admin/blobs/uploads` (admins): declares a blob to send.
/// A blob kept already answers at once with nothing to send; one being
/// sent already, with where it stands.
pub async fn begin(
    State(state): State<TrainingState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewUpload>,
) -> Result<(StatusCode, Json<UploadState>), AppError> {
    who.require_admin()?;
    let id = BlobId::parse(&body.sha256).ok_or_else(|| {
        AppError::BadRequest("sha256 must be 64 lower-case hex digits".to_owned())
    })?;
    if !CONTENT_TYPES.contains(&body.content_type.as_str()) && body.content_type != TEMPLATE_TYPE {
        return Err(AppError::BadRequest(format!(
            "content_type must be one of {}, {TEMPLATE_TYPE}",
            CONTENT_TYPES.join(", ")
        )));
    }
    if body.bytes == 0 || body.bytes > state.max_blob_bytes {
        return Err(AppError::BadRequest(format!(
            "bytes must be 1 to {}",
            state.max_blob_bytes
        )));
    }
    let kept: Option<i64> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(id.hex())
        .fetch_optional(&state.pool)
        .await?;
    if let Some(bytes) = kept {
        return Ok((
            StatusCode::OK,
            Json(UploadState {
                upload: None,
                sha256: id.hex(),
                bytes: bytes as u64,
                received: bytes as u64,
            }),
        ));
    }
    // An upload of these bytes begun before (the page was closed, the
    // laptop slept) goes on where it stands rather than from nothing.
    let open: Option<String> = sqlx::query_scalar(
        "SELECT id FROM blob_uploads
          WHERE sha256 = $1 AND bytes = $2 AND content_type = $3
          ORDER BY created_at DESC LIMIT 1",
    )
    .bind(id.hex())
    .bind(body.bytes as i64)
    .bind(&body.content_type)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(upload) = open {
        let received = state.blobs.received(&upload).await.map_err(blob_error)?;
        return Ok((
            StatusCode::OK,
            Json(UploadState {
                upload: Some(upload),
                sha256: id.hex(),
                bytes: body.bytes,
                received,
            }),
        ));
    }
    let upload = new_upload_id();
    sqlx::query(
        "INSERT INTO blob_uploads (id, sha256, bytes, content_type, created_by)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&upload)
    .bind(id.hex())
    .bind(body.bytes as i64)
    .bind(&body.content_type)
    .bind(&who.account_id)
    .execute(&state.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadState {
            upload: Some(upload),
            sha256: id.hex(),
            bytes: body.bytes,
            received: 0,
        }),
    ))
}

struct Upload {
    sha256: BlobId,
    bytes: u64,
    content_type: String,
}

async fn upload_of(
    state: &TrainingState,
    who: &Authenticated,
    id: &str,
) -> Result<Upload, AppError> {
    who.require_admin()?;
    let row: Option<(String, i64, String)> =
        sqlx::query_as("SELECT sha256, bytes, content_type FROM blob_uploads WHERE id = $1")
            .bind(upload_id(id)?)
            .fetch_optional(&state.pool)
            .await?;
    let (sha256, bytes, content_type) = row.ok_or(AppError::NotFound)?;
    Ok(Upload {
        sha256: BlobId::parse(&sha256)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored sha256 {sha256:?}")))?,
        bytes: bytes as u64,
        content_type,
    })
}

fn state_of(id: &str, upload: &Upload, received: u64) -> UploadState {
    UploadState {
        upload: Some(id.to_owned()),
        sha256: upload.sha256.hex(),
        bytes: upload.bytes,
        received,
    }
}

/// `GET /api/admin/blobs/uploads/{id}`: how much arrived, to resume from.
pub async fn status(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UploadState>, AppError> {
    let upload = upload_of(&state, &who, &id).await?;
    let received = state.blobs.received(&id).await.map_err(blob_error)?;
    Ok(Json(state_of(&id, &upload, received)))
}

#[derive(Deserialize)]
pub struct At {
    offset: u64,
}

/// `PUT /api/admin/blobs/uploads/{id}?offset=N`: the bytes from `N`. A
/// part at another offset than where the upload stands is a 409 that
/// says where it stands.
pub async fn append(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
    Query(at): Query<At>,
    body: Bytes,
) -> Result<Json<UploadState>, AppError> {
    let upload = upload_of(&state, &who, &id).await?;
    match state.blobs.append(&id, upload.bytes, at.offset, body).await {
        Ok(received) => Ok(Json(state_of(&id, &upload, received))),
        Err(BlobError::Offset { received }) => Err(AppError::Stale {
            message: format!("this upload has {received} bytes; send from there"),
            current: serde_json::to_value(state_of(&id, &upload, received))
                .map_err(|e| AppError::Internal(e.into()))?,
        }),
        Err(e) => Err(blob_error(e)),
    }
}

/// `POST /api/admin/blobs/uploads/{id}/finish`: checks the bytes against
/// the declared hash and keeps the blob.
pub async fn finish(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UploadState>, AppError> {
    let upload = upload_of(&state, &who, &id).await?;
    match state.blobs.finish(&id, upload.bytes, &upload.sha256).await {
        Ok(()) => {}
        Err(BlobError::Hash { found }) => {
            // Those bytes are no use to anyone: start again.
            state.blobs.discard(&id).await.map_err(blob_error)?;
            return Err(AppError::BadRequest(format!(
                "the bytes sent hash to {found}, not {}; the upload starts again",
                upload.sha256
            )));
        }
        Err(e) => return Err(blob_error(e)),
    }
    let mut tx = state.pool.begin().await?;
    register(
        &mut tx,
        &upload.sha256,
        upload.bytes,
        &upload.content_type,
        Some(&who.account_id),
    )
    .await?;
    sqlx::query("DELETE FROM blob_uploads WHERE id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(UploadState {
        upload: None,
        sha256: upload.sha256.hex(),
        bytes: upload.bytes,
        received: upload.bytes,
    }))
}

/// Whether `who` may fetch `sha256`: by the audience the track was
/// published for (its catalog's readers), not its draft's.
async fn may_read(
    state: &TrainingState,
    who: &Authenticated,
    sha256: &str,
) -> Result<bool, AppError> {
    if who.role == Role::Admin {
        return Ok(true);
    }
    let leader = who.role == Role::TeamLeader;
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (
            SELECT 1 FROM training_version_blobs b
            JOIN training_tracks t ON t.id = b.track_id
            JOIN documents d ON d.doc_id = t.doc_id
            WHERE b.sha256 = $1 AND (d.readers IS NULL OR $2))",
    )
    .bind(sha256)
    .bind(leader)
    .fetch_one(&state.pool)
    .await?)
}

/// `GET /blobs/{sha256}`: the blob, or the range asked for (206), to
/// those who may read it.
pub async fn serve(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = BlobId::parse(&name).ok_or(AppError::NotFound)?;
    if !may_read(&state, &who, &id.hex()).await? {
        return Err(AppError::NotFound);
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT bytes, content_type FROM blobs WHERE sha256 = $1")
            .bind(id.hex())
            .fetch_optional(&state.pool)
            .await?;
    let (size, content_type) = row.ok_or(AppError::NotFound)?;
    serve_blob(
        &state.blobs,
        &id,
        size as u64,
        &content_type,
        None,
        &headers,
    )
    .await
    .map_err(blob_error)
}
