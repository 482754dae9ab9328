//! The SQLite store under the storage conformance suite
//! (`crates/storage-conformance`), which the Postgres and IndexedDB
//! storages pass too: values round-trip, prefix loads follow whole
//! components in byte order, and a crash at any write of samod's
//! compaction loses nothing.

use portal_field::store::Store;
use storage_conformance::tokio_local::{TokioLocal, in_local_set};

/// SQLite under the suite: each place is a fresh file in a directory of its
/// own, removed with the place.
struct Sqlite;

impl storage_conformance::Backend for Sqlite {
    type Place = tempfile::TempDir;
    type Storage = Store;
    type Runtime = TokioLocal;

    async fn place(&self) -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    async fn open(&self, place: &tempfile::TempDir) -> Store {
        Store::open(&place.path().join("field.sqlite3"), "").unwrap()
    }

    fn runtime(&self) -> TokioLocal {
        TokioLocal
    }
}

mod conformance {
    use super::*;

    storage_conformance::suite!(
        #[tokio::test]
        Sqlite,
        in_local_set
    );
}
