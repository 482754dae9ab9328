//! The sync engine of the browser: a samod repo on the browser's event loop,
//! stored in IndexedDB, dialing the server's `/sync` with reconnect and
//! backoff.

use std::{cell::RefCell, pin::Pin, rc::Rc, sync::Arc, time::Duration};

use automerge::{ChangeHash, ReadDoc};
use futures::Future;
use samod::{BackoffConfig, DialerHandle, DocHandle, Repo, RepoBuilder};
use serde::{Deserialize, Serialize};

use crate::{
    dialer::{BrowserDialer, WsError},
    idb_store::IdbStorage,
};

/// samod's runtime on the browser's event loop: tasks are local futures.
#[derive(Clone)]
pub struct BrowserRuntime;

impl samod::runtime::LocalRuntimeHandle for BrowserRuntime {
    fn spawn(&self, f: Pin<Box<dyn Future<Output = ()>>>) {
        wasm_bindgen_futures::spawn_local(f);
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(gloo_timers::future::sleep(duration))
    }
}

/// Retry quickly: a partner coming out of a tunnel should not wait long.
fn backoff() -> BackoffConfig {
    BackoffConfig {
        initial_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(5),
        max_retries: None,
    }
}

pub struct Engine {
    repo: Repo,
    url: url::Url,
    dialer: RefCell<Option<DialerHandle<WsError>>>,
}

impl Engine {
    pub async fn start() -> Result<Rc<Engine>, String> {
        let storage = IdbStorage::open().await?;
        let repo = RepoBuilder::new(BrowserRuntime)
            .with_storage(storage)
            .load_local()
            .await;
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().map_err(|_| "no host")?;
        let url = url::Url::parse(&format!("{scheme}://{host}/sync")).map_err(|e| e.to_string())?;
        let engine = Rc::new(Engine {
            repo,
            url,
            dialer: RefCell::new(None),
        });
        engine.dial();
        Ok(engine)
    }

    fn dial(&self) {
        let dialer = Arc::new(BrowserDialer::new(self.url.clone()));
        match self.repo.dial(backoff(), dialer) {
            Ok(handle) => *self.dialer.borrow_mut() = Some(handle),
            Err(_) => web_sys::console::error_1(&"samod repo stopped".into()),
        }
    }

    /// Called when the browser says the network is back: try now rather than
    /// at the end of the current backoff.
    pub fn redial_if_disconnected(&self) {
        if self.is_connected() {
            return;
        }
        if let Some(old) = self.dialer.borrow_mut().take() {
            old.close();
        }
        self.dial();
    }

    pub fn is_connected(&self) -> bool {
        self.dialer
            .borrow()
            .as_ref()
            .is_some_and(|d| d.is_connected())
    }

    /// Opens a document from IndexedDB, or from the server if it has never
    /// been here. `None` when neither has it (offline on first use).
    pub async fn open(&self, doc_id: &str) -> Result<Option<DocHandle>, String> {
        let id = doc_id.parse().map_err(|e| format!("{e}"))?;
        self.repo
            .find(id)
            .await
            .map_err(|_| "sync engine stopped".into())
    }
}

/// The heads the server was last known to share with us, per document, kept
/// in localStorage so the count of changes waiting survives a reload offline.
#[derive(Serialize, Deserialize, Default)]
struct Synced(Vec<String>);

fn synced_key(doc_id: &str) -> String {
    format!("synced-heads:{doc_id}")
}

pub fn remember_synced(doc_id: &str, heads: &[ChangeHash]) {
    let value = Synced(heads.iter().map(|h| h.to_string()).collect());
    if let Ok(json) = serde_json::to_string(&value) {
        local_set(&synced_key(doc_id), &json);
    }
}

/// How many local changes the server has not confirmed yet.
pub fn pending_changes(handle: &DocHandle) -> usize {
    let doc_id = handle.document_id().to_string();
    let synced: Vec<ChangeHash> = local_get(&synced_key(&doc_id))
        .and_then(|json| serde_json::from_str::<Synced>(&json).ok())
        .unwrap_or_default()
        .0
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    handle.with_document(|doc| {
        let known: Vec<ChangeHash> = synced
            .into_iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        doc.get_changes(&known).len()
    })
}

pub fn local_get(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

pub fn local_set(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}
