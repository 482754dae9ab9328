//! Following a document, in one hook for every screen that shows one (the
//! pipeline, the account view, and each module's to come).
//!
//! [`use_document`] asks the engine (in its worker) to open the document
//! named and, until either changes or the component goes, hears how it
//! reads as it opens and after every change, local or remote. Until the
//! document is on the device it says when nobody has it to give (offline
//! on first use); the engine goes on looking and the document appears once
//! a connection brings it. For a document this device writes it also hears
//! the count of its changes the server has not confirmed (the sync badge
//! shows it).
//!
//! Changes are data ([`Edit`]: a pipeline's, a training record's): made before the engine has started
//! (a screen may show the document's last reading meanwhile: `view_cache`)
//! they wait here, and are sent, in order, once it follows the document.

use std::{cell::RefCell, rc::Rc};

use engine_protocol::{DocKind, DocNews, Edit, FollowId, Reading};
use model::{AccountView, Inbox, Pipeline, Referrals, Training};
use yew::prelude::*;

use crate::engine::{Engine, EngineRef};

/// A document's reading, as one of the screens' types.
pub trait Document: Sized + 'static {
    const KIND: DocKind;
    fn from_reading(reading: Reading) -> Option<Self>;
}

impl Document for Pipeline {
    const KIND: DocKind = DocKind::Pipeline;
    fn from_reading(reading: Reading) -> Option<Self> {
        match reading {
            Reading::Pipeline(pipeline) => Some(pipeline),
            _ => None,
        }
    }
}

impl Document for AccountView {
    const KIND: DocKind = DocKind::AccountView;
    fn from_reading(reading: Reading) -> Option<Self> {
        match reading {
            Reading::AccountView(view) => Some(*view),
            _ => None,
        }
    }
}

impl Document for Referrals {
    const KIND: DocKind = DocKind::Referrals;
    fn from_reading(reading: Reading) -> Option<Self> {
        match reading {
            Reading::Referrals(links) => Some(links),
            _ => None,
        }
    }
}

impl Document for Training {
    const KIND: DocKind = DocKind::Training;
    fn from_reading(reading: Reading) -> Option<Self> {
        match reading {
            Reading::Training(record) => Some(record),
            _ => None,
        }
    }
}

impl Document for Inbox {
    const KIND: DocKind = DocKind::Inbox;
    fn from_reading(reading: Reading) -> Option<Self> {
        match reading {
            Reading::Inbox(inbox) => Some(inbox),
            _ => None,
        }
    }
}

/// What following a document tells its screen.
pub enum DocEvent<T> {
    /// How the document reads now (as it opened, or after a change), and
    /// how many of its changes the server has not confirmed (0 when they
    /// are not counted).
    Read {
        value: Result<T, String>,
        pending: usize,
    },
    /// The server confirmed changes: how many are left.
    Pending(usize),
    /// Nobody has it to give yet; the search goes on.
    Missing,
    /// It cannot be opened (a malformed id, say).
    Failed(String),
    /// A change was written into it.
    Written,
    /// A change waits for it to open, to be written then.
    Queued,
    /// A change was not written, and why.
    Refused(String),
}

/// A [`DocEvent`] and the document it is about: a late one may speak of a
/// document no longer shown.
pub struct Followed<T> {
    pub doc_id: String,
    pub event: DocEvent<T>,
}

/// The document a [`use_document`] follows, to write changes into.
#[derive(Clone, Default)]
pub struct Doc(Rc<RefCell<DocState>>);

#[derive(Default)]
struct DocState {
    /// The document followed (or to be, once there is an engine).
    doc_id: Option<String>,
    /// The engine following it, and as which follow.
    follow: Option<(Rc<Engine>, FollowId)>,
    /// Changes made before the engine followed it.
    waiting: Vec<Edit>,
    /// Changes sent from `waiting` whose answers are still to come: they
    /// were told as queued already.
    unanswered: usize,
}

/// Where a change went.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// To the engine; its answer comes as a [`DocEvent`].
    Sent,
    /// Into the queue of the document to be followed; sent once it is.
    WhenOpen,
}

impl Doc {
    /// Sends `edit` to the engine, or keeps it until the engine follows
    /// the document.
    pub fn change(&self, edit: impl Into<Edit>) -> Written {
        let edit = edit.into();
        let follow = self.0.borrow().follow.clone();
        match follow {
            Some((engine, id)) => {
                engine.edit(id, edit);
                Written::Sent
            }
            None => {
                self.0.borrow_mut().waiting.push(edit);
                Written::WhenOpen
            }
        }
    }

    /// The document is to be followed (again: the engine came, or changed).
    /// What waited for it still waits; what waited for another document
    /// is dropped with it (made on a screen that no longer shows it).
    fn reopen(&self, doc_id: Option<&str>) {
        let mut state = self.0.borrow_mut();
        state.follow = None;
        state.unanswered = 0;
        if state.doc_id.as_deref() != doc_id {
            state.doc_id = doc_id.map(str::to_owned);
            state.waiting.clear();
        }
    }

    /// The engine follows it: what waited is sent, in order.
    fn followed(&self, engine: Rc<Engine>, id: FollowId) {
        let waiting = {
            let mut state = self.0.borrow_mut();
            state.follow = Some((engine.clone(), id));
            let waiting = std::mem::take(&mut state.waiting);
            state.unanswered = waiting.len();
            waiting
        };
        for edit in waiting {
            engine.edit(id, edit);
        }
    }

    /// Whether an answer to a change is one told already (as queued here).
    fn answered_before(&self) -> bool {
        let mut state = self.0.borrow_mut();
        let before = state.unanswered > 0;
        state.unanswered = state.unanswered.saturating_sub(1);
        before
    }
}

/// Follows `doc_id` on `engine` (see the module's doc): `on` hears every
/// [`Followed`]. It is taken when the engine or the document changes.
#[hook]
pub fn use_document<T>(
    engine: Option<EngineRef>,
    doc_id: Option<String>,
    on: Callback<Followed<T>>,
) -> Doc
where
    T: Document,
{
    let doc = (*use_state(Doc::default)).clone();
    {
        let doc = doc.clone();
        use_effect_with((engine, doc_id), move |(engine, doc_id)| {
            doc.reopen(doc_id.as_deref());
            let mut followed = None;
            if let (Some(EngineRef(engine)), Some(doc_id)) = (engine.clone(), doc_id.clone()) {
                let hear = hear::<T>(doc_id.clone(), doc.clone(), on);
                let id = engine.follow(&doc_id, T::KIND, hear);
                doc.followed(engine.clone(), id);
                followed = Some((engine, id));
            }
            move || {
                if let Some((engine, id)) = followed {
                    engine.unfollow(id);
                }
            }
        });
    }
    doc
}

/// The engine's news of one follow, as the screen hears it.
fn hear<T: Document>(doc_id: String, doc: Doc, on: Callback<Followed<T>>) -> Rc<dyn Fn(DocNews)> {
    let first_read = std::cell::Cell::new(true);
    Rc::new(move |news| {
        let event = match news {
            DocNews::Opened => {
                // "open model::pipeline::Pipeline": loaded from IndexedDB
                // (or the server), not read yet.
                crate::clock::mark(&format!("open {}", std::any::type_name::<T>()));
                return;
            }
            DocNews::Read { reading, pending } => DocEvent::Read {
                value: reading.and_then(|r| {
                    T::from_reading(*r).ok_or_else(|| "not the document asked for".to_owned())
                }),
                pending,
            },
            DocNews::Pending { pending } => DocEvent::Pending(pending),
            DocNews::Missing => DocEvent::Missing,
            DocNews::Failed { why } => DocEvent::Failed(why),
            DocNews::Written => {
                doc.answered_before();
                DocEvent::Written
            }
            DocNews::Queued if doc.answered_before() => return,
            DocNews::Queued => DocEvent::Queued,
            DocNews::Refused { why } => {
                doc.answered_before();
                DocEvent::Refused(why)
            }
            // Kept by the engine's side (`engine::remember_synced`).
            DocNews::Synced { .. } => return,
            // Only channels speak of presence; their module hears it.
            DocNews::Presence { .. } => return,
        };
        let read = matches!(event, DocEvent::Read { .. });
        on.emit(Followed {
            doc_id: doc_id.clone(),
            event,
        });
        if read && first_read.replace(false) {
            crate::clock::mark(&format!("read {}", std::any::type_name::<T>()));
        }
    })
}
