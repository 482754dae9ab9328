//! The chat routes.
//!
//! | route                        | who            |
//! |------------------------------|----------------|
//! | `GET /api/chat/channels`     | signed in      |
//! | `GET /api/chat/search?q=`    | signed in      |
//! | `POST /api/chat/direct`      | signed in      |
//! | `POST /api/admin/channels`   | admin          |

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::ChannelForm;
use wire::{ChannelCreated, ChatHit, MyChannel, NewChannel, NewConversation, Role};

use super::{ChatState, channels};
use crate::http::{
    error::AppError,
    extract::{ApiJson, bounded_text},
    session::Authenticated,
};

/// The channels the account reads, the announcements first, then by name.
pub(super) async fn my_channels(
    State(state): State<ChatState>,
    who: Authenticated,
) -> Result<Json<Vec<MyChannel>>, AppError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.doc_id, c.name, c.form FROM channels c
         WHERE c.form = 'announcements'
            OR EXISTS (SELECT 1 FROM channel_members m
                       WHERE m.doc_id = c.doc_id AND m.account_id = $1)
         ORDER BY c.form <> 'announcements', c.form <> 'team', lower(c.name), c.doc_id",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(doc_id, name, form)| MyChannel {
                posts: who.role == Role::Admin
                    || ChannelForm::parse(&form) != Some(ChannelForm::Announcements),
                doc_id,
                name,
                form,
            })
            .collect(),
    ))
}

#[derive(serde::Deserialize)]
pub(super) struct SearchQuery {
    q: String,
}

/// The 30 newest messages matching every word of `q`, in the channels
/// the account reads (an admin: every channel).
pub(super) async fn search(
    State(state): State<ChatState>,
    who: Authenticated,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<ChatHit<DateTime<Utc>>>>, AppError> {
    let q = bounded_text(&query.q, "a search", "q", 200)?;
    if q.trim().is_empty() {
        return Ok(Json(Vec::new()));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        String,
        DateTime<Utc>,
        String,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT m.channel_id, c.name, m.id, a.name, m.written_at, m.body, m.reply_to
             FROM chat_messages m
             JOIN channels c ON c.doc_id = m.channel_id
             JOIN accounts a ON a.id = m.author_id
             WHERE NOT m.gone
               AND m.search @@ plainto_tsquery('simple', $2)
               AND ($3 OR c.form = 'announcements'
                    OR EXISTS (SELECT 1 FROM channel_members cm
                               WHERE cm.doc_id = m.channel_id AND cm.account_id = $1))
             ORDER BY m.written_at DESC, m.id DESC
             LIMIT 30",
    )
    .bind(&who.account_id)
    .bind(q.trim())
    .bind(who.role == Role::Admin)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(
                |(channel, channel_name, id, author_name, written_at, body, reply_to)| ChatHit {
                    channel,
                    channel_name,
                    id,
                    author_name,
                    written_at,
                    body,
                    reply_to,
                },
            )
            .collect(),
    ))
}

/// The most people in a direct conversation, its starter included.
const MAX_DIRECT: usize = 8;

/// A direct conversation between the caller and `with`, people they share
/// a team channel with: the one they have already (200), or a new one
/// (201). Starting one needs the server (it decides who may), writing in
/// it does not.
pub(super) async fn start_direct(
    State(state): State<ChatState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewConversation>,
) -> Result<Response, AppError> {
    let mut members: Vec<String> = body.with;
    members.retain(|m| *m != who.account_id);
    members.sort();
    members.dedup();
    if members.is_empty() || members.len() >= MAX_DIRECT {
        return Err(AppError::BadRequest(format!(
            "a conversation is with 1 to {} people",
            MAX_DIRECT - 1
        )));
    }
    let teammates: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT theirs.account_id
         FROM channel_members mine
         JOIN channels c ON c.doc_id = mine.doc_id AND c.form = 'team'
         JOIN channel_members theirs ON theirs.doc_id = c.doc_id
         JOIN accounts a ON a.id = theirs.account_id AND a.status = 'approved'
         WHERE mine.account_id = $1",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    if let Some(stranger) = members.iter().find(|m| !teammates.contains(m)) {
        return Err(AppError::BadRequest(format!(
            "{stranger:?} is not in a team of yours: you write to your team's people"
        )));
    }
    members.push(who.account_id.clone());
    members.sort();
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT c.doc_id FROM channels c
         WHERE c.form = 'direct'
           AND (SELECT array_agg(m.account_id ORDER BY m.account_id)
                FROM channel_members m WHERE m.doc_id = c.doc_id) = $1::text[]
         ORDER BY c.created_at LIMIT 1",
    )
    .bind(&members)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(doc_id) = existing {
        return Ok((StatusCode::OK, Json(ChannelCreated { doc_id })).into_response());
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM accounts WHERE id = ANY($1) ORDER BY name")
            .bind(&members)
            .fetch_all(&state.pool)
            .await?;
    let name: String = names.join(", ").chars().take(80).collect();
    open_channel(&state, ChannelForm::Direct, &name, &who, &members).await
}

/// Makes a channel of `members` started by `who`, and its documents and
/// index at once, so the answer names a channel ready to use: 201.
async fn open_channel(
    state: &ChatState,
    form: ChannelForm,
    name: &str,
    who: &Authenticated,
    members: &[String],
) -> Result<Response, AppError> {
    let mut tx = state.pool.begin().await?;
    let doc_id =
        channels::create(&mut tx, form, name, None, Some((&who.account_id, members))).await?;
    tx.commit().await?;
    channels::reconcile(state).await?;
    Ok((StatusCode::CREATED, Json(ChannelCreated { doc_id })).into_response())
}

/// A topic channel for the given approved accounts.
pub(super) async fn create_topic(
    State(state): State<ChatState>,
    who: Authenticated,
    ApiJson(channel): ApiJson<NewChannel>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let name = bounded_text(&channel.name, "a channel", "name", 80)?;
    let mut members = channel.members;
    members.sort();
    members.dedup();
    if members.is_empty() || members.len() > 500 {
        return Err(AppError::BadRequest(
            "a channel needs 1 to 500 members".to_owned(),
        ));
    }
    let known: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1) AND status = 'approved'")
            .bind(&members)
            .fetch_all(&state.pool)
            .await?;
    if let Some(unknown) = members.iter().find(|m| !known.contains(m)) {
        return Err(AppError::BadRequest(format!(
            "no approved account {unknown:?}"
        )));
    }
    open_channel(&state, ChannelForm::Topic, &name, &who, &members).await
}
