//! Reading and writing account views (see the layout in `mod.rs`).

use std::collections::HashSet;

use automerge::{
    AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use super::*;
use crate::{
    ModelError,
    read::{check_kind, scalar, string, uint},
};

/// The newest layout this code writes and reads.
const SCHEMA: u64 = 1;

/// Typed reads and writes of account views.
pub struct AccountViewDoc;

impl AccountViewDoc {
    /// Makes the document hold `view`, in one transaction, writing only
    /// what differs (nothing at all when the document already holds it). An
    /// empty document gets the skeleton in the same transaction.
    pub fn write(doc: &mut automerge::Automerge, view: &AccountView) -> Result<(), ModelError> {
        let kind = string(doc, &ROOT, "kind");
        match kind.as_deref() {
            None if doc.keys(ROOT).next().is_none() => {}
            Some(ACCOUNT_VIEW_KIND) => {
                let schema = uint(doc, &ROOT, "schema").unwrap_or(0);
                if schema > SCHEMA {
                    return Err(ModelError::UnsupportedSchema(schema));
                }
            }
            _ => {
                return Err(ModelError::WrongKind {
                    expected: ACCOUNT_VIEW_KIND,
                    found: kind,
                });
            }
        }
        doc.transact(|tx| write_view(tx, view))
            .map_err(|failure| failure.error)?;
        Ok(())
    }

    pub fn read(doc: &impl ReadDoc) -> Result<AccountView, ModelError> {
        check_kind(doc, ACCOUNT_VIEW_KIND, SCHEMA)?;
        let root = Fields { doc, obj: ROOT };
        let progress_obj = child(doc, &ROOT, "progress", ObjType::Map)?;
        let progress = Fields {
            doc,
            obj: progress_obj.clone(),
        };
        let components_obj = child(doc, &progress_obj, "components", ObjType::List)?;
        let mut components = Vec::new();
        for i in 0..doc.length(&components_obj) {
            let Some((Value::Object(ObjType::Map), obj)) = doc.get(&components_obj, i)? else {
                return Err(bad("components"));
            };
            let c = Fields { doc, obj };
            components.push(ProgressComponent {
                name: c.str("name")?,
                counted: c.uint("counted")?,
                target: c.uint("target")?,
                points: c.uint("points")?,
                max_points: c.uint("max_points")?,
            });
        }

        let balances = entries(doc, "balances", |key, b| {
            Ok(Balance {
                currency: Currency::parse(key).map_err(|_| bad("balances"))?,
                pending_minor: b.int("pending_minor")?,
                available_minor: b.int("available_minor")?,
                paid_minor: b.int("paid_minor")?,
            })
        })?;
        let lines = entries(doc, "lines", |key, l| {
            Ok(EarningLine {
                id: key.parse().map_err(|_| bad("lines"))?,
                kind: l.str("kind")?,
                amount_minor: l.int("amount_minor")?,
                currency: l.currency("currency")?,
                rate_bps: l.opt_uint("rate_bps")?,
                tier: l.opt_str("tier")?,
                deal_id: l.opt_int("deal_id")?,
                lead_id: l
                    .opt_str("lead_id")?
                    .map(|s| LeadId::parse(&s).map_err(|_| bad("lead_id")))
                    .transpose()?,
                accrued_at: l.time("accrued_at")?,
                available_at: l.time("available_at")?,
                status: LineStatus::parse(&l.str("status")?).ok_or(bad("status"))?,
                statement_id: l.opt_int("statement_id")?,
                explanation: l.str("explanation")?,
            })
        })?;
        let deals = entries(doc, "deals", |key, d| {
            Ok(DealOutcome {
                lead_id: LeadId::parse(key).map_err(|_| bad("deals"))?,
                status: DealStatus::parse(&d.str("status")?).ok_or(bad("status"))?,
                amount_minor: d.int("amount_minor")?,
                currency: d.currency("currency")?,
                reason: d.opt_str("reason")?,
                decided_at: d.opt_int("decided_at")?.map(Timestamp),
                moved_to: d
                    .opt_str("moved_to")?
                    .map(|s| Stage::parse(&s).map_err(|_| bad("moved_to")))
                    .transpose()?,
            })
        })?;
        let modules_done = entries_if_any(doc, "modules_done", |key, m| {
            let (track, module) = key.split_once('/').ok_or(bad("modules_done"))?;
            Ok(ModuleDone {
                track: track.to_owned(),
                module: module.to_owned(),
                completed_at: m.time("completed_at")?,
            })
        })?;
        let exams = entries_if_any(doc, "exams", |key, e| {
            Ok(ExamOutcome {
                attempt: key.to_owned(),
                track: e.str("track")?,
                quiz: e.str("quiz")?,
                outcome: e.str("outcome")?,
                score: e.opt_uint("score")?,
                graded_at: e.time("graded_at")?,
                retry_after: e.opt_int("retry_after")?.map(Timestamp),
                certificate: e.opt_str("certificate")?,
            })
        })?;
        let assignments = entries_if_any(doc, "assignments", |key, a| {
            let (track, module) = key.split_once('/').ok_or(bad("assignments"))?;
            Ok(Assignment {
                track: track.to_owned(),
                module: module.to_owned(),
                due_on: a.str("due_on")?,
                assigned_by: a.str("assigned_by")?,
                assigned_at: a.time("assigned_at")?,
            })
        })?;
        let statements = entries(doc, "statements", |key, s| {
            Ok(Statement {
                id: key.parse().map_err(|_| bad("statements"))?,
                period: s.str("period")?,
                currency: s.currency("currency")?,
                total_minor: s.int("total_minor")?,
                run_at: s.time("run_at")?,
                line_count: s.uint("line_count")?,
            })
        })?;

        Ok(AccountView {
            partner_id: PartnerId::parse(&root.str("partner_id")?)
                .map_err(|_| bad("partner_id"))?,
            computed_at: root.time("computed_at")?,
            tier: root.str("tier")?,
            deals_in_window: root.uint("deals_in_window")?,
            next_deal: match doc.get(ROOT, "next_deal")? {
                Some((Value::Object(ObjType::Map), obj)) => {
                    let p = Fields { doc, obj };
                    Some(DealPricing {
                        tier: p.str("tier")?,
                        base_bps: p.uint("base_bps")?,
                        extra_bps: p.uint("extra_bps")?,
                    })
                }
                _ => None,
            },
            progress: TierProgress {
                per_mille: progress.uint("per_mille")?,
                next_tier: progress.opt_str("next_tier")?,
                components,
            },
            balances,
            lines,
            deals,
            statements,
            modules_done,
            exams,
            assignments,
        }
        .sorted())
    }
}

fn bad(field: &'static str) -> ModelError {
    ModelError::BadField { field }
}

// --- writing ---

fn write_view<T: Transactable>(tx: &mut T, view: &AccountView) -> Result<(), AutomergeError> {
    use ScalarValue as S;
    put(tx, &ROOT, "schema", S::Uint(SCHEMA))?;
    put(tx, &ROOT, "kind", S::from(ACCOUNT_VIEW_KIND))?;
    put(tx, &ROOT, "partner_id", S::from(view.partner_id.as_str()))?;
    put(tx, &ROOT, "computed_at", S::Timestamp(view.computed_at.0))?;
    put(tx, &ROOT, "tier", S::from(view.tier.as_str()))?;
    put(
        tx,
        &ROOT,
        "deals_in_window",
        S::Uint(view.deals_in_window.into()),
    )?;
    match &view.next_deal {
        Some(pricing) => {
            let obj = map_at(tx, &ROOT, "next_deal")?;
            put(tx, &obj, "tier", S::from(pricing.tier.as_str()))?;
            put(tx, &obj, "base_bps", S::Uint(pricing.base_bps.into()))?;
            put(tx, &obj, "extra_bps", S::Uint(pricing.extra_bps.into()))?;
        }
        None if tx.get(&ROOT, "next_deal")?.is_some() => tx.delete(&ROOT, "next_deal")?,
        None => {}
    }

    let progress = map_at(tx, &ROOT, "progress")?;
    put(
        tx,
        &progress,
        "per_mille",
        S::Uint(view.progress.per_mille.into()),
    )?;
    put(
        tx,
        &progress,
        "next_tier",
        opt_str(view.progress.next_tier.as_deref()),
    )?;
    write_components(tx, &progress, &view.progress.components)?;

    write_entries(
        tx,
        "balances",
        view.balances
            .iter()
            .map(|b| (b.currency.as_str().to_owned(), b)),
        |tx, obj, b| {
            put(tx, obj, "pending_minor", S::Int(b.pending_minor))?;
            put(tx, obj, "available_minor", S::Int(b.available_minor))?;
            put(tx, obj, "paid_minor", S::Int(b.paid_minor))
        },
    )?;
    write_entries(
        tx,
        "lines",
        view.lines.iter().map(|l| (l.id.to_string(), l)),
        |tx, obj, l| {
            put(tx, obj, "kind", S::from(l.kind.as_str()))?;
            put(tx, obj, "amount_minor", S::Int(l.amount_minor))?;
            put(tx, obj, "currency", S::from(l.currency.as_str()))?;
            put(
                tx,
                obj,
                "rate_bps",
                l.rate_bps.map_or(S::Null, |r| S::Uint(r.into())),
            )?;
            put(tx, obj, "tier", opt_str(l.tier.as_deref()))?;
            put(tx, obj, "deal_id", l.deal_id.map_or(S::Null, S::Int))?;
            put(
                tx,
                obj,
                "lead_id",
                opt_str(l.lead_id.as_ref().map(LeadId::as_str)),
            )?;
            put(tx, obj, "accrued_at", S::Timestamp(l.accrued_at.0))?;
            put(tx, obj, "available_at", S::Timestamp(l.available_at.0))?;
            put(tx, obj, "status", S::from(l.status.as_str()))?;
            put(
                tx,
                obj,
                "statement_id",
                l.statement_id.map_or(S::Null, S::Int),
            )?;
            put(tx, obj, "explanation", S::from(l.explanation.as_str()))
        },
    )?;
    write_entries(
        tx,
        "deals",
        view.deals
            .iter()
            .map(|d| (d.lead_id.as_str().to_owned(), d)),
        |tx, obj, d| {
            put(tx, obj, "status", S::from(d.status.as_str()))?;
            put(tx, obj, "amount_minor", S::Int(d.amount_minor))?;
            put(tx, obj, "currency", S::from(d.currency.as_str()))?;
            put(tx, obj, "reason", opt_str(d.reason.as_deref()))?;
            put(
                tx,
                obj,
                "decided_at",
                d.decided_at.map_or(S::Null, |t| S::Timestamp(t.0)),
            )?;
            match d.moved_to {
                Some(stage) => put(tx, obj, "moved_to", S::from(stage.as_str())),
                None if tx.get(obj, "moved_to")?.is_some() => tx.delete(obj, "moved_to"),
                None => Ok(()),
            }
        },
    )?;
    write_entries(
        tx,
        "statements",
        view.statements.iter().map(|s| (s.id.to_string(), s)),
        |tx, obj, s| {
            put(tx, obj, "period", S::from(s.period.as_str()))?;
            put(tx, obj, "currency", S::from(s.currency.as_str()))?;
            put(tx, obj, "total_minor", S::Int(s.total_minor))?;
            put(tx, obj, "run_at", S::Timestamp(s.run_at.0))?;
            put(tx, obj, "line_count", S::Uint(s.line_count.into()))
        },
    )?;
    // Views written before training existed have neither map; an empty
    // list writes none, so they stay as they were.
    if !view.modules_done.is_empty() || tx.get(&ROOT, "modules_done")?.is_some() {
        write_entries(
            tx,
            "modules_done",
            view.modules_done
                .iter()
                .map(|m| (format!("{}/{}", m.track, m.module), m)),
            |tx, obj, m| put(tx, obj, "completed_at", S::Timestamp(m.completed_at.0)),
        )?;
    }
    if !view.exams.is_empty() || tx.get(&ROOT, "exams")?.is_some() {
        write_entries(
            tx,
            "exams",
            view.exams.iter().map(|e| (e.attempt.clone(), e)),
            |tx, obj, e| {
                put(tx, obj, "track", S::from(e.track.as_str()))?;
                put(tx, obj, "quiz", S::from(e.quiz.as_str()))?;
                put(tx, obj, "outcome", S::from(e.outcome.as_str()))?;
                put(
                    tx,
                    obj,
                    "score",
                    e.score.map_or(S::Null, |s| S::Uint(s.into())),
                )?;
                put(tx, obj, "graded_at", S::Timestamp(e.graded_at.0))?;
                put(
                    tx,
                    obj,
                    "retry_after",
                    e.retry_after.map_or(S::Null, |t| S::Timestamp(t.0)),
                )?;
                put(tx, obj, "certificate", opt_str(e.certificate.as_deref()))
            },
        )?;
    }
    if !view.assignments.is_empty() || tx.get(&ROOT, "assignments")?.is_some() {
        write_entries(
            tx,
            "assignments",
            view.assignments
                .iter()
                .map(|a| (format!("{}/{}", a.track, a.module), a)),
            |tx, obj, a| {
                put(tx, obj, "due_on", S::from(a.due_on.as_str()))?;
                put(tx, obj, "assigned_by", S::from(a.assigned_by.as_str()))?;
                put(tx, obj, "assigned_at", S::Timestamp(a.assigned_at.0))
            },
        )?;
    }
    Ok(())
}

fn opt_str(s: Option<&str>) -> ScalarValue {
    s.map_or(ScalarValue::Null, ScalarValue::from)
}

/// Puts `value` unless the field already holds exactly it.
fn put<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: ScalarValue,
) -> Result<(), AutomergeError> {
    let same = matches!(tx.get(obj, key)?, Some((Value::Scalar(current), _)) if *current == value);
    if !same {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

/// The map under `key`, made if it is missing or not a map.
fn map_at<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str) -> Result<ObjId, AutomergeError> {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => tx.put_object(obj, key, ObjType::Map),
    }
}

/// Makes the root map `key` hold exactly `items` (by their keys): entries
/// of other keys are deleted, each item's fields written by `fields`.
fn write_entries<'a, T: Transactable, I: 'a>(
    tx: &mut T,
    key: &str,
    items: impl Iterator<Item = (String, &'a I)>,
    fields: impl Fn(&mut T, &ObjId, &I) -> Result<(), AutomergeError>,
) -> Result<(), AutomergeError> {
    let map = map_at(tx, &ROOT, key)?;
    let mut wanted = HashSet::new();
    for (item_key, item) in items {
        let obj = map_at(tx, &map, &item_key)?;
        fields(tx, &obj, item)?;
        wanted.insert(item_key);
    }
    let gone: Vec<String> = tx.keys(&map).filter(|k| !wanted.contains(k)).collect();
    for k in gone {
        tx.delete(&map, k.as_str())?;
    }
    Ok(())
}

/// The components are few and ordered: updated in place while their count
/// stays, made again when it changes.
fn write_components<T: Transactable>(
    tx: &mut T,
    progress: &ObjId,
    components: &[ProgressComponent],
) -> Result<(), AutomergeError> {
    let list = match tx.get(progress, "components")? {
        Some((Value::Object(ObjType::List), id)) if tx.length(&id) == components.len() => id,
        _ => tx.put_object(progress, "components", ObjType::List)?,
    };
    for (i, c) in components.iter().enumerate() {
        let obj = match tx.get(&list, i)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => tx.insert_object(&list, i, ObjType::Map)?,
        };
        put(tx, &obj, "name", ScalarValue::from(c.name.as_str()))?;
        put(tx, &obj, "counted", ScalarValue::Uint(c.counted.into()))?;
        put(tx, &obj, "target", ScalarValue::Uint(c.target.into()))?;
        put(tx, &obj, "points", ScalarValue::Uint(c.points.into()))?;
        put(
            tx,
            &obj,
            "max_points",
            ScalarValue::Uint(c.max_points.into()),
        )?;
    }
    Ok(())
}

// --- reading ---

fn child(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &'static str,
    kind: ObjType,
) -> Result<ObjId, ModelError> {
    match doc.get(obj, key)? {
        Some((Value::Object(found), id)) if found == kind => Ok(id),
        _ => Err(bad(key)),
    }
}

/// Reads every entry of the root map `key` with `read`.
fn entries<D: ReadDoc, T>(
    doc: &D,
    key: &'static str,
    read: impl Fn(&str, &Fields<'_, D>) -> Result<T, ModelError>,
) -> Result<Vec<T>, ModelError> {
    let map = child(doc, &ROOT, key, ObjType::Map)?;
    doc.keys(&map)
        .map(|entry| {
            let obj = match doc.get(&map, entry.as_str())? {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => return Err(bad(key)),
            };
            read(&entry, &Fields { doc, obj })
        })
        .collect()
}

/// [`entries`] of a map that views written before it existed lack: none.
fn entries_if_any<D: ReadDoc, T>(
    doc: &D,
    key: &'static str,
    read: impl Fn(&str, &Fields<'_, D>) -> Result<T, ModelError>,
) -> Result<Vec<T>, ModelError> {
    match doc.get(ROOT, key)? {
        None => Ok(Vec::new()),
        Some(_) => entries(doc, key, read),
    }
}

/// The fields of one object, each required or explicitly optional (`null`
/// or absent).
struct Fields<'a, D> {
    doc: &'a D,
    obj: ObjId,
}

impl<D: ReadDoc> Fields<'_, D> {
    fn get(&self, key: &'static str) -> Option<ScalarValue> {
        scalar(self.doc, &self.obj, key).filter(|v| !matches!(v, ScalarValue::Null))
    }

    fn opt_str(&self, key: &'static str) -> Result<Option<String>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(bad(key)),
        }
    }

    fn opt_int(&self, key: &'static str) -> Result<Option<i64>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(ScalarValue::Int(n) | ScalarValue::Timestamp(n)) => Ok(Some(n)),
            Some(ScalarValue::Uint(n)) => i64::try_from(n).map(Some).map_err(|_| bad(key)),
            Some(_) => Err(bad(key)),
        }
    }

    fn opt_uint<N: TryFrom<u64>>(&self, key: &'static str) -> Result<Option<N>, ModelError> {
        let n = match self.get(key) {
            None => return Ok(None),
            Some(ScalarValue::Uint(n)) => n,
            Some(ScalarValue::Int(n)) => u64::try_from(n).map_err(|_| bad(key))?,
            Some(_) => return Err(bad(key)),
        };
        N::try_from(n).map(Some).map_err(|_| bad(key))
    }

    fn str(&self, key: &'static str) -> Result<String, ModelError> {
        self.opt_str(key)?.ok_or(bad(key))
    }

    fn int(&self, key: &'static str) -> Result<i64, ModelError> {
        self.opt_int(key)?.ok_or(bad(key))
    }

    fn uint<N: TryFrom<u64>>(&self, key: &'static str) -> Result<N, ModelError> {
        self.opt_uint(key)?.ok_or(bad(key))
    }

    fn time(&self, key: &'static str) -> Result<Timestamp, ModelError> {
        self.int(key).map(Timestamp)
    }

    fn currency(&self, key: &'static str) -> Result<Currency, ModelError> {
        Currency::parse(&self.str(key)?).map_err(|_| bad(key))
    }
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn line(id: i64, at: i64, status: LineStatus) -> EarningLine {
        EarningLine {
            id,
            kind: "base".into(),
            amount_minor: 18_000,
            currency: usd(),
            rate_bps: Some(2000),
            tier: Some("starter".into()),
            deal_id: Some(7),
            lead_id: Some(LeadId::parse("ben-5").unwrap()),
            accrued_at: Timestamp(at),
            available_at: Timestamp(at + 30 * 86_400_000),
            statement_id: (status == LineStatus::Paid).then_some(3),
            status,
            explanation: "20.00% base commission on deal ben-5 of 900.00 USD".into(),
        }
    }

    fn view() -> AccountView {
        AccountView {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            computed_at: Timestamp(1_000),
            tier: "starter".into(),
            deals_in_window: 1,
            next_deal: Some(DealPricing {
                tier: "starter".into(),
                base_bps: 2_000,
                extra_bps: 0,
            }),
            progress: TierProgress {
                per_mille: 200,
                next_tier: Some("active".into()),
                components: ["deals", "training", "support", "satisfaction"]
                    .iter()
                    .map(|name| ProgressComponent {
                        name: (*name).into(),
                        counted: u32::from(*name == "deals"),
                        target: 3,
                        points: if *name == "deals" { 200 } else { 0 },
                        max_points: 250,
                    })
                    .collect(),
            },
            balances: vec![
                Balance {
                    currency: Currency::parse("EUR").unwrap(),
                    pending_minor: 0,
                    available_minor: -5,
                    paid_minor: 1_000,
                },
                Balance {
                    currency: usd(),
                    pending_minor: 18_000,
                    available_minor: 0,
                    paid_minor: 0,
                },
            ],
            lines: vec![
                line(2, 500, LineStatus::Pending),
                EarningLine {
                    kind: "override".into(),
                    rate_bps: None,
                    tier: None,
                    deal_id: None,
                    lead_id: None,
                    ..line(1, 400, LineStatus::Paid)
                },
            ],
            deals: vec![
                DealOutcome {
                    lead_id: LeadId::parse("ben-1").unwrap(),
                    status: DealStatus::Rejected,
                    amount_minor: 120_000,
                    currency: usd(),
                    reason: Some("Duplicate of an existing order".into()),
                    decided_at: Some(Timestamp(900)),
                    moved_to: None,
                },
                DealOutcome {
                    lead_id: LeadId::parse("ben-5").unwrap(),
                    status: DealStatus::Submitted,
                    amount_minor: 90_000,
                    currency: usd(),
                    reason: None,
                    decided_at: None,
                    moved_to: None,
                },
            ],
            statements: vec![Statement {
                id: 3,
                period: "2025-06".into(),
                currency: Currency::parse("EUR").unwrap(),
                total_minor: 1_000,
                run_at: Timestamp(300),
                line_count: 1,
            }],
            modules_done: vec![ModuleDone {
                track: "selling".into(),
                module: "basics".into(),
                completed_at: Timestamp(400),
            }],
            exams: vec![ExamOutcome {
                attempt: "a1".into(),
                track: "selling".into(),
                quiz: "final".into(),
                outcome: "passed".into(),
                score: Some(90),
                graded_at: Timestamp(500),
                retry_after: None,
                certificate: Some("0123456789ABCDEF".into()),
            }],
            assignments: vec![Assignment {
                track: "selling".into(),
                module: "closing".into(),
                due_on: "2025-07-01".into(),
                assigned_by: "Ana Souza".into(),
                assigned_at: Timestamp(450),
            }],
        }
    }

    #[test]
    fn a_view_without_training_reads_with_none_and_is_written_without_it() {
        let mut doc = Automerge::new();
        let before = AccountView {
            modules_done: vec![],
            exams: vec![],
            assignments: vec![],
            ..view()
        };
        AccountViewDoc::write(&mut doc, &before).unwrap();
        assert!(doc.get(ROOT, "exams").unwrap().is_none());
        assert!(doc.get(ROOT, "assignments").unwrap().is_none());
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), before);
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), view());
    }

    #[test]
    fn a_view_written_reads_back_whole() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), view());
        // And through a save and a load, as a device gets it.
        let loaded = Automerge::load(&doc.save()).unwrap();
        assert_eq!(AccountViewDoc::read(&loaded).unwrap(), view());
    }

    #[test]
    fn reading_sorts_what_maps_hold_by_key() {
        let mut shuffled = view();
        shuffled.lines.reverse();
        shuffled.deals.reverse();
        shuffled.balances.reverse();
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &shuffled).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), view());
        assert_eq!(shuffled.sorted(), view());
    }

    #[test]
    fn writing_the_same_view_again_changes_nothing() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        let heads = doc.get_heads();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn a_rewrite_writes_only_what_changed() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        let before = doc.get_changes(&[]).len();

        let mut next = view();
        next.computed_at = Timestamp(2_000);
        next.lines[0].status = LineStatus::Available;
        next.lines.pop();
        next.deals[1].status = DealStatus::Approved;
        next.deals[1].decided_at = Some(Timestamp(1_500));
        next.progress.components[1].counted = 2;
        AccountViewDoc::write(&mut doc, &next).unwrap();

        let changes = doc.get_changes(&[]);
        assert_eq!(changes.len(), before + 1, "one transaction");
        // computed_at, a status, a deleted line, a deal's status and time,
        // a component's count: six operations, nothing rewritten.
        assert_eq!(changes.last().unwrap().len(), 6);
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), next);
    }

    #[test]
    fn a_different_number_of_components_is_written_whole() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        let mut elite = view();
        elite.tier = "elite".into();
        elite.progress = TierProgress {
            per_mille: 1000,
            next_tier: None,
            components: Vec::new(),
        };
        AccountViewDoc::write(&mut doc, &elite).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), elite);
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), view());
    }

    #[test]
    fn same_figures_ignores_only_the_time_of_computing() {
        let mut later = view();
        later.computed_at = Timestamp(5_000);
        assert!(view().same_figures(&later));
        later.balances[1].pending_minor += 1;
        assert!(!view().same_figures(&later));
    }

    #[test]
    fn other_kinds_and_newer_schemas_are_refused() {
        let doc = Automerge::new();
        assert!(matches!(
            AccountViewDoc::read(&doc),
            Err(ModelError::WrongKind { .. })
        ));
        let mut pipeline = Automerge::new();
        crate::PipelineDoc::init(&mut pipeline, &PartnerId::parse("p-ben").unwrap()).unwrap();
        assert!(matches!(
            AccountViewDoc::write(&mut pipeline, &view()),
            Err(ModelError::WrongKind { .. })
        ));
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        doc.transact(|tx| tx.put(ROOT, "schema", SCHEMA + 1))
            .unwrap();
        assert_eq!(
            AccountViewDoc::read(&doc),
            Err(ModelError::UnsupportedSchema(SCHEMA + 1))
        );
        assert_eq!(
            AccountViewDoc::write(&mut doc, &view()),
            Err(ModelError::UnsupportedSchema(SCHEMA + 1))
        );
    }

    /// The deal entry of `lead` as the document holds it.
    fn deal_entry(doc: &Automerge, lead: &str) -> ObjId {
        let deals = child(doc, &ROOT, "deals", ObjType::Map).unwrap();
        match doc.get(&deals, lead).unwrap() {
            Some((Value::Object(ObjType::Map), id)) => id,
            other => panic!("no deal entry {lead}: {other:?}"),
        }
    }

    #[test]
    fn a_lead_moved_after_approval_reads_back_until_it_is_won_again() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        // A deal without a conflict carries nothing for it.
        assert!(scalar(&doc, &deal_entry(&doc, "ben-5"), "moved_to").is_none());

        let mut moved = view();
        moved.deals[1].status = DealStatus::Approved;
        moved.deals[1].decided_at = Some(Timestamp(1_500));
        moved.deals[1].moved_to = Some(Stage::Lost);
        AccountViewDoc::write(&mut doc, &moved).unwrap();
        let read = AccountViewDoc::read(&doc).unwrap();
        assert_eq!(read, moved);
        assert_eq!(
            read.deal(&LeadId::parse("ben-5").unwrap())
                .unwrap()
                .moved_to,
            Some(Stage::Lost)
        );

        // Won again: the field goes, and the view reads as before.
        moved.deals[1].moved_to = None;
        AccountViewDoc::write(&mut doc, &moved).unwrap();
        assert_eq!(AccountViewDoc::read(&doc).unwrap(), moved);
        assert!(scalar(&doc, &deal_entry(&doc, "ben-5"), "moved_to").is_none());
    }

    #[test]
    fn a_moved_to_that_is_no_stage_is_an_error() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        let entry = deal_entry(&doc, "ben-5");
        doc.transact(|tx| tx.put(&entry, "moved_to", "sideways"))
            .unwrap();
        assert_eq!(
            AccountViewDoc::read(&doc),
            Err(ModelError::BadField { field: "moved_to" })
        );
    }

    #[test]
    fn only_an_approved_deal_holds_its_lead_in_won() {
        let deal = |status| DealOutcome {
            status,
            ..view().deals[1].clone()
        };
        assert!(deal(DealStatus::Approved).holds_stage());
        for open in [
            DealStatus::Submitted,
            DealStatus::Withdrawn,
            DealStatus::Rejected,
        ] {
            assert!(!deal(open).holds_stage(), "{open:?}");
        }
    }

    #[test]
    fn a_broken_entry_is_an_error_not_a_silent_gap() {
        let mut doc = Automerge::new();
        AccountViewDoc::write(&mut doc, &view()).unwrap();
        let lines = child(&doc, &ROOT, "lines", ObjType::Map).unwrap();
        doc.transact(|tx| {
            let entry = match tx.get(&lines, "2")? {
                Some((_, id)) => id,
                None => unreachable!("line 2 was written"),
            };
            tx.put(&entry, "status", "lost")
        })
        .unwrap();
        assert_eq!(
            AccountViewDoc::read(&doc),
            Err(ModelError::BadField { field: "status" })
        );
    }
}
