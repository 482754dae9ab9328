//! What the app's reducer keeps of the pipeline: which of the account's
//! pipelines is shown, the document as last read, its changes the server
//! has not confirmed and whether the new-lead form is open. No markup.
//!
//! The shell's reducer holds it and reduces its actions; what the session
//! does to it (another account, the account's documents changing) goes
//! through [`State::for_account`] and [`State::account_changed`].

use std::rc::Rc;

use model::{LeadId, Pipeline, PipelineEdit, Stage, Timestamp};
use web_common::api::{Access, Me};

use super::filter::Filter;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    /// The document shown, one of the account's pipelines.
    pub selected: Option<String>,
    /// What is shown: `read` with the changes `unwritten`.
    pub pipeline: Option<Rc<Pipeline>>,
    /// The document's last reading (or the one kept on the device).
    pub read: Option<Rc<Pipeline>>,
    /// Nobody could give the document yet (offline on first use).
    pub missing: bool,
    /// The device was asked for the document's last reading, and answered
    /// (with one, or with none).
    pub looked_in_cache: bool,
    /// Its changes the server has not confirmed.
    pub pending: usize,
    /// Changes made here that the document has not taken yet (it is in the
    /// sync engine's worker, or not open yet), in order, with when they
    /// were made: shown at once, on top of every reading until taken.
    pub unwritten: Vec<(PipelineEdit, Timestamp)>,
    pub form_open: bool,
    /// What the board is narrowed to, and its order.
    pub filter: Filter,
    /// The last move made here, which the board offers to undo.
    pub moved: Option<Moved>,
    /// Stages whose every card is drawn (the board draws the first ones).
    pub expanded: Vec<Stage>,
    /// The stage a phone shows (its board is a strip of stages, one drawn).
    pub shown: Stage,
    /// A lead dropped or swiped onto "won", whose card asks to confirm;
    /// counted, so that asking again about the same lead asks again.
    pub asking_won: Option<(LeadId, u32)>,
}

/// A move of a lead made on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub lead: LeadId,
    pub name: String,
    pub from: Stage,
    pub to: Stage,
}

pub enum Action {
    Select(String),
    /// How a document reads now.
    Read {
        doc_id: String,
        pipeline: Pipeline,
        pending: usize,
    },
    /// How the document read when last open (`view_cache`), shown until
    /// it reads now.
    Cached {
        doc_id: String,
        pipeline: Pipeline,
    },
    /// The device keeps no reading of the document.
    NothingKept {
        doc_id: String,
    },
    /// The document is on the device but does not read here (a newer
    /// app's layout): nothing of it is shown.
    Unreadable {
        doc_id: String,
    },
    Missing {
        doc_id: String,
    },
    Pending {
        doc_id: String,
        pending: usize,
    },
    /// A change made here, shown at once (see [`State::unwritten`]).
    Made(PipelineEdit, Timestamp),
    /// The document took the oldest change made here (`written`), or
    /// refused it.
    Answered {
        written: bool,
    },
    /// A change waits for the document shown to open: counted with its
    /// changes waiting until the document, open, says how many there are.
    Queued,
    /// Opens or closes the new-lead form.
    Form(bool),
    /// The board's search, filters and sort.
    Narrow(Filter),
    /// A lead was moved here (the board offers to undo it).
    Moved(Moved),
    /// The last move was undone, or its offer dismissed.
    Undone,
    /// Every card of the stage is to be drawn.
    Expand(Stage),
    /// The stage a phone shows.
    Show(Stage),
    /// The lead's card is to ask whether to mark it won.
    AskWon(LeadId),
}

impl State {
    /// The account's own pipeline, not read yet.
    pub fn for_account(me: &Me) -> State {
        State {
            selected: me.home_document().map(|d| d.doc_id.clone()),
            ..State::default()
        }
    }

    /// The account's details changed (its team, say): keep the document on
    /// screen if it is still one of the account's.
    pub fn account_changed(&mut self, me: &Me) {
        let still_listed = self
            .selected
            .as_deref()
            .is_some_and(|id| me.document(id).is_some());
        if !still_listed {
            *self = State::for_account(me);
        }
    }

    /// Shows `read` with the changes made here not taken yet.
    fn show(&mut self, read: Pipeline) {
        let read = Rc::new(read);
        self.pipeline = Some(if self.unwritten.is_empty() {
            read.clone()
        } else {
            Rc::new(self.with_unwritten((*read).clone()))
        });
        self.read = Some(read);
    }

    /// `pipeline` as it reads with the changes made here not taken yet.
    fn with_unwritten(&self, mut pipeline: Pipeline) -> Pipeline {
        for (edit, at) in &self.unwritten {
            pipeline.shown_with(edit, *at);
        }
        pipeline
    }

    fn is_shown(&self, doc_id: &str) -> bool {
        self.selected.as_deref() == Some(doc_id)
    }

    /// Whether the document on screen may be edited by `me`.
    pub fn read_only(&self, me: Option<&Me>) -> bool {
        match (me, &self.selected) {
            (Some(me), Some(id)) => me
                .document(id)
                .is_none_or(|d| d.access != Access::ReadWrite),
            _ => true,
        }
    }

    pub fn reduce(&mut self, action: Action) {
        match action {
            Action::Select(doc_id) => {
                if !self.is_shown(&doc_id) {
                    *self = State {
                        selected: Some(doc_id),
                        ..State::default()
                    };
                }
            }
            // A late update from a document no longer shown is dropped.
            Action::Read {
                doc_id,
                pipeline,
                pending,
            } => {
                if self.is_shown(&doc_id) {
                    self.show(pipeline);
                    self.pending = pending;
                    self.missing = false;
                }
            }
            Action::Cached { doc_id, pipeline } => {
                if self.is_shown(&doc_id) {
                    self.looked_in_cache = true;
                }
                if self.is_shown(&doc_id) && self.pipeline.is_none() {
                    self.show(pipeline);
                    self.missing = false;
                }
            }
            Action::NothingKept { doc_id } => {
                if self.is_shown(&doc_id) {
                    self.looked_in_cache = true;
                }
            }
            Action::Made(edit, at) => {
                if let Some(pipeline) = &mut self.pipeline {
                    Rc::make_mut(pipeline).shown_with(&edit, at);
                }
                self.unwritten.push((edit, at));
            }
            Action::Answered { written } => {
                if !self.unwritten.is_empty() {
                    self.unwritten.remove(0);
                }
                // A refused change is taken off the screen; a written one
                // stays until the document's next reading, which has it.
                if !written && let Some(read) = &self.read {
                    self.pipeline = Some(Rc::new(self.with_unwritten((**read).clone())));
                }
            }
            Action::Unreadable { doc_id } => {
                if self.is_shown(&doc_id) {
                    self.pipeline = None;
                    self.read = None;
                }
            }
            Action::Missing { doc_id } => {
                if self.is_shown(&doc_id) && self.pipeline.is_none() {
                    self.missing = true;
                }
            }
            Action::Pending { doc_id, pending } => {
                if self.is_shown(&doc_id) {
                    self.pending = pending;
                }
            }
            Action::Queued => self.pending += 1,
            Action::Form(open) => self.form_open = open,
            Action::Narrow(filter) => self.filter = filter,
            Action::Moved(moved) => {
                self.asking_won = None;
                self.moved = Some(moved);
            }
            Action::Undone => self.moved = None,
            Action::Expand(stage) => {
                if !self.expanded.contains(&stage) {
                    self.expanded.push(stage);
                }
            }
            Action::Show(stage) => self.shown = stage,
            Action::AskWon(lead) => {
                let times = self.asking_won.as_ref().map_or(0, |(_, n)| *n);
                self.asking_won = Some((lead, times + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use web_common::api::{MyDocument, Role};

    fn doc(id: &str, access: Access) -> MyDocument {
        MyDocument {
            doc_id: id.to_owned(),
            kind: "pipeline".to_owned(),
            partner_id: format!("p-{id}"),
            partner_name: id.to_owned(),
            access,
        }
    }

    fn ana(documents: Vec<MyDocument>) -> Me {
        serde_json::from_value(serde_json::json!({
            "account_id": "a-ana",
            "email": "ana@example.test",
            "name": "Ana",
            "role": Role::TeamLeader,
            "documents": documents,
        }))
        .unwrap()
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            partner_id: model::PartnerId::parse("p-ana").unwrap(),
            leads: Vec::new(),
            unreadable: Vec::new(),
            heads: model::Heads::default(),
        }
    }

    #[test]
    fn a_change_waiting_for_the_document_to_open_is_counted_until_it_has() {
        let me = ana(vec![doc("d-ana", Access::ReadWrite)]);
        let mut state = State::for_account(&me);
        state.reduce(Action::Cached {
            doc_id: "d-ana".to_owned(),
            pipeline: pipeline(),
        });
        state.reduce(Action::Queued);
        state.reduce(Action::Queued);
        assert_eq!(state.pending, 2, "the badge counts them while it opens");
        state.reduce(Action::Read {
            doc_id: "d-ana".to_owned(),
            pipeline: pipeline(),
            pending: 3,
        });
        assert_eq!(state.pending, 3, "then the document says how many wait");
    }

    /// A change shows at once, and stays shown over readings the document
    /// gives before it takes the change; once taken (or refused), the
    /// document's own reading is what shows.
    #[test]
    fn a_change_made_here_shows_until_the_document_answers() {
        let me = ana(vec![doc("d-ana", Access::ReadWrite)]);
        let mut state = State::for_account(&me);
        let id = LeadId::parse("l1").unwrap();
        let draft = model::LeadDraft::parse(
            "Ada",
            "",
            "",
            "",
            model::Money::new(100, model::Currency::parse("USD").unwrap()),
            "",
        )
        .unwrap();
        let read = |state: &mut State, pipeline: Pipeline| {
            state.reduce(Action::Read {
                doc_id: "d-ana".into(),
                pipeline,
                pending: 0,
            })
        };
        read(&mut state, pipeline());
        let add = PipelineEdit::AddLead {
            id: id.clone(),
            draft,
        };
        state.reduce(Action::Made(add.clone(), Timestamp(5)));
        let shown = |state: &State| state.pipeline.as_ref().unwrap().lead(&id).cloned();
        assert_eq!(shown(&state).unwrap().contact_name, "Ada", "shown at once");
        let moved = PipelineEdit::Move {
            id: id.clone(),
            to: Stage::Qualified,
        };
        state.reduce(Action::Made(moved.clone(), Timestamp(6)));
        read(&mut state, pipeline());
        assert_eq!(
            shown(&state).map(|l| l.stage),
            Some(Stage::Qualified),
            "a reading from before both changes shows them still"
        );
        state.reduce(Action::Answered { written: true });
        let mut taken = pipeline();
        taken.shown_with(&add, Timestamp(5));
        read(&mut state, taken.clone());
        assert_eq!(shown(&state).map(|l| l.stage), Some(Stage::Qualified));
        state.reduce(Action::Answered { written: false });
        assert_eq!(
            shown(&state).map(|l| l.stage),
            Some(Stage::New),
            "the move was refused: the document's reading shows at once"
        );
    }

    #[test]
    fn only_the_document_shown_is_taken_in() {
        let me = ana(vec![
            doc("d-ana", Access::ReadWrite),
            doc("d-ben", Access::ReadOnly),
        ]);
        let mut state = State::for_account(&me);
        state.reduce(Action::Missing {
            doc_id: "d-ana".to_owned(),
        });
        assert!(state.missing);
        state.reduce(Action::Read {
            doc_id: "d-ana".to_owned(),
            pipeline: pipeline(),
            pending: 1,
        });
        assert!(!state.missing, "it came");
        assert_eq!(state.pending, 1);

        state.reduce(Action::Form(true));
        state.reduce(Action::Select("d-ben".to_owned()));
        assert_eq!(state.pipeline, None, "another document, not read yet");
        assert!(!state.form_open);
        assert!(state.read_only(Some(&me)));
        // Late news of the document shown before.
        for late in [
            Action::Read {
                doc_id: "d-ana".to_owned(),
                pipeline: pipeline(),
                pending: 3,
            },
            Action::Pending {
                doc_id: "d-ana".to_owned(),
                pending: 3,
            },
        ] {
            state.reduce(late);
        }
        assert_eq!(state.pipeline, None);
        assert_eq!(state.pending, 0);
    }
}
