//! Loading demo data: partners, one pipeline document each with leads in
//! every stage, and accounts to sign in with. Idempotent: partners and
//! accounts already present are left alone.
//!
//! Demo partners are made as an approved application makes real ones:
//! `accounts::partners::create_partner`, then each module's documents
//! (here the pipeline, with the fixtures' leads).

use std::{path::Path, sync::Arc};

use crate::{
    accounts::{
        partners::create_partner,
        passwords::{HashFor, Hashing},
    },
    events::{DocumentStored, Outbox},
    notifications,
    pipeline::documents::{LeadFixture, create_pipeline},
};
use anyhow::Context;
use model::{PartnerId, Timestamp};
use serde::Deserialize;
use sqlx::PgPool;

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
    pub role: crate::platform::policy::Role,
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

/// Loads `path`; returns how many partners were added.
pub async fn load_fixtures(
    pool: &PgPool,
    path: &Path,
    changed: &Outbox<DocumentStored>,
    hashing: &Arc<Hashing>,
) -> anyhow::Result<usize> {
    let text = tokio::fs::read_to_string(path).await?;
    let fixtures: Fixtures = serde_json::from_str(&text).context("parsing fixtures")?;
    let now = Timestamp(chrono::Utc::now().timestamp_millis());
    // Nodes started together seed one at a time (a lock held by a
    // transaction of its own while the seeding writes through others):
    // each skips what exists, so the later ones find everything there.
    let mut turn = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('seed_fixtures'))")
        .execute(&mut *turn)
        .await?;
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
        create_partner(&mut tx, &partner.id, &partner.name, &partner.company).await?;
        let doc_id = create_pipeline(&mut tx, &partner.id, &partner.leads, now).await?;
        notifications::inbox::setup_partner(&mut tx, &partner.id, now).await?;
        tx.commit().await?;
        changed.send(DocumentStored(doc_id));
        added += 1;
    }
    for account in &fixtures.accounts {
        load_account(pool, account, hashing)
            .await
            .with_context(|| format!("account {}", account.id))?;
    }
    turn.rollback().await?;
    Ok(added)
}

async fn load_account(
    pool: &PgPool,
    account: &AccountFixture,
    hashing: &Arc<Hashing>,
) -> anyhow::Result<()> {
    let email = crate::accounts::email::Email::parse(&account.email).map_err(anyhow::Error::msg)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1 OR email = $2)")
            .bind(&account.id)
            .bind(email.as_str())
            .fetch_one(pool)
            .await?;
    if exists {
        return Ok(());
    }
    let password = crate::accounts::passwords::NewPassword::parse(&account.password)
        .map_err(anyhow::Error::msg)?;
    // The server's own work, before it serves anyone: never turned away.
    let place = hashing.queue(HashFor::Trusted)?;
    let hash = crate::accounts::passwords::hash_password_blocking(place, password).await?;
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
