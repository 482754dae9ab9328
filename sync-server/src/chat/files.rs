//! Files and voice clips attached to messages.
//!
//! A message names its file by an id its device made (`model::ChatFile`),
//! so a file dropped offline is named in a message that goes out at once,
//! while its bytes wait in the device's upload queue. The device then puts
//! the bytes under that id: `PUT /api/chat/files/{id}?channel=&name=`, the
//! type in `Content-Type`. Ids are the sender's own: a file is fetched as
//! `GET /api/chat/files/{author}/{id}`, the author being the message's
//! (read from its actor), so a member who reads an id in someone's message
//! before its bytes arrive cannot put theirs in its place. Putting the same
//! bytes again (a retry after a cut connection) is answered as the first
//! time; other bytes under one's own taken id are refused. The bytes go to the blob store
//! (kept once by their hash, whoever sends them again); `chat_files` says
//! which channel a file belongs to, which is who may fetch it: the
//! channel's readers, as its documents'.
//!
//! What is accepted: the types of `model::CHAT_FILE_TYPES`, up to
//! `model::chat_limits::FILE_BYTES`, and only bytes that look like the type
//! they claim (their first bytes, [`looks_like`]): a page or a script sent
//! as a "PNG" is refused rather than kept. Every file is served with
//! `nosniff` and a sandboxing CSP besides, and anything but a picture, a
//! sound or a PDF as a download.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use model::{CHAT_FILE_TYPES, ChannelForm, chat_limits};
use serde::Deserialize;
use wire::Role;

use super::ChatState;
use crate::{
    http::{error::AppError, session::Authenticated},
    platform::{
        blob_http::serve_blob,
        blobs::{BlobError, BlobId},
    },
};

#[derive(Deserialize)]
pub(super) struct Upload {
    channel: String,
    name: String,
}

fn blob_error(e: BlobError) -> AppError {
    match e {
        BlobError::NotFound => AppError::NotFound,
        other => AppError::Internal(other.into()),
    }
}

/// Whether the account posts in `channel`; `None` for no such channel.
async fn posts_in(
    state: &ChatState,
    who: &Authenticated,
    channel: &str,
) -> Result<Option<bool>, AppError> {
    if channel.len() > 64 {
        return Ok(None);
    }
    let row: Option<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT c.form, c.team_leader_id,
                EXISTS (SELECT 1 FROM channel_members m
                        WHERE m.doc_id = c.doc_id AND m.account_id = $2)
         FROM channels c WHERE c.doc_id = $1",
    )
    .bind(channel)
    .bind(&who.account_id)
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(|(form, leader, member)| {
        ChannelForm::parse(&form).is_some_and(|f| super::posts(who, f, member, leader.as_deref()))
    }))
}

/// `PUT /api/chat/files/{id}`: see the module's doc. 201 the first time,
/// 200 for the same bytes again.
pub(super) async fn put(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(id): Path<String>,
    Query(upload): Query<Upload>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    if !model::valid_file_id(&id) {
        return Err(AppError::BadRequest(
            "a file's id is 32 lower-case hex digits".to_owned(),
        ));
    }
    match posts_in(&state, &who, &upload.channel).await? {
        None => return Err(AppError::NotFound),
        Some(false) => {
            return Err(AppError::Forbidden(
                "you do not post in this channel".to_owned(),
            ));
        }
        Some(true) => {}
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let file = model::ChatFile {
        id: id.clone(),
        name: upload.name.clone(),
        content_type: content_type.clone(),
        bytes: body.len() as u64,
        voice: None,
        thumb: None,
    };
    model::check_chat_file(&file).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if !looks_like(&content_type, &body) {
        return Err(AppError::BadRequest(format!(
            "these bytes are not {content_type}"
        )));
    }
    let bytes = body.len() as i64;
    let blob = state.blobs.put(body).await.map_err(blob_error)?;
    let stored = sqlx::query(
        "INSERT INTO chat_files (id, channel_id, sha256, name, content_type, bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (uploaded_by, id) DO NOTHING",
    )
    .bind(&id)
    .bind(&upload.channel)
    .bind(blob.hex())
    .bind(upload.name.trim())
    .bind(&content_type)
    .bind(bytes)
    .bind(&who.account_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if stored == 1 {
        return Ok(StatusCode::CREATED);
    }
    let same: bool = sqlx::query_scalar(
        "SELECT sha256 = $2 AND channel_id = $4 FROM chat_files
         WHERE id = $1 AND uploaded_by = $3",
    )
    .bind(&id)
    .bind(blob.hex())
    .bind(&who.account_id)
    .bind(&upload.channel)
    .fetch_one(&state.pool)
    .await?;
    if same {
        Ok(StatusCode::OK)
    } else {
        Err(AppError::Conflict(
            "another file of yours has this id; a new file needs a new id".to_owned(),
        ))
    }
}

/// `GET /api/chat/files/{author}/{id}`: the file, or the range asked for,
/// to those who read its channel; a 404 for anyone else, as for no file.
pub(super) async fn get(
    State(state): State<ChatState>,
    who: Authenticated,
    Path((author, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !model::valid_file_id(&id) || author.len() > 64 {
        return Err(AppError::NotFound);
    }
    let row: Option<(String, String, String, i64)> = sqlx::query_as(&format!(
        "SELECT f.sha256, f.name, f.content_type, f.bytes FROM chat_files f
         JOIN channels c ON c.doc_id = f.channel_id
         WHERE f.id = $1 AND f.uploaded_by = $4 AND f.withdrawn_at IS NULL
           AND {}",
        super::reads_channel("c.doc_id", "$2", "$3")
    ))
    .bind(&id)
    .bind(&who.account_id)
    .bind(who.role == Role::Admin)
    .bind(&author)
    .fetch_optional(&state.pool)
    .await?;
    let (sha256, name, content_type, bytes) = row.ok_or(AppError::NotFound)?;
    let blob = BlobId::parse(&sha256)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored sha256 {sha256:?}")))?;
    let shown = content_type.starts_with("image/")
        || content_type.starts_with("audio/")
        || content_type == "application/pdf";
    serve_blob(
        &state.blobs,
        &blob,
        bytes as u64,
        &content_type,
        (!shown).then_some(name.as_str()),
        &headers,
    )
    .await
    .map_err(blob_error)
}

/// Withdraws the file (and thumbnail) of `message`, as the projection
/// last read it, which is gone now: deleted by its author or removed by
/// an admin. Called before the projection forgets the file. Its bytes
/// stay in the blob store (kept by content, maybe another's too); no one
/// is served them again.
pub(super) async fn withdraw(
    conn: &mut sqlx::PgConnection,
    channel: &str,
    message: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE chat_files f SET withdrawn_at = now()
         FROM chat_messages m
         WHERE m.channel_id = $1 AND m.id = $2 AND m.file IS NOT NULL
           AND f.uploaded_by = m.author_id AND f.withdrawn_at IS NULL
           AND f.id IN (m.file->>'id', m.file->'thumb'->>'id')",
    )
    .bind(channel)
    .bind(message)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The most a file's request body may be: the largest file.
pub(super) const BODY_LIMIT: usize = chat_limits::FILE_BYTES as usize;

/// Whether `bytes` begin as a file of `content_type` does (its magic
/// number; text is UTF-8 without NUL). Only [`CHAT_FILE_TYPES`] pass.
pub fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    CHAT_FILE_TYPES.contains(&content_type)
        && match content_type {
            "image/jpeg" => at(0, &[0xFF, 0xD8, 0xFF]),
            "image/png" => at(0, b"\x89PNG\r\n\x1a\n"),
            "image/gif" => at(0, b"GIF87a") || at(0, b"GIF89a"),
            "image/webp" => at(0, b"RIFF") && at(8, b"WEBP"),
            "application/pdf" => at(0, b"%PDF-"),
            "audio/mp4" => at(4, b"ftyp"),
            "audio/webm" => at(0, &[0x1A, 0x45, 0xDF, 0xA3]),
            "audio/ogg" => at(0, b"OggS"),
            "text/plain" | "text/csv" => {
                std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0'))
            }
            // The office formats are zip archives.
            _ => at(0, b"PK\x03\x04"),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_must_look_like_the_type_they_claim() {
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!looks_like("image/png", b"<html><script>"));
        assert!(looks_like("audio/mp4", b"\0\0\0\x18ftypM4A "));
        assert!(!looks_like("audio/mp4", b"ftyp"));
        assert!(looks_like("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like("text/plain", "Prices, 2027 €".as_bytes()));
        assert!(!looks_like("text/plain", b"\xff\xfe"));
        assert!(
            !looks_like("text/html", b"<html>"),
            "not a type shared here"
        );
        assert!(!looks_like("image/svg+xml", b"<svg>"));
        assert!(!looks_like("application/pdf", b""));
    }
}
