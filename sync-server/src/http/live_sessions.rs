//! The sessions behind open `/sync` connections, so that a session's end
//! closes its sockets.
//!
//! Signing out ends a session here at once. Whatever ends one in Postgres
//! (a sign-out on another node, a revocation or an account rejection
//! written straight to the database) is noticed by a trigger on
//! `sessions_ended` (schema 0027), which every node listens to, so the
//! sockets close at once on every node. Expiry by time, and whatever a
//! lost notice missed, is found by a sweep that asks Postgres, every few
//! seconds, which of the sessions with open sockets are still valid. A
//! socket whose session ended is closed with 4401, which clients read as
//! "sign in again" (their local changes stay theirs).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use sqlx::PgPool;
use tokio::sync::watch;

use crate::{
    http::session::VALID_SESSION,
    lock,
    platform::{guard::SESSION_ENDED, residency::Farewell},
};

pub struct LiveSessions {
    pool: PgPool,
    /// One sender per session with open sockets; each socket holds a
    /// receiver.
    open: Mutex<HashMap<[u8; 32], watch::Sender<Option<Farewell>>>>,
}

impl LiveSessions {
    /// Starts the sweep, every `every`.
    pub fn start(pool: PgPool, every: Duration) -> Arc<LiveSessions> {
        let sessions = Arc::new(LiveSessions {
            pool,
            open: Mutex::default(),
        });
        tokio::spawn(sweep_forever(Arc::downgrade(&sessions), every));
        tokio::spawn(listen_forever(Arc::downgrade(&sessions)));
        sessions
    }

    /// A signal that says farewell when the session ends.
    pub fn watch(&self, token_hash: [u8; 32]) -> watch::Receiver<Option<Farewell>> {
        lock(&self.open)
            .entry(token_hash)
            .or_insert_with(|| watch::Sender::new(None))
            .subscribe()
    }

    /// Closes the session's sockets now.
    pub fn end(&self, token_hash: &[u8; 32]) {
        if let Some(sender) = lock(&self.open).remove(token_hash) {
            sender.send_replace(Some(SESSION_ENDED));
        }
    }

    /// Forgets sessions without sockets, and ends those Postgres no longer
    /// holds valid.
    async fn sweep(&self) -> Result<(), sqlx::Error> {
        let watched: Vec<Vec<u8>> = {
            let mut open = lock(&self.open);
            open.retain(|_, sender| sender.receiver_count() > 0);
            open.keys().map(|hash| hash.to_vec()).collect()
        };
        if watched.is_empty() {
            return Ok(());
        }
        let valid: HashSet<Vec<u8>> = sqlx::query_scalar(&format!(
            "SELECT s.token_hash FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = ANY($1) AND {VALID_SESSION}"
        ))
        .bind(&watched)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        for hash in watched {
            if !valid.contains(&hash) {
                let hash: [u8; 32] = hash.try_into().expect("keys are 32 bytes");
                self.end(&hash);
            }
        }
        Ok(())
    }
}

/// The channel schema 0027's triggers notify ended sessions on.
const ENDED: &str = "sessions_ended";

/// The session a notice names: 32 bytes in hex; anything else names none.
fn ended_session(payload: &str) -> Option<[u8; 32]> {
    if payload.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(payload.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(hash)
}

/// Ends the sessions Postgres says ended, as it says so. Notices missed
/// while the connection was down are made up by a sweep at once.
async fn listen_forever(sessions: Weak<LiveSessions>) {
    loop {
        let Some(pool) = sessions.upgrade().map(|s| s.pool.clone()) else {
            return;
        };
        let mut listener = crate::platform::cluster::listener_on(&pool, ENDED).await;
        loop {
            let received = listener.try_recv().await;
            let Some(sessions) = sessions.upgrade() else {
                return;
            };
            match received {
                Ok(Some(notice)) => {
                    if let Some(hash) = ended_session(notice.payload()) {
                        sessions.end(&hash);
                    }
                }
                // Reconnected: what ended meanwhile was not heard.
                Ok(None) => {
                    if let Err(error) = sessions.sweep().await {
                        tracing::warn!(%error, "session sweep failed");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "listening for ended sessions failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn sweep_forever(sessions: Weak<LiveSessions>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(sessions) = sessions.upgrade() else {
            return;
        };
        // An unreachable database ends nobody's session: the next sweep
        // tries again.
        if let Err(error) = sessions.sweep().await {
            tracing::warn!(%error, "session sweep failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_a_session_only_by_its_whole_hash() {
        let hex = "00ff".repeat(16);
        let mut expected = [0u8; 32];
        for (i, byte) in expected.iter_mut().enumerate() {
            *byte = if i % 2 == 0 { 0 } else { 0xff };
        }
        assert_eq!(ended_session(&hex), Some(expected));
        // Hostile or broken payloads end nobody's session.
        assert_eq!(ended_session(&hex[..62]), None);
        assert_eq!(ended_session(&format!("{hex}00")), None);
        assert_eq!(ended_session(&"zz".repeat(32)), None);
        assert_eq!(ended_session(&"é".repeat(32)), None);
        assert_eq!(ended_session(""), None);
    }
}
