//! How many documents the server keeps in memory, and how it lets go of them.
//!
//! samod 0.16 keeps every document a repo has loaded in memory until the repo
//! stops; it has no call to unload one document (its hub terminates document
//! actors only on `stop`). We may not fork it, so the server evicts by
//! generation, the way a copying collector does:
//!
//! - Documents live in the current generation: one samod repo over the shared
//!   Postgres storage. A counting wrapper around the storage sees every
//!   document the repo loads or writes, so it knows how many are resident.
//! - When more than `max_resident_docs` are resident (and the generation is at
//!   least `min_generation_age` old, so a working set larger than the cap
//!   cannot make the server churn), a new, empty generation takes over: new
//!   connections go to it, and every connection of the old one is closed with
//!   1012 ("service restart"). Clients reconnect at once (samod redials with
//!   backoff) and sync the documents they hold, which load again, on demand,
//!   into the new generation. Documents nobody asked for again are the idle
//!   ones: they stay behind.
//! - When its last connection is gone, the old repo is stopped (which waits
//!   for its pending writes) and dropped with all its documents.
//!
//! Nothing can be lost on the way: a client keeps its changes until the
//! server has them, and every generation writes to the same storage.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use samod::storage::{Storage, StorageKey};
use tokio::sync::{Notify, watch};

use crate::storage::PgStorage;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Documents resident in the current generation before it is replaced.
    pub max_resident_docs: usize,
    /// The youngest a generation may be when it is replaced.
    pub min_generation_age: Duration,
}

/// Why the server closes a sync connection it has nothing against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    pub code: u16,
    pub reason: &'static str,
}

const MOVED: Farewell = Farewell {
    code: 1012,
    reason: "documents moved to a new generation; reconnect",
};

/// A storage that records which documents its repo has touched.
#[derive(Clone)]
struct Counting {
    inner: PgStorage,
    docs: Arc<Mutex<HashSet<String>>>,
    grew: Arc<Notify>,
}

impl Counting {
    fn touch(&self, key: &StorageKey) {
        if let Some(doc) = sync::document_of_key(key) {
            let added = lock(&self.docs).insert(doc.to_owned());
            if added {
                self.grew.notify_one();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Storage for Counting {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        self.touch(&key);
        self.inner.load(key)
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = std::collections::HashMap<StorageKey, Vec<u8>>> + Send {
        self.touch(&prefix);
        self.inner.load_range(prefix)
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        self.touch(&key);
        self.inner.put(key, data)
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        self.inner.delete(key)
    }
}

struct Generation {
    number: u64,
    repo: samod::Repo,
    acceptor: samod::AcceptorHandle,
    docs: Arc<Mutex<HashSet<String>>>,
    /// Each connection holds a receiver: the count of receivers is the
    /// count of connections, and a value sent closes them all.
    retire: watch::Sender<Option<Farewell>>,
    born: Instant,
}

impl Generation {
    async fn start(number: u64, storage: &PgStorage, grew: &Arc<Notify>) -> Generation {
        let docs = Arc::new(Mutex::new(HashSet::new()));
        let repo = samod::Repo::build_tokio()
            .with_storage(Counting {
                inner: storage.clone(),
                docs: docs.clone(),
                grew: grew.clone(),
            })
            // Clients ask for the documents they want; the server never
            // offers a document to a peer that did not ask for it (and so
            // a reconnecting client brings back only its own working set).
            .with_share_policy(samod::ShareConfig::read_write().with_announce(false))
            .load()
            .await;
        let acceptor = repo
            .make_acceptor(url::Url::parse("ws://sync-server/sync").expect("a valid URL"))
            .expect("a repo that was just loaded is running");
        Generation {
            number,
            repo,
            acceptor,
            docs,
            retire: watch::Sender::new(None),
            born: Instant::now(),
        }
    }

    fn resident(&self) -> usize {
        lock(&self.docs).len()
    }
}

/// What `/metrics` reports about documents in memory.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub generation: u64,
    pub resident_docs: usize,
    pub draining_generations: usize,
    pub connections: usize,
}

/// The generations of documents in memory: one current, some draining.
pub struct Residency {
    storage: PgStorage,
    limits: Limits,
    grew: Arc<Notify>,
    current: Mutex<Arc<Generation>>,
    draining: Mutex<Vec<Arc<Generation>>>,
}

impl Residency {
    pub async fn start(storage: PgStorage, limits: Limits) -> Arc<Residency> {
        let grew = Arc::new(Notify::new());
        let first = Generation::start(1, &storage, &grew).await;
        let residency = Arc::new(Residency {
            storage,
            limits,
            grew,
            current: Mutex::new(Arc::new(first)),
            draining: Mutex::new(Vec::new()),
        });
        tokio::spawn(watch_size(Arc::downgrade(&residency)));
        residency
    }

    /// The repo of the current generation, for the server's own writes.
    pub fn repo(&self) -> samod::Repo {
        lock(&self.current).repo.clone()
    }

    /// Hands a guarded connection to the current generation. `make` builds
    /// the transport around the generation's farewell signal.
    pub fn accept(
        &self,
        make: impl FnOnce(watch::Receiver<Option<Farewell>>) -> samod::Transport,
    ) -> Result<(), samod::Stopped> {
        let generation = lock(&self.current).clone();
        generation
            .acceptor
            .accept(make(generation.retire.subscribe()))
            .map(|_| ())
    }

    pub fn stats(&self) -> Stats {
        let current = lock(&self.current).clone();
        let draining = lock(&self.draining).clone();
        let all = std::iter::once(&current).chain(draining.iter());
        Stats {
            generation: current.number,
            resident_docs: all.clone().map(|g| g.resident()).sum(),
            draining_generations: draining.len(),
            connections: all.map(|g| g.retire.receiver_count()).sum(),
        }
    }

    /// Replaces the current generation if it holds too many documents and
    /// is old enough. Returns the time to check again when only its age
    /// held it back.
    async fn rotate_if_due(self: &Arc<Self>) -> Option<Duration> {
        let (number, resident, age) = {
            let current = lock(&self.current);
            (current.number, current.resident(), current.born.elapsed())
        };
        if resident <= self.limits.max_resident_docs {
            return None;
        }
        if age < self.limits.min_generation_age {
            return Some(self.limits.min_generation_age - age);
        }
        let next = Arc::new(Generation::start(number + 1, &self.storage, &self.grew).await);
        let old = std::mem::replace(&mut *lock(&self.current), next);
        tracing::info!(
            generation = old.number,
            resident,
            "too many documents in memory: starting a new generation"
        );
        lock(&self.draining).push(old.clone());
        old.retire.send_replace(Some(MOVED));
        let this = self.clone();
        tokio::spawn(async move {
            // A connection that does not close on request is cut when the
            // repo stops.
            let _ = tokio::time::timeout(Duration::from_secs(30), old.retire.closed()).await;
            old.repo.stop().await;
            lock(&this.draining).retain(|g| !Arc::ptr_eq(g, &old));
            tracing::info!(generation = old.number, "generation drained and dropped");
        });
        None
    }

    /// Stops every generation, writing what they hold.
    pub async fn stop(&self) {
        let current = lock(&self.current).clone();
        let draining = lock(&self.draining).clone();
        for generation in std::iter::once(current).chain(draining) {
            generation.repo.stop().await;
        }
    }
}

/// Checks the size of the current generation whenever it grows.
async fn watch_size(residency: std::sync::Weak<Residency>) {
    let grew = match residency.upgrade() {
        Some(r) => r.grew.clone(),
        None => return,
    };
    let mut recheck: Option<Duration> = None;
    loop {
        match recheck {
            Some(wait) => {
                let _ = tokio::time::timeout(wait, grew.notified()).await;
            }
            None => grew.notified().await,
        }
        let Some(residency) = residency.upgrade() else {
            return;
        };
        recheck = residency.rotate_if_due().await;
    }
}
