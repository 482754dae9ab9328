//! Who is asking: session tokens, their cookies, and the [`Authenticated`]
//! extractor every API and `/sync` read the caller with.
//!
//! A session is a random 32-byte token handed to the client
//! once, as a cookie for the PWA or as a bearer token for native clients;
//! the server keeps only its SHA-256. Looking a session up by that hash is
//! the comparison of secrets, and it needs no constant-time compare: an
//! attacker timing the index lookup learns at most a prefix of a SHA-256,
//! which does not help find a token that hashes to it. Tokens are never
//! logged and never put in URLs.

use anyhow::Context;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{HeaderMap, Method, header, request::Parts},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use model::PartnerId;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{http::error::AppError, platform::policy::Role};

/// What makes a session valid, over `sessions s JOIN accounts a`: not
/// revoked, not expired, and its account still approved. Signing in a
/// request and the sweep of live sockets (`live_sessions.rs`) read it here.
pub const VALID_SESSION: &str =
    "s.revoked_at IS NULL AND s.expires_at > now() AND a.status = 'approved'";
/// The cookie the PWA's session travels in.
pub const SESSION_COOKIE: &str = "portal_session";
/// The cookie that makes a browser a known device of the accounts it
/// signed in (see `accounts::limits::SignInLimiter`): one token per browser, whichever
/// accounts it signs in.
pub const DEVICE_COOKIE: &str = "portal_device";
/// Days a device stays known without signing in again.
pub const KNOWN_DEVICE_DAYS: i32 = 180;
/// Devices an account stays known on at most: the most recently used.
pub const KNOWN_DEVICES_PER_ACCOUNT: i64 = 20;

/// How a session's token travels (`sessions.kind`).
pub use wire::SessionKind;

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
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
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

/// Any router whose state gives the pool and the session settings reads
/// the caller with it.
impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let (token, kind) = presented_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let token_hash = token_hash(&token).ok_or(AppError::Unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let secure = SessionSettings::from_ref(state).secure_cookies;
        let pool = PgPool::from_ref(state);
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
        .fetch_optional(&pool)
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

#[cfg(test)]
mod tests {
    use super::*;

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
