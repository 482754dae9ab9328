//! Documents the server writes as a JSON value held in Automerge: a team's
//! figures ([`crate::TeamView`]) and whatever read-only view comes next.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "team", owner: "p-ana", computed_at: ts,
//!        body: <the JSON value: objects as maps, arrays as lists, numbers
//!               as int or uint, strings, booleans, null> }
//! ```
//!
//! Why not one JSON string, as a catalog's manifest is: a view changes a
//! little at a time (one member moved one lead), and a string replaced
//! carries the whole view to every device and keeps it in the document's
//! history for good. [`write`] puts only what differs, key by key: an
//! object is a map whose changed entries alone are written, a scalar that
//! did not change is not put again. An array that changed is written anew,
//! so the views keep their growing collections in objects keyed by id
//! (the account view's rule, written once here for every such view).
//! Nobody else writes these documents (the share policy gives the owner
//! read access only), so nothing has to merge.
//!
//! Reading is bounded (depth, entries, text), whatever the document holds:
//! [`MAX_DEPTH`], [`MAX_NODES`], [`MAX_TEXT_BYTES`].

use automerge::{
    ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
    transaction::{Transactable, Transaction},
};
use serde_json::{Map, Number, Value as Json};

use crate::{
    ModelError, Timestamp,
    read::{check_kind, string},
};

const SCHEMA: u64 = 1;
/// The deepest nesting read (the views nest four or five levels).
pub const MAX_DEPTH: usize = 16;
/// The most objects, arrays and scalars read from one document.
pub const MAX_NODES: usize = 200_000;
/// The most bytes of keys and strings read from one document.
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// A server-written view as a device reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonView {
    /// The partner it is for.
    pub owner: String,
    /// When the server computed what it holds.
    pub computed_at: Timestamp,
    pub body: Json,
}

fn bad(field: &'static str) -> ModelError {
    ModelError::BadField { field }
}

/// Makes `doc` a view of `kind` for `owner` holding `body` (an object), as
/// computed at `computed_at`: only what differs is written, and a body
/// equal to the one held writes nothing at all (not even the time).
/// Refuses a document of another kind and a number that is not an integer
/// (money is never a float).
pub fn write(
    doc: &mut automerge::Automerge,
    kind: &'static str,
    owner: &str,
    computed_at: Timestamp,
    body: &Json,
) -> Result<(), ModelError> {
    let Json::Object(body) = body else {
        return Err(ModelError::Invalid {
            what: "a view",
            why: "is not a JSON object".into(),
        });
    };
    check_integers(body)?;
    let found = string(doc, &ROOT, "kind");
    match found.as_deref() {
        None if doc.keys(ROOT).next().is_none() => {}
        Some(k) if k == kind => check_kind(doc, kind, SCHEMA)?,
        _ => {
            return Err(ModelError::WrongKind {
                expected: kind,
                found,
            });
        }
    }
    if let Ok(held) = read(doc, kind)
        && held.owner == owner
        && held.body.as_object() == Some(body)
    {
        return Ok(());
    }
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        if string(tx, &ROOT, "kind").is_none() {
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "kind", kind)?;
        }
        if string(tx, &ROOT, "owner").as_deref() != Some(owner) {
            tx.put(ROOT, "owner", owner)?;
        }
        tx.put(ROOT, "computed_at", ScalarValue::Timestamp(computed_at.0))?;
        let obj = match tx.get(ROOT, "body")? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => tx.put_object(ROOT, "body", ObjType::Map)?,
        };
        write_map(tx, &obj, body)
    })
    .map_err(|failure| ModelError::from(failure.error))?;
    Ok(())
}

fn check_integers(map: &Map<String, Json>) -> Result<(), ModelError> {
    fn walk(value: &Json) -> bool {
        match value {
            Json::Number(n) => n.is_i64() || n.is_u64(),
            Json::Array(items) => items.iter().all(walk),
            Json::Object(map) => map.values().all(walk),
            _ => true,
        }
    }
    if map.values().all(walk) {
        Ok(())
    } else {
        Err(ModelError::Invalid {
            what: "a view",
            why: "holds a number that is not an integer".into(),
        })
    }
}

/// Makes the map `obj` hold `map`: keys it no longer has deleted, each
/// entry written only where it differs.
fn write_map(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    map: &Map<String, Json>,
) -> Result<(), automerge::AutomergeError> {
    let held: Vec<String> = tx.keys(obj).collect();
    for key in &held {
        if !map.contains_key(key) {
            tx.delete(obj, key.as_str())?;
        }
    }
    for (key, value) in map {
        let current = tx.get(obj, key.as_str())?;
        match (value, current) {
            (Json::Object(inner), Some((Value::Object(ObjType::Map), id))) => {
                write_map(tx, &id, inner)?;
            }
            (Json::Object(inner), _) => {
                let id = tx.put_object(obj, key.as_str(), ObjType::Map)?;
                write_map(tx, &id, inner)?;
            }
            (Json::Array(items), Some((Value::Object(ObjType::List), id))) => {
                let mut nodes = 0;
                let same = read_value(tx, &id, ObjType::List, 0, &mut nodes, &mut 0)
                    .is_ok_and(|held| held.as_array() == Some(items));
                if !same {
                    let id = tx.put_object(obj, key.as_str(), ObjType::List)?;
                    fill_list(tx, &id, items)?;
                }
            }
            (Json::Array(items), _) => {
                let id = tx.put_object(obj, key.as_str(), ObjType::List)?;
                fill_list(tx, &id, items)?;
            }
            (scalar, Some((Value::Scalar(held), _))) if read_scalar(&held) == *scalar => {}
            (scalar, _) => {
                tx.put(obj, key.as_str(), scalar_of(scalar))?;
            }
        }
    }
    Ok(())
}

fn fill_list(
    tx: &mut Transaction<'_>,
    list: &ObjId,
    items: &[Json],
) -> Result<(), automerge::AutomergeError> {
    for (at, item) in items.iter().enumerate() {
        match item {
            Json::Object(inner) => {
                let id = tx.insert_object(list, at, ObjType::Map)?;
                write_map(tx, &id, inner)?;
            }
            Json::Array(inner) => {
                let id = tx.insert_object(list, at, ObjType::List)?;
                fill_list(tx, &id, inner)?;
            }
            scalar => tx.insert(list, at, scalar_of(scalar))?,
        }
    }
    Ok(())
}

fn scalar_of(value: &Json) -> ScalarValue {
    match value {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => ScalarValue::Int(i),
            (None, Some(u)) => ScalarValue::Uint(u),
            // `check_integers` lets no other through.
            (None, None) => ScalarValue::Null,
        },
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        // Objects and arrays are written as such, never as scalars.
        Json::Array(_) | Json::Object(_) => ScalarValue::Null,
    }
}

fn read_scalar(value: &ScalarValue) -> Json {
    match value {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Json::Number((*i).into()),
        ScalarValue::Uint(u) => Json::Number((*u).into()),
        ScalarValue::Counter(c) => Json::Number(i64::from(c).into()),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        _ => Json::Null,
    }
}

fn too_big() -> ModelError {
    ModelError::Invalid {
        what: "a view",
        why: "is larger than a view may be".into(),
    }
}

fn read_value(
    doc: &impl ReadDoc,
    obj: &ObjId,
    kind: ObjType,
    depth: usize,
    nodes: &mut usize,
    text: &mut usize,
) -> Result<Json, ModelError> {
    if depth >= MAX_DEPTH {
        return Err(too_big());
    }
    let mut one = |value: Value<'_>, id: ObjId, key: Option<&str>| -> Result<Json, ModelError> {
        *nodes += 1;
        *text += key.map_or(0, str::len);
        if *nodes > MAX_NODES || *text > MAX_TEXT_BYTES {
            return Err(too_big());
        }
        match value {
            Value::Object(inner @ (ObjType::Map | ObjType::List)) => {
                read_value(doc, &id, inner, depth + 1, nodes, text)
            }
            Value::Object(_) => Ok(Json::Null),
            Value::Scalar(s) => {
                if let ScalarValue::Str(s) = s.as_ref() {
                    *text += s.len();
                    if *text > MAX_TEXT_BYTES {
                        return Err(too_big());
                    }
                }
                Ok(read_scalar(&s))
            }
        }
    };
    match kind {
        ObjType::List => {
            let mut items = Vec::new();
            for item in doc.list_range(obj, ..) {
                let id = item.id();
                items.push(one(item.value.into(), id, None)?);
            }
            Ok(Json::Array(items))
        }
        _ => {
            let mut map = Map::new();
            for item in doc.map_range(obj, ..) {
                let id = item.id();
                let value = one(item.value.into(), id, Some(&item.key))?;
                map.insert(item.key.into_owned(), value);
            }
            Ok(Json::Object(map))
        }
    }
}

/// Reads a view of `kind`, bounded.
pub fn read(doc: &impl ReadDoc, kind: &'static str) -> Result<JsonView, ModelError> {
    check_kind(doc, kind, SCHEMA)?;
    let owner = string(doc, &ROOT, "owner").ok_or(bad("owner"))?;
    let computed_at = match crate::read::scalar(doc, &ROOT, "computed_at") {
        Some(ScalarValue::Timestamp(t) | ScalarValue::Int(t)) => Timestamp(t),
        _ => return Err(bad("computed_at")),
    };
    let Some((Value::Object(ObjType::Map), obj)) = doc.get(ROOT, "body")? else {
        return Err(bad("body"));
    };
    let body = read_value(doc, &obj, ObjType::Map, 0, &mut 0, &mut 0)?;
    Ok(JsonView {
        owner,
        computed_at,
        body,
    })
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;
    use serde_json::json;

    use super::*;

    const KIND: &str = "team";

    #[test]
    fn a_view_reads_back_as_written() {
        let body = json!({
            "members": { "p-ben": { "name": "Ben", "won": 2, "rate": null, "late": false,
                                    "stages": [ { "stage": "new", "minor": -5 } ] } },
            "max": u64::MAX,
            "empty": {}, "none": []
        });
        let mut doc = Automerge::new();
        write(&mut doc, KIND, "p-ana", Timestamp(7), &body).unwrap();
        let view = read(&doc, KIND).unwrap();
        assert_eq!(view.owner, "p-ana");
        assert_eq!(view.computed_at, Timestamp(7));
        assert_eq!(view.body, body);
    }

    #[test]
    fn only_what_differs_is_written() {
        let members = |won: u64| {
            let mut map = Map::new();
            for i in 0..50 {
                let w = if i == 3 { won } else { 1 };
                map.insert(
                    format!("p-{i}"),
                    json!({ "name": format!("Member {i} with a long name"), "won": w,
                            "stages": [ { "stage": "won", "minor": 100 } ] }),
                );
            }
            json!({ "members": map })
        };
        let mut doc = Automerge::new();
        write(&mut doc, KIND, "p-ana", Timestamp(1), &members(1)).unwrap();
        let before = doc.get_heads();
        write(&mut doc, KIND, "p-ana", Timestamp(2), &members(2)).unwrap();
        let changes = doc.get_changes(&before);
        assert_eq!(changes.len(), 1);
        // The time and one member's count: not fifty members again.
        assert_eq!(changes[0].len(), 2, "{} ops", changes[0].len());
        assert_eq!(read(&doc, KIND).unwrap().body, members(2));
        // The same body again writes nothing, not even the time.
        let heads = doc.get_heads();
        write(&mut doc, KIND, "p-ana", Timestamp(3), &members(2)).unwrap();
        assert_eq!(doc.get_heads(), heads);
        // A member gone is one delete.
        let mut fewer = members(2);
        fewer["members"].as_object_mut().unwrap().remove("p-7");
        let before = doc.get_heads();
        write(&mut doc, KIND, "p-ana", Timestamp(4), &fewer).unwrap();
        assert_eq!(doc.get_changes(&before)[0].len(), 2);
        assert_eq!(read(&doc, KIND).unwrap().body, fewer);
    }

    #[test]
    fn floats_other_kinds_and_newer_schemas_are_refused() {
        let mut doc = Automerge::new();
        assert!(matches!(
            write(
                &mut doc,
                KIND,
                "p-ana",
                Timestamp(1),
                &json!({ "amount": 1.5 })
            ),
            Err(ModelError::Invalid { .. })
        ));
        assert!(matches!(
            write(&mut doc, KIND, "p-ana", Timestamp(1), &json!([1])),
            Err(ModelError::Invalid { .. })
        ));
        assert!(matches!(
            read(&doc, KIND),
            Err(ModelError::WrongKind { .. })
        ));
        let mut pipeline = Automerge::new();
        crate::PipelineDoc::init(&mut pipeline, &crate::PartnerId::parse("p-ben").unwrap())
            .unwrap();
        assert!(matches!(
            write(&mut pipeline, KIND, "p-ben", Timestamp(1), &json!({})),
            Err(ModelError::WrongKind { .. })
        ));
        let mut doc = Automerge::new();
        write(&mut doc, KIND, "p-ana", Timestamp(1), &json!({})).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "schema", SCHEMA + 1))
            .unwrap();
        assert_eq!(
            read(&doc, KIND),
            Err(ModelError::UnsupportedSchema(SCHEMA + 1))
        );
    }

    #[test]
    fn a_hostile_document_reads_within_bounds() {
        // Nested deeper than a view ever is.
        let mut doc = Automerge::new();
        write(&mut doc, KIND, "p-ana", Timestamp(1), &json!({})).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let (_, mut obj) = tx.get(ROOT, "body")?.unwrap();
            for _ in 0..MAX_DEPTH + 2 {
                obj = tx.put_object(&obj, "deeper", ObjType::Map)?;
            }
            Ok(())
        })
        .unwrap();
        assert!(matches!(read(&doc, KIND), Err(ModelError::Invalid { .. })));
        // More text than a view ever holds.
        let mut doc = Automerge::new();
        let big = "x".repeat(MAX_TEXT_BYTES / 2 + 1);
        write(
            &mut doc,
            KIND,
            "p-ana",
            Timestamp(1),
            &json!({ "a": big, "b": big }),
        )
        .unwrap();
        assert!(matches!(read(&doc, KIND), Err(ModelError::Invalid { .. })));
    }
}
