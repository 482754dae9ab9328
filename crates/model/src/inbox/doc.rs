//! The inbox over Automerge: written by the server only, as the
//! difference from what the document holds.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ROOT, ReadDoc, transaction::Transactable};

use super::{INBOX_KIND, Inbox, Notice};
use crate::{
    ModelError, PartnerId, Timestamp,
    read::{Entries, check_kind, string, uint},
};

const SCHEMA: u64 = 1;

pub struct InboxDoc;

fn bad(field: &'static str) -> ModelError {
    ModelError::BadField { field }
}

impl InboxDoc {
    /// Makes `doc` hold `inbox` (its most recent [`super::INBOX_SIZE`]):
    /// new notices added, those no longer in it deleted, nothing else
    /// touched. An empty document becomes an inbox.
    pub fn write(doc: &mut automerge::Automerge, inbox: &Inbox) -> Result<(), ModelError> {
        let kind = string(doc, &ROOT, "kind");
        match kind.as_deref() {
            None if doc.keys(ROOT).next().is_none() => {}
            Some(INBOX_KIND) => {
                let schema = uint(doc, &ROOT, "schema").unwrap_or(0);
                if schema > SCHEMA {
                    return Err(ModelError::UnsupportedSchema(schema));
                }
            }
            _ => {
                return Err(ModelError::WrongKind {
                    expected: INBOX_KIND,
                    found: kind,
                });
            }
        }
        let sorted = inbox.clone().sorted();
        let wanted: BTreeMap<String, &Notice> = sorted
            .notices
            .iter()
            .map(|n| (n.id.to_string(), n))
            .collect();
        let notices = match doc.get(ROOT, "notices")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => Some(id),
            _ => None,
        };
        let held: Vec<String> = notices
            .as_ref()
            .map(|obj| doc.keys(obj).collect())
            .unwrap_or_default();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            if string(tx, &ROOT, "kind").is_none() {
                tx.put(ROOT, "schema", SCHEMA)?;
                tx.put(ROOT, "kind", INBOX_KIND)?;
                tx.put(ROOT, "partner_id", inbox.partner_id.as_str())?;
            }
            let notices: ObjId = match &notices {
                Some(obj) => obj.clone(),
                None => tx.put_object(ROOT, "notices", ObjType::Map)?,
            };
            for key in &held {
                if !wanted.contains_key(key) {
                    tx.delete(&notices, key.as_str())?;
                }
            }
            for (key, notice) in &wanted {
                if held.contains(key) {
                    continue;
                }
                let entry = tx.put_object(&notices, key.as_str(), ObjType::Map)?;
                tx.put(&entry, "kind", notice.kind.as_str())?;
                tx.put(&entry, "title", notice.title.as_str())?;
                tx.put(&entry, "body", notice.body.as_str())?;
                tx.put(&entry, "screen", notice.screen.as_str())?;
                tx.put(&entry, "at", automerge::ScalarValue::Timestamp(notice.at.0))?;
            }
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    pub fn read(doc: &impl ReadDoc) -> Result<Inbox, ModelError> {
        check_kind(doc, INBOX_KIND, SCHEMA)?;
        let partner_id = string(doc, &ROOT, "partner_id").ok_or(bad("partner_id"))?;
        let partner_id = PartnerId::parse(&partner_id).map_err(|_| bad("partner_id"))?;
        let Some((automerge::Value::Object(ObjType::Map), obj)) = doc.get(ROOT, "notices")? else {
            return Err(bad("notices"));
        };
        let mut notices = Vec::new();
        for item in doc.map_range(&obj, ..) {
            let id: i64 = item.key.parse().map_err(|_| bad("notices"))?;
            let automerge::ValueRef::Object(ObjType::Map) = item.value else {
                return Err(bad("notices"));
            };
            let entry = item.id();
            let fields = Entries::of(doc, &entry);
            notices.push(Notice {
                id,
                kind: fields.str("kind").ok_or(bad("kind"))?,
                title: fields.str("title").ok_or(bad("title"))?,
                body: fields.str("body").ok_or(bad("body"))?,
                screen: fields.str("screen").ok_or(bad("screen"))?,
                at: Timestamp(fields.int("at").ok_or(bad("at"))?),
            });
        }
        Ok(Inbox {
            partner_id,
            notices,
        }
        .sorted())
    }
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use super::*;
    use crate::inbox::INBOX_SIZE;

    fn notice(id: i64) -> Notice {
        Notice {
            id,
            kind: "payout_made".to_owned(),
            title: format!("Payout {id}"),
            body: "120.00 USD paid".to_owned(),
            screen: "#earnings".to_owned(),
            at: Timestamp(1_700_000_000_000 + id),
        }
    }

    fn inbox(ids: impl IntoIterator<Item = i64>) -> Inbox {
        Inbox {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            notices: ids.into_iter().map(notice).collect(),
        }
    }

    #[test]
    fn an_inbox_reads_back_as_written_newest_first() {
        let mut doc = Automerge::new();
        InboxDoc::write(&mut doc, &inbox([1, 3, 2])).unwrap();
        assert_eq!(InboxDoc::read(&doc).unwrap(), inbox([3, 2, 1]));
    }

    #[test]
    fn a_new_notice_is_one_small_change_and_old_ones_leave() {
        let mut doc = Automerge::new();
        InboxDoc::write(&mut doc, &inbox(1..=INBOX_SIZE as i64)).unwrap();
        let before = doc.get_heads();
        InboxDoc::write(&mut doc, &inbox(2..=INBOX_SIZE as i64 + 1)).unwrap();
        let changes = doc.get_changes(&before);
        assert_eq!(changes.len(), 1);
        // One notice's fields and one delete: not the whole inbox again.
        assert!(changes[0].len() < 12, "{} ops", changes[0].len());
        let read = InboxDoc::read(&doc).unwrap();
        assert_eq!(read.notices.len(), INBOX_SIZE);
        assert_eq!(read.notices[0].id, INBOX_SIZE as i64 + 1);
        assert_eq!(read.notices.last().unwrap().id, 2);
        // The same inbox again writes nothing.
        let heads = doc.get_heads();
        InboxDoc::write(&mut doc, &read).unwrap();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn other_kinds_and_newer_schemas_are_refused() {
        let doc = Automerge::new();
        assert!(matches!(
            InboxDoc::read(&doc),
            Err(ModelError::WrongKind { .. })
        ));
        let mut pipeline = Automerge::new();
        crate::PipelineDoc::init(&mut pipeline, &PartnerId::parse("p-ben").unwrap()).unwrap();
        assert!(matches!(
            InboxDoc::write(&mut pipeline, &inbox([1])),
            Err(ModelError::WrongKind { .. })
        ));
        let mut doc = Automerge::new();
        InboxDoc::write(&mut doc, &inbox([1])).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "schema", SCHEMA + 1))
            .unwrap();
        assert_eq!(
            InboxDoc::read(&doc),
            Err(ModelError::UnsupportedSchema(SCHEMA + 1))
        );
    }
}
