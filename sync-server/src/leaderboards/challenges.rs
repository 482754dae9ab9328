//! Challenges as data, and the achievements they award.
//!
//! An admin defines a challenge (`POST /api/admin/challenges`): a metric
//! of the leaderboards (`deals`, `training`, `revenue` in a currency), an
//! operator (`at_least`, `more_than`) and a target, over a span of the
//! programme's calendar (each month, quarter or year), and a reward: a
//! badge, or a bonus in minor units of a currency, which waits for an
//! admin's approval as a deal does. The standings pass evaluates every
//! active challenge against the current period's scores, which the server
//! computed from its own tables (`boards::live`): a device's clock or
//! count never decides. An achievement is a row unique by challenge,
//! partner and period, inserted with its notice in one transaction, so it
//! is awarded and notified once however many passes (or nodes) see it met.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{
    LeaderboardsState,
    boards::{Metric, Row},
};
use crate::{
    events::ChallengesChanged,
    http::{
        error::AppError,
        extract::{ApiJson, Lines, bounded_text, plain_text},
        session::Authenticated,
    },
    notifications::outbox,
    platform::periods::Period,
};

/// A challenge as the server evaluates it and the admin API lists it
/// (`wire::Challenge`: `achieved` counts its achievements).
pub type Challenge = wire::Challenge;

/// The columns a challenge is read with.
const COLUMNS: &str = "c.id, c.title, c.description, c.metric, trim(c.currency) AS currency,
    c.operator, c.target, c.span, c.reward, c.bonus_minor,
    trim(c.bonus_currency) AS bonus_currency, c.active,
    (SELECT count(*) FROM achievements a WHERE a.challenge_id = c.id) AS achieved";

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    id: i64,
    title: String,
    description: String,
    metric: String,
    currency: String,
    operator: String,
    target: i64,
    span: String,
    reward: String,
    bonus_minor: Option<i64>,
    bonus_currency: Option<String>,
    active: bool,
    achieved: i64,
}

impl From<ChallengeRow> for Challenge {
    fn from(r: ChallengeRow) -> Challenge {
        Challenge {
            id: r.id,
            title: r.title,
            description: r.description,
            metric: r.metric,
            currency: r.currency,
            operator: r.operator,
            target: r.target,
            span: r.span,
            reward: r.reward,
            bonus_minor: r.bonus_minor,
            bonus_currency: r.bonus_currency,
            active: r.active,
            achieved: r.achieved,
        }
    }
}

async fn read_challenges_where(pool: &PgPool, id: i64) -> Result<Vec<Challenge>, sqlx::Error> {
    let rows: Vec<ChallengeRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM challenges c WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Challenge::from).collect())
}

async fn read_challenges(pool: &PgPool, filter: &str) -> Result<Vec<Challenge>, sqlx::Error> {
    let rows: Vec<ChallengeRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM challenges c {filter}"))
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(Challenge::from).collect())
}

/// Whether `score` meets `operator` and `target`.
pub fn met(operator: &str, score: i64, target: i64) -> bool {
    match operator {
        "at_least" => score >= target,
        "more_than" => score > target,
        _ => false,
    }
}

pub async fn active(pool: &PgPool) -> Result<Vec<Challenge>, sqlx::Error> {
    read_challenges(pool, "WHERE c.active ORDER BY c.id").await
}

/// The score a challenge reads for each partner in a period's scores.
pub fn scores_for<'a>(challenge: &Challenge, scores: &'a BTreeMap<Metric, Vec<Row>>) -> &'a [Row] {
    scores
        .iter()
        .find(|(m, _)| {
            m.name == challenge.metric && m.currency.as_deref().unwrap_or("") == challenge.currency
        })
        .map_or(&[][..], |(_, rows)| rows.as_slice())
}

/// Awards `challenge` to every partner whose score in `period` meets it
/// and who does not hold it for that period yet, each with its notice;
/// returns the partners newly awarded.
pub async fn award(
    pool: &PgPool,
    challenge: &Challenge,
    period: &Period,
    rows: &[Row],
) -> Result<Vec<String>, sqlx::Error> {
    let mut awarded = Vec::new();
    for row in rows
        .iter()
        .filter(|r| met(&challenge.operator, r.score, challenge.target))
    {
        let mut tx = pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            // Only while the challenge is active, read under a share lock:
            // an admin ending it mid-pass waits for this award, or this
            // award sees it ended.
            "INSERT INTO achievements (challenge_id, partner_id, period_key, score, bonus_status,
                                       bonus_minor, bonus_currency)
             SELECT $1, $2, $3, $4, $5, $6, $7 FROM challenges WHERE id = $1 AND active
             FOR SHARE
             ON CONFLICT ON CONSTRAINT achievements_once DO NOTHING
             RETURNING id",
        )
        .bind(challenge.id)
        .bind(&row.partner)
        .bind(&period.key)
        .bind(row.score)
        .bind(if challenge.reward == "bonus" {
            "pending"
        } else {
            "none"
        })
        // The bonus promised now is the bonus paid, whatever the
        // challenge says later.
        .bind(challenge.bonus_minor)
        .bind(challenge.bonus_currency.as_deref())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            continue;
        };
        if let Some(account_id) = outbox::account_of(&mut tx, &row.partner).await? {
            let reward = match (challenge.bonus_minor, challenge.bonus_currency.as_deref()) {
                (Some(minor), Some(currency)) => format!(
                    " A bonus of {} {currency} is on its way to the back-office for approval.",
                    model::Currency::parse(currency).map_or_else(
                        |_| minor.to_string(),
                        |c| model::Money::new(minor, c)
                            .format_grouped_in(model::NumberFormat::for_language("en"))
                    )
                ),
                _ => String::new(),
            };
            outbox::enqueue(
                &mut tx,
                &outbox::Notice {
                    account_id,
                    kind: wire::NotificationKind::Achievement,
                    dedupe_key: format!("achievement:{id}"),
                    title: format!("Challenge met: {}", challenge.title),
                    body: format!("You met it in {}.{reward}", period.key),
                    screen: "#leaderboard".to_owned(),
                    topic: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
        awarded.push(row.partner.clone());
    }
    Ok(awarded)
}

/// An achievement as a partner's standings show it.
#[derive(Debug, sqlx::FromRow)]
pub struct Held {
    pub id: i64,
    pub partner_id: String,
    pub title: String,
    pub period_key: String,
    pub reward: String,
    pub achieved_at: DateTime<Utc>,
    pub bonus_minor: Option<i64>,
    pub bonus_currency: Option<String>,
    pub bonus_status: String,
    pub reason: Option<String>,
}

/// Every partner's achievements, the most recent first, at most `per` each.
pub async fn held(pool: &PgPool, per: i64) -> Result<Vec<Held>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, partner_id, title, period_key, reward, achieved_at, bonus_minor,
                bonus_currency, bonus_status, reason FROM (
             SELECT a.id, a.partner_id, c.title, a.period_key, c.reward, a.achieved_at,
                    a.bonus_minor, a.bonus_currency::text AS bonus_currency, a.bonus_status,
                    a.reason,
                    row_number() OVER (PARTITION BY a.partner_id
                                       ORDER BY a.achieved_at DESC, a.id DESC) AS n
             FROM achievements a JOIN challenges c ON c.id = a.challenge_id
         ) ranked WHERE n <= $1",
    )
    .bind(per)
    .fetch_all(pool)
    .await
}

fn bad(why: impl Into<String>) -> AppError {
    AppError::BadRequest(why.into())
}

/// The largest target: more deals or modules than anyone makes, and a
/// revenue within what an amount may be.
const MAX_TARGET: i64 = model::Money::MAX_MINOR;

/// `POST /api/admin/challenges`: checks every field, with a message that
/// names it, then stores the challenge, active.
pub async fn create(
    State(state): State<LeaderboardsState>,
    who: Authenticated,
    ApiJson(new): ApiJson<wire::NewChallenge>,
) -> Result<(axum::http::StatusCode, Json<Challenge>), AppError> {
    who.require_admin()?;
    let title = bounded_text(&new.title, "a challenge", "title", 120)?;
    // A description may be left out, or be a few lines.
    let description = new.description.trim().to_owned();
    if description.chars().count() > 1000 {
        return Err(bad(
            "a challenge needs a description of at most 1000 characters",
        ));
    }
    plain_text(&description, "a challenge", "description", Lines::Many)?;
    if !wire::CHALLENGE_METRICS.contains(&new.metric.as_str()) {
        return Err(bad("metric must be deals, training or revenue"));
    }
    let currency = match (new.metric.as_str(), new.currency.as_deref()) {
        ("revenue", Some(code)) => model::Currency::parse(code)
            .map_err(|_| bad("currency must be an ISO 4217 code, such as USD"))?
            .to_string(),
        ("revenue", None) => return Err(bad("currency is needed for a revenue challenge")),
        (_, None) => String::new(),
        (_, Some(_)) => return Err(bad("currency is for a revenue challenge only")),
    };
    if !wire::CHALLENGE_OPERATORS.contains(&new.operator.as_str()) {
        return Err(bad("operator must be at_least or more_than"));
    }
    if !(1..=MAX_TARGET).contains(&new.target) {
        return Err(bad(format!("target must be from 1 to {MAX_TARGET}")));
    }
    if !wire::CHALLENGE_SPANS.contains(&new.span.as_str()) {
        return Err(bad("span must be month, quarter or year"));
    }
    let (bonus_minor, bonus_currency) = match (
        new.reward.as_str(),
        new.bonus_minor,
        new.bonus_currency.as_deref(),
    ) {
        ("badge", None, None) => (None, None),
        ("badge", _, _) => return Err(bad("a badge carries no bonus")),
        ("bonus", Some(minor), Some(code)) => {
            let currency = model::Currency::parse(code)
                .map_err(|_| bad("bonus_currency must be an ISO 4217 code, such as USD"))?;
            if !(1..=model::Money::MAX_MINOR).contains(&minor) {
                return Err(bad("bonus_minor must be a positive amount in minor units"));
            }
            (Some(minor), Some(currency.to_string()))
        }
        ("bonus", _, _) => return Err(bad("a bonus needs bonus_minor and bonus_currency")),
        _ => return Err(bad("reward must be badge or bonus")),
    };
    let row: ChallengeRow = sqlx::query_as(
        "INSERT INTO challenges (title, description, metric, currency, operator, target, span,
                                 reward, bonus_minor, bonus_currency, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id, title, description, metric, trim(currency) AS currency, operator, target,
                   span, reward, bonus_minor, trim(bonus_currency) AS bonus_currency, active,
                   0::bigint AS achieved",
    )
    .bind(&title)
    .bind(&description)
    .bind(&new.metric)
    .bind(&currency)
    .bind(&new.operator)
    .bind(new.target)
    .bind(&new.span)
    .bind(&new.reward)
    .bind(bonus_minor)
    .bind(bonus_currency)
    .bind(&who.account_id)
    .fetch_one(&state.pool)
    .await?;
    // Partners see it, with their score, without waiting for a deal.
    state.changed.send(ChallengesChanged);
    Ok((axum::http::StatusCode::CREATED, Json(row.into())))
}

/// `GET /api/admin/challenges`: every challenge, the newest first.
pub async fn list(
    State(state): State<LeaderboardsState>,
    who: Authenticated,
) -> Result<Json<Vec<Challenge>>, AppError> {
    who.require_admin()?;
    Ok(Json(
        read_challenges(&state.pool, "ORDER BY c.id DESC").await?,
    ))
}

/// `POST /api/admin/challenges/{id}/end`: the challenge is evaluated no
/// more and leaves partners' standings; what it awarded stays (an
/// achievement, and a bonus waiting, are the partner's). Ending it again
/// answers it as it is.
pub async fn end(
    State(state): State<LeaderboardsState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Challenge>, AppError> {
    who.require_admin()?;
    let ended = sqlx::query("UPDATE challenges SET active = false WHERE id = $1")
        .bind(id)
        .execute(&state.pool)
        .await?;
    if ended.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    state.changed.send(ChallengesChanged);
    let mut found = read_challenges_where(&state.pool, id).await?;
    found.pop().map(Json).ok_or(AppError::NotFound)
}
