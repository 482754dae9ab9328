//! The sync engine: a samod repo on the worker's event loop, stored in
//! IndexedDB, dialing the server's `/sync` with reconnect and backoff.
//!
//! One engine per signed-in account, and one IndexedDB database per account:
//! two partners sharing a device never see each other's documents, and what
//! one of them has not synced yet waits in their own database until they
//! sign in again. The samod peer id, `<account_id>/<device>` (the form the
//! server asks for), comes from the screens, which keep the device id. While
//! the session is over the engine keeps its documents and edits and does
//! not dial (`pause`); `resume` dials again.

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
use wasm_bindgen::JsCast;

use crate::{
    dialer::{BrowserDialer, SocketClosed, WsError},
    idb_store::IdbStorage,
};

/// samod's runtime on the browser's (here, the worker's) event loop: tasks
/// are local futures.
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
    repo: Repo,
    url: url::Url,
    on_event: Rc<dyn Fn(EngineEvent)>,
    /// `None` while paused.
    dialer: RefCell<Option<DialerHandle<WsError>>>,
    stopped: Cell<bool>,
}

impl Engine {
    /// Loads the account's documents from IndexedDB. The engine does not
    /// dial until `resume`.
    /// `peer_id` must be `<account_id>/<device>` (both come from the
    /// screens, and are checked; the server holds the account to the
    /// session either way). The engine syncs with `/sync` on the origin its
    /// worker was loaded from.
    pub async fn start(
        account_id: &str,
        peer_id: &str,
        on_event: Rc<dyn Fn(EngineEvent)>,
    ) -> Result<Rc<Engine>, String> {
        let device = engine_protocol::device_of(account_id, peer_id)?;
        let location = js_sys::global()
            .dyn_into::<web_sys::WorkerGlobalScope>()
            .map_err(|_| "the sync engine runs in a worker only")?
            .location();
        let scheme = if location.protocol() == "https:" {
            "wss"
        } else {
            "ws"
        };
        let url = url::Url::parse(&format!("{scheme}://{}/sync", location.host()))
            .map_err(|e| format!("sync address: {e}"))?;
        let storage = IdbStorage::open_named(&storage_name(account_id)).await?;
        let repo = RepoBuilder::new(BrowserRuntime)
            .with_storage(storage)
            .with_peer_id(PeerId::from(format!("{account_id}/{device}")))
            .load_local()
            .await;
        Ok(Rc::new(Engine {
            repo,
            url,
            on_event,
            dialer: RefCell::new(None),
            stopped: Cell::new(false),
        }))
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

/// How many local changes of the document the server has not confirmed
/// yet, the server having last been known to share `synced` with us.
pub fn pending_changes(handle: &DocHandle, synced: &[ChangeHash]) -> usize {
    handle.with_document(|doc| {
        let known: Vec<ChangeHash> = synced
            .iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        doc.get_changes(&known).len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
