//! The chat routes.
//!
//! | route                        | who            |
//! |------------------------------|----------------|
//! | `GET /api/chat/channels`     | signed in      |
//! | `GET /api/chat/search?q=`    | signed in      |
//! | `POST /api/chat/direct`      | signed in      |
//! | `GET /api/chat/topics`       | signed in      |
//! | `POST /api/chat/channels/{id}/join`  | signed in (a topic) |
//! | `POST /api/chat/channels/{id}/leave` | a member (a topic or a conversation) |
//! | `POST /api/admin/channels`   | admin          |
//! | `DELETE /api/admin/channels/{id}/members/{account}` | admin (a topic or a conversation) |
//!
//! A change of members is committed, then said to the share policy, which
//! decides the member's open connections again (a member removed stops
//! receiving the channel at once), then written into the channel's index.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use model::ChannelForm;
use wire::{ChannelCreated, ChatHit, MyChannel, NewChannel, NewConversation, Role, TopicChannel};

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
    let rows: Vec<(String, String, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT c.doc_id, c.name, c.form, c.team_leader_id,
                EXISTS (SELECT 1 FROM channel_members m
                        WHERE m.doc_id = c.doc_id AND m.account_id = $1) AS member
         FROM channels c
         WHERE c.form = 'announcements'
            OR EXISTS (SELECT 1 FROM channel_members m
                       WHERE m.doc_id = c.doc_id AND m.account_id = $1)
         ORDER BY c.form <> 'announcements', c.form <> 'team', c.form <> 'team_announcements',
                  lower(c.name), c.doc_id",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(doc_id, name, form, leader, member)| MyChannel {
                posts: ChannelForm::parse(&form)
                    .is_some_and(|f| super::posts(&who, f, member, leader.as_deref())),
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
    )> = sqlx::query_as(&format!(
        "SELECT m.channel_id, c.name, m.id, a.name, m.written_at, m.body, m.reply_to
             FROM chat_messages m
             JOIN channels c ON c.doc_id = m.channel_id
             JOIN accounts a ON a.id = m.author_id
             WHERE NOT m.gone
               AND m.search @@ plainto_tsquery('simple', $2)
               AND {}
             ORDER BY m.written_at DESC, m.id DESC
             LIMIT 30",
        super::reads_channel("m.channel_id", "$1", "$3")
    ))
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

/// Every topic channel, with how many belong and whether the caller does.
pub(super) async fn topics(
    State(state): State<ChatState>,
    who: Authenticated,
) -> Result<Json<Vec<TopicChannel>>, AppError> {
    let rows: Vec<(String, String, i64, bool)> = sqlx::query_as(
        "SELECT c.doc_id, c.name,
                (SELECT count(*) FROM channel_members m WHERE m.doc_id = c.doc_id),
                EXISTS (SELECT 1 FROM channel_members m
                        WHERE m.doc_id = c.doc_id AND m.account_id = $1)
         FROM channels c WHERE c.form = 'topic'
         ORDER BY lower(c.name), c.doc_id",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(doc_id, name, members, joined)| TopicChannel {
                doc_id,
                name,
                members: u32::try_from(members).unwrap_or(u32::MAX),
                joined,
            })
            .collect(),
    ))
}

/// The form of the channel `doc_id` names; 404 for none (an id of any
/// length or shape is simply not found).
async fn form_of(state: &ChatState, doc_id: &str) -> Result<ChannelForm, AppError> {
    if doc_id.len() > 64 {
        return Err(AppError::NotFound);
    }
    let form: Option<String> = sqlx::query_scalar("SELECT form FROM channels WHERE doc_id = $1")
        .bind(doc_id)
        .fetch_optional(&state.pool)
        .await?;
    form.as_deref()
        .and_then(ChannelForm::parse)
        .ok_or(AppError::NotFound)
}

/// The caller joins a topic channel (again: nothing changes): 204.
pub(super) async fn join(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(doc_id): Path<String>,
) -> Result<StatusCode, AppError> {
    if form_of(&state, &doc_id).await? != ChannelForm::Topic {
        return Err(AppError::Conflict(
            "only a topic channel is joined; a team's and a conversation's members are decided for them"
                .to_owned(),
        ));
    }
    let removed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM channel_removals WHERE doc_id = $1 AND account_id = $2)",
    )
    .bind(&doc_id)
    .bind(&who.account_id)
    .fetch_one(&state.pool)
    .await?;
    if removed {
        return Err(AppError::Forbidden(
            "an admin removed you from this channel".to_owned(),
        ));
    }
    let added = sqlx::query(
        "INSERT INTO channel_members (doc_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(&doc_id)
    .bind(&who.account_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if added > 0 {
        members_changed(&state, &doc_id, &who.account_id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller leaves a topic channel or a conversation: 204.
pub(super) async fn leave(
    State(state): State<ChatState>,
    who: Authenticated,
    Path(doc_id): Path<String>,
) -> Result<StatusCode, AppError> {
    let account = who.account_id.clone();
    remove_member(&state, &doc_id, &account, None).await
}

/// An admin removes `account` from a topic channel or a conversation: 204.
pub(super) async fn remove(
    State(state): State<ChatState>,
    who: Authenticated,
    Path((doc_id, account)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    who.require_admin()?;
    remove_member(&state, &doc_id, &account, Some(&who.account_id)).await
}

/// `by`: the admin who removes them (they do not join again by
/// themselves); `None`: they leave.
async fn remove_member(
    state: &ChatState,
    doc_id: &str,
    account: &str,
    by: Option<&str>,
) -> Result<StatusCode, AppError> {
    match form_of(state, doc_id).await? {
        ChannelForm::Topic | ChannelForm::Direct => {}
        ChannelForm::Team | ChannelForm::TeamAnnouncements | ChannelForm::Announcements => {
            return Err(AppError::Conflict(
                "a team's channels follow the team, and everyone reads the announcements"
                    .to_owned(),
            ));
        }
    }
    let mut tx = state.pool.begin().await?;
    let removed = sqlx::query("DELETE FROM channel_members WHERE doc_id = $1 AND account_id = $2")
        .bind(doc_id)
        .bind(account)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    if let Some(admin) = by {
        sqlx::query(
            "INSERT INTO channel_removals (doc_id, account_id, removed_by) VALUES ($1, $2, $3)
             ON CONFLICT (doc_id, account_id) DO NOTHING",
        )
        .bind(doc_id)
        .bind(account)
        .bind(admin)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    members_changed(state, doc_id, account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// After a change of `channel`'s members (committed): `account`'s open
/// connections decided again, then the index written.
async fn members_changed(state: &ChatState, channel: &str, account: &str) -> Result<(), AppError> {
    state.policy.changed(&[account.to_owned()]);
    channels::mark_stale(&state.pool, channel).await?;
    // The change is made: an index not written now is written by the next
    // sweep (it is marked stale), so the answer still says it is done.
    if let Err(error) = channels::write_stale_indexes(state).await {
        tracing::warn!(%error, channel, "chat: index left to the sweep");
    }
    Ok(())
}
