//! Projection of merged documents into relational rows.
//!
//! The worker hears from storage which documents moved, loads each one from
//! its stored chunks, and, in one transaction, writes its rows together with
//! the heads it projected. Heads make it idempotent (the same heads twice
//! change nothing) and resumable: at start it looks at every registered
//! document and re-projects those whose heads moved while it was down.
//!
//! A pipeline's projection files its won leads as deals, which its owner's
//! account view shows: after each one the owner is sent to the account view
//! writer (`account_view/views.rs`).
//!
//! Documents are written by clients, so a lead may say what no row can hold
//! without inventing a value (a negative amount, a time outside the years 1
//! to 9999, an entry that does not read as a lead). Such a lead is not
//! projected: its previous row and deal stay as they were, a warning names
//! the document and the lead, and `projection_rejects` counts it. A lead
//! moved out of "won" after its deal was approved leaves the deal approved
//! and is recorded in `deal_conflicts` (see `file_deals`).

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use crate::events::{ActivitySeen, DocumentStored, FiguresMoved, Inbox, Outbox};
use chrono::{DateTime, Datelike, Utc};
use model::{Lead, Pipeline, PipelineDoc, Stage, limits};
use sqlx::PgPool;
use sync::DocKind;

use crate::platform::storage::{LoadError, load_document};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rows written for new heads.
    Projected { rows: usize },
    /// The stored heads were already projected.
    Unchanged,
    /// Not a registered document (samod also stores documents that no
    /// projection reads); nothing to do.
    Unregistered,
    /// Another module's kind (a channel's messages, a training record):
    /// not loaded at all, as a chat at ten messages a second would have
    /// every one of its changes loaded here for nothing.
    NotMine,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("document does not read as a {kind}: {source}")]
    Model {
        kind: &'static str,
        source: model::ModelError,
    },
    #[error("registry names an unknown kind: {0}")]
    Kind(#[from] sync::UnknownKind),
}

/// Projects what `changed` names; once a projection is committed, tells
/// `owners` whose deals it changed and `activity` whose pipeline it
/// projected (what others see of them: their team leader's view).
pub async fn run(
    pool: PgPool,
    mut changed: Inbox<DocumentStored>,
    owners: Outbox<FiguresMoved>,
    activity: Outbox<ActivitySeen>,
) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    // Catch up with whatever moved while we were not running.
    loop {
        match sqlx::query_scalar::<_, String>(
            "SELECT doc_id FROM documents WHERE kind IN ('pipeline', 'note')",
        )
        .fetch_all(&pool)
        .await
        {
            Ok(all) => {
                pending.extend(all);
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "projection catch-up cannot list documents; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    loop {
        // Coalesce bursts: many chunk writes of one document, one projection.
        while let Ok(DocumentStored(doc)) = changed.try_recv() {
            pending.insert(doc);
        }
        let Some(doc_id) = pending.pop_first() else {
            match changed.recv().await {
                Some(DocumentStored(doc)) => {
                    pending.insert(doc);
                    continue;
                }
                None => return,
            }
        };
        match project_and_name_owner(&pool, &doc_id).await {
            Ok((Outcome::Projected { rows }, pipeline_owner)) => {
                tracing::debug!(doc_id, rows, "projected");
                if let Some((owner, deals_changed)) = pipeline_owner {
                    if deals_changed {
                        owners.send(FiguresMoved(owner.clone()));
                    }
                    activity.send(ActivitySeen(owner));
                }
            }
            Ok(_) => {}
            Err(ProjectionError::Db(error)) => {
                // The database is away; keep the document and try again.
                tracing::warn!(%error, doc_id, "projection failed; will retry");
                pending.insert(doc_id);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => tracing::error!(%error, doc_id, "cannot project document"),
        }
    }
}

/// Projects one document if its stored heads moved since the last projection.
pub async fn project(pool: &PgPool, doc_id: &str) -> Result<Outcome, ProjectionError> {
    Ok(project_and_name_owner(pool, doc_id).await?.0)
}

/// [`project`], and the owner of the pipeline it projected with whether
/// that changed their deals (what their account view shows of a pipeline).
async fn project_and_name_owner(
    pool: &PgPool,
    doc_id: &str,
) -> Result<(Outcome, Option<(String, bool)>), ProjectionError> {
    let Some((kind, owner)): Option<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, owner_id FROM documents WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_optional(pool)
            .await?
    else {
        return Ok((Outcome::Unregistered, None));
    };
    let kind = DocKind::parse(&kind)?;
    // Pipelines, and the notes a partner makes on a device (which hold a
    // pipeline's shape in the load test): their heads are recorded.
    if !matches!(kind, DocKind::Pipeline | DocKind::Note) {
        return Ok((Outcome::NotMine, None));
    }
    let doc = load_document(pool, doc_id).await?;
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();

    let mut tx = pool.begin().await?;
    let projected: Option<Vec<String>> =
        sqlx::query_scalar("SELECT heads FROM projections WHERE doc_id = $1 FOR UPDATE")
            .bind(doc_id)
            .fetch_optional(&mut *tx)
            .await?;
    if projected.as_ref() == Some(&heads) {
        return Ok((Outcome::Unchanged, None));
    }
    let (rows, deals_changed_for) = match (kind, owner) {
        (DocKind::Pipeline, Some(owner)) => {
            let pipeline = PipelineDoc::read(&doc).map_err(|source| ProjectionError::Model {
                kind: "pipeline",
                source,
            })?;
            let leads = Leads::of(&pipeline);
            let rows = write_leads(&mut tx, doc_id, &owner, &leads).await?;
            let filed = file_deals(&mut tx, doc_id, &owner, &leads).await?;
            (rows, Some((owner, filed)))
        }
        // Nothing relational is read from a note yet; its heads are still
        // recorded, so "projected up to" means the same for both kinds.
        _ => (0, None),
    };
    sqlx::query(
        "INSERT INTO projections (doc_id, heads) VALUES ($1, $2)
         ON CONFLICT (doc_id) DO UPDATE SET heads = EXCLUDED.heads, projected_at = now()",
    )
    .bind(doc_id)
    .bind(&heads)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((Outcome::Projected { rows }, deals_changed_for))
}

/// A lead as its row holds it: what the document says, checked.
#[derive(Debug)]
struct LeadRow<'a> {
    lead: &'a Lead,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
    follow_up_at: Option<DateTime<Utc>>,
}

/// What a pipeline projects: the rows of the leads that read whole, and the
/// entries that cannot be projected without inventing a value, by key, with
/// why. A rejected entry keeps whatever row and deal it had.
#[derive(Debug)]
struct Leads<'a> {
    rows: Vec<LeadRow<'a>>,
    rejected: Vec<(String, String)>,
}

impl<'a> Leads<'a> {
    fn of(pipeline: &'a Pipeline) -> Leads<'a> {
        let mut rows = Vec::new();
        let mut rejected: Vec<(String, String)> = pipeline
            .unreadable
            .iter()
            // A key is anything a client wrote. One with a NUL, which
            // Postgres text cannot hold (nor take as a parameter), has no
            // row anyway: it is named with U+FFFD instead.
            .map(|key| {
                let key = key.replace('\0', "\u{fffd}");
                (key, "the entry does not read as a lead".to_owned())
            })
            .collect();
        for lead in &pipeline.leads {
            match row_of(lead) {
                Ok(row) => rows.push(row),
                Err(why) => rejected.push((lead.id.to_string(), why)),
            }
        }
        Leads { rows, rejected }
    }

    fn won(&self) -> impl Iterator<Item = &LeadRow<'a>> {
        self.rows.iter().filter(|row| row.lead.stage == Stage::Won)
    }

    /// Every key whose row (and deal) the document still speaks for,
    /// written now or kept as it was.
    fn kept(&self) -> Vec<&str> {
        let rows = self.rows.iter().map(|row| row.lead.id.as_str());
        rows.chain(self.rejected.iter().map(|(key, _)| key.as_str()))
            .collect()
    }
}

/// The row of a lead, or why it has none: a negative amount and a time no
/// calendar shows are refused, not turned into 0 or 1970.
fn row_of(lead: &Lead) -> Result<LeadRow<'_>, String> {
    if lead.value.minor < 0 {
        return Err(format!("value_minor {} is negative", lead.value.minor));
    }
    // Postgres text cannot hold a NUL: the row's insert would fail, and
    // the document's projection with it, again at every retry.
    for (field, text) in [
        ("contact_name", lead.contact_name.as_str()),
        ("company", &lead.company),
        ("email", &lead.email),
        ("phone", &lead.phone),
        ("notes", &lead.notes),
        (
            "follow-up note",
            lead.follow_up.as_ref().map_or("", |f| f.note.as_str()),
        ),
    ] {
        if text.contains('\0') {
            return Err(format!("{field} holds a NUL character"));
        }
    }
    // What no form lets anyone type: a client that skips the model's
    // parser gets no row rather than megabytes of text in one.
    for (field, text, max) in [
        (
            "contact_name",
            lead.contact_name.as_str(),
            limits::CONTACT_NAME,
        ),
        ("company", &lead.company, limits::COMPANY),
        ("email", &lead.email, limits::EMAIL),
        ("phone", &lead.phone, limits::PHONE),
        ("notes", &lead.notes, limits::NOTES),
        (
            "follow-up note",
            lead.follow_up.as_ref().map_or("", |f| f.note.as_str()),
            limits::FOLLOW_UP_NOTE,
        ),
    ] {
        let count = text.chars().count();
        if count > max {
            return Err(format!("{field} is {count} characters long, over {max}"));
        }
    }
    Ok(LeadRow {
        lead,
        created_at: time("created_at", lead.created_at)?,
        updated_at: time("updated_at", lead.updated_at)?,
        archived_at: lead
            .archived_at
            .map(|at| time("archived_at", at))
            .transpose()?,
        // A follow-up at a time no calendar shows is no follow-up: the lead
        // still projects (a deal it files matters more than a reminder).
        follow_up_at: lead
            .follow_up
            .as_ref()
            .and_then(|f| time("follow_up.at", f.at).ok()),
    })
}

/// Years 1 to 9999: what every clock, calendar and column here can show
/// (Postgres refuses some earlier times outright, which would stop the
/// document's projection for good).
fn time(field: &str, ms: model::Timestamp) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms.0)
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| format!("{field} {} ms is not a time in the years 1 to 9999", ms.0))
}

/// How much of a rejected entry's key is recorded and logged: a lead id is
/// at most 64 characters, a broken entry's key anything.
fn shown(key: &str) -> String {
    key.chars().take(64).collect()
}

/// Logs and counts the entries of `doc_id` that were not projected.
async fn record_rejects(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    rejected: &[(String, String)],
) -> Result<(), sqlx::Error> {
    // One warning per entry would let one document flood the log.
    const LOGGED: usize = 10;
    for (key, why) in rejected.iter().take(LOGGED) {
        tracing::warn!(
            doc_id,
            lead = shown(key),
            why,
            "lead not projected; its previous row stays"
        );
    }
    if rejected.len() > LOGGED {
        tracing::warn!(
            doc_id,
            more = rejected.len() - LOGGED,
            "more leads not projected"
        );
    }
    // By shown key, once each: one statement may not update a row twice.
    let by_key: BTreeMap<String, &str> = rejected
        .iter()
        .map(|(key, why)| (shown(key), why.as_str()))
        .collect();
    let (keys, whys): (Vec<String>, Vec<&str>) = by_key.into_iter().unzip();
    sqlx::query(
        "INSERT INTO projection_rejects (doc_id, lead_id, reason)
         SELECT $1, key, why FROM unnest($2::text[], $3::text[]) AS r (key, why)
         ON CONFLICT (doc_id, lead_id) DO UPDATE SET
            reason = EXCLUDED.reason, times = projection_rejects.times + 1, last_at = now()",
    )
    .bind(doc_id)
    .bind(&keys)
    .bind(&whys)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A lead marked won is a deal for the back-office to decide: filed as
/// submitted (its amount following the lead until a decision), withdrawn if
/// the lead leaves "won" first. A decided deal is never touched again: the
/// partner's document proposes, the server decides. A lead that leaves
/// "won" after its deal was approved (a device that did not know; the CRDT
/// merges it) leaves the deal approved and paid, and is recorded in
/// `deal_conflicts` until it is won again; its owner's view shows it. A
/// rejected lead (see [`Leads`]) files, withdraws and records nothing.
/// Returns whether any deal or conflict changed.
async fn file_deals(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    owner: &str,
    leads: &Leads<'_>,
) -> Result<bool, sqlx::Error> {
    let mut changed = 0;
    for row in leads.won() {
        let lead = row.lead;
        changed += sqlx::query(
            "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status)
             VALUES ($1, $2, $3, $4, $5, 'submitted')
             ON CONFLICT (partner_id, lead_id) DO UPDATE SET
                amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
                status = 'submitted',
                submitted_at = CASE WHEN deals.status = 'withdrawn' THEN now()
                                    ELSE deals.submitted_at END
             WHERE deals.status IN ('submitted', 'withdrawn')
               AND (deals.amount_minor, deals.currency, deals.status)
                   IS DISTINCT FROM (EXCLUDED.amount_minor, EXCLUDED.currency, 'submitted')",
        )
        .bind(owner)
        .bind(lead.id.as_str())
        .bind(doc_id)
        .bind(lead.value.minor)
        .bind(lead.value.currency.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let won: Vec<&str> = leads.won().map(|row| row.lead.id.as_str()).collect();
    changed += sqlx::query(
        "UPDATE deals SET status = 'withdrawn'
         WHERE partner_id = $1 AND doc_id = $2 AND status = 'submitted'
           AND NOT (lead_id = ANY($3))",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(
        // A rejected lead keeps its deal as it was.
        won.iter()
            .copied()
            .chain(leads.rejected.iter().map(|(key, _)| key.as_str()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let (moved, to): (Vec<&str>, Vec<&str>) = leads
        .rows
        .iter()
        .filter(|row| row.lead.stage != Stage::Won)
        .map(|row| (row.lead.id.as_str(), row.lead.stage.as_str()))
        .unzip();
    let noticed: Vec<(String, String, i64)> = sqlx::query_as(
        "WITH moved AS (
            SELECT d.id, d.lead_id, m.stage FROM deals d
            JOIN unnest($3::text[], $4::text[]) AS m (lead_id, stage) ON m.lead_id = d.lead_id
            WHERE d.partner_id = $1 AND d.doc_id = $2
              AND d.status = 'approved' AND d.reversed_at IS NULL
         ), noted AS (
            INSERT INTO deal_conflicts (deal_id, stage) SELECT id, stage FROM moved
            ON CONFLICT (deal_id) DO UPDATE SET
                stage = EXCLUDED.stage, resolved_at = NULL,
                noticed_at = CASE WHEN deal_conflicts.resolved_at IS NULL
                                  THEN deal_conflicts.noticed_at ELSE now() END
            WHERE (deal_conflicts.stage, deal_conflicts.resolved_at)
                  IS DISTINCT FROM (EXCLUDED.stage, NULL::timestamptz)
            RETURNING deal_id
         )
         SELECT moved.lead_id, moved.stage, moved.id FROM moved
         JOIN noted ON noted.deal_id = moved.id",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(&moved)
    .bind(&to)
    .fetch_all(&mut *tx)
    .await?;
    for (lead, stage, deal) in &noticed {
        tracing::warn!(
            doc_id,
            lead,
            deal,
            stage,
            "lead moved out of won after its deal was approved; the deal stands"
        );
    }
    changed += noticed.len() as u64;
    changed += sqlx::query(
        "UPDATE deal_conflicts c SET resolved_at = now() FROM deals d
         WHERE c.deal_id = d.id AND c.resolved_at IS NULL
           AND d.partner_id = $1 AND d.doc_id = $2 AND d.lead_id = ANY($3)",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(&won)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Rows follow the owner recorded in the registry, not the `partner_id`
/// the document claims: documents are written by clients.
async fn write_leads(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    owner: &str,
    leads: &Leads<'_>,
) -> Result<usize, sqlx::Error> {
    // One statement for every lead (not one per lead: a statement's round
    // trip costs Postgres more than its row), and a row is written only
    // where it differs, so an edit of one lead rewrites one row.
    let rows = &leads.rows;
    sqlx::query(
        "INSERT INTO leads (partner_id, lead_id, doc_id, stage, contact_name, company, email,
                            phone, notes, value_minor, currency, created_at, updated_at,
                            archived_at, follow_up_at, follow_up_note)
         SELECT $1, l.lead_id, $2, l.stage, l.contact_name, l.company, l.email, l.phone,
                l.notes, l.value_minor, l.currency, l.created_at, l.updated_at, l.archived_at,
                l.follow_up_at, l.follow_up_note
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::bigint[], $11::text[], $12::timestamptz[],
                     $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::text[])
              AS l (lead_id, stage, contact_name, company, email, phone, notes, value_minor,
                    currency, created_at, updated_at, archived_at, follow_up_at, follow_up_note)
         ON CONFLICT (partner_id, lead_id) DO UPDATE SET
            stage = EXCLUDED.stage, contact_name = EXCLUDED.contact_name,
            company = EXCLUDED.company, email = EXCLUDED.email, phone = EXCLUDED.phone,
            notes = EXCLUDED.notes, value_minor = EXCLUDED.value_minor,
            currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at,
            archived_at = EXCLUDED.archived_at, follow_up_at = EXCLUDED.follow_up_at,
            follow_up_note = EXCLUDED.follow_up_note
         WHERE (leads.stage, leads.contact_name, leads.company, leads.email, leads.phone,
                leads.notes, leads.value_minor, leads.currency, leads.updated_at,
                leads.archived_at, leads.follow_up_at, leads.follow_up_note)
               IS DISTINCT FROM
               (EXCLUDED.stage, EXCLUDED.contact_name, EXCLUDED.company, EXCLUDED.email,
                EXCLUDED.phone, EXCLUDED.notes, EXCLUDED.value_minor, EXCLUDED.currency,
                EXCLUDED.updated_at, EXCLUDED.archived_at, EXCLUDED.follow_up_at,
                EXCLUDED.follow_up_note)",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(rows.iter().map(|r| r.lead.id.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.lead.stage.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.lead.contact_name.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.lead.company.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.lead.email.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.lead.phone.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.lead.notes.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.lead.value.minor).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.lead.value.currency.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.archived_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.follow_up_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.lead.follow_up.as_ref().map(|f| f.note.as_str()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    // Rows of leads the document no longer holds go too: the table mirrors
    // the document. A rejected lead is still held: its row stays.
    sqlx::query("DELETE FROM leads WHERE doc_id = $1 AND NOT (lead_id = ANY($2))")
        .bind(doc_id)
        .bind(leads.kept())
        .execute(&mut *tx)
        .await?;
    if !leads.rejected.is_empty() {
        record_rejects(tx, doc_id, &leads.rejected).await?;
    }
    Ok(leads.rows.len())
}

#[cfg(test)]
mod tests {
    use model::{Currency, LeadId, Money, PartnerId, Timestamp};

    use super::*;

    fn lead(id: &str, minor: i64, created: i64, updated: i64) -> Lead {
        Lead {
            id: LeadId::parse(id).unwrap(),
            contact_name: "Ada".into(),
            company: String::new(),
            email: String::new(),
            phone: String::new(),
            value: Money::new(minor, Currency::parse("USD").unwrap()),
            notes: String::new(),
            stage: Stage::Won,
            created_at: Timestamp(created),
            updated_at: Timestamp(updated),
            archived_at: None,
            follow_up: None,
            activity: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn a_lead_with_an_invented_value_gets_no_row_and_says_why() {
        let now = 1_750_000_000_000;
        // Below what chrono holds, and what chrono holds but Postgres does
        // not (about 250,000 BC): neither is 1970, neither stops the worker.
        let pipeline = Pipeline {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            leads: vec![
                lead("ok", 100, now, now),
                // 1970 itself is a time: kept.
                lead("epoch", 0, 10, 10),
                lead("negative", -500, now, now),
                lead("far-future", 100, now, i64::MAX),
                lead("far-past", 100, -8_000_000_000_000_000, now),
                Lead {
                    archived_at: Some(Timestamp(i64::MIN)),
                    ..lead("archived-never", 100, now, now)
                },
                Lead {
                    follow_up: Some(model::FollowUp {
                        at: Timestamp(now),
                        note: "a\0b".into(),
                    }),
                    ..lead("nul-follow-up", 100, now, now)
                },
                Lead {
                    notes: "n".repeat(limits::NOTES + 1),
                    ..lead("novel", 100, now, now)
                },
                Lead {
                    follow_up: Some(model::FollowUp {
                        at: Timestamp(i64::MAX),
                        note: "someday".into(),
                    }),
                    ..lead("someday", 100, now, now)
                },
            ],
            unreadable: vec!["junk".into()],
            heads: model::Heads::default(),
        };
        let leads = Leads::of(&pipeline);
        let rows: Vec<&str> = leads.rows.iter().map(|r| r.lead.id.as_str()).collect();
        assert_eq!(rows, ["ok", "epoch", "someday"]);
        assert_eq!(
            leads.rows[2].follow_up_at, None,
            "a follow-up at no time is none"
        );
        assert_eq!(
            leads.rejected,
            [
                ("junk".into(), "the entry does not read as a lead".into()),
                ("negative".into(), "value_minor -500 is negative".into()),
                (
                    "far-future".into(),
                    format!(
                        "updated_at {} ms is not a time in the years 1 to 9999",
                        i64::MAX
                    )
                ),
                (
                    "far-past".into(),
                    "created_at -8000000000000000 ms is not a time in the years 1 to 9999".into()
                ),
                (
                    "archived-never".into(),
                    format!(
                        "archived_at {} ms is not a time in the years 1 to 9999",
                        i64::MIN
                    )
                ),
                (
                    "nul-follow-up".into(),
                    "follow-up note holds a NUL character".into()
                ),
                (
                    "novel".into(),
                    "notes is 10001 characters long, over 10000".into()
                ),
            ]
        );
        // Only rows count as won; every key keeps its row.
        assert_eq!(leads.won().count(), 3);
        assert_eq!(
            leads.kept(),
            [
                "ok",
                "epoch",
                "someday",
                "junk",
                "negative",
                "far-future",
                "far-past",
                "archived-never",
                "nul-follow-up",
                "novel"
            ]
        );
        assert_eq!(
            leads.rows[1].created_at,
            DateTime::from_timestamp_millis(10).unwrap()
        );
    }

    #[test]
    fn a_broken_entrys_key_is_shown_at_most_64_characters_long() {
        assert_eq!(shown(&"é".repeat(100)), "é".repeat(64));
        assert_eq!(shown("ben-5"), "ben-5");
    }
}
