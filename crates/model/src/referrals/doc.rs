//! The referrals document over Automerge.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, transaction::Transactable};

use super::{REFERRALS_KIND, ReferralLink, Referrals, check_label, limits, valid_code};
use crate::{
    ModelError, PartnerId, Timestamp,
    read::{Entries, check_kind},
};

const SCHEMA: u64 = 1;

pub struct ReferralsDoc;

fn invalid(what: &'static str, why: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        what,
        why: why.into(),
    }
}

fn links_at<T: Transactable>(tx: &mut T) -> Result<ObjId, automerge::AutomergeError> {
    match tx.get(ROOT, "links")? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => tx.put_object(ROOT, "links", ObjType::Map),
    }
}

impl ReferralsDoc {
    /// A new document with no links, for `partner`.
    pub fn create(partner: &PartnerId) -> Result<automerge::Automerge, ModelError> {
        let mut doc = automerge::Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "kind", REFERRALS_KIND)?;
            tx.put(ROOT, "partner_id", partner.as_str())?;
            tx.put_object(ROOT, "links", ObjType::Map)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(doc)
    }

    /// Adds a link. A code already there is refused: a link is made once.
    pub fn create_link(
        doc: &mut automerge::Automerge,
        code: &str,
        label: &str,
        at: Timestamp,
    ) -> Result<(), ModelError> {
        check_kind(doc, REFERRALS_KIND, SCHEMA)?;
        if !valid_code(code) {
            return Err(invalid("code", format!("{code:?} is not a link's code")));
        }
        let label = check_label(label)?;
        let held = ReferralsDoc::read(doc)?;
        if held.link(code).is_some() || held.unreadable.iter().any(|k| k == code) {
            return Err(invalid("code", format!("{code} is a link already")));
        }
        if held.links.len() >= limits::LINKS {
            return Err(invalid("links", "are too many"));
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            let entry = tx.put_object(&links, code, ObjType::Map)?;
            tx.put(&entry, "label", label.as_str())?;
            tx.put(&entry, "created_at", ScalarValue::Timestamp(at.0))?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// Renames a link the document holds.
    pub fn rename(
        doc: &mut automerge::Automerge,
        code: &str,
        label: &str,
    ) -> Result<(), ModelError> {
        check_kind(doc, REFERRALS_KIND, SCHEMA)?;
        let label = check_label(label)?;
        let entry = Entries::of(doc, &ROOT)
            .obj("links", ObjType::Map)
            .and_then(|links| match doc.get(&links, code) {
                Ok(Some((automerge::Value::Object(ObjType::Map), id))) => Some(id),
                _ => None,
            })
            .ok_or_else(|| invalid("code", format!("{code:?} is no link of this document")))?;
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(&entry, "label", label.as_str())?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// The links, oldest first; entries that do not read are named in
    /// `unreadable`, not dropped silently.
    pub fn read(doc: &impl ReadDoc) -> Result<Referrals, ModelError> {
        check_kind(doc, REFERRALS_KIND, SCHEMA)?;
        let root = Entries::of(doc, &ROOT);
        let mut referrals = Referrals {
            partner_id: root
                .str("partner_id")
                .and_then(|p| PartnerId::parse(&p).ok()),
            ..Referrals::default()
        };
        if let Some(links) = root.obj("links", ObjType::Map) {
            for item in doc.map_range(&links, ..).take(limits::LINKS) {
                let code = item.key.to_string();
                match link(doc, &code, &item.id()) {
                    Some(l) => referrals.links.push(l),
                    None => referrals.unreadable.push(code),
                }
            }
        }
        referrals
            .links
            .sort_by(|a, b| (a.created_at, &a.code).cmp(&(b.created_at, &b.code)));
        Ok(referrals)
    }
}

fn link(doc: &impl ReadDoc, code: &str, obj: &ObjId) -> Option<ReferralLink> {
    if !valid_code(code) {
        return None;
    }
    let e = Entries::of(doc, obj);
    Some(ReferralLink {
        code: code.to_owned(),
        label: check_label(&e.str("label")?).ok()?,
        created_at: Timestamp(e.int("created_at")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReferralsEdit;

    fn ben() -> PartnerId {
        PartnerId::parse("p-ben").unwrap()
    }

    #[test]
    fn a_link_made_reads_back_and_is_renamed() {
        let mut doc = ReferralsDoc::create(&ben()).unwrap();
        let code = super::super::new_code(42);
        let edit = ReferralsEdit::Create {
            code: code.clone(),
            label: " Spring fair ".into(),
            at: Timestamp(1_000),
        };
        let mut shown = ReferralsDoc::read(&doc).unwrap();
        shown.shown_with(&edit);
        edit.apply(&mut doc).unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        assert_eq!(read, shown);
        assert_eq!(read.partner_id, Some(ben()));
        assert_eq!(read.links[0].label, "Spring fair");
        assert!(edit.apply(&mut doc).is_err(), "a code is made once");
        let rename = ReferralsEdit::Rename {
            code: code.clone(),
            label: "Autumn fair".into(),
        };
        shown.shown_with(&rename);
        rename.apply(&mut doc).unwrap();
        assert_eq!(ReferralsDoc::read(&doc).unwrap(), shown);
        assert_eq!(shown.links[0].label, "Autumn fair");
    }

    #[test]
    fn entries_out_of_shape_are_named_not_read() {
        let mut doc = ReferralsDoc::create(&ben()).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            let bad = tx.put_object(&links, "NOT-A-CODE", ObjType::Map)?;
            tx.put(&bad, "label", "x")?;
            tx.put(&bad, "created_at", ScalarValue::Timestamp(1))?;
            let empty = tx.put_object(&links, "000000000000", ObjType::Map)?;
            tx.put(&empty, "label", "")?;
            tx.put(&empty, "created_at", ScalarValue::Timestamp(1))?;
            Ok(())
        })
        .unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        assert!(read.links.is_empty());
        assert_eq!(read.unreadable, ["000000000000", "NOT-A-CODE"]);
        assert!(
            ReferralsDoc::create_link(&mut doc, "000000000000", "x", Timestamp(2)).is_err(),
            "an unreadable entry's code is not made again over it"
        );
    }
}
