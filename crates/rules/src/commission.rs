//! The commission lines: each one an amount of money computed from one other
//! amount, so the ledger can store it and link it to its source.
//!
//! The functions that depend on a tier return `None` when the tier does not
//! earn that line at all, and `Some` (possibly of zero, for tiny amounts)
//! when it does. Amounts may be negative: a negative deal amount gives the
//! negated lines, under the symmetric rounding of [`Rate::apply`].

use model::{Currency, Money};

use crate::{Rate, RulesConfig, RulesError, Tier, base_rate};

/// The base commission line of an approved deal: `amount × rate`, where
/// `rate` is the partner's [`base_rate`] at approval time.
pub fn base_commission(amount: Money, rate: Rate) -> Result<Money, RulesError> {
    rate.apply(amount)
}

/// A team leader's override on one of their team member's base commission
/// lines: the override rate of `base_line` (not of the deal), if the leader's
/// tier earns overrides (Performer and above by default).
///
/// Computing from the line rather than the deal is what lets the ledger link
/// the override to the line and reverse both together.
pub fn team_override(
    base_line: Money,
    leader_tier: Tier,
    config: &RulesConfig,
) -> Result<Option<Money>, RulesError> {
    share(
        base_line,
        leader_tier,
        config.team_override.min_tier,
        config.team_override.rate,
    )
}

/// The referral share of an order attributed to the partner's referral
/// link, if their tier earns it (Active and above by default).
pub fn referral_share(
    order: Money,
    tier: Tier,
    config: &RulesConfig,
) -> Result<Option<Money>, RulesError> {
    share(order, tier, config.referral.min_tier, config.referral.rate)
}

/// The Elite custom line of an approved deal: the partner's custom rate (set
/// by an admin, else `config.elite_custom_default`, 0 by default) of the deal
/// amount. `None` unless the partner is Elite and the rate is above zero.
///
/// The "custom" of the tier table is defined as an extra rate on top of the
/// base, negotiated per partner, and paid as its own line rather than folded
/// into the base rate, because:
/// - a statement then shows what the tier pays (30%) apart from what was
///   agreed with this partner (say +2%), and changing the agreement touches
///   one kind of line;
/// - a team leader's override is 10% of the member's *base* line, so a deal
///   negotiated with one partner does not raise what their leader earns;
/// - it is a rate, like every other line, so a clawback reverses it the
///   same way.
///
/// The base and the custom rate together may not exceed 100%.
pub fn elite_custom(
    amount: Money,
    tier: Tier,
    custom: Option<Rate>,
    config: &RulesConfig,
) -> Result<Option<Money>, RulesError> {
    let custom = custom.unwrap_or(config.elite_custom_default);
    if tier != Tier::Elite || custom == Rate::ZERO {
        return Ok(None);
    }
    let base = base_rate(Tier::Elite, config);
    if base.checked_add(custom).is_none() {
        return Err(RulesError::CombinedRateAboveWhole { base, custom });
    }
    custom.apply(amount).map(Some)
}

fn share(
    source: Money,
    tier: Tier,
    min_tier: Tier,
    rate: Rate,
) -> Result<Option<Money>, RulesError> {
    if tier < min_tier {
        return Ok(None);
    }
    rate.apply(source).map(Some)
}

/// What a deal of `amount` earns its partner when approved at the `base`
/// rate with the agreed Elite rate `extra` (zero otherwise): the base line
/// plus the custom line, each rounded as the ledger rounds it when it
/// appends them. The app shows it before a lead is marked won, from the
/// rates the partner's account view gives.
pub fn deal_earnings(amount: Money, base: Rate, extra: Rate) -> Result<Money, RulesError> {
    let lines = [base_commission(amount, base)?, extra.apply(amount)?];
    total(amount.currency, lines)
}

/// The line that reverses `line`: its negation. A deal and its clawback net
/// to zero exactly; the only amount that cannot be reversed is `i64::MIN`
/// minor units.
pub fn clawback(line: Money) -> Result<Money, RulesError> {
    let minor = line.minor.checked_neg().ok_or(RulesError::Overflow)?;
    Ok(Money::new(minor, line.currency))
}

/// The sum of `lines`, all of which must be in `currency`; summed in `i128`
/// so only a total that itself does not fit in `i64` is an overflow.
pub fn total(
    currency: Currency,
    lines: impl IntoIterator<Item = Money>,
) -> Result<Money, RulesError> {
    let mut sum: i128 = 0;
    for line in lines {
        if line.currency != currency {
            return Err(RulesError::CurrencyMismatch {
                expected: currency,
                found: line.currency,
            });
        }
        sum += i128::from(line.minor);
    }
    let minor = i64::try_from(sum).map_err(|_| RulesError::Overflow)?;
    Ok(Money::new(minor, currency))
}
