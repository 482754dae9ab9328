//! Orders: what the back-office records, and the referral share an order
//! earns the partner whose link brought it.

use serde::{Deserialize, Serialize};

use crate::Line;

/// `POST /api/admin/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub reference: String,
    /// The partner whose referral link brought the order; none (or `null`)
    /// for a direct sale.
    #[serde(default)]
    pub partner_id: Option<String>,
    /// The amount as canonical decimal text in the currency ("1250.00":
    /// digits, a dot, no grouping), read by `model::Money::parse_decimal`;
    /// `currency` is an ISO 4217 code.
    pub amount: String,
    pub currency: String,
}

/// The 201 answer to `POST /api/admin/orders`: the order, and the referral
/// line it earned if the partner's tier earns one (none for a direct sale).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOrder<Time = String> {
    pub order_id: i64,
    pub line: Option<Line<Time>>,
}

/// An order as the back-office lists it (`GET /api/admin/orders`, a list,
/// newest first, at most 200).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEntry<Time = String> {
    pub id: i64,
    pub reference: String,
    /// None for a direct sale.
    pub partner_id: Option<String>,
    pub partner_name: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub recorded_at: Time,
    pub refunded_at: Option<Time>,
    /// When an admin marked it delivered: its client may rate the partner.
    pub delivered_at: Option<Time>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_direct_sale_names_no_partner() {
        let order = NewOrder {
            reference: "SO-1".to_owned(),
            partner_id: None,
            amount: "1250.00".to_owned(),
            currency: "USD".to_owned(),
        };
        let json = serde_json::to_string(&order).unwrap();
        assert_eq!(
            json,
            r#"{"reference":"SO-1","partner_id":null,"amount":"1250.00","currency":"USD"}"#
        );
        assert_eq!(serde_json::from_str::<NewOrder>(&json).unwrap(), order);
        let left_out = json!({"reference": "SO-1", "amount": "1250.00", "currency": "USD"});
        assert_eq!(serde_json::from_value::<NewOrder>(left_out).unwrap(), order);
    }

    #[test]
    fn an_order_that_earns_nothing_says_so_with_null() {
        let recorded: RecordedOrder = RecordedOrder {
            order_id: 4,
            line: None,
        };
        assert_eq!(
            serde_json::to_string(&recorded).unwrap(),
            r#"{"order_id":4,"line":null}"#
        );
        let entry = OrderEntry {
            id: 4,
            reference: "SO-1".to_owned(),
            partner_id: None,
            partner_name: None,
            amount_minor: 125_000,
            currency: "USD".to_owned(),
            recorded_at: "2030-01-01T00:00:00Z".to_owned(),
            refunded_at: None,
            delivered_at: None,
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            concat!(
                r#"{"id":4,"reference":"SO-1","partner_id":null,"partner_name":null,"#,
                r#""amount_minor":125000,"currency":"USD","recorded_at":"2030-01-01T00:00:00Z","#,
                r#""refunded_at":null,"delivered_at":null}"#
            )
        );
    }
}
