//! The team view writer: keeps each team leader's `team` document equal to
//! what `figures::compute` says of their team.
//!
//! It hears partner ids (`ActivitySeen`): from the pipeline projection when
//! it projected a partner's pipeline, and from every sender of
//! `FiguresMoved` (a decision, a deal filed, a lesson or an exam, an
//! assignment, an application approved), which the composition root passes
//! on. A partner's team leader is refreshed, and the partner's own view if
//! they lead a team (their overrides). Ids that arrive while it works are
//! coalesced, so a burst of edits is one refresh. Time alone moves a view
//! when a day of the programme's calendar ends (an assignment falls
//! overdue, a deal leaves the window, a month closes "in the period"):
//! every leader is refreshed then, and at start (the catch-up).
//!
//! A view is written only when it differs from the one last written (a
//! fingerprint), and then only what differs (`model::json_doc`), through
//! `platform::server_docs` as the account view is. A database or storage
//! failure is retried with capped backoff; nothing is lost meanwhile.

use std::{
    collections::{BTreeSet, HashMap},
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use rules::RulesConfig;
use sqlx::PgPool;

use crate::{
    events::{ActivitySeen, Inbox},
    platform::{
        periods::{self, Zone},
        residency::Residency,
        server_docs::{self, WriteError},
    },
};

use super::figures;

/// The longest the worker sleeps before looking at the clock again.
const MAX_NAP: Duration = Duration::from_secs(3600);

/// What the worker needs.
#[derive(Clone)]
pub struct TeamViews {
    pub pool: PgPool,
    pub residency: Arc<Residency>,
    pub rules: RulesConfig,
    pub zone: Zone,
}

/// Every approved team leader's partner id.
async fn leaders(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT partner_id FROM accounts
         WHERE role = 'team_leader' AND status = 'approved' AND partner_id IS NOT NULL",
    )
    .fetch_all(pool)
    .await
}

/// The leaders whose views show any of `partners`: their team leaders,
/// and those of them who lead a team. One query for all the partners heard
/// of since the last look, not one each.
async fn leaders_of(pool: &PgPool, partners: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT l.partner_id FROM accounts m JOIN accounts l ON l.id = m.team_leader_id
         WHERE m.partner_id = ANY($1) AND l.partner_id IS NOT NULL
         UNION
         SELECT partner_id FROM accounts WHERE partner_id = ANY($1) AND role = 'team_leader'",
    )
    .bind(partners)
    .fetch_all(pool)
    .await
}

/// Runs the worker: catch-up, then ids from `seen` and the calendar.
pub async fn run(views: TeamViews, mut seen: Inbox<ActivitySeen>) {
    // Partners heard of, and the leaders whose views show them.
    let mut partners: BTreeSet<String> = BTreeSet::new();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut written: HashMap<String, u64> = HashMap::new();
    let mut open = true;
    // When the programme's day ends: every view is computed again, as
    // assignments fall overdue, deals leave the window, and a month (which
    // ends at a midnight) closes.
    let mut day_ends: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        if day_ends.is_none_or(|end| end <= now) {
            let everyone = sync::retry_forever(
                || async {
                    let end = periods::next_midnight(&views.pool, &views.zone, now).await?;
                    Ok::<_, sqlx::Error>((end, leaders(&views.pool).await?))
                },
                tokio::time::sleep,
                |error, delay| tracing::warn!(%error, ?delay, "team views cannot list leaders"),
            )
            .await;
            day_ends = Some(everyone.0);
            pending.extend(everyone.1);
        }
        while let Ok(ActivitySeen(partner)) = seen.try_recv() {
            partners.insert(partner);
        }
        if !partners.is_empty() {
            let heard: Vec<String> = std::mem::take(&mut partners).into_iter().collect();
            let of = sync::retry_forever(
                || leaders_of(&views.pool, &heard),
                tokio::time::sleep,
                |error, delay| tracing::warn!(%error, ?delay, "team views cannot find a leader"),
            )
            .await;
            pending.extend(of);
        }
        if let Some(leader) = pending.pop_first() {
            let known = written.get(&leader).copied();
            let (views, who) = (&views, leader.as_str());
            let outcome = sync::retry_forever(
                || async move {
                    match refresh(views, who, known).await {
                        Err(WriteError::Retry(error)) => Err(error),
                        other => Ok(other),
                    }
                },
                tokio::time::sleep,
                |error, delay| {
                    tracing::warn!(%error, ?delay, leader, "team view refresh failed; retrying");
                },
            )
            .await;
            match outcome {
                Ok(Some(figures)) => {
                    written.insert(leader, figures);
                }
                Ok(None) => {
                    written.remove(&leader);
                }
                Err(error) => {
                    written.remove(&leader);
                    tracing::error!(%error, leader, "cannot write the team view");
                }
            }
            continue;
        }
        if !open {
            return;
        }
        let nap = day_ends
            .map(|end| (end - now).to_std().unwrap_or_default().min(MAX_NAP))
            .unwrap_or(MAX_NAP);
        tokio::select! {
            received = seen.recv() => match received {
                // Back through the loop, which finds its leaders.
                Some(ActivitySeen(partner)) => { partners.insert(partner); }
                None => open = false,
            },
            () = tokio::time::sleep(nap) => {}
        }
    }
}

/// Computes `leader`'s view and makes their document hold it; the
/// fingerprint of what it holds, or `None` when they lead no team.
async fn refresh(
    views: &TeamViews,
    leader: &str,
    known: Option<u64>,
) -> Result<Option<u64>, WriteError> {
    let now = Utc::now();
    let Some(view) = figures::compute(&views.pool, &views.rules, &views.zone, leader, now).await?
    else {
        return Ok(None);
    };
    let body = serde_json::to_value(&view)
        .map_err(|e| WriteError::GiveUp(format!("team view of {leader}: {e}")))?;
    let mut hasher = DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    let figures = hasher.finish();
    if known == Some(figures) {
        return Ok(Some(figures));
    }
    let computed_at = model::Timestamp(now.timestamp_millis());
    server_docs::write_owned(
        &views.pool,
        &views.residency,
        sync::DocKind::Team,
        leader,
        |doc| model::json_doc::write(doc, model::TEAM_KIND, leader, computed_at, &body),
    )
    .await?;
    Ok(Some(figures))
}
