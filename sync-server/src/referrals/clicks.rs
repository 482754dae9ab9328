//! `GET /r/{code}`: a click on a partner's link, recorded at the redirect
//! (no script of the storefront's is needed to count it), then the
//! storefront.
//!
//! The browser gets a first-party cookie set by the server, HttpOnly and
//! SameSite=Lax, for the programme's whole window (Safari caps cookies a
//! script sets at 7 days, not those a server sets). It carries the id of
//! this browser's first click, signed (HMAC-SHA256 under a key kept in
//! `signing_keys`), so a buyer cannot name another visitor's clicks, and
//! every click this browser makes afterwards is recorded under the same
//! visitor: the checkout reads them all and the model picks among them.
//!
//! A code no link has is still the storefront, with nothing recorded: a
//! buyer is never shown an error for a mistyped link.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use ring::hmac;
use sqlx::PgPool;

use super::ReferralsState;
use crate::http::error::AppError;

/// The cookie's name.
pub const COOKIE: &str = "ref";

const KEY_ID: &str = "referral-clicks";

/// Signs and checks visitor ids.
pub struct ClickKey(hmac::Key);

impl ClickKey {
    /// The key every node shares, made by the first to start.
    pub async fn load(pool: &PgPool) -> anyhow::Result<ClickKey> {
        let seed: [u8; 32] = rand::random();
        sqlx::query("INSERT INTO signing_keys (id, seed) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(KEY_ID)
            .bind(&seed[..])
            .execute(pool)
            .await?;
        let kept: Vec<u8> = sqlx::query_scalar("SELECT seed FROM signing_keys WHERE id = $1")
            .bind(KEY_ID)
            .fetch_one(pool)
            .await?;
        Ok(ClickKey(hmac::Key::new(hmac::HMAC_SHA256, &kept)))
    }

    fn tag(&self, visitor: i64) -> String {
        let tag = hmac::sign(&self.0, format!("visitor:{visitor}").as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The cookie's value for `visitor`.
    pub fn value(&self, visitor: i64) -> String {
        format!("{visitor}.{}", self.tag(visitor))
    }

    /// The visitor a cookie's value names, if it was signed here.
    pub fn verify(&self, value: &str) -> Option<i64> {
        let (id, tag) = value.split_once('.')?;
        if id.len() > 19 || tag.len() != 64 {
            return None;
        }
        let visitor: i64 = id.parse().ok().filter(|v| *v > 0)?;
        let given = hex(tag)?;
        hmac::verify(&self.0, format!("visitor:{visitor}").as_bytes(), &given)
            .ok()
            .map(|()| visitor)
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The sessions' cookie reader, which the shop's pages read their
/// cookies with too.
pub use crate::http::session::cookie;

/// `GET /r/{code}`.
pub async fn follow(
    State(state): State<ReferralsState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let to_shop = |cookie: Option<String>| {
        let mut response = (StatusCode::FOUND, [(header::LOCATION, "/shop")]).into_response();
        // A redirect that differs per browser is nobody's to cache.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    };
    if !model::valid_referral_code(&code) {
        return Ok(to_shop(None));
    }
    let partner: Option<String> =
        sqlx::query_scalar("SELECT partner_id FROM referral_links WHERE code = $1")
            .bind(&code)
            .fetch_optional(&state.pool)
            .await?;
    let Some(partner) = partner else {
        return Ok(to_shop(None));
    };
    let known = cookie(&headers, COOKIE).and_then(|v| state.key.verify(v));
    let referrer: Option<String> = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .map(|r| r.chars().take(200).collect());
    // A visitor whose first click is gone (never, unless the database was
    // replaced) starts again.
    let visitor: i64 = sqlx::query_scalar(
        "WITH known AS (SELECT visitor FROM referral_clicks WHERE id = $4),
              next AS (SELECT nextval(pg_get_serial_sequence('referral_clicks', 'id')) AS id)
         INSERT INTO referral_clicks (id, code, partner_id, visitor, clicked_at, referrer)
         SELECT next.id, $1, $2, coalesce((SELECT visitor FROM known), next.id), $3, $5 FROM next
         RETURNING visitor",
    )
    .bind(&code)
    .bind(&partner)
    .bind(Utc::now())
    .bind(known.unwrap_or(0))
    .bind(referrer)
    .fetch_one(&state.pool)
    .await?;
    let cookie = format!(
        "{COOKIE}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{}",
        state.key.value(visitor),
        state.attribution.window.num_seconds().max(0),
        if state.secure_cookies { "; Secure" } else { "" },
    );
    Ok(to_shop(Some(cookie)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_is_read_only_from_a_value_signed_here() {
        let key = ClickKey(hmac::Key::new(hmac::HMAC_SHA256, &[7; 32]));
        let other = ClickKey(hmac::Key::new(hmac::HMAC_SHA256, &[8; 32]));
        let value = key.value(42);
        assert_eq!(key.verify(&value), Some(42));
        assert_eq!(other.verify(&value), None);
        let (_, tag) = value.split_once('.').unwrap();
        for forged in [
            format!("43.{tag}"),
            format!("42.{}", &tag[..63]),
            format!("42.{tag}0"),
            "42".to_owned(),
            format!("-1.{tag}"),
            format!("0.{tag}"),
            format!("99999999999999999999.{tag}"),
            format!("42.{}", "zz".repeat(32)),
            String::new(),
        ] {
            assert_eq!(key.verify(&forged), None, "{forged}");
        }
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; ref=2.x; b=3"),
        );
        assert_eq!(cookie(&headers, "ref"), Some("2.x"));
        assert_eq!(cookie(&headers, "re"), None);
    }
}
