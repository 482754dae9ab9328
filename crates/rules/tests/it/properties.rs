//! Properties of the arithmetic, each against an oracle written here, apart
//! from the crate's code.

use model::Money;
use proptest::prelude::*;
use rules::{
    ProgressInputs, Rate, RulesConfig, Tier, base_commission, base_rate, clawback, deal_earnings,
    elite_custom, progress, team_override, total,
};

use crate::{usd, usd_minor};

/// `minor × bps / 10 000` rounded half away from zero, by another route than
/// the crate's: for a non-negative product `n`, `floor((2n + 10 000) /
/// 20 000)` is `n / 10 000` rounded half up; a negative product is the
/// mirror image.
fn oracle(minor: i64, bps: u32) -> i64 {
    let n = i128::from(minor) * i128::from(bps);
    let half_up = |n: i128| (2 * n + 10_000).div_euclid(20_000);
    let rounded = if n >= 0 { half_up(n) } else { -half_up(-n) };
    i64::try_from(rounded).unwrap()
}

fn any_tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

/// Any rate, or often one of the programme's, where ties are common.
fn any_rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        0u32..=10_000,
        prop::sample::select(vec![500, 1000, 2000, 2200, 2500, 3000, 5000]),
    ]
    .prop_map(|bps| Rate::from_bps(bps).unwrap())
}

/// Any amount, or often a small one, where ties are common.
fn any_amount() -> impl Strategy<Value = i64> {
    prop_oneof![-10_000i64..10_000, any::<i64>()]
}

fn any_inputs() -> impl Strategy<Value = ProgressInputs> {
    // Past every default cap and threshold, with room to go beyond.
    (0u32..40, 0u32..15, 0u32..20, 0u32..=500).prop_map(
        |(deals, training_modules, support_engagements, satisfaction_centi)| ProgressInputs {
            deals,
            training_modules,
            support_engagements,
            satisfaction_centi,
        },
    )
}

#[test]
fn the_oracle_agrees_with_the_rule_table() {
    assert_eq!(oracle(3, 2000), 1);
    assert_eq!(oracle(111, 2200), 24);
    assert_eq!(oracle(-5, 1000), -1);
    assert_eq!(oracle(4, 1000), 0);
    assert_eq!(oracle(i64::MIN, 9999), -9_222_449_699_651_090_330);
}

proptest! {
    /// A leader's override is exactly 10% of the member's base line, rounded
    /// half away from zero; leaders below Performer earn none.
    #[test]
    fn an_override_is_ten_percent_of_its_source_line(
        deal in any_amount(),
        member in any_tier(),
        leader in any_tier(),
    ) {
        let config = RulesConfig::default();
        let line = base_commission(usd_minor(deal), base_rate(member, &config)).unwrap();
        let over = team_override(line, leader, &config).unwrap();
        if leader >= Tier::Performer {
            prop_assert_eq!(over, Some(usd_minor(oracle(line.minor, 1000))));
        } else {
            prop_assert_eq!(over, None);
        }
    }

    /// What the app previews for a deal is what the ledger appends for it:
    /// the base line plus, for an Elite partner with an agreed rate, the
    /// custom line, each rounded on its own.
    #[test]
    fn a_deal_previewed_earns_what_its_lines_add_up_to(
        deal in 0..=1_000_000_000_000i64,
        tier in any_tier(),
        custom in 0..=500u32,
    ) {
        let config = RulesConfig::default();
        let (amount, base) = (usd_minor(deal), base_rate(tier, &config));
        let custom = Rate::from_bps(custom).unwrap();
        let extra = if tier == Tier::Elite { custom } else { Rate::ZERO };
        let lines = [
            Some(base_commission(amount, base).unwrap()),
            elite_custom(amount, tier, Some(custom), &config).unwrap(),
        ];
        let appended = lines.iter().flatten().map(|m| m.minor).sum::<i64>();
        prop_assert_eq!(deal_earnings(amount, base, extra).unwrap(), usd_minor(appended));
        prop_assert_eq!(
            appended,
            oracle(deal, base.bps()) + oracle(deal, extra.bps()),
        );
    }

    /// The rounded result is within half a minor unit of the exact rational
    /// `amount × bps / 10 000`, and a tie goes away from zero.
    #[test]
    fn rounding_is_within_half_a_minor_unit(minor in any_amount(), rate in any_rate()) {
        let result = rate.apply(usd_minor(minor)).unwrap();
        prop_assert_eq!(result.currency, usd());
        // Compare in units of 1/10 000 of a minor unit: exact, no division.
        let exact = i128::from(minor) * i128::from(rate.bps());
        let rounded = i128::from(result.minor) * 10_000;
        let error = (rounded - exact).abs();
        prop_assert!(error <= 5_000, "{} off by {}/10000", result.minor, error);
        if error == 5_000 {
            prop_assert!(rounded.abs() > exact.abs(), "tie went towards zero");
        }
        prop_assert_eq!(result.minor, oracle(minor, rate.bps()));
    }

    /// The commission on a negated amount is the negated commission, so a
    /// clawback nets to zero with the line it reverses.
    #[test]
    fn a_clawback_nets_to_zero(
        minor in any_amount().prop_filter("has a negation", |m| *m != i64::MIN),
        rate in any_rate(),
    ) {
        let line = base_commission(usd_minor(minor), rate).unwrap();
        let reversed = base_commission(usd_minor(-minor), rate).unwrap();
        prop_assert_eq!(reversed, Money::new(-line.minor, usd()));
        prop_assert_eq!(clawback(line).unwrap(), reversed);
        prop_assert_eq!(total(usd(), [line, reversed]).unwrap(), usd_minor(0));
    }

    /// More training, support or satisfaction never lowers the score; more
    /// deals never lower it within a tier; the score stays within 0..=1000
    /// and is its breakdown's sum; it is 1000 exactly at Elite.
    #[test]
    fn progress_is_monotonic_and_bounded(a in any_inputs(), b in any_inputs()) {
        let config = RulesConfig::default();
        let score = |inputs: &ProgressInputs| progress(inputs, &config).per_mille;

        let p = progress(&a, &config);
        prop_assert!(p.per_mille <= 1000);
        prop_assert_eq!(p.per_mille == 1000, p.tier == Tier::Elite);
        if p.tier != Tier::Elite {
            prop_assert_eq!(p.components.iter().map(|c| c.points).sum::<u16>(), p.per_mille);
            for c in &p.components {
                prop_assert!(c.points <= c.max_points && c.counted <= c.target);
            }
        }

        // `a` with one count set to the smaller and to the larger of its
        // values in `a` and `b`.
        let more = |field: fn(&mut ProgressInputs) -> &mut u32| {
            let (mut low, mut high, mut other) = (a, a, b);
            let (x, y) = (*field(&mut low), *field(&mut other));
            *field(&mut low) = x.min(y);
            *field(&mut high) = x.max(y);
            (low, high)
        };
        for (low, high) in [
            more(|i| &mut i.training_modules),
            more(|i| &mut i.support_engagements),
            more(|i| &mut i.satisfaction_centi),
        ] {
            prop_assert!(score(&low) <= score(&high), "{:?} scored above {:?}", low, high);
        }
        let (low, high) = more(|i| &mut i.deals);
        if Tier::for_deals(low.deals, &config) == Tier::for_deals(high.deals, &config) {
            prop_assert!(score(&low) <= score(&high), "{:?} scored above {:?}", low, high);
        }
    }

    /// More approved deals never lower the tier.
    #[test]
    fn tiers_rise_with_deals(a in any::<u32>(), b in any::<u32>()) {
        let config = RulesConfig::default();
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(Tier::for_deals(low, &config) <= Tier::for_deals(high, &config));
    }
}
