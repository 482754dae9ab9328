//! Payouts: the preview and the monthly run in the back-office, a
//! partner's statements and where they are paid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::PayoutMethodKind;

/// What a payout run would pay one partner in one currency: `GET
/// /api/admin/payouts/preview` (a list, by partner name and currency).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payable {
    pub partner_id: String,
    pub partner_name: String,
    pub currency: String,
    pub total_minor: i64,
    /// How many lines the total sums.
    pub lines: i64,
    /// How the finance team pays them ("bank_account •••• 1234"); none
    /// when the partner has not registered a method (a run skips them until
    /// they do).
    pub method: Option<String>,
}

/// `POST /api/admin/payouts`: the closed month a run is for, `YYYY-MM`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    pub period: String,
}

/// A statement: what one payout run paid one partner in one currency. In
/// [`Run`], and `GET /api/me/statements` (a list, newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementEntry<Time = String> {
    pub id: i64,
    pub run_id: i64,
    pub period: String,
    pub partner_id: String,
    pub currency: String,
    pub total_minor: i64,
    pub run_at: Time,
}

/// The 201 answer to `POST /api/admin/payouts`; its file is `GET
/// /api/admin/payouts/{run_id}/export` (CSV).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run<Time = String> {
    pub run_id: i64,
    pub statements: Vec<StatementEntry<Time>>,
}

/// `PUT /api/me/payout-method`: where the partner is paid. `kind` is text
/// here (the server refuses what is no [`PayoutMethodKind`] with its own
/// message); only the last four characters of `account` are kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutMethod {
    pub kind: String,
    pub holder: String,
    pub account: String,
}

impl fmt::Debug for PayoutMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayoutMethod")
            .field("kind", &self.kind)
            .field("holder", &self.holder)
            .field("account", &"<hidden>")
            .finish()
    }
}

/// The answer to `PUT /api/me/payout-method`: what was kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutMethodSet {
    pub kind: PayoutMethodKind,
    /// "•••• 1234".
    pub masked: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_run_lists_its_statements() {
        let run = Run {
            run_id: 2,
            statements: vec![StatementEntry {
                id: 5,
                run_id: 2,
                period: "2030-01".to_owned(),
                partner_id: "p-ben".to_owned(),
                currency: "USD".to_owned(),
                total_minor: 9000,
                run_at: "2030-02-01T00:00:00Z".to_owned(),
            }],
        };
        let json = serde_json::to_string(&run).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"run_id":2,"statements":[{"id":5,"run_id":2,"period":"2030-01","#,
                r#""partner_id":"p-ben","currency":"USD","total_minor":9000,"#,
                r#""run_at":"2030-02-01T00:00:00Z"}]}"#
            )
        );
        assert_eq!(serde_json::from_str::<Run>(&json).unwrap(), run);
    }

    #[test]
    fn a_payout_method_s_account_is_never_printed() {
        let method = PayoutMethod {
            kind: "iban".to_owned(),
            holder: "Ben".to_owned(),
            account: "DE89370400440532013000".to_owned(),
        };
        assert!(!format!("{method:?}").contains("0532013000"));
        // Any kind reaches the server, which says which ones it takes.
        let json = serde_json::to_value(&method).unwrap();
        assert_eq!(json["kind"], "iban");
        assert!(serde_json::from_value::<PayoutMethod>(json!({"kind": "paypal"})).is_err());
        let set: PayoutMethodSet =
            serde_json::from_value(json!({"kind": "bank_account", "masked": "•••• 3000"})).unwrap();
        assert_eq!(set.kind, PayoutMethodKind::BankAccount);
    }

    #[test]
    fn a_preview_without_a_method_says_null() {
        let payable = Payable {
            partner_id: "p-ben".to_owned(),
            partner_name: "Ben".to_owned(),
            currency: "USD".to_owned(),
            total_minor: 9000,
            lines: 3,
            method: None,
        };
        assert_eq!(
            serde_json::to_string(&payable).unwrap(),
            concat!(
                r#"{"partner_id":"p-ben","partner_name":"Ben","currency":"USD","#,
                r#""total_minor":9000,"lines":3,"method":null}"#
            )
        );
    }
}
