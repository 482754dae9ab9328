//! One error type for HTTP handlers: logs the cause, answers without internals.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use wire::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// Missing, wrong, expired or revoked credentials; one message for all,
    /// so an answer never tells which part was wrong.
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// What the request was about changed since the client saw it: the
    /// answer carries what it is now, so the client can show it and ask
    /// again.
    #[error("{message}")]
    Stale {
        message: String,
        current: serde_json::Value,
    },
    /// A limit on attempts (sign-ins, applications); `message` says which.
    #[error("{message}")]
    TooManyRequests {
        retry_after_secs: u64,
        message: &'static str,
    },
    /// The server is too busy for this request now (the queue for password
    /// hashing is full); `message` says with what.
    #[error("{message}")]
    Busy {
        retry_after_secs: u64,
        message: &'static str,
    },
    #[error("database unavailable")]
    Unavailable,
    #[error("too many open sync connections")]
    TooManySockets,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large".to_owned(),
            ),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "wrong credentials, or the session has ended; sign in again".to_owned(),
            ),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            AppError::Stale { message, current } => {
                let body = wire::Stale {
                    current,
                    error: message.clone(),
                };
                return (StatusCode::CONFLICT, Json(body)).into_response();
            }
            // A limit or a full queue: come back after `Retry-After`.
            AppError::TooManyRequests {
                retry_after_secs,
                message,
            }
            | AppError::Busy {
                retry_after_secs,
                message,
            } => {
                let status = match self {
                    AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::TOO_MANY_REQUESTS,
                };
                let body = Json(ErrorBody {
                    error: (*message).to_owned(),
                });
                return (
                    status,
                    [(header::RETRY_AFTER, retry_after_secs.to_string())],
                    body,
                )
                    .into_response();
            }
            AppError::TooManySockets => (
                StatusCode::TOO_MANY_REQUESTS,
                "this account has too many open sync connections; close one on another device or tab"
                    .to_owned(),
            ),
            AppError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; try again shortly".to_owned(),
            ),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}
