//! What every JSON API reads requests with: [`ApiJson`] (bounded, no NUL
//! anywhere) and the checks of the texts a request stores
//! ([`plain_text`], [`bounded_text`], [`decision_reason`]).

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{FromRequest, OptionalFromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

use crate::http::error::AppError;

/// `Json` whose rejections (not JSON, wrong shape, too large) are
/// [`AppError`]s with axum's explanation as the message. A NUL character
/// in any string of the body is refused here, once for every JSON API: no
/// text Postgres stores may hold one, and none has a use for it.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let headers = req.headers().clone();
        let bytes = <Bytes as FromRequest<S>>::from_request(req, state)
            .await
            .map_err(body_refused)?;
        let mut body = Request::new(Body::from(bytes.clone()));
        *body.headers_mut() = headers;
        let value = match <Json<T> as FromRequest<S>>::from_request(body, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(AppError::BadRequest(rejection.body_text())),
        };
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::BadRequest(format!("the body is not JSON: {e}")))?;
        match nul_in(&json, "") {
            Some(field) => Err(AppError::BadRequest(format!(
                "{field} must not contain the NUL character (U+0000)"
            ))),
            None => Ok(ApiJson(value)),
        }
    }
}

/// A body that may be left out: `Option<ApiJson<T>>` is `None` for an
/// empty body (a decision with nothing to add), and reads any other as
/// [`ApiJson`] does.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, AppError> {
        let headers = req.headers().clone();
        let bytes = <Bytes as FromRequest<S>>::from_request(req, state)
            .await
            .map_err(body_refused)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let mut body = Request::new(Body::from(bytes));
        *body.headers_mut() = headers;
        <ApiJson<T> as FromRequest<S>>::from_request(body, state)
            .await
            .map(Some)
    }
}

/// A body that could not be read (too large, cut off) as the API says it.
fn body_refused(rejection: axum::extract::rejection::BytesRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::BadRequest(rejection.body_text()),
    }
}

/// Where in `json` a string or a key holds a NUL: `name`, `members[2]`.
fn nul_in(json: &serde_json::Value, at: &str) -> Option<String> {
    let here = || {
        if at.is_empty() {
            "the body".to_owned()
        } else {
            at.to_owned()
        }
    };
    match json {
        serde_json::Value::String(s) => s.contains('\0').then(here),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, value)| {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            if key.contains('\0') {
                Some(format!("a field name in {}", here()))
            } else {
                nul_in(value, &path)
            }
        }),
        _ => None,
    }
}

/// Whether a text is one line (a name, a reference) or may be several (a
/// reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Refuses a text nobody types: control characters (NUL, escape, ...),
/// and in a one-line text also line breaks and tabs. Every text a request
/// stores passes here (through [`bounded_text`] or directly).
pub fn plain_text(text: &str, what: &str, field: &str, lines: Lines) -> Result<(), AppError> {
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    match text.chars().find(|c| c.is_control() && !allowed(*c)) {
        Some(c) => Err(AppError::BadRequest(format!(
            "the {field} of {what} must not contain control characters (it has U+{:04X})",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// `text` trimmed, if it is 1 to `max` characters long and one line of
/// [`plain_text`]; otherwise a 400 saying "`what` needs a `field` of 1 to
/// `max` characters" or what control character it has.
pub fn bounded_text(text: &str, what: &str, field: &str, max: usize) -> Result<String, AppError> {
    bounded(text, what, field, max, Lines::One)
}

fn bounded(
    text: &str,
    what: &str,
    field: &str,
    max: usize,
    lines: Lines,
) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "{what} needs a {field} of 1 to {max} characters"
        )));
    }
    plain_text(text, what, field, lines)?;
    Ok(text.to_owned())
}

/// The reason of a decision someone will read: 1 to 1000 characters,
/// trimmed, on as many lines as it takes.
pub fn decision_reason(text: &str, what: &str) -> Result<String, AppError> {
    bounded(text, what, "reason", 1000, Lines::Many)
}

/// The body of a decision that needs a reason (a rejection, a clawback, a
/// refund).
pub use wire::Reason;
