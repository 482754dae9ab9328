//! After the server has stopped: how many of the edits a run made are in
//! Postgres. Next to the count taken during the run, this tells an edit the
//! server was slow to store (stored by its shutdown flush) from one it never
//! stored at all.

use std::{collections::HashMap, path::PathBuf};

use anyhow::{Context, anyhow};
use automerge::ChangeHash;
use sqlx::postgres::PgPoolOptions;

use crate::drive::{contains, load_stored};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The file `loadtest run --edits-out` wrote.
    #[arg(long)]
    edits: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.edits)
        .with_context(|| format!("reading {}", args.edits.display()))?;
    let mut by_doc: HashMap<&str, Vec<ChangeHash>> = HashMap::new();
    for line in text.lines() {
        let (doc, hash) = line
            .split_once(' ')
            .ok_or_else(|| anyhow!("not `<doc id> <hash>`: {line:?}"))?;
        by_doc
            .entry(doc)
            .or_default()
            .push(hash.parse().map_err(|e| anyhow!("{hash}: {e}"))?);
    }
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .context("connecting to Postgres")?;
    let (mut made, mut stored) = (0, 0);
    for (doc_id, hashes) in &by_doc {
        let doc = load_stored(&pool, doc_id).await?;
        made += hashes.len();
        stored += hashes.iter().filter(|h| contains(&doc, **h)).count();
    }
    println!("{stored} of {made}");
    Ok(())
}
