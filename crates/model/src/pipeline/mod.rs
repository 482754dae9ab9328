//! The partner pipeline: one Automerge document per partner holding all of
//! that partner's leads.
//!
//! Layout (schema 1; the fields marked + came later and are optional, so a
//! document without them reads as before and an older app ignores them):
//!
//! ```text
//! ROOT { schema: 1, kind: "pipeline", partner_id: "p-ana",
//!        leads: { <lead id>: { contact_name, company, email, phone,
//!                              value_minor: int, currency: "USD",
//!                              notes: Text, stage: "new",
//!                              created_at: ts, updated_at: ts,
//!                            + archived_at: ts,
//!                            + follow_up: { at: ts, note },
//!                              activity: [ { at: ts, from: "new", to: "won" },
//!                                        + { at: ts, kind: "call", text },
//!                                        + { at: ts, kind: "archived" }, ... ] } } }
//! ```
//!
//! Why this shape merges well: leads live in a map keyed by a client-chosen id,
//! so two devices adding leads offline never collide; every field is its own
//! register, so one device moving a lead while another edits its notes keeps
//! both edits; notes are a text object, so concurrent edits of the same notes
//! interleave instead of one replacing the other; the activity log is a list,
//! so concurrent stage changes and logged calls are all recorded. Two devices
//! that set the same register while apart both keep their value in the
//! document (Automerge shows one, the same everywhere); [`Lead::conflicts`]
//! names the others so the partner can keep either (see `conflicts.rs`).

mod activity;
mod conflicts;
#[cfg(feature = "doc")]
mod doc;
mod draft;
mod edit;

use serde::{Deserialize, Serialize};

pub use activity::{Activity, LogKind};
pub use conflicts::{Conflict, ConflictValue, LeadField};
#[cfg(feature = "doc")]
pub use doc::PipelineDoc;
pub use draft::{FollowUp, LeadDraft, limits};
pub use edit::PipelineEdit;

use crate::{Heads, LeadId, Money, PartnerId, Stage, Timestamp};

/// The newest layout this code writes and reads.
pub const SCHEMA_VERSION: u64 = 1;
/// The value of the root `kind` field of a pipeline document.
pub const PIPELINE_KIND: &str = "pipeline";

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
    /// When it left the board; `None` while it is on it.
    pub archived_at: Option<Timestamp>,
    pub follow_up: Option<FollowUp>,
    /// In the order the document holds it: concurrent entries interleave
    /// alike on every replica, so sort by time to show it.
    pub activity: Vec<Activity>,
    /// Fields two devices set while apart, with the values not shown.
    pub conflicts: Vec<Conflict>,
}

impl Lead {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    /// The stage moves only, oldest first as the log holds them.
    pub fn stage_changes(&self) -> impl Iterator<Item = (Timestamp, Stage, Stage)> + '_ {
        self.activity.iter().filter_map(|entry| match entry {
            Activity::Moved { at, from, to } => Some((*at, *from, *to)),
            _ => None,
        })
    }

    pub fn conflict(&self, field: LeadField) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.field == field)
    }

    /// The value the lead shows for `field`, as a conflict names values.
    pub fn value_of(&self, field: LeadField) -> ConflictValue {
        match field {
            LeadField::ContactName => ConflictValue::Text(field, self.contact_name.clone()),
            LeadField::Company => ConflictValue::Text(field, self.company.clone()),
            LeadField::Email => ConflictValue::Text(field, self.email.clone()),
            LeadField::Phone => ConflictValue::Text(field, self.phone.clone()),
            LeadField::Value => ConflictValue::Value(self.value),
            LeadField::Stage => ConflictValue::Stage(self.stage),
        }
    }
}

/// A pipeline document read into plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub partner_id: PartnerId,
    /// Oldest first; ties broken by id so every replica lists them alike.
    /// Archived leads included (see [`Lead::is_archived`]).
    pub leads: Vec<Lead>,
    /// Ids of entries under `leads` that could not be read (written by a newer
    /// or broken client). They are kept in the document, never dropped.
    pub unreadable: Vec<String>,
    /// The document's heads as read: what a form opened now has seen (see
    /// `PipelineDoc::edit_lead_seen`).
    pub heads: Heads,
}

impl Pipeline {
    pub fn lead(&self, id: &LeadId) -> Option<&Lead> {
        self.leads.iter().find(|lead| &lead.id == id)
    }

    /// The leads on the board in `stage` (archived ones are not).
    pub fn in_stage(&self, stage: Stage) -> impl Iterator<Item = &Lead> {
        self.leads
            .iter()
            .filter(move |lead| lead.stage == stage && !lead.is_archived())
    }

    pub fn archived(&self) -> impl Iterator<Item = &Lead> {
        self.leads.iter().filter(|lead| lead.is_archived())
    }

    /// Leads on the board with a follow-up at or before `until`, soonest
    /// first (ties by id): what is due or overdue then.
    pub fn follow_ups_due(&self, until: Timestamp) -> Vec<&Lead> {
        let mut due: Vec<&Lead> = self
            .leads
            .iter()
            .filter(|lead| !lead.is_archived())
            .filter(|lead| lead.follow_up.as_ref().is_some_and(|f| f.at <= until))
            .collect();
        due.sort_by_key(|lead| (lead.follow_up.as_ref().map(|f| f.at), lead.id.clone()));
        due
    }
}
