//! The IndexedDB storage under the storage conformance suite
//! (`crates/storage-conformance`, which the Postgres storage passes too).

use std::cell::Cell;

use storage_conformance::{Backend, as_is};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use web_engine::{BrowserRuntime, idb_store::IdbStorage};

/// IndexedDB under the suite: each place is a database of its own name.
struct IndexedDb;

thread_local! {
    static PLACES: Cell<u32> = const { Cell::new(0) };
}

impl Backend for IndexedDb {
    /// The database's name.
    type Place = String;
    type Storage = IdbStorage;
    type Runtime = BrowserRuntime;

    async fn place(&self) -> String {
        // New names on every run, also in a browser profile that is kept.
        let n = PLACES.with(|p| p.replace(p.get() + 1));
        format!("conformance-{}-{n}", js_sys::Date::now() as u64)
    }

    async fn open(&self, name: &String) -> IdbStorage {
        IdbStorage::open_named(name).await.expect("open IndexedDB")
    }

    fn runtime(&self) -> BrowserRuntime {
        BrowserRuntime
    }

    fn report(&self, line: &str) {
        console_log!("{line}");
    }
}

storage_conformance::suite!(
    #[wasm_bindgen_test]
    IndexedDb,
    as_is
);
