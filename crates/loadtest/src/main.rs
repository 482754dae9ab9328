//! The load driver behind `cargo xtask load`: a client of the sync server,
//! never part of it.
//!
//! `seed` writes pipeline documents straight into Postgres, chunk for chunk
//! as the server's samod would have stored them, because syncing 10,000
//! documents in through `/sync` would measure the seeding rather than the
//! server; it also makes each partner an account with a bearer session and
//! hands the tokens to `run` in a file (the database keeps only their
//! hashes). `run` then plays partners' devices against a running server,
//! signed in as those partners: many native samod repos (in-memory storage,
//! as in the integration tests), in pairs that share documents, each
//! editing at a steady rate while its peer times how long each edit takes
//! to arrive. It prints a plain-text report
//! on stdout; progress goes to stderr. `verify`, run once the server has
//! stopped, counts which of the run's edits reached Postgres in the end.
//! `chat` is the chat's load (`cargo xtask load-chat`): one channel of many
//! members, and how long a message takes from one to the others' screens.

mod chat;
mod drive;
mod seed;
mod stats;
mod verify;

use clap::Parser;

#[derive(Debug, clap::Parser)]
#[command(
    name = "loadtest",
    about = "Load driver for sync-server (see `cargo xtask load`)"
)]
enum Command {
    /// Write pipeline documents (and their partners, accounts and sessions)
    /// straight into an empty, migrated database.
    Seed(seed::Args),
    /// Create the documents of `run --reference` through a running
    /// reference server, and list them as `seed` lists ours.
    SeedReference(drive::SeedReferenceArgs),
    /// Connect clients to a running server, edit for a while, report.
    Run(drive::Args),
    /// Count how many of a run's edits are in Postgres.
    Verify(verify::Args),
    /// One channel of many members: send-to-display times of its messages.
    Chat(chat::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::Seed(args) => seed::run(args).await,
        Command::SeedReference(args) => drive::seed_reference(args).await,
        Command::Run(args) => drive::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Chat(args) => chat::run(args).await,
    }
}
