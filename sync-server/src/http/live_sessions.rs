//! The sessions behind open `/sync` connections, so that a session's end
//! closes its sockets.
//!
//! Signing out ends a session here at once. Anything else that ends one
//! (expiry, a revocation or an account rejection written straight to
//! Postgres, another server instance) is found by a sweep that asks
//! Postgres, every few seconds, which of the sessions with open sockets are
//! still valid. A socket whose session ended is closed with 4401, which
//! clients read as "sign in again" (their local changes stay theirs).

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
