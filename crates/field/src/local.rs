//! The tables the field client answers from, projected from its documents
//! in the same SQLite file: `leads` holds each lead's row as the server's
//! `leads` table does, made by the same code (`projection::pipeline`), so a
//! query here and a report there can never disagree. A document is
//! projected after every change made or received, in one transaction with
//! the heads it was projected at.
//!
//! Times are kept as RFC 3339 text in UTC with milliseconds, which sorts
//! as the times do.

use chrono::{DateTime, SecondsFormat, Utc};
use model::PipelineDoc;
use projection::pipeline::Leads;
use rusqlite::{Connection, OptionalExtension, params};
use samod::storage::StorageKey;
use samod_core::CompactionHash;
use serde::Serialize;

/// The projected tables, applied when the store opens.
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS leads (
        partner_id TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        contact_name TEXT NOT NULL,
        company TEXT NOT NULL,
        email TEXT NOT NULL,
        phone TEXT NOT NULL,
        notes TEXT NOT NULL,
        value_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        archived_at TEXT,
        follow_up_at TEXT,
        follow_up_note TEXT,
        PRIMARY KEY (partner_id, lead_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS leads_by_doc ON leads (doc_id);
    CREATE TABLE IF NOT EXISTS projected (
        doc_id TEXT PRIMARY KEY NOT NULL,
        heads TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS damaged_chunks (
        key TEXT PRIMARY KEY NOT NULL,
        data BLOB NOT NULL,
        found_at TEXT NOT NULL
    ) WITHOUT ROWID;
";

/// A time as the tables keep it.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A document's heads, sorted and joined, as `projected` keeps them.
pub fn heads_of(doc: &automerge::Automerge) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("the pipeline does not read: {0}")]
    Model(#[from] model::ModelError),
    #[error("the local store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0} is not a document id")]
    Id(String),
    /// The store holds nothing of the document to edit.
    #[error("there is no local copy of the document")]
    Empty,
}

/// What a projection did.
#[derive(Debug, Default)]
pub struct Projected {
    /// The heads projected.
    pub heads: String,
    /// The entries that could not be rows (with why), which keep whatever
    /// row they had, as on the server.
    pub rejected: Vec<(String, String)>,
    /// The keys of stored chunks that do not read (see [`stored_document`]).
    pub damaged: Vec<String>,
}

/// Projects the pipeline `doc_id` of `owner` into `leads` as it is
/// stored, unless it was projected at these heads already.
///
/// What is projected is read from the stored chunks inside the write
/// transaction, never from a copy in memory: several processes may share
/// the store (`sync --watch` and `lead add` at once), and one projecting
/// its own copy, which lacks what another stored meanwhile, would delete
/// that one's rows. The transaction takes SQLite's write lock first
/// (`IMMEDIATE`), so projections of all processes take turns and each
/// reads everything committed before it.
pub fn project_stored_pipeline(
    connection: &mut Connection,
    doc_id: &str,
    owner: &str,
) -> Result<Projected, ProjectError> {
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (doc, damaged) = stored_document(&tx, doc_id)?;
    let projected = project(&tx, &doc, doc_id, owner, damaged)?;
    tx.commit()?;
    Ok(projected)
}

/// Makes an edit on the stored pipeline `doc_id` of `owner` and projects
/// the result, in one transaction: the edit and its rows are kept
/// together or not at all, whatever kills the process.
///
/// This is the storage samod reads (the same keys, an incremental chunk
/// per change, compaction past ten chunks), written here rather than
/// through a samod repo: a repo loaded for one command forgets what is on
/// disk and rewrites the whole document at its first save, which made
/// each `lead add` cost a full save, and the chunks and the rows would
/// commit apart. Under SQLite's write lock the stored document is all
/// there is, so the next change is made on exactly it; each edit gets a
/// fresh actor, as each process of samod's would.
pub fn edit_stored_pipeline(
    connection: &mut Connection,
    doc_id: &str,
    owner: &str,
    edit: impl FnOnce(&mut automerge::Automerge) -> Result<(), model::ModelError>,
) -> Result<Projected, ProjectError> {
    let id: samod::DocumentId = doc_id
        .parse()
        .map_err(|_| ProjectError::Id(doc_id.to_owned()))?;
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (mut doc, damaged) = stored_document(&tx, doc_id)?;
    let before = doc.get_heads();
    if before.is_empty() {
        return Err(ProjectError::Empty);
    }
    edit(&mut doc)?;
    let changes = doc.get_changes(&before);
    if !changes.is_empty() {
        let (lo, hi) = chunk_range(doc_id)?;
        let held: i64 = tx.query_row(
            "SELECT count(*) FROM chunks WHERE key >= ?1 AND key < ?2",
            [&lo, &hi],
            |row| row.get(0),
        )?;
        let mut put =
            tx.prepare_cached("INSERT OR REPLACE INTO chunks (key, data) VALUES (?1, ?2)")?;
        if held + changes.len() as i64 > COMPACT_PAST {
            // One snapshot in place of every chunk that read, atomically:
            // a crash leaves the old chunks or the new one, never
            // neither. (Damaged chunks were set aside as the document
            // was read: everything left is in `doc`.)
            let key = StorageKey::snapshot_path(&id, &CompactionHash::new(&doc.get_heads()));
            let key = sync::key_to_string(&key);
            tx.execute(
                "DELETE FROM chunks WHERE key >= ?1 AND key < ?2 AND key <> ?3",
                [&lo, &hi, &key],
            )?;
            put.execute(params![key, doc.save()])?;
        } else {
            for change in &changes {
                let key = sync::key_to_string(&StorageKey::incremental_path(&id, change.hash()));
                put.execute(params![key, change.raw_bytes()])?;
            }
        }
    }
    let projected = project(&tx, &doc, doc_id, owner, damaged)?;
    tx.commit()?;
    Ok(projected)
}

/// Past this many chunks a document is compacted into one, as samod does.
const COMPACT_PAST: i64 = 10;

/// The range of flattened keys of `doc_id`'s chunks.
pub fn chunk_range(doc_id: &str) -> Result<(String, String), ProjectError> {
    let prefix =
        StorageKey::from_parts([doc_id]).map_err(|_| ProjectError::Id(doc_id.to_owned()))?;
    Ok(sync::prefix_range(&prefix))
}

/// Projects `doc`, the pipeline `doc_id` of `owner` as stored, into
/// `leads` within `tx`, unless it was projected at these heads already.
fn project(
    tx: &rusqlite::Transaction<'_>,
    doc: &automerge::Automerge,
    doc_id: &str,
    owner: &str,
    damaged: Vec<String>,
) -> Result<Projected, ProjectError> {
    let heads = heads_of(doc);
    let before: Option<String> = tx
        .query_row(
            "SELECT heads FROM projected WHERE doc_id = ?1",
            [doc_id],
            |row| row.get(0),
        )
        .optional()?;
    if before.as_deref() == Some(heads.as_str()) || doc.get_heads().is_empty() {
        return Ok(Projected {
            heads,
            rejected: Vec::new(),
            damaged,
        });
    }
    let pipeline = PipelineDoc::read(doc)?;
    let leads = Leads::of(&pipeline);
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO leads (partner_id, lead_id, doc_id, stage, contact_name, company, email,
                                phone, notes, value_minor, currency, created_at, updated_at,
                                archived_at, follow_up_at, follow_up_note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (partner_id, lead_id) DO UPDATE SET
                doc_id = excluded.doc_id, stage = excluded.stage,
                contact_name = excluded.contact_name, company = excluded.company,
                email = excluded.email, phone = excluded.phone, notes = excluded.notes,
                value_minor = excluded.value_minor, currency = excluded.currency,
                updated_at = excluded.updated_at, archived_at = excluded.archived_at,
                follow_up_at = excluded.follow_up_at, follow_up_note = excluded.follow_up_note",
        )?;
        for row in &leads.rows {
            let lead = row.lead;
            upsert.execute(params![
                owner,
                lead.id.as_str(),
                doc_id,
                lead.stage.as_str(),
                lead.contact_name,
                lead.company,
                lead.email,
                lead.phone,
                lead.notes,
                lead.value.minor,
                lead.value.currency.as_str(),
                stamp(row.created_at),
                stamp(row.updated_at),
                row.archived_at.map(stamp),
                row.follow_up_at.map(stamp),
                row.follow_up_note(),
            ])?;
        }
        // Rows of leads the document no longer holds go: the table mirrors
        // the document. A rejected entry is still held; its row stays.
        let kept: std::collections::HashSet<&str> = leads.kept().into_iter().collect();
        let held: Vec<String> = {
            let mut statement = tx.prepare_cached("SELECT lead_id FROM leads WHERE doc_id = ?1")?;
            statement
                .query_map([doc_id], |row| row.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut delete =
            tx.prepare_cached("DELETE FROM leads WHERE doc_id = ?1 AND lead_id = ?2")?;
        for lead in held.iter().filter(|l| !kept.contains(l.as_str())) {
            delete.execute([doc_id, lead])?;
        }
        tx.execute(
            "INSERT INTO projected (doc_id, heads) VALUES (?1, ?2)
             ON CONFLICT (doc_id) DO UPDATE SET heads = excluded.heads",
            [doc_id, &heads],
        )?;
    }
    Ok(Projected {
        heads,
        rejected: leads.rejected,
        damaged,
    })
}

/// The document `doc_id` as its chunks in the store make it, and the keys
/// of the chunks that did not read. Each chunk is checked on its own (a
/// snapshot loaded whole with its checksum, a change parsed and its hash
/// compared with the one its key names), snapshots first, as samod loads
/// them. A damaged chunk (a
/// disk's fault, a hand in the file) is moved to `damaged_chunks`, out of
/// samod's keys: kept for whoever can recover it, never compacted away with
/// the rest, and said once. What only it held the next sync fetches from
/// the server again, if it ever went out.
pub fn stored_document(
    connection: &Connection,
    doc_id: &str,
) -> Result<(automerge::Automerge, Vec<String>), ProjectError> {
    let (lo, hi) = chunk_range(doc_id)?;
    let chunks: Vec<(String, Vec<u8>)> = {
        let mut statement = connection
            .prepare_cached("SELECT key, data FROM chunks WHERE key >= ?1 AND key < ?2")?;
        statement
            .query_map([lo, hi], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let is_snapshot = |key: &str| {
        key.get(doc_id.len() + 1..)
            .is_some_and(|rest| rest.starts_with("snapshot/"))
    };
    let mut doc = automerge::Automerge::new();
    let mut damaged = Vec::new();
    // Snapshots and changes overlap while a compaction is under way;
    // loading a change twice is harmless.
    for (key, data) in chunks.iter().filter(|(k, _)| is_snapshot(k)) {
        let options = automerge::LoadOptions::new()
            .on_partial_load(automerge::OnPartialLoad::Error)
            // Its checksum is checked whatever the mode; `Check` would
            // also hash every change again, which doubled an edit's cost.
            .verification_mode(automerge::VerificationMode::DontCheck);
        let read = automerge::Automerge::load_with_options(data, options).and_then(|mut read| {
            if doc.get_heads().is_empty() {
                doc = read;
                Ok(())
            } else {
                doc.merge(&mut read).map(|_| ())
            }
        });
        if read.is_err() {
            damaged.push(key.clone());
        }
    }
    for (key, data) in chunks.iter().filter(|(k, _)| !is_snapshot(k)) {
        // A change is named by its hash (samod's key): parsing alone does
        // not check its checksum, and a change whose bytes were altered
        // would parse under another hash.
        let named = key.rsplit('/').next().unwrap_or_default();
        let read = automerge::Change::from_bytes(data.clone())
            .map_err(automerge::AutomergeError::from)
            .and_then(|change| {
                if change.hash().to_string() == named {
                    doc.apply_changes([change])
                } else {
                    Err(automerge::AutomergeError::InvalidHash(change.hash()))
                }
            });
        if read.is_err() {
            damaged.push(key.clone());
        }
    }
    if !damaged.is_empty() {
        let at = stamp(Utc::now());
        let mut keep = connection.prepare_cached(
            "INSERT OR REPLACE INTO damaged_chunks (key, data, found_at)
             SELECT key, data, ?2 FROM chunks WHERE key = ?1",
        )?;
        let mut drop = connection.prepare_cached("DELETE FROM chunks WHERE key = ?1")?;
        for key in &damaged {
            keep.execute([key, &at])?;
            drop.execute([key])?;
        }
    }
    Ok((doc, damaged))
}

/// A lead as `leads` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadLine {
    pub lead_id: String,
    pub stage: String,
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub notes: String,
    pub value_minor: i64,
    pub currency: String,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
    pub follow_up_at: Option<String>,
    pub follow_up_note: Option<String>,
}

const LEAD_COLUMNS: &str = "lead_id, stage, contact_name, company, email, phone, notes, \
     value_minor, currency, created_at, updated_at, archived_at, follow_up_at, follow_up_note";

fn lead_line(row: &rusqlite::Row<'_>) -> rusqlite::Result<LeadLine> {
    Ok(LeadLine {
        lead_id: row.get(0)?,
        stage: row.get(1)?,
        contact_name: row.get(2)?,
        company: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        notes: row.get(6)?,
        value_minor: row.get(7)?,
        currency: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        archived_at: row.get(11)?,
        follow_up_at: row.get(12)?,
        follow_up_note: row.get(13)?,
    })
}

/// What `leads` lists: `owner`'s leads, newest change first, in `stage`
/// only when given, archived ones only when asked.
pub fn list_leads(
    connection: &Connection,
    owner: &str,
    stage: Option<&str>,
    archived: bool,
) -> rusqlite::Result<Vec<LeadLine>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads
         WHERE partner_id = ?1 AND (?2 IS NULL OR stage = ?2)
           AND (?3 OR archived_at IS NULL)
         ORDER BY updated_at DESC, lead_id"
    ))?;
    statement
        .query_map(params![owner, stage, archived], lead_line)?
        .collect()
}

/// One of `owner`'s leads by its id.
pub fn lead(
    connection: &Connection,
    owner: &str,
    lead_id: &str,
) -> rusqlite::Result<Option<LeadLine>> {
    connection
        .query_row(
            &format!("SELECT {LEAD_COLUMNS} FROM leads WHERE partner_id = ?1 AND lead_id = ?2"),
            [owner, lead_id],
            lead_line,
        )
        .optional()
}

/// `owner`'s follow-ups that are open (the lead not archived), soonest
/// first.
pub fn follow_ups(connection: &Connection, owner: &str) -> rusqlite::Result<Vec<LeadLine>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads
         WHERE partner_id = ?1 AND follow_up_at IS NOT NULL AND archived_at IS NULL
         ORDER BY follow_up_at, lead_id"
    ))?;
    statement.query_map([owner], lead_line)?.collect()
}
