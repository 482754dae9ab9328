//! The notifications API: the server's push key, a device's subscription,
//! and what a person wants pushed.
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `GET /api/push/key`                          | anybody        |
//! | `POST /api/push/subscriptions`               | signed in      |
//! | `DELETE /api/push/subscriptions`             | signed in      |
//! | `GET /api/me/notification-preferences`      | signed in      |
//! | `PUT /api/me/notification-preferences`      | signed in      |

use axum::{Json, extract::State, http::StatusCode};
use wire::{CategoryPreference, NotificationCategory, Preferences, PushKey, PushSubscription};

use crate::{
    http::{error::AppError, extract::ApiJson, session::Authenticated},
    notifications::{NotificationsState, push},
};

/// Devices one account keeps subscribed; subscribing one more forgets the
/// one heard from longest ago.
const DEVICES_PER_ACCOUNT: i64 = 20;

pub async fn key(State(state): State<NotificationsState>) -> Json<PushKey> {
    Json(PushKey {
        public_key: state.public_key.to_string(),
    })
}

/// Subscribes a device (again: the app does so on every start, which keeps
/// its keys and its `seen_at` current). An endpoint another account
/// subscribed before now belongs to this one: the browser signed in as
/// someone else.
pub async fn subscribe(
    State(state): State<NotificationsState>,
    who: Authenticated,
    ApiJson(subscription): ApiJson<PushSubscription>,
) -> Result<StatusCode, AppError> {
    let endpoint =
        push::check_endpoint(&subscription.endpoint, &state.hosts).map_err(AppError::BadRequest)?;
    let (p256dh, auth) = push::check_keys(&subscription.keys.p256dh, &subscription.keys.auth)
        .map_err(AppError::BadRequest)?;
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "INSERT INTO push_subscriptions (endpoint, account_id, p256dh, auth)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint) DO UPDATE
         SET account_id = excluded.account_id, p256dh = excluded.p256dh,
             auth = excluded.auth, seen_at = now()",
    )
    .bind(endpoint.as_str())
    .bind(&who.account_id)
    .bind(&p256dh)
    .bind(&auth)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM push_subscriptions WHERE endpoint IN (
             SELECT endpoint FROM push_subscriptions WHERE account_id = $1
             ORDER BY seen_at DESC, endpoint OFFSET $2)",
    )
    .bind(&who.account_id)
    .bind(DEVICES_PER_ACCOUNT)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets a device of this account (the person turned notifications off
/// on it, or signed out); another account's is left alone.
pub async fn unsubscribe(
    State(state): State<NotificationsState>,
    who: Authenticated,
    ApiJson(subscription): ApiJson<PushSubscription>,
) -> Result<StatusCode, AppError> {
    sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1 AND account_id = $2")
        .bind(&subscription.endpoint)
        .bind(&who.account_id)
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn preferences(
    State(state): State<NotificationsState>,
    who: Authenticated,
) -> Result<Json<Preferences>, AppError> {
    Ok(Json(read_preferences(&state, &who.account_id).await?))
}

pub async fn set_preferences(
    State(state): State<NotificationsState>,
    who: Authenticated,
    ApiJson(wanted): ApiJson<Preferences>,
) -> Result<Json<Preferences>, AppError> {
    if wanted.categories.len() > NotificationCategory::ALL.len() {
        return Err(AppError::BadRequest(
            "categories names each category once at most".to_owned(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    for choice in &wanted.categories {
        sqlx::query(
            "INSERT INTO notification_preferences (account_id, category, push) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, category) DO UPDATE SET push = excluded.push",
        )
        .bind(&who.account_id)
        .bind(choice.category.as_str())
        .bind(choice.push)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Json(read_preferences(&state, &who.account_id).await?))
}

/// Every category, pushed unless the person said otherwise.
async fn read_preferences(
    state: &NotificationsState,
    account: &str,
) -> Result<Preferences, AppError> {
    let off: Vec<String> = sqlx::query_scalar(
        "SELECT category FROM notification_preferences WHERE account_id = $1 AND NOT push",
    )
    .bind(account)
    .fetch_all(&state.pool)
    .await?;
    Ok(Preferences {
        categories: NotificationCategory::ALL
            .iter()
            .map(|&category| CategoryPreference {
                category,
                push: !off.iter().any(|c| c == category.as_str()),
            })
            .collect(),
    })
}
