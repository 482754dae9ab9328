//! The back-office's channels and the older history.
//!
//! | route                                           | who    |
//! |-------------------------------------------------|--------|
//! | `GET /api/chat/channels/{id}/history?before=`   | a reader of the channel |
//! | `GET /api/admin/channels`                       | admin  |
//! | `POST /api/admin/channels/{id}/messages`        | admin (not in a conversation) |
//! | `DELETE /api/admin/channels/{id}/messages/{message}` | admin |
//! | `GET /api/admin/channels/{id}/export`           | admin  |
//!
//! The history is the projection's (`chat_messages`), newest first, a page
//! at a time: what is older than the two months a device keeps, and what
//! the back-office reads, which keeps nothing on the device.
//!
//! An admin's post is written by the server into the channel's messages
//! document of this month under an actor of the admin's own
//! (`model::actor_for`, registered to them), so every device reads it as
//! theirs exactly as a member's. A removal is the server's word, written
//! into the document in a map no member may write (`MessagesDoc::remove`):
//! every device shows the message as removed by an admin, whatever its
//! author writes after, and the projection keeps who removed it. The
//! document's history still holds what was written (a CRDT forgets
//! nothing), as every device that had it does.
//!
//! A server write to a messages document holds its `channel_buckets` row
//! for the time of the write, so two writes never both make the `removed`
//! map (one would hide the other's removal).

use automerge::Automerge;
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, Utc};
use model::{ChannelForm, ChatEdit, ChatFile, MessagesDoc, Timestamp};
use wire::{AdminChannel, AdminPost, HistoryFile, HistoryMessage, HistoryThumb, Posted, Role};

use super::ChatState;
use crate::{
    http::{csv, error::AppError, extract::ApiJson, session::Authenticated},
    platform::{server_docs, storage},
};

/// Messages in a page of the history, unless asked for fewer.
const PAGE: i64 = 50;
/// The most a page holds.
const MAX_PAGE: i64 = 200;

#[derive(serde::Deserialize)]
pub(super) struct HistoryQuery {
    /// The `cursor` of the last message of the page before.
    before: Option<String>,
    limit: Option<i64>,
}

/// A page's end: the time written (microseconds) and id of its last
/// message, as `<micros>.<id>` (an id has no dot).
fn cursor(at: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", at.timestamp_micros())
}

fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::BadRequest("before is not a cursor the history gave".to_owned());
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    if !model::valid_message_id(id) {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

/// The channel's form, if `who` reads it: an admin reads every channel,
/// everyone the announcements, a member their channel. Anyone else is
/// told there is no such channel.
async fn readable(
    state: &ChatState,
    who: &Authenticated,
    channel: &str,
) -> Result<ChannelForm, AppError> {
    let form: Option<String> = sqlx::query_scalar(&format!(
        "SELECT c.form FROM channels c WHERE c.doc_id = $1 AND {}",
        super::reads_channel("c.doc_id", "$2", "$3")
    ))
    .bind(channel)
    .bind(&who.account_id)
    .bind(who.role == Role::Admin)
    .fetch_optional(&state.pool)
    .await?;
    form.as_deref()
        .and_then(ChannelForm::parse)
        .ok_or(AppError::NotFound)
}

type HistoryRow = (
    String,
    String,
    String,
    DateTime<Utc>,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    bool,
    Option<String>,
    Option<serde_json::Value>,
);

/// The columns of [`HistoryRow`], from `chat_messages m`.
const HISTORY_COLUMNS: &str = "m.id, m.author_id, a.name, m.written_at, m.body, m.reply_to,
     m.edited_at, m.gone, r.name, m.file
     FROM chat_messages m
     JOIN accounts a ON a.id = m.author_id
     LEFT JOIN accounts r ON r.id = m.removed_by";

fn history_message(row: HistoryRow) -> HistoryMessage<DateTime<Utc>> {
    let (id, author, author_name, written_at, body, reply_to, edited_at, gone, removed_by, file) =
        row;
    // What was projected passed the model's checks; a file that reads
    // otherwise now is shown as none rather than trusted.
    let file = file
        .filter(|_| !gone)
        .and_then(|f| serde_json::from_value::<ChatFile>(f).ok())
        .filter(|f| model::check_chat_file(f).is_ok())
        .map(|f| HistoryFile {
            id: f.id,
            name: f.name,
            content_type: f.content_type,
            bytes: f.bytes,
            thumb: f.thumb.map(|t| HistoryThumb {
                id: t.id,
                width: t.width,
                height: t.height,
            }),
        });
    HistoryMessage {
        cursor: cursor(written_at, &id),
        deleted: gone && removed_by.is_none(),
        id,
        author,
        author_name,
        written_at,
        body,
        reply_to,
        edited_at,
        removed_by,
        file,
    }
}

/// A page of the channel's messages, newest first, older than `before`.
pub(super) async fn history(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(channel): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Vec<HistoryMessage<DateTime<Utc>>>>, AppError> {
    readable(&state, &who, &channel).await?;
    let limit = query.limit.unwrap_or(PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit is 1 to {MAX_PAGE} messages"
        )));
    }
    let before = query.before.as_deref().map(parse_cursor).transpose()?;
    let (before_at, before_id) = before.unzip();
    let rows: Vec<HistoryRow> = sqlx::query_as(&format!(
        "SELECT {HISTORY_COLUMNS}
         WHERE m.channel_id = $1
           AND ($2::timestamptz IS NULL OR (m.written_at, m.id) < ($2, $3))
         ORDER BY m.written_at DESC, m.id DESC
         LIMIT $4"
    ))
    .bind(&channel)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows.into_iter().map(history_message).collect()))
}

/// Every channel of the programme: the announcements, teams, topics,
/// then conversations.
pub(super) async fn all_channels(
    State(state): State<ChatState>,
    who: Authenticated,
) -> Result<Json<Vec<AdminChannel<DateTime<Utc>>>>, AppError> {
    who.require_admin()?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, String, i32, i32, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT c.doc_id, c.name, c.form,
                (SELECT count(*) FROM channel_members m WHERE m.doc_id = c.doc_id)::int4,
                (SELECT count(*) FROM chat_messages x WHERE x.channel_id = c.doc_id)::int4,
                (SELECT max(written_at) FROM chat_messages x WHERE x.channel_id = c.doc_id)
         FROM channels c
         ORDER BY c.form <> 'announcements', c.form <> 'team', c.form <> 'topic',
                  lower(c.name), c.doc_id",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(
                |(doc_id, name, form, members, messages, last_at)| AdminChannel {
                    doc_id,
                    name,
                    form,
                    members: members.max(0) as u32,
                    messages: messages.max(0) as u32,
                    last_at,
                },
            )
            .collect(),
    ))
}

/// Loads the messages document `bucket` to write it as `actor`, holding
/// its row in `tx` (see the module's doc).
async fn hold_bucket(
    tx: &mut sqlx::PgConnection,
    state: &ChatState,
    bucket: &str,
    actor: automerge::ActorId,
    account: Option<&str>,
) -> Result<Automerge, AppError> {
    sqlx::query("SELECT 1 FROM channel_buckets WHERE doc_id = $1 FOR UPDATE")
        .bind(bucket)
        .execute(&mut *tx)
        .await?;
    // Registered before anything is written with it, outside the
    // transaction: a registration for nothing is harmless, a change by an
    // actor nobody has is not.
    sqlx::query("INSERT INTO actors (actor, account_id) VALUES ($1, $2)")
        .bind(actor.to_bytes())
        .bind(account)
        .execute(&state.pool)
        .await?;
    let doc = storage::load_document(&state.pool, bucket)
        .await
        .map_err(|e| anyhow::anyhow!("messages document {bucket} does not load: {e}"))?;
    Ok(doc.with_actor(actor))
}

async fn store(
    state: &ChatState,
    bucket: &str,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
) -> Result<(), AppError> {
    server_docs::store_changes_since(&state.residency, bucket, doc, before)
        .await
        .map(drop)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// An admin's message, in this month's newest document of the
/// programme's announcements. Only there: a channel's index names its
/// members, and an admin is a member of the announcements alone, so a
/// post elsewhere would read on devices as someone unnamed.
pub(super) async fn post(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<AdminPost>,
) -> Result<(StatusCode, Json<Posted>), AppError> {
    who.require_admin()?;
    model::check_chat_body(&body.body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if readable(&state, &who, &channel).await? != ChannelForm::Announcements {
        return Err(AppError::Forbidden(
            "admins post in the programme's announcements; in other channels their members do"
                .to_owned(),
        ));
    }
    let at = Timestamp(Utc::now().timestamp_millis());
    let period = model::month_of(at);
    let mut tx = state.pool.begin().await?;
    // The month's newest split, where devices write too.
    let bucket: Option<String> = sqlx::query_scalar(&format!(
        "SELECT doc_id FROM channel_buckets
         WHERE channel_id = $1 AND split_part(period, '.', 1) = $2
         ORDER BY {} DESC LIMIT 1",
        super::SPLIT_ORDER
    ))
    .bind(&channel)
    .bind(&period)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(bucket) = bucket else {
        // The chat's worker opens each month's document ahead of it.
        return Err(AppError::Conflict(format!(
            "the channel's document for {period} is not open yet; try again in a minute"
        )));
    };
    let actor = model::actor_for(&who.account_id, rand::random());
    let mut doc = hold_bucket(&mut tx, &state, &bucket, actor, Some(&who.account_id)).await?;
    let before = doc.get_heads();
    let id = format!("{:032x}", rand::random::<u128>());
    ChatEdit::Post {
        id: id.clone(),
        at,
        body: body.body,
        reply_to: None,
        file: None,
    }
    .apply(&mut doc)
    .map_err(|e| AppError::Internal(anyhow::anyhow!("an admin's post: {e}")))?;
    store(&state, &bucket, &doc, &before).await?;
    tx.commit().await?;
    // Projected now rather than when the bus says so, so the back-office
    // that reloads on this answer lists it.
    if let Err(error) = super::projection::project(&state.pool, &bucket).await {
        tracing::warn!(%error, bucket, "an admin's post waits for the projection");
    }
    tracing::info!(channel, id, by = who.account_id, "an admin posted");
    Ok((StatusCode::CREATED, Json(Posted { id })))
}

/// An admin removes a message (moderation); said again, nothing changes.
pub(super) async fn remove_message(
    State(state): State<ChatState>,
    who: Authenticated,
    Path((channel, message)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    who.require_admin()?;
    if !model::valid_message_id(&message) {
        return Err(AppError::NotFound);
    }
    let mut tx = state.pool.begin().await?;
    let bucket: Option<String> =
        sqlx::query_scalar("SELECT doc_id FROM chat_messages WHERE channel_id = $1 AND id = $2")
            .bind(&channel)
            .bind(&message)
            .fetch_optional(&mut *tx)
            .await?;
    // Known once projected, which follows its arrival by milliseconds.
    let Some(bucket) = bucket else {
        return Err(AppError::NotFound);
    };
    // A server actor names nobody: it starts with the zero byte that
    // ends an account id in a member's (`model::actor_for`).
    let server = automerge::ActorId::from([[0u8].as_slice(), &rand::random::<[u8; 16]>()].concat());
    let mut doc = hold_bucket(&mut tx, &state, &bucket, server, None).await?;
    let before = doc.get_heads();
    let at = Timestamp(Utc::now().timestamp_millis());
    let removed = MessagesDoc::remove(&mut doc, &message, &who.account_id, at)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a removal: {e}")))?;
    if removed {
        store(&state, &bucket, &doc, &before).await?;
        // The projection says so too when it reads the document again;
        // said here at once, for the history, search and its file.
        super::files::withdraw(&mut tx, &channel, &message).await?;
        sqlx::query(
            "UPDATE chat_messages SET gone = true, body = '', file = NULL, removed_by = $3
             WHERE channel_id = $1 AND id = $2",
        )
        .bind(&channel)
        .bind(&message)
        .bind(&who.account_id)
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            channel,
            message,
            by = who.account_id,
            "message removed by an admin"
        );
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel's every message as CSV, oldest first.
pub(super) async fn export(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(channel): Path<String>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    readable(&state, &who, &channel).await?;
    let rows: Vec<HistoryRow> = sqlx::query_as(&format!(
        "SELECT {HISTORY_COLUMNS}
         WHERE m.channel_id = $1
         ORDER BY m.written_at, m.id"
    ))
    .bind(&channel)
    .fetch_all(&state.pool)
    .await?;
    let mut out = csv::line([
        "written_at",
        "id",
        "author_id",
        "author",
        "reply_to",
        "body",
        "edited_at",
        "state",
        "file",
        "file_type",
    ]);
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for m in rows.into_iter().map(history_message) {
        let state = match (&m.removed_by, m.deleted) {
            (Some(admin), _) => format!("removed by {admin}"),
            (None, true) => "deleted".to_owned(),
            (None, false) => String::new(),
        };
        let (file, file_type) = m.file.map(|f| (f.name, f.content_type)).unwrap_or_default();
        out.push_str(&csv::line([
            time(m.written_at),
            m.id,
            m.author,
            m.author_name,
            m.reply_to.unwrap_or_default(),
            m.body,
            m.edited_at.map(time).unwrap_or_default(),
            state,
            file,
            file_type,
        ]));
    }
    Ok(csv::attachment(&format!("channel-{channel}"), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_nothing_else_does() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
        assert_eq!(
            parse_cursor(&cursor(at, "m-1_a")).unwrap(),
            (at, "m-1_a".to_owned())
        );
        for bad in [
            "",
            ".",
            "12",
            "x.m1",
            "12.",
            "12.a b",
            "12.a.b",
            "99999999999999999999.m1",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
