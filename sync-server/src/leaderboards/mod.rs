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
//! writes.

pub mod boards;
pub mod standings;
