//! The load driver behind `cargo xtask load`: a client of the sync server,
//! never part of it.
//!
//! `seed` writes pipeline documents straight into Postgres, chunk for chunk
//! as the server's samod would have stored them, because syncing 10,000
//! documents in through `/sync` would measure the seeding rather than the
//! server. `run` then plays partners' devices against a running server: many
//! native samod repos (in-memory storage, as in the integration tests), in
//! pairs that share documents, each editing at a steady rate while its peer
//! times how long each edit takes to arrive. It prints a plain-text report
//! on stdout; progress goes to stderr.

mod drive;
mod seed;
mod stats;

use clap::Parser;

#[derive(Debug, clap::Parser)]
#[command(
    name = "loadtest",
    about = "Load driver for sync-server (see `cargo xtask load`)"
)]
enum Command {
    /// Write pipeline documents (and their partners) straight into an empty,
    /// migrated database.
    Seed(seed::Args),
    /// Connect clients to a running server, edit for a while, report.
    Run(drive::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::Seed(args) => seed::run(args).await,
        Command::Run(args) => drive::run(args).await,
    }
}
