//! The standings writer: ranks every board and keeps each partner's
//! `standings` document (model `Standings`) equal to their places on them.
//!
//! Boards: for each span of the programme's calendar (month, quarter,
//! year) the current period, live, and the one before, frozen
//! (`boards::frozen`); for each metric (`boards.rs`); across the programme
//! and within each team. Ranks are `rules::rank`'s: by score, then by who
//! reached it first, a shared rank when both tie. Each partner is shown the
//! top and their neighbours (`model::board_excerpt`).
//!
//! A pass ranks everything and writes the documents whose boards moved
//! (only what differs, `model::json_doc`). Passes run at start, after
//! `FiguresMoved` (a decision, a deal filed, a lesson done: what scores
//! are made of; ids that arrive during a pass make one more pass, and
//! passes are at least [`MIN_GAP`] apart, so a burst of decisions is one
//! or two passes, not one per decision), after `ChallengesChanged` (one
//! defined or ended), and when a period ends.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use model::{Board, BoardEntry, Place, Standings};
use sqlx::PgPool;

use super::{
    boards::{self, Metric, Row},
    challenges,
};
use crate::{
    events::{ChallengesChanged, FiguresMoved, Inbox},
    platform::{
        periods::{self, Period, Span, Zone},
        residency::Residency,
        server_docs::{self, WriteError},
    },
};

/// The shortest time between two passes.
const MIN_GAP: Duration = Duration::from_secs(1);
/// The longest the worker sleeps before looking at the clock again.
const MAX_NAP: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct StandingsWriter {
    pub pool: PgPool,
    pub residency: Arc<Residency>,
    pub zone: Zone,
}

/// Runs the worker: a pass at start, then after figures move and when a
/// period ends.
pub async fn run(
    writer: StandingsWriter,
    mut moved: Inbox<FiguresMoved>,
    mut challenges_changed: Inbox<ChallengesChanged>,
) {
    // The fingerprint of what each document holds (a retried pass keeps
    // what the failed one wrote).
    let written: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
    loop {
        let started = Instant::now();
        let next_end = sync::retry_forever(
            || pass(&writer, &written),
            tokio::time::sleep,
            |error, delay| tracing::warn!(%error, ?delay, "leaderboard pass failed; retrying"),
        )
        .await;
        let nap = (next_end - Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(MAX_NAP);
        tokio::select! {
            received = moved.recv() => {
                if received.is_none() {
                    return;
                }
                // What else arrives meanwhile rides on the same pass.
                tokio::time::sleep(MIN_GAP.saturating_sub(started.elapsed())).await;
                while moved.try_recv().is_ok() {}
            }
            Some(ChallengesChanged) = challenges_changed.recv() => {
                tokio::time::sleep(MIN_GAP.saturating_sub(started.elapsed())).await;
                while challenges_changed.try_recv().is_ok() {}
            }
            () = tokio::time::sleep(nap) => {}
        }
    }
}

/// One ranked board, before it is cut for a partner.
struct Ranked {
    span: Span,
    which: &'static str,
    period: Period,
    closed: bool,
    metric: Metric,
    /// `None` for the programme; a team's key for a team board.
    team: Option<String>,
    ranked: Vec<rules::Ranked>,
    /// Each ranked partner's place in `ranked`.
    at: HashMap<String, usize>,
}

fn scores(rows: &[Row]) -> Vec<rules::Score> {
    rows.iter()
        .map(|r| rules::Score {
            partner: r.partner.clone(),
            score: r.score,
            reached_at: r.reached_at.timestamp_millis(),
        })
        .collect()
}

/// Ranks every board of `which` period.
fn rank_all(
    out: &mut Vec<Ranked>,
    span: Span,
    which: &'static str,
    period: &Period,
    closed: bool,
    metrics: &BTreeMap<Metric, Vec<Row>>,
    teams: &BTreeMap<String, String>,
) {
    let team_keys: std::collections::BTreeSet<&String> = teams.values().collect();
    for (metric, rows) in metrics {
        let board = |team: Option<String>, ranked: Vec<rules::Ranked>| Ranked {
            span,
            which,
            period: period.clone(),
            closed,
            metric: metric.clone(),
            team,
            at: ranked
                .iter()
                .enumerate()
                .map(|(i, r)| (r.score.partner.clone(), i))
                .collect(),
            ranked,
        };
        out.push(board(None, rules::rank(scores(rows))));
        for team in &team_keys {
            let in_team: Vec<Row> = rows
                .iter()
                .filter(|r| teams.get(&r.partner) == Some(*team))
                .cloned()
                .collect();
            out.push(board(Some((*team).clone()), rules::rank(scores(&in_team))));
        }
    }
}

/// One pass: every board ranked, every partner's document written where
/// it moved. Returns when the earliest current period ends.
async fn pass(
    writer: &StandingsWriter,
    written: &Mutex<HashMap<String, u64>>,
) -> Result<DateTime<Utc>, WriteError> {
    let pool = &writer.pool;
    let now = Utc::now();
    let partners: Vec<(String, String)> = sqlx::query_as(
        "SELECT partner_id, name FROM accounts
         WHERE status = 'approved' AND partner_id IS NOT NULL ORDER BY partner_id",
    )
    .fetch_all(pool)
    .await?;
    let names: HashMap<&str, &str> = partners
        .iter()
        .map(|(p, n)| (p.as_str(), n.as_str()))
        .collect();
    let teams_now = boards::teams(pool).await?;
    let challenges = challenges::active(pool).await?;
    // Each active challenge's period and each partner's score on it, after
    // its awards.
    let mut evaluated: Vec<(&challenges::Challenge, Period, HashMap<String, i64>)> = Vec::new();
    let mut all = Vec::new();
    // The teams each partner's team boards may be of: now, and when each
    // closed period froze.
    let mut partner_teams: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (partner, team) in &teams_now {
        partner_teams
            .entry(partner.clone())
            .or_default()
            .insert(team.clone());
    }
    let mut next_end = now + chrono::Duration::hours(1);
    for span in Span::ALL {
        let current = periods::period_of(pool, &writer.zone, span, now).await?;
        let previous = periods::period_of(
            pool,
            &writer.zone,
            span,
            current.starts_at - chrono::Duration::milliseconds(1),
        )
        .await?;
        next_end = next_end.min(current.ends_at);
        let live = boards::live(pool, &current).await?;
        for challenge in challenges.iter().filter(|c| c.span == span.as_str()) {
            let rows = challenges::scores_for(challenge, &live);
            challenges::award(pool, challenge, &current, rows).await?;
            let scores = rows.iter().map(|r| (r.partner.clone(), r.score)).collect();
            evaluated.push((challenge, current.clone(), scores));
        }
        rank_all(
            &mut all, span, "current", &current, false, &live, &teams_now,
        );
        // A decision stamped in the period's last moments may commit just
        // after it ends: the closed period is frozen once that has settled,
        // and read live (the teams now) until then.
        let settled = previous.ends_at + boards::SETTLING;
        let (frozen, teams_then) = if now < settled {
            next_end = next_end.min(settled);
            (boards::live(pool, &previous).await?, teams_now.clone())
        } else {
            boards::frozen(pool, span, &previous).await?
        };
        // A challenge met in the period's last moments, before a pass saw
        // it, is awarded from the frozen scores (once: a unique key).
        for challenge in challenges.iter().filter(|c| c.span == span.as_str()) {
            let rows = challenges::scores_for(challenge, &frozen);
            challenges::award(pool, challenge, &previous, rows).await?;
        }
        for (partner, team) in &teams_then {
            partner_teams
                .entry(partner.clone())
                .or_default()
                .insert(team.clone());
        }
        rank_all(
            &mut all,
            span,
            "previous",
            &previous,
            true,
            &frozen,
            &teams_then,
        );
    }
    let held =
        challenges::held(pool, i64::try_from(model::ACHIEVEMENTS).unwrap_or(i64::MAX)).await?;
    // Who met which active challenge in which period.
    let met: std::collections::HashSet<(i64, String, String)> = sqlx::query_as(
        "SELECT challenge_id, partner_id, period_key FROM achievements WHERE challenge_id = ANY($1)",
    )
    .bind(challenges.iter().map(|c| c.id).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    // Looked up by partner, so a pass is linear in partners and boards.
    let mut programme_boards = Vec::new();
    let mut team_boards: HashMap<&str, Vec<&Ranked>> = HashMap::new();
    for board in &all {
        match &board.team {
            None => programme_boards.push(board),
            Some(team) => team_boards.entry(team.as_str()).or_default().push(board),
        }
    }
    let mut held_by: HashMap<&str, Vec<&challenges::Held>> = HashMap::new();
    for a in &held {
        held_by.entry(a.partner_id.as_str()).or_default().push(a);
    }
    let computed_at = model::Timestamp(now.timestamp_millis());
    for (n, (partner, _)) in partners.iter().enumerate() {
        // A pass over many partners lets the other tasks run.
        if n % 100 == 99 {
            tokio::task::yield_now().await;
        }
        let teams = partner_teams.get(partner);
        let boards = programme_boards.iter().copied().chain(
            teams
                .into_iter()
                .flatten()
                .flat_map(|t| team_boards.get(t.as_str()).into_iter().flatten().copied()),
        );
        let mut standings = standings_of(partner, boards, &teams_now, &names);
        for (challenge, period, scores) in &evaluated {
            let score = scores.get(partner).copied().unwrap_or(0);
            standings.challenges.insert(
                challenge.id.to_string(),
                model::ChallengeProgress {
                    title: challenge.title.clone(),
                    description: challenge.description.clone(),
                    metric: challenge.metric.clone(),
                    currency: (!challenge.currency.is_empty()).then(|| challenge.currency.clone()),
                    operator: challenge.operator.clone(),
                    target: challenge.target,
                    span: challenge.span.clone(),
                    period: period.key.clone(),
                    score,
                    met: met.contains(&(challenge.id, partner.clone(), period.key.clone())),
                    reward: challenge.reward.clone(),
                    bonus_minor: challenge.bonus_minor,
                    bonus_currency: challenge.bonus_currency.clone(),
                },
            );
        }
        for a in held_by.get(partner.as_str()).into_iter().flatten() {
            standings.achievements.insert(
                a.id.to_string(),
                model::Achievement {
                    title: a.title.clone(),
                    period: a.period_key.clone(),
                    reward: a.reward.clone(),
                    achieved_at: a.achieved_at.timestamp_millis(),
                    bonus: match (a.bonus_minor, &a.bonus_currency) {
                        (Some(amount_minor), Some(currency)) => Some(model::AchievementBonus {
                            amount_minor,
                            currency: currency.clone(),
                            status: a.bonus_status.clone(),
                            reason: a.reason.clone(),
                        }),
                        _ => None,
                    },
                },
            );
        }
        let body = match serde_json::to_value(&standings) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, partner, "standings do not serialize; left");
                continue;
            }
        };
        let mut hasher = DefaultHasher::new();
        body.to_string().hash(&mut hasher);
        let figures = hasher.finish();
        if written.lock().expect("not poisoned").get(partner) == Some(&figures) {
            continue;
        }
        let stored = server_docs::write_owned(
            pool,
            &writer.residency,
            sync::DocKind::Standings,
            partner,
            |doc| model::json_doc::write(doc, model::STANDINGS_KIND, partner, computed_at, &body),
        )
        .await;
        match stored {
            Ok(()) => {
                written
                    .lock()
                    .expect("not poisoned")
                    .insert(partner.clone(), figures);
            }
            // The database or storage: the pass is tried again.
            Err(WriteError::Retry(error)) => return Err(WriteError::Retry(error)),
            // One document that cannot be written (not a standings
            // document) stops nobody else's.
            Err(WriteError::GiveUp(error)) => {
                tracing::error!(%error, partner, "cannot write the standings; left");
            }
        }
    }
    Ok(next_end)
}

/// `partner`'s boards: every programme board, and their own team's (the
/// team they were in when a closed period was frozen, for its boards).
fn standings_of<'a>(
    partner: &str,
    candidates: impl Iterator<Item = &'a Ranked>,
    teams_now: &BTreeMap<String, String>,
    names: &HashMap<&str, &str>,
) -> Standings {
    let mut boards = BTreeMap::new();
    for board in candidates {
        let me = board.at.get(partner).copied();
        let scope = match &board.team {
            None => "programme",
            Some(team) => {
                // A team's board is its members'; which team a partner was
                // in for a frozen period is read from who is ranked on it,
                // else from now.
                if me.is_none() && teams_now.get(partner) != Some(team) {
                    continue;
                }
                "team"
            }
        };
        let shown = model::board_excerpt(board.ranked.len(), me);
        let entries = shown
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                let r = &board.ranked[i];
                BoardEntry {
                    gap_before: n > 0 && shown[n - 1] + 1 < i,
                    name: names
                        .get(r.score.partner.as_str())
                        .map_or_else(|| r.score.partner.clone(), |n| (*n).to_owned()),
                    partner: r.score.partner.clone(),
                    rank: r.rank,
                    score: r.score.score,
                }
            })
            .collect();
        let ranked = u32::try_from(board.ranked.len()).unwrap_or(u32::MAX);
        let id = model::board_id(
            board.span.as_str(),
            board.which,
            board.metric.name,
            board.metric.currency.as_deref(),
            scope,
        );
        boards.insert(
            id,
            Board {
                span: board.span.as_str().to_owned(),
                period: board.period.key.clone(),
                closed: board.closed,
                metric: board.metric.name.to_owned(),
                currency: board.metric.currency.clone(),
                scope: scope.to_owned(),
                ranked,
                me: me.map(|i| {
                    let r = &board.ranked[i];
                    Place {
                        rank: r.rank,
                        score: r.score.score,
                        top_percent: rules::top_percent(r.rank, board.ranked.len()),
                    }
                }),
                entries,
            },
        );
    }
    Standings {
        boards,
        ..Standings::default()
    }
}
