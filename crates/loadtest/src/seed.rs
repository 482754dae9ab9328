//! Seeding: many partners, one pipeline document each, written straight
//! into Postgres.
//!
//! Each document is stored the way the server's samod stores a new small
//! document: one `incremental` chunk per change, keyed
//! `<doc id>/incremental/<change hash>` (flattened by [`sync::key_to_string`]),
//! plus its registry row. So when a client asks for one, the server loads it
//! exactly as it would load a document a partner created.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use automerge::Automerge;
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
use samod::{DocumentId, storage::StorageKey};
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Postgres URL of a database the server has migrated and nobody has
    /// filled yet.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Documents to write, one partner each.
    #[arg(long, default_value_t = 10_000)]
    docs: usize,
    /// Leads in each document.
    #[arg(long, default_value_t = 3)]
    leads_per_doc: usize,
}

/// Documents written per transaction.
const BATCH: usize = 500;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .context("connecting to Postgres")?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM documents")
        .fetch_one(&pool)
        .await
        .context("counting documents (has the server migrated this database?)")?;
    ensure!(
        existing == 0,
        "the database already holds {existing} documents; seed an empty one"
    );
    let now = Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    let mut rng = rand::rng();
    let (mut chunks, mut bytes) = (0usize, 0usize);
    for first in (0..args.docs).step_by(BATCH) {
        let mut partners = Vec::with_capacity(BATCH);
        let mut doc_ids = Vec::with_capacity(BATCH);
        let mut keys = Vec::new();
        let mut data = Vec::new();
        for i in first..(first + BATCH).min(args.docs) {
            let partner = PartnerId::parse(&format!("load-{i:05}"))?;
            let doc_id = DocumentId::new(&mut rng);
            let doc = pipeline(&partner, args.leads_per_doc, now)?;
            for change in doc.get_changes(&[]) {
                let key = StorageKey::incremental_path(&doc_id, change.hash());
                keys.push(sync::key_to_string(&key));
                data.push(change.raw_bytes().to_vec());
            }
            partners.push(partner.to_string());
            doc_ids.push(doc_id.to_string());
        }
        chunks += keys.len();
        bytes += data.iter().map(Vec::len).sum::<usize>();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO partners (id, name, company)
             SELECT id, 'Partner ' || id, 'Company of ' || id FROM UNNEST($1::text[]) AS t(id)",
        )
        .bind(&partners)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO documents (doc_id, kind, owner_id)
             SELECT doc_id, 'pipeline', owner_id FROM UNNEST($1::text[], $2::text[]) AS t(doc_id, owner_id)",
        )
        .bind(&doc_ids)
        .bind(&partners)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO doc_chunks (key, data) SELECT * FROM UNNEST($1::text[], $2::bytea[])",
        )
        .bind(&keys)
        .bind(&data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    eprintln!(
        "seeded {} documents ({chunks} chunks, {:.1} MiB) in {:.1?}",
        args.docs,
        bytes as f64 / (1024.0 * 1024.0),
        started.elapsed()
    );
    Ok(())
}

/// A pipeline with `leads` leads, created a day apart, some already moved on.
fn pipeline(partner: &PartnerId, leads: usize, now: Timestamp) -> anyhow::Result<Automerge> {
    let mut doc = Automerge::new();
    PipelineDoc::init(&mut doc, partner)?;
    let eur = Currency::parse("EUR")?;
    for j in 0..leads {
        let id = LeadId::parse(&format!("lead-{j}"))?;
        let draft = LeadDraft::parse(
            &format!("Contact {j} of {partner}"),
            &format!("Customer {j} GmbH"),
            &format!("contact{j}@customer.example"),
            "+49 30 1234567",
            Money::new(250_000 * (j as i64 + 1), eur),
            "Met at the trade fair; wants a quote for the spring.",
        )?;
        let created = Timestamp(now.0 - (leads - j) as i64 * 86_400_000);
        PipelineDoc::add_lead(&mut doc, &id, &draft, created)?;
        if j % 2 == 1 {
            PipelineDoc::move_lead(
                &mut doc,
                &id,
                Stage::Contacted,
                Timestamp(created.0 + 3_600_000),
            )?;
        }
    }
    Ok(doc)
}
