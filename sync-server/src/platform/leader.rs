//! One node at a time: work that every node could do but that only one
//! should (a timed pass over the whole programme) runs on whichever node
//! holds a session-level advisory lock named for it, on a connection of
//! its own. Postgres lets the lock go when that connection ends, so a
//! node that dies (SIGKILL: the kernel closes its sockets) hands the work
//! to another within [`TRY_EVERY`], and a node cut off from Postgres
//! stops the work as soon as its connection is found broken, before
//! another can start it.
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
        loop {
            tokio::select! {
                () = &mut working => working.set(work()),
                () = tokio::time::sleep(CHECK_EVERY) => {
                    let alive = tokio::time::timeout(CHECK_EVERY, conn.ping()).await;
                    if !matches!(alive, Ok(Ok(()))) {
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
    // Its own connection, out of the pool: the lock lives as long as it.
    let mut conn = pool.acquire().await.ok()?.detach();
    let held: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('leader'), hashtext($1))")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .ok()?;
    if held {
        Some(conn)
    } else {
        let _ = conn.close().await;
        None
    }
}
