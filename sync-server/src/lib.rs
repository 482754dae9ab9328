//! The sync server: the authoritative home of every document.
//!
//! A change arrives on `/sync` (the automerge-repo protocol, spoken by samod),
//! samod stores it through [`platform::storage::PgStorage`], the storage tells
//! the [`pipeline::projection`] worker which document moved, and the worker
//! projects the merged document into relational rows. The
//! [`account_view::views`] worker goes the other way: it writes each
//! partner's figures into their read-only account view document, which
//! syncs like any other. Everything that is not a document (health, accounts
//! and sessions, money, the PWA's files) is plain HTTP ([`http`] and each
//! module's routes).
//!
//! The modules form layers, each importing only those below it
//! (`docs/architecture.md`, "sync-server"; `tests/it/layout.rs` checks it):
//! [`events`], [`platform`], [`http`], then the product modules
//! ([`accounts`], [`notifications`], [`pipeline`], [`training`], [`chat`], [`referrals`],
//! [`money`], [`shop`], [`resources`], [`account_view`]), then the
//! composition root ([`seed`], [`state`], [`startup`]).

pub mod account_view;
pub mod accounts;
pub mod chat;
pub mod events;
pub mod http;
pub mod leaderboards;
pub mod money;
pub mod notifications;
pub mod pipeline;
pub mod platform;
pub mod referrals;
pub mod resources;
pub mod seed;
pub mod shop;
pub mod startup;
pub mod state;
pub mod team;
pub mod training;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use startup::{Server, Settings, connect_db, migrate, start};

/// Locks `m`. Our mutexes guard plain maps and counters that a panic cannot
/// leave half-written, so a poisoned one is used as it is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Rows of many partners (or any key) grouped by it, in their order: what
/// a query for a batch returns, as each member of the batch reads it.
pub(crate) fn grouped<T>(
    rows: impl IntoIterator<Item = (String, T)>,
) -> std::collections::HashMap<String, Vec<T>> {
    let mut of = std::collections::HashMap::<String, Vec<T>>::new();
    for (key, row) in rows {
        of.entry(key).or_default().push(row);
    }
    of
}
