//! The money module's own error: what a ledger operation can refuse, in
//! its own words, turned into an HTTP answer only at the edge (`api.rs`)
//! and into "try again" or "give up" by the workers that call the ledger
//! (the account view writer).

use crate::http::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// No such deal, order or payout run.
    #[error("not found")]
    NotFound,
    /// The operation does not apply to the record as it is (a deal already
    /// decided, an order recorded twice, a month already paid).
    #[error("{0}")]
    Conflict(String),
    /// The record changed since the caller reviewed it: `current` is what
    /// it is now.
    #[error("{message}")]
    Stale {
        message: String,
        current: wire::DealNow,
    },
    /// The request itself is wrong (a month not yet closed, a text with
    /// control characters), whatever the records hold.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A stored value that no longer reads (a currency, a rate): a defect,
    /// not the caller's.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl LedgerError {
    /// Whether the same call may succeed later: a database error (away,
    /// restarting, busy, a statement timeout), unless it is one that answers
    /// the same every time (a row or column the query expects is not there
    /// or does not decode, the connection's configuration). A refusal of
    /// the operation or a stored value that does not read never changes by
    /// trying again.
    pub fn is_retryable(&self) -> bool {
        match self {
            LedgerError::Db(e) => !matches!(
                e,
                sqlx::Error::RowNotFound
                    | sqlx::Error::ColumnNotFound(_)
                    | sqlx::Error::ColumnIndexOutOfBounds { .. }
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::Decode(_)
                    | sqlx::Error::TypeNotFound { .. }
                    | sqlx::Error::Configuration(_)
            ),
            _ => false,
        }
    }
}

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> AppError {
        match e {
            LedgerError::NotFound => AppError::NotFound,
            LedgerError::Conflict(message) => AppError::Conflict(message),
            LedgerError::Stale { message, current } => AppError::Stale {
                message,
                current: serde_json::to_value(current).expect("a DealNow is JSON"),
            },
            LedgerError::Invalid(message) => AppError::BadRequest(message),
            LedgerError::Db(e) => AppError::from(e),
            LedgerError::Internal(e) => AppError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_database_that_may_answer_otherwise_is_worth_retrying() {
        assert!(LedgerError::Db(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(LedgerError::Db(sqlx::Error::PoolClosed).is_retryable());
        // A restart of Postgres ends sessions with an error of its own.
        let restarting =
            std::io::Error::other("terminating connection due to administrator command");
        assert!(LedgerError::Db(sqlx::Error::Io(restarting)).is_retryable());
        assert!(LedgerError::Db(sqlx::Error::Protocol("unexpected message".into())).is_retryable());
        assert!(!LedgerError::Db(sqlx::Error::RowNotFound).is_retryable());
        assert!(!LedgerError::Db(sqlx::Error::ColumnNotFound("tier".into())).is_retryable());
        assert!(!LedgerError::NotFound.is_retryable());
        assert!(!LedgerError::Conflict("the deal is approved".into()).is_retryable());
        assert!(!LedgerError::Internal(anyhow::anyhow!("bad currency")).is_retryable());
    }
}
