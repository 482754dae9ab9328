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
//! writer (`views.rs`).

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, Utc};
use model::{Pipeline, PipelineDoc};
use sqlx::PgPool;
use sync::DocKind;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::storage::{LoadError, load_document};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rows written for new heads.
    Projected { rows: usize },
    /// The stored heads were already projected.
    Unchanged,
    /// Not a registered document (samod also stores documents that no
    /// projection reads); nothing to do.
    Unregistered,
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

/// Projects what `changed` names; tells `owners` whose pipeline it
/// projected, once the projection is committed.
pub async fn run(
    pool: PgPool,
    mut changed: UnboundedReceiver<String>,
    owners: UnboundedSender<String>,
) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    // Catch up with whatever moved while we were not running.
    loop {
        match sqlx::query_scalar::<_, String>("SELECT doc_id FROM documents")
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
        while let Ok(doc) = changed.try_recv() {
            pending.insert(doc);
        }
        let Some(doc_id) = pending.pop_first() else {
            match changed.recv().await {
                Some(doc) => {
                    pending.insert(doc);
                    continue;
                }
                None => return,
            }
        };
        match project_and_name_owner(&pool, &doc_id).await {
            Ok((Outcome::Projected { rows }, pipeline_owner)) => {
                tracing::debug!(doc_id, rows, "projected");
                if let Some(owner) = pipeline_owner {
                    let _ = owners.send(owner);
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

/// [`project`], and the owner of the pipeline it projected if that changed
/// their deals (what their account view shows of a pipeline).
async fn project_and_name_owner(
    pool: &PgPool,
    doc_id: &str,
) -> Result<(Outcome, Option<String>), ProjectionError> {
    let Some((kind, owner)): Option<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, owner_id FROM documents WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_optional(pool)
            .await?
    else {
        return Ok((Outcome::Unregistered, None));
    };
    let kind = DocKind::parse(&kind)?;
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
            let rows = write_leads(&mut tx, doc_id, &owner, &pipeline).await?;
            let filed = file_deals(&mut tx, doc_id, &owner, &pipeline).await?;
            (rows, filed.then_some(owner))
        }
        // Nothing relational is read from the other kinds yet; their heads
        // are still recorded, so "projected up to" means the same for all.
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

fn time(ms: model::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms.0).unwrap_or_default()
}

/// A lead marked won is a deal for the back-office to decide: filed as
/// submitted (its amount following the lead until a decision), withdrawn if
/// the lead leaves "won" first. A decided deal is never touched again: the
/// partner's document proposes, the server decides. Returns whether any
/// deal changed.
async fn file_deals(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    owner: &str,
    pipeline: &Pipeline,
) -> Result<bool, sqlx::Error> {
    let mut changed = 0;
    let won: Vec<_> = pipeline
        .leads
        .iter()
        .filter(|lead| lead.stage == model::Stage::Won)
        .collect();
    for lead in &won {
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
        .bind(lead.value.minor.max(0))
        .bind(lead.value.currency.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let won: Vec<&str> = won.iter().map(|lead| lead.id.as_str()).collect();
    changed += sqlx::query(
        "UPDATE deals SET status = 'withdrawn'
         WHERE partner_id = $1 AND doc_id = $2 AND status = 'submitted'
           AND NOT (lead_id = ANY($3))",
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
    pipeline: &Pipeline,
) -> Result<usize, sqlx::Error> {
    for lead in &pipeline.leads {
        sqlx::query(
            "INSERT INTO leads (partner_id, lead_id, doc_id, stage, contact_name, company, email,
                                phone, notes, value_minor, currency, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (partner_id, lead_id) DO UPDATE SET
                stage = EXCLUDED.stage, contact_name = EXCLUDED.contact_name,
                company = EXCLUDED.company, email = EXCLUDED.email, phone = EXCLUDED.phone,
                notes = EXCLUDED.notes, value_minor = EXCLUDED.value_minor,
                currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at",
        )
        .bind(owner)
        .bind(lead.id.as_str())
        .bind(doc_id)
        .bind(lead.stage.as_str())
        .bind(&lead.contact_name)
        .bind(&lead.company)
        .bind(&lead.email)
        .bind(&lead.phone)
        .bind(&lead.notes)
        .bind(lead.value.minor)
        .bind(lead.value.currency.as_str())
        .bind(time(lead.created_at))
        .bind(time(lead.updated_at))
        .execute(&mut *tx)
        .await?;
    }
    // Rows of leads the document no longer holds go too: the table mirrors
    // the document.
    let ids: Vec<&str> = pipeline.leads.iter().map(|l| l.id.as_str()).collect();
    sqlx::query("DELETE FROM leads WHERE doc_id = $1 AND NOT (lead_id = ANY($2))")
        .bind(doc_id)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    Ok(pipeline.leads.len())
}
