//! The partner pipeline: one Automerge document per partner holding all of
//! that partner's leads.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "pipeline", partner_id: "p-ana",
//!        leads: { <lead id>: { contact_name, company, email, phone,
//!                              value_minor: int, currency: "USD",
//!                              notes: Text, stage: "new",
//!                              created_at: ts, updated_at: ts,
//!                              activity: [ { at: ts, from: "new", to: "won" } ] } } }
//! ```
//!
//! Why this shape merges well: leads live in a map keyed by a client-chosen id,
//! so two devices adding leads offline never collide; every field is its own
//! register, so one device moving a lead while another edits its notes keeps
//! both edits; notes are a text object, so concurrent edits of the same notes
//! interleave instead of one replacing the other; the activity log is a list,
//! so concurrent stage changes are both recorded.

use automerge::{
    AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use serde::{Deserialize, Serialize};

use crate::{
    Currency, LeadId, ModelError, Money, PartnerId, Quoted, Stage, Timestamp,
    read::{check_kind, int, string},
};

/// The newest layout this code writes and reads.
pub const SCHEMA_VERSION: u64 = 1;
/// The value of the root `kind` field of a pipeline document.
pub const PIPELINE_KIND: &str = "pipeline";

/// What a person types to create or edit a lead. Parsed: the contact name is
/// present and the email, when given, looks like one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadDraft {
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub value: Money,
    pub notes: String,
}

impl LeadDraft {
    pub fn parse(
        contact_name: &str,
        company: &str,
        email: &str,
        phone: &str,
        value: Money,
        notes: &str,
    ) -> Result<LeadDraft, ModelError> {
        let contact_name = contact_name.trim();
        if contact_name.is_empty() {
            return Err(ModelError::Invalid {
                what: "contact name",
                why: "is required".into(),
            });
        }
        let email = email.trim();
        if !email.is_empty() {
            let plausible = email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if !plausible || email.contains(char::is_whitespace) {
                return Err(ModelError::Invalid {
                    what: "email",
                    why: format!("{} is not an email address", Quoted(email)),
                });
            }
        }
        if value.minor < 0 {
            return Err(ModelError::Invalid {
                what: "estimated value",
                why: "cannot be negative".into(),
            });
        }
        Ok(LeadDraft {
            contact_name: contact_name.to_owned(),
            company: company.trim().to_owned(),
            email: email.to_owned(),
            phone: phone.trim().to_owned(),
            value,
            notes: notes.to_owned(),
        })
    }
}

/// One recorded move of a lead between stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    pub at: Timestamp,
    pub from: Stage,
    pub to: Stage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub value: Money,
    pub notes: String,
    pub stage: Stage,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub activity: Vec<StageChange>,
}

/// A pipeline document read into plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub partner_id: PartnerId,
    /// Oldest first; ties broken by id so every replica lists them alike.
    pub leads: Vec<Lead>,
    /// Ids of entries under `leads` that could not be read (written by a newer
    /// or broken client). They are kept in the document, never dropped.
    pub unreadable: Vec<String>,
}

impl Pipeline {
    pub fn lead(&self, id: &LeadId) -> Option<&Lead> {
        self.leads.iter().find(|lead| &lead.id == id)
    }

    pub fn in_stage(&self, stage: Stage) -> impl Iterator<Item = &Lead> {
        self.leads.iter().filter(move |lead| lead.stage == stage)
    }
}

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

    pub fn read(doc: &impl ReadDoc) -> Result<Pipeline, ModelError> {
        check_kind(doc, PIPELINE_KIND, SCHEMA_VERSION)?;
        let partner_id = string(doc, &ROOT, "partner_id")
            .and_then(|s| PartnerId::parse(&s).ok())
            .ok_or(ModelError::BadField {
                field: "partner_id",
            })?;
        let leads_obj = leads_obj(doc)?;
        let mut leads = Vec::new();
        let mut unreadable = Vec::new();
        for key in doc.keys(&leads_obj) {
            match read_lead(doc, &leads_obj, &key) {
                Some(lead) => leads.push(lead),
                None => unreadable.push(key),
            }
        }
        leads.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(Pipeline {
            partner_id,
            leads,
            unreadable,
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
        let lead_obj = lead_obj(doc, id)?;
        let current = read_lead(doc, &leads_obj(doc)?, id.as_str())
            .ok_or_else(|| ModelError::NoSuchLead(id.to_string()))?;
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
                tx.put(&lead_obj, "value_minor", draft.value.minor)?;
                tx.put(&lead_obj, "currency", draft.value.currency.as_str())?;
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
        let activity = match doc.get(&lead_obj, "activity")? {
            Some((Value::Object(ObjType::List), obj)) => Some(obj),
            _ => None,
        };
        doc.transact(|tx| {
            tx.put(&lead_obj, "stage", to.as_str())?;
            tx.put(&lead_obj, "updated_at", ScalarValue::Timestamp(now.0))?;
            let activity = match &activity {
                Some(obj) => obj.clone(),
                None => tx.put_object(&lead_obj, "activity", ObjType::List)?,
            };
            let entry = tx.insert_object(&activity, tx.length(&activity), ObjType::Map)?;
            tx.put(&entry, "at", ScalarValue::Timestamp(now.0))?;
            tx.put(&entry, "from", from.as_str())?;
            tx.put(&entry, "to", to.as_str())?;
            Ok::<_, AutomergeError>(())
        })
        .map_err(|f| f.error)?;
        Ok(())
    }
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
    tx.put(lead, "value_minor", draft.value.minor)?;
    tx.put(lead, "currency", draft.value.currency.as_str())?;
    Ok(())
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

fn text_obj(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Text), text) => Some(text),
        _ => None,
    }
}

fn read_lead(doc: &impl ReadDoc, leads: &ObjId, key: &str) -> Option<Lead> {
    let obj = match doc.get(leads, key).ok()?? {
        (Value::Object(ObjType::Map), obj) => obj,
        _ => return None,
    };
    let text_or_str = |field: &str| -> String {
        match text_obj(doc, &obj, field) {
            Some(text) => doc.text(&text).unwrap_or_default(),
            None => string(doc, &obj, field).unwrap_or_default(),
        }
    };
    let activity = match doc.get(&obj, "activity").ok().flatten() {
        Some((Value::Object(ObjType::List), list)) => doc
            .list_range(&list, ..)
            .filter_map(|item| {
                let entry = item.id();
                Some(StageChange {
                    at: Timestamp(int(doc, &entry, "at")?),
                    from: Stage::parse(&string(doc, &entry, "from")?).ok()?,
                    to: Stage::parse(&string(doc, &entry, "to")?).ok()?,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(Lead {
        id: LeadId::parse(key).ok()?,
        contact_name: string(doc, &obj, "contact_name")?,
        company: string(doc, &obj, "company").unwrap_or_default(),
        email: string(doc, &obj, "email").unwrap_or_default(),
        phone: string(doc, &obj, "phone").unwrap_or_default(),
        // Written by clients: an amount past any bound, or a currency that
        // is no ISO 4217 code, does not read (the lead is `unreadable`),
        // exactly as neither parses when typed.
        value: Money::try_new(
            int(doc, &obj, "value_minor")?,
            Currency::parse(&string(doc, &obj, "currency")?).ok()?,
        )
        .ok()?,
        notes: text_or_str("notes"),
        stage: Stage::parse(&string(doc, &obj, "stage")?).ok()?,
        created_at: Timestamp(int(doc, &obj, "created_at")?),
        updated_at: Timestamp(int(doc, &obj, "updated_at")?),
        activity,
    })
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use super::*;

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
            vec![StageChange {
                at: Timestamp(20),
                from: Stage::New,
                to: Stage::Contacted
            }]
        );
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
        assert!(lead.activity.iter().any(|c| c.to == lead.stage));
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
    fn drafts_are_parsed() {
        assert!(LeadDraft::parse("  ", "", "", "", usd(0), "").is_err());
        assert!(LeadDraft::parse("Ada", "", "not-an-email", "", usd(0), "").is_err());
        assert!(LeadDraft::parse("Ada", "", "", "", usd(-1), "").is_err());
        let ok = LeadDraft::parse(" Ada ", "", "", "", usd(0), "").unwrap();
        assert_eq!(ok.contact_name, "Ada");
    }
}
