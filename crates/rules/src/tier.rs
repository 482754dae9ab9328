//! Tiers, and the count of approved deals they follow from.

use std::fmt;

use model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Rate, RulesConfig};

/// Milliseconds in one day of the deal window.
pub const MS_PER_DAY: i64 = 86_400_000;

/// A partner's standing in the programme, lowest first. Each tier earns every
/// line the tiers below it earn, at its own base rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Starter,
    Active,
    Performer,
    Elite,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::Starter, Tier::Active, Tier::Performer, Tier::Elite];

    /// The tier of a partner with `deals` approved deals in the window: the
    /// highest tier whose threshold the count reaches. Promotion (and, as old
    /// deals leave the window, demotion) follows the deal count alone.
    pub fn for_deals(deals: u32, config: &RulesConfig) -> Tier {
        Tier::ALL
            .into_iter()
            .rev()
            .find(|tier| deals >= config.tiers.get(*tier).min_deals)
            .unwrap_or(Tier::Starter)
    }

    /// The tier above, or `None` for Elite.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Starter => Some(Tier::Active),
            Tier::Active => Some(Tier::Performer),
            Tier::Performer => Some(Tier::Elite),
            Tier::Elite => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Active => "active",
            Tier::Performer => "performer",
            Tier::Elite => "elite",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The base commission rate of a tier.
pub fn base_rate(tier: Tier, config: &RulesConfig) -> Rate {
    config.tiers.get(tier).base_rate
}

/// How many of `approvals` (approval times of a partner's deals) fall in the
/// trailing window ending at `now`: those with `now - window < t <= now`.
///
/// The window is `deal_window_days` days of exactly 24 hours, 365 by
/// default, rather than calendar months: days need no time zone (a calendar
/// month ends at a different instant in every one of them, and partners span
/// several), they mean the same thing on the server and in the browser
/// without a calendar library, and they are easy to state to a partner ("a
/// deal counts for 365 days after its approval"). Against a calendar year
/// they differ by at most one day, in leap years.
///
/// Approvals after `now` are not counted, so the tier at any past instant is
/// this count with `now` set to that instant. An approval at exactly `now`
/// counts: the tier for pricing a deal is computed at its approval time with
/// the deal included, so the deal that reaches a threshold (the third, the
/// tenth, the twenty-fifth) is already paid at the new tier's rate.
pub fn deals_in_window(
    approvals: impl IntoIterator<Item = Timestamp>,
    now: Timestamp,
    config: &RulesConfig,
) -> u32 {
    let window = i64::from(config.deal_window_days) * MS_PER_DAY;
    let start = now.0.saturating_sub(window);
    let count = approvals
        .into_iter()
        .filter(|t| start < t.0 && t.0 <= now.0)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}
