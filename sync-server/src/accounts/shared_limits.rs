//! The limiters' memory in Postgres, so that every node over the database
//! counts the same sign-in failures and applications: a guesser spread
//! over the nodes behind a proxy is slowed as one behind a single server.
//!
//! Each call takes the rows of its keys (in a transaction that holds an
//! advisory lock per key, so two nodes counting one key take turns, and a
//! key not stored yet cannot be inserted twice), hands them to a limiter of
//! its own (`limits.rs`, sans-IO, the rules in one place), asks it, and
//! writes back what it changed. Time is the database's: a row's age is
//! `now() - last_at`, read back as an `Instant` that long before this
//! node's now, so nodes whose clocks differ agree.
//!
//! The tables stay small without a cap: every key records when it is
//! wholly forgiven, and one attempt in [`SWEEP_ONE_IN`] deletes the keys
//! past that (after its own transaction, skipping rows another attempt
//! holds, so the sweep never waits on one). A key is written only by an
//! attempt the limiter let through, and those are as many as the password
//! queue admits, or are taken back at once.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use sqlx::{PgPool, Postgres, Transaction};

use super::limits::{
    ApplicationLimiter, ApplicationLimits, Attempt, Bucket, LimitKey, SignInLimiter, SignInLimits,
    Tally, network, octets,
};

/// One begun sign-in in this many also sweeps forgiven keys.
const SWEEP_ONE_IN: u32 = 64;

/// How long an address's application bucket is kept after its last use
/// (it is full again long before).
const APPLICATION_BUCKET_DAYS: i32 = 1;

/// A limiter's answer: `Err` holds how long to wait.
pub type Verdict = Result<(), Duration>;

/// The sign-in and application limits, kept in Postgres.
#[derive(Debug, Clone)]
pub struct SharedLimits {
    pool: PgPool,
    sign_in: SignInLimits,
    applications: ApplicationLimits,
}

impl SharedLimits {
    pub fn new(pool: PgPool, sign_in: SignInLimits, applications: ApplicationLimits) -> Self {
        SharedLimits {
            pool,
            sign_in,
            applications,
        }
    }

    /// Whether a sign-in would be refused, counting nothing.
    pub async fn check_sign_in(&self, attempt: &Attempt<'_>) -> Result<Verdict, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let (limiter, now) = self.sign_in_rows(&mut tx, attempt, false).await?;
        tx.commit().await?;
        Ok(limiter.check(attempt, now))
    }

    /// Counts a sign-in as failed before its password is checked
    /// ([`SignInLimiter::begin`]), unless it must wait.
    pub async fn begin_sign_in(&self, attempt: &Attempt<'_>) -> Result<Verdict, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let (limiter, now) = self.sign_in_rows(&mut tx, attempt, true).await?;
        let verdict = limiter.begin(attempt, now);
        if verdict.is_ok() {
            write_tallies(&mut tx, &limiter, attempt, now).await?;
        }
        tx.commit().await?;
        if rand::random_ratio(1, SWEEP_ONE_IN) {
            sqlx::query(
                "DELETE FROM sign_in_tallies WHERE key IN (
                     SELECT key FROM sign_in_tallies WHERE forget_at < now()
                     LIMIT 1000 FOR UPDATE SKIP LOCKED)",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(verdict)
    }

    /// The sign-in begun succeeded ([`SignInLimiter::succeeded`]).
    pub async fn sign_in_succeeded(&self, attempt: &Attempt<'_>) -> Result<(), sqlx::Error> {
        self.rewrite_sign_in(attempt, SignInLimiter::succeeded)
            .await
    }

    /// The sign-in begun was not tried after all
    /// ([`SignInLimiter::withdraw`]).
    pub async fn withdraw_sign_in(&self, attempt: &Attempt<'_>) -> Result<(), sqlx::Error> {
        self.rewrite_sign_in(attempt, SignInLimiter::withdraw).await
    }

    /// Applies `change` to `attempt`'s stored tallies, its keys locked.
    async fn rewrite_sign_in(
        &self,
        attempt: &Attempt<'_>,
        change: impl FnOnce(&SignInLimiter, &Attempt<'_>),
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let (limiter, now) = self.sign_in_rows(&mut tx, attempt, true).await?;
        change(&limiter, attempt);
        write_tallies(&mut tx, &limiter, attempt, now).await?;
        tx.commit().await
    }

    /// A limiter holding `attempt`'s stored tallies, and the `Instant`
    /// that stands for the database's now. With `lock`, the keys are held
    /// until `tx` ends.
    async fn sign_in_rows(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        attempt: &Attempt<'_>,
        lock: bool,
    ) -> Result<(SignInLimiter, Instant), sqlx::Error> {
        let keys = SignInLimiter::keys(attempt);
        let mut stored: Vec<Vec<u8>> = keys.iter().map(LimitKey::stored).collect();
        if lock {
            // In one order everywhere, so two attempts cannot deadlock.
            let mut ordered = stored.clone();
            ordered.sort();
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtext('sign_in'), hashtext(encode(k, 'hex')))
                 FROM unnest($1::bytea[]) WITH ORDINALITY AS t (k, i) ORDER BY i",
            )
            .bind(&ordered)
            .execute(&mut **tx)
            .await?;
        }
        let rows: Vec<(Vec<u8>, f64, f64)> = sqlx::query_as(
            "SELECT key, failures, extract(epoch FROM now() - last_at)::float8
             FROM sign_in_tallies WHERE key = ANY($1)",
        )
        .bind(&stored)
        .fetch_all(&mut **tx)
        .await?;
        let now = Instant::now();
        let mut held = Vec::new();
        for (key, failures, age) in rows {
            let Some(i) = stored.iter().position(|s| *s == key) else {
                continue;
            };
            stored[i].clear();
            if let Some(last) = now.checked_sub(Duration::from_secs_f64(age.max(0.0))) {
                held.push((keys[i], Tally { failures, last }));
            }
        }
        Ok((SignInLimiter::holding(self.sign_in, attempt, held), now))
    }

    /// Takes one application's token from `address`'s bucket and
    /// everyone's ([`ApplicationLimiter::take`]).
    pub async fn take_application(&self, address: IpAddr) -> Result<Verdict, sqlx::Error> {
        let everyone_key = b"applications: everyone".to_vec();
        let mine_key = application_key(address);
        let mut tx = self.pool.begin().await?;
        // Everyone's bucket is one row: applications take turns.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('applications'))")
            .execute(&mut *tx)
            .await?;
        let rows: Vec<(Vec<u8>, f64, f64)> = sqlx::query_as(
            "SELECT key, tokens, extract(epoch FROM now() - at)::float8
             FROM application_buckets WHERE key = ANY($1)",
        )
        .bind([&everyone_key, &mine_key])
        .fetch_all(&mut *tx)
        .await?;
        let now = Instant::now();
        let bucket = |which: &[u8]| {
            rows.iter()
                .find(|(key, ..)| key == which)
                .and_then(|(_, tokens, age)| {
                    let at = now.checked_sub(Duration::from_secs_f64(age.max(0.0)))?;
                    Some(Bucket {
                        tokens: *tokens,
                        at,
                    })
                })
        };
        let limiter = ApplicationLimiter::holding(
            self.applications,
            bucket(&everyone_key),
            address,
            bucket(&mine_key),
        );
        let verdict = limiter.take(address, now);
        if verdict.is_ok() {
            let (everyone, mine) = limiter.held(address);
            for (key, bucket) in [(&everyone_key, everyone), (&mine_key, mine)] {
                let Some(bucket) = bucket else { continue };
                sqlx::query(
                    "INSERT INTO application_buckets (key, tokens, at)
                     VALUES ($1, $2, now() - make_interval(secs => $3))
                     ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, at = EXCLUDED.at",
                )
                .bind(key)
                .bind(bucket.tokens)
                .bind(now.saturating_duration_since(bucket.at).as_secs_f64())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "DELETE FROM application_buckets
                 WHERE at < now() - make_interval(days => $1) AND key <> $2",
            )
            .bind(APPLICATION_BUCKET_DAYS)
            .bind(&everyone_key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(verdict)
    }
}

/// An address's application bucket as stored: its network's SHA-256.
fn application_key(address: IpAddr) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"applications: address\0");
    hash.update(octets(network(address)));
    hash.finalize().to_vec()
}

/// Writes back what `limiter` holds of `attempt`'s keys: a tally kept, or
/// a key forgotten deleted.
async fn write_tallies(
    tx: &mut Transaction<'static, Postgres>,
    limiter: &SignInLimiter,
    attempt: &Attempt<'_>,
    now: Instant,
) -> Result<(), sqlx::Error> {
    for (key, tally) in limiter.held(attempt) {
        match tally {
            Some(tally) => {
                let forgotten_in = limiter.slowdown(&key).forgotten_in(&tally, now);
                sqlx::query(
                    "INSERT INTO sign_in_tallies (key, failures, last_at, forget_at)
                     VALUES ($1, $2, now() - make_interval(secs => $3),
                             now() + make_interval(secs => $4))
                     ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures,
                         last_at = EXCLUDED.last_at, forget_at = EXCLUDED.forget_at",
                )
                .bind(key.stored())
                .bind(tally.failures)
                .bind(now.saturating_duration_since(tally.last).as_secs_f64())
                .bind(forgotten_in.as_secs_f64())
                .execute(&mut **tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM sign_in_tallies WHERE key = $1")
                    .bind(key.stored())
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    Ok(())
}
