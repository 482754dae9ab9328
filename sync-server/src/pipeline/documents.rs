//! A partner's pipeline document: made when the partner is (empty for an
//! approved applicant, with leads for a demo partner).

use anyhow::Context;
use futures::future::BoxFuture;
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
use serde::Deserialize;
use sqlx::PgConnection;

/// A lead as the fixtures write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadFixture {
    pub id: LeadId,
    pub contact_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    pub value_minor: i64,
    pub currency: Currency,
    #[serde(default)]
    pub notes: String,
    pub stage: Stage,
}

/// The pipeline's [`crate::accounts::partners::PartnerSetup`]: an empty
/// pipeline for a new partner.
pub fn setup_partner<'a>(
    conn: &'a mut PgConnection,
    partner: &'a PartnerId,
    now: Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(create_pipeline(conn, partner, &[], now))
}

/// Makes `partner`'s pipeline document (with `leads`) in storage and its
/// registry row on `conn`. The caller commits and then tells the
/// projection worker about the returned document id. Should the
/// transaction roll back, the document stays in storage with no registry
/// row, unreachable by anyone.
pub async fn create_pipeline(
    conn: &mut PgConnection,
    partner: &PartnerId,
    leads: &[LeadFixture],
    now: Timestamp,
) -> anyhow::Result<String> {
    let doc = pipeline_for(partner, leads, now)?;
    let doc_id = crate::platform::storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $3, $2)")
        .bind(&doc_id)
        .bind(partner.as_str())
        .bind(sync::DocKind::Pipeline.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(doc_id)
}

fn pipeline_for(
    partner: &PartnerId,
    leads: &[LeadFixture],
    now: Timestamp,
) -> anyhow::Result<automerge::Automerge> {
    let mut doc = automerge::Automerge::new();
    PipelineDoc::init(&mut doc, partner)?;
    for (i, lead) in leads.iter().enumerate() {
        // Older leads first, a minute apart, so the demo has a history.
        let created = Timestamp(now.0 - (leads.len() - i) as i64 * 60_000);
        let draft = LeadDraft::parse(
            &lead.contact_name,
            &lead.company,
            &lead.email,
            &lead.phone,
            Money::new(lead.value_minor, lead.currency),
            &lead.notes,
        )
        .with_context(|| format!("lead {}", lead.id))?;
        PipelineDoc::add_lead(&mut doc, &lead.id, &draft, created)?;
        PipelineDoc::move_lead(&mut doc, &lead.id, lead.stage, Timestamp(created.0 + 1_000))?;
    }
    Ok(doc)
}
