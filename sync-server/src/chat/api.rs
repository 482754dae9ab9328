//! The chat routes.
//!
//! | route                        | who            |
//! |------------------------------|----------------|
//! | `GET /api/chat/channels`     | signed in      |
//! | `GET /api/chat/search?q=`    | signed in      |
//! | `POST /api/admin/channels`   | admin          |

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::ChannelForm;
use wire::{ChannelCreated, ChatHit, MyChannel, NewChannel, Role};

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
    let mut tx = state.pool.begin().await?;
    let doc_id = channels::create(
        &mut tx,
        ChannelForm::Topic,
        &name,
        None,
        Some((&who.account_id, &members)),
    )
    .await?;
    tx.commit().await?;
    // Its documents and index now, so the answer names a channel ready
    // to use.
    channels::reconcile(&state).await?;
    Ok((StatusCode::CREATED, Json(ChannelCreated { doc_id })).into_response())
}
