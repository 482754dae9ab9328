//! Seeding: many partners, their pipeline documents, and a signed-in
//! account each, written straight into Postgres.
//!
//! Each document is stored the way the server's samod stores a new small
//! document: one `incremental` chunk per change, keyed
//! `<doc id>/incremental/<change hash>` (flattened by [`sync::key_to_string`]),
//! plus its registry row. So when a client asks for one, the server loads it
//! exactly as it would load a document a partner created.
//!
//! The server lets a connection read and write only its account's documents,
//! so every partner also gets an approved account (`a-<partner id>`) and a
//! bearer session, made the way the server makes one: the token is handed
//! out (here: written to the sessions file for `loadtest run`), only its
//! SHA-256 is stored. Nobody signs in with a password, so the account's
//! `password_hash` is a marker that is no PHC string and matches no
//! password.

use std::{
    io::Write,
    path::PathBuf,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, ensure};
use automerge::Automerge;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
use rand::RngCore;
use samod::{DocumentId, storage::StorageKey};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Postgres URL of a database the server has migrated and nobody has
    /// filled yet.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Documents to write.
    #[arg(long, default_value_t = 10_000)]
    docs: usize,
    /// Documents each partner owns: its pipeline, then notes that hold a
    /// pipeline too (a partner has one pipeline; `loadtest run
    /// --docs-per-client` needs as many per partner).
    #[arg(long, default_value_t = 1)]
    docs_per_partner: usize,
    /// Leads in each document.
    #[arg(long, default_value_t = 3)]
    leads_per_doc: usize,
    /// Where to write each partner's account, session token and documents
    /// (`<account> <token> <doc id>...` per line), for `loadtest run`.
    /// Readable by its owner only: the tokens sign in for a day.
    #[arg(long)]
    sessions_out: PathBuf,
}

/// Partners written per transaction.
const BATCH: usize = 500;

/// Marks the seeded accounts' password hash: not an argon2 PHC string, so
/// no password verifies against it.
pub(crate) const NO_PASSWORD: &str = "no password: seeded by loadtest";

/// A session token as the server makes one: base64url, without padding, of
/// 32 random bytes; and what `sessions.token_hash` stores of it, the SHA-256
/// of the token's text. This repeats `sync_server::http::session::{new_token,
/// token_hash}` (two lines) because the driver must not depend on the
/// server; a mismatch shows at once as every client refused with 401.
pub(crate) fn new_token(rng: &mut impl RngCore) -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).into();
    (token, hash)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(
        args.docs_per_partner >= 1,
        "--docs-per-partner must be at least 1"
    );
    let started = Instant::now();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .context("connecting to Postgres")?;
    // The server makes documents of its own at its first start (the
    // announcements channel's): a database is empty for seeding when it
    // has no partner yet.
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM partners")
        .fetch_one(&pool)
        .await
        .context("counting partners (has the server migrated this database?)")?;
    ensure!(
        existing == 0,
        "the database already holds {existing} partners; seed an empty one"
    );
    let mut sessions = open_private(&args.sessions_out)?;
    let now = Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    let mut rng = rand::rng();
    let k = args.docs_per_partner;
    let partner_count = args.docs.div_ceil(k);
    let (mut chunks, mut bytes) = (0usize, 0usize);
    for first in (0..partner_count).step_by(BATCH) {
        let mut partners = Vec::with_capacity(BATCH);
        let mut accounts = Vec::with_capacity(BATCH);
        let mut token_hashes = Vec::with_capacity(BATCH);
        let (mut doc_ids, mut kinds, mut owners) = (Vec::new(), Vec::new(), Vec::new());
        let mut keys = Vec::new();
        let mut data = Vec::new();
        let mut lines = String::new();
        for i in first..(first + BATCH).min(partner_count) {
            let partner = PartnerId::parse(&format!("load-{i:05}"))?;
            let account = format!("a-{partner}");
            let (token, hash) = new_token(&mut rng);
            lines.push_str(&format!("{account} {token}"));
            for j in 0..k.min(args.docs - i * k) {
                let doc_id = DocumentId::new(&mut rng);
                let doc = pipeline(&partner, args.leads_per_doc, now)?;
                for change in doc.get_changes(&[]) {
                    let key = StorageKey::incremental_path(&doc_id, change.hash());
                    keys.push(sync::key_to_string(&key));
                    data.push(change.raw_bytes().to_vec());
                }
                lines.push_str(&format!(" {doc_id}"));
                doc_ids.push(doc_id.to_string());
                kinds.push(if j == 0 { "pipeline" } else { "note" });
                owners.push(partner.to_string());
            }
            lines.push('\n');
            partners.push(partner.to_string());
            accounts.push(account);
            token_hashes.push(hash.to_vec());
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
            "INSERT INTO accounts (id, email, name, company, role, status, password_hash,
                                   partner_id, decided_at)
             SELECT account, partner || '@load.example', 'Partner ' || partner,
                    'Company of ' || partner, 'partner', 'approved', $3, partner, now()
             FROM UNNEST($1::text[], $2::text[]) AS t(account, partner)",
        )
        .bind(&accounts)
        .bind(&partners)
        .bind(NO_PASSWORD)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, kind, expires_at)
             SELECT hash, account, 'bearer', now() + interval '1 day'
             FROM UNNEST($1::bytea[], $2::text[]) AS t(hash, account)",
        )
        .bind(&token_hashes)
        .bind(&accounts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO documents (doc_id, kind, owner_id)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(doc_id, kind, owner_id)",
        )
        .bind(&doc_ids)
        .bind(&kinds)
        .bind(&owners)
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
        sessions.write_all(lines.as_bytes())?;
    }
    sessions.flush()?;
    eprintln!(
        "seeded {} documents of {partner_count} partners ({chunks} chunks, {:.1} MiB) and \
         their sessions in {:.1?}",
        args.docs,
        bytes as f64 / (1024.0 * 1024.0),
        started.elapsed()
    );
    Ok(())
}

/// A new file only its owner may read.
fn open_private(path: &std::path::Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(std::io::BufWriter::new(file))
}

/// A pipeline with `leads` leads, created a day apart, some already moved on.
pub(crate) fn pipeline(
    partner: &PartnerId,
    leads: usize,
    now: Timestamp,
) -> anyhow::Result<Automerge> {
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
