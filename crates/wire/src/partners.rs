//! Partners in the back-office: their tier, balances and Elite terms.

use serde::{Deserialize, Serialize};

use crate::{Balance, Tier};

/// A partner as the back-office lists them (`GET /api/admin/partners`, a
/// list, by name): their tier now and their balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerEntry {
    pub partner_id: String,
    pub name: String,
    pub company: String,
    /// None for a partner who has no account (a fixture's).
    pub account_id: Option<String>,
    pub team_leader_id: Option<String>,
    pub tier: Tier,
    /// Approved deals in the trailing window, which the tier follows from.
    pub deals_in_window: u32,
    /// The extra rate agreed for when they are Elite, if any, in basis
    /// points.
    pub elite_custom_bps: Option<i32>,
    pub balances: Vec<Balance>,
}

/// `PUT /api/admin/partners/{id}/terms`, and its answer (the same body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// The extra rate an Elite partner earns on their deals, in basis
    /// points (100 = 1%); paid as its own line while they are Elite.
    pub elite_custom_bps: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_entry_is_written_field_for_field_as_the_server_does() {
        let partner = PartnerEntry {
            partner_id: "p-ben".to_owned(),
            name: "Ben".to_owned(),
            company: "Okafor Ltd".to_owned(),
            account_id: Some("a-ben".to_owned()),
            team_leader_id: None,
            tier: Tier::Performer,
            deals_in_window: 12,
            elite_custom_bps: None,
            balances: vec![Balance {
                currency: "USD".to_owned(),
                pending_minor: 1,
                available_minor: 2,
                paid_minor: 3,
            }],
        };
        let json = serde_json::to_string(&partner).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"partner_id":"p-ben","name":"Ben","company":"Okafor Ltd","#,
                r#""account_id":"a-ben","team_leader_id":null,"tier":"performer","#,
                r#""deals_in_window":12,"elite_custom_bps":null,"#,
                r#""balances":[{"currency":"USD","pending_minor":1,"available_minor":2,"#,
                r#""paid_minor":3}]}"#
            )
        );
        assert_eq!(
            serde_json::from_str::<PartnerEntry>(&json).unwrap(),
            partner
        );
    }

    #[test]
    fn terms_are_a_rate_and_nothing_else() {
        let terms = Terms {
            elite_custom_bps: 250,
        };
        assert_eq!(
            serde_json::to_string(&terms).unwrap(),
            r#"{"elite_custom_bps":250}"#
        );
        let negative = r#"{"elite_custom_bps":-1}"#;
        assert!(serde_json::from_str::<Terms>(negative).is_err());
        let extra = r#"{"elite_custom_bps":1,"partner_id":"p"}"#;
        assert!(serde_json::from_str::<Terms>(extra).is_err());
    }
}
