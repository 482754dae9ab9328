//! Opening a document and following its changes, in one hook for every
//! screen that shows a document (the pipeline, the account view, and each
//! module's to come).
//!
//! [`use_document`] opens the document named on the engine given and, until
//! either changes or the component goes, reads it as it opens and after
//! every change, local or remote. Until the document is on the device it
//! says when nobody has it to give (offline on first use); samod goes on
//! looking and the document appears once a connection brings it. For a
//! document this device writes it also keeps the count of its changes the
//! server has not confirmed (the sync badge shows it): it records the heads
//! each peer says it shares with us and counts the changes past them.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
};

use automerge::Automerge;
use futures::StreamExt;
use model::ModelError;
use samod::DocHandle;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::engine::{self, EngineRef};

/// A change to write into a document, in one transaction.
pub type Edit = Box<dyn FnOnce(&mut Automerge) -> Result<(), ModelError>>;

/// Whether following a document counts its changes the server has not
/// confirmed: yes for a document this device writes, no for one only the
/// server writes (the account view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unconfirmed {
    Counted,
    Ignored,
}

/// What following a document tells its screen.
pub enum DocEvent<T> {
    /// How the document reads now (as it opened, or after a change), and
    /// how many of its changes the server has not confirmed (0 when they
    /// are not counted).
    Read {
        value: Result<T, ModelError>,
        pending: usize,
    },
    /// The server confirmed changes: how many are left.
    Pending(usize),
    /// Nobody has it to give yet; the search goes on.
    Missing,
    /// It cannot be opened (a malformed id, say).
    Failed(String),
}

/// A [`DocEvent`] and the document it is about: a late one may speak of a
/// document no longer shown.
pub struct Followed<T> {
    pub doc_id: String,
    pub event: DocEvent<T>,
}

/// The document a [`use_document`] has open, to write changes into.
#[derive(Clone, Default)]
pub struct Doc(Rc<RefCell<DocState>>);

#[derive(Default)]
struct DocState {
    /// The document followed (open or opening).
    doc_id: Option<String>,
    handle: Option<DocHandle>,
    /// Changes made before the document was open (a screen may show the
    /// document's last reading while it opens: `view_cache`), written in
    /// order as it opens.
    waiting: Vec<Edit>,
    /// Why the document could not be opened: no change is taken then.
    failed: Option<String>,
}

/// Where a change went.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Into the document.
    Now,
    /// Into the queue of the document opening; written as it opens.
    WhenOpen,
}

impl Doc {
    /// Writes `edit` into the document, or, while it is opening, as soon as
    /// it is open (a refusal then is told as [`DocEvent::Failed`]). Refused
    /// with why when the document could not be opened.
    pub fn change(&self, edit: Edit) -> Result<Written, String> {
        let (handle, failed) = {
            let state = self.0.borrow();
            (state.handle.clone(), state.failed.clone())
        };
        match (handle, failed) {
            (Some(handle), _) => handle
                .with_document(edit)
                .map(|()| Written::Now)
                .map_err(|e| e.to_string()),
            (None, Some(why)) => Err(format!("not saved: {why}")),
            (None, None) => {
                self.0.borrow_mut().waiting.push(edit);
                Ok(Written::WhenOpen)
            }
        }
    }

    /// The document is open: what waited is written, if the document reads
    /// (`reads`: a document of a newer layout than this app's is not written
    /// into). Returns why each change that waited was not written.
    fn opened(&self, handle: DocHandle, reads: impl Fn(&Automerge) -> bool) -> Vec<String> {
        let waiting = {
            let mut state = self.0.borrow_mut();
            state.handle = Some(handle.clone());
            std::mem::take(&mut state.waiting)
        };
        if waiting.is_empty() {
            return Vec::new();
        }
        if !handle.with_document(|doc| reads(doc)) {
            return vec![format!(
                "{} change(s) made while it opened were not saved: this app cannot read it",
                waiting.len()
            )];
        }
        waiting
            .into_iter()
            .filter_map(|edit| handle.with_document(edit).err())
            .map(|e| format!("a change made while it opened was refused: {e}"))
            .collect()
    }

    fn failed(&self, why: &str) {
        let mut state = self.0.borrow_mut();
        state.failed = Some(why.to_owned());
        state.waiting.clear();
    }

    /// The document is to be opened (again: the engine came, or changed).
    /// What waited for it still waits; what waited for another document
    /// is dropped with it (made on a screen that no longer shows it).
    fn reopen(&self, doc_id: Option<&str>) {
        let mut state = self.0.borrow_mut();
        state.handle = None;
        state.failed = None;
        if state.doc_id.as_deref() != doc_id {
            state.doc_id = doc_id.map(str::to_owned);
            state.waiting.clear();
        }
    }
}

/// Opens `doc_id` on `engine` and follows it (see the module's doc): `on`
/// hears every [`Followed`], `read` says how the document reads. Both are
/// taken when the engine or the document changes.
#[hook]
pub fn use_document<T>(
    engine: Option<EngineRef>,
    doc_id: Option<String>,
    read: fn(&Automerge) -> Result<T, ModelError>,
    unconfirmed: Unconfirmed,
    on: Callback<Followed<T>>,
) -> Doc
where
    T: 'static,
{
    let doc = (*use_state(Doc::default)).clone();
    {
        let doc = doc.clone();
        use_effect_with((engine, doc_id), move |(engine, doc_id)| {
            doc.reopen(doc_id.as_deref());
            let alive = Rc::new(Cell::new(true));
            if let (Some(EngineRef(engine)), Some(doc_id)) = (engine.clone(), doc_id.clone()) {
                let alive = alive.clone();
                spawn_local(async move {
                    let missing = {
                        let (on, doc_id) = (on.clone(), doc_id.clone());
                        move || {
                            on.emit(Followed {
                                doc_id: doc_id.clone(),
                                event: DocEvent::Missing,
                            })
                        }
                    };
                    match engine.open(&doc_id, missing).await {
                        Ok(handle) if alive.get() => {
                            for refused in doc.opened(handle.clone(), |d| read(d).is_ok()) {
                                on.emit(Followed {
                                    doc_id: doc_id.clone(),
                                    event: DocEvent::Failed(refused),
                                });
                            }
                            // "open model::pipeline::Pipeline": loaded from
                            // IndexedDB (or the server), not read yet.
                            crate::clock::mark(&format!("open {}", std::any::type_name::<T>()));
                            let account_id = engine.account_id().into();
                            follow(account_id, handle, read, unconfirmed, on, alive);
                        }
                        Ok(_) => {}
                        Err(e) if alive.get() && !engine.is_stopped() => {
                            doc.failed(&e);
                            on.emit(Followed {
                                doc_id,
                                event: DocEvent::Failed(e),
                            })
                        }
                        Err(_) => {}
                    }
                });
            }
            move || alive.set(false)
        });
    }
    doc
}

/// Follows one open document while `alive`.
fn follow<T: 'static>(
    account_id: Rc<str>,
    handle: DocHandle,
    read: fn(&Automerge) -> Result<T, ModelError>,
    unconfirmed: Unconfirmed,
    on: Callback<Followed<T>>,
    alive: Rc<Cell<bool>>,
) {
    let doc_id = handle.document_id().to_string();
    let counted = unconfirmed == Unconfirmed::Counted;
    let publish = {
        let (handle, on, doc_id, account_id) = (
            handle.clone(),
            on.clone(),
            doc_id.clone(),
            account_id.clone(),
        );
        move || {
            let value = handle.with_document(|doc| read(doc));
            let pending = match &value {
                Ok(_) if counted => engine::pending_changes(&account_id, &handle),
                _ => 0,
            };
            on.emit(Followed {
                doc_id: doc_id.clone(),
                event: DocEvent::Read { value, pending },
            })
        }
    };
    publish();
    crate::clock::mark(&format!("read {}", std::any::type_name::<T>()));
    {
        let alive = alive.clone();
        let mut changes = handle.changes();
        spawn_local(async move {
            while changes.next().await.is_some() && alive.get() {
                publish();
            }
        });
    }
    if !counted {
        return;
    }
    // The current state counts too: the first sync may be over before we
    // subscribe, and then no update would ever come.
    let (current, mut updates) = handle.peers();
    let record = move |states: &HashMap<_, samod::PeerDocState>| {
        for state in states.values() {
            if let Some(shared) = &state.shared_heads {
                engine::remember_synced(&account_id, &doc_id, shared);
            }
        }
        on.emit(Followed {
            doc_id: doc_id.clone(),
            event: DocEvent::Pending(engine::pending_changes(&account_id, &handle)),
        });
    };
    record(&current);
    spawn_local(async move {
        while let Some(states) = updates.next().await {
            if !alive.get() {
                break;
            }
            record(&states);
        }
    });
}
