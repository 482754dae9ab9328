//! Follow-up reminders: a follow-up a partner set on a lead (projected to
//! `leads.follow_up_at`) notifies them when it falls due, by push and in
//! their inbox (`notifications::outbox`), once per follow-up time. The
//! worker sleeps until the next follow-up due, and looks again at least
//! every [`MAX_NAP`], so one set meanwhile is noticed within that. A
//! follow-up more than [`STALE`] past due when first seen (the server was
//! down, the partner set it in the past) is not announced: the app's
//! board shows it overdue anyway.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use wire::NotificationKind;

use crate::notifications::outbox::{self, lead_screen};

const MAX_NAP: Duration = Duration::from_secs(15);
const STALE: chrono::Duration = chrono::Duration::hours(12);

#[derive(sqlx::FromRow)]
struct Due {
    account_id: String,
    partner_id: String,
    lead_id: String,
    contact_name: String,
    company: String,
    follow_up_at: DateTime<Utc>,
    follow_up_note: Option<String>,
}

/// Runs the worker forever.
pub async fn run(pool: PgPool) {
    loop {
        let nap = match remind(&pool, Utc::now()).await {
            Ok(next) => next.map_or(MAX_NAP, |wait| wait.min(MAX_NAP)),
            Err(error) => {
                tracing::warn!(%error, "follow-up reminders cannot be read; trying again");
                MAX_NAP
            }
        };
        tokio::time::sleep(nap).await;
    }
}

/// The key that makes one follow-up time notify once.
fn dedupe_key(partner: &str, lead: &str, at: DateTime<Utc>) -> String {
    format!("follow-up:{partner}:{lead}:{}", at.timestamp_millis())
}

/// Notifies every follow-up due at `now` not notified yet; returns how
/// long until the next one is due.
pub async fn remind(pool: &PgPool, now: DateTime<Utc>) -> Result<Option<Duration>, sqlx::Error> {
    let due = sqlx::query_as::<_, Due>(
        "SELECT a.id AS account_id, l.partner_id, l.lead_id, l.contact_name, l.company,
                l.follow_up_at, l.follow_up_note
         FROM leads l JOIN accounts a ON a.partner_id = l.partner_id AND a.status = 'approved'
         WHERE l.follow_up_at <= $1 AND l.follow_up_at > $2 AND l.archived_at IS NULL
           AND NOT EXISTS (
               SELECT 1 FROM notifications n
               WHERE n.dedupe_key = 'follow-up:' || l.partner_id || ':' || l.lead_id || ':'
                                    || (extract(epoch FROM l.follow_up_at) * 1000)::bigint)
         ORDER BY l.follow_up_at LIMIT 500",
    )
    .bind(now)
    .bind(now - STALE)
    .fetch_all(pool)
    .await?;
    if !due.is_empty() {
        let mut tx = pool.begin().await?;
        for lead in &due {
            let who = if lead.company.is_empty() {
                lead.contact_name.clone()
            } else {
                format!("{} ({})", lead.contact_name, lead.company)
            };
            outbox::enqueue(
                &mut tx,
                &outbox::Notice {
                    account_id: lead.account_id.clone(),
                    kind: NotificationKind::FollowUpDue,
                    dedupe_key: dedupe_key(&lead.partner_id, &lead.lead_id, lead.follow_up_at),
                    title: format!("Follow up: {who}"),
                    body: lead
                        .follow_up_note
                        .clone()
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| "A follow-up you planned is due.".to_owned()),
                    screen: lead_screen(&lead.lead_id),
                    topic: Some(topic(&lead.lead_id)),
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    let next: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT min(follow_up_at) FROM leads WHERE follow_up_at > $1 AND archived_at IS NULL",
    )
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(next.map(|at| (at - now).to_std().unwrap_or(Duration::ZERO)))
}

/// A lead's reminders replace each other on a device that was off: at
/// most 32 characters of `[A-Za-z0-9_-]` (RFC 8030 §5.4).
fn topic(lead_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(lead_id.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("fu-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_safe_whatever_the_lead_id() {
        let t = topic("x".repeat(500).as_str());
        assert!(t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_ne!(topic("ben-4"), topic("ben-5"));
    }
}
