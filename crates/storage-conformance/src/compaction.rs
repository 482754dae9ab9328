//! samod's compaction over a storage loses nothing, wherever a crash stops
//! it.
//!
//! Once a document has more than ten chunks stored, samod puts a snapshot
//! of it and, after that put has landed, deletes the chunks the snapshot
//! supersedes, one write at a time (the deletes go out with the next save).
//! A storage's part of that contract: each put and delete lands whole or not
//! at all, and what landed stays, so between any two writes the stored
//! chunks hold the old state, the new one, or both, never less.
//!
//! For each crash point, a repo over [`CrashingStorage`] edits a new
//! document one change at a time until its storage dies
//! (`sync::fault::Crash`: from then on every storage call hangs, as if the
//! process had been killed). Then a storage opened again over the same
//! place, as the app or the server does when it restarts, must hold every
//! change that any landed write held, a repo over it must find them, and
//! its next compaction must clear what the crash left behind.

use std::{cell::RefCell, collections::HashSet, future::ready, pin::pin, time::Duration};

use automerge::{Automerge, Change, ChangeHash, ROOT, ReadDoc, transaction::Transactable};
use samod::{
    DocHandle, Repo, RepoBuilder,
    storage::{LocalStorage, StorageKey},
};
use sync::fault::{Crash, Landed};

use crate::{Backend, CrashingStorage, wait_for};

/// The crash points tried: the storage dies at write `k` (counting from 0),
/// for every `k` below this. The first compaction (eleven incremental puts,
/// the snapshot, its eleven deletes) is over after 24 writes; the check
/// holds that the points cover a whole compaction and moments inside one.
const CRASH_POINTS: usize = 36;
/// Edits before the crash at most; every crash point dies well before.
const EDITS: i64 = 60;
/// Edits after the restart at most, for compaction to clean up.
const CLEANUP_EDITS: i64 = 30;
/// What a document keeps once compaction has caught up: a snapshot and the
/// few changes since.
const SETTLED_CHUNKS: usize = 3;
const DEADLINE: Duration = Duration::from_secs(10);

/// Crashes samod's compaction at each of its writes; see the module docs.
pub async fn compaction_loses_nothing_wherever_a_crash_stops_it<B: Backend>(backend: &B) {
    let place = backend.place().await;
    // A repo writes its storage id the first time it opens a storage; have
    // that done, so every crash point falls on a write of the document.
    repo(backend, backend.open(&place).await).await.stop().await;

    let mut inside_compaction = Vec::new();
    let mut after_compaction = Vec::new();
    // A crash gives samod no chance to shut down: the crashed repos are not
    // stopped or dropped, they stay alive with every storage call hung.
    let mut dead = Vec::new();
    for k in 0..CRASH_POINTS {
        let (landed, repo) = edit_until_crash(backend, &place, k).await;
        dead.push(repo);
        match compaction_progress(&landed) {
            Some(Progress::Inside) => inside_compaction.push(k),
            Some(Progress::Done) => after_compaction.push(k),
            None => {}
        }
        restart_and_check(backend, &place, k, &landed).await;
    }
    backend.report(&format!(
        "{CRASH_POINTS} crash points; inside a compaction at {inside_compaction:?}; \
         after one at {after_compaction:?}"
    ));
    assert!(
        inside_compaction.len() >= 3,
        "only {inside_compaction:?} of the crash points fell between a snapshot put and the last \
         delete of what it supersedes: the check no longer exercises compaction"
    );
    assert!(
        !after_compaction.is_empty(),
        "no crash point came after a whole compaction; raise CRASH_POINTS"
    );
}

async fn repo<B: Backend>(backend: &B, storage: impl LocalStorage) -> Repo {
    RepoBuilder::new(backend.runtime())
        .with_storage(storage)
        .load_local()
        .await
}

/// Edits a new document over a new storage on `place` until the storage
/// dies at write `k`. Returns every write that landed, and the dead repo.
async fn edit_until_crash<B: Backend>(
    backend: &B,
    place: &B::Place,
    k: usize,
) -> (Vec<Landed>, Option<(Repo, DocHandle)>) {
    let crash = Crash::after_writes(k);
    let storage = CrashingStorage::new(backend.open(place).await, crash.clone());
    let in_flight = storage.in_flight();
    let dead = RefCell::new(None);
    let editing = async {
        // The storage id is stored, so loading only reads; creating writes
        // nothing until the first edit. Either may still hang if the
        // storage dies under them.
        let repo = repo(backend, storage).await;
        let handle = repo
            .create(Automerge::new())
            .await
            .expect("the repo is running");
        *dead.borrow_mut() = Some((repo, handle.clone()));
        for i in 0..EDITS {
            let hash = edit(&handle, i);
            wait_for(backend, "the edit to land, or the crash", DEADLINE, || {
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
    let crashed = wait_for(backend, "the crash", 3 * DEADLINE, || {
        ready(crash.has_crashed().then_some(()))
    });
    futures::future::select(pin!(editing), pin!(crashed)).await;
    wait_for(
        backend,
        "the writes in flight at the crash",
        DEADLINE,
        || ready((in_flight.get() == 0).then_some(())),
    )
    .await;
    (crash.landed(), dead.into_inner())
}

/// Opens the place a crashed repo left, as a process does on its next
/// start, and checks that nothing that landed is lost and that the next
/// compaction clears what the crash left.
async fn restart_and_check<B: Backend>(backend: &B, place: &B::Place, k: usize, landed: &[Landed]) {
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

    let storage = backend.open(place).await;
    let prefix = StorageKey::from_parts([&doc_id]).expect("a document id is a key");
    let leftovers = storage.load_range(prefix.clone()).await;
    let stored: HashSet<ChangeHash> = leftovers
        .iter()
        .flat_map(|(key, data)| changes_in(key, data))
        .collect();
    let gone = expected.difference(&stored).count();
    assert_eq!(
        gone,
        0,
        "crash point {k}: {gone} of the {} changes in landed writes are not in the storage \
         opened again; landed: {}",
        expected.len(),
        summary(landed)
    );

    let repo = repo(backend, storage.clone()).await;
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
        "crash point {k}: the restarted repo lacks {lost} of the {} changes in landed writes; \
         landed: {}",
        expected.len(),
        summary(landed)
    );

    let mut chunks = leftovers.clone();
    for i in 0..CLEANUP_EDITS {
        let hash = edit(&handle, EDITS + i);
        chunks = wait_for(backend, "the edit to be stored", DEADLINE, || {
            let (storage, prefix) = (storage.clone(), prefix.clone());
            async move {
                let chunks = storage.load_range(prefix).await;
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
        "crash point {k}: {CLEANUP_EDITS} edits after the restart and the storage still holds {} \
         chunks of the document ({} left by the crash)",
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

/// The changes a stored chunk holds, decoded from its bytes. An incremental
/// chunk is one change, read on its own (loading it into an empty document
/// would queue it behind its missing dependencies and show nothing).
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
