//! The programme as a visitor reads it before applying: the four tiers,
//! what each asks and pays, and the shares paid on top (`GET
//! /api/programme`, public). The figures are the server's rules
//! configuration, so the landing page never promises other rates than the
//! ledger pays.

use serde::{Deserialize, Serialize};

use crate::Tier;

/// `GET /api/programme`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    /// Lowest first.
    pub tiers: Vec<ProgrammeTier>,
    /// A share of each order bought through the partner's referral link.
    pub referral: Share,
    /// A team leader's share of each team member's base commission.
    pub team_override: Share,
    /// Approved deals count towards a tier for this many days.
    pub deal_window_days: u32,
}

/// One tier: from how many approved deals in the window, at what base rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeTier {
    pub tier: Tier,
    pub min_deals: u32,
    pub base_rate_bps: u32,
}

/// A share paid from some tier upwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub rate_bps: u32,
    pub min_tier: Tier,
}
