//! A team leader's view of their team: each member's figures and the
//! leader's overrides, computed by the server from its tables and read by
//! the leader's devices, offline too ("as of" its `computed_at`).
//!
//! It is held as a server-written JSON view (`crate::json_doc`, kind
//! [`TEAM_KIND`], one per team leader, owned by the leader's partner):
//! collections that grow are objects keyed by id, so a change to one
//! member writes that member's changed fields and nothing else.
//!
//! Money is integer minor units beside its ISO 4217 code; times are
//! milliseconds since the Unix epoch. Figures "in the period" are over
//! [`TeamView::period`], the month in the programme's time zone, which
//! the server decides (never a device's clock or zone).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The value of the root `kind` field of a team view.
pub const TEAM_KIND: &str = "team";
/// The most deals listed per member, the most recent.
pub const MEMBER_DEALS: usize = 20;
/// The most override lines listed, the most recent.
pub const OVERRIDE_LINES: usize = 50;
/// The most invitees listed, the most recent.
pub const INVITEES: usize = 50;

/// What a team leader sees of their team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub period: TeamPeriod,
    /// By partner id.
    pub members: BTreeMap<String, MemberFigures>,
    pub overrides: OverrideReview,
    /// Who applied by the leader's invite link, by account id, at most
    /// [`INVITEES`], the most recent.
    pub invitees: BTreeMap<String, Invitee>,
}

/// Someone who applied by the leader's invite link, and where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    pub name: String,
    /// `applied` (waiting for the back-office), `approved` or `rejected`.
    pub status: String,
    pub applied_at: i64,
    pub decided_at: Option<i64>,
    /// Approved into this leader's team (an admin may place them
    /// elsewhere).
    pub in_team: bool,
}

impl TeamView {
    /// Invitees, the most recent first.
    pub fn recent_invitees(&self) -> Vec<&Invitee> {
        let mut all: Vec<_> = self.invitees.values().collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.applied_at));
        all
    }
}

/// A period of the programme's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamPeriod {
    /// `2026-12` for a month, `2026-Q4` for a quarter, `2026` for a year.
    pub key: String,
    /// Its first instant, and the first instant after it.
    pub starts_at: i64,
    pub ends_at: i64,
    /// The IANA zone the programme's calendar is in.
    pub time_zone: String,
}

/// One member's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFigures {
    pub name: String,
    pub account_id: String,
    pub tier: String,
    /// Progress towards `next_tier`, per mille.
    pub progress_per_mille: u16,
    pub next_tier: Option<String>,
    /// Open leads (not won, lost or archived) by stage and currency, in
    /// the pipeline's order of stages.
    pub pipeline: Vec<StageTotal>,
    /// Deals filed in the period and still standing (submitted or
    /// approved, not reversed).
    pub won_in_period: u32,
    /// Leads marked lost in the period.
    pub lost_in_period: u32,
    pub modules_done: u32,
    /// Assigned modules not completed yet, and those of them past their day.
    pub assignments_open: u32,
    pub assignments_overdue: u32,
    /// The last change the server saw of theirs (a lead, a lesson), never
    /// later than `computed_at`.
    pub last_active_at: Option<i64>,
    /// Their deals by lead id, at most [`MEMBER_DEALS`], the most recent.
    pub deals: BTreeMap<String, MemberDeal>,
}

impl MemberFigures {
    /// Won out of decided (won or lost) in the period, in whole percent;
    /// `None` when nothing was decided.
    pub fn win_rate_percent(&self) -> Option<u32> {
        let decided = u64::from(self.won_in_period) + u64::from(self.lost_in_period);
        (decided > 0).then(|| {
            let percent = u64::from(self.won_in_period) * 100 / decided;
            u32::try_from(percent).unwrap_or(100)
        })
    }

    /// Deals, the most recent first.
    pub fn recent_deals(&self) -> Vec<(&String, &MemberDeal)> {
        let mut deals: Vec<_> = self.deals.iter().collect();
        deals.sort_by_key(|(id, d)| (std::cmp::Reverse(d.at), *id));
        deals
    }
}

/// Open leads of one stage in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTotal {
    pub stage: String,
    pub leads: u32,
    pub value_minor: i64,
    pub currency: String,
}

/// A member's deal and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDeal {
    pub contact: String,
    pub company: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `submitted`, `withdrawn`, `approved`, `rejected`, or `reversed`
    /// (approved, then refunded and clawed back).
    pub status: String,
    /// When it was decided, else when it was filed.
    pub at: i64,
}

/// The leader's overrides: what they earned from their team's deals, and,
/// while their tier earns none, what they would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideReview {
    pub leader_tier: String,
    /// Whether the leader's tier earns overrides now.
    pub earns: bool,
    /// The first tier that earns them, and its rate on a member's base line.
    pub from_tier: String,
    pub rate_bps: u32,
    /// The leader's own approved deals (in the deal window) still missing
    /// to reach `from_tier`; 0 once there.
    pub deals_to_go: u32,
    /// Override lines by ledger line id, at most [`OVERRIDE_LINES`], the
    /// most recent.
    pub lines: BTreeMap<String, OverrideLine>,
    /// The members' base lines in the deal window that paid the leader no
    /// override, and what they would have paid at `rate_bps`, per currency.
    pub missed: Vec<MissedOverrides>,
}

impl OverrideReview {
    /// Lines, the most recent first.
    pub fn recent_lines(&self) -> Vec<&OverrideLine> {
        let mut lines: Vec<_> = self.lines.values().collect();
        lines.sort_by_key(|l| std::cmp::Reverse(l.accrued_at));
        lines
    }
}

/// One override line and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideLine {
    pub member: String,
    pub member_name: String,
    pub lead_id: Option<String>,
    /// The customer of the deal, as its lead names them (either may be
    /// empty: a lead the member deleted names neither; absent in a view
    /// written before they were two fields).
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub company: String,
    pub amount_minor: i64,
    pub currency: String,
    pub accrued_at: i64,
    /// Clawed back since (the member's deal was refunded).
    pub reversed: bool,
}

/// What overrides the team's deals would have earned, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedOverrides {
    pub currency: String,
    pub deals: u32,
    pub amount_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(won: u32, lost: u32) -> MemberFigures {
        MemberFigures {
            name: "Ben".into(),
            account_id: "a-ben".into(),
            tier: "starter".into(),
            progress_per_mille: 0,
            next_tier: Some("active".into()),
            pipeline: Vec::new(),
            won_in_period: won,
            lost_in_period: lost,
            modules_done: 0,
            assignments_open: 0,
            assignments_overdue: 0,
            last_active_at: None,
            deals: BTreeMap::new(),
        }
    }

    #[test]
    fn win_rate_is_won_out_of_decided_rounded_down() {
        assert_eq!(member(0, 0).win_rate_percent(), None);
        assert_eq!(member(2, 1).win_rate_percent(), Some(66));
        assert_eq!(member(0, 3).win_rate_percent(), Some(0));
        assert_eq!(member(u32::MAX, u32::MAX).win_rate_percent(), Some(50));
        assert_eq!(member(u32::MAX, 0).win_rate_percent(), Some(100));
    }
}
