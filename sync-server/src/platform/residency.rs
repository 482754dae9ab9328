//! How many documents the server keeps in memory, how it lets go of them, and
//! how it spreads them over shards.
//!
//! samod 0.16 keeps every document a repo has loaded in memory until the repo
//! stops; it has no call to unload one document (its hub terminates document
//! actors only on `stop`). We may not fork it, so the server evicts by
//! generation, the way a copying collector does:
//!
//! - Documents live in the current generation: one samod repo over the shared
//!   Postgres storage. A counting wrapper around the storage sees every
//!   document the repo loads or writes, so it knows how many are resident.
//! - When more than its cap are resident (and the generation is at least
//!   `min_generation_age` old, so a working set larger than the cap cannot
//!   make the server churn), a new, empty generation takes over: new
//!   connections go to it, and every connection of the old one is closed with
//!   1012 ("service restart"). Clients reconnect at once (samod redials with
//!   backoff) and sync the documents they hold, which load again, on demand,
//!   into the new generation. Documents nobody asked for again are the idle
//!   ones: they stay behind.
//! - When its last connection is gone, the old repo is stopped (which waits
//!   for its pending writes) and dropped with all its documents.
//!
//! # Shards
//!
//! One repo cannot serve many connections: on every event (a message in, a
//! connection up or down, a document loaded) samod's hub walks every
//! established connection times every resident document
//! (`ensure_connections` in samod-core's hub), all under the repo's one lock.
//! With 500 connections and thousands of documents that walk was most of the
//! server's CPU and the repo saturated one core. So the server runs
//! `shards` independent chains of generations, each its own repo with a cap
//! of `max_resident_docs / shards` (at least `MIN_SHARD_DOCS`: a small cap
//! runs fewer shards), rotating on its own. A connection goes
//! to the shard of its *team* (its account's team leader, else the account
//! itself, hashed by [`shard_of`]): a partner's devices, and the team leader
//! who reads their documents, meet in one repo. A hub then sees about
//! `1/shards` of the connections and of the documents, so its walk costs
//! about `1/shards²` as much, and the shards run on as many cores as there
//! are.
//!
//! # The bus between repos
//!
//! A document may be resident in several repos at once: an admin's shard and
//! the owner's, a catalog everybody reads, and, during a rotation, the old
//! and the new
//! generation of one shard. They all store to the same Postgres, so nothing
//! is lost; but samod never reads storage again for a document it holds, so
//! a repo would not see what another one stored, and its clients would stay
//! stale until they reconnected. Hence a bus in the process: the counting
//! storage of every repo publishes each `put` (document, bytes, which repo)
//! once Postgres has it, and the bus hands it to every other repo that holds
//! that document (and to no other), on a queue of each repo's own, which
//! loads it into its copy (`load_incremental`, which takes change chunks and
//! snapshots alike). samod then sends the
//! news to that repo's clients and stores it again: the same changes under
//! the same keys, so the write is idempotent, and its echo brings the
//! origin nothing new (no new heads, no save), so it ends there. The queues
//! drop nothing, so no repo ever has to reload what it holds. (The bus was
//! once a broadcast to every repo: at 1,000 edits a second each of 16 shards
//! woke for every put, fell behind, and reloaded every document it held.)
//! A document a repo loads later is read from Postgres after its id was
//! counted, and the bus looks at the counted ids after Postgres has the put,
//! so a write is either in what the repo reads or handed to it. The server can also write a document
//! without any repo ([`Residency::put_outside`]: stored, then published), so
//! documents it keeps up to date stay out of memory until a client asks.
//!
//! Nothing can be lost on the way: a client keeps its changes until the
//! server has them, and every repo writes to the same storage.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use samod::{
    DocHandle, DocumentId,
    storage::{Storage, StorageKey},
};
use tokio::sync::{Notify, mpsc, watch};

use crate::{
    lock,
    platform::{policy::AccessPolicy, server_docs, storage::PgStorage},
};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Documents resident over all shards before generations are replaced
    /// (each shard holds its share).
    pub max_resident_docs: usize,
    /// The youngest a generation may be when it is replaced.
    pub min_generation_age: Duration,
    /// Independent repos the connections are spread over.
    pub shards: usize,
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

/// The fewest documents a shard may hold. A shard must hold the working set
/// of its teams with room to spare: with a smaller cap, the documents its
/// clients bring back after a rotation would start the next one, and the
/// shard would churn for ever. So a small `max_resident_docs` runs fewer
/// shards than asked (one below 2,000).
const MIN_SHARD_DOCS: usize = 1_000;

/// The longest the bus waits for a repo to hand over a document it holds.
const FIND_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a comparison with storage waits for one repo's copy: it
/// looks at every document held, so one busy repo must not stall it.
const COMPARE_FIND_TIMEOUT: Duration = Duration::from_secs(1);

/// The shard (of `shards`) that serves `key`. FNV-1a: a hash that is the
/// same in every process and release, unlike std's `RandomState`, so a
/// team's shard can be known in advance (tests rely on it).
pub fn shard_of(key: &str, shards: usize) -> usize {
    (stable_hash(key) % shards.max(1) as u64) as usize
}

/// FNV-1a of `key`: the same in every process and release.
pub fn stable_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// One repo: a generation of a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Origin {
    shard: usize,
    generation: u64,
}

/// A chunk of a document one repo has stored.
struct Put {
    doc: String,
    data: Vec<u8>,
    origin: Origin,
}

/// Every repo's follower, with the documents its repo holds: a put goes
/// to the followers of the other repos that hold its document.
#[derive(Clone, Default)]
struct Bus(Arc<Mutex<Vec<Follower>>>);

struct Follower {
    origin: Origin,
    docs: Arc<Mutex<HashSet<String>>>,
    queue: mpsc::UnboundedSender<Arc<Put>>,
}

impl Bus {
    /// A queue for the repo of `origin`, holding `docs`, from now on.
    fn join(
        &self,
        origin: Origin,
        docs: Arc<Mutex<HashSet<String>>>,
    ) -> mpsc::UnboundedReceiver<Arc<Put>> {
        let (queue, following) = mpsc::unbounded_channel();
        lock(&self.0).push(Follower {
            origin,
            docs,
            queue,
        });
        following
    }

    /// Hands `put` to every other repo holding its document; forgets the
    /// repos that stopped.
    fn send(&self, put: Put) {
        let put = Arc::new(put);
        let mut followers = lock(&self.0);
        followers.retain(|f| !f.queue.is_closed());
        for follower in followers.iter() {
            if follower.origin != put.origin && lock(&follower.docs).contains(&put.doc) {
                // Closed only if the repo stopped since: nothing to tell.
                let _ = follower.queue.send(put.clone());
            }
        }
    }
}

/// The origin of what the server stores outside every repo
/// ([`Residency::put_outside`]): no repo's, so every holder applies it.
const OUTSIDE: Origin = Origin {
    shard: usize::MAX,
    generation: 0,
};

/// A storage that records which documents its repo has touched, and tells
/// the other repos what it stored.
#[derive(Clone)]
struct Counting {
    inner: PgStorage,
    docs: Arc<Mutex<HashSet<String>>>,
    grew: Arc<Notify>,
    bus: Bus,
    origin: Origin,
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
        let put = sync::document_of_key(&key).map(|doc| Put {
            doc: doc.to_owned(),
            data: data.clone(),
            origin: self.origin,
        });
        let bus = self.bus.clone();
        let stored = self.inner.put(key, data);
        async move {
            stored.await;
            // Only once Postgres has it: a repo that loads the document
            // after this point reads it there.
            if let Some(put) = put {
                bus.send(put);
            }
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        self.inner.delete(key)
    }
}

/// Aborts a task when its owner is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
    _follower: AbortOnDrop,
}

impl Generation {
    async fn start(
        origin: Origin,
        storage: &PgStorage,
        policy: &AccessPolicy,
        grew: &Arc<Notify>,
        bus: &Bus,
    ) -> Generation {
        let docs = Arc::new(Mutex::new(HashSet::new()));
        // Joined before the repo can load anything, so no put made after
        // one of its loads can pass unseen.
        let following = bus.join(origin, docs.clone());
        let repo = samod::Repo::build_tokio()
            .with_storage(Counting {
                inner: storage.clone(),
                docs: docs.clone(),
                grew: grew.clone(),
                bus: bus.clone(),
                origin,
            })
            .with_share_policy(policy.clone())
            .load()
            .await;
        let acceptor = repo
            .make_acceptor(url::Url::parse("ws://sync-server/sync").expect("a valid URL"))
            .expect("a repo that was just loaded is running");
        let follower = tokio::spawn(follow(repo.clone(), following));
        Generation {
            number: origin.generation,
            repo,
            acceptor,
            docs,
            retire: watch::Sender::new(None),
            born: Instant::now(),
            _follower: AbortOnDrop(follower),
        }
    }

    fn resident(&self) -> usize {
        lock(&self.docs).len()
    }
}

/// Loads into one repo what the others store of the documents it holds
/// (see "The bus between repos" above).
async fn follow(repo: samod::Repo, mut bus: mpsc::UnboundedReceiver<Arc<Put>>) {
    let mut handles: HashMap<String, DocHandle> = HashMap::new();
    while let Some(put) = bus.recv().await {
        let Ok(handle) = handle_of(&repo, &mut handles, &put.doc).await else {
            return;
        };
        if let Some(handle) = handle {
            apply(&handle, &put.data);
        }
    }
}

/// The repo's handle of a document it holds; `None` when it has none to
/// give (an id it was asked for but never found); `Err` when it stopped.
async fn handle_of(
    repo: &samod::Repo,
    handles: &mut HashMap<String, DocHandle>,
    doc: &str,
) -> Result<Option<DocHandle>, samod::Stopped> {
    if let Some(handle) = handles.get(doc) {
        return Ok(Some(handle.clone()));
    }
    let Ok(id) = doc.parse::<DocumentId>() else {
        return Ok(None);
    };
    match tokio::time::timeout(FIND_TIMEOUT, repo.find(id)).await {
        Ok(Ok(Some(handle))) => {
            // samod keeps the document in memory as long as the repo runs
            // anyway: holding its handle costs nothing more.
            handles.insert(doc.to_owned(), handle.clone());
            Ok(Some(handle))
        }
        Ok(Ok(None)) => Ok(None),
        Ok(Err(stopped)) => Err(stopped),
        Err(_) => {
            tracing::warn!(doc, "a shard did not hand over a document it holds");
            Ok(None)
        }
    }
}

fn apply(handle: &DocHandle, data: &[u8]) {
    if let Err(error) = handle.with_document(|doc| doc.load_incremental(data)) {
        tracing::error!(%error, doc = %handle.document_id(), "a stored chunk does not load");
    }
}

/// What `/metrics` reports about documents in memory.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// The highest current generation of any shard.
    pub generation: u64,
    pub resident_docs: usize,
    pub draining_generations: usize,
    pub connections: usize,
    pub shards: usize,
}

/// One chain of generations: one current, some draining.
struct Shard {
    grew: Arc<Notify>,
    current: Mutex<Arc<Generation>>,
    draining: Mutex<Vec<Arc<Generation>>>,
}

/// The shards of documents in memory.
pub struct Residency {
    storage: PgStorage,
    policy: AccessPolicy,
    limits: Limits,
    /// Documents one shard holds before it starts a new generation.
    shard_cap: usize,
    bus: Bus,
    shards: Vec<Shard>,
}

impl Residency {
    pub async fn start(storage: PgStorage, policy: AccessPolicy, limits: Limits) -> Arc<Residency> {
        let count = limits
            .shards
            .min(limits.max_resident_docs / MIN_SHARD_DOCS)
            .max(1);
        if count < limits.shards {
            tracing::info!(
                shards = count,
                asked = limits.shards,
                max_resident_docs = limits.max_resident_docs,
                "fewer shards than asked: each must hold {MIN_SHARD_DOCS} documents"
            );
        }
        let bus = Bus::default();
        let mut shards = Vec::with_capacity(count);
        for index in 0..count {
            let grew = Arc::new(Notify::new());
            let origin = Origin {
                shard: index,
                generation: 1,
            };
            let first = Generation::start(origin, &storage, &policy, &grew, &bus).await;
            shards.push(Shard {
                grew,
                current: Mutex::new(Arc::new(first)),
                draining: Mutex::new(Vec::new()),
            });
        }
        let residency = Arc::new(Residency {
            storage,
            policy,
            shard_cap: limits.max_resident_docs.div_ceil(count),
            limits,
            bus,
            shards,
        });
        for index in 0..count {
            tokio::spawn(watch_size(Arc::downgrade(&residency), index));
        }
        residency
    }

    /// Stores a chunk of a document the server wrote outside any repo, and
    /// hands it to every repo holding the document as if one of them had
    /// stored it. So a document the server keeps up to date (an account
    /// view) reaches the clients that hold it at once, yet becomes resident
    /// only where a client asks for it: writing it through a repo would
    /// load every such document into that repo and churn its generations.
    /// Returns once Postgres has the chunk.
    pub async fn put_outside(&self, doc_id: &str, key: StorageKey, data: Vec<u8>) {
        self.storage.put(key, data.clone()).await;
        // No receiver is fine: no repo holds anything.
        self.bus.send(Put {
            doc: doc_id.to_owned(),
            data,
            origin: OUTSIDE,
        });
    }

    /// The generations holding `doc_id` now.
    fn holders(&self, doc_id: &str) -> Vec<Arc<Generation>> {
        self.generations()
            .filter(|g| lock(&g.docs).contains(doc_id))
            .collect()
    }

    /// Every generation of every shard, current and draining.
    fn generations(&self) -> impl Iterator<Item = Arc<Generation>> + '_ {
        self.shards.iter().flat_map(|shard| {
            let mut generations = vec![lock(&shard.current).clone()];
            generations.extend(lock(&shard.draining).iter().cloned());
            generations
        })
    }

    /// Whether some repo here holds `doc_id` (asked of every notice from
    /// another node: no list is built).
    pub fn holds(&self, doc_id: &str) -> bool {
        self.generations().any(|g| lock(&g.docs).contains(doc_id))
    }

    /// Every document some repo here holds.
    pub fn held(&self) -> Vec<String> {
        let mut held = HashSet::new();
        for generation in self.generations() {
            held.extend(lock(&generation.docs).iter().cloned());
        }
        held.into_iter().collect()
    }

    /// Hands a chunk of `doc_id` that another node stored to every repo
    /// here holding the document (`platform::cluster`).
    pub fn apply_stored_elsewhere(&self, doc_id: &str, data: Vec<u8>) {
        self.bus.send(Put {
            doc: doc_id.to_owned(),
            data,
            origin: OUTSIDE,
        });
    }

    /// Of `keys`, stored chunks of `doc_id`, those some copy here may
    /// lack: a change (`<doc>/incremental/<hash>`) a copy does not have, a
    /// snapshot in `known` (by key, with its heads) one of whose heads a
    /// copy does not have, and a snapshot not in `known` unless it is of
    /// exactly a copy's heads (what it holds cannot be told without
    /// reading it). A repo that cannot hand its copy over within
    /// `COMPARE_FIND_TIMEOUT` is passed over until the next comparison.
    pub async fn lacking(
        &self,
        doc_id: &str,
        keys: &[String],
        known: &HashMap<String, Vec<automerge::ChangeHash>>,
    ) -> Vec<String> {
        let Ok(id) = doc_id.parse::<DocumentId>() else {
            return Vec::new();
        };
        let mut lacking: HashSet<&String> = HashSet::new();
        for holder in self.holders(doc_id) {
            let found = tokio::time::timeout(COMPARE_FIND_TIMEOUT, holder.repo.find(id.clone()));
            let handle = match found.await {
                Ok(Ok(Some(handle))) => handle,
                // Stopping, or busy: the next comparison looks again.
                _ => continue,
            };
            handle.with_document(|doc| {
                let heads_snapshot = server_docs::snapshot_key(doc_id, &doc.get_heads());
                for key in keys {
                    let mut parts = key.rsplitn(3, '/');
                    let (last, kind) = (parts.next(), parts.next());
                    let has = match (kind, last) {
                        (Some("incremental"), Some(hash)) => hash
                            .parse::<automerge::ChangeHash>()
                            .is_ok_and(|hash| doc.get_change_meta_by_hash(&hash).is_some()),
                        (Some("snapshot"), _) => {
                            *key == heads_snapshot
                                || known.get(key).is_some_and(|heads| {
                                    heads
                                        .iter()
                                        .all(|h| doc.get_change_meta_by_hash(h).is_some())
                                })
                        }
                        // Not a chunk samod writes: nothing to load.
                        _ => true,
                    };
                    if !has {
                        lacking.insert(key);
                    }
                }
            });
        }
        lacking.into_iter().cloned().collect()
    }

    /// Reads `doc_id` as a repo holding it has it in memory now, loading it
    /// nowhere: `None` when no repo holds it, or several do, or the one that
    /// does cannot hand it over now. A repo applies a change before it stores it, so
    /// what this reads may be ahead of storage by the writes in flight.
    pub async fn read_resident<T>(
        &self,
        doc_id: &str,
        read: impl FnOnce(&automerge::Automerge) -> T,
    ) -> Option<T> {
        let id: DocumentId = doc_id.parse().ok()?;
        // Only from the one repo holding it: where several do, one may be
        // behind what another stored (its bus queue not drained yet).
        let [holder] = <[_; 1]>::try_from(self.holders(doc_id)).ok()?;
        let handle = match tokio::time::timeout(FIND_TIMEOUT, holder.repo.find(id)).await {
            Ok(Ok(Some(handle))) => handle,
            _ => return None,
        };
        Some(handle.with_document(|doc| read(doc)))
    }

    /// Hands a guarded connection to the current generation of the shard of
    /// `key` (a team: see `http::sync::shard_key`). `make` builds the transport around the
    /// repo it will sync with and the generation's farewell signal.
    pub fn accept(
        &self,
        key: &str,
        make: impl FnOnce(samod::Repo, watch::Receiver<Option<Farewell>>) -> samod::Transport,
    ) -> Result<(), samod::Stopped> {
        let shard = &self.shards[shard_of(key, self.shards.len())];
        let generation = lock(&shard.current).clone();
        generation
            .acceptor
            .accept(make(generation.repo.clone(), generation.retire.subscribe()))
            .map(|_| ())
    }

    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            generation: 0,
            resident_docs: 0,
            draining_generations: 0,
            connections: 0,
            shards: self.shards.len(),
        };
        for shard in &self.shards {
            let current = lock(&shard.current).clone();
            let draining = lock(&shard.draining).clone();
            stats.generation = stats.generation.max(current.number);
            stats.draining_generations += draining.len();
            for generation in std::iter::once(&current).chain(draining.iter()) {
                stats.resident_docs += generation.resident();
                stats.connections += generation.retire.receiver_count();
            }
        }
        stats
    }

    /// Replaces the current generation of a shard if it holds too many
    /// documents and is old enough. Returns the time to check again when
    /// only its age held it back.
    async fn rotate_if_due(self: &Arc<Self>, index: usize) -> Option<Duration> {
        let shard = &self.shards[index];
        let (number, resident, age) = {
            let current = lock(&shard.current);
            (current.number, current.resident(), current.born.elapsed())
        };
        if resident <= self.shard_cap {
            return None;
        }
        if age < self.limits.min_generation_age {
            return Some(self.limits.min_generation_age - age);
        }
        let origin = Origin {
            shard: index,
            generation: number + 1,
        };
        let next = Arc::new(
            Generation::start(origin, &self.storage, &self.policy, &shard.grew, &self.bus).await,
        );
        let old = std::mem::replace(&mut *lock(&shard.current), next);
        tracing::info!(
            shard = index,
            generation = old.number,
            resident,
            "too many documents in memory: starting a new generation"
        );
        lock(&shard.draining).push(old.clone());
        old.retire.send_replace(Some(MOVED));
        let this = self.clone();
        tokio::spawn(async move {
            // A connection that does not close on request is cut when the
            // repo stops.
            let _ = tokio::time::timeout(Duration::from_secs(30), old.retire.closed()).await;
            old.repo.stop().await;
            lock(&this.shards[index].draining).retain(|g| !Arc::ptr_eq(g, &old));
            tracing::info!(
                shard = index,
                generation = old.number,
                "generation drained and dropped"
            );
        });
        None
    }

    /// Stops every generation of every shard, writing what they hold.
    pub async fn stop(&self) {
        let mut all = Vec::new();
        for shard in &self.shards {
            all.push(lock(&shard.current).clone());
            all.extend(lock(&shard.draining).iter().cloned());
        }
        futures::future::join_all(all.iter().map(|g| g.repo.stop())).await;
    }
}

/// Checks the size of a shard's current generation whenever it grows.
async fn watch_size(residency: Weak<Residency>, index: usize) {
    let grew = match residency.upgrade() {
        Some(r) => r.shards[index].grew.clone(),
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
        recheck = residency.rotate_if_due(index).await;
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn a_key_always_lands_in_the_same_shard() {
        // Pinned values: a shard must not move between processes or
        // releases (a std hasher would move it with every start).
        assert_eq!(shard_of("", 16), (0xcbf2_9ce4_8422_2325u64 % 16) as usize);
        assert_eq!(shard_of("a", 1), 0);
        assert_eq!(
            shard_of("a", 1 << 20),
            (0xaf63_dc4c_8601_ec8cu64 % (1 << 20)) as usize
        );
        // The demo teams (`fixtures/demo.json`) over the default 16.
        assert_eq!(shard_of("a-admin", 16), 2);
        assert_eq!(shard_of("a-ana", 16), 11);
        assert_eq!(shard_of("a-cleo", 16), 4);
        assert_eq!(shard_of("a-cleo", 1), 0);
    }

    #[test]
    fn keys_spread_over_the_shards() {
        let shards = 16;
        let mut counts = vec![0usize; shards];
        for n in 0..16_000 {
            counts[shard_of(&format!("a-load-{n:05}"), shards)] += 1;
        }
        // 1,000 each if even; no shard may get far more than its share.
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
