//! Fields two devices set while apart.
//!
//! Automerge keeps every value written concurrently to a map key and shows
//! one of them, the same one on every replica; the others are not lost but
//! no app built on it shows them (automerge-repo, PowerSync and CouchDB apps
//! all show the winner only). Here a lead names them, so the partner sees
//! "also changed on your other device: ..." and keeps either; writing the
//! kept value once more, over both, settles it everywhere
//! ([`super::PipelineDoc::settle`]).
//!
//! Notes are text and merge character by character: they never conflict.

use serde::{Deserialize, Serialize};

use crate::{Money, Stage};
#[cfg(feature = "doc")]
pub(super) use reading::{read, value};

/// The fields of a lead that hold one value each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeadField {
    ContactName,
    Company,
    Email,
    Phone,
    Value,
    Stage,
}

impl LeadField {
    #[cfg(feature = "doc")]
    const TEXT: [LeadField; 4] = [
        LeadField::ContactName,
        LeadField::Company,
        LeadField::Email,
        LeadField::Phone,
    ];

    /// Its key in the lead's map (the amount's; the currency goes with it).
    pub fn key(self) -> &'static str {
        match self {
            LeadField::ContactName => "contact_name",
            LeadField::Company => "company",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::Value => "value_minor",
            LeadField::Stage => "stage",
        }
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            LeadField::ContactName => "name",
            LeadField::Company => "company",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::Value => "value",
            LeadField::Stage => "stage",
        }
    }
}

/// A value a field may be settled to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictValue {
    Text(LeadField, String),
    Value(Money),
    Stage(Stage),
}

/// A field of a lead and the values written to it concurrently with the one
/// shown, each once, in the document's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: LeadField,
    pub others: Vec<ConflictValue>,
}

/// Reading them out of the document.
#[cfg(feature = "doc")]
mod reading {
    use automerge::{Automerge, ObjId, ReadDoc, ScalarValue, Value};

    use super::{Conflict, ConflictValue, LeadField};
    use crate::{Currency, Money, Stage};

    /// The conflicts of the lead at `lead`, whose amount reads as `shown`.
    pub(in super::super) fn read(doc: &Automerge, lead: &ObjId, shown: Money) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        for field in LeadField::TEXT {
            let texts = strings(doc, lead, field.key());
            let others = others_than_shown(doc, lead, field.key(), texts)
                .into_iter()
                .map(|text| ConflictValue::Text(field, text))
                .collect();
            push(&mut conflicts, field, others);
        }
        let stages = strings(doc, lead, "stage")
            .into_iter()
            .filter_map(|s| Stage::parse(&s).ok())
            .collect::<Vec<_>>();
        if let Some((&shown_stage, rest)) = stages.split_last() {
            let others = dedup(rest.iter().filter(|s| **s != shown_stage).copied())
                .into_iter()
                .map(ConflictValue::Stage)
                .collect();
            push(&mut conflicts, LeadField::Stage, others);
        }
        let others = dedup(
            amounts(doc, lead)
                .into_iter()
                .filter(|money| *money != shown),
        )
        .into_iter()
        .map(ConflictValue::Value)
        .collect();
        push(&mut conflicts, LeadField::Value, others);
        conflicts
    }

    fn push(conflicts: &mut Vec<Conflict>, field: LeadField, others: Vec<ConflictValue>) {
        if !others.is_empty() {
            conflicts.push(Conflict { field, others });
        }
    }

    /// The string values at `key`, plain or text objects (as
    /// `read::string` reads them), in the document's order: the last is
    /// the one shown (Automerge shows the value of the greatest operation
    /// id).
    fn strings(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Vec<String> {
        doc.get_all(obj, key)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(value, id)| match value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Str(s) => Some(s.to_string()),
                    _ => None,
                },
                Value::Object(automerge::ObjType::Text) => doc.text(&id).ok(),
                Value::Object(_) => None,
            })
            .collect()
    }

    /// Of `values` (read from `key`), those other than the one `get` shows.
    fn others_than_shown(
        doc: &impl ReadDoc,
        obj: &ObjId,
        key: &str,
        values: Vec<String>,
    ) -> Vec<String> {
        let Some(shown) = crate::read::string(doc, obj, key) else {
            return Vec::new();
        };
        dedup(values.into_iter().filter(|v| *v != shown))
    }

    fn all(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Vec<(ScalarValue, ObjId)> {
        doc.get_all(obj, key)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(value, id)| match value {
                Value::Scalar(s) => Some((s.into_owned(), id)),
                Value::Object(_) => None,
            })
            .collect()
    }

    /// The lead's amount and its currency, paired: the amount shown and the
    /// currency written in the same change (`put_value` writes both, always).
    /// A lead written before that rule may hold an amount whose change did not
    /// write the currency; it takes the currency shown, as it always did.
    pub(in super::super) fn value(doc: &Automerge, lead: &ObjId) -> Option<Money> {
        let shown = |key| match doc.get(lead, key).ok()?? {
            (Value::Scalar(s), id) => Some((s.into_owned(), id)),
            _ => None,
        };
        let (minor, minor_id) = shown("value_minor")?;
        let minor = match minor {
            ScalarValue::Int(n) => n,
            ScalarValue::Uint(n) => i64::try_from(n).ok()?,
            _ => return None,
        };
        let currencies = all(doc, lead, "currency");
        let apart = currencies.len() > 1 || doc.get_all(lead, "value_minor").ok()?.len() > 1;
        // Written apart: the currency of the amount's own change.
        let paired = apart
            .then(|| paired_currency(doc, lead, &minor_id, &currencies))
            .flatten();
        let currency = match paired {
            Some(c) => c,
            None => Currency::parse(&crate::read::string(doc, lead, "currency")?).ok()?,
        };
        Money::try_new(minor, currency).ok()
    }

    /// The currency written in the change that wrote the amount `minor_id`, or
    /// failing that (a lead written before amounts and currencies were always
    /// written together) the currency as that change saw it.
    fn paired_currency(
        doc: &Automerge,
        lead: &ObjId,
        minor_id: &ObjId,
        currencies: &[(ScalarValue, ObjId)],
    ) -> Option<Currency> {
        let change = doc.hash_for_opid(minor_id)?;
        let code = currencies
            .iter()
            .find(|(_, id)| doc.hash_for_opid(id) == Some(change))
            .map(|(value, _)| value.clone())
            .or_else(|| match doc.get_at(lead, "currency", &[change]).ok()?? {
                (Value::Scalar(s), _) => Some(s.into_owned()),
                _ => None,
            })?;
        match code {
            ScalarValue::Str(code) => Currency::parse(&code).ok(),
            _ => None,
        }
    }

    /// Every amount written concurrently to the lead, each paired with its
    /// currency as [`value`] pairs the one shown.
    fn amounts(doc: &Automerge, lead: &ObjId) -> Vec<Money> {
        let written = all(doc, lead, "value_minor");
        if written.len() < 2 {
            return Vec::new();
        }
        let currencies = all(doc, lead, "currency");
        written
            .into_iter()
            .filter_map(|(value, id)| {
                let minor = match value {
                    ScalarValue::Int(n) => n,
                    ScalarValue::Uint(n) => i64::try_from(n).ok()?,
                    _ => return None,
                };
                let currency = paired_currency(doc, lead, &id, &currencies)?;
                Money::try_new(minor, currency).ok()
            })
            .collect()
    }

    fn dedup<T: PartialEq>(values: impl Iterator<Item = T>) -> Vec<T> {
        let mut out: Vec<T> = Vec::new();
        for value in values {
            if !out.contains(&value) {
                out.push(value);
            }
        }
        out
    }
}
