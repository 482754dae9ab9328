//! `portal-field`, the partner's field client: the documents the app syncs,
//! kept in SQLite on a laptop for days without a network, and synced with
//! the server over the same samod protocol when there is one.

pub mod engine;
pub mod local;
pub mod session;
pub mod sign_in;
pub mod store;
