//! Deals in the back-office: the approval queue and the decisions on it.

use serde::{Deserialize, Serialize};

use crate::{DealStatus, Line, LineKind};

/// A deal as the back-office lists it (`GET
/// /api/admin/deals[?status=submitted|approved|rejected|withdrawn|all]`, a
/// list, oldest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealEntry<Time = String> {
    pub id: i64,
    pub partner_id: String,
    pub partner_name: String,
    pub lead_id: String,
    /// From the lead; none once the lead is gone from the pipeline.
    pub contact_name: Option<String>,
    pub company: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub status: DealStatus,
    /// Moves with every change of amount or currency, and when a withdrawn
    /// deal comes back: a decision names the version it was made on.
    pub version: i64,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub submitted_at: Time,
    pub decided_at: Option<Time>,
    /// A clawback after approval (a refund, a cancellation), and why.
    pub reversed_at: Option<Time>,
    pub reverse_reason: Option<String>,
}

/// What an admin saw of a deal when they decided on it: the body of `POST
/// /api/admin/deals/{id}/approve`. The partner may edit a submitted deal
/// until the decision, so a decision is refused with 409 (and the deal's
/// figures now, [`crate::Stale`] of [`DealNow`]) when these moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reviewed {
    pub amount_minor: i64,
    pub currency: String,
    pub version: i64,
}

/// `GET /api/admin/deals/{id}/preview`: what approving the deal now would
/// pay, and whom (the partner's base and Elite lines, their team leader's
/// override), worked out by the approval itself and not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub deal_id: i64,
    pub lines: Vec<PreviewLine>,
}

/// One line a decision would append.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLine {
    pub partner_id: String,
    pub partner_name: String,
    pub kind: LineKind,
    pub amount_minor: i64,
    pub currency: String,
    pub rate_bps: Option<i32>,
    pub explanation: String,
}

/// The answer to `POST /api/admin/deals/{id}/approve`: the lines the
/// approval appended (the same ones again for a deal approved already).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved<Time = String> {
    pub deal_id: i64,
    pub lines: Vec<Line<Time>>,
}

/// `POST /api/admin/deals/{id}/reject`: why (the partner reads it), and
/// what the admin reviewed, as for an approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: String,
    pub amount_minor: i64,
    pub currency: String,
    pub version: i64,
}

impl Rejection {
    pub fn new(reason: String, reviewed: Reviewed) -> Rejection {
        let Reviewed {
            amount_minor,
            currency,
            version,
        } = reviewed;
        Rejection {
            reason,
            amount_minor,
            currency,
            version,
        }
    }

    /// What the admin reviewed.
    pub fn reviewed(&self) -> Reviewed {
        Reviewed {
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
            version: self.version,
        }
    }
}

/// The answer to `POST /api/admin/deals/{id}/reject` (`status` is always
/// `rejected`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub deal_id: i64,
    pub status: DealStatus,
}

/// The answer to `POST /api/admin/deals/{id}/clawback` and `POST
/// /api/admin/orders/{id}/refund`: one reversing line per line reversed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversed<Time = String> {
    pub lines: Vec<Line<Time>>,
}

/// A deal as it is now, in the 409 that refuses a decision made on other
/// figures ([`crate::Stale`]`<DealNow>`). Fields in alphabetical order, as
/// the server writes this object today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealNow {
    pub amount_minor: i64,
    pub currency: String,
    pub status: DealStatus,
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rejection_is_the_reason_and_the_reviewed_figures_side_by_side() {
        let reviewed = Reviewed {
            amount_minor: 99_900,
            currency: "USD".to_owned(),
            version: 2,
        };
        let rejection = Rejection::new("no contract".to_owned(), reviewed.clone());
        assert_eq!(
            serde_json::to_string(&rejection).unwrap(),
            r#"{"reason":"no contract","amount_minor":99900,"currency":"USD","version":2}"#
        );
        assert_eq!(rejection.reviewed(), reviewed);
        let extra =
            json!({"reason": "r", "amount_minor": 1, "currency": "USD", "version": 1, "x": 0});
        assert!(serde_json::from_value::<Rejection>(extra).is_err());
        let approval_with_reason =
            json!({"reason": "r", "amount_minor": 1, "currency": "USD", "version": 1});
        assert!(serde_json::from_value::<Reviewed>(approval_with_reason).is_err());
    }

    #[test]
    fn a_deal_entry_is_written_field_for_field_as_the_server_does() {
        let deal = DealEntry {
            id: 3,
            partner_id: "p-ben".to_owned(),
            partner_name: "Ben".to_owned(),
            lead_id: "ben-5".to_owned(),
            contact_name: None,
            company: Some("Acme".to_owned()),
            amount_minor: 100,
            currency: "EUR".to_owned(),
            status: DealStatus::Submitted,
            version: 1,
            reason: None,
            submitted_at: "2030-01-01T00:00:00Z".to_owned(),
            decided_at: None,
            reversed_at: None,
            reverse_reason: None,
        };
        let json = serde_json::to_string(&deal).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"id":3,"partner_id":"p-ben","partner_name":"Ben","lead_id":"ben-5","#,
                r#""contact_name":null,"company":"Acme","amount_minor":100,"currency":"EUR","#,
                r#""status":"submitted","version":1,"reason":null,"#,
                r#""submitted_at":"2030-01-01T00:00:00Z","decided_at":null,"#,
                r#""reversed_at":null,"reverse_reason":null}"#
            )
        );
        assert_eq!(serde_json::from_str::<DealEntry>(&json).unwrap(), deal);
    }

    #[test]
    fn a_rejected_answer_says_rejected() {
        let rejected = Rejected {
            deal_id: 3,
            status: DealStatus::Rejected,
        };
        assert_eq!(
            serde_json::to_string(&rejected).unwrap(),
            r#"{"deal_id":3,"status":"rejected"}"#
        );
    }
}
