//! Applications: a visitor applies (by a team leader's invite link or
//! not), an admin lists them, approves each into a team or solo, or
//! rejects it with a reason the applicant reads when they sign in; team
//! leaders' invite links; the teams an admin can place a partner in.
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `POST /api/applications`                     | anybody        |
//! | `GET /api/invites/{code}`                    | anybody        |
//! | `POST /api/team/invite`                      | team leader    |
//! | `GET /api/admin/applications[?status=..]`    | admin          |
//! | `GET /api/admin/teams`                       | admin          |
//! | `POST /api/admin/applications/{id}/approve`  | admin          |
//! | `POST /api/admin/applications/{id}/reject`   | admin          |

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use model::{PartnerId, Timestamp};
use serde::Deserialize;
use wire::{
    AccountStatus, Application, ApplicationEntry, Applied, Approval, Decision, Invite, Reason,
    Role, TeamLeader,
};

use crate::{
    accounts::{
        api::AccountsState,
        email::Email,
        limits::retry_after,
        partners::create_partner,
        passwords::{self, HashFor, NewPassword},
    },
    events::{ActivitySeen, DocumentStored, FiguresMoved},
    http::error::AppError,
    http::extract::{ApiJson, Lines, decision_reason, plain_text},
    http::session::Authenticated,
};

pub(super) fn random_id(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}-{hex}"))
}

/// A partner applies; an admin decides later. Every well-formed
/// application gets the same answer, a 201 with an id, whether or not its
/// email already has an account (the admin's included): for one that has,
/// nothing is stored and the id is a random one that approves nothing.
/// The password is hashed either way, so the time of the answer hardly
/// tells either (the insert skipped is short beside the hash). Cheap checks come first (the fields, the address's and
/// everyone's allowance, the lookup), the hash last; when too many hashes
/// wait already, a 503 with `Retry-After`.
pub(super) async fn apply(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(application): ApiJson<Application>,
) -> Result<(StatusCode, Json<Applied>), AppError> {
    let name = application.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "name must be 1 to 200 characters long".to_owned(),
        ));
    }
    plain_text(name, "an application", "name", Lines::One)?;
    let company = application.company.trim();
    if company.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "company must be at most 200 characters long".to_owned(),
        ));
    }
    plain_text(company, "an application", "company", Lines::One)?;
    let email = Email::parse(&application.email).map_err(AppError::BadRequest)?;
    let password = NewPassword::parse(&application.password).map_err(AppError::BadRequest)?;
    if let Some(code) = &application.invite
        && !Invite::is_code(code)
    {
        return Err(AppError::BadRequest(
            "invite is not the code of an invite link".to_owned(),
        ));
    }
    let client = crate::http::client_address::client_address(
        peer.ip(),
        &headers,
        &state.accounts.trusted_proxies,
    );
    state
        .accounts
        .limits
        .take_application(client)
        .await?
        .map_err(|wait| AppError::TooManyRequests {
            retry_after_secs: retry_after(wait),
            message: "too many applications; try again later",
        })?;
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)")
        .bind(email.as_str())
        .fetch_one(&state.pool)
        .await?;
    // A link whose leader no longer leads a team invites to no team: the
    // application stands, the admin decides the team.
    let invited_by: Option<String> = match &application.invite {
        None => None,
        Some(code) => {
            sqlx::query_scalar(
                "SELECT i.leader_id FROM team_invites i JOIN accounts l ON l.id = i.leader_id
             WHERE i.code = $1 AND l.role = 'team_leader' AND l.status = 'approved'",
            )
            .bind(code)
            .fetch_optional(&state.pool)
            .await?
        }
    };
    let place = state.accounts.hashing.queue(HashFor::Anyone)?;
    let hash = passwords::hash_password_blocking(place, password).await?;
    let id = random_id("a")?;
    let inserted = if taken {
        // Someone rejected may apply again: the same account, waiting for
        // a decision once more (a new name, company, password and invite,
        // the old decision gone). Anyone else's account is left as it is.
        sqlx::query(
            "UPDATE accounts
             SET status = 'applied', name = $2, company = $3, password_hash = $4,
                 invited_by = $5, decided_at = NULL, decided_by = NULL, reject_reason = NULL,
                 created_at = now()
             WHERE email = $1 AND status = 'rejected' AND role <> 'admin'",
        )
        .bind(email.as_str())
        .bind(name)
        .bind(company)
        .bind(&hash)
        .bind(&invited_by)
        .execute(&state.pool)
        .await?
        .rows_affected()
            == 1
    } else {
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, email, name, company, role, status, password_hash, invited_by)
             VALUES ($1, $2, $3, $4, 'partner', 'applied', $5, $6)",
        )
        .bind(&id)
        .bind(email.as_str())
        .bind(name)
        .bind(company)
        .bind(&hash)
        .bind(&invited_by)
        .execute(&state.pool)
        .await;
        match inserted {
            Ok(_) => true,
            // Taken meanwhile by a parallel application.
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("accounts_email_unique") => {
                false
            }
            Err(e) => return Err(e.into()),
        }
    };
    if inserted {
        tell_inviter(&state, email.as_str()).await;
    }
    if !inserted {
        tracing::info!(address = %peer.ip(), "application for an email that has an account; answered as any other");
    }
    Ok((
        StatusCode::CREATED,
        Json(Applied {
            id,
            status: AccountStatus::Applied,
        }),
    ))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

/// An `accounts` row as the applications list reads it.
#[derive(sqlx::FromRow)]
struct ApplicationRow {
    id: String,
    email: String,
    name: String,
    company: String,
    status: String,
    partner_id: Option<String>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    reject_reason: Option<String>,
    invited_by: Option<String>,
    inviter_name: Option<String>,
    inviter_company: Option<String>,
    inviter_members: Option<i64>,
    team_leader_id: Option<String>,
}

/// Applications, oldest first; `?status=applied` (the default), `approved`,
/// `rejected` or `all`.
pub(super) async fn list_applications(
    State(state): State<AccountsState>,
    who: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ApplicationEntry<DateTime<Utc>>>>, AppError> {
    who.require_admin()?;
    let status = query.status.as_deref().unwrap_or("applied");
    if !matches!(status, "applied" | "approved" | "rejected" | "all") {
        return Err(AppError::BadRequest(
            "status must be one of applied, approved, rejected, all".to_owned(),
        ));
    }
    let rows = sqlx::query_as::<_, ApplicationRow>(
        "SELECT a.id, a.email, a.name, a.company, a.status, a.partner_id, a.created_at,
                a.decided_at, a.decided_by, a.reject_reason, a.invited_by,
                l.name AS inviter_name, l.company AS inviter_company,
                (SELECT count(*) FROM accounts m
                 WHERE m.team_leader_id = l.id AND m.status = 'approved') AS inviter_members,
                a.team_leader_id
         FROM accounts a LEFT JOIN accounts l ON l.id = a.invited_by
         WHERE a.role <> 'admin' AND ($1 = 'all' OR a.status = $1)
         ORDER BY a.created_at, a.id",
    )
    .bind(status)
    .fetch_all(&state.pool)
    .await?;
    let entries = rows
        .into_iter()
        .map(|row| {
            let status = AccountStatus::parse(&row.status)
                .ok_or_else(|| anyhow::anyhow!("account {} has status {:?}", row.id, row.status))?;
            Ok(ApplicationEntry {
                id: row.id,
                email: row.email,
                name: row.name,
                company: row.company,
                status,
                partner_id: row.partner_id,
                created_at: row.created_at,
                decided_at: row.decided_at,
                decided_by: row.decided_by,
                reject_reason: row.reject_reason,
                invited_by: row.invited_by.map(|account_id| TeamLeader {
                    account_id,
                    name: row.inviter_name.unwrap_or_default(),
                    company: row.inviter_company.unwrap_or_default(),
                    members: row
                        .inviter_members
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or_default(),
                }),
                team_leader_id: row.team_leader_id,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Json(entries))
}

/// Locks an application that is still waiting for a decision.
async fn pending_application(
    tx: &mut sqlx::PgConnection,
    id: &str,
) -> Result<(String, String), AppError> {
    // An id with a control character (a NUL, which Postgres cannot even
    // compare) names no application.
    if id.chars().any(char::is_control) {
        return Err(AppError::NotFound);
    }
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT name, company, status FROM accounts WHERE id = $1 AND role <> 'admin' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        None => Err(AppError::NotFound),
        Some((_, _, status)) if status != "applied" => Err(AppError::Conflict(format!(
            "this application was already decided: it is {status}"
        ))),
        Some((name, company, _)) => Ok((name, company)),
    }
}

/// Approves an application: the partner and their pipeline document are
/// created as the demo partners are (`partners::create_partner`, then
/// each module's [`PartnerSetup`]).
pub(super) async fn approve(
    State(state): State<AccountsState>,
    who: Authenticated,
    Path(id): Path<String>,
    approval: Option<ApiJson<Approval>>,
) -> Result<Json<Decision>, AppError> {
    who.require_admin()?;
    let Approval { team_leader_id } = approval.map(|ApiJson(a)| a).unwrap_or_default();
    let mut tx = state.pool.begin().await?;
    let (name, company) = pending_application(&mut tx, &id).await?;
    if let Some(leader) = &team_leader_id {
        team_leader(&mut tx, leader).await?;
    }
    let partner_id = PartnerId::parse(&random_id("p")?).map_err(anyhow::Error::from)?;
    let now = Timestamp(Utc::now().timestamp_millis());
    create_partner(&mut tx, &partner_id, &name, &company).await?;
    let mut documents = Vec::with_capacity(state.accounts.partner_setups.len());
    for setup in &state.accounts.partner_setups {
        documents.push(setup(&mut tx, &partner_id, now).await?);
    }
    sqlx::query(
        "UPDATE accounts SET status = 'approved', partner_id = $2, decided_at = now(),
                             decided_by = $3, team_leader_id = $4
         WHERE id = $1",
    )
    .bind(&id)
    .bind(partner_id.as_str())
    .bind(&who.account_id)
    .bind(&team_leader_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    for doc_id in documents {
        state.accounts.changed.send(DocumentStored(doc_id));
    }
    // The new partner's account view, made now rather than on their first
    // deal.
    state
        .accounts
        .figures
        .send(FiguresMoved(partner_id.to_string()));
    tell_inviter(&state, &id).await;
    tracing::info!(account = %id, partner = %partner_id, team = ?team_leader_id, by = %who.account_id, "application approved");
    Ok(Json(Decision {
        id,
        status: AccountStatus::Approved,
        partner_id: Some(partner_id.into()),
        team_leader_id,
    }))
}

pub(super) async fn reject(
    State(state): State<AccountsState>,
    who: Authenticated,
    Path(id): Path<String>,
    ApiJson(rejection): ApiJson<Reason>,
) -> Result<Json<Decision>, AppError> {
    who.require_admin()?;
    let reason = decision_reason(&rejection.reason, "a rejection")?;
    let reason = reason.as_str();
    let mut tx = state.pool.begin().await?;
    pending_application(&mut tx, &id).await?;
    sqlx::query(
        "UPDATE accounts SET status = 'rejected', reject_reason = $2, decided_at = now(),
                             decided_by = $3
         WHERE id = $1",
    )
    .bind(&id)
    .bind(reason)
    .bind(&who.account_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tell_inviter(&state, &id).await;
    tracing::info!(account = %id, by = %who.account_id, "application rejected");
    Ok(Json(Decision {
        id,
        status: AccountStatus::Rejected,
        partner_id: None,
        team_leader_id: None,
    }))
}

/// Locks a team leader an admin named for a new partner; anyone else (an
/// unknown id, a partner, a leader not approved) is refused with a 400
/// that says so.
async fn team_leader(tx: &mut sqlx::PgConnection, id: &str) -> Result<(), AppError> {
    let leads: bool = !id.chars().any(char::is_control)
        && sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts
                            WHERE id = $1 AND role = 'team_leader' AND status = 'approved'
                            FOR SHARE)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if leads {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "team_leader_id {} is no approved team leader",
            model::Quoted(id)
        )))
    }
}

/// The teams a new partner may be placed in: every approved team leader,
/// by name, with how many partners their team has.
pub(super) async fn list_teams(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Json<Vec<TeamLeader>>, AppError> {
    who.require_admin()?;
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT l.id, l.name, l.company,
                (SELECT count(*) FROM accounts m
                 WHERE m.team_leader_id = l.id AND m.status = 'approved')
         FROM accounts l WHERE l.role = 'team_leader' AND l.status = 'approved'
         ORDER BY l.name, l.id",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(account_id, name, company, members)| TeamLeader {
                account_id,
                name,
                company,
                members: u32::try_from(members).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// A team leader's invite link: the same code every time they ask, made
/// the first time.
pub(super) async fn my_invite(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Json<Invite>, AppError> {
    if who.role != Role::TeamLeader {
        return Err(AppError::Forbidden(
            "only team leaders invite to a team".to_owned(),
        ));
    }
    let code = invite_code()?;
    // An upsert that changes nothing but returns the row either way, so
    // two devices asking at once get the same code (the second waits for
    // the first's row, then returns it).
    let (code, leader_name): (String, String) = sqlx::query_as(
        "WITH made AS (
             INSERT INTO team_invites (code, leader_id) VALUES ($1, $2)
             ON CONFLICT (leader_id) DO UPDATE SET leader_id = excluded.leader_id
             RETURNING code
         )
         SELECT (SELECT code FROM made), (SELECT name FROM accounts WHERE id = $2)",
    )
    .bind(&code)
    .bind(&who.account_id)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(Invite { code, leader_name }))
}

/// Whose team an invite link is for, as a visitor who followed it reads
/// it; a code of no current team leader is a 404, as is one of another
/// shape (refused before any query).
pub(super) async fn read_invite(
    State(state): State<AccountsState>,
    Path(code): Path<String>,
) -> Result<Json<Invite>, AppError> {
    if !Invite::is_code(&code) {
        return Err(AppError::NotFound);
    }
    let leader_name: Option<String> = sqlx::query_scalar(
        "SELECT l.name FROM team_invites i JOIN accounts l ON l.id = i.leader_id
         WHERE i.code = $1 AND l.role = 'team_leader' AND l.status = 'approved'",
    )
    .bind(&code)
    .fetch_optional(&state.pool)
    .await?;
    leader_name
        .map(|leader_name| Json(Invite { code, leader_name }))
        .ok_or(AppError::NotFound)
}

/// Ten random letters of base32 (RFC 4648's alphabet, lower-cased): 50
/// bits, short enough to read out, too many to guess.
fn invite_code() -> Result<String, AppError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let code = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect::<String>();
    debug_assert!(Invite::is_code(&code));
    Ok(code)
}

/// Tells the team leader whose invite link `account` (an id or an email)
/// came by that where their invitees stand moved (their team view lists
/// them): an application, an approval or a rejection. Best effort: a
/// database error here loses only that refresh, never the decision.
async fn tell_inviter(state: &AccountsState, account: &str) {
    let leader: Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
        "SELECT l.partner_id FROM accounts a JOIN accounts l ON l.id = a.invited_by
         WHERE (a.id = $1 OR a.email = $1) AND l.partner_id IS NOT NULL",
    )
    .bind(account)
    .fetch_optional(&state.pool)
    .await;
    match leader {
        Ok(Some(partner)) => state.accounts.activity.send(ActivitySeen(partner)),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot tell the inviting team leader"),
    }
}
