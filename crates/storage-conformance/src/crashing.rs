//! Any storage, dying as a [`Crash`] says.

use std::{cell::Cell, collections::HashMap, future::Future, rc::Rc};

use samod::storage::{LocalStorage, StorageKey};
use sync::fault::{Crash, Landed};

/// Wraps a storage so it dies as `crash` says: a write not admitted, and
/// any read once dead, hangs forever, as if the process had been killed;
/// an admitted write runs on and is recorded when it has landed. A
/// [`LocalStorage`], so it wraps `Send` storages and the browser's alike.
#[derive(Clone)]
pub struct CrashingStorage<S> {
    inner: S,
    crash: Crash,
    /// Admitted writes that have not landed yet.
    in_flight: Rc<Cell<usize>>,
}

impl<S: LocalStorage> CrashingStorage<S> {
    pub fn new(inner: S, crash: Crash) -> Self {
        Self {
            inner,
            crash,
            in_flight: Rc::new(Cell::new(0)),
        }
    }

    /// How many admitted writes have not landed yet: a write in flight when
    /// the process died may still land.
    pub fn in_flight(&self) -> Rc<Cell<usize>> {
        self.in_flight.clone()
    }

    async fn write(&self, landed: Landed, write: impl Future<Output = ()>) {
        if !self.crash.admit_write() {
            return std::future::pending().await;
        }
        self.in_flight.set(self.in_flight.get() + 1);
        write.await;
        self.crash.record(landed);
        self.in_flight.set(self.in_flight.get() - 1);
    }
}

impl<S: LocalStorage> LocalStorage for CrashingStorage<S> {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> {
        let this = self.clone();
        async move {
            if !this.crash.admit_read() {
                return std::future::pending().await;
            }
            this.inner.load(key).await
        }
    }

    fn load_range(&self, prefix: StorageKey) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> {
        let this = self.clone();
        async move {
            if !this.crash.admit_read() {
                return std::future::pending().await;
            }
            this.inner.load_range(prefix).await
        }
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> {
        let this = self.clone();
        async move {
            let write = this.inner.put(key.clone(), data.clone());
            this.write(Landed::Put { key, data }, write).await
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> {
        let this = self.clone();
        async move {
            let write = this.inner.delete(key.clone());
            this.write(Landed::Delete { key }, write).await
        }
    }
}
