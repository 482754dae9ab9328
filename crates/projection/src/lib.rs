//! The pure half of a projection: what rows a document makes, decided
//! once for every place that keeps them. The server writes these rows to
//! Postgres (`sync-server/src/pipeline/projection.rs`); the field client
//! writes the same rows to SQLite (`crates/field/src/local.rs`), so a
//! partner's laptop and the back-office can never disagree on what a
//! pipeline says.

pub mod pipeline;
