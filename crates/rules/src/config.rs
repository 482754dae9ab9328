//! Every number the rules use, with the programme's defaults, in one place.
//!
//! The defaults are the product vision's tier table (`shared/product-vision.md`).
//! The configuration is serde data so the server can read it from a file and,
//! once the PWA previews earnings (not yet), hand it the very same values. A file only
//! needs the keys it changes; the rest keep their defaults (a tier or a share
//! rule it names is given whole: its two numbers go together). Unknown keys are
//! refused, because a misspelt rate silently falling back to its default
//! would pay partners the wrong amount.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Rate, RulesError, Tier};

/// The rules' configuration. Deserializing checks it ([`RulesConfig::check`]);
/// a value built in code should be checked the same way before use.
///
/// The functions of this crate stay total for any configuration (no panics,
/// no division by zero), but only a checked one gives meaningful results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Deal thresholds and base rates of the four tiers.
    pub tiers: TierTable,
    /// A share of an order attributed to the partner's referral link.
    /// Default 5%, from Active.
    pub referral: ShareRule,
    /// A team leader's share of each team member's base commission line.
    /// Default 10%, from Performer.
    pub team_override: ShareRule,
    /// The Elite custom rate of a partner the admin has not set one for.
    /// Default 0: the "custom" of the tier table is negotiated per partner,
    /// and none is agreed until an admin says so. See [`crate::elite_custom`].
    #[serde(rename = "elite_custom_default_bps")]
    pub elite_custom_default: Rate,
    /// Length of the trailing window in which approved deals count towards a
    /// tier, in days of exactly 86 400 000 ms. Default 365 ("twelve months";
    /// see [`crate::deals_in_window`] for why days and not calendar months).
    pub deal_window_days: u32,
    /// How the tier progress score is made.
    pub progress: ProgressConfig,
}

/// What one tier needs and pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Approved deals in the window from which a partner holds this tier.
    pub min_deals: u32,
    /// Share of an approved deal's amount paid as the base commission line.
    #[serde(rename = "base_rate_bps")]
    pub base_rate: Rate,
}

/// The four tiers' rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierTable {
    pub starter: TierRule,
    pub active: TierRule,
    pub performer: TierRule,
    pub elite: TierRule,
}

impl TierTable {
    pub fn get(&self, tier: Tier) -> &TierRule {
        match tier {
            Tier::Starter => &self.starter,
            Tier::Active => &self.active,
            Tier::Performer => &self.performer,
            Tier::Elite => &self.elite,
        }
    }
}

impl Default for TierTable {
    fn default() -> Self {
        let rule = |min_deals, percent| TierRule {
            min_deals,
            base_rate: Rate::percent(percent),
        };
        TierTable {
            starter: rule(0, 20),
            active: rule(3, 22),
            performer: rule(10, 25),
            elite: rule(25, 30),
        }
    }
}

/// A share paid from some tier upwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareRule {
    #[serde(rename = "rate_bps")]
    pub rate: Rate,
    /// The lowest tier that earns the share; every higher tier earns it too.
    pub min_tier: Tier,
}

/// How the progress score towards the next tier is weighted and capped.
///
/// Each component is a count normalised to `[0, 1]` as `min(count, cap) /
/// cap`. For deals the "cap" is the distance between the current tier's
/// threshold and the next one's, so the bar starts empty on promotion and is
/// full exactly when the deal count alone would promote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgressConfig {
    pub weights: ProgressWeights,
    /// Training modules completed at which training counts in full.
    /// Default 10.
    pub training_modules_cap: u32,
    /// Support engagements (sessions, resolved tickets: the caller decides
    /// what counts, over the same window as deals) at which support counts in
    /// full. Default 12, about one a month.
    pub support_engagements_cap: u32,
    /// Average satisfaction, in hundredths of a point on the 0–5 scale, at
    /// which satisfaction counts in full. Default 450: the product's 4.5/5
    /// target, so a partner who meets it is not asked for more.
    pub satisfaction_cap_centi: u32,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            weights: ProgressWeights::default(),
            training_modules_cap: 10,
            support_engagements_cap: 12,
            satisfaction_cap_centi: 450,
        }
    }
}

/// Weights of the progress components, in percent; they add up to 100.
///
/// Defaults 50 / 20 / 15 / 15: deals weigh half because promotion follows
/// deals alone, so the score must not look nearly complete while the deal
/// count is far from the next threshold; training comes next because it is
/// what the programme can ask of a new partner (the onboarding goal is a
/// first deal within 30 days, through training); support engagement and
/// satisfaction share the rest as the retention signals of the vision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgressWeights {
    pub deals: u32,
    pub training: u32,
    pub support: u32,
    pub satisfaction: u32,
}

impl ProgressWeights {
    pub(crate) fn sum(&self) -> u64 {
        u64::from(self.deals)
            + u64::from(self.training)
            + u64::from(self.support)
            + u64::from(self.satisfaction)
    }
}

impl Default for ProgressWeights {
    fn default() -> Self {
        ProgressWeights {
            deals: 50,
            training: 20,
            support: 15,
            satisfaction: 15,
        }
    }
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            tiers: TierTable::default(),
            referral: ShareRule {
                rate: Rate::percent(5),
                min_tier: Tier::Active,
            },
            team_override: ShareRule {
                rate: Rate::percent(10),
                min_tier: Tier::Performer,
            },
            elite_custom_default: Rate::ZERO,
            deal_window_days: 365,
            progress: ProgressConfig::default(),
        }
    }
}

impl RulesConfig {
    /// Checks what the types cannot say: the tier thresholds start at 0 and
    /// rise strictly, the window and every cap are positive, the progress
    /// weights add up to 100, and the Elite base rate plus the default custom
    /// rate is at most 100%.
    pub fn check(&self) -> Result<(), RulesError> {
        let bad = |why: String| Err(RulesError::InvalidConfig(why));
        let t = &self.tiers;
        if t.starter.min_deals != 0 {
            return bad(format!(
                "tiers.starter.min_deals must be 0, not {}",
                t.starter.min_deals
            ));
        }
        for pair in Tier::ALL.windows(2) {
            let (lower, upper) = (t.get(pair[0]).min_deals, t.get(pair[1]).min_deals);
            if upper <= lower {
                return bad(format!(
                    "tiers.{}.min_deals ({upper}) must be more than tiers.{}.min_deals ({lower})",
                    pair[1], pair[0]
                ));
            }
        }
        if self.deal_window_days == 0 {
            return bad("deal_window_days must be at least 1".into());
        }
        let p = &self.progress;
        for (name, cap) in [
            ("training_modules_cap", p.training_modules_cap),
            ("support_engagements_cap", p.support_engagements_cap),
            ("satisfaction_cap_centi", p.satisfaction_cap_centi),
        ] {
            if cap == 0 {
                return bad(format!("progress.{name} must be at least 1"));
            }
        }
        if p.weights.sum() != 100 {
            return bad(format!(
                "progress.weights must add up to 100, not {}",
                p.weights.sum()
            ));
        }
        if t.elite
            .base_rate
            .checked_add(self.elite_custom_default)
            .is_none()
        {
            return bad(format!(
                "tiers.elite.base_rate_bps plus elite_custom_default_bps is above 100% ({} + {})",
                t.elite.base_rate, self.elite_custom_default
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for RulesConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `remote = "Self"` makes the derived code an inherent function, so
        // this impl can run the check on what it produced.
        let config = RulesConfig::deserialize(deserializer)?;
        config.check().map_err(serde::de::Error::custom)?;
        Ok(config)
    }
}

impl Serialize for RulesConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RulesConfig::serialize(self, serializer)
    }
}
