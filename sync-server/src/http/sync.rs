//! `/sync`: the WebSocket upgrade of a signed-in account, handed to the
//! platform's guard and to the repo of its team's shard.

use std::sync::Arc;

use axum::{
    extract::{State, ws::WebSocketUpgrade},
    http::header,
    response::{IntoResponse, Response},
};
use sqlx::PgPool;

use crate::{
    http::{
        error::AppError,
        live_sessions::LiveSessions,
        session::{Authenticated, SessionKind, same_site_request},
    },
    platform::{guard, policy::AccessPolicy, residency::Residency, sockets::SocketCounts},
};

/// What `/sync` reads from the server's state.
#[derive(Clone)]
pub struct SyncState {
    pub pool: PgPool,
    pub policy: AccessPolicy,
    pub live_sessions: Arc<LiveSessions>,
    pub residency: Arc<Residency>,
    pub max_sync_message_bytes: usize,
    pub limits: guard::Limits,
    pub sockets: Arc<SocketCounts>,
    /// Whether the app's origin is `https://` (`--secure-cookies`).
    pub secure_cookies: bool,
}

/// The automerge-repo protocol over a WebSocket, for a signed-in account
/// only, checked by the guard and handed to samod.
///
/// A browser sends its session cookie with the upgrade of a same-origin
/// WebSocket, and any page it visits could open one to us: so a cookie
/// session must come with our own `Origin` (browsers always send it on a
/// WebSocket upgrade). A bearer token is never sent by a browser on its own.
pub async fn sync_socket(
    State(state): State<SyncState>,
    headers: axum::http::HeaderMap,
    who: Result<Authenticated, AppError>,
    ws: WebSocketUpgrade,
) -> Response {
    let who = match who {
        Ok(who) => who,
        Err(error) => return error.into_response(),
    };
    if who.session.kind == SessionKind::Cookie
        && !(headers.contains_key(header::ORIGIN)
            && same_site_request(&headers, state.secure_cookies))
    {
        return AppError::Forbidden(
            "cross-site WebSocket refused: connect from the app's own origin".to_owned(),
        )
        .into_response();
    }
    let Some(slot) = state.sockets.open(&who.account_id) else {
        tracing::info!(account = %who.account_id, "sync socket refused: too many open");
        return AppError::TooManySockets.into_response();
    };
    let session_end = state.live_sessions.watch(who.session.token_hash);
    ws.max_message_size(state.max_sync_message_bytes)
        .max_frame_size(state.max_sync_message_bytes)
        // tungstenite's defaults are 128 KiB each way, held for the
        // socket's life: most of what a connection cost. Sync messages
        // are a few hundred bytes; a larger one is read in several reads
        // and written as it is sent.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            // A team meets in one shard. Any shard would be correct (the
            // residency bus carries writes between them), so a failed
            // lookup costs only locality.
            let shard_key = shard_key(&state.pool, &who.account_id)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "team lookup failed: sharding by account");
                    who.account_id.clone()
                });
            let accepted = state.residency.accept(&shard_key, |repo, farewell| {
                let gate = guard::Gate {
                    limits: state.limits,
                    account: who.account_id,
                    session_end,
                    session_expires: who.session.expires_at,
                    pool: state.pool.clone(),
                    policy: state.policy.clone(),
                    // The repo this connection syncs with: its shard's.
                    repo,
                    slot,
                };
                guard::transport(socket, gate, farewell)
            });
            if accepted.is_err() {
                tracing::warn!("sync connection refused: repo is stopping");
            }
        })
}

/// The cookie a proxy in front of several nodes routes `/sync` by (see
/// `deploy/haproxy.cfg`): the same for every account of a team, so a
/// team's devices meet on one node, where the documents they share are
/// held once and their changes pass between them without a trip through
/// Postgres. Only routing hangs on it: a node serves any client, so a
/// forged or stale value costs a team a hop between nodes, nothing more.
pub const AFFINITY_COOKIE: &str = "portal_affinity";

/// The affinity of a team (its [`shard_key`]): opaque, so a proxy's logs
/// name no account.
pub fn affinity_of(shard_key: &str) -> String {
    format!(
        "{:016x}",
        crate::platform::residency::stable_hash(&format!("affinity:{shard_key}"))
    )
}

/// The `Set-Cookie` value of [`AFFINITY_COOKIE`].
pub fn affinity_cookie(affinity: &str, max_age: chrono::Duration, secure: bool) -> String {
    format!(
        "{AFFINITY_COOKIE}={affinity}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        max_age.num_seconds().max(0),
        if secure { "; Secure" } else { "" }
    )
}

/// Each sync socket's read and write buffers.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// What an account's connections are sharded by: its team leader's id, or
/// its own when it leads or belongs to no team. An unknown account (its
/// session was valid a moment ago) is sharded by its own id. The server's
/// platform knows no accounts: this is where an account becomes a key.
pub async fn shard_key(pool: &PgPool, account_id: &str) -> Result<String, sqlx::Error> {
    let team: Option<String> =
        sqlx::query_scalar("SELECT coalesce(team_leader_id, id) FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    Ok(team.unwrap_or_else(|| account_id.to_owned()))
}
