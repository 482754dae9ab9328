//! A partner's standings: where they rank on the programme's
//! leaderboards, computed and ranked by the server (`rules::rank`, its
//! tie-break) and read by the partner's devices, offline too.
//!
//! Held as a server-written JSON view (`crate::json_doc`, kind
//! [`STANDINGS_KIND`], one per partner, owned by them). Each board is an
//! entry keyed by [`board_id`]: a month, quarter or year of the
//! programme's calendar (the current one, and the one before, which is
//! frozen once closed), a metric, and a scope (the whole programme, or the
//! partner's team). A board carries its top three and the partner's
//! neighbours, not every partner.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The value of the root `kind` field of a standings document.
pub const STANDINGS_KIND: &str = "standings";
/// How many of the top a board carries.
pub const BOARD_TOP: usize = 3;
/// How many neighbours on each side of the partner a board carries.
pub const BOARD_NEIGHBOURS: usize = 2;

/// A partner's boards, by [`board_id`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Standings {
    pub boards: BTreeMap<String, Board>,
    /// The active challenges, by id, with where the partner stands on each
    /// in its current period.
    #[serde(default)]
    pub challenges: BTreeMap<String, ChallengeProgress>,
    /// What the partner achieved, by achievement id, the most recent
    /// [`ACHIEVEMENTS`].
    #[serde(default)]
    pub achievements: BTreeMap<String, Achievement>,
}

/// The most achievements a standings document lists.
pub const ACHIEVEMENTS: usize = 50;

/// A challenge and the partner's score on it this period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeProgress {
    pub title: String,
    pub description: String,
    /// `deals`, `training` or `revenue` (in `currency`).
    pub metric: String,
    pub currency: Option<String>,
    /// `at_least` or `more_than`.
    pub operator: String,
    pub target: i64,
    pub span: String,
    pub period: String,
    pub score: i64,
    /// Met this period (an achievement awarded).
    pub met: bool,
    /// `badge`, or `bonus` of `bonus_minor` in `bonus_currency`.
    pub reward: String,
    pub bonus_minor: Option<i64>,
    pub bonus_currency: Option<String>,
}

/// A challenge met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Achievement {
    pub title: String,
    pub period: String,
    pub reward: String,
    pub achieved_at: i64,
    /// A bonus reward: its amount, frozen when it was met, and where the
    /// admin's decision stands. Absent for a badge (and in documents
    /// written before bonuses were decided).
    #[serde(default)]
    pub bonus: Option<AchievementBonus>,
}

/// A met challenge's bonus, as the partner follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AchievementBonus {
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why it was not approved.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One leaderboard as one partner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    /// `month`, `quarter` or `year`.
    pub span: String,
    /// The period's key: `2026-12`, `2026-Q4`, `2026`.
    pub period: String,
    /// A closed period, frozen: later data does not move it.
    pub closed: bool,
    /// `deals` (approved), `training` (modules completed) or `revenue`
    /// (approved deals' amounts, in `currency`).
    pub metric: String,
    pub currency: Option<String>,
    /// `programme` or `team`.
    pub scope: String,
    /// How many partners are ranked (a score above zero).
    pub ranked: u32,
    /// The partner's own place; `None` while they score nothing.
    pub me: Option<Place>,
    /// The top [`BOARD_TOP`] and the partner's neighbours, by rank.
    pub entries: Vec<Entry>,
}

/// Where the partner stands on a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub rank: u32,
    pub score: i64,
    /// In the top this many percent of those ranked.
    pub top_percent: u32,
}

/// One line of a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub partner: String,
    pub name: String,
    pub rank: u32,
    pub score: i64,
    /// Lines of the board are left out before this one (between the top
    /// and the partner's neighbours).
    pub gap_before: bool,
}

/// The key of a board in [`Standings::boards`]: span, which period
/// (`current` or `previous`), metric (with its currency) and scope.
pub fn board_id(
    span: &str,
    which: &str,
    metric: &str,
    currency: Option<&str>,
    scope: &str,
) -> String {
    match currency {
        Some(c) => format!("{span}-{which}-{metric}.{c}-{scope}"),
        None => format!("{span}-{which}-{metric}-{scope}"),
    }
}

/// The lines of a ranked board one partner is shown: the top
/// [`BOARD_TOP`], and [`BOARD_NEIGHBOURS`] each side of `me` (its index in
/// `ranked`), in rank order, each once.
pub fn excerpt(ranked: usize, me: Option<usize>) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..ranked.min(BOARD_TOP)).collect();
    if let Some(me) = me.filter(|m| *m < ranked) {
        let from = me.saturating_sub(BOARD_NEIGHBOURS);
        let to = (me + BOARD_NEIGHBOURS).min(ranked - 1);
        shown.extend((from..=to).filter(|i| *i >= BOARD_TOP.min(ranked)));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_sees_the_top_and_their_neighbours_once_each() {
        assert_eq!(excerpt(0, None), Vec::<usize>::new());
        assert_eq!(excerpt(10, None), [0, 1, 2]);
        // In the top: nothing twice.
        assert_eq!(excerpt(10, Some(1)), [0, 1, 2, 3]);
        assert_eq!(excerpt(10, Some(4)), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(excerpt(100, Some(49)), [0, 1, 2, 47, 48, 49, 50, 51]);
        // Last: no neighbours past the end.
        assert_eq!(excerpt(10, Some(9)), [0, 1, 2, 7, 8, 9]);
        assert_eq!(excerpt(2, Some(1)), [0, 1]);
        assert_eq!(excerpt(2, Some(7)), [0, 1]);
    }

    #[test]
    fn boards_are_keyed_by_span_period_metric_and_scope() {
        assert_eq!(
            board_id("month", "current", "deals", None, "team"),
            "month-current-deals-team"
        );
        assert_eq!(
            board_id("year", "previous", "revenue", Some("EUR"), "programme"),
            "year-previous-revenue.EUR-programme"
        );
    }
}
