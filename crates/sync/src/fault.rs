//! Crash injection for storages, for tests of what survives a crash.
//!
//! A real crash stops a process between two storage writes. [`Crash`] plays
//! that: it lets a fixed number of writes land, and from then on every
//! storage operation hangs forever, as if the process had died with them in
//! flight. It records each write that landed, so a test can say exactly what
//! was durable at the moment of the crash and check that a restart over the
//! same storage still has all of it.
//!
//! The storage conformance suite (`crates/storage-conformance`) wraps each
//! storage, Postgres and IndexedDB alike, in its `CrashingStorage` around
//! a [`Crash`].

use std::sync::{Arc, Mutex, PoisonError};

use samod::storage::StorageKey;

/// A write that landed before the crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    Put { key: StorageKey, data: Vec<u8> },
    Delete { key: StorageKey },
}

#[derive(Debug)]
struct State {
    writes_left: usize,
    crashed: bool,
    landed: Vec<Landed>,
}

/// When the simulated process dies, and what it wrote before.
#[derive(Debug, Clone)]
pub struct Crash {
    state: Arc<Mutex<State>>,
}

impl Crash {
    /// A process that dies when it starts its write number `writes + 1`.
    pub fn after_writes(writes: usize) -> Crash {
        Crash {
            state: Arc::new(Mutex::new(State {
                writes_left: writes,
                crashed: false,
                landed: Vec::new(),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the process has died.
    pub fn has_crashed(&self) -> bool {
        self.state().crashed
    }

    /// Every write that landed, in the order it landed.
    pub fn landed(&self) -> Vec<Landed> {
        self.state().landed.clone()
    }

    /// Called before a write: `true` if it may run, `false` if the process
    /// dies now (the write never happens).
    pub fn admit_write(&self) -> bool {
        let mut state = self.state();
        if state.crashed || state.writes_left == 0 {
            state.crashed = true;
            return false;
        }
        state.writes_left -= 1;
        true
    }

    /// Called when a read starts: `false` once the process is dead.
    pub fn admit_read(&self) -> bool {
        !self.state().crashed
    }

    /// Called when an admitted write has landed. A write that lands after
    /// the crash (it was in flight) still counts: the storage has it.
    pub fn record(&self, landed: Landed) {
        self.state().landed.push(landed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_exactly_the_given_number_of_writes_then_stays_dead() {
        let crash = Crash::after_writes(2);
        assert!(crash.admit_read());
        assert!(crash.admit_write());
        assert!(crash.admit_write());
        assert!(!crash.has_crashed());
        assert!(!crash.admit_write());
        assert!(crash.has_crashed());
        assert!(!crash.admit_write());
        assert!(!crash.admit_read());
    }
}
