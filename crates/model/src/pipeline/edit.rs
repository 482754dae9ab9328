//! A change to a pipeline as data: what a screen asks for, applied to the
//! document by [`PipelineEdit::apply`]. Data, not a closure over the
//! document, so that it can be queued while the document opens, logged,
//! and sent to wherever the document is kept (a sync engine in a worker
//! holds it apart from the screens).

use serde::{Deserialize, Serialize};

use super::{Activity, ConflictValue, FollowUp, Lead, LeadDraft, LeadField, LogKind, Pipeline};
use crate::{Heads, LeadId, Money, Stage, Timestamp};
#[cfg(feature = "doc")]
use {super::PipelineDoc, crate::ModelError, automerge::Automerge};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PipelineEdit {
    AddLead {
        id: LeadId,
        draft: LeadDraft,
    },
    /// The lead's fields as edited in a form opened when the document's
    /// heads were `seen` (`PipelineDoc::edit_lead_seen`).
    EditLead {
        id: LeadId,
        seen: Heads,
        draft: LeadDraft,
    },
    Move {
        id: LeadId,
        to: Stage,
    },
    /// Marked won at `value`: the amount, then the move, in one edit.
    MarkWon {
        id: LeadId,
        value: Money,
    },
    Archive {
        id: LeadId,
    },
    Restore {
        id: LeadId,
    },
    Log {
        id: LeadId,
        kind: LogKind,
        text: String,
        /// When it happened.
        at: Timestamp,
    },
    /// A follow-up set, or cleared with `None`.
    FollowUp {
        id: LeadId,
        follow_up: Option<FollowUp>,
    },
    /// A field two devices set while apart, settled on `keep`.
    Settle {
        id: LeadId,
        keep: ConflictValue,
    },
}

impl Pipeline {
    /// The reading as it will be once `edit` is written at `now`, worked
    /// out on the reading itself: what a screen shows the moment a change
    /// is made, while the document (in the sync engine's worker) takes it
    /// and reads again. The same as [`PipelineEdit::apply`] for every
    /// edit that applies; an edit that would be refused changes nothing
    /// (the refusal comes from the document).
    pub fn shown_with(&mut self, edit: &PipelineEdit, now: Timestamp) {
        if let PipelineEdit::AddLead { id, draft } = edit {
            let taken = self.lead(id).is_some() || self.unreadable.iter().any(|u| u == id.as_str());
            if !taken && draft.checked().is_ok() {
                self.leads.push(Lead {
                    id: id.clone(),
                    contact_name: draft.contact_name.clone(),
                    company: draft.company.clone(),
                    email: draft.email.clone(),
                    phone: draft.phone.clone(),
                    value: draft.value,
                    notes: draft.notes.clone(),
                    stage: Stage::New,
                    created_at: now,
                    updated_at: now,
                    archived_at: None,
                    follow_up: None,
                    activity: Vec::new(),
                    conflicts: Vec::new(),
                });
                self.leads
                    .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            }
            return;
        }
        let Some(lead) = self.leads.iter_mut().find(|l| &l.id == edit.lead()) else {
            return;
        };
        let moved = |lead: &mut Lead, to: Stage| {
            if lead.stage != to {
                lead.activity.push(Activity::Moved {
                    at: now,
                    from: lead.stage,
                    to,
                });
                lead.stage = to;
                lead.updated_at = now;
            }
        };
        match edit {
            PipelineEdit::AddLead { .. } => {}
            PipelineEdit::EditLead { draft, .. } => {
                // Written field by field, only where it differs (what
                // another device changed meanwhile is merged in by the
                // document, whose reading follows).
                if let Ok(draft) = draft.checked() {
                    let changed = (
                        &lead.contact_name,
                        &lead.company,
                        &lead.email,
                        &lead.phone,
                        lead.value,
                        &lead.notes,
                    ) != (
                        &draft.contact_name,
                        &draft.company,
                        &draft.email,
                        &draft.phone,
                        draft.value,
                        &draft.notes,
                    );
                    if changed {
                        lead.contact_name = draft.contact_name;
                        lead.company = draft.company;
                        lead.email = draft.email;
                        lead.phone = draft.phone;
                        lead.value = draft.value;
                        lead.notes = draft.notes;
                        lead.updated_at = now;
                    }
                }
            }
            PipelineEdit::Move { to, .. } => moved(lead, *to),
            PipelineEdit::MarkWon { value, .. } => {
                if value.minor >= 0 {
                    if lead.value != *value {
                        lead.value = *value;
                        lead.updated_at = now;
                    }
                    moved(lead, Stage::Won);
                }
            }
            PipelineEdit::Archive { .. } if lead.archived_at.is_none() => {
                lead.archived_at = Some(now);
                lead.activity.push(Activity::Archived { at: now });
                lead.updated_at = now;
            }
            PipelineEdit::Restore { .. } if lead.archived_at.is_some() => {
                lead.archived_at = None;
                lead.activity.push(Activity::Restored { at: now });
                lead.updated_at = now;
            }
            PipelineEdit::Archive { .. } | PipelineEdit::Restore { .. } => {}
            PipelineEdit::Log { kind, text, at, .. } => {
                if let Ok(text) = kind.parse_text(text) {
                    lead.activity.push(Activity::Logged {
                        at: *at,
                        kind: *kind,
                        text,
                    });
                    lead.updated_at = now;
                }
            }
            PipelineEdit::FollowUp { follow_up, .. } => {
                let checked = follow_up.as_ref().map(|f| FollowUp::parse(f.at, &f.note));
                match checked {
                    Some(Err(_)) => {}
                    None if lead.follow_up.is_none() => {}
                    Some(Ok(f)) => {
                        lead.follow_up = Some(f);
                        lead.updated_at = now;
                    }
                    None => {
                        lead.follow_up = None;
                        lead.updated_at = now;
                    }
                }
            }
            PipelineEdit::Settle {
                keep: ConflictValue::Text(LeadField::Value | LeadField::Stage, _),
                ..
            } => {}
            PipelineEdit::Settle { keep, .. } => {
                let field = match keep {
                    ConflictValue::Text(field, _) => *field,
                    ConflictValue::Value(_) => LeadField::Value,
                    ConflictValue::Stage(_) => LeadField::Stage,
                };
                match keep {
                    ConflictValue::Stage(to) if *to != lead.stage => moved(lead, *to),
                    ConflictValue::Stage(_) => lead.updated_at = now,
                    ConflictValue::Value(value) => {
                        lead.value = *value;
                        lead.updated_at = now;
                    }
                    ConflictValue::Text(field, text) => {
                        match field {
                            LeadField::ContactName => lead.contact_name = text.clone(),
                            LeadField::Company => lead.company = text.clone(),
                            LeadField::Email => lead.email = text.clone(),
                            LeadField::Phone => lead.phone = text.clone(),
                            LeadField::Value | LeadField::Stage => {}
                        }
                        lead.updated_at = now;
                    }
                }
                lead.conflicts.retain(|c| c.field != field);
            }
        }
    }
}

impl PipelineEdit {
    /// The lead the edit is about.
    pub fn lead(&self) -> &LeadId {
        match self {
            PipelineEdit::AddLead { id, .. }
            | PipelineEdit::EditLead { id, .. }
            | PipelineEdit::Move { id, .. }
            | PipelineEdit::MarkWon { id, .. }
            | PipelineEdit::Archive { id }
            | PipelineEdit::Restore { id }
            | PipelineEdit::Log { id, .. }
            | PipelineEdit::FollowUp { id, .. }
            | PipelineEdit::Settle { id, .. } => id,
        }
    }
}

#[cfg(feature = "doc")]
impl PipelineEdit {
    /// Writes the edit into `doc` at `now`. Everything is checked as the
    /// operations it stands for check it (bounds, the lead's existence):
    /// an edit read from elsewhere is trusted no more than one typed here.
    pub fn apply(&self, doc: &mut Automerge, now: Timestamp) -> Result<(), ModelError> {
        match self {
            PipelineEdit::AddLead { id, draft } => {
                PipelineDoc::add_lead(doc, id, &draft.checked()?, now)
            }
            PipelineEdit::EditLead { id, seen, draft } => {
                // Heads that do not parse are as good as none: the form's
                // fields are written as they are.
                let seen = seen.hashes().unwrap_or_default();
                PipelineDoc::edit_lead_seen(doc, &seen, id, &draft.checked()?, now)
            }
            PipelineEdit::Move { id, to } => PipelineDoc::move_lead(doc, id, *to, now),
            PipelineEdit::MarkWon { id, value } => {
                PipelineDoc::set_value(doc, id, *value, now)?;
                PipelineDoc::move_lead(doc, id, Stage::Won, now)
            }
            PipelineEdit::Archive { id } => PipelineDoc::archive_lead(doc, id, now),
            PipelineEdit::Restore { id } => PipelineDoc::restore_lead(doc, id, now),
            PipelineEdit::Log { id, kind, text, at } => {
                PipelineDoc::log_activity(doc, id, *kind, text, *at, now)
            }
            PipelineEdit::FollowUp { id, follow_up } => {
                let checked = match follow_up {
                    Some(f) => Some(FollowUp::parse(f.at, &f.note)?),
                    None => None,
                };
                PipelineDoc::set_follow_up(doc, id, checked.as_ref(), now)
            }
            PipelineEdit::Settle { id, keep } => PipelineDoc::settle(doc, id, keep, now),
        }
    }
}

#[cfg(all(test, feature = "doc"))]
mod tests {
    use super::*;
    use crate::{Currency, PartnerId, pipeline::LeadField};

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    fn id(s: &str) -> LeadId {
        LeadId::parse(s).unwrap()
    }

    fn draft(name: &str) -> LeadDraft {
        LeadDraft::parse(name, "Acme", "a@acme.io", "+1 555", usd(100), "").unwrap()
    }

    fn new_pipeline() -> Automerge {
        let mut doc = Automerge::new();
        PipelineDoc::init(&mut doc, &PartnerId::parse("p-ana").unwrap()).unwrap();
        doc
    }

    /// Through JSON and back, as a message carries it, then applied.
    fn carried(edit: &PipelineEdit, doc: &mut Automerge, now: i64) -> Result<(), ModelError> {
        let json = serde_json::to_string(edit).unwrap();
        let back: PipelineEdit = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, edit, "{json}");
        back.apply(doc, Timestamp(now))
    }

    #[test]
    fn every_edit_carried_as_data_does_what_its_operation_does() {
        let mut doc = new_pipeline();
        let l1 = id("l1");
        let add = PipelineEdit::AddLead {
            id: l1.clone(),
            draft: draft("Ada"),
        };
        carried(&add, &mut doc, 9).unwrap();
        let edits = [
            PipelineEdit::EditLead {
                id: l1.clone(),
                seen: Heads::of(&doc),
                draft: LeadDraft {
                    phone: "+1 777".into(),
                    ..draft("Ada Obi")
                },
            },
            PipelineEdit::Move {
                id: l1.clone(),
                to: Stage::Proposal,
            },
            PipelineEdit::Log {
                id: l1.clone(),
                kind: LogKind::Call,
                text: "Left a voicemail".into(),
                at: Timestamp(5),
            },
            PipelineEdit::FollowUp {
                id: l1.clone(),
                follow_up: Some(FollowUp::parse(Timestamp(99), "Send the quote").unwrap()),
            },
            PipelineEdit::Settle {
                id: l1.clone(),
                keep: ConflictValue::Text(LeadField::Company, "Acme Ltd".into()),
            },
            PipelineEdit::MarkWon {
                id: l1.clone(),
                value: usd(250_000),
            },
            PipelineEdit::Archive { id: l1.clone() },
        ];
        for (at, edit) in edits.iter().enumerate() {
            carried(edit, &mut doc, 10 + at as i64).unwrap();
        }
        let lead = PipelineDoc::read(&doc).unwrap().lead(&l1).cloned().unwrap();
        assert_eq!(
            (lead.contact_name.as_str(), lead.phone.as_str()),
            ("Ada Obi", "+1 777")
        );
        assert_eq!(lead.company, "Acme Ltd");
        assert_eq!((lead.stage, lead.value), (Stage::Won, usd(250_000)));
        assert_eq!(lead.follow_up.as_ref().unwrap().note, "Send the quote");
        assert!(lead.is_archived());
        assert_eq!(lead.updated_at, Timestamp(16), "dated as applied");
        carried(&PipelineEdit::Restore { id: l1.clone() }, &mut doc, 30).unwrap();
        carried(
            &PipelineEdit::FollowUp {
                id: l1.clone(),
                follow_up: None,
            },
            &mut doc,
            31,
        )
        .unwrap();
        let lead = PipelineDoc::read(&doc).unwrap().lead(&l1).cloned().unwrap();
        assert!(!lead.is_archived() && lead.follow_up.is_none());
    }

    /// What a screen shows at once is what the document reads once the
    /// edit is written, for every edit, refused ones included.
    #[test]
    fn a_reading_shown_with_an_edit_is_the_document_read_after_it() {
        let mut doc = new_pipeline();
        let (l1, l2) = (id("l1"), id("l2"));
        let mut edits = vec![
            PipelineEdit::AddLead {
                id: l1.clone(),
                draft: draft("Ada"),
            },
            PipelineEdit::AddLead {
                id: l2.clone(),
                draft: draft("Sam"),
            },
            PipelineEdit::AddLead {
                id: l1.clone(),
                draft: draft("Twice"),
            },
            PipelineEdit::Move {
                id: l1.clone(),
                to: Stage::Proposal,
            },
            PipelineEdit::Move {
                id: l1.clone(),
                to: Stage::Proposal,
            },
            PipelineEdit::Move {
                id: id("nobody"),
                to: Stage::Won,
            },
            PipelineEdit::Log {
                id: l1.clone(),
                kind: LogKind::Call,
                text: "Left a voicemail".into(),
                at: Timestamp(5),
            },
            PipelineEdit::Log {
                id: l1.clone(),
                kind: LogKind::Note,
                text: "   ".into(),
                at: Timestamp(5),
            },
            PipelineEdit::FollowUp {
                id: l2.clone(),
                follow_up: None,
            },
            PipelineEdit::FollowUp {
                id: l1.clone(),
                follow_up: Some(FollowUp::parse(Timestamp(99), "Send the quote").unwrap()),
            },
            PipelineEdit::Settle {
                id: l1.clone(),
                keep: ConflictValue::Text(LeadField::Company, "Acme Ltd".into()),
            },
            PipelineEdit::Settle {
                id: l2.clone(),
                keep: ConflictValue::Stage(Stage::Qualified),
            },
            PipelineEdit::MarkWon {
                id: l1.clone(),
                value: usd(250_000),
            },
            PipelineEdit::MarkWon {
                id: l2.clone(),
                value: usd(-1),
            },
            PipelineEdit::Archive { id: l2.clone() },
            PipelineEdit::Archive { id: l2.clone() },
            PipelineEdit::Restore { id: l1.clone() },
            PipelineEdit::Restore { id: l2.clone() },
            PipelineEdit::FollowUp {
                id: l1.clone(),
                follow_up: None,
            },
        ];
        edits.extend([
            PipelineEdit::EditLead {
                id: l2.clone(),
                seen: Heads::default(),
                draft: draft("Sam"),
            },
            PipelineEdit::Settle {
                id: l2.clone(),
                keep: ConflictValue::Text(LeadField::Value, "12".into()),
            },
            PipelineEdit::Settle {
                id: l2.clone(),
                keep: ConflictValue::Text(LeadField::Stage, "won".into()),
            },
        ]);
        edits.insert(
            3,
            PipelineEdit::EditLead {
                id: l1.clone(),
                seen: Heads::default(),
                draft: LeadDraft {
                    phone: "+1 777".into(),
                    notes: "Met at the fair".into(),
                    ..draft("Ada Obi")
                },
            },
        );
        let mut shown = PipelineDoc::read(&doc).unwrap();
        for (at, edit) in edits.iter().enumerate() {
            let now = Timestamp(10 + at as i64);
            let _ = edit.apply(&mut doc, now);
            shown.shown_with(edit, now);
            let mut read = PipelineDoc::read(&doc).unwrap();
            read.heads = shown.heads.clone();
            assert_eq!(shown, read, "after {edit:?}");
        }
        assert_eq!(shown.leads.len(), 2);
    }

    #[test]
    fn an_edit_read_from_elsewhere_is_checked_as_a_typed_one() {
        let mut doc = new_pipeline();
        let heads = Heads::of(&doc);
        // Made by hand, past what `LeadDraft::parse` and `FollowUp::parse`
        // let through.
        let long = LeadDraft {
            contact_name: "x".repeat(201),
            ..draft("Ada")
        };
        let hostile = [
            PipelineEdit::AddLead {
                id: id("l1"),
                draft: long.clone(),
            },
            PipelineEdit::AddLead {
                id: id("l1"),
                draft: LeadDraft {
                    notes: "a\0b".into(),
                    ..draft("Ada")
                },
            },
            PipelineEdit::AddLead {
                id: id("l1"),
                draft: LeadDraft {
                    value: usd(-1),
                    ..draft("Ada")
                },
            },
            PipelineEdit::Move {
                id: id("nobody"),
                to: Stage::Won,
            },
        ];
        for edit in &hostile {
            assert!(edit.apply(&mut doc, Timestamp(1)).is_err(), "{edit:?}");
        }
        PipelineEdit::AddLead {
            id: id("l1"),
            draft: draft("Ada"),
        }
        .apply(&mut doc, Timestamp(1))
        .unwrap();
        let refused = [
            PipelineEdit::EditLead {
                id: id("l1"),
                seen: heads,
                draft: long,
            },
            PipelineEdit::FollowUp {
                id: id("l1"),
                follow_up: Some(FollowUp {
                    at: Timestamp(i64::MAX),
                    note: String::new(),
                }),
            },
            PipelineEdit::Log {
                id: id("l1"),
                kind: LogKind::Note,
                text: "y".repeat(2_001),
                at: Timestamp(1),
            },
        ];
        for edit in &refused {
            assert!(edit.apply(&mut doc, Timestamp(2)).is_err(), "{edit:?}");
        }
        let lead = PipelineDoc::read(&doc)
            .unwrap()
            .lead(&id("l1"))
            .cloned()
            .unwrap();
        assert_eq!(lead.contact_name, "Ada");
        assert!(lead.follow_up.is_none() && lead.activity.is_empty());
        // Unknown operations do not read.
        assert!(serde_json::from_str::<PipelineEdit>(r#"{"op":"drop_table","id":"l1"}"#).is_err());
    }
}
