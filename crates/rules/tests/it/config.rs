//! The defaults are the product vision's numbers, and a configuration file
//! either parses into a checked configuration or is refused.

use rules::{Rate, RulesConfig, RulesError, Tier};

#[test]
fn defaults_are_the_product_vision() {
    let c = RulesConfig::default();
    let tiers = [
        (Tier::Starter, c.tiers.starter),
        (Tier::Active, c.tiers.active),
        (Tier::Performer, c.tiers.performer),
        (Tier::Elite, c.tiers.elite),
    ]
    .map(|(tier, rule)| (tier, rule.min_deals, rule.base_rate.bps()));
    // Starter (0-2) 20%, Active (3-9) 22%, Performer (10-24) 25%, Elite (25+) 30%.
    assert_eq!(
        tiers,
        [
            (Tier::Starter, 0, 2000),
            (Tier::Active, 3, 2200),
            (Tier::Performer, 10, 2500),
            (Tier::Elite, 25, 3000),
        ]
    );
    // "22% + 5% referral", from Active.
    assert_eq!(
        (c.referral.rate.bps(), c.referral.min_tier),
        (500, Tier::Active)
    );
    // "25% + 10% team override", from Performer.
    assert_eq!(
        (c.team_override.rate.bps(), c.team_override.min_tier),
        (1000, Tier::Performer)
    );
    // "30% + custom": nothing until an admin agrees a rate with the partner.
    assert_eq!(c.elite_custom_default, Rate::ZERO);
    // Deals counted over twelve months, as 365 days.
    assert_eq!(c.deal_window_days, 365);
    let w = c.progress.weights;
    assert_eq!(
        (w.deals, w.training, w.support, w.satisfaction),
        (50, 20, 15, 15)
    );
    assert_eq!(
        (
            c.progress.training_modules_cap,
            c.progress.support_engagements_cap,
            c.progress.satisfaction_cap_centi
        ),
        (10, 12, 450)
    );
    assert_eq!(c.check(), Ok(()));
}

#[test]
fn an_empty_file_is_the_defaults_and_a_config_round_trips() {
    let empty: RulesConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, RulesConfig::default());

    let json = serde_json::to_string(&RulesConfig::default()).unwrap();
    assert!(
        json.contains(r#""active":{"min_deals":3,"base_rate_bps":2200}"#),
        "{json}"
    );
    assert!(
        json.contains(r#""referral":{"rate_bps":500,"min_tier":"active"}"#),
        "{json}"
    );
    let back: RulesConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, RulesConfig::default());
}

#[test]
fn a_file_changes_only_what_it_names() {
    let config: RulesConfig = serde_json::from_str(
        r#"{
            "tiers": { "active": { "min_deals": 4, "base_rate_bps": 2300 } },
            "progress": { "weights": { "deals": 40, "training": 30, "support": 15, "satisfaction": 15 } },
            "elite_custom_default_bps": 150
        }"#,
    )
    .unwrap();
    let default = RulesConfig::default();
    assert_eq!(config.tiers.active.min_deals, 4);
    assert_eq!(config.tiers.active.base_rate.bps(), 2300);
    assert_eq!(config.tiers.performer, default.tiers.performer);
    assert_eq!(config.progress.weights.deals, 40);
    assert_eq!(config.progress.training_modules_cap, 10);
    assert_eq!(config.elite_custom_default.bps(), 150);
    assert_eq!(config.referral, default.referral);
    assert_eq!(Tier::for_deals(3, &config), Tier::Starter);
    assert_eq!(Tier::for_deals(4, &config), Tier::Active);
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let table = [
        (r#"{"deal_windows_days": 30}"#, "unknown field"),
        (
            r#"{"referral": {"rate_bps": 10001, "min_tier": "active"}}"#,
            "more than 100%",
        ),
        (
            r#"{"referral": {"rate_bps": 500, "min_tier": "gold"}}"#,
            "unknown variant",
        ),
        (
            r#"{"referral": {"rate_bps": -5, "min_tier": "active"}}"#,
            "invalid value",
        ),
        (
            r#"{"referral": {"rate_bps": 5.5, "min_tier": "active"}}"#,
            "invalid type",
        ),
        (
            r#"{"tiers": {"starter": {"min_deals": 1, "base_rate_bps": 2000}}}"#,
            "tiers.starter.min_deals must be 0",
        ),
        (
            r#"{"tiers": {"performer": {"min_deals": 25, "base_rate_bps": 2500}}}"#,
            "tiers.elite.min_deals (25) must be more than tiers.performer.min_deals (25)",
        ),
        (
            r#"{"deal_window_days": 0}"#,
            "deal_window_days must be at least 1",
        ),
        (
            r#"{"progress": {"satisfaction_cap_centi": 0}}"#,
            "progress.satisfaction_cap_centi must be at least 1",
        ),
        (
            r#"{"progress": {"weights": {"deals": 50, "training": 20, "support": 15, "satisfaction": 14}}}"#,
            "must add up to 100, not 99",
        ),
        (r#"{"elite_custom_default_bps": 7001}"#, "is above 100%"),
    ];
    for (json, reason) in table {
        let error = serde_json::from_str::<RulesConfig>(json)
            .unwrap_err()
            .to_string();
        assert!(error.contains(reason), "{json}: {error}");
    }
}

#[test]
fn a_config_built_in_code_is_checked_the_same_way() {
    let mut config = RulesConfig::default();
    config.tiers.active.min_deals = 10;
    assert!(matches!(config.check(), Err(RulesError::InvalidConfig(_))));
}
