//! The worker's side of `engine-protocol`: one engine, started for the
//! account the screens name, and the documents they follow.
//!
//! Each follow opens its document (from IndexedDB, or from the server if it
//! has never been here) and tells how it reads as it opens and after every
//! change, local or remote. Until the document is on the device it says
//! when nobody has it to give (offline on first use); samod goes on looking
//! and the document appears once a connection brings it. Changes sent while
//! it opens wait, and are written in order as it opens, even if the screens
//! stop following it meanwhile; each change is answered once (written,
//! refused, or first queued), also when the document cannot be opened or
//! the engine stops before it has. For a document this
//! device writes it also counts the changes the server has not confirmed:
//! it records the heads each peer says it shares with us (and tells the
//! screens, which keep them across reloads) and counts the changes past
//! them.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
    time::Duration,
};

use automerge::{Automerge, ChangeHash};
use engine_protocol::Edit;
use engine_protocol::{
    DocKind, DocNews, FollowId, FromEngine, PresenceState, Reading, ToEngine, decode, encode,
};
use futures::StreamExt;
use model::{
    AccountViewDoc, CatalogDoc, ChannelIndexDoc, Heads, InboxDoc, MessagesDoc, PipelineDoc,
    ReadsDoc, ReferralsDoc, TrainingDoc,
};
use samod::DocHandle;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::{
    clock, dialer,
    engine::{Engine, EngineEvent, pending_changes},
};

/// Sends a message to the screens.
type Post = Rc<dyn Fn(FromEngine)>;

/// How often the connection is looked at: samod replaces its dialer's
/// socket on every redial, so there is no one socket to follow.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Listens to the screens, when run in a dedicated worker.
pub fn run() {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        return;
    };
    let post: Post = {
        let scope = scope.clone();
        Rc::new(move |message| {
            let _ = scope.post_message(&JsValue::from_str(&encode(&message)));
        })
    };
    let worker = Rc::new(Worker {
        post: post.clone(),
        engine: RefCell::new(None),
        account: RefCell::new(None),
        device: RefCell::new(Rc::from("")),
        follows: RefCell::new(HashMap::new()),
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        match decode::<ToEngine>(&text) {
            Ok(message) => worker.handle(message),
            Err(why) => web_sys::console::warn_1(&format!("sync engine: {why}").into()),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(FromEngine::Ready);
}

struct Worker {
    post: Post,
    engine: RefCell<Option<Rc<Engine>>>,
    /// The account the engine started for: what it writes into a channel
    /// as (its actors name it, `model::actor_for`).
    account: RefCell<Option<Rc<str>>>,
    /// This device, as the peer id names it: presence says it.
    device: RefCell<Rc<str>>,
    follows: RefCell<HashMap<FollowId, Rc<Follow>>>,
}

/// One document followed for the screens.
struct Follow {
    id: FollowId,
    kind: DocKind,
    /// Whom the engine writes as.
    me: Option<Rc<str>>,
    post: Post,
    /// Until the engine stops, or the screens stop following it and no
    /// change of theirs waits for it to open.
    alive: Cell<bool>,
    /// Until the screens stop following it: its news goes to them.
    listening: Cell<bool>,
    state: RefCell<FollowState>,
}

#[derive(Default)]
struct FollowState {
    handle: Option<DocHandle>,
    /// Changes sent before the document was open, written as it opens.
    waiting: Vec<Edit>,
    /// Why it could not be opened: no change is taken then.
    failed: Option<String>,
    /// What the server was last known to share with us.
    synced: Vec<ChangeHash>,
}

impl Worker {
    fn engine(&self) -> Option<Rc<Engine>> {
        self.engine.borrow().clone()
    }

    fn handle(self: &Rc<Self>, message: ToEngine) {
        match message {
            ToEngine::Start {
                account_id,
                peer_id,
            } => self.start(account_id, peer_id),
            ToEngine::Resume | ToEngine::Pause | ToEngine::Redial => {
                let Some(engine) = self.engine() else { return };
                match message {
                    ToEngine::Resume => engine.resume(),
                    ToEngine::Pause => engine.pause(),
                    _ => engine.redial_if_disconnected(),
                }
            }
            ToEngine::Visible { visible } => dialer::set_visible(visible),
            ToEngine::Follow {
                follow,
                doc_id,
                kind,
                synced,
            } => self.follow(follow, doc_id, kind, synced),
            ToEngine::Unfollow { follow } => {
                if let Some(followed) = self.follows.borrow_mut().remove(&follow) {
                    followed.listening.set(false);
                    // Changes waiting for it to open are still written.
                    let state = followed.state.borrow();
                    if state.handle.is_some() || state.waiting.is_empty() {
                        followed.alive.set(false);
                    }
                }
            }
            ToEngine::Edit { follow, edit } => self.edit(follow, edit),
            ToEngine::Presence { follow, state } => self.presence(follow, state),
            ToEngine::Stop => self.stop(),
        }
    }

    fn start(self: &Rc<Self>, account_id: String, peer_id: String) {
        if self.engine.borrow().is_some() {
            (self.post)(FromEngine::StartFailed {
                why: "this worker's engine has started already".into(),
            });
            return;
        }
        *self.account.borrow_mut() = Some(Rc::from(account_id.as_str()));
        if let Ok(device) = engine_protocol::device_of(&account_id, &peer_id) {
            *self.device.borrow_mut() = Rc::from(device);
        }
        let this = self.clone();
        spawn_local(async move {
            let on_event: Rc<dyn Fn(EngineEvent)> = {
                let post = this.post.clone();
                Rc::new(move |event| {
                    post(match event {
                        EngineEvent::SessionEnded => FromEngine::SessionEnded,
                        EngineEvent::Refused => FromEngine::Refused,
                    })
                })
            };
            match Engine::start(&account_id, &peer_id, on_event).await {
                Ok(engine) => {
                    *this.engine.borrow_mut() = Some(engine.clone());
                    (this.post)(FromEngine::Started);
                    watch_connection(engine, this.post.clone());
                }
                Err(why) => (this.post)(FromEngine::StartFailed { why }),
            }
        });
    }

    fn follow(&self, id: FollowId, doc_id: String, kind: DocKind, synced: Option<Heads>) {
        let followed = Rc::new(Follow {
            id,
            kind,
            me: self.account.borrow().clone(),
            post: self.post.clone(),
            alive: Cell::new(true),
            listening: Cell::new(true),
            state: RefCell::new(FollowState {
                synced: synced.and_then(|h| h.hashes()).unwrap_or_default(),
                ..FollowState::default()
            }),
        });
        let Some(engine) = self.engine() else {
            followed.news(DocNews::Failed {
                why: "the sync engine has not started".into(),
            });
            return;
        };
        if let Some(old) = self.follows.borrow_mut().insert(id, followed.clone()) {
            old.listening.set(false);
            old.alive.set(false);
        }
        spawn_local(async move {
            let missing = {
                let followed = followed.clone();
                move || followed.news(DocNews::Missing)
            };
            match engine.open(&doc_id, missing).await {
                Ok(handle) if followed.alive.get() => {
                    followed.news(DocNews::Opened);
                    followed.opened(handle.clone());
                    if followed.listening.get() {
                        followed.follow_changes(handle);
                    } else {
                        // Opened only to write what waited.
                        followed.alive.set(false);
                    }
                }
                Ok(_) => {}
                Err(why) if followed.alive.get() && !engine.is_stopped() => {
                    followed.state.borrow_mut().failed = Some(why.clone());
                    followed.refuse_waiting(&format!("not saved: {why}"));
                    followed.news(DocNews::Failed { why })
                }
                Err(_) => {}
            }
        });
    }

    fn edit(&self, id: FollowId, edit: Edit) {
        let followed = self.follows.borrow().get(&id).cloned();
        let Some(followed) = followed else {
            (self.post)(FromEngine::Doc {
                follow: id,
                news: DocNews::Refused {
                    why: "not saved: that document is not open".into(),
                },
            });
            return;
        };
        if !followed.kind.written_here() {
            followed.news(DocNews::Refused {
                why: "not saved: only the server writes that document".into(),
            });
            return;
        }
        let (handle, failed) = {
            let state = followed.state.borrow();
            (state.handle.clone(), state.failed.clone())
        };
        let news = match (handle, failed) {
            (Some(handle), _) => match handle
                .with_document(|doc| apply(&edit, followed.kind, doc, followed.me.as_deref()))
            {
                Ok(()) => DocNews::Written,
                Err(e) => DocNews::Refused { why: e.to_string() },
            },
            (None, Some(why)) => DocNews::Refused {
                why: format!("not saved: {why}"),
            },
            (None, None) => {
                followed.state.borrow_mut().waiting.push(edit);
                DocNews::Queued
            }
        };
        followed.news(news);
    }

    /// Says where this device is to the others holding the channel.
    fn presence(&self, id: FollowId, state: PresenceState) {
        let followed = self.follows.borrow().get(&id).cloned();
        let (Some(followed), Some(user)) = (followed, self.account.borrow().clone()) else {
            return;
        };
        let handle = followed.state.borrow().handle.clone();
        if let (DocKind::Channel, Some(handle)) = (followed.kind, handle) {
            let message = sync::presence::Presence {
                user: user.to_string(),
                device: self.device.borrow().to_string(),
                state: state.as_str().to_owned(),
            };
            handle.broadcast(message.encode());
        }
    }

    fn stop(self: &Rc<Self>) {
        for (_, followed) in self.follows.borrow_mut().drain() {
            followed.refuse_waiting("not saved: the sync engine stopped before it opened");
            followed.alive.set(false);
        }
        let engine = self.engine.borrow_mut().take();
        let post = self.post.clone();
        spawn_local(async move {
            if let Some(engine) = engine {
                engine.stop().await;
            }
            post(FromEngine::Stopped);
        });
    }
}

/// Tells the screens whenever the engine's connection opens or closes.
fn watch_connection(engine: Rc<Engine>, post: Post) {
    spawn_local(async move {
        let mut told = None;
        while !engine.is_stopped() {
            let connected = engine.is_connected();
            if told != Some(connected) {
                told = Some(connected);
                post(FromEngine::Connected { connected });
            }
            gloo_timers::future::sleep(LOOK_EVERY).await;
        }
    });
}

/// Writes `edit` into `doc`, a document of `kind`, as `me`: an edit for
/// another kind of document is refused, not tried.
fn apply(
    edit: &Edit,
    kind: DocKind,
    doc: &mut Automerge,
    me: Option<&str>,
) -> Result<(), model::ModelError> {
    match (edit, kind) {
        (Edit::Pipeline(edit), DocKind::Pipeline) => edit.apply(doc, clock::now()),
        (Edit::Training(edit), DocKind::Training) => edit.apply(doc),
        (Edit::Reads(edit), DocKind::Reads) => edit.apply(doc),
        (Edit::Referrals(edit), DocKind::Referrals) => edit.apply(doc),
        (Edit::Chat(edit), DocKind::Messages) => {
            let me = me.ok_or_else(|| model::ModelError::Invalid {
                what: "change",
                why: "is made before the engine knows whose it is".into(),
            })?;
            // A channel is written by an actor named for the account (the
            // server refuses any other); a fresh one each opening, as
            // Automerge's own are.
            if model::author_of(doc.get_actor()) != Some(me) {
                doc.set_actor(model::actor_for(me, uuid::Uuid::new_v4().into_bytes()));
            }
            edit.apply(doc)
        }
        _ => Err(model::ModelError::Invalid {
            what: "change",
            why: format!("is for a {:?} document, not this {kind:?}", edit.kind()),
        }),
    }
}

/// How a document of `kind` reads; for messages, those `me` wrote past
/// what the server is known to share (`synced`) read as unsent.
fn read(
    kind: DocKind,
    doc: &Automerge,
    me: Option<&str>,
    synced: &[ChangeHash],
) -> Result<Box<Reading>, String> {
    let reading = match kind {
        DocKind::Pipeline => PipelineDoc::read(doc).map(Reading::Pipeline),
        DocKind::AccountView => {
            AccountViewDoc::read(doc).map(|v| Reading::AccountView(Box::new(v)))
        }
        DocKind::Inbox => InboxDoc::read(doc).map(Reading::Inbox),
        DocKind::Training => TrainingDoc::read(doc).map(Reading::Training),
        DocKind::Catalog => CatalogDoc::read(doc).map(Reading::Catalog),
        DocKind::Channel => ChannelIndexDoc::read(doc).map(Reading::Channel),
        DocKind::Messages => MessagesDoc::read(doc, me, Some(synced)).map(Reading::Messages),
        DocKind::Reads => ReadsDoc::read(doc).map(Reading::Reads),
        DocKind::Referrals => ReferralsDoc::read(doc).map(Reading::Referrals),
        DocKind::Team => model::json_doc::read(doc, model::TEAM_KIND).map(|view| Reading::Team {
            computed_at: view.computed_at,
            body: view.body,
        }),
        DocKind::Standings => {
            model::json_doc::read(doc, model::STANDINGS_KIND).map(|view| Reading::Standings {
                computed_at: view.computed_at,
                body: view.body,
            })
        }
    };
    reading.map(Box::new).map_err(|e| e.to_string())
}

impl Follow {
    fn news(&self, news: DocNews) {
        if self.listening.get() {
            (self.post)(FromEngine::Doc {
                follow: self.id,
                news,
            });
        }
    }

    /// Answers every change still waiting for the document: refused.
    fn refuse_waiting(&self, why: &str) {
        let waiting = std::mem::take(&mut self.state.borrow_mut().waiting);
        for _ in waiting {
            self.news(DocNews::Refused {
                why: why.to_owned(),
            });
        }
    }

    /// The document is open: what waited is written, if the document reads
    /// (a document of a newer layout than this app's is not written into).
    fn opened(&self, handle: DocHandle) {
        let waiting = {
            let mut state = self.state.borrow_mut();
            state.handle = Some(handle.clone());
            std::mem::take(&mut state.waiting)
        };
        if waiting.is_empty() {
            return;
        }
        if handle.with_document(|doc| read(self.kind, doc, None, &[]).is_err()) {
            // One answer per change, as for every change.
            let why = format!(
                "{} change(s) made while it opened were not saved: this app cannot read it",
                waiting.len()
            );
            for _ in waiting {
                self.news(DocNews::Refused { why: why.clone() });
            }
            return;
        }
        for edit in waiting {
            let news = match handle
                .with_document(|doc| apply(&edit, self.kind, doc, self.me.as_deref()))
            {
                Ok(()) => DocNews::Written,
                Err(e) => DocNews::Refused {
                    why: format!("a change made while it opened was refused: {e}"),
                },
            };
            self.news(news);
        }
    }

    fn pending(&self, handle: &DocHandle) -> usize {
        pending_changes(handle, &self.state.borrow().synced)
    }

    /// Tells how the open document reads, now and after every change, and
    /// for one written here, what the server has confirmed.
    fn follow_changes(self: &Rc<Self>, handle: DocHandle) {
        let counted = self.kind.written_here();
        let publish: Rc<dyn Fn()> = {
            let (this, handle) = (self.clone(), handle.clone());
            Rc::new(move || {
                let synced = this.state.borrow().synced.clone();
                let reading =
                    handle.with_document(|doc| read(this.kind, doc, this.me.as_deref(), &synced));
                let pending = match &reading {
                    Ok(_) if counted => this.pending(&handle),
                    _ => 0,
                };
                this.news(DocNews::Read { reading, pending });
            })
        };
        publish();
        {
            let (this, publish) = (self.clone(), publish.clone());
            let mut changes = handle.changes();
            spawn_local(async move {
                while changes.next().await.is_some() && this.alive.get() {
                    publish();
                }
            });
        }
        if self.kind == DocKind::Channel {
            let this = self.clone();
            let mut ephemera = handle.ephemera();
            spawn_local(async move {
                while let Some(bytes) = ephemera.next().await {
                    if !this.alive.get() {
                        break;
                    }
                    let Ok(p) = sync::presence::Presence::decode(&bytes) else {
                        continue;
                    };
                    if let Some(state) = PresenceState::parse(&p.state) {
                        this.news(DocNews::Presence {
                            user: p.user,
                            device: p.device,
                            state,
                        });
                    }
                }
            });
        }
        if !counted {
            return;
        }
        // The current state counts too: the first sync may be over before
        // we subscribe, and then no update would ever come.
        let (current, mut updates) = handle.peers();
        let record = {
            let this = self.clone();
            move |states: &HashMap<_, samod::PeerDocState>| {
                for state in states.values() {
                    // A peer just connected shares nothing yet: that says
                    // nothing of what the server already has (it never
                    // loses a change), and counting from nothing would
                    // show every change as waiting until the sync is done.
                    if let Some(shared) = &state.shared_heads
                        && !shared.is_empty()
                    {
                        let changed = {
                            let mut s = this.state.borrow_mut();
                            let changed = s.synced != *shared;
                            s.synced = shared.clone();
                            changed
                        };
                        if changed {
                            this.news(DocNews::Synced {
                                heads: Heads(shared.iter().map(|h| h.to_string()).collect()),
                            });
                            // Messages read "sent" once the server has them.
                            if this.kind == DocKind::Messages {
                                publish();
                            }
                        }
                    }
                }
                this.news(DocNews::Pending {
                    pending: this.pending(&handle),
                });
            }
        };
        record(&current);
        let this = self.clone();
        spawn_local(async move {
            while let Some(states) = updates.next().await {
                if !this.alive.get() {
                    break;
                }
                record(&states);
            }
        });
    }
}
