//! A lead's activity log: stage moves, logged calls, meetings and notes, and
//! when it left and came back to the board. A list in the document, so
//! entries written on two devices while apart are all kept.
//!
//! Entries are maps. A move is `{ at, from, to }`, as the first schema
//! wrote it; every other entry names its `kind`. An entry of a kind this
//! code does not know (a newer app's) is skipped when read, never removed.

#[cfg(feature = "doc")]
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, transaction::Transactable};
use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
use crate::read::Entries;
use crate::{ModelError, Quoted, Stage, Timestamp};

/// What a partner logs by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    Call,
    Meeting,
    Note,
}

impl LogKind {
    pub const ALL: [LogKind; 3] = [LogKind::Call, LogKind::Meeting, LogKind::Note];

    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Call => "call",
            LogKind::Meeting => "meeting",
            LogKind::Note => "note",
        }
    }

    /// What a person typed about a call, meeting or note, trimmed and
    /// bounded; a note must say something (a call or meeting is worth
    /// logging with no words).
    pub fn parse_text(self, text: &str) -> Result<String, ModelError> {
        let text = super::draft::bounded(self.as_str(), text.trim(), super::limits::ENTRY)?;
        if text.is_empty() && self == LogKind::Note {
            return Err(ModelError::Invalid {
                what: "note",
                why: "is empty".into(),
            });
        }
        Ok(text.to_owned())
    }

    pub fn parse(s: &str) -> Result<LogKind, ModelError> {
        LogKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ModelError::Invalid {
                what: "activity",
                why: format!("{} is not one of call, meeting, note", Quoted(s)),
            })
    }
}

/// One entry of a lead's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activity {
    Moved {
        at: Timestamp,
        from: Stage,
        to: Stage,
    },
    Logged {
        at: Timestamp,
        kind: LogKind,
        text: String,
    },
    Archived {
        at: Timestamp,
    },
    Restored {
        at: Timestamp,
    },
}

impl Activity {
    pub fn at(&self) -> Timestamp {
        match self {
            Activity::Moved { at, .. }
            | Activity::Logged { at, .. }
            | Activity::Archived { at }
            | Activity::Restored { at } => *at,
        }
    }
}

#[cfg(feature = "doc")]
/// Appends `entry` to the lead's log, making the log if the lead has none.
pub(super) fn append<T: Transactable>(
    tx: &mut T,
    lead: &ObjId,
    list: Option<&ObjId>,
    entry: &Activity,
) -> Result<(), AutomergeError> {
    let list = match list {
        Some(list) => list.clone(),
        None => tx.put_object(lead, "activity", ObjType::List)?,
    };
    let obj = tx.insert_object(&list, tx.length(&list), ObjType::Map)?;
    tx.put(&obj, "at", ScalarValue::Timestamp(entry.at().0))?;
    match entry {
        Activity::Moved { from, to, .. } => {
            tx.put(&obj, "from", from.as_str())?;
            tx.put(&obj, "to", to.as_str())?;
        }
        Activity::Logged { kind, text, .. } => {
            tx.put(&obj, "kind", kind.as_str())?;
            tx.put(&obj, "text", text.as_str())?;
        }
        Activity::Archived { .. } => tx.put(&obj, "kind", "archived")?,
        Activity::Restored { .. } => tx.put(&obj, "kind", "restored")?,
    }
    Ok(())
}

#[cfg(feature = "doc")]
/// The entries of the log that read, in the list's order.
pub(super) fn read(doc: &impl ReadDoc, list: &ObjId) -> Vec<Activity> {
    doc.list_range(list, ..)
        .filter_map(|item| {
            if !matches!(item.value, automerge::ValueRef::Object(ObjType::Map)) {
                return None;
            }
            let entry = Entries::of(doc, &item.id());
            let at = Timestamp(entry.int("at")?);
            Some(match entry.str("kind").as_deref() {
                None => Activity::Moved {
                    at,
                    from: Stage::parse(&entry.str("from")?).ok()?,
                    to: Stage::parse(&entry.str("to")?).ok()?,
                },
                Some("archived") => Activity::Archived { at },
                Some("restored") => Activity::Restored { at },
                Some(kind) => Activity::Logged {
                    at,
                    kind: LogKind::parse(kind).ok()?,
                    text: entry.str("text").unwrap_or_default(),
                },
            })
        })
        .collect()
}
