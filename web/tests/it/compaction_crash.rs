//! samod's compaction over IndexedDB loses nothing, wherever a crash stops it.
//!
//! Once a document has more than ten chunks on disk, samod puts a snapshot of
//! it and, after that put has landed, deletes the chunks the snapshot
//! supersedes (the deletes go out with the next save). A crash can stop that
//! between any two writes. For each crash point, a repo over [`CrashingIdb`]
//! edits a document one change at a time until its storage dies
//! (`sync::fault::Crash`: from then on every storage call hangs, as if the tab
//! had been killed). Then a new repo opens the same database, as the app does
//! after a restart: it must have every change that any landed write held,
//! and its next compaction must clear what the crash left behind.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, HashSet},
    future::{Future, ready},
    pin::pin,
    rc::Rc,
    time::Duration,
};

use automerge::{Automerge, Change, ChangeHash, ROOT, ReadDoc, transaction::Transactable};
use samod::{
    DocHandle, Repo, RepoBuilder,
    storage::{LocalStorage, StorageKey},
};
use sync::fault::{Crash, Landed};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use web::{BrowserRuntime, idb_store::IdbStorage};

use crate::helpers::wait_for;

/// The crash points tried: the storage dies at write `k` (counting from 0),
/// for every `k` below this. The first compaction (eleven incremental puts,
/// the snapshot, its eleven deletes) is over after 24 writes; the test checks
/// that the points cover a whole compaction and a moment inside one.
const CRASH_POINTS: usize = 36;
/// Edits before the crash at most; every crash point dies well before.
const EDITS: i64 = 60;
/// Edits after the restart at most, for compaction to clean up.
const CLEANUP_EDITS: i64 = 30;
/// What a document keeps once compaction has caught up: a snapshot and the
/// few changes since.
const SETTLED_CHUNKS: usize = 3;
const DEADLINE: Duration = Duration::from_secs(10);

#[wasm_bindgen_test]
async fn compaction_loses_nothing_wherever_a_crash_stops_it() {
    // Fresh databases on every run, also in a browser profile that is kept.
    let run = js_sys::Date::now() as u64;
    let mut inside_compaction = Vec::new();
    let mut after_compaction = Vec::new();
    // A crash gives samod no chance to shut down: the crashed repos are not
    // stopped or dropped, they stay alive with every storage call hung.
    let mut dead = Vec::new();
    for k in 0..CRASH_POINTS {
        let db = format!("compaction-crash-{run}-{k}");
        let (landed, repo) = edit_until_crash(&db, k).await;
        dead.push(repo);
        match compaction_progress(&landed) {
            Some(Progress::Inside) => inside_compaction.push(k),
            Some(Progress::Done) => after_compaction.push(k),
            None => {}
        }
        restart_and_check(&db, k, &landed).await;
    }
    console_log!(
        "{CRASH_POINTS} crash points; inside a compaction at {inside_compaction:?}; \
         after one at {after_compaction:?}"
    );
    assert!(
        !inside_compaction.is_empty(),
        "no crash point fell between a snapshot put and the last delete of what it supersedes"
    );
    assert!(
        !after_compaction.is_empty(),
        "no crash point came after a whole compaction; raise CRASH_POINTS"
    );
}

/// Edits a new document in a new database until the storage dies at write
/// `k`. Returns every write that landed, and the dead repo.
async fn edit_until_crash(db: &str, k: usize) -> (Vec<Landed>, Option<(Repo, DocHandle)>) {
    let crash = Crash::after_writes(k);
    let idb = IdbStorage::open_named(db).await.expect("open IndexedDB");
    let storage = CrashingIdb::new(idb, crash.clone());
    let in_flight = storage.in_flight.clone();
    let dead = RefCell::new(None);
    let editing = async {
        // Loading writes the storage id and creating writes the first change:
        // the crash may come before either returns.
        let repo = RepoBuilder::new(BrowserRuntime)
            .with_storage(storage)
            .load_local()
            .await;
        let handle = repo
            .create(Automerge::new())
            .await
            .expect("the repo is running");
        *dead.borrow_mut() = Some((repo, handle.clone()));
        for i in 0..EDITS {
            let hash = edit(&handle, i);
            wait_for("the edit to land, or the crash", DEADLINE, || {
                let landed = crash.has_crashed() || holds(&crash.landed(), hash);
                ready(landed.then_some(()))
            })
            .await;
            if crash.has_crashed() {
                return;
            }
        }
        panic!("crash point {k}: {EDITS} edits and the storage never died");
    };
    let crashed = wait_for("the crash", 3 * DEADLINE, || {
        ready(crash.has_crashed().then_some(()))
    });
    futures::future::select(pin!(editing), pin!(crashed)).await;
    // A write that was in flight when the process died may still land.
    wait_for("the writes in flight at the crash", DEADLINE, || {
        ready((in_flight.get() == 0).then_some(()))
    })
    .await;
    (crash.landed(), dead.into_inner())
}

/// Opens the database a crashed repo left, as the app does on its next start,
/// and checks that nothing that landed is lost and that the next compaction
/// clears what the crash left.
async fn restart_and_check(db: &str, k: usize, landed: &[Landed]) {
    let Some(doc_id) = landed.iter().find_map(|l| match l {
        Landed::Put { key, .. } if kind(key).is_some() => key.into_iter().next().cloned(),
        _ => None,
    }) else {
        // The document never reached storage: there is nothing to keep.
        return;
    };
    let expected: HashSet<ChangeHash> = landed
        .iter()
        .filter_map(|l| match l {
            Landed::Put { key, data } => Some(changes_in(key, data)),
            Landed::Delete { .. } => None,
        })
        .flatten()
        .collect();

    let idb = IdbStorage::open_named(db).await.expect("open IndexedDB");
    let prefix = StorageKey::from_parts([&doc_id]).expect("a document id is a key");
    let leftovers = idb.load_range(prefix.clone()).await;
    let repo = RepoBuilder::new(BrowserRuntime)
        .with_storage(idb.clone())
        .load_local()
        .await;
    let handle = repo
        .find(doc_id.parse().expect("a stored document id"))
        .await
        .expect("the repo is running")
        .unwrap_or_else(|| panic!("crash point {k}: the restarted repo lost the document"));
    let lost = handle.with_document(|doc| {
        expected
            .iter()
            .filter(|h| doc.get_change_by_hash(h).is_none())
            .count()
    });
    assert_eq!(
        lost,
        0,
        "crash point {k}: {lost} of the {} changes in landed writes are lost; landed: {:?}",
        expected.len(),
        summary(landed)
    );

    let mut chunks = HashMap::new();
    for i in 0..CLEANUP_EDITS {
        let hash = edit(&handle, EDITS + i);
        chunks = wait_for("the edit to reach IndexedDB", DEADLINE, || {
            let (idb, prefix) = (idb.clone(), prefix.clone());
            async move {
                let chunks = idb.load_range(prefix).await;
                chunks
                    .iter()
                    .any(|(key, data)| changes_in(key, data).contains(&hash))
                    .then_some(chunks)
            }
        })
        .await;
        if chunks.len() <= SETTLED_CHUNKS && leftovers.keys().all(|key| !chunks.contains_key(key)) {
            repo.stop().await;
            return;
        }
    }
    panic!(
        "crash point {k}: {CLEANUP_EDITS} edits after the restart and IndexedDB still holds {} \
         chunks ({} left by the crash)",
        chunks.len(),
        leftovers
            .keys()
            .filter(|key| chunks.contains_key(key))
            .count()
    );
}

/// One small change: the edit number under "counter" in the root map.
fn edit(handle: &DocHandle, i: i64) -> ChangeHash {
    handle.with_document(|doc| {
        let mut tx = doc.transaction();
        tx.put(ROOT, "counter", i).expect("a put in the root map");
        tx.commit().0.expect("a put makes a change")
    })
}

/// `"incremental"` or `"snapshot"` for a document chunk's key.
fn kind(key: &StorageKey) -> Option<&str> {
    let kind = key.into_iter().nth(1)?.as_str();
    matches!(kind, "incremental" | "snapshot").then_some(kind)
}

/// The changes a stored chunk holds, decoded from its bytes.
fn changes_in(key: &StorageKey, data: &[u8]) -> Vec<ChangeHash> {
    match kind(key) {
        Some("incremental") => {
            let change =
                Change::from_bytes(data.to_vec()).expect("an incremental chunk is a change");
            vec![change.hash()]
        }
        Some("snapshot") => Automerge::load(data)
            .expect("a snapshot loads")
            .get_changes(&[])
            .iter()
            .map(Change::hash)
            .collect(),
        _ => Vec::new(),
    }
}

fn holds(landed: &[Landed], hash: ChangeHash) -> bool {
    landed.iter().any(|l| match l {
        Landed::Put { key, data } => changes_in(key, data).contains(&hash),
        Landed::Delete { .. } => false,
    })
}

enum Progress {
    /// A snapshot landed and some chunk it supersedes is still there.
    Inside,
    /// A snapshot landed and every chunk before it is deleted.
    Done,
}

/// How far the latest compaction got before the crash; `None` if no snapshot
/// landed.
fn compaction_progress(landed: &[Landed]) -> Option<Progress> {
    let snapshot = landed
        .iter()
        .rposition(|l| matches!(l, Landed::Put { key, .. } if kind(key) == Some("snapshot")))?;
    let deleted: HashSet<&StorageKey> = landed
        .iter()
        .filter_map(|l| match l {
            Landed::Delete { key } => Some(key),
            Landed::Put { .. } => None,
        })
        .collect();
    let superseded_remain = landed[..snapshot].iter().any(|l| match l {
        Landed::Put { key, .. } => kind(key).is_some() && !deleted.contains(key),
        Landed::Delete { .. } => false,
    });
    Some(if superseded_remain {
        Progress::Inside
    } else {
        Progress::Done
    })
}

/// The landed writes, short: `+i` incremental put, `+S` snapshot put, `-i` /
/// `-S` deletes.
fn summary(landed: &[Landed]) -> String {
    let short = |key: &StorageKey| match kind(key) {
        Some("snapshot") => "S",
        Some(_) => "i",
        None => "id",
    };
    landed
        .iter()
        .map(|l| match l {
            Landed::Put { key, .. } => format!("+{}", short(key)),
            Landed::Delete { key } => format!("-{}", short(key)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `IdbStorage` dying as `Crash` says. `sync::fault::CrashingStorage` does
/// the same for `Send` storages; IndexedDB's futures are not `Send`. A write
/// not admitted, and any read once dead, hangs forever; an admitted write is
/// recorded when it has landed.
#[derive(Clone)]
struct CrashingIdb {
    inner: IdbStorage,
    crash: Crash,
    /// Admitted writes that have not landed yet.
    in_flight: Rc<Cell<usize>>,
}

impl CrashingIdb {
    fn new(inner: IdbStorage, crash: Crash) -> Self {
        Self {
            inner,
            crash,
            in_flight: Rc::new(Cell::new(0)),
        }
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

impl LocalStorage for CrashingIdb {
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
