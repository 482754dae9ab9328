//! Leaderboards: by period of the programme's calendar (month, quarter,
//! year, in `--programme-time-zone`), metric (deals approved, revenue per
//! currency, training modules completed) and scope (the programme, a
//! team), ranked on the server (`rules::rank`: by score, then by who
//! reached it first) and published to each partner as their read-only
//! `standings` document, so they read offline. A closed period is frozen
//! the first time the server sees it closed (`leaderboard_scores`, which
//! refuses changes): history is never lost, and late data moves no past
//! board.
//!
//! `boards.rs` computes scores and freezes them; `standings.rs` ranks and
//! writes, and evaluates `challenges.rs`: challenges admins define as
//! data, each met awarding an achievement once per partner and period.

pub mod boards;
pub mod challenges;
pub mod standings;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};
use sqlx::PgPool;

use crate::{
    events::{ChallengesChanged, Outbox},
    http::session::SessionSettings,
};

/// What the challenges routes read: the database, and the standings
/// writer to tell when the challenges changed.
#[derive(Clone)]
pub struct LeaderboardsState {
    pub pool: PgPool,
    pub changed: Outbox<ChallengesChanged>,
}

/// The admins' challenges API.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    LeaderboardsState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route(
            "/api/admin/challenges",
            get(challenges::list).post(challenges::create),
        )
        .route("/api/admin/challenges/{id}/end", post(challenges::end))
}
