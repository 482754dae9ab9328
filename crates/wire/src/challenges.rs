//! Challenges admins define (`/api/admin/challenges`): a metric of the
//! leaderboards, an operator and a target, over each month, quarter or
//! year of the programme's calendar, and a reward. The words are the
//! schema's (`challenges`' CHECK constraints).

use serde::{Deserialize, Serialize};

/// The metrics, operators, spans and rewards a challenge may name.
pub const CHALLENGE_METRICS: [&str; 3] = ["deals", "training", "revenue"];
pub const CHALLENGE_OPERATORS: [&str; 2] = ["at_least", "more_than"];
pub const CHALLENGE_SPANS: [&str; 3] = ["month", "quarter", "year"];
pub const CHALLENGE_REWARDS: [&str; 2] = ["badge", "bonus"];

/// `POST /api/admin/challenges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChallenge {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// `deals` (approved), `training` (modules completed) or `revenue`.
    pub metric: String,
    /// For `revenue` only: the ISO 4217 code its deals are in.
    #[serde(default)]
    pub currency: Option<String>,
    /// `at_least` or `more_than`.
    pub operator: String,
    /// A count, or minor units of `currency` for revenue.
    pub target: i64,
    /// `month`, `quarter` or `year`: met again in each.
    pub span: String,
    /// `badge`, or `bonus` (which an admin approves, as a deal).
    pub reward: String,
    #[serde(default)]
    pub bonus_minor: Option<i64>,
    #[serde(default)]
    pub bonus_currency: Option<String>,
}

/// A challenge as stored (`GET /api/admin/challenges`, and the answer to
/// its creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub metric: String,
    /// Empty unless `revenue`.
    pub currency: String,
    pub operator: String,
    pub target: i64,
    pub span: String,
    pub reward: String,
    pub bonus_minor: Option<i64>,
    pub bonus_currency: Option<String>,
    pub active: bool,
    /// Achievements awarded, over every period.
    pub achieved: i64,
}
