//! The accounts API: applying, signing in and out, who am I, the admin's
//! decisions on applications, and team channels. JSON in and out; every error is an
//! [`AppError`] with a message that says what was wrong.
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `POST /api/applications`                     | anybody        |
//! | `POST /api/sessions`                         | anybody        |
//! | `DELETE /api/sessions/current`               | signed in      |
//! | `GET /api/me`                                | signed in      |
//! | `GET /api/admin/applications[?status=..]`    | admin          |
//! | `POST /api/admin/applications/{id}/approve`  | admin          |
//! | `POST /api/admin/applications/{id}/reject`   | admin          |
//! | `POST /api/admin/channels`                   | admin          |

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::{ConnectInfo, DefaultBodyLimit, FromRef, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use chrono::{DateTime, Utc};
use model::{PartnerId, Timestamp};
use serde::Deserialize;
use sqlx::PgPool;
use sync::DocKind;
use tower_http::set_header::SetResponseHeaderLayer;
use wire::{
    Access, AccountStatus, Application, ApplicationEntry, Applied, ChannelCreated, Decision, Me,
    MyDocument, MySession, NewChannel, Reason, SignIn, SignedIn, TeamMember,
};

use crate::{
    accounts::{
        email::Email,
        limits::{ApplicationLimiter, Attempt, SignInLimiter},
        partners::{PartnerSetup, create_channel as create_channel_doc, create_partner},
        passwords::{self, HashFor, Hashing, NewPassword},
    },
    events::{DocumentStored, FiguresMoved, Outbox},
    http::error::AppError,
    http::extract::{ApiJson, Lines, bounded_text, decision_reason, plain_text},
    http::live_sessions::LiveSessions,
    http::session::{self, Authenticated, SessionKind, SessionSettings},
    platform::policy::{self, AccessPolicy, Role},
};

/// Largest JSON body the accounts API reads; its requests are a few fields.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the accounts API needs besides the pool and the repo.
pub struct Accounts {
    pub sessions: SessionSettings,
    pub limiter: SignInLimiter,
    pub applications: ApplicationLimiter,
    /// Tells the projection worker about a new partner's pipeline document.
    pub changed: Outbox<DocumentStored>,
    /// Has a new partner's account view written.
    pub figures: Outbox<FiguresMoved>,
    /// The queue for the cores that hash passwords.
    pub hashing: Arc<Hashing>,
    /// What every new partner gets from each module (its documents).
    pub partner_setups: Vec<PartnerSetup>,
}

/// What the accounts routes read from the server's state.
#[derive(Clone)]
pub struct AccountsState {
    pub pool: PgPool,
    pub accounts: Arc<Accounts>,
    pub live_sessions: Arc<LiveSessions>,
    /// Who may read what: `/api/me` lists documents with its answer.
    pub policy: AccessPolicy,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AccountsState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    Router::new()
        .route("/api/applications", post(apply))
        .route("/api/sessions", post(sign_in))
        .route("/api/sessions/current", delete(sign_out))
        .route("/api/me", get(me))
        .route("/api/admin/applications", get(list_applications))
        .route("/api/admin/applications/{id}/approve", post(approve))
        .route("/api/admin/applications/{id}/reject", post(reject))
        .route("/api/admin/channels", post(create_channel))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers carry tokens and personal data: no cache may keep them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

fn random_id(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}-{hex}"))
}

/// A partner applies; an admin decides later. Every well-formed
/// application gets the same answer, a 201 with an id, whether or not its
/// email already has an account (the admin's included): for one that has,
/// nothing is stored and the id is a random one that approves nothing.
/// The password is hashed either way, so the time of the answer does not
/// tell either. Cheap checks come first (the fields, the address's and
/// everyone's allowance, the lookup), the hash last; when too many hashes
/// wait already, a 503 with `Retry-After`.
async fn apply(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
    state
        .accounts
        .applications
        .take(peer.ip(), Instant::now())
        .map_err(|wait| AppError::TooManyRequests {
            retry_after_secs: retry_after(wait),
            message: "too many applications; try again later",
        })?;
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)")
        .bind(email.as_str())
        .fetch_one(&state.pool)
        .await?;
    let place = state.accounts.hashing.queue(HashFor::Anyone)?;
    let hash = passwords::hash_password_blocking(place, password).await?;
    let id = random_id("a")?;
    let inserted = if taken {
        false
    } else {
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, email, name, company, role, status, password_hash)
             VALUES ($1, $2, $3, $4, 'partner', 'applied', $5)",
        )
        .bind(&id)
        .bind(email.as_str())
        .bind(name)
        .bind(company)
        .bind(hash)
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

/// `Retry-After` in whole seconds, at least one.
fn retry_after(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: String,
    role: String,
    status: String,
    password_hash: String,
    /// The request's device cookie is one this account signed in with.
    known_device: bool,
}

/// Signs an approved account in. Every wrong combination of email and
/// password gets the same 401; failures slow down further attempts (see
/// [`SignInLimiter`]), except from a device the account signed in from
/// before, which a successful cookie sign-in marks with the
/// `portal_device` cookie ([`remember_device`]). An attempt the limiter
/// refuses costs no password check, and none from a request without a
/// device cookie costs a query either. When too many password checks wait
/// already, a sign-in from a new device gets a 503 with `Retry-After`; one
/// from a known device waits its turn, ahead of the others.
async fn sign_in(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(sign_in): ApiJson<SignIn>,
) -> Result<Response, AppError> {
    // A cross-site page must not sign the browser into an account of its
    // choosing either.
    if headers.contains_key(header::ORIGIN)
        && !session::same_site_request(&headers, state.accounts.sessions.secure_cookies)
    {
        return Err(AppError::Forbidden(
            "cross-site request refused: send it from the app's own origin".to_owned(),
        ));
    }
    let email = Email::parse(&sign_in.email).ok();
    let presented = session::presented_device(&headers);
    let device = presented.as_ref().map(|(_, hash)| *hash);
    let limiter = &state.accounts.limiter;
    let refused = |wait| AppError::TooManyRequests {
        retry_after_secs: retry_after(wait),
        message: "too many failed sign-in attempts; try again later",
    };
    if device.is_none() {
        // Without a device cookie the attempt is no known device's, so its
        // keys are known before the lookup, and a refusal costs nothing.
        let attempt = Attempt {
            email: email.as_ref(),
            address: peer.ip(),
            known_device: None,
        };
        limiter.check(&attempt, Instant::now()).map_err(refused)?;
    }
    let account = match &email {
        Some(email) => {
            sqlx::query_as::<_, Credentials>(
                "SELECT a.id, a.role, a.status, a.password_hash,
                        EXISTS (SELECT 1 FROM known_devices d
                                WHERE d.account_id = a.id AND d.token_hash = $2
                                  AND d.last_seen_at > now() - make_interval(days => $3))
                            AS known_device
                 FROM accounts a WHERE a.email = $1",
            )
            .bind(email.as_str())
            .bind(device.as_ref().map(|d| &d[..]))
            .bind(session::KNOWN_DEVICE_DAYS)
            .fetch_optional(&state.pool)
            .await?
        }
        None => None,
    };
    let known_device = device.filter(|_| account.as_ref().is_some_and(|a| a.known_device));
    let attempt = Attempt {
        email: email.as_ref(),
        address: peer.ip(),
        known_device,
    };
    // The limiter's answer comes before the queue's, and the place in the
    // queue before the attempt is counted: one turned away for a full
    // queue checked no password, so it is no failure.
    limiter.check(&attempt, Instant::now()).map_err(refused)?;
    let place = state.accounts.hashing.queue(match known_device {
        Some(_) => HashFor::Trusted,
        None => HashFor::Anyone,
    })?;
    limiter.begin(&attempt, Instant::now()).map_err(refused)?;
    let matches = passwords::verify_password(
        place,
        account.as_ref().map(|a| a.password_hash.clone()),
        sign_in.password,
    )
    .await;
    let Some(account) = account.filter(|_| matches) else {
        tracing::info!(address = %peer.ip(), "sign-in failed");
        return Err(AppError::Unauthorized);
    };
    limiter.succeeded(&attempt);
    if account.status != "approved" {
        return Err(AppError::Forbidden(format!(
            "this account's application is {}; only approved accounts may sign in",
            account.status
        )));
    }
    let role = Role::parse(&account.role)
        .ok_or_else(|| anyhow::anyhow!("account {} has role {:?}", account.id, account.role))?;
    let settings = state.accounts.sessions;
    let (token, expires_at) =
        session::create_session(&state.pool, &account.id, sign_in.kind, settings.lifetime).await?;
    let device_cookie = match sign_in.kind {
        SessionKind::Cookie => Some(remember_device(&state.pool, &account.id, presented).await?),
        // A native client keeps no cookies: nothing to remember it by.
        SessionKind::Bearer => None,
    };
    tracing::info!(account = %account.id, kind = sign_in.kind.as_str(), "signed in");
    let mut body = SignedIn {
        account_id: account.id,
        role,
        expires_at,
        token: None,
    };
    let mut response = match sign_in.kind {
        SessionKind::Bearer => {
            body.token = Some(token);
            Json(body).into_response()
        }
        SessionKind::Cookie => {
            let cookie =
                session::session_cookie(&token, settings.lifetime, settings.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
    };
    if let Some(device_token) = device_cookie {
        let cookie = session::device_cookie(&device_token, settings.secure_cookies);
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
        );
    }
    Ok(response)
}

/// Marks the browser an account just signed in from as known, and returns
/// the token for its cookie ([`session::device_cookie`], sent again so its
/// age starts over). A browser keeps one token whichever accounts it signs
/// in: one the server issued (to this account or another, and still
/// known) is kept and recorded for this account too; any other gets a new
/// random token. A token the server did not issue is never adopted:
/// whoever planted it in the browser would know it. An account stays
/// known on its [`session::KNOWN_DEVICES_PER_ACCOUNT`] most recently used
/// devices of the last [`session::KNOWN_DEVICE_DAYS`] days.
async fn remember_device(
    pool: &sqlx::PgPool,
    account_id: &str,
    presented: Option<(String, [u8; 32])>,
) -> Result<String, AppError> {
    let issued = match presented {
        Some((token, hash)) => {
            let issued: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM known_devices
                                WHERE token_hash = $1
                                  AND last_seen_at > now() - make_interval(days => $2))",
            )
            .bind(&hash[..])
            .bind(session::KNOWN_DEVICE_DAYS)
            .fetch_one(pool)
            .await?;
            issued.then_some((token, hash))
        }
        None => None,
    };
    let (token, hash) = match issued {
        Some(issued) => issued,
        None => session::new_token()?,
    };
    sqlx::query(
        "INSERT INTO known_devices (token_hash, account_id) VALUES ($1, $2)
         ON CONFLICT (token_hash, account_id) DO UPDATE SET last_seen_at = now()",
    )
    .bind(&hash[..])
    .bind(account_id)
    .execute(pool)
    .await?;
    sqlx::query(
        "DELETE FROM known_devices
         WHERE account_id = $1
           AND (last_seen_at <= now() - make_interval(days => $2)
                OR token_hash NOT IN (SELECT token_hash FROM known_devices
                                      WHERE account_id = $1
                                      ORDER BY last_seen_at DESC LIMIT $3))",
    )
    .bind(account_id)
    .bind(session::KNOWN_DEVICE_DAYS)
    .bind(session::KNOWN_DEVICES_PER_ACCOUNT)
    .execute(pool)
    .await?;
    Ok(token)
}

/// Revokes the session the request is made under.
async fn sign_out(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Response, AppError> {
    session::revoke_session(&state.pool, &who.session.token_hash).await?;
    // Its sockets close now, not at the next sweep.
    state.live_sessions.end(&who.session.token_hash);
    let clear = session::clear_session_cookie(state.accounts.sessions.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn me(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Json<Me<DateTime<Utc>>>, AppError> {
    let (email, name, company, team_leader_id): (String, String, String, Option<String>) =
        sqlx::query_as("SELECT email, name, company, team_leader_id FROM accounts WHERE id = $1")
            .bind(&who.account_id)
            .fetch_one(&state.pool)
            .await?;
    let team = sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT id, name, partner_id FROM accounts
         WHERE team_leader_id = $1 AND status = 'approved' ORDER BY name",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|(account_id, name, partner_id)| TeamMember {
        account_id,
        name,
        partner_id,
    })
    .collect();
    // The documents of the account's partner and of its team's partners,
    // each with the access the share policy gives (the one rule of who
    // reads what): those it gives none (a member's notes) are left out.
    let candidates = sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT d.doc_id, d.kind, p.id, p.name
         FROM accounts a
         JOIN partners p ON p.id = a.partner_id
         JOIN documents d ON d.owner_id = p.id
         WHERE a.status = 'approved' AND (a.id = $1 OR a.team_leader_id = $1)
         ORDER BY a.id <> $1, p.name, d.kind",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    let facts = state.policy.fresh_facts(&who.account_id).await?;
    let mut documents = Vec::with_capacity(candidates.len());
    for (doc_id, kind, partner_id, partner_name) in candidates {
        let (Some(facts), Ok(kind)) = (&facts, DocKind::parse(&kind)) else {
            continue;
        };
        let doc = policy::DocFacts {
            kind,
            owner: Some(partner_id.clone()),
            members: Default::default(),
        };
        let access = match policy::decide(&who.account_id, facts, &doc) {
            policy::Access::None => continue,
            policy::Access::Read => Access::ReadOnly,
            policy::Access::ReadWrite => Access::ReadWrite,
        };
        documents.push(MyDocument {
            doc_id,
            kind: kind.as_str().to_owned(),
            partner_id,
            partner_name,
            access,
        });
    }
    Ok(Json(Me {
        account_id: who.account_id,
        email,
        name,
        company,
        role: who.role,
        partner_id: who.partner_id.map(Into::into),
        team_leader_id,
        team,
        documents,
        session: Some(MySession {
            kind: who.session.kind,
            expires_at: who.session.expires_at,
        }),
    }))
}

#[derive(Deserialize)]
struct ListQuery {
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
}

/// Applications, oldest first; `?status=applied` (the default), `approved`,
/// `rejected` or `all`.
async fn list_applications(
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
        "SELECT id, email, name, company, status, partner_id, created_at, decided_at,
                decided_by, reject_reason
         FROM accounts WHERE role <> 'admin' AND ($1 = 'all' OR status = $1)
         ORDER BY created_at, id",
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
async fn approve(
    State(state): State<AccountsState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Decision>, AppError> {
    who.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let (name, company) = pending_application(&mut tx, &id).await?;
    let partner_id = PartnerId::parse(&random_id("p")?).map_err(anyhow::Error::from)?;
    let now = Timestamp(Utc::now().timestamp_millis());
    create_partner(&mut tx, &partner_id, &name, &company).await?;
    let mut documents = Vec::with_capacity(state.accounts.partner_setups.len());
    for setup in &state.accounts.partner_setups {
        documents.push(setup(&mut tx, &partner_id, now).await?);
    }
    sqlx::query(
        "UPDATE accounts SET status = 'approved', partner_id = $2, decided_at = now(),
                             decided_by = $3
         WHERE id = $1",
    )
    .bind(&id)
    .bind(partner_id.as_str())
    .bind(&who.account_id)
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
    tracing::info!(account = %id, partner = %partner_id, by = %who.account_id, "application approved");
    Ok(Json(Decision {
        id,
        status: AccountStatus::Approved,
        partner_id: Some(partner_id.into()),
    }))
}

async fn reject(
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
    tracing::info!(account = %id, by = %who.account_id, "application rejected");
    Ok(Json(Decision {
        id,
        status: AccountStatus::Rejected,
        partner_id: None,
    }))
}

/// Makes a channel document for the given approved accounts.
async fn create_channel(
    State(state): State<AccountsState>,
    who: Authenticated,
    ApiJson(channel): ApiJson<NewChannel>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let name = bounded_text(&channel.name, "a channel", "name", 80)?;
    let name = name.as_str();
    let mut members = channel.members;
    members.sort();
    members.dedup();
    if members.is_empty() || members.len() > 500 {
        return Err(AppError::BadRequest(
            "a channel needs 1 to 500 members".to_owned(),
        ));
    }
    let known: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1) AND status = 'approved'")
            .bind(&members)
            .fetch_all(&state.pool)
            .await?;
    if let Some(unknown) = members.iter().find(|m| !known.contains(m)) {
        return Err(AppError::BadRequest(format!(
            "no approved account {unknown:?}"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let doc_id = create_channel_doc(&mut tx, name, &members).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ChannelCreated { doc_id })).into_response())
}
