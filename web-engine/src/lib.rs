//! The partner app's sync engine, run in a dedicated worker: a wasm module
//! of its own, apart from the screens' (`web`).
//!
//! Everything a partner edits is written to a local Automerge document here
//! first (samod on the worker's event loop, stored in IndexedDB) and synced
//! with the server over `/sync` whenever a connection exists. The screens
//! ask for documents and send changes as data (`engine-protocol`), and hear
//! how each document reads after every change. Apart, the screens' module
//! is a third of the size and paints while this one still downloads, and
//! loading or merging a big document never holds up a tap.
//!
//! - `worker`: the messages from the screens, and what is followed for them;
//! - `engine`: one samod repo per signed-in account, dialing with backoff;
//! - `dialer`: samod's dialer over the WebSocket, with a heartbeat;
//! - `idb_store`: samod's storage over IndexedDB;
//! - `clock`: now, in the model's terms (std's clock, which samod reads, is
//!   `web-clock`'s).
//!
//! The storage and the runtime are public for the browser tests in `tests/`.

// Defines the clock std asks for (see the crate).
extern crate web_clock;

mod clock;
mod dialer;
mod engine;
pub mod idb_store;
mod worker;

pub use engine::BrowserRuntime;

use wasm_bindgen::prelude::*;

/// Runs as the module is loaded: in a worker, it starts listening; on a
/// page (the browser tests), it does nothing.
#[wasm_bindgen(start)]
pub fn start() {
    worker::run();
}
