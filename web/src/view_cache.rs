//! The last reading of a document, kept on the device, to show at once.
//!
//! Opening a big document takes its time on a phone: IndexedDB, then
//! Automerge loading every change (about 0.6 s for a 500-lead pipeline on
//! a phone's CPU). What the document last read as is kept here (JSON, in a
//! database of its own per account, one entry per document), so a screen
//! can show it while the document opens; the document's own reading
//! replaces it as soon as it is there. It is a cache: losing it loses
//! nothing, and nothing is ever written from it.

use std::rc::Rc;

use idb::{Database, Factory, ObjectStoreParams, TransactionMode};
use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::{JsCast, JsValue};

const STORE: &str = "views";
/// A reading larger than this is neither kept nor read back (a 500-lead
/// pipeline with a year of activity is about 1 MB).
const MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct ViewCache {
    db: Rc<Database>,
}

impl ViewCache {
    /// The account's cache: like its documents, one database per account.
    pub async fn open(account_id: &str) -> Result<ViewCache, String> {
        let factory = Factory::new().map_err(|e| e.to_string())?;
        let name = format!("partner-portal-views:{account_id}");
        let mut request = factory.open(&name, Some(1)).map_err(|e| e.to_string())?;
        request.on_upgrade_needed(|event| {
            if let Ok(db) = idb::DatabaseEvent::database(&event)
                && !db.store_names().iter().any(|s| s == STORE)
            {
                let _ = db.create_object_store(STORE, ObjectStoreParams::new());
            }
        });
        let db = request.await.map_err(|e| e.to_string())?;
        Ok(ViewCache { db: Rc::new(db) })
    }

    /// What `key` last read as; `None` when nothing is kept or what is kept
    /// does not read as a `T` (an older app's shape, say).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .ok()?;
        let value = tx
            .object_store(STORE)
            .ok()?
            .get(JsValue::from_str(key))
            .ok()?
            .await
            .ok()??;
        // Measured before it is copied out of the browser (UTF-16 units;
        // a byte count is at most three per unit).
        let text = value.dyn_ref::<js_sys::JsString>()?;
        if text.length() as usize > MAX_BYTES / 3 {
            return None;
        }
        let json = String::from(text);
        serde_json::from_str(&json).ok()
    }

    /// Keeps `value` as what `key` reads as now.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) {
        let Ok(json) = serde_json::to_string(value) else {
            return;
        };
        if json.len() > MAX_BYTES {
            return;
        }
        let written = async {
            let tx = self.db.transaction(&[STORE], TransactionMode::ReadWrite)?;
            tx.object_store(STORE)?
                .put(&JsValue::from_str(&json), Some(&JsValue::from_str(key)))?
                .await?;
            tx.commit()?.await?;
            Ok::<_, idb::Error>(())
        };
        // A cache: a failed write leaves the older reading, or none.
        let _ = written.await;
    }
}
