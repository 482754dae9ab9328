//! Values in, values out: single keys and prefix loads.

use std::collections::HashMap;

use samod::storage::{LocalStorage, StorageKey};

use crate::Backend;

fn key(parts: &[&str]) -> StorageKey {
    StorageKey::from_parts(parts).expect("no empty component, no '/'")
}

/// Puts each key with a value of its own (its flattened form), returns
/// what was put.
async fn put_all(storage: &impl LocalStorage, keys: &[&[&str]]) -> HashMap<StorageKey, Vec<u8>> {
    let mut stored = HashMap::new();
    for parts in keys {
        let (key, value) = (key(parts), parts.join("/").into_bytes());
        storage.put(key.clone(), value.clone()).await;
        stored.insert(key, value);
    }
    stored
}

/// Checks that loading under `prefix` returns exactly the stored keys that
/// `is_under` the prefix, with their values.
async fn assert_prefix_load(
    storage: &impl LocalStorage,
    stored: &HashMap<StorageKey, Vec<u8>>,
    prefix: &[&str],
) {
    let prefix = key(prefix);
    let expected: HashMap<StorageKey, Vec<u8>> = stored
        .iter()
        .filter(|(k, _)| is_under(&prefix, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let loaded = storage.load_range(prefix.clone()).await;
    let names = |map: &HashMap<StorageKey, Vec<u8>>| {
        let mut names: Vec<String> = map.keys().map(sync::key_to_string).collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&loaded),
        names(&expected),
        "a load under {:?} returned other keys than the ones under it",
        sync::key_to_string(&prefix)
    );
    assert_eq!(
        loaded,
        expected,
        "a load under {:?} returned the right keys with other values",
        sync::key_to_string(&prefix)
    );
}

/// `key` is strictly below `prefix`: it has more components, and its
/// first ones are the prefix's. samod loads `[doc, "snapshot"]` and
/// `[doc, "incremental"]` and stores keys one component below them, so
/// whether a key equal to the prefix is returned is never asked and the
/// suite does not ask it either.
fn is_under(prefix: &StorageKey, key: &StorageKey) -> bool {
    prefix.is_prefix_of(key) && key.into_iter().count() > prefix.into_iter().count()
}

/// What a value is, short enough for a failure message.
fn describe(value: Option<&[u8]>) -> String {
    match value {
        None => "nothing".into(),
        Some(bytes) if bytes.len() <= 16 => format!("{bytes:?}"),
        Some(bytes) => format!("{} bytes starting {:?}", bytes.len(), &bytes[..16]),
    }
}

/// Checks that `storage` loads `expected` under `key`; `failure` says what
/// it means if not.
async fn assert_loads(
    storage: &impl LocalStorage,
    key: &StorageKey,
    expected: Option<&[u8]>,
    failure: &str,
) {
    let loaded = storage.load(key.clone()).await;
    assert!(
        loaded.as_deref() == expected,
        "{failure}: {} loads {}, not {}",
        sync::key_to_string(key),
        describe(loaded.as_deref()),
        describe(expected)
    );
}

/// A value put is loaded back byte for byte, by the storage that wrote it
/// and by one opened over the same place (a put that returned is stored,
/// not cached); a second put replaces it; a delete removes it and nothing
/// else; deleting what is not there does nothing.
pub async fn values_round_trip<B: Backend>(backend: &B) {
    let place = backend.place().await;
    let storage = backend.open(&place).await;
    let chunk = key(&["doc1", "incremental", "h1"]);
    let neighbour = key(&["doc1", "incremental", "h2"]);
    let never = key(&["doc1", "incremental", "h3"]);

    assert_loads(&storage, &chunk, None, "a new storage holds something").await;
    // Every byte value, NUL and invalid UTF-8 included, and more of them
    // than a small document's snapshot.
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    storage.put(chunk.clone(), every_byte.clone()).await;
    storage.put(neighbour.clone(), b"neighbour".to_vec()).await;
    assert_loads(
        &storage,
        &chunk,
        Some(&every_byte),
        "a value put is not the value loaded",
    )
    .await;
    assert_loads(
        &backend.open(&place).await,
        &chunk,
        Some(&every_byte),
        "a storage opened again does not have the value put",
    )
    .await;

    storage.put(chunk.clone(), b"second".to_vec()).await;
    assert_loads(
        &storage,
        &chunk,
        Some(b"second"),
        "a second put did not replace the value",
    )
    .await;
    assert_loads(
        &backend.open(&place).await,
        &chunk,
        Some(b"second"),
        "a storage opened again does not have the second value",
    )
    .await;

    storage.delete(chunk.clone()).await;
    for (whose, storage) in [
        ("the deleting storage", &storage),
        ("a storage opened again", &backend.open(&place).await),
    ] {
        assert_loads(
            storage,
            &chunk,
            None,
            &format!("{whose} still has a deleted value"),
        )
        .await;
        assert_loads(
            storage,
            &neighbour,
            Some(b"neighbour"),
            &format!("{whose} lost a value next to a deleted one"),
        )
        .await;
        let under: Vec<String> = storage
            .load_range(key(&["doc1"]))
            .await
            .keys()
            .map(sync::key_to_string)
            .collect();
        assert_eq!(
            under,
            vec![sync::key_to_string(&neighbour)],
            "{whose} still loads a deleted key under its prefix"
        );
    }

    // samod deletes what a compaction superseded; another repo over the
    // same place may have deleted it already.
    storage.delete(chunk.clone()).await;
    storage.delete(never.clone()).await;
    assert_loads(&storage, &never, None, "deleting a key never put stored it").await;
    assert_loads(
        &storage,
        &neighbour,
        Some(b"neighbour"),
        "deleting twice lost a neighbour",
    )
    .await;
}

/// A prefix load takes whole components: `[doc1, "snapshot"]` is not a
/// prefix of `[doc1, "snapshots", ..]`, nor `[doc1]` of `[doc10, ..]`, even
/// though their flattened strings start alike.
pub async fn prefix_loads_take_whole_components<B: Backend>(backend: &B) {
    // The place lives as long as the storage: a backend may take its
    // place away when it is dropped (a test database is).
    let place = backend.place().await;
    let storage = backend.open(&place).await;
    let stored = put_all(
        &storage,
        &[
            &["storage-adapter-id"],
            &["doc1", "incremental", "h1"],
            &["doc1", "incremental", "h2"],
            &["doc1", "snapshot", "s1"],
            // Longer siblings of "snapshot" and "incremental".
            &["doc1", "snapshots", "x"],
            &["doc1", "incrementalx", "y"],
            // A longer and a shorter sibling of "doc1".
            &["doc10", "incremental", "h3"],
            &["doc", "snapshot", "s2"],
        ],
    )
    .await;
    for prefix in [
        &["doc1"][..],
        &["doc1", "incremental"],
        &["doc1", "snapshot"],
        &["doc1", "snapshots"],
        &["doc10"],
        &["doc10", "incremental"],
        &["doc"],
        &["doc", "snapshot"],
        &["do"],
        &["doc2"],
        &["doc1", "snap"],
    ] {
        assert_prefix_load(&storage, &stored, prefix).await;
    }
}

/// Prefix loads hold exactly the keys under the prefix whatever characters
/// the components hold: punctuation just below the separator `/` in byte
/// order (`-`, `.`, space, `!`), `0` just above it, upper and lower case,
/// non-ASCII in and beyond the Basic Multilingual Plane. An index ordered
/// by a language's collation (which skips punctuation at first and folds
/// case) instead of by bytes misplaces some of them.
pub async fn prefix_loads_follow_byte_order<B: Backend>(backend: &B) {
    // The place lives as long as the storage: a backend may take its
    // place away when it is dropped (a test database is).
    let place = backend.place().await;
    let storage = backend.open(&place).await;
    let under: [&[&str]; 13] = [
        &["p", "-"],
        &["p", "."],
        &["p", " x"],
        &["p", "!"],
        &["p", "0"],
        &["p", "0", "-"],
        &["p", "A"],
        &["p", "a"],
        &["p", "~"],
        &["p", "é"],
        &["p", "\u{fffd}"],
        &["p", "😀"],
        &["p", "x", "y"],
    ];
    let beside: [&[&str]; 17] = [
        &["p-"],
        &["p-", "0"],
        &["p."],
        &["p.", "x"],
        &["p "],
        &["p!"],
        &["p0"],
        &["p00"],
        &["pA"],
        &["P"],
        &["P", "x"],
        &["pé"],
        &["p😀"],
        &["o", "p"],
        &["q"],
        &["é", "p"],
        &["😀", "p"],
    ];
    let keys: Vec<&[&str]> = under.iter().chain(beside.iter()).copied().collect();
    let stored = put_all(&storage, &keys).await;
    for prefix in [
        &["p"][..],
        &["p", "0"],
        &["p-"],
        &["p."],
        &["p0"],
        &["P"],
        &["é"],
        &["😀"],
    ] {
        assert_prefix_load(&storage, &stored, prefix).await;
    }
}
