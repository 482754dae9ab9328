//! The sync engine as the screens see it: a dedicated worker running the
//! `web-engine` module, spoken to in `engine-protocol`'s messages.
//!
//! One engine (one worker) per signed-in account; the worker keeps the
//! account's documents in a database of their own, so two partners sharing
//! a device never see each other's. What only a page has stays here: the
//! device id (kept per account in localStorage, so the samod peer id
//! `<account_id>/<device>` is stable across reloads), the page's address
//! (the worker dials `/sync` on it), whether the page is shown, and the
//! heads the server last shared for each document (so the count of changes
//! waiting survives a reload offline). While the session is over the
//! engine keeps its documents and edits and does not dial (`pause`);
//! `resume` dials again.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
    time::Duration,
};

use engine_protocol::{DocKind, DocNews, Edit, FollowId, FromEngine, ToEngine, decode, encode};
use futures::{Future, channel::oneshot};
use model::Heads;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_common::listener::WindowListener;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// What the engine tells the app about its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// The server closed the socket because the session ended.
    SessionEnded,
    /// A socket was refused or closed abnormally: maybe the network, maybe
    /// the session (a refused upgrade looks like a network error to a
    /// page), so the app asks `/api/me`.
    Refused,
    /// The worker failed after it had started: nothing syncs or is written
    /// until the app is opened again.
    Crashed,
}

/// A worker that says nothing for this long after it was asked to stop is
/// ended anyway (its writes are IndexedDB's by then, or lost with a crash).
const STOP_PATIENCE: Duration = Duration::from_secs(10);

type Answer = oneshot::Sender<Result<(), String>>;

/// What the worker's messages reach: shared by the engine and the handler.
struct Inbox {
    account_id: String,
    connected: Cell<bool>,
    /// The answer awaited: the worker ready, then started, then stopped.
    awaited: RefCell<Option<Answer>>,
    followers: RefCell<HashMap<FollowId, Follower>>,
    on_event: Rc<dyn Fn(EngineEvent)>,
}

struct Follower {
    doc_id: String,
    on: Rc<dyn Fn(DocNews)>,
}

pub struct Engine {
    inbox: Rc<Inbox>,
    worker: Worker,
    next_follow: Cell<FollowId>,
    stopped: Cell<bool>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
    _visibility: Option<WindowListener>,
}

/// The engine as component state: equal when it is the same engine.
#[derive(Clone)]
pub struct EngineRef(pub Rc<Engine>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Inbox {
    fn answer(&self, answer: Result<(), String>) {
        if let Some(awaited) = self.awaited.borrow_mut().take() {
            let _ = awaited.send(answer);
        }
    }

    fn heard(&self, message: FromEngine) {
        match message {
            FromEngine::Ready | FromEngine::Started | FromEngine::Stopped => self.answer(Ok(())),
            FromEngine::StartFailed { why } => self.answer(Err(why)),
            FromEngine::Connected { connected } => self.connected.set(connected),
            FromEngine::SessionEnded => (self.on_event)(EngineEvent::SessionEnded),
            FromEngine::Refused => (self.on_event)(EngineEvent::Refused),
            FromEngine::Doc { follow, news } => {
                let follower = self
                    .followers
                    .borrow()
                    .get(&follow)
                    .map(|f| (f.doc_id.clone(), f.on.clone()));
                let Some((doc_id, on)) = follower else {
                    return;
                };
                match news {
                    DocNews::Synced { heads } => remember_synced(&self.account_id, &doc_id, &heads),
                    news => on(news),
                }
            }
        }
    }
}

impl Engine {
    /// Starts the worker and, in it, the engine over the account's
    /// documents. The engine does not dial until `resume`.
    pub async fn start(
        account_id: &str,
        on_event: Rc<dyn Fn(EngineEvent)>,
    ) -> Result<Rc<Engine>, String> {
        let window = web_sys::window().ok_or("no window")?;
        let script = window
            .document()
            .and_then(|d| d.document_element())
            .and_then(|html| html.get_attribute("data-engine"))
            .ok_or("the page does not name the sync engine's script")?;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(&script, &options)
            .map_err(|_| "the sync engine cannot be started".to_owned())?;
        let inbox = Rc::new(Inbox {
            account_id: account_id.to_owned(),
            connected: Cell::new(false),
            awaited: RefCell::new(None),
            followers: RefCell::new(HashMap::new()),
            on_event,
        });
        let on_message = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match decode::<FromEngine>(&text) {
                    Ok(message) => inbox.heard(message),
                    Err(why) => web_sys::console::warn_1(&format!("sync engine: {why}").into()),
                }
            })
        };
        // A script that does not load (offline on a first visit before the
        // service worker has it; a module that fails to compile says so in
        // a message, web/static/engine.js), or, once started, a worker that
        // failed: it is taken for dead.
        let on_error = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                if inbox.awaited.borrow().is_some() {
                    inbox.answer(Err("the sync engine did not load".into()))
                } else {
                    inbox.connected.set(false);
                    (inbox.on_event)(EngineEvent::Crashed)
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut engine = Engine {
            inbox,
            worker,
            next_follow: Cell::new(1),
            stopped: Cell::new(false),
            _on_message: on_message,
            _on_error: on_error,
            _visibility: None,
        };
        engine.ask(None).await?;
        // Once it listens: whether the page is shown, now and on change.
        engine._visibility = {
            let worker = engine.worker.clone();
            let tell = move || {
                let visible = web_sys::window()
                    .and_then(|w| w.document())
                    .is_none_or(|d| !d.hidden());
                post(&worker, &ToEngine::Visible { visible });
            };
            tell();
            // Fired at the document; it bubbles up to the window.
            WindowListener::new("visibilitychange", tell)
        };
        engine
            .ask(Some(ToEngine::Start {
                account_id: account_id.to_owned(),
                peer_id: device_peer_id(account_id),
            }))
            .await?;
        Ok(Rc::new(engine))
    }

    /// Sends `message` (if any) and waits for the worker's answer.
    async fn ask(&self, message: Option<ToEngine>) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        *self.inbox.awaited.borrow_mut() = Some(tx);
        if let Some(message) = message {
            self.send(&message);
        }
        rx.await
            .unwrap_or_else(|_| Err("the sync engine went away".into()))
    }

    fn send(&self, message: &ToEngine) {
        post(&self.worker, message);
    }

    pub fn account_id(&self) -> &str {
        &self.inbox.account_id
    }

    /// Dials the server (with reconnect and backoff) unless it already does.
    pub fn resume(&self) {
        if !self.stopped.get() {
            self.send(&ToEngine::Resume);
        }
    }

    /// Closes the connection and stops dialing; documents stay open and
    /// editable, and their changes wait in IndexedDB.
    pub fn pause(&self) {
        self.send(&ToEngine::Pause);
    }

    /// Called when the browser says the network is back: try now rather than
    /// at the end of the current backoff. Nothing while paused.
    pub fn redial_if_disconnected(&self) {
        self.send(&ToEngine::Redial);
    }

    /// Whether a socket to the server is open, as the worker last said.
    pub fn is_connected(&self) -> bool {
        self.inbox.connected.get()
    }

    /// Follows `doc_id`: `on` hears its news (see [`DocNews`]) until
    /// [`Self::unfollow`].
    pub fn follow(&self, doc_id: &str, kind: DocKind, on: Rc<dyn Fn(DocNews)>) -> FollowId {
        let follow = self.next_follow.get();
        self.next_follow.set(follow.wrapping_add(1));
        self.inbox.followers.borrow_mut().insert(
            follow,
            Follower {
                doc_id: doc_id.to_owned(),
                on,
            },
        );
        let synced = kind
            .written_here()
            .then(|| synced_heads(&self.inbox.account_id, doc_id));
        self.send(&ToEngine::Follow {
            follow,
            doc_id: doc_id.to_owned(),
            kind,
            synced,
        });
        follow
    }

    pub fn unfollow(&self, follow: FollowId) {
        self.inbox.followers.borrow_mut().remove(&follow);
        self.send(&ToEngine::Unfollow { follow });
    }

    /// Writes `edit` into the followed document; the answer comes as its
    /// news ([`DocNews::Written`], `Queued` or `Refused`).
    pub fn edit(&self, follow: FollowId, edit: Edit) {
        self.send(&ToEngine::Edit { follow, edit });
    }

    /// Tells the others in the followed channel where this device is.
    pub fn presence(&self, follow: FollowId, state: engine_protocol::PresenceState) {
        self.send(&ToEngine::Presence { follow, state });
    }

    /// Stops the engine once its storage writes are done, then the worker.
    pub fn stop(self: &Rc<Self>) -> impl Future<Output = ()> + 'static {
        self.stopped.set(true);
        let this = self.clone();
        async move {
            let stopped = Box::pin(this.ask(Some(ToEngine::Stop)));
            let patience = Box::pin(gloo_timers::future::sleep(STOP_PATIENCE));
            let _ = futures::future::select(stopped, patience).await;
            this.worker.terminate();
        }
    }
}

/// An engine dropped (stopped, or never started) takes its worker with it.
impl Drop for Engine {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

fn post(worker: &Worker, message: &ToEngine) {
    let _ = worker.post_message(&JsValue::from_str(&encode(message)));
}

/// This device's samod peer id for the account: `<account_id>/<device>`,
/// the device being 16 random hex digits made once and kept.
fn device_peer_id(account_id: &str) -> String {
    let key = format!("device:{account_id}");
    let device = match local_get(&key) {
        Some(device) if engine_protocol::is_peer_id_part(&device) => device,
        _ => {
            let device = random_device_id();
            local_set(&key, &device);
            device
        }
    };
    format!("{account_id}/{device}")
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

/// Per account too: each account's database has its own copy of a document.
fn synced_key(account_id: &str, doc_id: &str) -> String {
    format!("synced-heads:{account_id}:{doc_id}")
}

/// The heads the server was last known to share with us for the document.
fn remember_synced(account_id: &str, doc_id: &str, heads: &Heads) {
    if let Ok(json) = serde_json::to_string(heads) {
        local_set(&synced_key(account_id, doc_id), &json);
    }
}

fn synced_heads(account_id: &str, doc_id: &str) -> Heads {
    local_get(&synced_key(account_id, doc_id))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
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
        assert!(engine_protocol::is_peer_id_part(&made), "{made}");
        assert!(!engine_protocol::is_peer_id_part(""));
        assert!(!engine_protocol::is_peer_id_part("a/b"));
    }
}
