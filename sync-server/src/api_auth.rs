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

use std::{net::SocketAddr, time::Instant};

use axum::{
    Json, Router,
    extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use chrono::{DateTime, Utc};
use model::{PartnerId, Timestamp};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::sync::mpsc::UnboundedSender;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{
    auth::{
        self, Authenticated, Email, NewPassword, Role, SessionKind, SessionSettings, SignInLimiter,
    },
    error::AppError,
    http::AppState,
};

/// Largest JSON body the accounts API reads; its requests are a few fields.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the accounts API needs besides the pool and the repo.
#[derive(Debug)]
pub struct Accounts {
    pub sessions: SessionSettings,
    pub limiter: SignInLimiter,
    /// Tells the projection worker about a new partner's pipeline document.
    pub changed: UnboundedSender<String>,
}

pub fn router() -> Router<AppState> {
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

/// `Json` whose rejections (not JSON, wrong shape, too large) are
/// [`AppError`]s with axum's explanation as the message.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(rejection) => Err(AppError::BadRequest(rejection.body_text())),
        }
    }
}

/// `text` trimmed, if it is 1 to `max` characters long; otherwise a 400
/// saying "`what` needs a `field` of 1 to `max` characters".
pub fn bounded_text(text: &str, what: &str, field: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "{what} needs a {field} of 1 to {max} characters"
        )));
    }
    Ok(text.to_owned())
}

/// The reason of a decision someone will read: 1 to 1000 characters,
/// trimmed.
pub fn decision_reason(text: &str, what: &str) -> Result<String, AppError> {
    bounded_text(text, what, "reason", 1000)
}

/// The body of a decision that needs a reason (a rejection, a clawback, a
/// refund).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

fn random_id(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}-{hex}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Application {
    name: String,
    email: String,
    #[serde(default)]
    company: String,
    password: String,
}

#[derive(Serialize)]
struct Applied {
    id: String,
    status: &'static str,
}

/// A partner applies; an admin decides later.
async fn apply(
    State(state): State<AppState>,
    ApiJson(application): ApiJson<Application>,
) -> Result<(StatusCode, Json<Applied>), AppError> {
    let name = application.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "name must be 1 to 200 characters long".to_owned(),
        ));
    }
    let company = application.company.trim();
    if company.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "company must be at most 200 characters long".to_owned(),
        ));
    }
    let email = Email::parse(&application.email).map_err(AppError::BadRequest)?;
    let password = NewPassword::parse(&application.password).map_err(AppError::BadRequest)?;
    let hash = auth::hash_password_blocking(password).await?;
    let id = random_id("a")?;
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
        Ok(_) => Ok((
            StatusCode::CREATED,
            Json(Applied {
                id,
                status: "applied",
            }),
        )),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("accounts_email_unique") => Err(
            AppError::Conflict("an account with this email already exists".to_owned()),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
    kind: SessionKind,
}

#[derive(Serialize)]
struct SignedIn {
    account_id: String,
    role: Role,
    expires_at: DateTime<Utc>,
    /// Only for `"kind": "bearer"`; a cookie session's token stays in the
    /// HttpOnly cookie, out of reach of scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: String,
    role: String,
    status: String,
    password_hash: String,
}

/// Signs an approved account in. Every wrong combination of email and
/// password gets the same 401; failures are limited per email and per
/// client address.
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(sign_in): ApiJson<SignIn>,
) -> Result<Response, AppError> {
    // A cross-site page must not sign the browser into an account of its
    // choosing either.
    if headers.contains_key(header::ORIGIN) && !auth::same_site_request(&headers) {
        return Err(AppError::Forbidden(
            "cross-site request refused: send it from the app's own origin".to_owned(),
        ));
    }
    let limiter_key = sign_in.email.trim().to_lowercase();
    let limiter = &state.accounts.limiter;
    limiter
        .begin(&limiter_key, peer.ip(), Instant::now())
        .map_err(|wait| AppError::TooManyRequests {
            retry_after_secs: wait.as_secs() + 1,
        })?;
    let account = match Email::parse(&sign_in.email) {
        Ok(email) => {
            sqlx::query_as::<_, Credentials>(
                "SELECT id, role, status, password_hash FROM accounts WHERE email = $1",
            )
            .bind(email.as_str())
            .fetch_optional(&state.pool)
            .await?
        }
        Err(_) => None,
    };
    let matches = auth::verify_password(
        account.as_ref().map(|a| a.password_hash.clone()),
        sign_in.password,
    )
    .await;
    let Some(account) = account.filter(|_| matches) else {
        tracing::info!(address = %peer.ip(), "sign-in failed");
        return Err(AppError::Unauthorized);
    };
    limiter.succeeded(&limiter_key, peer.ip());
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
        auth::create_session(&state.pool, &account.id, sign_in.kind, settings.lifetime).await?;
    tracing::info!(account = %account.id, kind = sign_in.kind.as_str(), "signed in");
    let mut body = SignedIn {
        account_id: account.id,
        role,
        expires_at,
        token: None,
    };
    Ok(match sign_in.kind {
        SessionKind::Bearer => {
            body.token = Some(token);
            Json(body).into_response()
        }
        SessionKind::Cookie => {
            let cookie = auth::session_cookie(&token, settings.lifetime, settings.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
    })
}

/// Revokes the session the request is made under.
async fn sign_out(State(state): State<AppState>, who: Authenticated) -> Result<Response, AppError> {
    auth::revoke_session(&state.pool, &who.session.token_hash).await?;
    // Its sockets close now, not at the next sweep.
    state.live_sessions.end(&who.session.token_hash);
    let clear = auth::clear_session_cookie(state.accounts.sessions.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

#[derive(Serialize, sqlx::FromRow)]
struct TeamMember {
    account_id: String,
    name: String,
    partner_id: Option<String>,
}

#[derive(Serialize)]
struct Me {
    account_id: String,
    email: String,
    name: String,
    company: String,
    role: Role,
    partner_id: Option<PartnerId>,
    team_leader_id: Option<String>,
    /// The members of a team leader's team; empty for everyone else.
    team: Vec<TeamMember>,
    /// The documents this account works with: its own, then its team's.
    /// The share policy on `/sync` is what enforces access; this is the
    /// list the app opens.
    documents: Vec<MyDocument>,
    session: MySession,
}

#[derive(Serialize, sqlx::FromRow)]
struct MyDocument {
    doc_id: String,
    kind: String,
    partner_id: String,
    partner_name: String,
    /// `"read_write"` for the account's own documents (its account view
    /// excepted), `"read_only"` for its account view and a team member's.
    access: String,
}

#[derive(Serialize)]
struct MySession {
    kind: SessionKind,
    expires_at: DateTime<Utc>,
}

async fn me(State(state): State<AppState>, who: Authenticated) -> Result<Json<Me>, AppError> {
    let (email, name, company, team_leader_id): (String, String, String, Option<String>) =
        sqlx::query_as("SELECT email, name, company, team_leader_id FROM accounts WHERE id = $1")
            .bind(&who.account_id)
            .fetch_one(&state.pool)
            .await?;
    let team = sqlx::query_as::<_, TeamMember>(
        "SELECT id AS account_id, name, partner_id FROM accounts
         WHERE team_leader_id = $1 AND status = 'approved' ORDER BY name",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    let documents = sqlx::query_as::<_, MyDocument>(
        "SELECT d.doc_id, d.kind, p.id AS partner_id, p.name AS partner_name,
                CASE WHEN a.id = $1 AND d.kind <> 'account_view' THEN 'read_write'
                     ELSE 'read_only' END AS access
         FROM accounts a
         JOIN partners p ON p.id = a.partner_id
         JOIN documents d ON d.owner_id = p.id
         WHERE a.status = 'approved'
           AND (a.id = $1 OR (a.team_leader_id = $1 AND d.kind IN ('pipeline', 'training')))
         ORDER BY a.id <> $1, p.name, d.kind",
    )
    .bind(&who.account_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(Me {
        account_id: who.account_id,
        email,
        name,
        company,
        role: who.role,
        partner_id: who.partner_id,
        team_leader_id,
        team,
        documents,
        session: MySession {
            kind: who.session.kind,
            expires_at: who.session.expires_at,
        },
    }))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

#[derive(Serialize, sqlx::FromRow)]
struct ApplicationEntry {
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
    State(state): State<AppState>,
    who: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ApplicationEntry>>, AppError> {
    who.require_admin()?;
    let status = query.status.as_deref().unwrap_or("applied");
    if !matches!(status, "applied" | "approved" | "rejected" | "all") {
        return Err(AppError::BadRequest(
            "status must be one of applied, approved, rejected, all".to_owned(),
        ));
    }
    let rows = sqlx::query_as::<_, ApplicationEntry>(
        "SELECT id, email, name, company, status, partner_id, created_at, decided_at,
                decided_by, reject_reason
         FROM accounts WHERE role <> 'admin' AND ($1 = 'all' OR status = $1)
         ORDER BY created_at, id",
    )
    .bind(status)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows))
}

#[derive(Serialize)]
struct Decision {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_id: Option<String>,
}

/// Locks an application that is still waiting for a decision.
async fn pending_application(
    tx: &mut sqlx::PgConnection,
    id: &str,
) -> Result<(String, String), AppError> {
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
/// created as the demo partners are (`seed::create_partner`).
async fn approve(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Decision>, AppError> {
    who.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let (name, company) = pending_application(&mut tx, &id).await?;
    let partner_id = PartnerId::parse(&random_id("p")?).map_err(anyhow::Error::from)?;
    let now = Timestamp(Utc::now().timestamp_millis());
    let doc_id =
        crate::seed::create_partner(&mut tx, &partner_id, &name, &company, &[], now).await?;
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
    let _ = state.accounts.changed.send(doc_id);
    // The new partner's account view, made now rather than on their first
    // deal.
    state.ledger.tell([partner_id.to_string()]);
    tracing::info!(account = %id, partner = %partner_id, by = %who.account_id, "application approved");
    Ok(Json(Decision {
        id,
        status: "approved",
        partner_id: Some(partner_id.into()),
    }))
}

async fn reject(
    State(state): State<AppState>,
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
        status: "rejected",
        partner_id: None,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewChannel {
    name: String,
    /// Account ids of its members.
    members: Vec<String>,
}

#[derive(Serialize)]
struct ChannelCreated {
    doc_id: String,
}

/// Makes a channel document for the given approved accounts.
async fn create_channel(
    State(state): State<AppState>,
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
    let doc_id = crate::seed::create_channel(&mut tx, name, &members).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ChannelCreated { doc_id })).into_response())
}
