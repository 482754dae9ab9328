//! The programme as visitors read it before applying (`GET
//! /api/programme`, public): the tiers and shares of the rules the ledger
//! prices with, so the landing page promises what approvals pay.

use axum::{Json, extract::State};
use rules::RulesConfig;
use wire::{Programme, ProgrammeTier, Share};

use crate::{http::error::AppError, money::MoneyState};

pub async fn programme(State(state): State<MoneyState>) -> Result<Json<Programme>, AppError> {
    Ok(Json(of(&state.ledger.rules)?))
}

/// The programme a configuration makes.
pub fn of(rules: &RulesConfig) -> Result<Programme, AppError> {
    let tier = |t: rules::Tier| {
        wire::Tier::parse(t.as_str())
            .ok_or_else(|| AppError::from(anyhow::anyhow!("no wire tier {}", t.as_str())))
    };
    let share = |s: &rules::ShareRule| {
        Ok::<_, AppError>(Share {
            rate_bps: s.rate.bps(),
            min_tier: tier(s.min_tier)?,
        })
    };
    Ok(Programme {
        tiers: rules::Tier::ALL
            .into_iter()
            .map(|t| {
                let rule = rules.tiers.get(t);
                Ok(ProgrammeTier {
                    tier: tier(t)?,
                    min_deals: rule.min_deals,
                    base_rate_bps: rule.base_rate.bps(),
                })
            })
            .collect::<Result<_, AppError>>()?,
        referral: share(&rules.referral)?,
        team_override: share(&rules.team_override)?,
        deal_window_days: rules.deal_window_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_programme_is_the_rules_tier_table() {
        let mut rules = RulesConfig::default();
        rules.tiers.active.base_rate = rules::Rate::from_bps(2_350).unwrap();
        let programme = of(&rules).unwrap();
        let table: Vec<(&str, u32, u32)> = programme
            .tiers
            .iter()
            .map(|t| (t.tier.as_str(), t.min_deals, t.base_rate_bps))
            .collect();
        assert_eq!(
            table,
            [
                ("starter", 0, 2_000),
                ("active", 3, 2_350),
                ("performer", 10, 2_500),
                ("elite", 25, 3_000)
            ]
        );
        assert_eq!(
            (
                programme.referral.rate_bps,
                programme.referral.min_tier.as_str()
            ),
            (500, "active")
        );
        assert_eq!(programme.team_override.min_tier.as_str(), "performer");
        assert_eq!(programme.deal_window_days, 365);
    }
}
