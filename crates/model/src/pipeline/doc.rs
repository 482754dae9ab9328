//! Reading and writing pipeline documents (see the layout in `mod.rs`).

use automerge::{
    AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
    transaction::{Transactable, Transaction},
};

use super::{
    Activity, ConflictValue, FollowUp, Lead, LeadDraft, LeadField, LogKind, PIPELINE_KIND,
    Pipeline, SCHEMA_VERSION, activity, conflicts,
};
use crate::{
    Currency, Heads, LeadId, ModelError, Money, PartnerId, Stage, Timestamp,
    read::{Entries, check_kind, string},
};

/// Typed reads and writes of pipeline documents. Each write is one Automerge
/// transaction: it lands whole or not at all.
pub struct PipelineDoc;

impl PipelineDoc {
    /// Writes the skeleton of an empty pipeline for `partner`.
    pub fn init(doc: &mut automerge::Automerge, partner: &PartnerId) -> Result<(), ModelError> {
        doc.transact(|tx| {
            tx.put(ROOT, "schema", SCHEMA_VERSION)?;
            tx.put(ROOT, "kind", PIPELINE_KIND)?;
            tx.put(ROOT, "partner_id", partner.as_str())?;
            tx.put_object(ROOT, "leads", ObjType::Map)?;
            Ok::<_, AutomergeError>(())
        })
        .map_err(|f| f.error)?;
        Ok(())
    }

    pub fn read(doc: &automerge::Automerge) -> Result<Pipeline, ModelError> {
        check_kind(doc, PIPELINE_KIND, SCHEMA_VERSION)?;
        let partner_id = string(doc, &ROOT, "partner_id")
            .and_then(|s| PartnerId::parse(&s).ok())
            .ok_or(ModelError::BadField {
                field: "partner_id",
            })?;
        let leads_obj = leads_obj(doc)?;
        let mut leads = Vec::new();
        let mut unreadable = Vec::new();
        for item in doc.map_range(&leads_obj, ..) {
            let lead = match item.value {
                automerge::ValueRef::Object(ObjType::Map) => read_lead(doc, &item.id(), &item.key),
                _ => None,
            };
            match lead {
                Some(lead) => leads.push(lead),
                None => unreadable.push(item.key.into_owned()),
            }
        }
        leads.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(Pipeline {
            partner_id,
            leads,
            unreadable,
            heads: Heads::of(doc),
        })
    }

    pub fn add_lead(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        draft: &LeadDraft,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let leads = leads_obj(doc)?;
        if doc.get(&leads, id.as_str())?.is_some() {
            return Err(ModelError::DuplicateLead(id.to_string()));
        }
        doc.transact(|tx| {
            let lead = tx.put_object(&leads, id.as_str(), ObjType::Map)?;
            write_draft_fields(tx, &lead, draft)?;
            let notes = tx.put_object(&lead, "notes", ObjType::Text)?;
            tx.splice_text(&notes, 0, 0, &draft.notes)?;
            tx.put(&lead, "stage", Stage::New.as_str())?;
            tx.put(&lead, "created_at", ScalarValue::Timestamp(now.0))?;
            tx.put(&lead, "updated_at", ScalarValue::Timestamp(now.0))?;
            tx.put_object(&lead, "activity", ObjType::List)?;
            Ok::<_, AutomergeError>(())
        })
        .map_err(|f| f.error)?;
        Ok(())
    }

    /// Replaces the fields of a lead with what the person saw and edited. Only
    /// fields that differ are written, so an edit of one field does not
    /// overwrite a concurrent edit of another; notes are diffed as text.
    pub fn edit_lead(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        draft: &LeadDraft,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let (lead_obj, current) = current_lead(doc, id)?;
        let notes_obj = text_obj(doc, &lead_obj, "notes");
        doc.transact(|tx| {
            let changed = [
                ("contact_name", &current.contact_name, &draft.contact_name),
                ("company", &current.company, &draft.company),
                ("email", &current.email, &draft.email),
                ("phone", &current.phone, &draft.phone),
            ];
            let mut any = false;
            for (field, old, new) in changed {
                if old != new {
                    tx.put(&lead_obj, field, new.as_str())?;
                    any = true;
                }
            }
            if current.value != draft.value {
                put_value(tx, &lead_obj, draft.value)?;
                any = true;
            }
            if current.notes != draft.notes {
                match &notes_obj {
                    Some(notes) => tx.update_text(notes, &draft.notes)?,
                    None => {
                        let notes = tx.put_object(&lead_obj, "notes", ObjType::Text)?;
                        tx.splice_text(&notes, 0, 0, &draft.notes)?;
                    }
                }
                any = true;
            }
            if any {
                tx.put(&lead_obj, "updated_at", ScalarValue::Timestamp(now.0))?;
            }
            Ok::<_, AutomergeError>(())
        })
        .map_err(|f| f.error)?;
        Ok(())
    }

    /// [`Self::edit_lead`] as of `seen`, the document's heads when the
    /// person opened the form: the edit is made on the document as they saw
    /// it and merged in, so what another device changed meanwhile (a field,
    /// words added to the notes) is kept, and a field both changed is
    /// marked as a conflict, never silently overwritten. Unknown heads (none
    /// recorded, or not in this document) edit the document as it is.
    pub fn edit_lead_seen(
        doc: &mut automerge::Automerge,
        seen: &[automerge::ChangeHash],
        id: &LeadId,
        draft: &LeadDraft,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        if seen.is_empty() || doc.get_heads() == seen {
            return Self::edit_lead(doc, id, draft, now);
        }
        let Ok(mut then) = doc.fork_at(seen) else {
            return Self::edit_lead(doc, id, draft, now);
        };
        // A lead added after what was seen (the form opened on a reading
        // that showed it before the document had it): edited as it is now.
        if lead_obj(&then, id).is_err() {
            return Self::edit_lead(doc, id, draft, now);
        }
        Self::edit_lead(&mut then, id, draft, now)?;
        doc.merge(&mut then)?;
        Ok(())
    }

    /// Sets the lead's amount (and currency), and nothing else.
    pub fn set_value(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        value: Money,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let lead_obj = lead_obj(doc, id)?;
        let current = conflicts::value(doc, &lead_obj);
        if value.minor < 0 {
            return Err(ModelError::Invalid {
                what: "estimated value",
                why: "cannot be negative".into(),
            });
        }
        if current == Some(value) {
            return Ok(());
        }
        change_lead(doc, &lead_obj, now, None, |tx| {
            put_value(tx, &lead_obj, value)
        })
    }

    /// Moves a lead to `to` and records the move in its activity log. Moving
    /// a lead to the stage it is in changes nothing.
    pub fn move_lead(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        to: Stage,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let lead_obj = lead_obj(doc, id)?;
        let from = string(doc, &lead_obj, "stage")
            .and_then(|s| Stage::parse(&s).ok())
            .ok_or(ModelError::BadField { field: "stage" })?;
        if from == to {
            return Ok(());
        }
        let moved = Activity::Moved { at: now, from, to };
        change_lead(doc, &lead_obj, now, Some(&moved), |tx| {
            tx.put(&lead_obj, "stage", to.as_str())
        })
    }

    /// Takes a lead off the board, keeping it and its history; the log
    /// records when. Archiving an archived lead changes nothing.
    pub fn archive_lead(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        Self::set_archived(doc, id, true, now)
    }

    /// Puts an archived lead back on the board, in the stage it left.
    pub fn restore_lead(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        Self::set_archived(doc, id, false, now)
    }

    fn set_archived(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        archived: bool,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let lead_obj = lead_obj(doc, id)?;
        if doc.get(&lead_obj, "archived_at")?.is_some() == archived {
            return Ok(());
        }
        let entry = if archived {
            Activity::Archived { at: now }
        } else {
            Activity::Restored { at: now }
        };
        change_lead(doc, &lead_obj, now, Some(&entry), |tx| {
            if archived {
                tx.put(&lead_obj, "archived_at", ScalarValue::Timestamp(now.0))
            } else {
                tx.delete(&lead_obj, "archived_at")
            }
        })
    }

    /// Adds a call, meeting or note to the lead's log, dated `at` (when it
    /// happened, which the person may say was earlier than `now`).
    pub fn log_activity(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        kind: LogKind,
        text: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let text = kind.parse_text(text)?;
        let lead_obj = lead_obj(doc, id)?;
        let logged = Activity::Logged { at, kind, text };
        change_lead(doc, &lead_obj, now, Some(&logged), |_| Ok(()))
    }

    /// Sets the lead's follow-up, or clears it with `None`.
    pub fn set_follow_up(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        follow_up: Option<&FollowUp>,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let lead_obj = lead_obj(doc, id)?;
        if follow_up.is_none() && doc.get(&lead_obj, "follow_up")?.is_none() {
            return Ok(());
        }
        change_lead(doc, &lead_obj, now, None, |tx| match follow_up {
            Some(follow_up) => {
                let obj = tx.put_object(&lead_obj, "follow_up", ObjType::Map)?;
                tx.put(&obj, "at", ScalarValue::Timestamp(follow_up.at.0))?;
                tx.put(&obj, "note", follow_up.note.as_str())
            }
            None => tx.delete(&lead_obj, "follow_up"),
        })
    }

    /// Settles a field two devices set while apart: `keep` is written once
    /// more, over both, so every replica shows it and the mark goes. Keeping
    /// another stage moves the lead there (logged as any move).
    pub fn settle(
        doc: &mut automerge::Automerge,
        id: &LeadId,
        keep: &ConflictValue,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        if let ConflictValue::Text(LeadField::Value | LeadField::Stage, _) = keep {
            // Text is no amount and no stage: written there, it would leave
            // the lead unreadable everywhere.
            return Err(ModelError::Invalid {
                what: "settled value",
                why: "text can settle only a text field".into(),
            });
        }
        let (lead_obj, current) = current_lead(doc, id)?;
        if let ConflictValue::Stage(to) = keep
            && *to != current.stage
        {
            return Self::move_lead(doc, id, *to, now);
        }
        change_lead(doc, &lead_obj, now, None, |tx| match keep {
            ConflictValue::Text(field, text) => tx.put(&lead_obj, field.key(), text.as_str()),
            ConflictValue::Value(value) => put_value(tx, &lead_obj, *value),
            ConflictValue::Stage(stage) => tx.put(&lead_obj, "stage", stage.as_str()),
        })
    }
}

/// One change to the lead at `lead`, in one transaction: `write`, the entry
/// for its log if there is one, and the time it changed.
fn change_lead(
    doc: &mut automerge::Automerge,
    lead: &ObjId,
    now: Timestamp,
    entry: Option<&Activity>,
    write: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Result<(), ModelError> {
    let activity = match entry {
        Some(_) => activity_obj(doc, lead)?,
        None => None,
    };
    doc.transact(|tx| {
        write(tx)?;
        tx.put(lead, "updated_at", ScalarValue::Timestamp(now.0))?;
        match entry {
            Some(entry) => activity::append(tx, lead, activity.as_ref(), entry),
            None => Ok(()),
        }
    })
    .map_err(|f| f.error)?;
    Ok(())
}

/// The lead `id` and how it reads now.
fn current_lead(doc: &automerge::Automerge, id: &LeadId) -> Result<(ObjId, Lead), ModelError> {
    let obj = lead_obj(doc, id)?;
    let lead =
        read_lead(doc, &obj, id.as_str()).ok_or_else(|| ModelError::NoSuchLead(id.to_string()))?;
    Ok((obj, lead))
}

/// Writes an amount and its currency, both, in the one change: that is how
/// a read pairs them (`conflicts::value`). A put of the value a key already
/// holds writes nothing, so each key is deleted first: a change of the
/// amount alone still writes the currency, and two devices changing the
/// amount and the currency apart cannot merge into a value nobody typed.
fn put_value<T: Transactable>(
    tx: &mut T,
    lead: &ObjId,
    value: Money,
) -> Result<(), AutomergeError> {
    for key in ["value_minor", "currency"] {
        if tx.get(lead, key)?.is_some() {
            tx.delete(lead, key)?;
        }
    }
    tx.put(lead, "value_minor", value.minor)?;
    tx.put(lead, "currency", value.currency.as_str())
}

fn write_draft_fields<T: Transactable>(
    tx: &mut T,
    lead: &ObjId,
    draft: &LeadDraft,
) -> Result<(), AutomergeError> {
    tx.put(lead, "contact_name", draft.contact_name.as_str())?;
    tx.put(lead, "company", draft.company.as_str())?;
    tx.put(lead, "email", draft.email.as_str())?;
    tx.put(lead, "phone", draft.phone.as_str())?;
    put_value(tx, lead, draft.value)
}

fn leads_obj(doc: &impl ReadDoc) -> Result<ObjId, ModelError> {
    match doc.get(ROOT, "leads")? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Err(ModelError::BadField { field: "leads" }),
    }
}

fn lead_obj(doc: &impl ReadDoc, id: &LeadId) -> Result<ObjId, ModelError> {
    match doc.get(leads_obj(doc)?, id.as_str())? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Err(ModelError::NoSuchLead(id.to_string())),
    }
}

/// The lead's activity list, if it has one (leads written before it had
/// one get it with their first entry).
fn activity_obj(doc: &impl ReadDoc, lead: &ObjId) -> Result<Option<ObjId>, ModelError> {
    Ok(match doc.get(lead, "activity")? {
        Some((Value::Object(ObjType::List), obj)) => Some(obj),
        _ => None,
    })
}

fn text_obj(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Text), text) => Some(text),
        _ => None,
    }
}

fn read_follow_up(doc: &impl ReadDoc, obj: &ObjId) -> Option<FollowUp> {
    let fields = Entries::of(doc, obj);
    Some(FollowUp {
        at: Timestamp(fields.int("at")?),
        note: fields.str("note").unwrap_or_default(),
    })
}

/// The keys whose concurrent values [`conflicts::read`] names.
const CONFLICTING: [&str; 7] = [
    "contact_name",
    "company",
    "email",
    "phone",
    "value_minor",
    "currency",
    "stage",
];

/// The lead at `obj`, keyed `key`, if it reads. One walk of its fields;
/// conflicts and the pairing of an amount with its currency are looked into
/// only where a field says two devices wrote it.
fn read_lead(doc: &automerge::Automerge, obj: &ObjId, key: &str) -> Option<Lead> {
    let fields = Entries::of(doc, obj);
    let notes = match fields.obj("notes", ObjType::Text) {
        Some(text) => doc.text(&text).unwrap_or_default(),
        None => fields.str("notes").unwrap_or_default(),
    };
    let activity = fields
        .obj("activity", ObjType::List)
        .map(|list| activity::read(doc, &list))
        .unwrap_or_default();
    let apart = CONFLICTING.iter().any(|key| fields.conflicted(key));
    // Written by clients: an amount past any bound, or a currency that is
    // no ISO 4217 code, does not read (the lead is `unreadable`), exactly
    // as neither parses when typed.
    let value = if apart {
        conflicts::value(doc, obj)?
    } else {
        Money::try_new(
            fields.integer("value_minor")?,
            Currency::parse(&fields.str("currency")?).ok()?,
        )
        .ok()?
    };
    Some(Lead {
        id: LeadId::parse(key).ok()?,
        contact_name: fields.str("contact_name")?,
        company: fields.str("company").unwrap_or_default(),
        email: fields.str("email").unwrap_or_default(),
        phone: fields.str("phone").unwrap_or_default(),
        value,
        notes,
        stage: Stage::parse(&fields.str("stage")?).ok()?,
        created_at: Timestamp(fields.int("created_at")?),
        updated_at: Timestamp(fields.int("updated_at")?),
        archived_at: fields.int("archived_at").map(Timestamp),
        follow_up: fields
            .obj("follow_up", ObjType::Map)
            .and_then(|f| read_follow_up(doc, &f)),
        activity,
        conflicts: if apart {
            conflicts::read(doc, obj, value)
        } else {
            Vec::new()
        },
    })
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use super::*;
    use crate::pipeline::{LeadField, limits};

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    fn draft(name: &str, notes: &str) -> LeadDraft {
        LeadDraft::parse(name, "Acme", "a@acme.io", "+1 555", usd(150_000), notes).unwrap()
    }

    fn new_pipeline() -> Automerge {
        let mut doc = Automerge::new();
        PipelineDoc::init(&mut doc, &PartnerId::parse("p-ana").unwrap()).unwrap();
        doc
    }

    fn id(s: &str) -> LeadId {
        LeadId::parse(s).unwrap()
    }

    #[test]
    fn a_lead_written_reads_back_whole() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(
            &mut doc,
            &id("l1"),
            &draft("Ada", "call Monday"),
            Timestamp(10),
        )
        .unwrap();
        PipelineDoc::move_lead(&mut doc, &id("l1"), Stage::Contacted, Timestamp(20)).unwrap();
        let pipeline = PipelineDoc::read(&doc).unwrap();
        assert_eq!(pipeline.partner_id.as_str(), "p-ana");
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert_eq!(lead.contact_name, "Ada");
        assert_eq!(lead.notes, "call Monday");
        assert_eq!(lead.value, usd(150_000));
        assert_eq!(lead.stage, Stage::Contacted);
        assert_eq!(
            (lead.created_at, lead.updated_at),
            (Timestamp(10), Timestamp(20))
        );
        assert_eq!(
            lead.activity,
            vec![Activity::Moved {
                at: Timestamp(20),
                from: Stage::New,
                to: Stage::Contacted
            }]
        );
        assert_eq!((lead.archived_at, &lead.follow_up), (None, &None));
        assert!(lead.conflicts.is_empty());
    }

    #[test]
    fn moving_to_the_same_stage_records_nothing() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        let heads = doc.get_heads();
        PipelineDoc::move_lead(&mut doc, &id("l1"), Stage::New, Timestamp(2)).unwrap();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn writes_to_missing_leads_and_duplicates_are_refused() {
        let mut doc = new_pipeline();
        assert_eq!(
            PipelineDoc::move_lead(&mut doc, &id("nope"), Stage::Won, Timestamp(1)),
            Err(ModelError::NoSuchLead("nope".into()))
        );
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        assert_eq!(
            PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Bob", ""), Timestamp(2)),
            Err(ModelError::DuplicateLead("l1".into()))
        );
    }

    #[test]
    fn concurrent_move_and_notes_edit_both_survive_the_merge() {
        let mut base = new_pipeline();
        PipelineDoc::add_lead(
            &mut base,
            &id("l1"),
            &draft("Ada", "first call"),
            Timestamp(1),
        )
        .unwrap();
        let mut phone = base.fork();
        let mut laptop = base.fork();

        PipelineDoc::move_lead(&mut phone, &id("l1"), Stage::Won, Timestamp(5)).unwrap();
        let mut edited = draft("Ada", "first call; sent the contract");
        edited.phone = "+1 555".into();
        PipelineDoc::edit_lead(&mut laptop, &id("l1"), &edited, Timestamp(6)).unwrap();
        PipelineDoc::add_lead(&mut laptop, &id("l2"), &draft("Bea", ""), Timestamp(7)).unwrap();

        phone.merge(&mut laptop.clone()).unwrap();
        laptop.merge(&mut phone.clone()).unwrap();
        let (a, b) = (
            PipelineDoc::read(&phone).unwrap(),
            PipelineDoc::read(&laptop).unwrap(),
        );
        assert_eq!(a, b);
        let lead = a.lead(&id("l1")).unwrap();
        assert_eq!(lead.stage, Stage::Won);
        assert_eq!(lead.notes, "first call; sent the contract");
        assert_eq!(a.leads.len(), 2);
    }

    #[test]
    fn concurrent_stage_moves_are_both_logged() {
        let mut base = new_pipeline();
        PipelineDoc::add_lead(&mut base, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        let mut a = base.fork();
        let mut b = base.fork();
        PipelineDoc::move_lead(&mut a, &id("l1"), Stage::Won, Timestamp(5)).unwrap();
        PipelineDoc::move_lead(&mut b, &id("l1"), Stage::Lost, Timestamp(6)).unwrap();
        a.merge(&mut b).unwrap();
        let lead = PipelineDoc::read(&a).unwrap().leads.remove(0);
        assert_eq!(lead.activity.len(), 2);
        assert!(lead.stage_changes().any(|(_, _, to)| to == lead.stage));
    }

    #[test]
    fn documents_of_another_kind_or_newer_schema_are_refused() {
        let doc = Automerge::new();
        assert!(matches!(
            PipelineDoc::read(&doc),
            Err(ModelError::WrongKind { .. })
        ));
        let mut doc = new_pipeline();
        doc.transact(|tx| tx.put(ROOT, "schema", SCHEMA_VERSION + 1))
            .unwrap();
        assert_eq!(
            PipelineDoc::read(&doc),
            Err(ModelError::UnsupportedSchema(SCHEMA_VERSION + 1))
        );
    }

    #[test]
    fn a_broken_lead_is_reported_not_dropped_silently() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        let leads = leads_obj(&doc).unwrap();
        doc.transact(|tx| tx.put(&leads, "junk", 42)).unwrap();
        let pipeline = PipelineDoc::read(&doc).unwrap();
        assert_eq!(pipeline.leads.len(), 1);
        assert_eq!(pipeline.unreadable, vec!["junk".to_string()]);
    }

    #[test]
    fn a_lead_whose_amount_would_not_parse_does_not_read() {
        // What a client that skips the parser can write: an amount past
        // any bound, a made-up currency. A small negative amount still
        // reads (what the projection makes of it is its own business).
        let mut doc = new_pipeline();
        let leads = leads_obj(&doc).unwrap();
        for (lead, minor, currency) in [
            ("huge", i64::MAX, "USD"),
            ("past-max", Money::MAX_MINOR + 1, "USD"),
            ("made-up", 100, "ZZZ"),
            ("max", Money::MAX_MINOR, "USD"),
            ("negative", -5, "USD"),
        ] {
            PipelineDoc::add_lead(&mut doc, &id(lead), &draft("Ada", ""), Timestamp(1)).unwrap();
            let obj = match doc.get(&leads, lead).unwrap() {
                Some((Value::Object(ObjType::Map), obj)) => obj,
                other => panic!("{other:?}"),
            };
            doc.transact(|tx| {
                tx.put(&obj, "value_minor", minor)?;
                tx.put(&obj, "currency", currency)
            })
            .unwrap();
        }
        let pipeline = PipelineDoc::read(&doc).unwrap();
        let mut unreadable = pipeline.unreadable.clone();
        unreadable.sort();
        assert_eq!(unreadable, ["huge", "made-up", "past-max"]);
        let values: Vec<i64> = pipeline.leads.iter().map(|l| l.value.minor).collect();
        assert_eq!(values.len(), 2);
        assert!(values.contains(&Money::MAX_MINOR) && values.contains(&-5));
    }

    #[test]
    fn an_archived_lead_leaves_the_board_keeps_its_history_and_comes_back() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        PipelineDoc::move_lead(&mut doc, &id("l1"), Stage::Qualified, Timestamp(2)).unwrap();
        PipelineDoc::archive_lead(&mut doc, &id("l1"), Timestamp(3)).unwrap();
        let heads = doc.get_heads();
        PipelineDoc::archive_lead(&mut doc, &id("l1"), Timestamp(4)).unwrap();
        assert_eq!(doc.get_heads(), heads, "archiving twice writes nothing");

        let pipeline = PipelineDoc::read(&doc).unwrap();
        assert_eq!(pipeline.in_stage(Stage::Qualified).count(), 0);
        let archived: Vec<&Lead> = pipeline.archived().collect();
        assert_eq!(archived.len(), 1);
        assert_eq!(archived[0].archived_at, Some(Timestamp(3)));
        assert_eq!(archived[0].stage, Stage::Qualified);

        PipelineDoc::restore_lead(&mut doc, &id("l1"), Timestamp(5)).unwrap();
        let pipeline = PipelineDoc::read(&doc).unwrap();
        assert_eq!(pipeline.in_stage(Stage::Qualified).count(), 1);
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert_eq!(lead.archived_at, None);
        assert_eq!(
            lead.activity[1..],
            [
                Activity::Archived { at: Timestamp(3) },
                Activity::Restored { at: Timestamp(5) }
            ]
        );
        assert_eq!(lead.updated_at, Timestamp(5));
    }

    #[test]
    fn calls_meetings_and_notes_are_logged_in_order_and_bounded() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        PipelineDoc::log_activity(
            &mut doc,
            &id("l1"),
            LogKind::Call,
            " left a voicemail ",
            Timestamp(2),
            Timestamp(9),
        )
        .unwrap();
        PipelineDoc::log_activity(
            &mut doc,
            &id("l1"),
            LogKind::Meeting,
            "",
            Timestamp(3),
            Timestamp(9),
        )
        .unwrap();
        assert!(
            PipelineDoc::log_activity(
                &mut doc,
                &id("l1"),
                LogKind::Note,
                " ",
                Timestamp(4),
                Timestamp(9)
            )
            .is_err(),
            "an empty note says nothing"
        );
        let too_long = "x".repeat(limits::ENTRY + 1);
        assert!(matches!(
            PipelineDoc::log_activity(
                &mut doc,
                &id("l1"),
                LogKind::Note,
                &too_long,
                Timestamp(4),
                Timestamp(9)
            ),
            Err(ModelError::Invalid { what: "note", .. })
        ));
        let lead = PipelineDoc::read(&doc).unwrap().leads.remove(0);
        assert_eq!(
            lead.activity,
            [
                Activity::Logged {
                    at: Timestamp(2),
                    kind: LogKind::Call,
                    text: "left a voicemail".into()
                },
                Activity::Logged {
                    at: Timestamp(3),
                    kind: LogKind::Meeting,
                    text: String::new()
                },
            ]
        );
        assert_eq!(lead.updated_at, Timestamp(9));
    }

    #[test]
    fn an_entry_of_an_unknown_kind_is_skipped_not_dropped() {
        let mut doc = new_pipeline();
        PipelineDoc::add_lead(&mut doc, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        PipelineDoc::log_activity(
            &mut doc,
            &id("l1"),
            LogKind::Call,
            "hi",
            Timestamp(2),
            Timestamp(2),
        )
        .unwrap();
        let lead = lead_obj(&doc, &id("l1")).unwrap();
        let list = activity_obj(&doc, &lead).unwrap().unwrap();
        doc.transact(|tx| {
            let entry = tx.insert_object(&list, 0, ObjType::Map)?;
            tx.put(&entry, "at", ScalarValue::Timestamp(1))?;
            tx.put(&entry, "kind", "video-call")
        })
        .unwrap();
        let read = PipelineDoc::read(&doc).unwrap().leads.remove(0);
        assert_eq!(read.activity.len(), 1);
        assert_eq!(doc.length(&list), 2);
    }

    #[test]
    fn follow_ups_are_set_cleared_and_listed_when_due() {
        let mut doc = new_pipeline();
        for (lead, at) in [("l1", 300), ("l2", 100), ("l3", 200), ("l4", 900)] {
            PipelineDoc::add_lead(&mut doc, &id(lead), &draft("Ada", ""), Timestamp(1)).unwrap();
            let follow_up = FollowUp::parse(Timestamp(at), "send the quote").unwrap();
            PipelineDoc::set_follow_up(&mut doc, &id(lead), Some(&follow_up), Timestamp(2))
                .unwrap();
        }
        PipelineDoc::archive_lead(&mut doc, &id("l3"), Timestamp(3)).unwrap();
        let pipeline = PipelineDoc::read(&doc).unwrap();
        let due: Vec<&str> = pipeline
            .follow_ups_due(Timestamp(500))
            .iter()
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(
            due,
            ["l2", "l1"],
            "soonest first; archived and later ones not"
        );
        assert_eq!(
            pipeline.lead(&id("l1")).unwrap().follow_up,
            Some(FollowUp {
                at: Timestamp(300),
                note: "send the quote".into()
            })
        );

        PipelineDoc::set_follow_up(&mut doc, &id("l2"), None, Timestamp(4)).unwrap();
        let heads = doc.get_heads();
        PipelineDoc::set_follow_up(&mut doc, &id("l2"), None, Timestamp(5)).unwrap();
        assert_eq!(doc.get_heads(), heads, "clearing nothing writes nothing");
        let pipeline = PipelineDoc::read(&doc).unwrap();
        assert_eq!(pipeline.lead(&id("l2")).unwrap().follow_up, None);
    }

    /// Two replicas of one pipeline with lead l1, apart.
    fn apart() -> (Automerge, Automerge) {
        let mut base = new_pipeline();
        PipelineDoc::add_lead(
            &mut base,
            &id("l1"),
            &draft("Ada", "first call"),
            Timestamp(1),
        )
        .unwrap();
        let phone = base.fork().with_actor(automerge::ActorId::from(vec![1]));
        let laptop = base.fork().with_actor(automerge::ActorId::from(vec![2]));
        (phone, laptop)
    }

    fn merged(a: &mut Automerge, b: &mut Automerge) -> Pipeline {
        a.merge(&mut b.clone()).unwrap();
        b.merge(&mut a.clone()).unwrap();
        let (x, y) = (PipelineDoc::read(a).unwrap(), PipelineDoc::read(b).unwrap());
        assert_eq!(x, y, "replicas read alike");
        x
    }

    #[test]
    fn a_field_set_on_two_devices_while_apart_is_marked_and_can_be_settled() {
        let (mut phone, mut laptop) = apart();
        let mut on_phone = draft("Ada Lovelace", "first call");
        on_phone.value = usd(200_000);
        PipelineDoc::edit_lead(&mut phone, &id("l1"), &on_phone, Timestamp(5)).unwrap();
        let mut on_laptop = draft("Ada King", "first call");
        on_laptop.value = Money::new(90_000, Currency::parse("EUR").unwrap());
        on_laptop.company = "Acme Ltd".into();
        PipelineDoc::edit_lead(&mut laptop, &id("l1"), &on_laptop, Timestamp(6)).unwrap();
        PipelineDoc::move_lead(&mut phone, &id("l1"), Stage::Won, Timestamp(7)).unwrap();
        PipelineDoc::move_lead(&mut laptop, &id("l1"), Stage::Lost, Timestamp(8)).unwrap();

        let pipeline = merged(&mut phone, &mut laptop);
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert_eq!(
            lead.company, "Acme Ltd",
            "a field only one side set is no conflict"
        );
        assert_eq!(lead.conflict(LeadField::Company), None);

        let name = lead
            .conflict(LeadField::ContactName)
            .expect("name conflict");
        let other_name = if lead.contact_name == "Ada King" {
            "Ada Lovelace"
        } else {
            "Ada King"
        };
        assert_eq!(
            name.others,
            [ConflictValue::Text(
                LeadField::ContactName,
                other_name.into()
            )]
        );
        let value = lead.conflict(LeadField::Value).expect("value conflict");
        let other_value = if lead.value == usd(200_000) {
            Money::new(90_000, Currency::parse("EUR").unwrap())
        } else {
            usd(200_000)
        };
        assert_eq!(
            value.others,
            [ConflictValue::Value(other_value)],
            "paired with its currency"
        );
        let stage = lead.conflict(LeadField::Stage).expect("stage conflict");
        let other_stage = if lead.stage == Stage::Won {
            Stage::Lost
        } else {
            Stage::Won
        };
        assert_eq!(stage.others, [ConflictValue::Stage(other_stage)]);

        // Keep the name shown, take the other amount and the other stage.
        let shown_name = ConflictValue::Text(LeadField::ContactName, lead.contact_name.clone());
        PipelineDoc::settle(&mut phone, &id("l1"), &shown_name, Timestamp(9)).unwrap();
        PipelineDoc::settle(
            &mut phone,
            &id("l1"),
            &ConflictValue::Value(other_value),
            Timestamp(9),
        )
        .unwrap();
        PipelineDoc::settle(
            &mut phone,
            &id("l1"),
            &ConflictValue::Stage(other_stage),
            Timestamp(9),
        )
        .unwrap();
        let shown = lead.contact_name.clone();
        let pipeline = merged(&mut phone, &mut laptop);
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert_eq!(lead.conflicts, []);
        assert_eq!(
            (lead.contact_name.as_str(), lead.value, lead.stage),
            (shown.as_str(), other_value, other_stage)
        );
    }

    #[test]
    fn an_amount_changed_on_one_device_and_its_currency_on_another_never_mix() {
        let (mut phone, mut laptop) = apart();
        let mut amount_only = draft("Ada", "first call");
        amount_only.value = usd(200_000);
        PipelineDoc::edit_lead(&mut phone, &id("l1"), &amount_only, Timestamp(5)).unwrap();
        let eur = Money::new(150_000, Currency::parse("EUR").unwrap());
        let mut currency_only = draft("Ada", "first call");
        currency_only.value = eur;
        PipelineDoc::edit_lead(&mut laptop, &id("l1"), &currency_only, Timestamp(6)).unwrap();

        let pipeline = merged(&mut phone, &mut laptop);
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert!(
            [usd(200_000), eur].contains(&lead.value),
            "shown: a value someone typed, not {:?}",
            lead.value
        );
        let other = if lead.value == eur { usd(200_000) } else { eur };
        assert_eq!(
            lead.conflict(LeadField::Value).map(|c| c.others.clone()),
            Some(vec![ConflictValue::Value(other)])
        );
    }

    /// A screen shows a lead it added before the document has it, and its
    /// form opens on that reading, whose heads are from before the lead.
    #[test]
    fn an_edit_seen_before_its_lead_was_added_is_written() {
        let (mut phone, _) = apart();
        let seen = phone.get_heads();
        PipelineDoc::add_lead(&mut phone, &id("l9"), &draft("Eve", ""), Timestamp(7)).unwrap();
        let mut typed = draft("Eve Stone", "");
        typed.phone = "+1 555 0100".into();
        PipelineDoc::edit_lead_seen(&mut phone, &seen, &id("l9"), &typed, Timestamp(8)).unwrap();
        let lead = PipelineDoc::read(&phone)
            .unwrap()
            .lead(&id("l9"))
            .cloned()
            .unwrap();
        assert_eq!(
            (lead.contact_name.as_str(), lead.phone.as_str()),
            ("Eve Stone", "+1 555 0100")
        );
        assert!(
            PipelineDoc::edit_lead_seen(&mut phone, &seen, &id("nobody"), &typed, Timestamp(9))
                .is_err(),
            "a lead that is nowhere is still no lead"
        );
    }

    #[test]
    fn an_edit_saved_from_what_was_seen_keeps_what_another_device_did_meanwhile() {
        let (mut phone, mut laptop) = apart();
        // The phone opens the edit form; meanwhile the laptop's changes
        // arrive.
        let seen = phone.get_heads();
        let mut on_laptop = draft("Ada", "first call; they want a demo");
        on_laptop.company = "Acme Ltd".into();
        PipelineDoc::edit_lead(&mut laptop, &id("l1"), &on_laptop, Timestamp(5)).unwrap();
        phone.merge(&mut laptop.clone()).unwrap();
        // The form still holds what was seen, with the phone number changed.
        let mut typed = draft("Ada", "first call");
        typed.phone = "+1 555 0199".into();
        PipelineDoc::edit_lead_seen(&mut phone, &seen, &id("l1"), &typed, Timestamp(6)).unwrap();

        let pipeline = merged(&mut phone, &mut laptop);
        let lead = pipeline.lead(&id("l1")).unwrap();
        assert_eq!(lead.phone, "+1 555 0199");
        assert_eq!(lead.company, "Acme Ltd", "the laptop's company stays");
        assert_eq!(
            lead.notes, "first call; they want a demo",
            "the laptop's words stay"
        );
        assert_eq!(lead.conflicts, []);

        // Heads this document does not know: the edit applies as it is.
        let mut other = Automerge::new();
        PipelineDoc::init(&mut other, &PartnerId::parse("p-x").unwrap()).unwrap();
        let mut typed = draft("Ada", "first call; they want a demo");
        typed.company = "Acme Ltd".into();
        typed.phone = "+1 555 0100".into();
        PipelineDoc::edit_lead_seen(
            &mut phone,
            &other.get_heads(),
            &id("l1"),
            &typed,
            Timestamp(7),
        )
        .unwrap();
        assert_eq!(
            PipelineDoc::read(&phone).unwrap().leads[0].phone,
            "+1 555 0100"
        );
    }

    /// What a client that skips the model can write: an amount stored as a
    /// time. It reads as no amount (the lead is unreadable, kept in the
    /// document) whether or not a field of the lead was set on two devices,
    /// which reads the amount by another path.
    #[test]
    fn an_amount_written_as_a_time_does_not_read_on_either_path() {
        let as_time = |doc: &mut Automerge| {
            let lead = lead_obj(doc, &id("l1")).unwrap();
            doc.transact(|tx| tx.put(&lead, "value_minor", ScalarValue::Timestamp(5)))
                .unwrap();
        };
        let mut alone = new_pipeline();
        PipelineDoc::add_lead(&mut alone, &id("l1"), &draft("Ada", ""), Timestamp(1)).unwrap();
        as_time(&mut alone);
        assert_eq!(PipelineDoc::read(&alone).unwrap().unreadable, ["l1"]);

        let (mut phone, mut laptop) = apart();
        PipelineDoc::edit_lead(
            &mut phone,
            &id("l1"),
            &draft("Ada K", "first call"),
            Timestamp(5),
        )
        .unwrap();
        PipelineDoc::edit_lead(
            &mut laptop,
            &id("l1"),
            &draft("Ada L", "first call"),
            Timestamp(6),
        )
        .unwrap();
        as_time(&mut phone);
        phone.merge(&mut laptop).unwrap();
        let pipeline = PipelineDoc::read(&phone).unwrap();
        assert_eq!(pipeline.unreadable, ["l1"]);
        assert!(pipeline.leads.is_empty());
    }

    #[test]
    fn the_same_value_set_on_both_sides_is_no_conflict() {
        let (mut phone, mut laptop) = apart();
        PipelineDoc::edit_lead(
            &mut phone,
            &id("l1"),
            &draft("Ada K", "first call"),
            Timestamp(5),
        )
        .unwrap();
        PipelineDoc::edit_lead(
            &mut laptop,
            &id("l1"),
            &draft("Ada K", "first call"),
            Timestamp(6),
        )
        .unwrap();
        assert_eq!(merged(&mut phone, &mut laptop).leads[0].conflicts, []);
    }
}
