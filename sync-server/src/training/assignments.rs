//! Assignments: a team leader (for the members of their team) or an admin
//! (for anyone) asks partners to complete a module by a day. The partner
//! is notified (`training_assigned`) and finds it in their account view,
//! which the dashboard reads offline; whoever assigns reads where each
//! partner stands (lessons done of the module's latest version).
//!
//! Assigning the same module again moves its due day; who a module may be
//! assigned to is who may read its track.

use std::collections::BTreeSet;

use axum::{Json, extract::State};
use chrono::{DateTime, NaiveDate, Utc};
use wire::{AssignmentStatus, Audience, NewAssignment, NotificationKind, Published, Role};

use super::TrainingState;
use crate::{
    events::FiguresMoved,
    http::{error::AppError, extract::ApiJson, session::Authenticated},
    notifications::outbox::{self, Notice},
};

/// Partners assigned in one request, at most.
pub const MAX_PARTNERS: usize = 500;

/// Whose assignments a request reads and writes: everyone's (an admin), or
/// a team leader's members'.
enum Scope {
    All,
    Team(String),
}

/// Whose assignments `who` reaches: at `/api/admin/...` (`admin_path`)
/// only an admin, everyone's; at `/api/team/...` a team leader their
/// members' (and an admin everyone's).
fn scope(who: &Authenticated, admin_path: bool) -> Result<Scope, AppError> {
    if admin_path {
        who.require_admin()?;
    }
    match who.role {
        Role::Admin => Ok(Scope::All),
        Role::TeamLeader => Ok(Scope::Team(who.account_id.clone())),
        Role::Partner => Err(AppError::Forbidden(
            "only team leaders and admins assign training".to_owned(),
        )),
    }
}

impl Scope {
    fn leader(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Team(leader) => Some(leader),
        }
    }
}

/// `POST /api/admin/training/assignments`.
pub async fn assign_admin(
    State(state): State<TrainingState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewAssignment>,
) -> Result<Json<Vec<AssignmentStatus<DateTime<Utc>>>>, AppError> {
    let scope = scope(&who, true)?;
    assign(&state, &who, scope, body).await.map(Json)
}

/// `POST /api/team/training/assignments`.
pub async fn assign_team(
    State(state): State<TrainingState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewAssignment>,
) -> Result<Json<Vec<AssignmentStatus<DateTime<Utc>>>>, AppError> {
    let scope = scope(&who, false)?;
    assign(&state, &who, scope, body).await.map(Json)
}

async fn assign(
    state: &TrainingState,
    who: &Authenticated,
    scope: Scope,
    body: NewAssignment,
) -> Result<Vec<AssignmentStatus<DateTime<Utc>>>, AppError> {
    let due_on = NaiveDate::parse_from_str(&body.due_on, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == body.due_on)
        .ok_or_else(|| AppError::BadRequest("due_on must be a day, YYYY-MM-DD".to_owned()))?;
    // The programme's calendar is UTC's (as payout periods are): a day
    // already over everywhere is refused.
    if due_on < (Utc::now() - chrono::Duration::hours(12)).date_naive() {
        return Err(AppError::BadRequest(
            "due_on is a day already past".to_owned(),
        ));
    }
    let partners: BTreeSet<String> = body.partner_ids.iter().cloned().collect();
    if partners.is_empty() || partners.len() > MAX_PARTNERS {
        return Err(AppError::BadRequest(format!(
            "partner_ids needs 1 to {MAX_PARTNERS} partners"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let published: Option<sqlx::types::Json<Published>> = sqlx::query_scalar(
        "SELECT manifest FROM training_versions WHERE track_id = $1
         ORDER BY version DESC LIMIT 1",
    )
    .bind(&body.track_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(published) = published else {
        return Err(AppError::BadRequest(format!(
            "there is no published track {:?}",
            body.track_id
        )));
    };
    let track = published.0.track;
    let Some(module) = track.modules.iter().find(|m| m.id == body.module_id) else {
        return Err(AppError::BadRequest(format!(
            "the track {:?} has no module {:?} in its published version",
            track.id, body.module_id
        )));
    };
    // Everyone named must be an approved partner in scope, who may read
    // the track; anyone else makes the whole request fail, naming them.
    let found: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.partner_id, a.id, a.role FROM accounts a
         WHERE a.partner_id = ANY($1) AND a.status = 'approved'
           AND ($2::text IS NULL OR a.team_leader_id = $2)",
    )
    .bind(partners.iter().collect::<Vec<_>>())
    .bind(scope.leader())
    .fetch_all(&mut *tx)
    .await?;
    let unknown: Vec<&String> = partners
        .iter()
        .filter(|p| !found.iter().any(|(id, _, _)| id == *p))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::BadRequest(format!(
            "not {}: {}",
            match scope {
                Scope::All => "approved partners",
                Scope::Team(_) => "members of your team",
            },
            unknown
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if track.audience == Audience::TeamLeaders
        && let Some((partner, _, _)) = found
            .iter()
            .find(|(_, _, role)| role != Role::TeamLeader.as_str())
    {
        return Err(AppError::BadRequest(format!(
            "{partner} may not read {:?}, a track for team leaders",
            track.title
        )));
    }
    let assigner: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(&who.account_id)
        .fetch_one(&mut *tx)
        .await?;
    let day = due_on.format("%-d %B %Y").to_string();
    for (partner, account, _) in &found {
        sqlx::query(
            "INSERT INTO training_assignments (partner_id, track_id, module_id, due_on, assigned_by)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (partner_id, track_id, module_id)
             DO UPDATE SET due_on = EXCLUDED.due_on, assigned_by = EXCLUDED.assigned_by,
                           assigned_at = now()",
        )
        .bind(partner)
        .bind(&track.id)
        .bind(&module.id)
        .bind(due_on)
        .bind(&who.account_id)
        .execute(&mut *tx)
        .await?;
        outbox::enqueue(
            &mut tx,
            &Notice {
                account_id: account.clone(),
                kind: NotificationKind::TrainingAssigned,
                dedupe_key: format!("assigned:{partner}:{}:{}:{due_on}", track.id, module.id),
                title: format!("Training to do: {}", module.title),
                body: format!("{assigner} asks you to complete it by {day}."),
                screen: format!("#training-{}", track.id),
                topic: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    for (partner, _, _) in &found {
        state.figures.send(FiguresMoved(partner.clone()));
    }
    tracing::info!(
        track = track.id,
        module = module.id,
        partners = found.len(),
        %due_on,
        "training assigned"
    );
    let all = statuses(state, &scope, Some((&track.id, &module.id))).await?;
    Ok(all
        .into_iter()
        .filter(|s| partners.contains(&s.partner_id))
        .collect())
}

/// `GET /api/admin/training/assignments`: where each assigned partner
/// stands, the soonest due first.
pub async fn list_admin(
    State(state): State<TrainingState>,
    who: Authenticated,
) -> Result<Json<Vec<AssignmentStatus<DateTime<Utc>>>>, AppError> {
    let scope = scope(&who, true)?;
    Ok(Json(statuses(&state, &scope, None).await?))
}

/// `GET /api/team/training/assignments`: the same, of the team.
pub async fn list_team(
    State(state): State<TrainingState>,
    who: Authenticated,
) -> Result<Json<Vec<AssignmentStatus<DateTime<Utc>>>>, AppError> {
    let scope = scope(&who, false)?;
    Ok(Json(statuses(&state, &scope, None).await?))
}

type StatusRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDate,
    i64,
    i64,
    Option<DateTime<Utc>>,
);

/// Where each assignment in `scope` stands (of one module, with `only`).
/// An assignment whose module the track's latest version no longer has,
/// or whose track its partner may no longer read, is left out: nobody
/// can complete it.
async fn statuses(
    state: &TrainingState,
    scope: &Scope,
    only: Option<(&str, &str)>,
) -> Result<Vec<AssignmentStatus<DateTime<Utc>>>, AppError> {
    let rows: Vec<StatusRow> = sqlx::query_as(
        "SELECT a.partner_id, p.name, a.track_id, a.module_id,
                (SELECT m->>'title' FROM jsonb_array_elements(v.manifest->'track'->'modules') m
                  WHERE m->>'id' = a.module_id),
                a.due_on, coalesce(l.lessons, 0), coalesce(l.done, 0), l.last
         FROM training_assignments a
         JOIN partners p ON p.id = a.partner_id
         JOIN accounts acc ON acc.partner_id = a.partner_id
         JOIN LATERAL (SELECT version, manifest FROM training_versions
                       WHERE track_id = a.track_id ORDER BY version DESC LIMIT 1) v ON true
         LEFT JOIN LATERAL (
             SELECT count(*) AS lessons, count(tp.lesson_id) AS done,
                    max(tp.completed_at) AS last
             FROM training_lessons tl
             LEFT JOIN training_progress tp
               ON tp.partner_id = a.partner_id AND tp.track_id = tl.track_id
              AND tp.lesson_id = tl.lesson_id
             WHERE tl.track_id = a.track_id AND tl.version = v.version
               AND tl.module_id = a.module_id) l ON true
         JOIN training_tracks t ON t.id = a.track_id
         WHERE ($1::text IS NULL OR acc.team_leader_id = $1)
           AND ($2::text IS NULL OR (a.track_id = $2 AND a.module_id = $3))
           AND coalesce(l.lessons, 0) > 0
           AND (t.audience = 'everyone' OR acc.role = 'team_leader')
         ORDER BY a.due_on, p.name, a.track_id, a.module_id",
    )
    .bind(scope.leader())
    .bind(only.map(|(track, _)| track))
    .bind(only.map(|(_, module)| module))
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(partner_id, partner_name, track_id, module_id, title, due, lessons, done, last)| {
                AssignmentStatus {
                    partner_id,
                    partner_name,
                    track_id,
                    module_title: title.unwrap_or_else(|| module_id.clone()),
                    module_id,
                    due_on: due.format("%Y-%m-%d").to_string(),
                    lessons_done: done as u32,
                    lessons: lessons as u32,
                    completed_at: (lessons > 0 && done == lessons).then_some(last).flatten(),
                }
            },
        )
        .collect())
}
