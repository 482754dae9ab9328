//! Web Push: the server's VAPID key (RFC 8292), where a message may go,
//! and the sender, which takes each delivery due, encrypts the notice for
//! its device (RFC 8291, aes128gcm), posts it to the device's push service
//! (RFC 8030) and records what the service said:
//!
//! - 201 (any 2xx): delivered;
//! - 404 or 410: the device is gone for good: its subscription is deleted
//!   (by endpoint, so a device that subscribed again under another account
//!   meanwhile is not) and its deliveries dropped;
//! - 429, 5xx, a timeout or a broken connection: tried again after a
//!   backoff (or the service's `Retry-After`), until the notice is older
//!   than its TTL, when it is dropped as expired;
//! - any other answer (a 400 or 413 names a message the service will
//!   never take, a 401 or 403 a key it does not accept): dropped, with the
//!   status, and a warning.
//!
//! Each message carries `TTL` (how long the service keeps it for a device
//! that is off), `Urgency`, and a `Topic` when the notice has one, so a
//! device that was off gets the latest of a topic, not every one.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use web_push_native::{
    Auth, WebPushBuilder,
    jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair},
    p256::PublicKey,
};
use wire::{NotificationKind, PushMessage, PushNotification};

/// How long a push service keeps a message for a device that is off, and
/// how long the sender tries: a reminder is worth little a day late.
pub fn ttl(kind: NotificationKind) -> Duration {
    match kind {
        NotificationKind::FollowUpDue => Duration::from_secs(6 * 3600),
        _ => Duration::from_secs(3 * 24 * 3600),
    }
}

/// RFC 8030 §5.3: a reminder is high (iOS needs it to wake the device), a
/// decision normal.
fn urgency(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::FollowUpDue => "high",
        _ => "normal",
    }
}

/// How the sender runs.
#[derive(Clone, Debug)]
pub struct PushSettings {
    /// Hosts a subscription's endpoint may name (exactly, or as a
    /// subdomain): the push services, so the server never posts to an
    /// address a client made up.
    pub hosts: Vec<String>,
    /// The longest one request to a push service may take.
    pub timeout: Duration,
    /// The `sub` of every VAPID signature: who to contact about these
    /// messages (a `mailto:` or an `https:` address).
    pub subject: String,
    /// The app's public origin (`https://partners.example`), for the
    /// address a click opens; none: the message names only the screen.
    pub public_origin: Option<String>,
    /// Messages in flight at once.
    pub concurrency: usize,
}

/// The server's VAPID key pair: made at its first start and kept in
/// Postgres (a device subscribes with the public key, and every message
/// it is sent must be signed by the matching private key).
pub async fn vapid_key(pool: &PgPool) -> anyhow::Result<ES256KeyPair> {
    let made = ES256KeyPair::generate();
    sqlx::query("INSERT INTO vapid_keys (id, private_key) VALUES (1, $1) ON CONFLICT DO NOTHING")
        .bind(made.to_bytes())
        .execute(pool)
        .await?;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT private_key FROM vapid_keys WHERE id = 1")
        .fetch_one(pool)
        .await?;
    ES256KeyPair::from_bytes(&stored).map_err(|e| anyhow::anyhow!("the stored VAPID key: {e}"))
}

/// The public key as browsers take it: the uncompressed point, base64url.
pub fn public_key(key: &ES256KeyPair) -> String {
    URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed())
}

/// Why an endpoint is refused, in words for the client.
pub fn check_endpoint(endpoint: &str, hosts: &[String]) -> Result<url::Url, String> {
    if endpoint.len() > 2048 {
        return Err("endpoint must be at most 2048 bytes long".to_owned());
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("endpoint is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    // Plain HTTP only to a push service on this machine (the tests').
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err("endpoint must be an https address".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("endpoint must not carry credentials".to_owned());
    }
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let allowed = hosts.iter().any(|allowed| {
        let allowed = allowed.to_ascii_lowercase();
        host == allowed || host.ends_with(&format!(".{allowed}"))
    });
    if !allowed {
        return Err(format!(
            "endpoint's host {host} is not a known push service"
        ));
    }
    Ok(url)
}

/// A device's keys, checked: the P-256 point and the 16-byte secret.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let point = URL_SAFE_NO_PAD
        .decode(p256dh.trim_end_matches('='))
        .map_err(|_| "keys.p256dh is not base64url".to_owned())?;
    if point.len() != 65 || PublicKey::from_sec1_bytes(&point).is_err() {
        return Err("keys.p256dh is not an uncompressed P-256 public key".to_owned());
    }
    let secret = URL_SAFE_NO_PAD
        .decode(auth.trim_end_matches('='))
        .map_err(|_| "keys.auth is not base64url".to_owned())?;
    if secret.len() != 16 {
        return Err("keys.auth must be 16 bytes".to_owned());
    }
    Ok((point, secret))
}

/// A delivery the sender took, with what it needs to send it.
#[derive(sqlx::FromRow)]
struct Due {
    notification_id: i64,
    endpoint: String,
    attempts: i32,
    p256dh: Vec<u8>,
    auth: Vec<u8>,
    kind: String,
    title: String,
    body: String,
    screen: String,
    topic: Option<String>,
    expires_at: DateTime<Utc>,
}

/// What a push service's answer means for a delivery.
#[derive(Debug, PartialEq)]
enum Outcome {
    Delivered,
    Gone,
    Again { after: Option<Duration> },
    Refused(String),
}

fn outcome_of(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Again {
            after: retry_after
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        status => Outcome::Refused(format!("the push service answered {status}")),
    }
}

/// The wait before attempt `attempts + 1`: 0.5 s doubling to 30 s, with
/// ±25% of jitter so retries after one outage do not arrive together.
fn backoff(attempts: i32) -> Duration {
    let base = 500u64
        .saturating_mul(1 << attempts.clamp(1, 7).saturating_sub(1))
        .min(30_000);
    let jitter = rand::random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// The sender: forever, keeps up to `concurrency` messages in flight,
/// taking more as each one ends (a message that stalls until its timeout
/// holds up no other). Woken by `wake` (a notice was written) and by the
/// time the next retry is due.
pub async fn run(
    pool: PgPool,
    key: Arc<ES256KeyPair>,
    settings: PushSettings,
    wake: Arc<tokio::sync::Notify>,
) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        // A push service never redirects; following one would post a
        // device's message where nobody checked.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no HTTP client: push messages are not sent");
            return;
        }
    };
    let settings = Arc::new(settings);
    // A delivery taken is leased for longer than a send can take, so no
    // other sender takes it meanwhile.
    let lease = (settings.timeout * 2).max(Duration::from_secs(60));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut swept = tokio::time::Instant::now();
    loop {
        if in_flight.is_empty() || swept.elapsed() > Duration::from_secs(10) {
            if let Err(error) = sweep(&pool).await {
                tracing::warn!(%error, "push deliveries cannot be swept");
            }
            swept = tokio::time::Instant::now();
        }
        let room = settings.concurrency.saturating_sub(in_flight.len());
        let mut nap = Duration::from_secs(1);
        // Taken in batches (a few at least) rather than one per message
        // ended: two queries a message would be the sender's cost.
        if room > 0 && (in_flight.is_empty() || room >= settings.concurrency.min(8)) {
            match take_due(&pool, room, lease).await {
                Ok(taken) => {
                    for due in taken {
                        let (pool, client, key, settings) =
                            (pool.clone(), client.clone(), key.clone(), settings.clone());
                        in_flight.spawn(async move {
                            let outcome = send(&client, &key, &settings, &due).await;
                            if let Err(error) = record(&pool, &due, outcome).await {
                                tracing::warn!(%error, "a push delivery's outcome was not recorded; it will be sent again");
                            }
                        });
                    }
                    if in_flight.len() < settings.concurrency
                        && let Some(next) = next_due_in(&pool).await
                    {
                        nap = next;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "push deliveries cannot be read; trying again");
                }
            }
        }
        // Never less than a few ms, so no clock or answer makes this spin.
        let nap = nap.max(Duration::from_millis(20));
        if in_flight.is_empty() {
            let _ = tokio::time::timeout(nap.min(Duration::from_secs(5)), wake.notified()).await;
            continue;
        }
        tokio::select! {
            _ = in_flight.join_next() => {}
            () = wake.notified() => {}
            () = tokio::time::sleep(nap.min(Duration::from_secs(1))) => {}
        }
    }
}

/// Takes up to `limit` deliveries due, leasing them for `lease` (another
/// sender, on this server or another, skips them meanwhile; one that dies
/// mid-send leaves them to be taken again when the lease ends). Only a
/// delivery whose device is still subscribed by the notice's own account
/// is taken (a browser that signed in as someone else since gets none of
/// the first account's notices), and only before it expires.
async fn take_due(pool: &PgPool, limit: usize, lease: Duration) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as::<_, Due>(
        "WITH taken AS (
             UPDATE push_deliveries d
             SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
             FROM (SELECT d.notification_id, d.endpoint FROM push_deliveries d
                   JOIN notifications n ON n.id = d.notification_id
                   JOIN push_subscriptions s
                     ON s.endpoint = d.endpoint AND s.account_id = n.account_id
                   WHERE d.delivered_at IS NULL AND d.dropped IS NULL
                     AND d.next_attempt_at <= now() AND d.expires_at > now()
                   ORDER BY d.next_attempt_at LIMIT $1
                   FOR UPDATE OF d SKIP LOCKED) due
             WHERE d.notification_id = due.notification_id AND d.endpoint = due.endpoint
             RETURNING d.notification_id, d.endpoint, d.attempts, d.expires_at
         )
         SELECT t.notification_id, t.endpoint, t.attempts, t.expires_at, s.p256dh, s.auth,
                n.kind, n.title, n.body, n.screen, n.topic
         FROM taken t
         JOIN notifications n ON n.id = t.notification_id
         JOIN push_subscriptions s ON s.endpoint = t.endpoint",
    )
    .bind(i64::try_from(limit).unwrap_or(64))
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// Ends the deliveries that will never be sent: expired, or whose device
/// is no longer subscribed by the notice's account (unsubscribed, one of
/// more than 20, signed in as someone else).
async fn sweep(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE push_deliveries d
         SET dropped = CASE WHEN d.expires_at <= now() THEN 'expired' ELSE 'unsubscribed' END
         WHERE d.delivered_at IS NULL AND d.dropped IS NULL
           AND (d.expires_at <= now() OR NOT EXISTS (
               SELECT 1 FROM push_subscriptions s JOIN notifications n ON n.id = d.notification_id
               WHERE s.endpoint = d.endpoint AND s.account_id = n.account_id))",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// How long until the next delivery is due, if any is waiting (by the
/// database's clock, which set the times). `None` when nothing waits:
/// `greatest` skips a NULL, so `greatest(min(…) - now(), '0')` over no rows
/// said "due now" and the sender looked again every 20 ms, forever.
pub async fn next_due_in(pool: &PgPool) -> Option<Duration> {
    let wait: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
         FROM push_deliveries WHERE delivered_at IS NULL AND dropped IS NULL",
    )
    .fetch_one(pool)
    .await
    .ok()?;
    Some(Duration::from_secs_f64(wait?.max(0.0)))
}

/// The message a notice becomes (its JSON, before encryption).
pub fn message(
    id: i64,
    kind: NotificationKind,
    title: &str,
    body: &str,
    screen: &str,
    origin: Option<&str>,
) -> PushMessage {
    PushMessage {
        web_push: 8030,
        notification: PushNotification {
            title: title.to_owned(),
            body: body.to_owned(),
            navigate: format!("{}/{screen}", origin.unwrap_or_default()),
            tag: format!("n-{id}"),
        },
        id,
        kind,
        screen: screen.to_owned(),
    }
}

async fn send(
    client: &reqwest::Client,
    key: &ES256KeyPair,
    settings: &PushSettings,
    due: &Due,
) -> Outcome {
    let Some(kind) = NotificationKind::parse(&due.kind) else {
        return Outcome::Refused(format!("a notice of kind {:?}", due.kind));
    };
    // A subscription's endpoint was checked when stored; the hosts allowed
    // may have changed since.
    let endpoint = match check_endpoint(&due.endpoint, &settings.hosts) {
        Ok(url) => url,
        Err(why) => return Outcome::Refused(why),
    };
    let (Ok(device), Some(auth)) = (
        PublicKey::from_sec1_bytes(&due.p256dh),
        (due.auth.len() == 16).then(|| Auth::clone_from_slice(&due.auth)),
    ) else {
        return Outcome::Refused("the subscription's keys do not read".to_owned());
    };
    let Ok(uri) = endpoint.as_str().parse() else {
        return Outcome::Refused("the endpoint is no URI".to_owned());
    };
    let body = message(
        due.notification_id,
        kind,
        &due.title,
        &due.body,
        &due.screen,
        settings.public_origin.as_deref(),
    );
    let Ok(body) = serde_json::to_vec(&body) else {
        return Outcome::Refused("the message does not serialize".to_owned());
    };
    // The VAPID token's lifetime is the builder's "valid duration"; TTL
    // is set below on its own.
    let request = WebPushBuilder::new(uri, device, auth)
        .with_valid_duration(Duration::from_secs(12 * 3600))
        .with_vapid(key, &settings.subject)
        .build(body);
    let request = match request {
        Ok(request) => request,
        Err(error) => return Outcome::Refused(format!("the message cannot be encrypted: {error}")),
    };
    let (parts, payload) = request.into_parts();
    let mut post = client.post(endpoint);
    for (name, value) in &parts.headers {
        // The builder's TTL is its VAPID token's lifetime; the message's
        // own is below (a header given twice would be read either way).
        if name.as_str().eq_ignore_ascii_case("ttl") {
            continue;
        }
        post = post.header(name.as_str(), value.as_bytes());
    }
    let left = (due.expires_at - Utc::now()).num_seconds().max(0);
    post = post
        .header("TTL", left.to_string())
        .header("Urgency", urgency(kind));
    if let Some(topic) = &due.topic {
        post = post.header("Topic", topic);
    }
    match post.body(payload).send().await {
        Ok(answer) => {
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            outcome_of(answer.status().as_u16(), retry_after.as_deref())
        }
        // A timeout, a refused or broken connection: the service may be
        // back in a moment.
        Err(_) => Outcome::Again { after: None },
    }
}

async fn record(pool: &PgPool, due: &Due, outcome: Outcome) -> Result<(), sqlx::Error> {
    let expired = due.expires_at <= Utc::now();
    match outcome {
        Outcome::Delivered => {
            sqlx::query(
                "UPDATE push_deliveries SET delivered_at = now()
                 WHERE notification_id = $1 AND endpoint = $2",
            )
            .bind(due.notification_id)
            .bind(&due.endpoint)
            .execute(pool)
            .await?;
            sqlx::query(
                "UPDATE push_subscriptions SET last_success_at = now() WHERE endpoint = $1",
            )
            .bind(&due.endpoint)
            .execute(pool)
            .await?;
        }
        Outcome::Gone => {
            tracing::info!(endpoint = %due.endpoint, "a push subscription is gone; deleted");
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE push_deliveries SET dropped = 'gone'
                 WHERE endpoint = $1 AND delivered_at IS NULL AND dropped IS NULL",
            )
            .bind(&due.endpoint)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
                .bind(&due.endpoint)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Outcome::Again { .. } if expired => {
            drop_delivery(pool, due, "expired").await?;
        }
        Outcome::Again { after } => {
            // The service's Retry-After when longer than the backoff (a
            // `Retry-After: 0` is no reason to retry at once, forever).
            let wait = after
                .map(|a| a.min(Duration::from_secs(3600)))
                .unwrap_or_default()
                .max(backoff(due.attempts));
            sqlx::query(
                "UPDATE push_deliveries SET next_attempt_at = now() + make_interval(secs => $3)
                 WHERE notification_id = $1 AND endpoint = $2",
            )
            .bind(due.notification_id)
            .bind(&due.endpoint)
            .bind(wait.as_secs_f64())
            .execute(pool)
            .await?;
        }
        Outcome::Refused(why) => {
            tracing::warn!(endpoint = %due.endpoint, %why, "a push message was refused for good");
            drop_delivery(pool, due, &why).await?;
        }
    }
    Ok(())
}

async fn drop_delivery(pool: &PgPool, due: &Due, why: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE push_deliveries SET dropped = $3 WHERE notification_id = $1 AND endpoint = $2",
    )
    .bind(due.notification_id)
    .bind(&due.endpoint)
    .bind(why)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["fcm.googleapis.com".to_owned(), "127.0.0.1".to_owned()]
    }

    #[test]
    fn only_push_services_endpoints_are_taken() {
        assert!(check_endpoint("https://fcm.googleapis.com/fcm/send/x", &hosts()).is_ok());
        assert!(check_endpoint("http://127.0.0.1:9000/push/1", &hosts()).is_ok());
        for wrong in [
            "http://fcm.googleapis.com/fcm/send/x",
            "https://evil.example/fcm.googleapis.com",
            "https://fcm.googleapis.com.evil.example/x",
            "https://user:pw@fcm.googleapis.com/x",
            "http://10.0.0.1/x",
            "https://127.0.0.2/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(check_endpoint(wrong, &hosts()).is_err(), "{wrong}");
        }
        let long = format!("https://fcm.googleapis.com/{}", "a".repeat(3000));
        assert!(check_endpoint(&long, &hosts()).is_err());
    }

    #[test]
    fn answers_become_outcomes() {
        assert_eq!(outcome_of(201, None), Outcome::Delivered);
        assert_eq!(outcome_of(410, None), Outcome::Gone);
        assert_eq!(outcome_of(404, None), Outcome::Gone);
        assert_eq!(
            outcome_of(429, Some("7")),
            Outcome::Again {
                after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            outcome_of(503, Some("soon")),
            Outcome::Again { after: None }
        );
        assert!(matches!(outcome_of(413, None), Outcome::Refused(_)));
        assert!(matches!(outcome_of(403, None), Outcome::Refused(_)));
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter() {
        for attempts in 1..20 {
            let wait = backoff(attempts).as_millis();
            let base = (500u128 << (attempts.clamp(1, 7) - 1)).min(30_000);
            assert!(
                wait >= base * 3 / 4 && wait <= base * 5 / 4,
                "{attempts}: {wait}"
            );
        }
    }

    #[test]
    fn device_keys_are_checked() {
        let key = ES256KeyPair::generate();
        let point = public_key(&key);
        assert!(check_keys(&point, "AAAAAAAAAAAAAAAAAAAAAA").is_ok());
        assert!(check_keys(&point, "AAAA").is_err());
        assert!(check_keys("BAAA", "AAAAAAAAAAAAAAAAAAAAAA").is_err());
        // 65 bytes that are no point on the curve.
        let not_a_point = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(check_keys(&not_a_point, "AAAAAAAAAAAAAAAAAAAAAA").is_err());
    }
}
