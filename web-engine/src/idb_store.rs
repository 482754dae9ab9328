//! samod's storage over IndexedDB.
//!
//! One object store, `chunks`, keyed by the flattened storage key (see
//! `sync::key_to_string`); values are the chunk bytes. A prefix load is one
//! `IDBKeyRange` over the keys, never a walk of the whole store. samod's
//! storage methods cannot fail, so a failed operation is retried with
//! backoff: a change is not reported stored until it is.

use std::{collections::HashMap, future::Future, rc::Rc};

use idb::{Database, DatabaseEvent, Factory, KeyRange, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use samod::storage::StorageKey;
use wasm_bindgen::JsValue;

const DB_NAME: &str = "partner-portal";
const STORE: &str = "chunks";

#[derive(Clone)]
pub struct IdbStorage {
    db: Rc<Database>,
}

impl IdbStorage {
    /// The app's database.
    pub async fn open() -> Result<IdbStorage, String> {
        IdbStorage::open_named(DB_NAME).await
    }

    /// A database of the given name (tests give each scenario its own).
    pub async fn open_named(name: &str) -> Result<IdbStorage, String> {
        let factory = Factory::new().map_err(|e| e.to_string())?;
        let mut request = factory.open(name, Some(1)).map_err(|e| e.to_string())?;
        request.on_upgrade_needed(|event| {
            if let Ok(db) = event.database()
                && !db.store_names().iter().any(|s| s == STORE)
            {
                let _ = db.create_object_store(STORE, ObjectStoreParams::new());
            }
        });
        let db = request.await.map_err(|e| e.to_string())?;
        Ok(IdbStorage { db: Rc::new(db) })
    }

    async fn try_load(&self, key: &str) -> Result<Option<Vec<u8>>, idb::Error> {
        let tx = self.db.transaction(&[STORE], TransactionMode::ReadOnly)?;
        let value = tx.object_store(STORE)?.get(JsValue::from_str(key))?.await?;
        Ok(value.map(|v| Uint8Array::new(&v).to_vec()))
    }

    async fn try_load_range(
        &self,
        lo: &str,
        hi: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, idb::Error> {
        let range = KeyRange::bound(
            &JsValue::from_str(lo),
            &JsValue::from_str(hi),
            Some(false),
            Some(true),
        )?;
        let tx = self.db.transaction(&[STORE], TransactionMode::ReadOnly)?;
        let store = tx.object_store(STORE)?;
        // Keys and values of one range in one transaction come back in the
        // same (key) order.
        let keys = store
            .get_all_keys(Some(range.clone().into()), None)?
            .await?;
        let values = store.get_all(Some(range.into()), None)?.await?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(k, v)| Some((k.as_string()?, Uint8Array::new(&v).to_vec())))
            .collect())
    }

    async fn try_put(&self, key: &str, data: &[u8]) -> Result<(), idb::Error> {
        let tx = self.db.transaction(&[STORE], TransactionMode::ReadWrite)?;
        let value: JsValue = Uint8Array::from(data).into();
        tx.object_store(STORE)?
            .put(&value, Some(&JsValue::from_str(key)))?
            .await?;
        tx.commit()?.await?;
        Ok(())
    }

    async fn try_delete(&self, key: &str) -> Result<(), idb::Error> {
        let tx = self.db.transaction(&[STORE], TransactionMode::ReadWrite)?;
        tx.object_store(STORE)?
            .delete(JsValue::from_str(key))?
            .await?;
        tx.commit()?.await?;
        Ok(())
    }
}

/// Retries `op` until it lands (see [`sync::retry_forever`]).
async fn retry<T, F, Fut>(what: &str, op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, idb::Error>>,
{
    sync::retry_forever(op, gloo_timers::future::sleep, |e, retry_in| {
        web_sys::console::warn_1(
            &format!(
                "IndexedDB {what} failed: {e}; retrying in {} ms",
                retry_in.as_millis()
            )
            .into(),
        );
    })
    .await
}

impl samod::storage::LocalStorage for IdbStorage {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> {
        let this = self.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("load", || this.try_load(&k)).await
        }
    }

    fn load_range(&self, prefix: StorageKey) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> {
        let this = self.clone();
        async move {
            let (lo, hi) = sync::prefix_range(&prefix);
            retry("load_range", || this.try_load_range(&lo, &hi))
                .await
                .into_iter()
                .filter_map(|(k, v)| Some((sync::key_from_string(&k)?, v)))
                .collect()
        }
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> {
        let this = self.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("put", || this.try_put(&k, &data)).await
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> {
        let this = self.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("delete", || this.try_delete(&k)).await
        }
    }
}
