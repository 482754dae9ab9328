//! The accounts API: signing in and out, who am I.
//! JSON in and out; every error is an [`AppError`] with a message that
//! says what was wrong. Applications are `applications.rs`'.
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `POST /api/sessions`                         | anybody        |
//! | `DELETE /api/sessions/current`               | signed in      |
//! | `GET /api/me`                                | signed in      |

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use sqlx::PgPool;
use sync::DocKind;
use wire::{Access, Me, MyDocument, MySession, SignIn, SignedIn, TeamMember};

use crate::{
    accounts::{
        email::Email,
        limits::{self, Attempt},
        partners::PartnerSetup,
        passwords::{self, HashFor, Hashing},
    },
    events::{ActivitySeen, DocumentStored, FiguresMoved, Outbox},
    http::client_address::client_address,
    http::error::AppError,
    http::extract::ApiJson,
    http::live_sessions::LiveSessions,
    http::session::{self, Authenticated, SessionKind, SessionSettings},
    platform::policy::{self, AccessPolicy, Role},
};

/// What the accounts API needs besides the pool and the repo.
pub struct Accounts {
    pub sessions: SessionSettings,
    /// The sign-in and application limits, shared by every node.
    pub limits: super::shared_limits::SharedLimits,
    /// Proxies whose `X-Forwarded-For` names the client
    /// (`--trusted-proxies`): the limits count by the client's address.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Tells the projection worker about a new partner's pipeline document.
    pub changed: Outbox<DocumentStored>,
    /// Has a new partner's account view written.
    pub figures: Outbox<FiguresMoved>,
    /// Has the team view of whoever invited an applicant computed again
    /// (their Recruiting list).
    pub activity: Outbox<ActivitySeen>,
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

#[derive(sqlx::FromRow)]
struct Credentials {
    id: String,
    role: String,
    status: String,
    reject_reason: Option<String>,
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
pub(super) async fn sign_in(
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
    let limits = &state.accounts.limits;
    let client = client_address(peer.ip(), &headers, &state.accounts.trusted_proxies);
    let refused = |wait| AppError::TooManyRequests {
        retry_after_secs: limits::retry_after(wait),
        message: "too many failed sign-in attempts; try again later",
    };
    if device.is_none() {
        // Without a device cookie the attempt is no known device's, so its
        // keys are known before the lookup, and a refusal costs one read
        // and no password check.
        let attempt = Attempt {
            email: email.as_ref(),
            address: client,
            known_device: None,
        };
        limits.check_sign_in(&attempt).await?.map_err(refused)?;
    }
    let account = match &email {
        Some(email) => {
            sqlx::query_as::<_, Credentials>(
                "SELECT a.id, a.role, a.status, a.reject_reason, a.password_hash,
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
        address: client,
        known_device,
    };
    // The limiter's answer comes before the queue's. The attempt is
    // counted first, in one step with the check (attempts sent at once
    // take turns in Postgres, so they cannot all slip under the limit),
    // and taken back when the queue turns it away: it checked no
    // password, so it is no failure.
    limits.begin_sign_in(&attempt).await?.map_err(refused)?;
    let place = match state.accounts.hashing.queue(match known_device {
        Some(_) => HashFor::Trusted,
        None => HashFor::Anyone,
    }) {
        Ok(place) => place,
        Err(full) => {
            limits.withdraw_sign_in(&attempt).await?;
            return Err(full.into());
        }
    };
    let matches = passwords::verify_password(
        place,
        account.as_ref().map(|a| a.password_hash.clone()),
        sign_in.password,
    )
    .await;
    let Some(account) = account.filter(|_| matches) else {
        tracing::info!(address = %client, "sign-in failed");
        return Err(AppError::Unauthorized);
    };
    limits.sign_in_succeeded(&attempt).await?;
    // Only the password's owner learns how their application stands: the
    // reason of a rejection is theirs to read.
    match (account.status.as_str(), account.reject_reason.as_deref()) {
        ("approved", _) => {}
        ("rejected", Some(reason)) => {
            return Err(AppError::Forbidden(format!(
                "your application was not approved: {reason}"
            )));
        }
        ("applied", _) => {
            return Err(AppError::Forbidden(
                "your application is being reviewed; you can sign in once it is approved"
                    .to_owned(),
            ));
        }
        (status, _) => {
            return Err(AppError::Forbidden(format!(
                "this account's application is {status}; only approved accounts may sign in"
            )));
        }
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
pub(super) async fn sign_out(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Response, AppError> {
    session::revoke_session(&state.pool, &who.session.token_hash).await?;
    // Its sockets close now, not at the next sweep.
    state.live_sessions.end(&who.session.token_hash);
    let clear = session::clear_session_cookie(state.accounts.sessions.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

pub(super) async fn me(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Response, AppError> {
    #[allow(clippy::type_complexity)]
    let (email, name, company, team_leader_id, phone, country, currency, has_photo): (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        bool,
    ) = sqlx::query_as(
        "SELECT email, name, company, team_leader_id, phone, country, currency,
                photo IS NOT NULL
         FROM accounts WHERE id = $1",
    )
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
            channel: Default::default(),
            readers: None,
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
    // The published training tracks it may read (the same policy).
    let mut catalogs = Vec::new();
    if let Some(facts) = &facts {
        let rows = sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT doc_id, readers FROM documents WHERE kind = 'catalog' ORDER BY doc_id",
        )
        .fetch_all(&state.pool)
        .await?;
        for (doc_id, readers) in rows {
            let doc = policy::DocFacts {
                kind: DocKind::Catalog,
                owner: None,
                channel: Default::default(),
                readers: readers.as_deref().map(policy::readers_role),
            };
            if policy::decide(&who.account_id, facts, &doc) != policy::Access::None {
                catalogs.push(doc_id);
            }
        }
    }
    // Where a proxy sends this account's `/sync`: with its team. A
    // browser is told by cookie, which its socket then carries.
    let affinity =
        crate::http::sync::affinity_of(team_leader_id.as_deref().unwrap_or(&who.account_id));
    let cookie = (who.session.kind == SessionKind::Cookie).then(|| {
        let settings = state.accounts.sessions;
        let until = who.session.expires_at - Utc::now();
        crate::http::sync::affinity_cookie(&affinity, until, settings.secure_cookies)
    });
    let me = Json(Me {
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
            affinity: affinity.clone(),
        }),
        phone,
        country,
        currency,
        has_photo,
        catalogs,
    });
    Ok(match cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], me).into_response(),
        None => me.into_response(),
    })
}
