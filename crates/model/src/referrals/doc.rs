//! The referrals document over Automerge.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, transaction::Transactable};

use super::{
    REFERRALS_KIND, ReferralLink, Referrals, check_label, code_for, limits, valid_code, valid_nonce,
};
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

    /// Adds the link of `nonce` (its code is the document's partner's and
    /// the nonce's); its code. A nonce already used is refused: a link is
    /// made once.
    pub fn create_link(
        doc: &mut automerge::Automerge,
        nonce: &str,
        label: &str,
        at: Timestamp,
    ) -> Result<String, ModelError> {
        check_kind(doc, REFERRALS_KIND, SCHEMA)?;
        if !valid_nonce(nonce) {
            return Err(invalid("nonce", format!("{nonce:?} is not 16 hex digits")));
        }
        let label = check_label(label)?;
        let held = ReferralsDoc::read(doc)?;
        let partner = held
            .partner_id
            .clone()
            .ok_or_else(|| invalid("document", "names no partner"))?;
        let code = code_for(&partner, nonce);
        let code = code.as_str();
        if held.link(code).is_some() || held.unreadable.iter().any(|k| k == code) {
            return Err(invalid("code", format!("{code} is a link already")));
        }
        // Entries count, read or not: a document another client filled
        // past the bound is not added to.
        if held.links.len() + held.unreadable.len() >= limits::LINKS {
            return Err(invalid("links", "are too many"));
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            let entry = tx.put_object(&links, code, ObjType::Map)?;
            tx.put(&entry, "nonce", nonce)?;
            tx.put(&entry, "label", label.as_str())?;
            tx.put(&entry, "created_at", ScalarValue::Timestamp(at.0))?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(code.to_owned())
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
                match link(doc, referrals.partner_id.as_ref(), &code, &item.id()) {
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

/// A link reads when its code is its partner's and nonce's: a code copied
/// from another partner's does not.
fn link(
    doc: &impl ReadDoc,
    partner: Option<&PartnerId>,
    code: &str,
    obj: &ObjId,
) -> Option<ReferralLink> {
    if !valid_code(code) {
        return None;
    }
    let e = Entries::of(doc, obj);
    let nonce = e.str("nonce").filter(|n| valid_nonce(n))?;
    if code_for(partner?, &nonce) != code {
        return None;
    }
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

    fn partner(id: &str) -> PartnerId {
        PartnerId::parse(id).unwrap()
    }

    #[test]
    fn a_link_made_reads_back_and_is_renamed() {
        let mut doc = ReferralsDoc::create(&partner("p-ben")).unwrap();
        let nonce = super::super::nonce_of(42);
        let edit = ReferralsEdit::Create {
            nonce: nonce.clone(),
            label: " Spring fair ".into(),
            at: Timestamp(1_000),
        };
        edit.apply(&mut doc).unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        let code = code_for(&partner("p-ben"), &nonce);
        assert_eq!(read.partner_id, Some(partner("p-ben")));
        assert_eq!(read.links.len(), 1);
        assert_eq!(
            (read.links[0].code.as_str(), read.links[0].label.as_str()),
            (code.as_str(), "Spring fair")
        );
        assert!(edit.apply(&mut doc).is_err(), "a link is made once");
        let rename = ReferralsEdit::Rename {
            code: code.clone(),
            label: "Autumn fair".into(),
        };
        let mut shown = read.clone();
        shown.shown_with(&rename);
        rename.apply(&mut doc).unwrap();
        assert_eq!(ReferralsDoc::read(&doc).unwrap(), shown);
        assert_eq!(shown.links[0].label, "Autumn fair");
    }

    #[test]
    fn a_code_is_its_partners_alone() {
        let nonce = super::super::nonce_of(7);
        let ana = code_for(&partner("p-ana"), &nonce);
        assert_ne!(ana, code_for(&partner("p-ben"), &nonce));
        assert_ne!(ana, code_for(&partner("p-ana"), &super::super::nonce_of(8)));
        assert!(valid_code(&ana));
        // Ben copies Ana's code and nonce into his own document: it does
        // not read, so it is never confirmed as his.
        let mut doc = ReferralsDoc::create(&partner("p-ben")).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            let copied = tx.put_object(&links, ana.as_str(), ObjType::Map)?;
            tx.put(&copied, "nonce", nonce.as_str())?;
            tx.put(&copied, "label", "mine now")?;
            tx.put(&copied, "created_at", ScalarValue::Timestamp(1))?;
            Ok(())
        })
        .unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        assert!(read.links.is_empty());
        assert_eq!(read.unreadable, [ana]);
    }

    /// A document written past the app's bounds by another client (more
    /// links than a partner may make, a label of 20,000 characters, a
    /// created_at of the wrong type) reads within the bounds: at most
    /// `LINKS` entries looked at, the bad ones named.
    #[test]
    fn a_hostile_document_reads_within_the_bounds() {
        let ben = partner("p-ben");
        let mut doc = ReferralsDoc::create(&ben).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            for i in 0..(limits::LINKS as u64 + 40) {
                let nonce = super::super::nonce_of(i);
                let code = code_for(&ben, &nonce);
                let entry = tx.put_object(&links, code.as_str(), ObjType::Map)?;
                tx.put(&entry, "nonce", nonce.as_str())?;
                match i {
                    0 => tx.put(&entry, "label", "x".repeat(20_000))?,
                    1 => tx.put(&entry, "created_at", "yesterday")?,
                    _ => tx.put(&entry, "label", format!("link {i}"))?,
                }
                if i != 1 {
                    tx.put(&entry, "created_at", ScalarValue::Timestamp(i as i64))?;
                }
            }
            Ok(())
        })
        .unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        assert_eq!(read.links.len() + read.unreadable.len(), limits::LINKS);
        assert!(
            read.links
                .iter()
                .all(|l| l.label.chars().count() <= limits::LABEL_CHARS)
        );
        assert!(read.unreadable.len() <= 2, "{:?}", read.unreadable);
        assert!(
            ReferralsDoc::create_link(
                &mut doc,
                &super::super::nonce_of(9_999),
                "more",
                Timestamp(1)
            )
            .is_err(),
            "no link is made past the bound"
        );
    }

    #[test]
    fn entries_out_of_shape_are_named_not_read() {
        let mut doc = ReferralsDoc::create(&partner("p-ben")).unwrap();
        let nonce = super::super::nonce_of(1);
        let code = code_for(&partner("p-ben"), &nonce);
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let links = links_at(tx)?;
            let bad = tx.put_object(&links, "NOT-A-CODE", ObjType::Map)?;
            tx.put(&bad, "label", "x")?;
            tx.put(&bad, "created_at", ScalarValue::Timestamp(1))?;
            let empty = tx.put_object(&links, code.as_str(), ObjType::Map)?;
            tx.put(&empty, "nonce", nonce.as_str())?;
            tx.put(&empty, "label", "")?;
            tx.put(&empty, "created_at", ScalarValue::Timestamp(1))?;
            Ok(())
        })
        .unwrap();
        let read = ReferralsDoc::read(&doc).unwrap();
        assert!(read.links.is_empty());
        let mut expected = vec![code.clone(), "NOT-A-CODE".to_owned()];
        expected.sort();
        assert_eq!(read.unreadable, expected);
        assert!(
            ReferralsDoc::create_link(&mut doc, &nonce, "x", Timestamp(2)).is_err(),
            "an unreadable entry's code is not made again over it"
        );
    }
}
