//! Integration tests: the server on a loopback port (started inside the test
//! binary, or the real `sync-server` binary where the process is under test:
//! see `helpers/mod.rs`), a real Postgres (a fresh database per test), real
//! samod clients over WebSocket.
//!
//! Needs `TEST_DATABASE_URL` pointing at a Postgres role that may create
//! databases; `cargo xtask test` starts a private cluster and sets it.

mod access;
mod auth;
mod bad_input;
mod chat;
mod cluster;
mod deals;
mod faults;
mod field;
mod flaky;
mod helpers;
mod hostile;
mod http;
mod interop;
mod kinds;
mod layout;
mod leaderboards;
mod ledger_props;
mod notifications;
mod onboarding;
mod projection;
mod residency;
mod resources;
mod shards;
mod shop;
mod storage;
mod sync;
mod team;
mod training;
mod views;
