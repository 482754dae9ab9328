//! The sign-in limiter (growing delays per email, address and pair, never
//! a lock; a known device counts only its own failures) and the
//! application limiter (token buckets per address and for everyone). Both
//! sans-IO: time is an argument. What they remember lives in Postgres
//! (`shared_limits.rs`), so every node over the database counts the same
//! attempts: there, each attempt loads the rows of its keys into a limiter
//! of its own ([`SignInLimiter::holding`]), asks it, and writes back what
//! it changed.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use crate::accounts::email::Email;

/// `Retry-After` in whole seconds, at least one.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// How failed sign-ins slow down one key (an address, an email, ...):
/// `free` failures pass at once; past them, an attempt must wait, after the
/// key's last failure, a delay that starts at `first_delay` and doubles
/// with each further failure up to `max_delay`. One failure is forgiven
/// every `max_delay`, so a key left alone is soon forgotten. A refused
/// attempt is not a failure: it checked no password.
#[derive(Debug, Clone, Copy)]
pub struct Slowdown {
    pub free: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

/// What a key remembers: its failures, less what time has forgiven since
/// the last one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tally {
    pub(super) failures: f64,
    pub(super) last: Instant,
}

impl Slowdown {
    /// Failures counted at most: as many as reach `max_delay`, so a long
    /// attack is forgotten as soon as a short one once it stops.
    fn cap(&self) -> f64 {
        let mut delay = self.first_delay.max(Duration::from_millis(1));
        let mut doublings = 0;
        while delay < self.max_delay {
            delay = delay.saturating_mul(2);
            doublings += 1;
        }
        f64::from(self.free + doublings)
    }

    fn failures(&self, tally: &Tally, now: Instant) -> f64 {
        let forgiven = now.saturating_duration_since(tally.last).as_secs_f64()
            / self.max_delay.as_secs_f64().max(f64::MIN_POSITIVE);
        (tally.failures - forgiven).max(0.0)
    }

    /// How long an attempt must still wait.
    fn wait(&self, tally: &Tally, now: Instant) -> Duration {
        // A failure counts in full until it is wholly forgiven.
        let failures = (self.failures(tally, now) - 1e-9).ceil() as u32;
        let Some(doublings) = failures.checked_sub(self.free) else {
            return Duration::ZERO;
        };
        let delay = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_delay);
        delay.saturating_sub(now.saturating_duration_since(tally.last))
    }

    /// How long until the key is wholly forgiven, and may be forgotten.
    pub(super) fn forgotten_in(&self, tally: &Tally, now: Instant) -> Duration {
        self.max_delay.mul_f64(self.failures(tally, now))
    }

    fn fail(&self, tally: &mut Tally, now: Instant) {
        tally.failures = (self.failures(tally, now) + 1.0).min(self.cap());
        tally.last = now;
    }
}

/// The slow-downs of the sign-in limiter.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// One email from one address: a guesser at their desk (or the owner
    /// mistyping at theirs).
    pub per_pair: Slowdown,
    /// One address, whichever emails: a guesser trying many accounts.
    pub per_address: Slowdown,
    /// One email from every address, for devices that email has not signed
    /// in from: many addresses guessing one account. A known device is
    /// never held up by it.
    pub per_email: Slowdown,
    /// One email on one known device: someone holding its cookie.
    pub per_device: Slowdown,
    /// Keys kept at most, for devices not known to the account and apart
    /// for known devices (at least 3: an attempt counts against up to 3).
    /// At this many a sweep drops the forgiven ones; if the table is still
    /// full, an attempt that needs a new key is refused until the first
    /// key is forgotten (it fails closed: neither letting attempts through
    /// uncounted nor forgetting an attacked email's failures to make room).
    pub max_keys: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        let slowdown = |free, max_secs| Slowdown {
            free,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(max_secs),
        };
        SignInLimits {
            per_pair: slowdown(5, 15 * 60),
            per_address: slowdown(20, 60),
            per_email: slowdown(10, 2 * 60),
            per_device: slowdown(5, 15 * 60),
            // About 10 MB. Each key takes a password check to make, and
            // the hashing queue lets a 2-core server check about 16 a
            // second, so failures from everywhere keep at most about 20,000
            // keys unforgiven.
            max_keys: 100_000,
        }
    }
}

/// One sign-in attempt as the limiter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The email as parsed; `None` when it cannot be an account's (then
    /// only the address is limited: no account can be guessed with it).
    pub email: Option<&'a Email>,
    pub address: IpAddr,
    /// The device cookie's hash, when that device has signed this email's
    /// account in before.
    pub known_device: Option<[u8; 32]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum LimitKey {
    /// Emails by their SHA-256, whether or not an account has them (so the
    /// limiter's answers do not tell which emails exist, and its memory
    /// holds no addresses and stays small).
    Pair([u8; 32], IpAddr),
    Address(IpAddr),
    Email([u8; 32]),
    /// SHA-256 of the device's hash and the email.
    Device([u8; 32]),
}

impl LimitKey {
    /// The key as stored: a SHA-256 of what it is and of its parts, so
    /// the table holds neither emails nor addresses.
    pub(super) fn stored(&self) -> Vec<u8> {
        let mut hash = Sha256::new();
        match self {
            LimitKey::Pair(email, ip) => {
                hash.update(b"sign-in pair\0");
                hash.update(email);
                hash.update(octets(*ip));
            }
            LimitKey::Address(ip) => {
                hash.update(b"sign-in address\0");
                hash.update(octets(*ip));
            }
            LimitKey::Email(email) => {
                hash.update(b"sign-in email\0");
                hash.update(email);
            }
            LimitKey::Device(device) => {
                hash.update(b"sign-in device\0");
                hash.update(device);
            }
        }
        hash.finalize().to_vec()
    }
}

/// An address's bytes, for the digests that stand for it in storage.
pub(super) fn octets(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The network an address stands for: an IPv6 client usually holds a
/// whole /64, so it counts as one.
pub(super) fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

/// Failed sign-ins, slowed down per (email, address), per address and per
/// email, with growing delays rather than a lock ([`Slowdown`]). There is
/// no lock-out button: failures from elsewhere never hold up a device the
/// account signed in from before (its `portal_device` cookie), which is
/// limited only by its own failures. A device without the cookie (a new
/// browser) shares the per-email slow-down with everyone guessing that
/// email. Bounded in memory, and failing closed when full
/// ([`SignInLimits::max_keys`]). Sans-IO: the time is an argument. The
/// server keeps the tallies in Postgres (`shared_limits.rs`) and asks a
/// limiter [`holding`](Self::holding) an attempt's rows.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    limits: SignInLimits,
    tallies: Mutex<Tallies>,
}

/// The keys of attempts from devices the account does not know, and apart
/// those of known devices: a crowd that fills the first table cannot keep
/// an owner's known device out.
#[derive(Debug, Default)]
struct Tallies {
    anyone: HashMap<LimitKey, Tally>,
    devices: HashMap<LimitKey, Tally>,
}

impl Tallies {
    fn of(&mut self, attempt: &Attempt<'_>) -> &mut HashMap<LimitKey, Tally> {
        match attempt.known_device {
            Some(_) => &mut self.devices,
            None => &mut self.anyone,
        }
    }
}

impl SignInLimiter {
    pub fn new(limits: SignInLimits) -> Self {
        SignInLimiter {
            limits,
            tallies: Mutex::default(),
        }
    }

    /// A limiter that knows only `rows`, the tallies of `attempt`'s keys as
    /// stored.
    pub(super) fn holding(
        limits: SignInLimits,
        attempt: &Attempt<'_>,
        rows: impl IntoIterator<Item = (LimitKey, Tally)>,
    ) -> Self {
        let limiter = SignInLimiter::new(limits);
        crate::lock(&limiter.tallies).of(attempt).extend(rows);
        limiter
    }

    /// What it holds of `attempt`'s keys now: `None` for a key forgotten.
    pub(super) fn held(&self, attempt: &Attempt<'_>) -> Vec<(LimitKey, Option<Tally>)> {
        let mut tallies = crate::lock(&self.tallies);
        let table = tallies.of(attempt);
        Self::keys(attempt)
            .into_iter()
            .map(|key| (key, table.get(&key).copied()))
            .collect()
    }

    pub(super) fn slowdown(&self, key: &LimitKey) -> Slowdown {
        match key {
            LimitKey::Pair(..) => self.limits.per_pair,
            LimitKey::Address(_) => self.limits.per_address,
            LimitKey::Email(_) => self.limits.per_email,
            LimitKey::Device(_) => self.limits.per_device,
        }
    }

    pub(super) fn keys(attempt: &Attempt<'_>) -> Vec<LimitKey> {
        let address = network(attempt.address);
        let Some(email) = attempt.email else {
            return vec![LimitKey::Address(address)];
        };
        let email: [u8; 32] = Sha256::digest(email.as_str().as_bytes()).into();
        match attempt.known_device {
            Some(device) => {
                let mut both = Sha256::new();
                both.update(device);
                both.update(email);
                vec![LimitKey::Device(both.finalize().into())]
            }
            None => vec![
                LimitKey::Pair(email, address),
                LimitKey::Address(address),
                LimitKey::Email(email),
            ],
        }
    }

    /// How long the slowest of `keys` must still wait.
    fn wait(&self, table: &HashMap<LimitKey, Tally>, keys: &[LimitKey], now: Instant) -> Duration {
        keys.iter()
            .filter_map(|key| Some(self.slowdown(key).wait(table.get(key)?, now)))
            .max()
            .unwrap_or_default()
    }

    /// Whether an attempt would be refused, without counting it: what a
    /// sign-in asks before it costs a query. `Err` holds how long to wait.
    pub fn check(&self, attempt: &Attempt<'_>, now: Instant) -> Result<(), Duration> {
        let mut tallies = crate::lock(&self.tallies);
        match self.wait(tallies.of(attempt), &Self::keys(attempt), now) {
            Duration::ZERO => Ok(()),
            wait => Err(wait),
        }
    }

    /// Counts an attempt as failed before it is checked, so parallel
    /// attempts cannot all slip under the limit; [`Self::succeeded`] takes
    /// it back. `Err` holds how long to wait: for the attempt's keys, or,
    /// when the table is full, until its first key is forgotten.
    pub fn begin(&self, attempt: &Attempt<'_>, now: Instant) -> Result<(), Duration> {
        let keys = Self::keys(attempt);
        let mut tallies = crate::lock(&self.tallies);
        let table = tallies.of(attempt);
        let wait = self.wait(table, &keys, now);
        if wait > Duration::ZERO {
            return Err(wait);
        }
        let new = keys.iter().filter(|key| !table.contains_key(key)).count();
        if table.len() + new > self.limits.max_keys {
            table.retain(|key, tally| self.slowdown(key).failures(tally, now) > 0.0);
        }
        if table.len() + new > self.limits.max_keys {
            let soonest = table
                .iter()
                .map(|(key, tally)| self.slowdown(key).forgotten_in(tally, now))
                .min();
            return Err(soonest.unwrap_or(Duration::from_secs(1)));
        }
        for key in keys {
            let tally = table.entry(key).or_insert(Tally {
                failures: 0.0,
                last: now,
            });
            self.slowdown(&key).fail(tally, now);
        }
        Ok(())
    }

    /// The attempt begun succeeded: the (email, address) pair and the
    /// device are forgiven (the person there got it right), and the attempt
    /// no longer counts against the address or the email.
    pub fn succeeded(&self, attempt: &Attempt<'_>) {
        let mut tallies = crate::lock(&self.tallies);
        let table = tallies.of(attempt);
        for key in Self::keys(attempt) {
            match key {
                LimitKey::Pair(..) | LimitKey::Device(_) => {
                    table.remove(&key);
                }
                LimitKey::Address(_) | LimitKey::Email(_) => {
                    if let Some(tally) = table.get_mut(&key) {
                        tally.failures = (tally.failures - 1.0).max(0.0);
                    }
                }
            }
        }
    }
}

impl SignInLimiter {
    /// The attempt begun was not tried after all (no password was
    /// checked): it no longer counts against any of its keys.
    pub fn withdraw(&self, attempt: &Attempt<'_>) {
        let mut tallies = crate::lock(&self.tallies);
        let table = tallies.of(attempt);
        for key in Self::keys(attempt) {
            if let Some(tally) = table.get_mut(&key) {
                tally.failures = (tally.failures - 1.0).max(0.0);
            }
        }
    }
}

/// A token bucket: `burst` at once, then one every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub(super) tokens: f64,
    pub(super) at: Instant,
}

impl Rate {
    fn full(&self, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(self.burst),
            at: now,
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64()
            / self.every.as_secs_f64().max(f64::MIN_POSITIVE);
        bucket.tokens = (bucket.tokens + earned).min(f64::from(self.burst));
        bucket.at = now;
    }

    /// How long until `bucket` holds a whole token.
    fn wait(&self, bucket: &Bucket) -> Duration {
        self.every.mul_f64((1.0 - bucket.tokens).max(0.0))
    }
}

/// How many applications are taken.
#[derive(Debug, Clone, Copy)]
pub struct ApplicationLimits {
    pub per_address: Rate,
    /// From everyone together: what keeps a crowd of addresses from
    /// keeping the server hashing passwords.
    pub global: Rate,
}

impl Default for ApplicationLimits {
    fn default() -> Self {
        ApplicationLimits {
            // An office applying for a few colleagues at once.
            per_address: Rate {
                burst: 5,
                every: Duration::from_secs(10 * 60),
            },
            // At most one password hash a second on average: a few percent
            // of one core.
            global: Rate {
                burst: 60,
                every: Duration::from_secs(1),
            },
        }
    }
}

/// Applications per client address and from everyone, as token buckets.
/// Sans-IO like [`SignInLimiter`], and kept in Postgres the same way
/// ([`holding`](Self::holding)). The map of addresses stays
/// small without a cap of its own: an address gets a bucket only by taking
/// a token from the global one, and is dropped once its bucket is full
/// again, so it holds at most what the global rate lets in while one
/// address's bucket refills (about 3,000 with the defaults).
#[derive(Debug)]
pub struct ApplicationLimiter {
    limits: ApplicationLimits,
    buckets: Mutex<(Option<Bucket>, HashMap<IpAddr, Bucket>)>,
}

impl ApplicationLimiter {
    pub fn new(limits: ApplicationLimits) -> Self {
        ApplicationLimiter {
            limits,
            buckets: Mutex::default(),
        }
    }

    /// A limiter that knows only everyone's bucket and `address`'s, as
    /// stored.
    pub(super) fn holding(
        limits: ApplicationLimits,
        everyone: Option<Bucket>,
        address: IpAddr,
        mine: Option<Bucket>,
    ) -> Self {
        let limiter = ApplicationLimiter::new(limits);
        {
            let mut buckets = crate::lock(&limiter.buckets);
            buckets.0 = everyone;
            if let Some(mine) = mine {
                buckets.1.insert(network(address), mine);
            }
        }
        limiter
    }

    /// Everyone's bucket and `address`'s now.
    pub(super) fn held(&self, address: IpAddr) -> (Option<Bucket>, Option<Bucket>) {
        let buckets = crate::lock(&self.buckets);
        (buckets.0, buckets.1.get(&network(address)).copied())
    }

    /// Takes one application's token from `address`'s bucket and the global
    /// one, or neither; `Err` holds how long to wait.
    pub fn take(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let ApplicationLimits {
            per_address,
            global,
        } = self.limits;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (everyone, addresses) = &mut *buckets;
        if addresses.len() > 4096 {
            addresses.retain(|_, bucket| {
                per_address.refill(bucket, now);
                bucket.tokens < f64::from(per_address.burst)
            });
        }
        let everyone = everyone.get_or_insert_with(|| global.full(now));
        global.refill(everyone, now);
        let mut mine = addresses
            .get(&network(address))
            .copied()
            .unwrap_or_else(|| per_address.full(now));
        per_address.refill(&mut mine, now);
        let wait = per_address.wait(&mine).max(global.wait(everyone));
        if wait > Duration::ZERO {
            return Err(wait);
        }
        mine.tokens -= 1.0;
        everyone.tokens -= 1.0;
        addresses.insert(network(address), mine);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    /// Attempts from addresses `10.x.y.z`, one a second, each a failure:
    /// how many were checked.
    fn attack(l: &SignInLimiter, target: &Email, from: Instant, seconds: u32) -> usize {
        (0..seconds)
            .filter(|s| {
                let address = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000_u32 + s));
                let attempt = Attempt {
                    email: Some(target),
                    address,
                    known_device: None,
                };
                l.begin(&attempt, from + Duration::from_secs(u64::from(*s)))
                    .is_ok()
            })
            .count()
    }

    #[test]
    fn guesses_from_many_addresses_are_slowed_and_never_hold_up_a_known_device() {
        let l = SignInLimiter::default();
        let ben = email("ben@okafor.example");
        let t0 = Instant::now();
        let hour = 3600;
        // An attacker guessing once a second, from a new address each time.
        let first_hour = attack(&l, &ben, t0, hour);
        let second_hour = attack(&l, &ben, t0 + Duration::from_secs(3600), hour);
        // 10 free, then 1, 2, 4 .. 64 s apart, then one every 2 minutes.
        assert_eq!((first_hour, second_hour), (46, 30));

        // Ben's own browser, known to his account, is never held up, even
        // from a new address.
        let device = Attempt {
            email: Some(&ben),
            address: ip("192.0.2.7"),
            known_device: Some([7; 32]),
        };
        let during = t0 + Duration::from_secs(2 * 3600);
        // The attacker takes the next slot as soon as it opens.
        attack(&l, &ben, during, 1);
        assert_eq!(l.begin(&device, during), Ok(()));
        l.succeeded(&device);
        // A browser he never signed in from shares the slow-down with the
        // attacker: it waits for the next slot, at most 2 minutes.
        let new_browser = Attempt {
            known_device: None,
            ..device
        };
        let wait = l.begin(&new_browser, during).unwrap_err();
        assert!(wait <= Duration::from_secs(120), "{wait:?}");
        // Someone else's email from that address is not slowed at all.
        let cleo = email("cleo@martin.example");
        let other = Attempt {
            email: Some(&cleo),
            ..new_browser
        };
        assert_eq!(l.begin(&other, during), Ok(()));
    }

    #[test]
    fn delays_grow_after_the_free_failures_and_are_forgiven_over_time() {
        let l = SignInLimiter::default();
        let ben = email("ben@okafor.example");
        let guess = Attempt {
            email: Some(&ben),
            address: ip("10.0.0.1"),
            known_device: None,
        };
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        for _ in 0..5 {
            assert_eq!(l.begin(&guess, at(0.0)), Ok(()));
        }
        // From one address, the pair's delays double: 1, 2, 4 s ...
        assert_eq!(l.begin(&guess, at(0.0)), Err(Duration::from_secs(1)));
        assert_eq!(l.begin(&guess, at(1.0)), Ok(()));
        assert_eq!(l.begin(&guess, at(1.5)), Err(Duration::from_secs_f64(1.5)));
        assert_eq!(l.begin(&guess, at(3.0)), Ok(()));
        assert_eq!(l.begin(&guess, at(3.0)), Err(Duration::from_secs(4)));
        // Left alone, the pair is forgotten: 7 failures and 15 minutes
        // each.
        let later = 3.0 + 7.0 * 15.0 * 60.0;
        for _ in 0..5 {
            assert_eq!(l.begin(&guess, at(later)), Ok(()));
        }
        assert!(l.begin(&guess, at(later)).is_err());
    }

    #[test]
    fn success_forgives_the_pair_and_an_address_is_slowed_across_emails() {
        let l = SignInLimiter::default();
        let ben = email("ben@okafor.example");
        let t0 = Instant::now();
        let ben_here = Attempt {
            email: Some(&ben),
            address: ip("10.0.0.1"),
            known_device: None,
        };
        for _ in 0..4 {
            assert_eq!(l.begin(&ben_here, t0), Ok(()));
        }
        assert_eq!(l.begin(&ben_here, t0), Ok(()));
        l.succeeded(&ben_here);
        for _ in 0..5 {
            assert_eq!(l.begin(&ben_here, t0), Ok(()));
        }

        let sprayer = ip("10.9.9.9");
        let emails: Vec<Email> = (0..21).map(|i| email(&format!("u{i}@x.example"))).collect();
        for e in &emails[..20] {
            let attempt = Attempt {
                email: Some(e),
                address: sprayer,
                known_device: None,
            };
            assert_eq!(l.begin(&attempt, t0), Ok(()));
        }
        let one_more = Attempt {
            email: Some(&emails[20]),
            address: sprayer,
            known_device: None,
        };
        assert_eq!(l.begin(&one_more, t0), Err(Duration::from_secs(1)));
        // An IPv6 client is one /64, whichever address of it it uses.
        let v6 = |s: &str| Attempt {
            email: None,
            address: ip(s),
            known_device: None,
        };
        for i in 0..20 {
            assert_eq!(l.begin(&v6(&format!("2001:db8::{i:x}")), t0), Ok(()));
        }
        assert!(l.begin(&v6("2001:db8::ffff:1"), t0).is_err());
        assert_eq!(l.begin(&v6("2001:db8:0:1::1"), t0), Ok(()));
    }

    #[test]
    fn a_known_device_is_limited_by_its_own_failures() {
        let l = SignInLimiter::default();
        let ben = email("ben@okafor.example");
        let device = Attempt {
            email: Some(&ben),
            address: ip("10.0.0.1"),
            known_device: Some([1; 32]),
        };
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.begin(&device, t0), Ok(()));
        }
        assert_eq!(l.begin(&device, t0), Err(Duration::from_secs(1)));
    }

    /// A full table used to let attempts with new keys through uncounted.
    #[test]
    fn a_full_table_refuses_new_keys_but_not_a_known_device() {
        let l = SignInLimiter::new(SignInLimits {
            max_keys: 4,
            ..SignInLimits::default()
        });
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let from = |n: u32| Attempt {
            email: None,
            address: IpAddr::from(std::net::Ipv4Addr::from(n)),
            known_device: None,
        };
        for n in 0..4 {
            assert_eq!(l.begin(&from(n), t0), Ok(()));
        }
        // The keys in the table keep counting.
        assert_eq!(l.begin(&from(0), at(30)), Ok(()));
        // A fifth address is refused until the first key is forgotten (one
        // failure per address is forgiven in a minute), however often it
        // asks.
        for _ in 0..3 {
            assert_eq!(l.begin(&from(4), at(30)), Err(Duration::from_secs(30)));
        }
        // Known devices have a table of their own.
        let ben = email("ben@okafor.example");
        let device = Attempt {
            email: Some(&ben),
            known_device: Some([7; 32]),
            ..from(4)
        };
        assert_eq!(l.begin(&device, at(30)), Ok(()));
        // Once keys are forgiven, the sweep makes room; the one still
        // counting stays.
        assert_eq!(l.begin(&from(4), at(60)), Ok(()));
        assert_eq!(crate::lock(&l.tallies).anyone.len(), 2);
    }

    /// Asking before the account is looked up counts nothing.
    #[test]
    fn a_check_counts_nothing() {
        let l = SignInLimiter::default();
        let ben = email("ben@okafor.example");
        let guess = Attempt {
            email: Some(&ben),
            address: ip("10.0.0.1"),
            known_device: None,
        };
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(l.check(&guess, t0), Ok(()));
        }
        assert!(crate::lock(&l.tallies).anyone.is_empty());
        for _ in 0..5 {
            assert_eq!(l.begin(&guess, t0), Ok(()));
        }
        for _ in 0..3 {
            assert_eq!(l.check(&guess, t0), Err(Duration::from_secs(1)));
        }
        assert_eq!(l.begin(&guess, t0), Err(Duration::from_secs(1)));
        // An attempt withdrawn (the password queue was full) is as if it
        // had never begun.
        l.withdraw(&guess);
        assert_eq!(l.begin(&guess, t0), Ok(()));
        assert_eq!(l.begin(&guess, t0), Err(Duration::from_secs(1)));
    }

    #[test]
    fn applications_are_limited_per_address_and_from_everyone() {
        let l = ApplicationLimiter::new(ApplicationLimits {
            per_address: Rate {
                burst: 2,
                every: Duration::from_secs(600),
            },
            global: Rate {
                burst: 3,
                every: Duration::from_secs(10),
            },
        });
        let t0 = Instant::now();
        let (a, b, c) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"));
        assert_eq!(l.take(a, t0), Ok(()));
        assert_eq!(l.take(a, t0), Ok(()));
        assert_eq!(l.take(a, t0), Err(Duration::from_secs(600)));
        assert_eq!(l.take(b, t0), Ok(()));
        // Everyone's three are gone: c waits for the global bucket.
        assert_eq!(l.take(c, t0), Err(Duration::from_secs(10)));
        assert_eq!(l.take(c, t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(
            l.take(a, t0 + Duration::from_secs(300)),
            Err(Duration::from_secs(300))
        );
        assert_eq!(l.take(a, t0 + Duration::from_secs(600)), Ok(()));
    }
}
