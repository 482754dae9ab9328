//! Loading demo data: partners, one pipeline document each with leads in
//! every stage, and accounts to sign in with. Idempotent: partners and
//! accounts already present are left alone.
//!
//! [`create_partner`] is also how an approved application becomes a partner,
//! so demo partners and real ones are made the same way.

use std::path::Path;

use anyhow::Context;
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    pub partners: Vec<PartnerFixture>,
    #[serde(default)]
    pub accounts: Vec<AccountFixture>,
}

/// An approved account. The password is in the clear here (demo data, see
/// README.md) and hashed when loaded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFixture {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub company: String,
    pub role: crate::auth::Role,
    pub password: String,
    #[serde(default)]
    pub partner: Option<PartnerId>,
    /// The team leader's account id; it must come earlier in the list.
    #[serde(default)]
    pub team_leader: Option<String>,
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
        let mut tx = pool.begin().await?;
        let doc_id = create_partner(
            &mut tx,
            &partner.id,
            &partner.name,
            &partner.company,
            &partner.leads,
            now,
        )
        .await?;
        tx.commit().await?;
        let _ = changed.send(doc_id);
        added += 1;
    }
    for account in &fixtures.accounts {
        load_account(pool, account)
            .await
            .with_context(|| format!("account {}", account.id))?;
    }
    Ok(added)
}

/// Makes a partner: its pipeline document (with `leads`) in samod, then its
/// `partners` row and the document's registry row on `conn`. The caller
/// commits and then tells the projection worker about the returned document
/// id. Should the transaction roll back, the document stays in storage with
/// no registry row, unreachable by anyone.
pub async fn create_partner(
    conn: &mut PgConnection,
    id: &PartnerId,
    name: &str,
    company: &str,
    leads: &[LeadFixture],
    now: Timestamp,
) -> anyhow::Result<String> {
    let doc = pipeline_for(id, leads, now)?;
    let doc_id = crate::storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO partners (id, name, company) VALUES ($1, $2, $3)")
        .bind(id.as_str())
        .bind(name)
        .bind(company)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, 'pipeline', $2)")
        .bind(&doc_id)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(doc_id)
}

/// Makes a team channel: its structure written by the server (whose actor
/// is registered as the server's, so no member can claim it), its
/// registry row and its members, on `conn`. The caller commits.
pub async fn create_channel(
    conn: &mut PgConnection,
    name: &str,
    members: &[String],
) -> anyhow::Result<String> {
    let mut doc = automerge::Automerge::new();
    model::ChannelDoc::init(&mut doc, name)?;
    let actor = doc.get_actor().to_bytes().to_vec();
    sqlx::query("INSERT INTO actors (actor, account_id) VALUES ($1, NULL)")
        .bind(&actor)
        .execute(&mut *conn)
        .await?;
    let doc_id = crate::storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, 'channel', NULL)")
        .bind(&doc_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO channel_members (doc_id, account_id) SELECT $1, unnest($2::text[])")
        .bind(&doc_id)
        .bind(members)
        .execute(&mut *conn)
        .await?;
    Ok(doc_id)
}

async fn load_account(pool: &PgPool, account: &AccountFixture) -> anyhow::Result<()> {
    let email = crate::auth::Email::parse(&account.email).map_err(anyhow::Error::msg)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1 OR email = $2)")
            .bind(&account.id)
            .bind(email.as_str())
            .fetch_one(pool)
            .await?;
    if exists {
        return Ok(());
    }
    let password =
        crate::auth::NewPassword::parse(&account.password).map_err(anyhow::Error::msg)?;
    // The server's own work, before it serves anyone: never turned away.
    let place = crate::auth::queue_for_hashing(crate::auth::HashFor::Trusted)?;
    let hash = crate::auth::hash_password_blocking(place, password).await?;
    sqlx::query(
        "INSERT INTO accounts (id, email, name, company, role, status, password_hash,
                               partner_id, team_leader_id, decided_at)
         VALUES ($1, $2, $3, $4, $5, 'approved', $6, $7, $8, now())",
    )
    .bind(&account.id)
    .bind(email.as_str())
    .bind(&account.name)
    .bind(&account.company)
    .bind(account.role.as_str())
    .bind(hash)
    .bind(account.partner.as_ref().map(PartnerId::as_str))
    .bind(&account.team_leader)
    .execute(pool)
    .await?;
    Ok(())
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
