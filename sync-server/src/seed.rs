//! Loading demo data: partners, and one pipeline document each with leads in
//! every stage. Idempotent: partners already present are left alone.

use std::path::Path;

use anyhow::Context;
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    pub partners: Vec<PartnerFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerFixture {
    pub id: PartnerId,
    pub name: String,
    pub company: String,
    #[serde(default)]
    pub leads: Vec<LeadFixture>,
}

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

/// Loads `path`; returns how many partners were added.
pub async fn load_fixtures(
    pool: &PgPool,
    repo: &samod::Repo,
    path: &Path,
    changed: &UnboundedSender<String>,
) -> anyhow::Result<usize> {
    let text = tokio::fs::read_to_string(path).await?;
    let fixtures: Fixtures = serde_json::from_str(&text).context("parsing fixtures")?;
    let now = Timestamp(chrono::Utc::now().timestamp_millis());
    let mut added = 0;
    for partner in &fixtures.partners {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)")
                .bind(partner.id.as_str())
                .fetch_one(pool)
                .await?;
        if exists {
            continue;
        }
        let doc = pipeline_for(partner, now)?;
        let handle = repo
            .create(doc)
            .await
            .map_err(|_| anyhow::anyhow!("samod repo stopped"))?;
        let doc_id = handle.document_id().to_string();
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO partners (id, name, company) VALUES ($1, $2, $3)")
            .bind(partner.id.as_str())
            .bind(&partner.name)
            .bind(&partner.company)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, 'pipeline', $2)")
            .bind(&doc_id)
            .bind(partner.id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let _ = changed.send(doc_id);
        added += 1;
    }
    Ok(added)
}

fn pipeline_for(partner: &PartnerFixture, now: Timestamp) -> anyhow::Result<automerge::Automerge> {
    let mut doc = automerge::Automerge::new();
    PipelineDoc::init(&mut doc, &partner.id)?;
    for (i, lead) in partner.leads.iter().enumerate() {
        // Older leads first, a minute apart, so the demo has a history.
        let created = Timestamp(now.0 - (partner.leads.len() - i) as i64 * 60_000);
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
