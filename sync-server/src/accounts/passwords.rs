//! Passwords: what a new one must be (kept only as an argon2id PHC string,
//! the crate's default parameters), and hashing on every core
//! but one at most, server-wide, behind a short queue (a crowd is turned
//! away with a 503, a known device never).

use std::{
    collections::VecDeque,
    sync::{Arc, LazyLock, Mutex},
};

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::oneshot;

use crate::http::error::AppError;

/// A new password: at least 12 characters; at most 1024 bytes, so hashing
/// one cannot be made arbitrarily expensive.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(s: &str) -> Result<NewPassword, String> {
        if s.chars().count() < 12 {
            Err("password must be at least 12 characters long".to_owned())
        } else if s.len() > 1024 {
            Err("password must be at most 1024 bytes long".to_owned())
        } else {
            Ok(NewPassword(s.to_owned()))
        }
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// Password hashes (argon2id: about 60 ms of a core and 19 MiB each)
/// computed at once, server-wide: one core fewer than the machine has, so
/// applications and sign-ins together can never take every core (nor more
/// than a few dozen MiB).
fn hashing_permits() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get() - 1)
        .max(1)
}

/// Hashes from [`HashFor::Anyone`] that may wait for a core, per core:
/// at most about a quarter of a second of queued work. A crowd beyond it
/// is turned away at once (a 503 with `Retry-After`) rather than queueing
/// hours of work ahead of everyone.
const WAITING_PER_PERMIT: usize = 4;

/// Whose password hash it is, which decides its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFor {
    /// A sign-in from a device the account signed in from before, or the
    /// server's own work (loading the fixtures): goes before
    /// [`HashFor::Anyone`] and is never turned away, however long the
    /// queue. The limiter bounds how many wait: a known device's attempts
    /// count as failures until they succeed, so only a few per device are
    /// under way at once, and an account is known on at most
    /// [`crate::http::session::KNOWN_DEVICES_PER_ACCOUNT`] devices.
    Trusted,
    /// Everyone else (applications, sign-ins from new browsers and native
    /// clients): turned away when the queue is full.
    Anyone,
}

/// The queue for the hashing cores, as plain data (sans-IO): who runs,
/// who waits in which order, who is turned away. `W` is what wakes a
/// waiter.
#[derive(Debug)]
struct HashQueue<W> {
    permits: usize,
    /// How many [`HashFor::Anyone`] may wait.
    max_waiting: usize,
    running: usize,
    next_ticket: u64,
    trusted: VecDeque<(u64, W)>,
    anyone: VecDeque<(u64, W)>,
}

/// What a newcomer to the [`HashQueue`] is told.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// A core is free: hash now.
    Run,
    /// Wait; the ticket leaves the queue when the waiter gives up.
    Queued(u64),
    /// Too many wait already: try again later.
    Busy,
}

impl<W> HashQueue<W> {
    fn new(permits: usize, max_waiting: usize) -> Self {
        HashQueue {
            permits: permits.max(1),
            max_waiting,
            running: 0,
            next_ticket: 0,
            trusted: VecDeque::new(),
            anyone: VecDeque::new(),
        }
    }

    fn arrive(&mut self, who: HashFor, waiter: W) -> Arrival {
        if self.running < self.permits {
            self.running += 1;
            return Arrival::Run;
        }
        let queue = match who {
            HashFor::Trusted => &mut self.trusted,
            HashFor::Anyone if self.anyone.len() >= self.max_waiting => return Arrival::Busy,
            HashFor::Anyone => &mut self.anyone,
        };
        self.next_ticket += 1;
        queue.push_back((self.next_ticket, waiter));
        Arrival::Queued(self.next_ticket)
    }

    /// A waiter gave up; whether it was still waiting (otherwise its turn
    /// has been handed to it, and it passes it on itself).
    fn leave(&mut self, ticket: u64) -> bool {
        for queue in [&mut self.trusted, &mut self.anyone] {
            if let Some(at) = queue.iter().position(|(t, _)| *t == ticket) {
                queue.remove(at);
                return true;
            }
        }
        false
    }

    /// A hash ended: the waiter whose turn it now is (trusted ones first),
    /// or none, and the core is free.
    fn finish(&mut self) -> Option<W> {
        let next = self
            .trusted
            .pop_front()
            .or_else(|| self.anyone.pop_front())
            .map(|(_, waiter)| waiter);
        if next.is_none() {
            self.running = self.running.saturating_sub(1);
        }
        next
    }
}

/// The hashing queue, for async callers: a `HashQueue` whose waiters
/// are woken by the turn they are handed.
#[derive(Debug)]
pub struct Hashing {
    queue: Mutex<HashQueue<oneshot::Sender<HashTurn>>>,
}

/// The queue for the hashing cores is full: the server answers 503 with
/// `Retry-After` ([`AppError::Busy`]).
#[derive(Debug, thiserror::Error)]
#[error("too many passwords are being checked; try again in a moment")]
pub struct HashingBusy;

impl From<HashingBusy> for AppError {
    fn from(_: HashingBusy) -> Self {
        AppError::Busy {
            retry_after_secs: 1,
            message: "too many passwords are being checked; try again in a moment",
        }
    }
}

impl Hashing {
    /// The server's one queue for the hashing cores: every core but one,
    /// each with a few waiting. One per server, made by the composition
    /// root, so two servers in one process (the tests) do not share it.
    pub fn for_this_machine() -> Arc<Hashing> {
        let permits = hashing_permits();
        Arc::new(Hashing::new(permits, permits * WAITING_PER_PERMIT))
    }

    fn new(permits: usize, max_waiting: usize) -> Self {
        Hashing {
            queue: Mutex::new(HashQueue::new(permits, max_waiting)),
        }
    }

    /// A place in the queue for password hashing, or [`HashingBusy`] when
    /// `who` is [`HashFor::Anyone`] and the queue is full. Take it before
    /// anything that counts the attempt, so an attempt turned away costs
    /// nothing and counts for nothing.
    pub fn queue(self: &Arc<Self>, who: HashFor) -> Result<HashPlace, HashingBusy> {
        let (wake, woken) = oneshot::channel();
        let place = match crate::lock(&self.queue).arrive(who, wake) {
            Arrival::Run => Place::Ready(HashTurn {
                hashing: self.clone(),
            }),
            Arrival::Queued(ticket) => Place::Waiting(ticket, woken),
            Arrival::Busy => return Err(HashingBusy),
        };
        Ok(HashPlace {
            hashing: self.clone(),
            place,
        })
    }
}

/// A core to hash on, until dropped; dropping it hands the core to the
/// next waiter.
#[derive(Debug)]
struct HashTurn {
    hashing: Arc<Hashing>,
}

impl Drop for HashTurn {
    fn drop(&mut self) {
        let next = crate::lock(&self.hashing.queue).finish();
        if let Some(next) = next {
            // A waiter that gave up meanwhile sends the turn back, and
            // dropping it here passes it on again.
            let _ = next.send(HashTurn {
                hashing: self.hashing.clone(),
            });
        }
    }
}

#[derive(Debug)]
enum Place {
    Ready(HashTurn),
    Waiting(u64, oneshot::Receiver<HashTurn>),
    Done,
}

/// A place in the queue for the hashing cores ([`Hashing::queue`]).
/// Dropped while it waits (the client went away, the limiter refused the
/// attempt), it leaves the queue.
#[derive(Debug)]
pub struct HashPlace {
    hashing: Arc<Hashing>,
    place: Place,
}

impl Drop for HashPlace {
    fn drop(&mut self) {
        if let Place::Waiting(ticket, _) = self.place {
            crate::lock(&self.hashing.queue).leave(ticket);
        }
    }
}

impl HashPlace {
    /// Waits for this place's turn, then runs `work` off the async threads;
    /// the core is handed on when `work` ends, even if the caller has gone.
    async fn run<T: Send + 'static>(
        mut self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        if let Place::Waiting(_, woken) = &mut self.place {
            // Dropped here, `self` still waits and leaves the queue.
            let turn = woken.await.context("hashing queue")?;
            self.place = Place::Ready(turn);
        }
        let Place::Ready(turn) = std::mem::replace(&mut self.place, Place::Done) else {
            anyhow::bail!("a hashing place is used once");
        };
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await
        .context("password hashing task")
    }
}

/// An argon2id PHC string of `password`. Slow on purpose: call it off the
/// async threads ([`hash_password_blocking`]).
pub fn hash_password(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub async fn hash_password_blocking(
    place: HashPlace,
    password: NewPassword,
) -> anyhow::Result<String> {
    place.run(move || hash_password(&password)).await?
}

/// Whether `password` matches `phc`; argon2 compares in constant time. With
/// no account to check against, pass `None`: a dummy hash is verified so an
/// unknown email costs as long as a wrong password.
pub async fn verify_password(place: HashPlace, phc: Option<String>, password: String) -> bool {
    place
        .run(move || {
            let phc = phc.unwrap_or_else(|| DUMMY_HASH.clone());
            PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&NewPassword("no account has this password".to_owned()))
        .expect("hashing a constant")
});

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_hashing_keeps_a_core_free() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hashing = Hashing::for_this_machine();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                let place = hashing.queue(HashFor::Trusted).unwrap();
                tokio::spawn(place.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Stands for the work of one hash.
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(most.load(Ordering::SeqCst), cores.saturating_sub(1).max(1));
    }

    /// A crowd used to queue without bound ahead of everyone: now a few
    /// wait, the rest are turned away at once, and a known device goes
    /// first and is never turned away.
    #[test]
    fn the_hashing_queue_turns_a_crowd_away_but_never_a_known_device() {
        let mut q = HashQueue::new(1, 2);
        assert_eq!(q.arrive(HashFor::Anyone, "a1"), Arrival::Run);
        assert_eq!(q.arrive(HashFor::Anyone, "a2"), Arrival::Queued(1));
        assert_eq!(q.arrive(HashFor::Anyone, "a3"), Arrival::Queued(2));
        for _ in 0..100 {
            assert_eq!(q.arrive(HashFor::Anyone, "crowd"), Arrival::Busy);
        }
        assert_eq!(q.arrive(HashFor::Trusted, "ben"), Arrival::Queued(3));
        assert_eq!(q.arrive(HashFor::Trusted, "ana"), Arrival::Queued(4));
        // Each finished hash hands the core to the next: known devices
        // first, then the others in the order they came.
        let turns: Vec<&str> = std::iter::from_fn(|| q.finish()).collect();
        assert_eq!(turns, ["ben", "ana", "a2", "a3"]);
        // The last one freed the core.
        assert_eq!(q.arrive(HashFor::Anyone, "later"), Arrival::Run);
        assert_eq!(q.arrive(HashFor::Anyone, "then"), Arrival::Queued(5));
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_its_place() {
        let mut q = HashQueue::new(1, 1);
        assert_eq!(q.arrive(HashFor::Anyone, 1), Arrival::Run);
        assert_eq!(q.arrive(HashFor::Anyone, 2), Arrival::Queued(1));
        assert_eq!(q.arrive(HashFor::Anyone, 3), Arrival::Busy);
        assert!(q.leave(1));
        assert_eq!(q.arrive(HashFor::Anyone, 4), Arrival::Queued(2));
        assert_eq!(q.finish(), Some(4));
        // Handed its turn, a waiter is no longer in the queue.
        assert!(!q.leave(2));
        assert_eq!(q.finish(), None);
        assert_eq!(q.arrive(HashFor::Anyone, 5), Arrival::Run);
    }

    /// The core is handed on whoever goes away: a place that never
    /// hashed, a waiter, a waiter whose turn had already come.
    #[tokio::test]
    async fn a_turn_passes_on_when_its_holder_or_a_waiter_goes_away() {
        let hashing = Arc::new(Hashing::new(1, 1));
        let running = |hashing: &Arc<Hashing>| crate::lock(&hashing.queue).running;
        let first = hashing.queue(HashFor::Anyone).unwrap();
        let waiting = hashing.queue(HashFor::Anyone).unwrap();
        assert!(hashing.queue(HashFor::Anyone).is_err());
        drop(waiting);
        let next = hashing.queue(HashFor::Anyone).unwrap();
        let next_runs = tokio::spawn(next.run(|| "ran"));
        drop(first);
        assert_eq!(next_runs.await.unwrap().unwrap(), "ran");
        assert_eq!(running(&hashing), 0);

        let first = hashing.queue(HashFor::Anyone).unwrap();
        let never_polled = hashing.queue(HashFor::Anyone).unwrap();
        // Its turn comes while nobody waits for it any more ..
        drop(first);
        assert_eq!(running(&hashing), 1);
        // .. and goes back when it is dropped.
        drop(never_polled);
        assert_eq!(running(&hashing), 0);
        assert_eq!(
            hashing
                .queue(HashFor::Anyone)
                .unwrap()
                .run(|| 7)
                .await
                .unwrap(),
            7
        );
    }
}
