//! The server's JSON API, as the browser apps use it: sign in, who am I,
//! sign out; the partner's payout method; the back-office (approvals,
//! partners, payouts, orders, reports), which works online only.
//!
//! The apps sign in with a cookie session: the token lives in the HttpOnly
//! `portal_session` cookie, which scripts never see and the browser sends on
//! every same-origin request, the `/sync` WebSocket included. So an app
//! keeps no secret; what the partner app caches is the answer of `/api/me`.
//! Every request that changes state carries `X-Requested-With`, which the
//! server asks of cookie-authenticated writes (a cross-site form cannot set
//! it).
//!
//! The bodies are the server's own types, from the `wire` crate, and are
//! re-exported here (`api::Me`, `api::DealEntry`, `api::Role`...): what the
//! server writes is what the apps read.
//!
//! What an answer means for the partner is decided by plain functions of
//! status and body (`sign_in_outcome`, `me_outcome`, `outcome`), so it is
//! tested without a browser.

use std::{fmt, time::Duration};

use futures::future::{Either, select};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};
pub use wire::*;

/// A request the server has not answered by then is given up: the partner
/// is told, rather than left with a spinner.
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug, PartialEq)]
pub enum SignInError {
    /// Every wrong email or password gets the same answer from the server.
    WrongCredentials,
    TooManyAttempts {
        retry_after: Option<Duration>,
    },
    /// 503 with `Retry-After`: the server is checking too many passwords
    /// at once (a crowd of sign-ins); nothing is wrong with this one.
    Busy,
    /// The server refused for a reason it explains (an application not yet
    /// approved, for instance).
    Refused(String),
    /// No answer: no network, or the server is down.
    Unreachable {
        offline: bool,
    },
    Server(u16),
    /// Signed in, but the answer was not what the app understands.
    Unexpected(String),
}

impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignInError::WrongCredentials => f.write_str("Wrong email or password."),
            SignInError::TooManyAttempts {
                retry_after: Some(wait),
            } => write!(f, "Too many attempts. Try again in {}.", human_wait(*wait)),
            SignInError::TooManyAttempts { retry_after: None } => {
                f.write_str("Too many attempts. Wait a little, then try again.")
            }
            SignInError::Busy => {
                f.write_str("The server is busy checking other sign-ins. Try again in a moment.")
            }
            SignInError::Refused(message) => f.write_str(message),
            SignInError::Unreachable { offline: true } => f.write_str(
                "You are offline. Signing in needs a connection; try again once you have one.",
            ),
            SignInError::Unreachable { offline: false } => {
                f.write_str("Cannot reach the server. Check your connection and try again.")
            }
            SignInError::Server(status) => write!(
                f,
                "The server could not sign you in (error {status}). Try again shortly."
            ),
            SignInError::Unexpected(what) => write!(f, "Signing in failed: {what}."),
        }
    }
}

fn human_wait(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    match secs {
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        s if s <= 60 => "1 minute".to_owned(),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

/// Why `/api/me` gave no account.
#[derive(Clone, Debug, PartialEq)]
pub enum MeError {
    /// 401: no session, or it expired or was revoked.
    SignedOut,
    /// No answer (offline, or the server is down).
    Unreachable,
    Other(String),
}

impl fmt::Display for MeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeError::SignedOut => f.write_str("the session has ended"),
            MeError::Unreachable => f.write_str("cannot reach the server"),
            MeError::Other(what) => f.write_str(what),
        }
    }
}

/// The server's answer, as far as the app reads it.
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// The `{"error": "..."}` of the server's error answers.
fn error_message(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
        .filter(|m| !m.trim().is_empty())
}

/// What an answer to `POST /api/sessions` means.
fn sign_in_outcome(status: u16, retry_after: Option<&str>, body: &str) -> Result<(), SignInError> {
    match status {
        200..=299 => Ok(()),
        401 => Err(SignInError::WrongCredentials),
        429 => Err(SignInError::TooManyAttempts {
            retry_after: retry_after
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }),
        400..=499 => Err(match error_message(body) {
            Some(message) => SignInError::Refused(capitalised(&message)),
            None => SignInError::Server(status),
        }),
        503 if retry_after.is_some() => Err(SignInError::Busy),
        _ => Err(SignInError::Server(status)),
    }
}

/// What an answer to `GET /api/me` means.
fn me_outcome(status: u16, body: &str) -> Result<Me, MeError> {
    match status {
        200 => serde_json::from_str(body)
            .map_err(|e| MeError::Other(format!("unexpected answer from /api/me: {e}"))),
        401 => Err(MeError::SignedOut),
        _ => Err(MeError::Other(format!(
            "the server answered {status}{}",
            error_message(body)
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ))),
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let mut s: String = first.to_uppercase().collect();
            s.push_str(chars.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}

/// Whether the browser believes it has a network; only used to word
/// messages, never to decide whether to try.
pub fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// One request; `Err(())` when there was no answer (network error, or none
/// within [`TIMEOUT`]).
async fn send(method: &str, path: &str, json: Option<&str>) -> Result<Reply, ()> {
    let body = json.map(|json| (JsValue::from_str(json), "application/json"));
    send_body(method, path, body.as_ref().map(|(b, t)| (b, *t))).await
}

/// One request with `body` of its content type (a JSON text, a photo's
/// blob), as [`send`].
async fn send_body(method: &str, path: &str, body: Option<(&JsValue, &str)>) -> Result<Reply, ()> {
    let window = web_sys::window().ok_or(())?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((body, _)) = body {
        init.set_body(body);
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| ())?;
    let headers = request.headers();
    let _ = headers.set("Accept", "application/json");
    if let Some((_, content_type)) = body {
        let _ = headers.set("Content-Type", content_type);
    }
    if method != "GET" {
        let _ = headers.set("X-Requested-With", "portal");
    }
    let answer = async {
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| ())?
            .dyn_into()
            .map_err(|_| ())?;
        let body = match response.text() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        Ok(Reply {
            status: response.status(),
            retry_after: response.headers().get("Retry-After").ok().flatten(),
            body,
        })
    };
    let timeout = gloo_timers::future::sleep(TIMEOUT);
    match select(Box::pin(answer), Box::pin(timeout)).await {
        Either::Left((reply, _)) => reply,
        Either::Right(_) => Err(()),
    }
}

/// `POST /api/sessions` with a cookie session; on success the browser holds
/// the session cookie.
pub async fn sign_in(email: &str, password: &str) -> Result<(), SignInError> {
    let body = serde_json::to_string(&SignIn {
        email: email.trim().to_owned(),
        password: password.to_owned(),
        kind: SessionKind::Cookie,
    })
    .map_err(|e| SignInError::Unexpected(e.to_string()))?;
    let reply = send("POST", "/api/sessions", Some(&body))
        .await
        .map_err(|()| SignInError::Unreachable {
            offline: !browser_online(),
        })?;
    sign_in_outcome(reply.status, reply.retry_after.as_deref(), &reply.body)
}

/// `GET /api/me`.
pub async fn me() -> Result<Me, MeError> {
    let reply = send("GET", "/api/me", None)
        .await
        .map_err(|()| MeError::Unreachable)?;
    me_outcome(reply.status, &reply.body)
}

/// `DELETE /api/sessions/current`: the server revokes the session and
/// clears the cookie. A session that had already ended is signed out too.
pub async fn sign_out() -> Result<(), MeError> {
    let reply = send("DELETE", "/api/sessions/current", None)
        .await
        .map_err(|()| MeError::Unreachable)?;
    match reply.status {
        200..=299 | 401 => Ok(()),
        status => Err(MeError::Other(format!(
            "the server answered {status}{}",
            error_message(&reply.body)
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ))),
    }
}

/// Why a request of the payout method or the back-office gave no result.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No answer: no network, or the server is down.
    Unreachable {
        offline: bool,
    },
    /// 401: the session is over.
    SignedOut,
    /// The server refused and said why (bad input, a deal already decided,
    /// a payout run already done).
    Refused(String),
    /// 409 with what the thing is now: it changed since it was read (a
    /// deal the partner edited while the admin looked). Read it again.
    Changed(String),
    Server(u16),
    Unexpected(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unreachable { offline: true } => f.write_str(
                "You are offline. This needs a connection; try again once you have one.",
            ),
            ApiError::Unreachable { offline: false } => {
                f.write_str("Cannot reach the server. Check your connection and try again.")
            }
            ApiError::SignedOut => f.write_str("Your session has ended. Sign in again."),
            ApiError::Refused(message) | ApiError::Changed(message) => f.write_str(message),
            ApiError::Server(status) => {
                write!(f, "The server failed (error {status}). Try again shortly.")
            }
            ApiError::Unexpected(what) => write!(f, "Unexpected answer from the server: {what}."),
        }
    }
}

/// What an answer to any other request means: its body read as `T` (a
/// `wire` type, or a JSON value), or what went wrong.
fn outcome<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ApiError> {
    match status {
        // 204, or any answer with nothing to say, reads as JSON's null.
        200..=299 => serde_json::from_str(if body.is_empty() { "null" } else { body })
            .map_err(|e| ApiError::Unexpected(e.to_string())),
        401 => Err(ApiError::SignedOut),
        409 if serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("current").is_some()) =>
        {
            Err(ApiError::Changed(capitalised(
                &error_message(body).unwrap_or_default(),
            )))
        }
        400..=499 => Err(match error_message(body) {
            Some(message) => ApiError::Refused(capitalised(&message)),
            None => ApiError::Server(status),
        }),
        _ => Err(ApiError::Server(status)),
    }
}

/// `method path` with `body` as JSON (none for a GET).
pub async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<serde_json::Value, ApiError> {
    let reply = send(method, path, body.as_deref())
        .await
        .map_err(|()| ApiError::Unreachable {
            offline: !browser_online(),
        })?;
    outcome(reply.status, &reply.body)
}

/// `PUT path` with `body` (a blob, say) of `content_type`.
pub async fn put_bytes(
    path: &str,
    body: &JsValue,
    content_type: &str,
) -> Result<serde_json::Value, ApiError> {
    let reply = send_body("PUT", path, Some((body, content_type)))
        .await
        .map_err(|()| ApiError::Unreachable {
            offline: !browser_online(),
        })?;
    outcome(reply.status, &reply.body)
}

/// `GET path`, its answer read as `T` (a `wire` type); one that is not
/// reads as [`ApiError::Unexpected`].
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let reply = send("GET", path, None)
        .await
        .map_err(|()| ApiError::Unreachable {
            offline: !browser_online(),
        })?;
    outcome(reply.status, &reply.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_answers_become_what_the_partner_reads() {
        assert_eq!(sign_in_outcome(200, None, "{}"), Ok(()));
        let wrong = sign_in_outcome(401, None, r#"{"error":"wrong credentials"}"#).unwrap_err();
        assert_eq!(wrong.to_string(), "Wrong email or password.");
        let limited = sign_in_outcome(429, Some("42"), "{}").unwrap_err();
        assert_eq!(
            limited.to_string(),
            "Too many attempts. Try again in 42 seconds."
        );
        let limited = sign_in_outcome(429, Some("61"), "{}").unwrap_err();
        assert_eq!(
            limited.to_string(),
            "Too many attempts. Try again in 2 minutes."
        );
        let limited = sign_in_outcome(429, Some("soon"), "{}").unwrap_err();
        assert_eq!(limited, SignInError::TooManyAttempts { retry_after: None });
        let refused = sign_in_outcome(
            403,
            None,
            r#"{"error":"your application is being reviewed; you can sign in once it is approved"}"#,
        )
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Your application is being reviewed; you can sign in once it is approved."
        );
        assert_eq!(
            sign_in_outcome(503, None, r#"{"error":"database unavailable"}"#),
            Err(SignInError::Server(503))
        );
        // The server's hashing queue is full: a crowd, not this sign-in.
        assert_eq!(
            sign_in_outcome(503, Some("1"), r#"{"error":"too many passwords"}"#),
            Err(SignInError::Busy)
        );
        assert_eq!(
            sign_in_outcome(400, None, "not json"),
            Err(SignInError::Server(400))
        );
    }

    #[test]
    fn me_is_read_from_the_servers_answer() {
        let body = r#"{
            "account_id": "a-ana", "email": "ana@souza.example", "name": "Ana Souza",
            "company": "Souza Consulting", "role": "team_leader", "partner_id": "p-ana",
            "team_leader_id": null,
            "team": [{"account_id": "a-ben", "name": "Ben Okafor", "partner_id": "p-ben"}],
            "documents": [
                {"doc_id": "d1", "kind": "pipeline", "partner_id": "p-ana", "partner_name": "Ana Souza", "access": "read_write"},
                {"doc_id": "d2", "kind": "pipeline", "partner_id": "p-ben", "partner_name": "Ben Okafor", "access": "read_only"},
                {"doc_id": "d3", "kind": "training", "partner_id": "p-ana", "partner_name": "Ana Souza", "access": "read_write"},
                {"doc_id": "d4", "kind": "account_view", "partner_id": "p-ana", "partner_name": "Ana Souza", "access": "read_only"}
            ],
            "session": {"kind": "cookie", "expires_at": "2030-01-01T00:00:00Z"}
        }"#;
        let me = me_outcome(200, body).unwrap();
        assert_eq!(me.role, Role::TeamLeader);
        let pipelines: Vec<&str> = me.pipelines().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(pipelines, ["d1", "d2"]);
        assert_eq!(me.home_document().map(|d| d.doc_id.as_str()), Some("d1"));
        assert_eq!(me.document("d2").map(|d| d.access), Some(Access::ReadOnly));
        assert_eq!(me.document("d3"), None);
        assert_eq!(me.account_view().map(|d| d.doc_id.as_str()), Some("d4"));

        assert_eq!(me_outcome(401, "{}"), Err(MeError::SignedOut));
        assert!(matches!(me_outcome(200, "[]"), Err(MeError::Other(_))));
        assert_eq!(
            me_outcome(503, r#"{"error":"the database is unavailable"}"#),
            Err(MeError::Other(
                "the server answered 503: the database is unavailable".to_owned()
            ))
        );
    }

    #[test]
    fn other_answers_become_values_or_what_went_wrong() {
        use serde_json::Value;
        assert_eq!(
            outcome::<Value>(201, r#"{"run_id": 3}"#),
            Ok(serde_json::json!({"run_id": 3}))
        );
        assert_eq!(outcome::<Value>(204, ""), Ok(Value::Null), "nothing to say");
        assert!(
            matches!(outcome::<Vec<u8>>(204, ""), Err(ApiError::Unexpected(_))),
            "an empty answer where something was expected"
        );
        assert_eq!(outcome::<Value>(401, "{}"), Err(ApiError::SignedOut));
        let done = outcome::<Value>(409, r#"{"error":"the payout run for 2025-06 is done"}"#);
        assert_eq!(
            done.unwrap_err().to_string(),
            "The payout run for 2025-06 is done."
        );
        let stale = outcome::<Value>(
            409,
            r#"{"current":{"amount_minor":1},"error":"this deal changed since you reviewed it"}"#,
        );
        assert_eq!(
            stale,
            Err(ApiError::Changed(
                "This deal changed since you reviewed it.".to_owned()
            ))
        );
        assert_eq!(
            outcome::<Value>(502, "bad gateway"),
            Err(ApiError::Server(502))
        );
        assert!(matches!(
            outcome::<Value>(200, "not json"),
            Err(ApiError::Unexpected(_))
        ));
    }

    #[test]
    fn answers_are_read_as_the_server_s_types() {
        let run: Run = outcome(201, r#"{"run_id": 3, "statements": []}"#).unwrap();
        assert_eq!(run.run_id, 3);
        // A body of another shape is no answer the app understands.
        assert!(matches!(
            outcome::<Run>(201, r#"{"run": 3}"#),
            Err(ApiError::Unexpected(_))
        ));
        let terms: Terms = outcome(200, r#"{"elite_custom_bps": 250}"#).unwrap();
        assert_eq!(terms.elite_custom_bps, 250);
    }

    #[test]
    fn an_admin_has_no_pipeline_to_open() {
        let me = me_outcome(
            200,
            r#"{"account_id":"a-admin","email":"admin@portal.example","name":"Portal Admin",
                "company":"","role":"admin","documents":[]}"#,
        )
        .unwrap();
        assert_eq!(me.home_document(), None);
        assert_eq!(me.account_view(), None);
    }
}
