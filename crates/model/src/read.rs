//! Reading typed values out of an Automerge document, shared by every
//! document shape: a missing key, or a value of another type, reads as
//! `None`.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef};

use crate::ModelError;

pub(crate) fn scalar(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => Some(s.into_owned()),
        _ => None,
    }
}

/// A string field: a plain string as this project writes them, or a text
/// object, which is what other Automerge clients write a string as (the JS
/// library makes every assigned string collaborative text).
pub(crate) fn string(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        (Value::Object(ObjType::Text), text) => doc.text(&text).ok(),
        _ => None,
    }
}

pub(crate) fn uint(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<u64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Uint(n) => Some(n),
        ScalarValue::Int(n) => u64::try_from(n).ok(),
        _ => None,
    }
}

/// The document is of `kind`, in a schema version no newer than `newest`.
pub(crate) fn check_kind(
    doc: &impl ReadDoc,
    kind: &'static str,
    newest: u64,
) -> Result<(), ModelError> {
    let found = string(doc, &ROOT, "kind");
    if found.as_deref() != Some(kind) {
        return Err(ModelError::WrongKind {
            expected: kind,
            found,
        });
    }
    let schema = uint(doc, &ROOT, "schema").ok_or(ModelError::BadField { field: "schema" })?;
    if schema > newest {
        return Err(ModelError::UnsupportedSchema(schema));
    }
    Ok(())
}

/// The entries of one map, read in one walk of the document instead of a
/// lookup per field: what reading a 500-lead pipeline on a phone needs
/// (each lookup walks the operations again). Lookups are by key, among the
/// map's few fields.
pub(crate) struct Entries<'a> {
    items: Vec<automerge::iter::MapRangeItem<'a>>,
    text: TextOf<'a>,
}

/// Reads the content of a text object of the document an [`Entries`] was
/// read from (whichever kind of document that is).
type TextOf<'a> = Box<dyn Fn(&ObjId) -> Option<String> + 'a>;

impl<'a> Entries<'a> {
    pub(crate) fn of(doc: &'a impl ReadDoc, obj: &ObjId) -> Entries<'a> {
        Entries {
            items: doc.map_range(obj, ..).collect(),
            text: Box::new(move |id| doc.text(id).ok()),
        }
    }

    fn item(&self, key: &str) -> Option<&automerge::iter::MapRangeItem<'a>> {
        self.items.iter().find(|item| item.key == key)
    }

    /// A string field, plain or a text object (see [`string`]).
    pub(crate) fn str(&self, key: &str) -> Option<String> {
        let item = self.item(key)?;
        match &item.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Some(s.to_string()),
            ValueRef::Object(ObjType::Text) => (self.text)(&item.id()),
            _ => None,
        }
    }

    /// An integer or a timestamp (an integer Automerge marks as a time).
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Int(n) | ScalarValueRef::Timestamp(n)) => Some(*n),
            ValueRef::Scalar(ScalarValueRef::Uint(n)) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// The object of type `kind` at `key`.
    pub(crate) fn obj(&self, key: &str, kind: ObjType) -> Option<ObjId> {
        let item = self.item(key)?;
        match item.value {
            ValueRef::Object(found) if found == kind => Some(item.id()),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Option<bool> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    /// An integer, and only that (an amount is never a time).
    pub(crate) fn integer(&self, key: &str) -> Option<i64> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Int(n)) => Some(*n),
            ValueRef::Scalar(ScalarValueRef::Uint(n)) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// Bytes, at most `max` of them (longer reads as none).
    pub(crate) fn bytes(&self, key: &str, max: usize) -> Option<Vec<u8>> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Bytes(b)) if b.len() <= max => Some(b.to_vec()),
            _ => None,
        }
    }

    /// Whether `key` holds values written concurrently (Automerge shows one).
    pub(crate) fn conflicted(&self, key: &str) -> bool {
        self.item(key).is_some_and(|item| item.conflict)
    }
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ObjType, ROOT, transaction::Transactable};

    use super::string;

    #[test]
    fn a_string_reads_whether_written_plain_or_as_text() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "plain", "Ada").unwrap();
        let text = doc.put_object(ROOT, "text", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, "+234 1 555 0299").unwrap();
        doc.put(ROOT, "number", 7).unwrap();
        let root = automerge::ROOT;
        assert_eq!(string(&doc, &root, "plain").as_deref(), Some("Ada"));
        assert_eq!(
            string(&doc, &root, "text").as_deref(),
            Some("+234 1 555 0299")
        );
        assert_eq!(string(&doc, &root, "number"), None);
        assert_eq!(string(&doc, &root, "missing"), None);
        let entries = super::Entries::of(&doc, &root);
        assert_eq!(entries.str("plain").as_deref(), Some("Ada"));
        assert_eq!(entries.str("text").as_deref(), Some("+234 1 555 0299"));
        assert_eq!(entries.str("number"), None);
    }
}
