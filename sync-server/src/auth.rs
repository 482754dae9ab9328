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
    sync::Mutex,
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

use crate::{error::AppError, http::AppState};

/// What makes a session valid, over `sessions s JOIN accounts a`: not
/// revoked, not expired, and its account still approved. Signing in a
/// request and the sweep of live sockets (`live_sessions.rs`) read it here.
pub const VALID_SESSION: &str =
    "s.revoked_at IS NULL AND s.expires_at > now() AND a.status = 'approved'";
/// The cookie the PWA's session travels in.
pub const SESSION_COOKIE: &str = "portal_session";

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

/// An email address, trimmed and lower-cased. Only the shape is checked;
/// whether it reaches anybody is the admin's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if valid {
            Ok(Email(s))
        } else {
            Err("email must look like name@example.com".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// An argon2id PHC string of `password`. Slow on purpose: call it off the
/// async threads ([`hash_password_blocking`]).
pub fn hash_password(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub async fn hash_password_blocking(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("password hashing task")?
}

/// Whether `password` matches `phc`; argon2 compares in constant time. With
/// no account to check against, pass `None`: a dummy hash is verified so an
/// unknown email costs as long as a wrong password.
pub async fn verify_password(phc: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
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

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
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
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_owned(), SessionKind::Cookie))
}

/// Whether a state-changing request may be trusted not to come from another
/// site: an `Origin` header, when present, must name the `Host` the request
/// was sent to; without one, the request must carry `X-Requested-With`,
/// which a cross-site form cannot set and a cross-site script cannot send
/// without a CORS preflight that this server never grants.
pub fn same_site_request(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
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
        if kind == SessionKind::Cookie && !safe && !same_site_request(&parts.headers) {
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

/// How many failed sign-ins are allowed, and over how long.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    pub window: Duration,
    pub per_account: usize,
    pub per_address: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_address: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LimitKey {
    /// The email as typed (lower-cased), whether or not an account has it,
    /// so the limiter's answers do not tell which emails exist.
    Account(String),
    Address(IpAddr),
}

/// Failed sign-ins per account and per client address over a sliding
/// window. In memory, per process: a restart forgets it and several server
/// processes would each allow the limit, which is acceptable for one server;
/// move it to Postgres when there are more. Sans-IO: the time is an argument.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    limits: SignInLimits,
    recent: Mutex<HashMap<LimitKey, VecDeque<Instant>>>,
}

/// Past this many keys, a sweep drops those with no attempt in the window,
/// so the map cannot grow without bound.
const SWEEP_ABOVE: usize = 100_000;

impl SignInLimiter {
    pub fn new(limits: SignInLimits) -> Self {
        SignInLimiter {
            limits,
            recent: Mutex::default(),
        }
    }

    /// Counts an attempt as failed before it is checked, so parallel
    /// attempts cannot all slip under the limit; [`Self::succeeded`] takes
    /// it back. `Err` holds how long to wait.
    pub fn begin(&self, email: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let window = self.limits.window;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() > SWEEP_ABOVE {
            recent.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let keys = [
            (LimitKey::Account(email.to_owned()), self.limits.per_account),
            (LimitKey::Address(address), self.limits.per_address),
        ];
        let mut wait = Duration::ZERO;
        for (key, limit) in &keys {
            let times = recent.entry(key.clone()).or_default();
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                times.pop_front();
            }
            if times.len() >= *limit {
                let oldest = times[times.len() - limit];
                wait = wait.max(window - now.duration_since(oldest));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for (key, _) in keys {
            recent.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    /// The attempt begun for `email` from `address` succeeded: the account's
    /// failures are forgiven, and this attempt no longer counts against the
    /// address.
    pub fn succeeded(&self, email: &str, address: IpAddr) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.remove(&LimitKey::Account(email.to_owned()));
        if let Some(times) = recent.get_mut(&LimitKey::Address(address)) {
            times.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> SignInLimiter {
        SignInLimiter::new(SignInLimits {
            window: Duration::from_secs(60),
            per_account: 3,
            per_address: 5,
        })
    }

    #[test]
    fn an_account_is_locked_after_its_limit_until_the_window_passes() {
        let l = limiter();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.begin("a@x", ip, t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = l
            .begin("a@x", ip, t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.begin("a@x", ip, t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_success_forgives_the_account() {
        let l = limiter();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(l.begin(&format!("u{i}@x"), ip, t0).is_ok());
        }
        assert!(l.begin("u9@x", ip, t0).is_err());
        assert!(l.begin("u9@x", other, t0).is_ok());

        for _ in 0..2 {
            assert!(l.begin("b@x", other, t0).is_ok());
        }
        assert!(l.begin("b@x", other, t0).is_ok());
        l.succeeded("b@x", other);
        assert!(l.begin("b@x", other, t0).is_ok());
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
        assert!(!same_site_request(&h));
        h.insert("x-requested-with", "portal".parse().unwrap());
        assert!(same_site_request(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_site_request(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_site_request(&h));
    }
}
