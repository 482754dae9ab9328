//! One acceptance suite for samod storages, as automerge-repo has
//! `runStorageAdapterTests`: every storage we write passes the same checks.
//! The Postgres storage runs it natively (`sync-server/tests/it/storage.rs`),
//! the IndexedDB storage in headless Chromium (`web-engine/tests/it/storage.rs`).
//!
//! A storage comes to the suite as a [`Backend`]: where its data lives (a
//! database), how to open a storage there, and a samod runtime. The checks
//! are plain async functions over a backend, with no runtime of their own,
//! so the suite builds for tokio and for the browser alike; [`suite!`] makes
//! one test of each.
//!
//! What a storage promises samod, one check each:
//! - a value put is loaded back byte for byte, by the storage that wrote it
//!   and by one opened over the same place later; deleted, it is gone
//!   ([`values_round_trip`]);
//! - a prefix load returns exactly the keys whose leading components are
//!   the prefix's, whole components: `[doc, "snapshot"]` never returns
//!   `[doc, "snapshots", ..]`, `[doc1]` never `[doc10, ..]`
//!   ([`prefix_loads_take_whole_components`]);
//! - whatever characters a component holds, since our storages keep the
//!   flattened key (`sync::key_to_string`) in an index ordered by bytes and
//!   a prefix load is a range of it ([`prefix_loads_follow_byte_order`]);
//! - every write that landed survives a crash at any point of samod's
//!   compaction, and the next compaction clears what the crash left
//!   ([`compaction_loses_nothing_wherever_a_crash_stops_it`]).

mod compaction;
mod crashing;
mod keys;
#[cfg(feature = "tokio")]
pub mod tokio_local;

use std::{
    future::Future,
    time::{Duration, Instant},
};

use samod::{runtime::LocalRuntimeHandle, storage::LocalStorage};

pub use compaction::compaction_loses_nothing_wherever_a_crash_stops_it;
pub use crashing::CrashingStorage;
pub use keys::{
    prefix_loads_follow_byte_order, prefix_loads_take_whole_components, values_round_trip,
};

/// A storage under test, and what the suite needs around it.
pub trait Backend {
    /// Where a storage keeps its data (a database). Storages opened over
    /// the same place see each other's writes. The checks keep a place as
    /// long as a storage over it: dropping it may take the data away.
    type Place;
    type Storage: LocalStorage;
    /// What samod's repos run on in the checks that need one.
    type Runtime: LocalRuntimeHandle + Clone + 'static;

    /// A new place holding nothing.
    fn place(&self) -> impl Future<Output = Self::Place>;

    /// A storage over `place`, opened as a process opens it when it starts
    /// (again after a crash).
    fn open(&self, place: &Self::Place) -> impl Future<Output = Self::Storage>;

    fn runtime(&self) -> Self::Runtime;

    /// Tells whoever runs the tests how a check went (wasm32 has no stdout).
    fn report(&self, line: &str) {
        println!("{line}");
    }
}

/// Runs a check as it is, for runtimes where a test's future may spawn
/// local tasks without more ado (the browser). Pass it to [`suite!`].
pub async fn as_is<F: Future>(check: F) -> F::Output {
    check.await
}

/// One test per check of the suite, each with the attribute given (the
/// runtime's test macro), over `backend`, its future passed through `run`
/// (which sets up what the runtime needs to spawn local tasks; [`as_is`] if
/// nothing). A check added to the suite reaches every storage through here.
///
/// ```ignore
/// storage_conformance::suite!(#[tokio::test] Postgres, in_local_set);
/// ```
#[macro_export]
macro_rules! suite {
    (#[$test:meta] $backend:expr, $run:path) => {
        $crate::suite!(
            @each #[$test] $backend, $run,
            values_round_trip,
            prefix_loads_take_whole_components,
            prefix_loads_follow_byte_order,
            compaction_loses_nothing_wherever_a_crash_stops_it
        );
    };
    (@each #[$test:meta] $backend:expr, $run:path, $($check:ident),+) => {
        $(
            #[$test]
            async fn $check() {
                $run($crate::$check(&$backend)).await
            }
        )+
    };
}

/// Polls `check` every few milliseconds, sleeping on the backend's runtime,
/// until it returns `Some`; fails naming `what` after `deadline`.
async fn wait_for<B, T, F, Fut>(backend: &B, what: &str, deadline: Duration, mut check: F) -> T
where
    B: Backend,
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let runtime = backend.runtime();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        runtime.sleep(Duration::from_millis(5)).await;
    }
}
