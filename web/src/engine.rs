//! The sync engine of the browser: a samod repo on the browser's event loop,
//! stored in IndexedDB, dialing the server's `/sync` with reconnect and
//! backoff.
//!
//! One engine per signed-in account, and one IndexedDB database per account:
//! two partners sharing a device never see each other's documents, and what
//! one of them has not synced yet waits in their own database until they
//! sign in again. The samod peer id is `<account_id>/<device>`, the form the
//! server asks for, with a device id kept per account in localStorage so it
//! is stable across reloads. While the session is over the engine keeps its
//! documents and edits and does not dial (`pause`); `resume` dials again.

use std::{
    cell::{Cell, RefCell},
    pin::Pin,
    rc::Rc,
    sync::Arc,
    time::Duration,
};

use automerge::{ChangeHash, ReadDoc};
use futures::{Future, StreamExt};
use samod::{BackoffConfig, DialerHandle, DocHandle, PeerId, Repo, RepoBuilder, SearchState};
use serde::{Deserialize, Serialize};

use crate::{
    dialer::{BrowserDialer, SocketClosed, WsError},
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

/// What the engine tells the app about its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// The server closed the socket because the session ended.
    SessionEnded,
    /// A socket was refused or closed abnormally: maybe the network, maybe
    /// the session (a refused upgrade looks like a network error to a
    /// page), so the app asks `/api/me`.
    Refused,
}

/// Close codes that are part of a normal life: a closed tab or a server
/// going away (1001), a server handing its clients over (1012), a restart
/// (1013). Anything else may be about the session.
fn is_routine(code: u16) -> bool {
    matches!(code, 1000 | 1001 | 1012 | 1013)
}

pub struct Engine {
    account_id: String,
    repo: Repo,
    url: url::Url,
    on_event: Rc<dyn Fn(EngineEvent)>,
    /// `None` while paused.
    dialer: RefCell<Option<DialerHandle<WsError>>>,
    stopped: Cell<bool>,
}

/// The engine as component state: equal when it is the same engine.
#[derive(Clone)]
pub struct EngineRef(pub Rc<Engine>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Engine {
    /// Loads the account's documents from IndexedDB. The engine does not
    /// dial until `resume`.
    pub async fn start(
        account_id: &str,
        on_event: Rc<dyn Fn(EngineEvent)>,
    ) -> Result<Rc<Engine>, String> {
        let storage = IdbStorage::open_named(&storage_name(account_id)).await?;
        let repo = RepoBuilder::new(BrowserRuntime)
            .with_storage(storage)
            .with_peer_id(device_peer_id(account_id))
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
        Ok(Rc::new(Engine {
            account_id: account_id.to_owned(),
            repo,
            url,
            on_event,
            dialer: RefCell::new(None),
            stopped: Cell::new(false),
        }))
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn dial(&self) {
        let on_event = self.on_event.clone();
        let on_close = Rc::new(move |closed: SocketClosed| {
            if closed.code == sync::SESSION_ENDED_CLOSE {
                on_event(EngineEvent::SessionEnded);
            } else if !closed.opened || !is_routine(closed.code) {
                // 1006 is the network; anything else (1008: the server found
                // a protocol error) is worth a line in the console.
                if closed.opened && closed.code != 1006 {
                    web_sys::console::warn_1(
                        &format!("sync socket closed with code {}", closed.code).into(),
                    );
                }
                on_event(EngineEvent::Refused);
            }
        });
        let dialer = Arc::new(BrowserDialer::new(self.url.clone(), on_close));
        match self.repo.dial(backoff(), dialer) {
            Ok(handle) => *self.dialer.borrow_mut() = Some(handle),
            Err(_) => web_sys::console::error_1(&"samod repo stopped".into()),
        }
    }

    /// Dials the server (with samod's reconnect and backoff) unless it
    /// already does.
    pub fn resume(&self) {
        if self.dialer.borrow().is_none() && !self.stopped.get() {
            self.dial();
        }
    }

    /// Closes the connection and stops dialing; documents stay open and
    /// editable, and their changes wait in IndexedDB.
    pub fn pause(&self) {
        if let Some(dialer) = self.dialer.borrow_mut().take() {
            dialer.close();
        }
    }

    /// Called when the browser says the network is back: try now rather than
    /// at the end of the current backoff. Nothing while paused.
    pub fn redial_if_disconnected(&self) {
        if self.dialer.borrow().is_none() || self.is_connected() {
            return;
        }
        self.pause();
        self.dial();
    }

    pub fn is_connected(&self) -> bool {
        self.dialer
            .borrow()
            .as_ref()
            .is_some_and(|d| d.is_connected())
    }

    /// Opens a document from IndexedDB, or from the server if it has never
    /// been here. Until it is found, `on_unavailable` is called whenever
    /// nobody has it to give (offline on first use); the search goes on and
    /// ends when a connection brings the document.
    pub async fn open(&self, doc_id: &str, on_unavailable: impl Fn()) -> Result<DocHandle, String> {
        let id = doc_id.parse().map_err(|e| format!("{e}"))?;
        let (mut state, mut updates) = self
            .repo
            .search(id)
            .map_err(|_| "sync engine stopped".to_owned())?;
        loop {
            match state {
                SearchState::Found(handle) => return Ok(handle),
                SearchState::Requesting(ref request) if request.is_currently_unavailable() => {
                    on_unavailable()
                }
                SearchState::Requesting(_) | SearchState::Loading => {}
            }
            state = updates
                .next()
                .await
                .ok_or_else(|| "sync engine stopped".to_owned())?;
        }
    }

    /// Stops dialing and stops samod once its storage writes are done.
    pub fn stop(&self) -> impl Future<Output = ()> + 'static {
        self.stopped.set(true);
        self.pause();
        self.repo.stop()
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }
}

/// The account's IndexedDB database.
fn storage_name(account_id: &str) -> String {
    format!("partner-portal:{account_id}")
}

/// This device's samod peer id for the account: `<account_id>/<device>`,
/// the device being 16 random hex digits made once and kept.
fn device_peer_id(account_id: &str) -> PeerId {
    let key = format!("device:{account_id}");
    let device = match local_get(&key) {
        Some(device) if is_device_id(&device) => device,
        _ => {
            let device = random_device_id();
            local_set(&key, &device);
            device
        }
    };
    PeerId::from(format!("{account_id}/{device}"))
}

/// What the server accepts after the slash: 1 to 64 of `[A-Za-z0-9_-]`.
fn is_device_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn random_device_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom03::fill(&mut bytes).is_err() {
        // No CSPRNG: the id only has to differ from this account's other
        // devices, so the clock's milliseconds will do.
        bytes = (js_sys::Date::now() as u64).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The heads the server was last known to share with us, per document, kept
/// in localStorage so the count of changes waiting survives a reload offline.
#[derive(Serialize, Deserialize, Default)]
struct Synced(Vec<String>);

/// Per account too: each account's database has its own copy of a document.
fn synced_key(account_id: &str, doc_id: &str) -> String {
    format!("synced-heads:{account_id}:{doc_id}")
}

pub fn remember_synced(account_id: &str, doc_id: &str, heads: &[ChangeHash]) {
    let value = Synced(heads.iter().map(|h| h.to_string()).collect());
    if let Ok(json) = serde_json::to_string(&value) {
        local_set(&synced_key(account_id, doc_id), &json);
    }
}

/// How many local changes of the account's copy of the document the server
/// has not confirmed yet.
pub fn pending_changes(account_id: &str, handle: &DocHandle) -> usize {
    let doc_id = handle.document_id().to_string();
    let synced: Vec<ChangeHash> = local_get(&synced_key(account_id, &doc_id))
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

pub fn local_remove(key: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_what_the_server_accepts() {
        let made = random_device_id();
        assert_eq!(made.len(), 16);
        assert!(is_device_id(&made), "{made}");
        assert!(is_device_id("phone_2-B"));
        assert!(is_device_id(&"a".repeat(64)));
        assert!(!is_device_id(""));
        assert!(!is_device_id(&"a".repeat(65)));
        assert!(!is_device_id("a/b"));
        assert!(!is_device_id("tablette-é"));
    }

    #[test]
    fn abnormal_closes_make_the_app_check_the_session() {
        assert!(is_routine(1001) && is_routine(1012));
        assert!(!is_routine(1006), "a refused upgrade");
        assert!(
            !is_routine(1008),
            "a protocol error, e.g. a peer id of another account"
        );
    }
}
