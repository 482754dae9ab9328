//! Who is asking: passwords, session tokens, the sign-in limiter and the
//! [`Authenticated`] extractor.
//!
//! A password is kept only as an argon2id PHC string (the crate's default
//! parameters). A session is a random 32-byte token handed to the client
//! once, as a cookie for the PWA or as a bearer token for native clients;
//! the server keeps only its SHA-256. Looking a session up by that hash is
//! the comparison of secrets, and it needs no constant-time compare: an
//! attacker timing the index lookup learns at most a prefix of a SHA-256,
//! which does not help find a token that hashes to it. Tokens are never
//! logged and never put in URLs.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, header, request::Parts},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use model::PartnerId;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::oneshot;
use unicode_normalization::UnicodeNormalization;
use unicode_security::mixed_script::AugmentedScriptSet;

use crate::{error::AppError, http::AppState};

/// What makes a session valid, over `sessions s JOIN accounts a`: not
/// revoked, not expired, and its account still approved. Signing in a
/// request and the sweep of live sockets (`live_sessions.rs`) read it here.
pub const VALID_SESSION: &str =
    "s.revoked_at IS NULL AND s.expires_at > now() AND a.status = 'approved'";
/// The cookie the PWA's session travels in.
pub const SESSION_COOKIE: &str = "portal_session";
/// The cookie that makes a browser a known device of the accounts it
/// signed in (see [`SignInLimiter`]): one token per browser, whichever
/// accounts it signs in.
pub const DEVICE_COOKIE: &str = "portal_device";
/// Days a device stays known without signing in again.
pub const KNOWN_DEVICE_DAYS: i32 = 180;
/// Devices an account stays known on at most: the most recently used.
pub const KNOWN_DEVICES_PER_ACCOUNT: i64 = 20;

/// What an account may do; a team leader is a partner with a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Partner,
    TeamLeader,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::TeamLeader => "team_leader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "partner" => Some(Role::Partner),
            "team_leader" => Some(Role::TeamLeader),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How a session's token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Cookie,
    Bearer,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Cookie => "cookie",
            SessionKind::Bearer => "bearer",
        }
    }
}

/// An email address, one text however it is typed: trimmed, in Unicode
/// NFKC (a fullwidth `ｂ` is `b`, a decomposed `é` the composed one),
/// lower-cased, without the trailing dot of a fully qualified domain.
/// Refused, each with a message that says why: invisible characters (a
/// zero-width space, a joiner, a bidi control) and a name or domain label
/// that mixes scripts as no real address does (a Cyrillic `е` among Latin
/// letters; Latin beside Chinese, Japanese or Korean is allowed, UTS #39's
/// "highly restrictive" level). So a look-alike of an address either is
/// that address or is refused: it never makes a second account. Only the
/// shape is checked; whether it reaches anybody is the admin's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

const EMAIL_SHAPE: &str = "email must look like name@example.com";

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let s = s.trim();
        if let Some(c) = s.chars().find(|c| invisible(*c)) {
            return Err(format!(
                "email must not contain invisible or control characters (it has U+{:04X})",
                u32::from(c)
            ));
        }
        // Lower-casing sits between two NFKC passes because it can undo a
        // normal form (`İ` lower-cases to `i` and a combining dot).
        let folded: String = s
            .nfkc()
            .flat_map(char::to_lowercase)
            // Where case folding differs from lower-casing in a way that
            // makes two spellings: a word-final sigma.
            .map(|c| if c == 'ς' { 'σ' } else { c })
            .nfkc()
            .collect();
        let Some((local, domain)) = folded.split_once('@') else {
            return Err(EMAIL_SHAPE.to_owned());
        };
        // IDNA reads an ideographic full stop as the dot between labels.
        let domain = domain.replace('\u{3002}', ".");
        // `example.com.` is the fully qualified spelling of `example.com`.
        let domain = domain.strip_suffix('.').unwrap_or(&domain);
        let valid = !local.is_empty()
            && local.len() <= 64
            && domain.len() <= 253
            && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            && !domain.contains('@')
            && !folded.chars().any(|c| c.is_whitespace() || invisible(c));
        if !valid {
            return Err(EMAIL_SHAPE.to_owned());
        }
        for part in std::iter::once(local).chain(domain.split('.')) {
            if let Some(scripts) = mixed_scripts(part) {
                return Err(format!(
                    "email must not mix scripts within its name or a part of its domain: \
                     \"{part}\" has {scripts} letters"
                ));
            }
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties):
/// characters that show nothing, such as U+200B ZERO WIDTH SPACE, the
/// joiners, bidi controls, variation selectors and Hangul fillers.
/// (unicode-security has this table but does not export it.)
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

/// A character no reader sees: a control character or a default-ignorable
/// one.
fn invisible(c: char) -> bool {
    c.is_control()
        || DEFAULT_IGNORABLE
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&c))
}

/// The scripts of `part` when they mix as no real name does, for the
/// message; `None` for one script (digits and punctuation go with any), and
/// for Latin beside the scripts of Chinese, Japanese or Korean.
fn mixed_scripts(part: &str) -> Option<String> {
    let latin = AugmentedScriptSet::for_char('a');
    let mut all = AugmentedScriptSet::default();
    let mut besides_latin = AugmentedScriptSet::default();
    for c in part.chars() {
        let set = AugmentedScriptSet::for_char(c);
        all.intersect_with(set);
        let mut shared_with_latin = set;
        shared_with_latin.intersect_with(latin);
        if shared_with_latin.is_empty() {
            besides_latin.intersect_with(set);
        }
    }
    if !all.is_empty() || besides_latin.hanb || besides_latin.jpan || besides_latin.kore {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    for set in part.chars().map(AugmentedScriptSet::for_char) {
        let name = set.base.to_string();
        if !set.is_all() && !names.contains(&name) {
            names.push(name);
        }
    }
    Some(names.join(" and "))
}

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

/// The server's one queue for the hashing cores.
static HASHING: LazyLock<Arc<Hashing>> = LazyLock::new(|| {
    let permits = hashing_permits();
    Arc::new(Hashing::new(permits, permits * WAITING_PER_PERMIT))
});

/// Whose password hash it is, which decides its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFor {
    /// A sign-in from a device the account signed in from before, or the
    /// server's own work (loading the fixtures): goes before
    /// [`HashFor::Anyone`] and is never turned away, however long the
    /// queue. The limiter bounds how many wait: a known device's attempts
    /// count as failures until they succeed, so only a few per device are
    /// under way at once, and an account is known on at most
    /// [`KNOWN_DEVICES_PER_ACCOUNT`] devices.
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

/// The hashing queue, for async callers: a [`HashQueue`] whose waiters
/// are woken by the turn they are handed.
#[derive(Debug)]
struct Hashing {
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
    fn new(permits: usize, max_waiting: usize) -> Self {
        Hashing {
            queue: Mutex::new(HashQueue::new(permits, max_waiting)),
        }
    }

    fn enter(self: &Arc<Self>, who: HashFor) -> Result<HashPlace, HashingBusy> {
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

/// A place in the queue for the hashing cores ([`queue_for_hashing`]).
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

/// A place in the server's queue for password hashing, or
/// [`HashingBusy`] when `who` is [`HashFor::Anyone`] and the queue is full.
/// Take it before anything that counts the attempt, so an attempt turned
/// away costs nothing and counts for nothing.
pub fn queue_for_hashing(who: HashFor) -> Result<HashPlace, HashingBusy> {
    HASHING.enter(who)
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

/// A new session token (base64url of 32 random bytes from the OS) and the
/// SHA-256 the server keeps of it.
pub fn new_token() -> anyhow::Result<(String, [u8; 32])> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token).expect("a token we made parses");
    Ok((token, hash))
}

/// The SHA-256 of a token, or `None` when `token` cannot be one of ours
/// (then there is nothing to look up).
pub fn token_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    (bytes.len() == 32).then(|| Sha256::digest(token.as_bytes()).into())
}

/// Settings of sessions, from `Settings`.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub lifetime: chrono::Duration,
    /// Mark the cookie `Secure`: set when the server is reached over TLS
    /// (TLS ends in front of it, so it cannot tell by itself).
    pub secure_cookies: bool,
}

/// Stores a new session for `account_id`; returns the token to hand out.
pub async fn create_session(
    pool: &PgPool,
    account_id: &str,
    kind: SessionKind,
    lifetime: chrono::Duration,
) -> Result<(String, DateTime<Utc>), AppError> {
    let (token, hash) = new_token()?;
    let expires_at = Utc::now() + lifetime;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&hash[..])
    .bind(account_id)
    .bind(kind.as_str())
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok((token, expires_at))
}

pub async fn revoke_session(pool: &PgPool, token_hash: &[u8; 32]) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&token_hash[..])
    .execute(pool)
    .await?;
    Ok(())
}

/// The `Set-Cookie` value that hands a session to the browser.
pub fn session_cookie(token: &str, max_age: chrono::Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        max_age.num_seconds().max(0),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", chrono::Duration::zero(), secure)
}

/// The `Set-Cookie` value that makes the browser a known device: a token
/// of [`new_token`], sent back only to sign-ins (`Path=/api/sessions`).
pub fn device_cookie(token: &str, secure: bool) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/api/sessions; Max-Age={}{}",
        i64::from(KNOWN_DEVICE_DAYS) * 24 * 60 * 60,
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The device cookie a request carries, if it can be one of ours: the
/// token and its SHA-256. Whether the server issued it is for
/// `known_devices` to say.
pub fn presented_device(headers: &HeaderMap) -> Option<(String, [u8; 32])> {
    let token = cookie(headers, DEVICE_COOKIE)?;
    Some((token.to_owned(), token_hash(token)?))
}

/// The session token a request carries: `Authorization: Bearer` first,
/// then the session cookie.
fn presented_token(headers: &HeaderMap) -> Option<(String, SessionKind)> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_owned(), SessionKind::Bearer));
    }
    cookie(headers, SESSION_COOKIE).map(|value| (value.to_owned(), SessionKind::Cookie))
}

/// Whether a state-changing request may be trusted not to come from another
/// site: an `Origin` header, when present, must name the `Host` the request
/// was sent to; without one, the request must carry `X-Requested-With`,
/// which a cross-site form cannot set and a cross-site script cannot send
/// without a CORS preflight that this server never grants. The scheme is
/// part of the origin: behind TLS (`secure`, as `--secure-cookies` says)
/// only `https://` is ours, and a plain-HTTP page on the same host is
/// another site.
pub fn same_site_request(headers: &HeaderMap, secure: bool) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let scheme = if secure { "https://" } else { "http://" };
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin.strip_prefix(scheme);
            matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
        None => headers.contains_key("x-requested-with"),
    }
}

/// The session a request is made under.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: [u8; 32],
    pub kind: SessionKind,
    pub expires_at: DateTime<Utc>,
}

/// An approved account with a live session. Rejects with 401 otherwise, and
/// with 403 a cookie-authenticated state-changing request from another site.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub account_id: String,
    pub role: Role,
    pub partner_id: Option<PartnerId>,
    pub session: Session,
}

impl Authenticated {
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden("only an admin may do this".to_owned()))
        }
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    account_id: String,
    role: String,
    partner_id: Option<String>,
    expires_at: DateTime<Utc>,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (token, kind) = presented_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let token_hash = token_hash(&token).ok_or(AppError::Unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let secure = state.accounts.sessions.secure_cookies;
        if kind == SessionKind::Cookie && !safe && !same_site_request(&parts.headers, secure) {
            return Err(AppError::Forbidden(
                "cross-site request refused: send it from the app's own origin".to_owned(),
            ));
        }
        let row = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT s.account_id, a.role, a.partner_id, s.expires_at
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND {VALID_SESSION}"
        ))
        .bind(&token_hash[..])
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AppError::Unauthorized)?;
        let role = Role::parse(&row.role)
            .with_context(|| format!("account {} has role {:?}", row.account_id, row.role))?;
        let partner_id = row
            .partner_id
            .as_deref()
            .map(PartnerId::parse)
            .transpose()
            .context("partner id in accounts")?;
        Ok(Authenticated {
            account_id: row.account_id,
            role,
            partner_id,
            session: Session {
                token_hash,
                kind,
                expires_at: row.expires_at,
            },
        })
    }
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
struct Tally {
    failures: f64,
    last: Instant,
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
    fn forgotten_in(&self, tally: &Tally, now: Instant) -> Duration {
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
enum LimitKey {
    /// Emails by their SHA-256, whether or not an account has them (so the
    /// limiter's answers do not tell which emails exist, and its memory
    /// holds no addresses and stays small).
    Pair([u8; 32], IpAddr),
    Address(IpAddr),
    Email([u8; 32]),
    /// SHA-256 of the device's hash and the email.
    Device([u8; 32]),
}

/// The network an address stands for: an IPv6 client usually holds a
/// whole /64, so it counts as one.
fn network(address: IpAddr) -> IpAddr {
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
/// email. In memory, per process: a restart forgets it and several server
/// processes would each allow the limit, which is acceptable for one
/// server; move it to Postgres when there are more. Bounded in memory, and
/// failing closed when full ([`SignInLimits::max_keys`]). Sans-IO: the time
/// is an argument.
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

    fn slowdown(&self, key: &LimitKey) -> Slowdown {
        match key {
            LimitKey::Pair(..) => self.limits.per_pair,
            LimitKey::Address(_) => self.limits.per_address,
            LimitKey::Email(_) => self.limits.per_email,
            LimitKey::Device(_) => self.limits.per_device,
        }
    }

    fn keys(attempt: &Attempt<'_>) -> Vec<LimitKey> {
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

/// A token bucket: `burst` at once, then one every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
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
/// In memory like [`SignInLimiter`], sans-IO. The map of addresses stays
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_hashing_keeps_a_core_free() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                let place = queue_for_hashing(HashFor::Trusted).unwrap();
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
        let first = hashing.enter(HashFor::Anyone).unwrap();
        let waiting = hashing.enter(HashFor::Anyone).unwrap();
        assert!(hashing.enter(HashFor::Anyone).is_err());
        drop(waiting);
        let next = hashing.enter(HashFor::Anyone).unwrap();
        let next_runs = tokio::spawn(next.run(|| "ran"));
        drop(first);
        assert_eq!(next_runs.await.unwrap().unwrap(), "ran");
        assert_eq!(running(&hashing), 0);

        let first = hashing.enter(HashFor::Anyone).unwrap();
        let never_polled = hashing.enter(HashFor::Anyone).unwrap();
        // Its turn comes while nobody waits for it any more ..
        drop(first);
        assert_eq!(running(&hashing), 1);
        // .. and goes back when it is dropped.
        drop(never_polled);
        assert_eq!(running(&hashing), 0);
        assert_eq!(
            hashing
                .enter(HashFor::Anyone)
                .unwrap()
                .run(|| 7)
                .await
                .unwrap(),
            7
        );
    }

    #[test]
    fn look_alikes_of_an_email_are_that_email() {
        for (typed, parsed) in [
            ("Ben@Okafor.example", "ben@okafor.example"),
            ("  ben@okafor.example\t", "ben@okafor.example"),
            // Fullwidth letters, at sign and full stop.
            ("ｂｅｎ＠ｏｋａｆｏｒ．ｅｘａｍｐｌｅ", "ben@okafor.example"),
            ("ＢＥＮ@okafor.example", "ben@okafor.example"),
            // The fully qualified domain.
            ("ben@okafor.example.", "ben@okafor.example"),
            ("ben@okafor。example", "ben@okafor.example"),
            // A decomposed accent, and the composed one.
            ("rene\u{301}@x.example", "ren\u{e9}@x.example"),
            ("REN\u{c9}@x.example", "ren\u{e9}@x.example"),
            // A ligature.
            ("\u{fb01}n@x.example", "fin@x.example"),
            // One script per part, whichever it is; a final sigma folds.
            ("ΟΔΥΣΣΕΥΣ@ithaca.example", "οδυσσευσ@ithaca.example"),
            ("οδυσσευς@ithaca.example", "οδυσσευσ@ithaca.example"),
            ("ИВАН@пример.рф", "иван@пример.рф"),
            // Latin beside Japanese, as real addresses have.
            ("tanaka太郎@example.jp", "tanaka太郎@example.jp"),
            (
                "first.last+tag@sub.example.com",
                "first.last+tag@sub.example.com",
            ),
        ] {
            assert_eq!(
                Email::parse(typed).as_ref().map(Email::as_str),
                Ok(parsed),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn invisible_and_mixed_script_emails_are_refused_with_a_reason() {
        for (typed, message) in [
            (
                "b\u{435}n@okafor.example",
                "email must not mix scripts within its name or a part of its domain: \
                 \"b\u{435}n\" has Latin and Cyrillic letters",
            ),
            (
                "ben@\u{43e}kafor.example",
                "email must not mix scripts within its name or a part of its domain: \
                 \"\u{43e}kafor\" has Cyrillic and Latin letters",
            ),
            (
                "ben\u{200b}@okafor.example",
                "email must not contain invisible or control characters (it has U+200B)",
            ),
            (
                "ben@okafor.example\u{feff}",
                "email must not contain invisible or control characters (it has U+FEFF)",
            ),
            (
                "\u{202e}ben@okafor.example",
                "email must not contain invisible or control characters (it has U+202E)",
            ),
            (
                "ben\u{0}@okafor.example",
                "email must not contain invisible or control characters (it has U+0000)",
            ),
            ("ben@okafor.example..", EMAIL_SHAPE),
            ("ben@.example", EMAIL_SHAPE),
            ("ben@@okafor.example", EMAIL_SHAPE),
            ("b en@okafor.example", EMAIL_SHAPE),
            ("@okafor.example", EMAIL_SHAPE),
            ("no-at-sign", EMAIL_SHAPE),
        ] {
            assert_eq!(Email::parse(typed), Err(message.to_owned()), "{typed:?}");
        }
    }

    /// The fullwidth form of printable ASCII.
    fn fullwidth(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(u32::from(c) + 0xfee0).unwrap(),
                other => other,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn an_address_parses_the_same_however_it_is_typed(
            local in "[a-z0-9][a-z0-9._+-]{0,15}",
            domain in "[a-z0-9]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        ) {
            let plain = format!("{local}@{domain}");
            let parsed = Email::parse(&plain).unwrap();
            proptest::prop_assert_eq!(parsed.as_str(), plain.as_str());
            for typed in [
                plain.to_uppercase(),
                fullwidth(&plain),
                format!(" {plain}. "),
                fullwidth(&plain.to_uppercase()),
            ] {
                let again = Email::parse(&typed);
                proptest::prop_assert_eq!(again.as_ref(), Ok(&parsed), "{:?}", typed);
            }
        }

        #[test]
        fn an_invisible_character_anywhere_is_refused(
            local in "[a-z]{1,10}",
            at in 0usize..10,
            hidden in proptest::sample::select(vec!['\u{ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{202e}', '\u{2066}', '\u{fe0f}', '\u{e0041}', '\u{115f}', '\u{7}']),
        ) {
            let mut typed: Vec<char> = format!("{local}@okafor.example").chars().collect();
            typed.insert(at.min(typed.len() - 1), hidden);
            let typed: String = typed.into_iter().collect();
            proptest::prop_assert!(Email::parse(&typed).unwrap_err().contains("invisible"));
        }

        #[test]
        fn parsing_is_idempotent(typed in "\\PC{0,40}") {
            if let Ok(parsed) = Email::parse(&typed) {
                proptest::prop_assert_eq!(Email::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }
    }

    #[test]
    fn tokens_hash_only_when_they_are_ours() {
        let (token, hash) = new_token().unwrap();
        assert_eq!(token.len(), 43);
        assert_eq!(token_hash(&token), Some(hash));
        assert_eq!(token_hash("not-a-token"), None);
        assert_ne!(new_token().unwrap().0, token);
    }

    #[test]
    fn only_same_origin_or_custom_header_passes() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!same_site_request(&h, false));
        h.insert("x-requested-with", "portal".parse().unwrap());
        assert!(same_site_request(&h, false));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_site_request(&h, false));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_site_request(&h, false));
        // The same host over another scheme is another site.
        assert!(!same_site_request(&h, true));
        h.insert(header::ORIGIN, "https://127.0.0.1:8080".parse().unwrap());
        assert!(same_site_request(&h, true));
        assert!(!same_site_request(&h, false));
    }
}
