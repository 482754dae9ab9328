//! The ledger as the API shows it: lines and balances (the server's
//! ledger; lines are appended, never edited).

use serde::{Deserialize, Serialize};

use crate::{LineKind, Tier};

/// One ledger line. In the answers to a deal's approval and clawback, an
/// order's refund and record ([`crate::Approved`], [`crate::Reversed`],
/// [`crate::RecordedOrder`]), and `GET /api/me/ledger` (a list, newest
/// first). Amounts are minor units of `currency` (an ISO 4217 code);
/// a clawback's is negative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line<Time = String> {
    pub id: i64,
    pub partner_id: String,
    pub kind: LineKind,
    pub amount_minor: i64,
    pub currency: String,
    /// The rate applied, in basis points (100 = 1%), frozen when the line
    /// accrued; none for a clawback.
    pub rate_bps: Option<i32>,
    /// The tier frozen when the line accrued; none for a clawback.
    pub tier: Option<Tier>,
    pub deal_id: Option<i64>,
    pub order_id: Option<i64>,
    /// The line an override is cut from, or a clawback reverses.
    pub source_line_id: Option<i64>,
    pub accrued_at: Time,
    /// When the hold ends and the line may be paid.
    pub available_at: Time,
    /// What the partner reads about it.
    pub explanation: String,
}

/// A partner's money in one currency: held, payable, paid. `GET
/// /api/me/balances` (a list, by currency) and [`crate::PartnerEntry`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub currency: String,
    pub pending_minor: i64,
    pub available_minor: i64,
    pub paid_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_written_field_for_field_as_the_server_does() {
        let line = Line {
            id: 7,
            partner_id: "p-ben".to_owned(),
            kind: LineKind::Base,
            amount_minor: 25_000,
            currency: "USD".to_owned(),
            rate_bps: Some(2000),
            tier: Some(Tier::Starter),
            deal_id: Some(3),
            order_id: None,
            source_line_id: None,
            accrued_at: "2030-01-01T00:00:00Z".to_owned(),
            available_at: "2030-01-31T00:00:00Z".to_owned(),
            explanation: "20% base commission".to_owned(),
        };
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"id":7,"partner_id":"p-ben","kind":"base","amount_minor":25000,"#,
                r#""currency":"USD","rate_bps":2000,"tier":"starter","deal_id":3,"#,
                r#""order_id":null,"source_line_id":null,"#,
                r#""accrued_at":"2030-01-01T00:00:00Z","available_at":"2030-01-31T00:00:00Z","#,
                r#""explanation":"20% base commission"}"#
            )
        );
        assert_eq!(serde_json::from_str::<Line>(&json).unwrap(), line);
    }
}
