//! Documents and the rows made of them: finding a partner's documents,
//! reading and editing replicas, what the server stored in Postgres, the
//! `leads` and `deals` rows the projection writes, and waiting for any of
//! it.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use model::{Lead, Pipeline, PipelineDoc};
use samod::DocHandle;
use sqlx::PgPool;

/// The id of `partner`'s account view, once the server has made it.
pub async fn account_view_doc(pool: &PgPool, partner: &str) -> String {
    server_doc(pool, partner, "account_view").await
}

/// The id of team leader `partner`'s team view, once the server has made it.
pub async fn team_doc(pool: &PgPool, partner: &str) -> String {
    server_doc(pool, partner, "team").await
}

/// The id of `partner`'s standings on the leaderboards, once made.
pub async fn standings_doc(pool: &PgPool, partner: &str) -> String {
    server_doc(pool, partner, "standings").await
}

/// The id of `partner`'s document of `kind` that the server makes, once it
/// has.
async fn server_doc(pool: &PgPool, partner: &str, kind: &str) -> String {
    wait_for(
        &format!("the {kind} document of {partner}"),
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar("SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = $2")
                .bind(partner)
                .bind(kind)
                .fetch_optional(pool)
                .await
                .unwrap()
        },
    )
    .await
}

/// A partner's inbox as stored, once the server has written one.
pub async fn inbox_of(pool: &PgPool, partner: &str) -> Option<model::Inbox> {
    let doc: String =
        sqlx::query_scalar("SELECT doc_id FROM documents WHERE kind = 'inbox' AND owner_id = $1")
            .bind(partner)
            .fetch_optional(pool)
            .await
            .unwrap()?;
    model::InboxDoc::read(&stored(pool, &doc).await).ok()
}

pub async fn pipeline_doc(pool: &PgPool, partner: &str) -> String {
    sqlx::query_scalar("SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = 'pipeline'")
        .bind(partner)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Unwraps outside `with_document`: a panic inside it aborts the whole test
/// binary (samod's guard panics again while unwinding).
pub fn read(handle: &DocHandle) -> Pipeline {
    handle
        .with_document(|doc| PipelineDoc::read(doc))
        .expect("a pipeline document")
}

pub fn heads(handle: &DocHandle) -> Vec<automerge::ChangeHash> {
    handle.with_document(|doc| {
        let mut heads = doc.get_heads();
        heads.sort();
        heads
    })
}

/// Moves a lead of the pipeline on a device.
pub fn move_to(handle: &DocHandle, lead: &str, stage: model::Stage) {
    handle
        .with_document(|doc| {
            PipelineDoc::move_lead(
                doc,
                &model::LeadId::parse(lead)?,
                stage,
                model::Timestamp(10),
            )
        })
        .unwrap();
}

/// The heads of a document as the server stored it in Postgres, sorted.
pub async fn stored_heads(pool: &PgPool, doc_id: &str) -> Option<Vec<automerge::ChangeHash>> {
    let doc = sync_server::platform::storage::load_document(pool, doc_id)
        .await
        .ok()?;
    let mut heads = doc.get_heads();
    heads.sort();
    Some(heads)
}

/// A document as the server stored it in Postgres.
pub async fn stored(pool: &PgPool, doc_id: &str) -> automerge::Automerge {
    sync_server::platform::storage::load_document(pool, doc_id)
        .await
        .expect("the document loads from Postgres")
}

/// Waits until every replica has the same heads.
pub async fn wait_converged(replicas: &[DocHandle], deadline: Duration) {
    wait_for("every replica to converge", deadline, || async {
        let first = heads(&replicas[0]);
        replicas.iter().all(|r| heads(r) == first).then_some(())
    })
    .await
}

/// Polls `check` until it returns `Some`, failing with `what` after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A lead as the `leads` table holds it, comparable with a document's lead.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LeadRow {
    pub lead_id: String,
    pub stage: String,
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub notes: String,
    pub value_minor: i64,
    pub currency: String,
    pub archived: bool,
    /// Milliseconds since the epoch.
    pub follow_up_at: Option<i64>,
    pub follow_up_note: Option<String>,
}

impl From<&Lead> for LeadRow {
    fn from(lead: &Lead) -> Self {
        LeadRow {
            lead_id: lead.id.to_string(),
            stage: lead.stage.to_string(),
            contact_name: lead.contact_name.clone(),
            company: lead.company.clone(),
            email: lead.email.clone(),
            phone: lead.phone.clone(),
            notes: lead.notes.clone(),
            value_minor: lead.value.minor,
            currency: lead.value.currency.to_string(),
            archived: lead.is_archived(),
            follow_up_at: lead.follow_up.as_ref().map(|f| f.at.0),
            follow_up_note: lead.follow_up.as_ref().map(|f| f.note.clone()),
        }
    }
}

pub async fn lead_rows(pool: &PgPool, partner: &str) -> Vec<LeadRow> {
    sqlx::query_as(
        "SELECT lead_id, stage, contact_name, company, email, phone, notes, value_minor,
                currency::text AS currency, archived_at IS NOT NULL AS archived,
                (extract(epoch FROM follow_up_at) * 1000)::bigint AS follow_up_at, follow_up_note
         FROM leads WHERE partner_id = $1 ORDER BY lead_id",
    )
    .bind(partner)
    .fetch_all(pool)
    .await
    .unwrap()
}

pub fn rows_of(pipeline: &Pipeline) -> Vec<LeadRow> {
    let mut rows: Vec<LeadRow> = pipeline.leads.iter().map(LeadRow::from).collect();
    rows.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    rows
}

/// Waits until the `leads` rows of `partner` equal `expected`.
pub async fn wait_for_rows(pool: &PgPool, partner: &str, expected: &[LeadRow]) {
    wait_for(
        "the leads table to match the document",
        Duration::from_secs(20),
        || async { (lead_rows(pool, partner).await == expected).then_some(()) },
    )
    .await
}

/// The deal of a lead, once the projection has filed it with `status`.
pub async fn deal_of(pool: &PgPool, partner: &str, lead: &str, status: &str) -> i64 {
    wait_for(
        &format!("a {status} deal for {lead}"),
        Duration::from_secs(20),
        || async {
            sqlx::query_scalar(
                "SELECT id FROM deals WHERE partner_id = $1 AND lead_id = $2 AND status = $3",
            )
            .bind(partner)
            .bind(lead)
            .bind(status)
            .fetch_optional(pool)
            .await
            .unwrap()
        },
    )
    .await
}

/// `count` deals of `partner` approved `days_ago`, straight in the table: a
/// history that sets the partner's tier.
pub async fn approved_history(
    pool: &PgPool,
    partner: &str,
    doc_id: &str,
    count: u32,
    currency: &str,
    days_ago: i32,
) {
    for i in 0..count {
        sqlx::query(
            "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status,
                                decided_at)
             VALUES ($1, $2, $3, 1000, $4, 'approved', now() - make_interval(days => $5))",
        )
        .bind(partner)
        .bind(format!("earlier-{i}"))
        .bind(doc_id)
        .bind(currency)
        .bind(days_ago)
        .execute(pool)
        .await
        .unwrap();
    }
}
