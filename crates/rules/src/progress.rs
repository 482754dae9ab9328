//! The tier progress score: how far a partner is towards the next tier.
//!
//! The score mixes four components (deals, training, support engagement,
//! satisfaction) so the progress bar rewards the habits that keep partners
//! going, but it does not promote anyone: promotion follows the deal count
//! alone ([`Tier::for_deals`]). The score is a whole number of per-mille so
//! the server and the PWA show the same figure, and it comes with its
//! breakdown so the UI can say what counts and what is missing.
//!
//! Each component earns `floor(1000 × weight / Σweights × min(count, cap) /
//! cap)` points (one exact integer division), and the score is their sum:
//! every component is monotonic in its count, the breakdown adds up to the
//! score exactly, and (with weights adding up to 100, as a checked
//! configuration's do) the score is 1000 exactly when every component is
//! full: rounding down never shows a partner 100% too early.
//! The deal component is measured from the current tier's threshold to the
//! next one's. It fills exactly when the deal that promotes is approved, and
//! the score then restarts at the new tier: it is monotonic in deals within a
//! tier, not across a promotion, and below Elite it stays under 1000 however
//! complete the other components are, because deals alone promote.

use crate::{RulesConfig, Tier};

/// The largest score: 100.0%.
const FULL: u16 = 1000;

/// What a partner has done, as counts over the deal window (the caller
/// decides what an engagement is and counts it over the same window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressInputs {
    /// Approved deals in the window ([`crate::deals_in_window`]).
    pub deals: u32,
    /// Training modules completed.
    pub training_modules: u32,
    /// Support engagements.
    pub support_engagements: u32,
    /// Average satisfaction in hundredths of a point on the 0–5 scale (450 is
    /// 4.5/5); 0 when there are no ratings yet.
    pub satisfaction_centi: u32,
}

/// One of the things the progress score counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Deals,
    Training,
    Support,
    Satisfaction,
}

/// How one component contributes to the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentScore {
    pub component: Component,
    /// What counts, capped at `target`. For deals: deals beyond the current
    /// tier's threshold.
    pub counted: u32,
    /// What fills the component. For deals: the deals between this tier's
    /// threshold and the next one's.
    pub target: u32,
    /// The most points this component can earn, per mille of the score.
    pub max_points: u16,
    /// The points it earns, per mille of the score.
    pub points: u16,
}

/// Progress towards the next tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The tier the deal count gives now.
    pub tier: Tier,
    /// The tier being worked towards; `None` at Elite.
    pub next: Option<Tier>,
    /// The score, 0 to 1000 per mille; 1000 at Elite.
    pub per_mille: u16,
    /// The components, in the order deals, training, support, satisfaction;
    /// their points add up to `per_mille`. Empty at Elite: nothing is left to
    /// count.
    pub components: Vec<ComponentScore>,
}

impl Progress {
    /// The score in whole percent, rounded down so that 100% means done.
    pub fn percent(&self) -> u8 {
        // At most 1000 / 10 = 100.
        u8::try_from(self.per_mille / 10).unwrap_or(100)
    }
}

/// The progress score of a partner with `inputs` under `config`.
pub fn progress(inputs: &ProgressInputs, config: &RulesConfig) -> Progress {
    let tier = Tier::for_deals(inputs.deals, config);
    let Some(next) = tier.next() else {
        return Progress {
            tier,
            next: None,
            per_mille: FULL,
            components: Vec::new(),
        };
    };
    let from = config.tiers.get(tier).min_deals;
    let to = config.tiers.get(next).min_deals;
    let p = &config.progress;
    let weights = p.weights;
    let total_weight = weights.sum();
    let parts = [
        (
            Component::Deals,
            weights.deals,
            inputs.deals.saturating_sub(from),
            to.saturating_sub(from),
        ),
        (
            Component::Training,
            weights.training,
            inputs.training_modules,
            p.training_modules_cap,
        ),
        (
            Component::Support,
            weights.support,
            inputs.support_engagements,
            p.support_engagements_cap,
        ),
        (
            Component::Satisfaction,
            weights.satisfaction,
            inputs.satisfaction_centi,
            p.satisfaction_cap_centi,
        ),
    ];
    let components: Vec<ComponentScore> = parts
        .into_iter()
        .map(|(component, weight, count, cap)| {
            let counted = count.min(cap);
            ComponentScore {
                component,
                counted,
                target: cap,
                max_points: points(weight, total_weight, 1, 1),
                // A zero cap (only in an unchecked configuration) asks for
                // nothing, so the component is full.
                points: if cap == 0 {
                    points(weight, total_weight, 1, 1)
                } else {
                    points(weight, total_weight, counted, cap)
                },
            }
        })
        .collect();
    let per_mille = components.iter().map(|c| c.points).sum::<u16>().min(FULL);
    Progress {
        tier,
        next: Some(next),
        per_mille,
        components,
    }
}

/// `floor(1000 × weight × counted / (total_weight × cap))`, with
/// `counted <= cap`; 0 when no weight is given at all.
fn points(weight: u32, total_weight: u64, counted: u32, cap: u32) -> u16 {
    let numerator = u128::from(FULL) * u128::from(weight) * u128::from(counted);
    let denominator = u128::from(total_weight) * u128::from(cap);
    if denominator == 0 {
        return 0;
    }
    // weight <= total_weight and counted <= cap, so this is at most 1000.
    u16::try_from(numerator / denominator).unwrap_or(FULL)
}
