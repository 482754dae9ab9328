//! Files waiting to be uploaded, kept on the device until the server has
//! them.
//!
//! A file attached to a message (dropped, chosen or recorded) is written
//! here first, in IndexedDB (a database per account, as the documents
//! are), and only then is the message that names it written: so a file is
//! never named by a message and lost with the tab. The queue is sent
//! whenever the app is online (at start, when the connection comes back,
//! after each new file), oldest first, each file in one `PUT` under the id
//! its message names, which the server answers the same way however often
//! it is sent again: a cut connection costs a retry, never a duplicate. A
//! file the server refuses leaves the queue with the reason shown.

use std::rc::Rc;

use idb::{Database, Factory, ObjectStoreParams, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};
use web_common::api::{self, ApiError};

const STORE: &str = "uploads";

/// A file to upload.
#[derive(Clone)]
pub struct Queued {
    pub id: String,
    pub channel: String,
    pub name: String,
    pub content_type: String,
    pub blob: web_sys::Blob,
}

/// How sending one went.
pub enum Sent {
    /// The server has it.
    Done,
    /// The server will never take it: why.
    Refused(String),
    /// Not now (offline, the server down): try again later.
    Later,
}

#[derive(Clone)]
pub struct Uploads {
    db: Rc<Database>,
}

fn text(e: impl ToString) -> String {
    e.to_string()
}

impl Uploads {
    pub async fn open(account_id: &str) -> Result<Uploads, String> {
        let factory = Factory::new().map_err(text)?;
        let name = format!("partner-portal-uploads:{account_id}");
        let mut request = factory.open(&name, Some(1)).map_err(text)?;
        request.on_upgrade_needed(|event| {
            if let Ok(db) = idb::DatabaseEvent::database(&event)
                && !db.store_names().iter().any(|s| s == STORE)
            {
                let _ = db.create_object_store(STORE, ObjectStoreParams::new());
            }
        });
        let db = request.await.map_err(text)?;
        Ok(Uploads { db: Rc::new(db) })
    }

    /// Keeps `file` until it is sent; done once it is on the device.
    pub async fn add(&self, file: &Queued) -> Result<(), String> {
        let entry = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&entry, &key.into(), value);
        set("channel", &file.channel.as_str().into()).map_err(|_| "entry")?;
        set("name", &file.name.as_str().into()).map_err(|_| "entry")?;
        set("content_type", &file.content_type.as_str().into()).map_err(|_| "entry")?;
        set("blob", file.blob.as_ref()).map_err(|_| "entry")?;
        // Queued in the order added: the key starts with the time.
        set("at", &js_sys::Date::now().into()).map_err(|_| "entry")?;
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(text)?;
        tx.object_store(STORE)
            .map_err(text)?
            .put(&entry, Some(&JsValue::from_str(&file.id)))
            .map_err(text)?
            .await
            .map_err(text)?;
        tx.commit().map_err(text)?.await.map_err(text)?;
        Ok(())
    }

    /// Every file waiting, oldest first.
    pub async fn all(&self) -> Vec<Queued> {
        let read = async {
            let tx = self.db.transaction(&[STORE], TransactionMode::ReadOnly)?;
            let store = tx.object_store(STORE)?;
            let keys = store.get_all_keys(None, None)?.await?;
            let values = store.get_all(None, None)?.await?;
            Ok::<_, idb::Error>(keys.into_iter().zip(values).collect::<Vec<_>>())
        };
        let Ok(entries) = read.await else {
            return Vec::new();
        };
        let mut queued: Vec<(f64, Queued)> = entries
            .into_iter()
            .filter_map(|(key, value)| {
                let get = |k: &str| js_sys::Reflect::get(&value, &k.into()).ok();
                Some((
                    get("at")?.as_f64().unwrap_or_default(),
                    Queued {
                        id: key.as_string()?,
                        channel: get("channel")?.as_string()?,
                        name: get("name")?.as_string()?,
                        content_type: get("content_type")?.as_string()?,
                        blob: get("blob")?.dyn_into().ok()?,
                    },
                ))
            })
            .collect();
        queued.sort_by(|a, b| a.0.total_cmp(&b.0));
        queued.into_iter().map(|(_, q)| q).collect()
    }

    pub async fn remove(&self, id: &str) {
        let removed = async {
            let tx = self.db.transaction(&[STORE], TransactionMode::ReadWrite)?;
            tx.object_store(STORE)?
                .delete(JsValue::from_str(id))?
                .await?;
            tx.commit()?.await?;
            Ok::<_, idb::Error>(())
        };
        // Left in the queue, it is sent again; the server answers as before.
        let _ = removed.await;
    }
}

/// Sends one file (see the module's doc).
pub async fn send(file: &Queued) -> Sent {
    let query = |s: &str| {
        js_sys::encode_uri_component(s)
            .as_string()
            .unwrap_or_default()
    };
    let path = format!(
        "/api/chat/files/{}?channel={}&name={}",
        file.id,
        query(&file.channel),
        query(&file.name)
    );
    match api::put_bytes(&path, file.blob.as_ref(), &file.content_type).await {
        Ok(_) => Sent::Done,
        Err(ApiError::Refused(why)) => Sent::Refused(why),
        // A refusal with no words (a proxy's 413, say); not a session
        // that ended, a timeout or a limit, which pass.
        Err(ApiError::Server(status))
            if (400..500).contains(&status) && ![401, 408, 429].contains(&status) =>
        {
            Sent::Refused(format!("the server refused it (error {status})"))
        }
        Err(_) => Sent::Later,
    }
}
