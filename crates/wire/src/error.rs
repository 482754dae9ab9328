//! Error answers: every `/api` error is a status with a JSON body that
//! says what was wrong, in words a person can read.

use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": "..."}` (with a
/// `Retry-After` header on a 429 or on a 503 for a full queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// A 409 about something that changed since the client read it: what was
/// wrong, and what it is now (a deal: [`crate::DealNow`]), so the client
/// can show it and ask again. `current` comes first because the server
/// writes this object's keys in alphabetical order today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stale<T> {
    pub current: T,
    pub error: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{DealNow, DealStatus};

    #[test]
    fn a_stale_decision_s_answer_is_byte_for_byte_the_server_s() {
        // What the server writes with `json!` today (keys sorted).
        let today = json!({
            "error": "this deal changed since you reviewed it",
            "current": {
                "amount_minor": 99_900,
                "currency": "USD",
                "version": 2,
                "status": "submitted",
            },
        });
        let typed = Stale {
            current: DealNow {
                amount_minor: 99_900,
                currency: "USD".to_owned(),
                status: DealStatus::Submitted,
                version: 2,
            },
            error: "this deal changed since you reviewed it".to_owned(),
        };
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&today).unwrap()
        );
        let error = ErrorBody {
            error: "not found".to_owned(),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            serde_json::to_string(&json!({"error": "not found"})).unwrap()
        );
    }
}
