//! Notifications: the outbox other modules write a notice into in the
//! transaction of its event (`outbox`), the writer of each person's inbox
//! document (`inbox`), the Web Push sender and its key (`push`), and the
//! routes for devices' subscriptions and people's preferences (`api`).
//!
//! A notice is written once (`dedupe_key`); it reaches the inbox whatever
//! happens to push, and each subscribed device by push, retried until the
//! push service takes it, says the device is gone, or the notice expires.
//! Both workers wake when a notice is committed (Postgres `NOTIFY` on
//! [`CHANNEL`], so a notice committed by another server wakes them too)
//! and otherwise every few seconds.

pub mod api;
pub mod inbox;
pub mod outbox;
pub mod push;

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    routing::{get, post},
};
use sqlx::PgPool;

use crate::{http::session::SessionSettings, platform::residency::Residency};

/// The Postgres channel a committed notice is announced on.
pub const CHANNEL: &str = "notifications";

/// What the notifications routes read.
#[derive(Clone)]
pub struct NotificationsState {
    pub pool: PgPool,
    /// The VAPID public key, as browsers take it.
    pub public_key: Arc<str>,
    /// Hosts a subscription's endpoint may name.
    pub hosts: Arc<[String]>,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    NotificationsState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route("/api/push/key", get(api::key))
        .route(
            "/api/push/subscriptions",
            post(api::subscribe).delete(api::unsubscribe),
        )
        .route(
            "/api/me/notification-preferences",
            get(api::preferences).put(api::set_preferences),
        )
        .layer(DefaultBodyLimit::max(8 * 1024))
}

/// Loads (or makes) the push key and starts the workers: the inbox
/// writer, the push sender, and the listener that wakes them.
pub async fn start(
    pool: PgPool,
    residency: Arc<Residency>,
    settings: push::PushSettings,
) -> anyhow::Result<NotificationsState> {
    let key = push::vapid_key(&pool).await?;
    let state = NotificationsState {
        pool: pool.clone(),
        public_key: push::public_key(&key).into(),
        hosts: settings.hosts.clone().into(),
    };
    let inbox_wake = Arc::new(tokio::sync::Notify::new());
    let push_wake = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(listen(
        pool.clone(),
        [inbox_wake.clone(), push_wake.clone()],
    ));
    tokio::spawn(inbox::run(pool.clone(), residency, inbox_wake));
    tokio::spawn(push::run(pool, Arc::new(key), settings, push_wake));
    Ok(state)
}

/// Wakes the workers on every notice committed, from any server.
async fn listen(pool: PgPool, wake: [Arc<tokio::sync::Notify>; 2]) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for notices; the workers look every few seconds");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "cannot listen for notices");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            continue;
        }
        while listener.recv().await.is_ok() {
            for w in &wake {
                w.notify_one();
            }
        }
    }
}
