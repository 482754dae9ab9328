//! Rates as whole basis points, and the one rounding rule of the crate.

use std::fmt;

use model::Money;
use serde::{Deserialize, Serialize};

use crate::RulesError;

/// Basis points in 100%.
const WHOLE_BPS: u32 = 10_000;

/// A share of an amount, in whole basis points (1 bp = 0.01%), from 0 to
/// 100% inclusive.
///
/// Basis points are exact where a float is not (22% is 2200, not
/// 0.22000000000000000111), and fine enough for every rate in the programme.
/// A commission share above the whole amount makes no sense, so it does not
/// construct; that bound is also why [`Rate::apply`] always fits in `i64`.
/// In configuration files a rate is the bare integer of basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Rate(u32);

impl Rate {
    pub const ZERO: Rate = Rate(0);
    pub const WHOLE: Rate = Rate(WHOLE_BPS);

    /// A rate of `bps` basis points; more than 10 000 (100%) is an error.
    pub fn from_bps(bps: u32) -> Result<Rate, RulesError> {
        if bps > WHOLE_BPS {
            return Err(RulesError::RateAboveWhole { bps });
        }
        Ok(Rate(bps))
    }

    /// For the defaults, which are known to be in range.
    pub(crate) const fn percent(p: u32) -> Rate {
        assert!(p <= 100, "a percentage above 100");
        Rate(p * 100)
    }

    pub fn bps(self) -> u32 {
        self.0
    }

    /// The two rates added, if the sum is still at most 100%.
    pub fn checked_add(self, other: Rate) -> Option<Rate> {
        Rate::from_bps(self.0 + other.0).ok()
    }

    /// `amount × rate`, rounded to the minor unit half away from zero.
    ///
    /// Half away from zero (0.005 → 0.01, -0.005 → -0.01) rather than half
    /// up towards +∞ or half to even, because it is symmetric:
    /// `apply(-x) == -apply(x)` for every `x`, so a clawback of a line (the
    /// negated deal amount) cancels the line exactly, and a partner's
    /// statement never drifts by a cent between a deal and its reversal. The
    /// product is taken in `i128`, so nothing is lost before the single
    /// rounding step.
    ///
    /// The error is unreachable while rates are at most 100% (the result is
    /// then no larger than `amount` in magnitude); it is kept so that no
    /// caller has to rely on that argument.
    pub fn apply(self, amount: Money) -> Result<Money, RulesError> {
        let exact = i128::from(amount.minor) * i128::from(self.0);
        let minor = div_round_half_away_from_zero(exact, i128::from(WHOLE_BPS));
        let minor = i64::try_from(minor).map_err(|_| RulesError::Overflow)?;
        Ok(Money::new(minor, amount.currency))
    }
}

/// `n / d` rounded to the nearest integer, ties away from zero; `d > 0`.
fn div_round_half_away_from_zero(n: i128, d: i128) -> i128 {
    // Rust's division truncates towards zero and the remainder takes the sign
    // of `n`, so the quotient only ever needs to move one step away from zero.
    let quotient = n / d;
    let remainder = n % d;
    if 2 * remainder.abs() >= d {
        quotient + n.signum()
    } else {
        quotient
    }
}

impl TryFrom<u32> for Rate {
    type Error = RulesError;
    fn try_from(bps: u32) -> Result<Rate, RulesError> {
        Rate::from_bps(bps)
    }
}

impl From<Rate> for u32 {
    fn from(rate: Rate) -> u32 {
        rate.0
    }
}

/// As a percentage with two decimals: `22.00%`, `12.50%`.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_away_from_zero_and_the_rest_to_the_nearest() {
        let cases = [
            (0, 0),
            (4_999, 0),
            (5_000, 1),
            (5_001, 1),
            (14_999, 1),
            (15_000, 2),
            (-4_999, 0),
            (-5_000, -1),
            (-15_000, -2),
            (-15_001, -2),
        ];
        for (n, expected) in cases {
            assert_eq!(div_round_half_away_from_zero(n, 10_000), expected, "{n}");
        }
    }

    #[test]
    fn displays_as_a_percentage() {
        assert_eq!(Rate::percent(22).to_string(), "22.00%");
        assert_eq!(Rate::from_bps(1_250).unwrap().to_string(), "12.50%");
        assert_eq!(Rate::from_bps(5).unwrap().to_string(), "0.05%");
    }
}
