//! Reading typed values out of an Automerge document, shared by every
//! document shape: a missing key, or a value of another type, reads as
//! `None`.

use automerge::{ObjId, ROOT, ReadDoc, ScalarValue, Value};

use crate::ModelError;

pub(crate) fn scalar(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn string(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    match scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Some(s.to_string()),
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

pub(crate) fn int(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => Some(n),
        ScalarValue::Uint(n) => i64::try_from(n).ok(),
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
