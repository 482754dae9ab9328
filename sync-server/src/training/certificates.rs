//! Certificates anyone can check: `/verify/{id}` is a public page that
//! says who was certified in what, when, with what score, and
//! `/api/certificates/{id}` the same as JSON, and
//! `/verify/{id}/certificate.pdf` the certificate itself: laid out by
//! typst (`platform/pdf.rs`, `templates/certificate.typ`) the first time it
//! is asked for, kept as a blob by its hash (`certificates.pdf_sha256`),
//! and the same bytes every time after, since the certificate never
//! changes. An id is 16 random letters and digits (80 bits), so ids cannot
//! be walked. The same certificate is a signed Open Badge (`badges.rs`).

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use wire::Certificate;

use super::TrainingState;
use crate::{
    http::{
        error::AppError,
        html::{escape, page as html_page},
    },
    platform::{blobs::BlobId, pdf},
};

const TEMPLATE: &str = include_str!("../../templates/certificate.typ");

/// Crockford's base32: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new certificate id.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

fn shaped(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| ALPHABET.contains(&b))
}

pub async fn find(
    state: &TrainingState,
    id: &str,
) -> Result<Option<Certificate<DateTime<Utc>>>, AppError> {
    if !shaped(id) {
        return Ok(None);
    }
    let row: Option<(String, String, String, i16, DateTime<Utc>)> = sqlx::query_as(
        "SELECT recipient, track_id, track_title, score_percent, issued_at
         FROM certificates WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(
        |(recipient, track_id, track_title, score, issued_at)| Certificate {
            id: id.to_owned(),
            recipient,
            track_id,
            track_title,
            score_percent: score.clamp(0, 100) as u8,
            issued_at,
            pdf: format!("/verify/{id}/certificate.pdf"),
        },
    ))
}

/// `GET /api/certificates/{id}` (public).
pub async fn json(
    State(state): State<TrainingState>,
    Path(id): Path<String>,
) -> Result<Json<Certificate<DateTime<Utc>>>, AppError> {
    find(&state, &id).await?.map(Json).ok_or(AppError::NotFound)
}

/// `GET /verify/{id}` (public): a page a person reads, on a phone too.
pub async fn page(
    State(state): State<TrainingState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let found = find(&state, &id).await?;
    let (status, title, body) = match &found {
        Some(c) => (
            axum::http::StatusCode::OK,
            format!("Certificate {}", c.id),
            format!(
                "<p class=\"ok\" role=\"status\">This certificate is genuine.</p>\
                 <dl><dt>Awarded to</dt><dd>{}</dd>\
                 <dt>For</dt><dd>{}</dd>\
                 <dt>Score</dt><dd>{}%</dd>\
                 <dt>Issued</dt><dd><time datetime=\"{}\">{}</time></dd>\
                 <dt>Certificate</dt><dd>{}</dd></dl>\
                 <p><a href=\"{}\">Download the certificate (PDF)</a></p>\
                 <p class=\"fine\">Also as an <a href=\"/verify/{}/badge.json\">Open Badge</a>: \
                 a credential signed by the programme (Ed25519), which badge backpacks and \
                 verifiers check against <a href=\"/issuer\">the programme's key</a>.</p>",
                escape(&c.recipient),
                escape(&c.track_title),
                c.score_percent,
                c.issued_at.to_rfc3339(),
                c.issued_at.format("%-d %B %Y"),
                escape(&c.id),
                escape(&c.pdf),
                escape(&c.id),
            ),
        ),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            "No such certificate".to_owned(),
            "<p class=\"no\" role=\"alert\">No certificate has this number. Check it against \
             the one printed on the certificate.</p>"
                .to_owned(),
        ),
    };
    Ok(html_page(
        status,
        &title,
        "",
        &format!(
            "<main class=\"narrow\"><h1>{}</h1>{body}</main>",
            escape(&title)
        ),
    ))
}

/// `GET /verify/{id}/certificate.pdf` (public).
pub async fn pdf_file(
    State(state): State<TrainingState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let certificate = find(&state, &id).await?.ok_or(AppError::NotFound)?;
    let kept: Option<String> =
        sqlx::query_scalar("SELECT pdf_sha256 FROM certificates WHERE id = $1")
            .bind(&certificate.id)
            .fetch_one(&state.pool)
            .await?;
    // Kept, unless the blob store lost it (then it is made again: the same
    // bytes, from the same data).
    let kept = match kept.as_deref().and_then(BlobId::parse) {
        Some(blob) => match state.blobs.read_all(&blob).await {
            Ok(bytes) => Some(bytes),
            Err(crate::platform::blobs::BlobError::NotFound) => None,
            Err(e) => return Err(AppError::Internal(e.into())),
        },
        None => None,
    };
    let bytes = match kept {
        Some(bytes) => bytes,
        None => {
            let verify = format!("{}/verify/{}", state.public_origin, certificate.id);
            let made = pdf::render(
                TEMPLATE,
                vec![
                    ("recipient", certificate.recipient.clone()),
                    ("track", certificate.track_title.clone()),
                    ("score", format!("{}%", certificate.score_percent)),
                    (
                        "issued",
                        certificate.issued_at.format("%-d %B %Y").to_string(),
                    ),
                    ("id", certificate.id.clone()),
                    ("verify", verify),
                ],
                certificate.issued_at,
                format!("certificate-{}", certificate.id),
            )
            .await?;
            let bytes = bytes::Bytes::from(made);
            let blob = state
                .blobs
                .put(bytes.clone())
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            let mut tx = state.pool.begin().await?;
            super::files::register(&mut tx, &blob, bytes.len() as u64, "application/pdf", None)
                .await?;
            sqlx::query("UPDATE certificates SET pdf_sha256 = $2 WHERE id = $1")
                .bind(&certificate.id)
                .bind(blob.hex())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            bytes
        }
    };
    let etag = format!("\"{}\"", BlobId::of(&bytes).hex());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.trim() == etag)
    {
        return Ok((axum::http::StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"certificate-{}.pdf\"", certificate.id),
        )
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "public, max-age=86400")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .map_err(|e| AppError::Internal(e.into()))
}
