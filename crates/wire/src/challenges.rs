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
/// Where an achievement's bonus stands (`achievements.bonus_status`):
/// `none` for a badge.
pub const BONUS_STATUSES: [&str; 4] = ["none", "pending", "approved", "rejected"];

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

/// A bonus a met challenge earned, as the back-office lists it (`GET
/// /api/admin/bonuses`): the amount was frozen when it was awarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BonusEntry {
    /// The achievement's id, which `approve` and `reject` name.
    pub id: i64,
    pub partner_id: String,
    pub partner_name: String,
    pub challenge: String,
    /// The period it was met in: `2026-12`, `2026-Q4`, `2026`.
    pub period: String,
    /// The partner's score when it was awarded.
    pub score: i64,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// RFC 3339.
    pub achieved_at: String,
    /// Why it was not approved.
    pub reason: Option<String>,
    /// The ledger line an approval appended.
    pub line_id: Option<i64>,
}
