//! Team collaboration: channels (a team's, the programme's announcements,
//! topics) and their messages.
//!
//! A channel is an index document the server writes (`channel`: name,
//! form, members with their names, its messages documents by period) and
//! message documents its members write (`messages`, one per channel and
//! month), every change checked by the platform's validated shared writes
//! before samod sees it: a member adds only their own messages and
//! reactions and changes only what they wrote; who wrote what is the
//! actor of the change, whose bytes name the account (`model::actor_for`).
//! `reads.rs` is each partner's read markers (their own document, written
//! on their devices). `channels.rs` keeps channels, their members and their documents in step
//! with the accounts (a worker: the announcements channel, one channel per
//! team, the next month's document opened ahead); `directory.rs` answers
//! the share policy; `api.rs` the routes; `moderation.rs` the older
//! history and the back-office's (every channel, an admin's post, a
//! removal, an export).

pub mod api;
pub mod channels;
pub mod directory;
pub mod engagement;
pub mod files;
pub mod moderation;
pub mod projection;
pub mod reads;

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{HeaderValue, header},
    routing::{delete, get, post, put},
};
use sqlx::PgPool;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{
    http::session::SessionSettings,
    platform::{blobs::BlobStore, policy::AccessPolicy, residency::Residency},
};

/// Whether `who` posts in a channel of `form`: an admin anywhere; a
/// member where members post, and in a team's announcements its leader
/// (`leader`). The share policy decides the same for documents
/// (`directory.rs`).
/// The SQL that orders a month's documents by their split (`2026-12`,
/// `2026-12.2`, ... `2026-12.10`), as `model::period_order` does.
pub(crate) const SPLIT_ORDER: &str = "coalesce(nullif(split_part(period, '.', 2), '')::int, 1)";

/// The SQL condition "the account reads the channel": an admin reads every
/// channel, everyone the programme's announcements, a member their
/// channel. The channel's row in `channels` is `c`; `channel` is the
/// column holding its doc id, `account` and `admin` the query's
/// parameters (`$2`, a boolean).
pub(crate) fn reads_channel(channel: &str, account: &str, admin: &str) -> String {
    format!(
        "({admin} OR c.form = 'announcements'
          OR EXISTS (SELECT 1 FROM channel_members cm
                     WHERE cm.doc_id = {channel} AND cm.account_id = {account}))"
    )
}

pub(crate) fn posts(
    who: &crate::http::session::Authenticated,
    form: model::ChannelForm,
    member: bool,
    leader: Option<&str>,
) -> bool {
    who.role == wire::Role::Admin
        || (member
            && (form.members_post()
                || (form == model::ChannelForm::TeamAnnouncements
                    && leader == Some(who.account_id.as_str()))))
}

/// What the chat routes and worker need.
#[derive(Clone)]
pub struct ChatState {
    pub pool: PgPool,
    pub residency: std::sync::Arc<Residency>,
    /// Told when members change, so open connections follow at once.
    pub policy: AccessPolicy,
    /// Where attached files' bytes are kept.
    pub blobs: BlobStore,
    /// Messages in a document past which its month goes on in another.
    pub split_at: u32,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ChatState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route("/api/chat/channels", get(api::my_channels))
        .route("/api/chat/search", get(api::search))
        .route("/api/chat/direct", post(api::start_direct))
        .route("/api/chat/topics", get(api::topics))
        .route("/api/chat/channels/{id}/join", post(api::join))
        .route("/api/chat/channels/{id}/leave", post(api::leave))
        .route("/api/chat/channels/{id}/history", get(moderation::history))
        .route(
            "/api/admin/channels",
            get(moderation::all_channels).post(api::create_topic),
        )
        .route("/api/admin/channels/{id}/messages", post(moderation::post))
        .route(
            "/api/admin/channels/{id}/messages/{message}",
            delete(moderation::remove_message),
        )
        .route("/api/admin/channels/{id}/export", get(moderation::export))
        .route(
            "/api/admin/channels/{id}/members/{account}",
            delete(api::remove),
        )
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Files: their own body limit, and their own cache headers.
        .merge(
            Router::new()
                .route("/api/chat/files/{id}", put(files::put))
                .route("/api/chat/files/{author}/{id}", get(files::get))
                .layer(DefaultBodyLimit::max(files::BODY_LIMIT)),
        )
}

/// Keeps channels in step with the accounts now, then every `every`, and
/// projects the messages documents stored (`changed`).
pub async fn start(
    state: &ChatState,
    every: Duration,
    changed: crate::events::Inbox<crate::events::DocumentStored>,
    figures: crate::events::Outbox<crate::events::FiguresMoved>,
) -> anyhow::Result<()> {
    tokio::spawn(projection::run(state.pool.clone(), changed, figures));
    reads::catch_up(&state.pool).await?;
    channels::reconcile(state).await?;
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = channels::reconcile(&state).await {
                tracing::warn!(%error, "chat: keeping channels in step failed; tried again");
            }
        }
    });
    Ok(())
}
