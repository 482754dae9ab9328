//! One node at a time: work that every node could do but that only one
//! should (a timed pass over the whole programme) runs on whichever node
//! holds a session-level advisory lock named for it, on a connection of
//! its own. Postgres lets the lock go when that connection ends, so a
//! node that dies (SIGKILL: the kernel closes its sockets) hands the work
//! to another within [`TRY_EVERY`]. A host that vanishes closes nothing:
//! the lock's connection asks Postgres to give up on a silent client
//! within about 11 s (keepalives after 5 s idle, every 2 s, 3 missed; a
//! 10 s timeout on unacknowledged data: [`lead`] sets them on the server's
//! side of it), not the kernel's two hours. A node cut off
//! from Postgres stops the work once its pings fail [`PINGS_MISSED`]
//! times in a row, sooner than Postgres gives up on it.
//!
//! An advisory lock rather than a leases table: there is no clock to trust
//! and nothing to renew; Postgres already knows which sessions are alive.
//! The work itself must still be safe to run twice (a partition can leave
//! an old leader running until its connection times out): what it writes
//! is idempotent or takes its own row locks.

use std::{future::Future, time::Duration};

use sqlx::{Connection, PgConnection, PgPool};

/// How often a node that does not lead asks whether it may.
pub const TRY_EVERY: Duration = Duration::from_secs(2);

/// How often the leader makes sure its lock's connection is alive.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Failed pings in a row after which the leader stops: one slow answer
/// from a busy database is not a lost lead.
const PINGS_MISSED: u32 = 3;

/// The least time between two starts of the work while leading, so work
/// that ends at once (a listener that keeps failing) cannot spin.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Runs `work` whenever this node leads `name`, for as long as it does;
/// forever. `work` is dropped when the lead is lost, and started again
/// when it comes back or when it returns while this node still leads, so
/// it should begin by catching up.
pub async fn while_leading<F, Fut>(pool: PgPool, name: &'static str, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let Some(mut conn) = lead(&pool, name).await else {
            tokio::time::sleep(TRY_EVERY).await;
            continue;
        };
        tracing::info!(work = name, "leading");
        let mut working = std::pin::pin!(work());
        let mut started = tokio::time::Instant::now();
        let mut missed = 0;
        loop {
            tokio::select! {
                () = &mut working => {
                    tokio::time::sleep_until(started + RESTART_AFTER).await;
                    started = tokio::time::Instant::now();
                    working.set(work());
                }
                () = tokio::time::sleep(CHECK_EVERY) => {
                    let alive = tokio::time::timeout(CHECK_EVERY, conn.ping()).await;
                    missed = if matches!(alive, Ok(Ok(()))) { 0 } else { missed + 1 };
                    if missed >= PINGS_MISSED {
                        tracing::warn!(work = name, "lost the lead (its connection broke)");
                        break;
                    }
                }
            }
        }
    }
}

/// A connection holding `name`'s lock, unless another node holds it or
/// Postgres cannot be reached.
async fn lead(pool: &PgPool, name: &str) -> Option<PgConnection> {
    let mut conn = pool.acquire().await.ok()?;
    let held: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('leader'), hashtext($1))")
            .bind(name)
            .fetch_one(conn.as_mut())
            .await
            .ok()?;
    if !held {
        // Back to the pool: a node that does not lead opens nothing.
        return None;
    }
    // Out of the pool: the lock lives as long as this connection.
    let mut conn = conn.detach();
    // As the module's comment says.
    let set = sqlx::query(
        "SELECT set_config('tcp_keepalives_idle', '5', false),
                set_config('tcp_keepalives_interval', '2', false),
                set_config('tcp_keepalives_count', '3', false),
                set_config('tcp_user_timeout', '10000', false)",
    )
    .execute(&mut conn)
    .await;
    if let Err(error) = set {
        tracing::warn!(%error, "the lead's connection keeps the kernel's keepalives");
    }
    Some(conn)
}
