//! The team leader's loop: each team leader's `team` document (model
//! `TeamView`, a server-written JSON view), with every member's figures
//! and the leader's overrides, which the app's Team screen reads offline.
//!
//! `figures.rs` computes a view from the projections (leads, deals,
//! training) and the ledger; `views.rs` is the worker that keeps every
//! leader's document equal to it.

pub mod figures;
pub mod views;
