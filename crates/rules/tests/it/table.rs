//! The tier table of the product vision, its boundaries, and the rounding
//! rule on chosen amounts.

use model::{Currency, Money, Timestamp};
use rules::{
    Component, MS_PER_DAY, ProgressInputs, Rate, RulesConfig, RulesError, Tier, base_commission,
    base_rate, clawback, deals_in_window, elite_custom, progress, referral_share, team_override,
    total,
};

use crate::{usd, usd_minor};

fn rate(bps: u32) -> Rate {
    Rate::from_bps(bps).unwrap()
}

#[test]
fn tier_and_base_rate_at_every_boundary() {
    let config = RulesConfig::default();
    // (approved deals in the window, tier, base rate in basis points)
    let table = [
        (0, Tier::Starter, 2000),
        (1, Tier::Starter, 2000),
        (2, Tier::Starter, 2000),
        (3, Tier::Active, 2200),
        (9, Tier::Active, 2200),
        (10, Tier::Performer, 2500),
        (24, Tier::Performer, 2500),
        (25, Tier::Elite, 3000),
        (1000, Tier::Elite, 3000),
        (u32::MAX, Tier::Elite, 3000),
    ];
    for (deals, tier, bps) in table {
        let found = Tier::for_deals(deals, &config);
        assert_eq!(found, tier, "{deals} deals");
        assert_eq!(base_rate(found, &config).bps(), bps, "{deals} deals");
    }
}

#[test]
fn which_tiers_earn_which_lines() {
    let config = RulesConfig::default();
    let hundred = usd_minor(10_000);
    // (tier, referral share of 100.00, override on a 100.00 line, base on 100.00)
    let table = [
        (Tier::Starter, None, None, 2_000),
        (Tier::Active, Some(500), None, 2_200),
        (Tier::Performer, Some(500), Some(1_000), 2_500),
        (Tier::Elite, Some(500), Some(1_000), 3_000),
    ];
    for (tier, referral, over, base) in table {
        assert_eq!(
            referral_share(hundred, tier, &config).unwrap(),
            referral.map(usd_minor),
            "referral at {tier}"
        );
        assert_eq!(
            team_override(hundred, tier, &config).unwrap(),
            over.map(usd_minor),
            "override at {tier}"
        );
        assert_eq!(
            base_commission(hundred, base_rate(tier, &config)).unwrap(),
            usd_minor(base),
            "base at {tier}"
        );
    }
}

#[test]
fn the_line_that_reaches_a_threshold_is_paid_at_the_new_rate() {
    let config = RulesConfig::default();
    let day = |d: i64| Timestamp(1_700_000_000_000 + d * MS_PER_DAY);
    let approvals = [day(0), day(1), day(2)];
    // Priced at its own approval time, with itself counted: the third deal
    // makes the partner Active and earns 22%, the second still 20%.
    let second = Tier::for_deals(deals_in_window(approvals, day(1), &config), &config);
    let third = Tier::for_deals(deals_in_window(approvals, day(2), &config), &config);
    assert_eq!((second, third), (Tier::Starter, Tier::Active));
}

#[test]
fn the_window_is_365_days_to_the_millisecond() {
    let config = RulesConfig::default();
    let now = Timestamp(1_750_000_000_000);
    let window = 365 * MS_PER_DAY;
    let at = |offset: i64| Timestamp(now.0 + offset);
    // (approval relative to now, counted?)
    let table = [
        (0, true),
        (-1, true),
        (-window + 1, true),
        (-window, false),
        (-window - 1, false),
        (1, false),
    ];
    for (offset, counted) in table {
        assert_eq!(
            deals_in_window([at(offset)], now, &config),
            u32::from(counted),
            "approval at now{offset:+} ms"
        );
    }
    let shorter = RulesConfig {
        deal_window_days: 30,
        ..RulesConfig::default()
    };
    assert_eq!(
        deals_in_window([at(-29 * MS_PER_DAY), at(-30 * MS_PER_DAY)], now, &shorter),
        1
    );
}

#[test]
fn old_deals_leaving_the_window_demote() {
    let config = RulesConfig::default();
    let start = 1_700_000_000_000;
    // Ten deals on ten consecutive days: Performer on the tenth day.
    let approvals: Vec<Timestamp> = (0..10).map(|d| Timestamp(start + d * MS_PER_DAY)).collect();
    let tier_at = |day: i64| {
        let now = Timestamp(start + day * MS_PER_DAY);
        Tier::for_deals(
            deals_in_window(approvals.iter().copied(), now, &config),
            &config,
        )
    };
    assert_eq!(tier_at(9), Tier::Performer);
    assert_eq!(tier_at(364), Tier::Performer);
    // The first deal leaves exactly 365 days after its approval.
    assert_eq!(tier_at(365), Tier::Active);
    // Deals of days 7, 8 and 9 are left on day 371; day 7's leaves next.
    assert_eq!(tier_at(371), Tier::Active);
    assert_eq!(tier_at(372), Tier::Starter);
}

#[test]
fn rounding_is_half_away_from_zero_on_the_minor_unit() {
    let jpy = Currency::parse("JPY").unwrap();
    let m = |minor| usd_minor(minor);
    // (amount, rate in bps, commission)
    let table = [
        // 20% of 0.03 is 0.006: rounds up to 0.01.
        (m(3), 2000, m(1)),
        (m(-3), 2000, m(-1)),
        // 22% of 1.11 is 0.2442: rounds down to 0.24.
        (m(111), 2200, m(24)),
        (m(-111), 2200, m(-24)),
        // Exact ties go away from zero: 10% of 0.05, 50% of 0.01.
        (m(5), 1000, m(1)),
        (m(-5), 1000, m(-1)),
        (m(1), 5000, m(1)),
        (m(-1), 5000, m(-1)),
        // Just under a tie goes towards zero: 10% of 0.04 is 0.004.
        (m(4), 1000, m(0)),
        (m(-4), 1000, m(0)),
        // 25% of 999.99 is 249.9975.
        (m(99_999), 2500, m(25_000)),
        // The average deal of the vision, 1500.00, at Performer.
        (m(150_000), 2500, m(37_500)),
        // A currency without minor digits: 22% of 333 yen is 73.26 yen.
        (Money::new(333, jpy), 2200, Money::new(73, jpy)),
        // The extremes of i64 do not overflow.
        (m(i64::MAX), 10_000, m(i64::MAX)),
        (m(i64::MIN), 10_000, m(i64::MIN)),
        (m(i64::MAX), 3000, m(2_767_011_611_056_432_742)),
        (m(i64::MIN), 3000, m(-2_767_011_611_056_432_742)),
        (m(i64::MIN), 9999, m(-9_222_449_699_651_090_330)),
        (m(i64::MAX), 0, m(0)),
    ];
    for (amount, bps, expected) in table {
        assert_eq!(
            base_commission(amount, rate(bps)).unwrap(),
            expected,
            "{bps} bps of {amount}"
        );
    }
}

#[test]
fn a_rate_is_at_most_the_whole() {
    assert_eq!(rate(10_000), Rate::WHOLE);
    assert_eq!(
        Rate::from_bps(10_001),
        Err(RulesError::RateAboveWhole { bps: 10_001 })
    );
    assert_eq!(rate(9_000).checked_add(rate(1_000)), Some(Rate::WHOLE));
    assert_eq!(rate(9_000).checked_add(rate(1_001)), None);
}

#[test]
fn elite_custom_is_an_extra_line_for_elite_partners_only() {
    let config = RulesConfig::default();
    let deal = usd_minor(150_000);
    let two_percent = Some(rate(200));
    for tier in [Tier::Starter, Tier::Active, Tier::Performer] {
        assert_eq!(elite_custom(deal, tier, two_percent, &config), Ok(None));
    }
    assert_eq!(
        elite_custom(deal, Tier::Elite, two_percent, &config),
        Ok(Some(usd_minor(3_000)))
    );
    // No agreed rate: the default of 0 gives no line.
    assert_eq!(elite_custom(deal, Tier::Elite, None, &config), Ok(None));
    let with_default = RulesConfig {
        elite_custom_default: rate(100),
        ..RulesConfig::default()
    };
    assert_eq!(
        elite_custom(deal, Tier::Elite, None, &with_default),
        Ok(Some(usd_minor(1_500)))
    );
    // 30% + 70% is the whole deal; one basis point more is refused.
    assert_eq!(
        elite_custom(deal, Tier::Elite, Some(rate(7_000)), &config),
        Ok(Some(usd_minor(105_000)))
    );
    assert_eq!(
        elite_custom(deal, Tier::Elite, Some(rate(7_001)), &config),
        Err(RulesError::CombinedRateAboveWhole {
            base: rate(3_000),
            custom: rate(7_001)
        })
    );
}

#[test]
fn clawbacks_and_totals() {
    let config = RulesConfig::default();
    let deal = usd_minor(111);
    let line = base_commission(deal, base_rate(Tier::Active, &config)).unwrap();
    let reversal = base_commission(usd_minor(-111), base_rate(Tier::Active, &config)).unwrap();
    assert_eq!(clawback(line), Ok(reversal));
    assert_eq!(total(usd(), [line, reversal]), Ok(usd_minor(0)));
    assert_eq!(total(usd(), []), Ok(usd_minor(0)));

    assert_eq!(clawback(usd_minor(i64::MIN)), Err(RulesError::Overflow));
    assert_eq!(
        total(usd(), [usd_minor(i64::MAX), usd_minor(1)]),
        Err(RulesError::Overflow)
    );
    // Intermediate sums may pass i64; only the total must fit.
    assert_eq!(
        total(usd(), [usd_minor(i64::MAX), usd_minor(1), usd_minor(-2)]),
        Ok(usd_minor(i64::MAX - 1))
    );
    let eur = Currency::parse("EUR").unwrap();
    assert_eq!(
        total(usd(), [usd_minor(1), Money::new(1, eur)]),
        Err(RulesError::CurrencyMismatch {
            expected: usd(),
            found: eur
        })
    );
}

#[test]
fn progress_examples() {
    let config = RulesConfig::default();
    let score = |deals, training_modules, support_engagements, satisfaction_centi| {
        progress(
            &ProgressInputs {
                deals,
                training_modules,
                support_engagements,
                satisfaction_centi,
            },
            &config,
        )
    };

    let nothing = score(0, 0, 0, 0);
    assert_eq!(
        (nothing.tier, nothing.next, nothing.per_mille),
        (Tier::Starter, Some(Tier::Active), 0)
    );

    // Starter with 2 of 3 deals (333 of 500), half the training (100 of
    // 200), a year of support (150 of 150) and 4.5/5 (150 of 150).
    let busy = score(2, 5, 12, 450);
    assert_eq!(busy.per_mille, 733);
    assert_eq!(busy.percent(), 73);
    let breakdown: Vec<_> = busy
        .components
        .iter()
        .map(|c| (c.component, c.counted, c.target, c.points, c.max_points))
        .collect();
    assert_eq!(
        breakdown,
        [
            (Component::Deals, 2, 3, 333, 500),
            (Component::Training, 5, 10, 100, 200),
            (Component::Support, 12, 12, 150, 150),
            (Component::Satisfaction, 450, 450, 150, 150),
        ]
    );

    // Promotion restarts the deal component: 3 deals is 0 of the 7 to Performer.
    let promoted = score(3, 5, 12, 450);
    assert_eq!((promoted.tier, promoted.per_mille), (Tier::Active, 400));
    // Caps: more than the cap counts as the cap.
    assert_eq!(score(3, 500, 1_000, 500).per_mille, 500);
    // Performer with 24 deals: 14 of 15 towards Elite, 466 of 500 points.
    assert_eq!(score(24, 10, 12, 450).per_mille, 966);

    let elite = score(25, 0, 0, 0);
    assert_eq!(
        (elite.tier, elite.next, elite.per_mille),
        (Tier::Elite, None, 1000)
    );
    assert_eq!(elite.percent(), 100);
    assert!(elite.components.is_empty());
}
