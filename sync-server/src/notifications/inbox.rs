//! The inbox writer: each notice written to the outbox goes into its
//! person's inbox document (`model::InboxDoc`, one per partner, made the
//! first time), which the app's drawer reads, offline too. A notice is in
//! the inbox once `in_app_at` is set; the writer takes every person with
//! notices not yet there, writes their most recent
//! [`model::INBOX_SIZE`], and sets it. Woken by each notice committed;
//! a failed write is tried again (nothing is marked until written).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use model::{Inbox, InboxDoc, Notice, PartnerId, Timestamp};
use sqlx::PgPool;

use crate::platform::{
    residency::Residency,
    server_docs::{self, WriteError},
};

/// The notifications' `accounts::partners::PartnerSetup`: an empty inbox
/// for a new partner, so the app follows it (and keeps it offline) from
/// the first start, before any notice.
pub fn setup_partner<'a>(
    conn: &'a mut sqlx::PgConnection,
    partner: &'a PartnerId,
    _now: Timestamp,
) -> futures::future::BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(async move {
        let mut doc = automerge::Automerge::new();
        InboxDoc::write(
            &mut doc,
            &Inbox {
                partner_id: partner.clone(),
                notices: Vec::new(),
            },
        )?;
        crate::platform::storage::insert_owned_document(
            &mut *conn,
            &doc,
            sync::DocKind::Inbox,
            partner.as_str(),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("{partner} has an inbox already"))
    })
}

/// Runs the writer forever.
pub async fn run(pool: PgPool, residency: Arc<Residency>, wake: Arc<tokio::sync::Notify>) {
    loop {
        match write_pending(&pool, &residency).await {
            Ok(0) => {
                // Woken by a notice; the timeout covers a wake-up lost
                // while the database was away.
                let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "inboxes cannot be written; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    title: String,
    body: String,
    screen: String,
    created_at: DateTime<Utc>,
}

/// Writes the inboxes of up to 100 people with notices not yet in them;
/// returns how many it wrote.
async fn write_pending(pool: &PgPool, residency: &Residency) -> Result<usize, WriteError> {
    // People without a partner (an admin) have no inbox: their notices are
    // marked and go by push only.
    sqlx::query(
        "UPDATE notifications n SET in_app_at = now() FROM accounts a
         WHERE n.in_app_at IS NULL AND a.id = n.account_id AND a.partner_id IS NULL",
    )
    .execute(pool)
    .await?;
    let people: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT n.account_id, a.partner_id
         FROM notifications n JOIN accounts a ON a.id = n.account_id
         WHERE n.in_app_at IS NULL AND a.partner_id IS NOT NULL
         LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    for (account, partner) in &people {
        // The most recent, whatever committed when: ids are handed out
        // as notices are made, not as they commit, so a bound by the
        // newest id seen would leave out (and delete from the document)
        // one that committed late.
        let rows = sqlx::query_as::<_, Row>(
            "SELECT id, kind, title, body, screen, created_at FROM notifications
             WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(account)
        .bind(model::INBOX_SIZE as i64)
        .fetch_all(pool)
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let oldest = ids.last().copied().unwrap_or(i64::MAX);
        let Ok(partner_id) = PartnerId::parse(partner) else {
            tracing::warn!(
                partner,
                "an account's partner id does not read; its notices go by push only"
            );
            mark(pool, account, &ids, oldest).await?;
            continue;
        };
        let inbox = Inbox {
            partner_id,
            notices: rows
                .into_iter()
                .map(|r| Notice {
                    id: r.id,
                    kind: r.kind,
                    title: r.title,
                    body: r.body,
                    screen: r.screen,
                    at: Timestamp(r.created_at.timestamp_millis()),
                })
                .collect(),
        };
        let written =
            server_docs::write_owned(pool, residency, sync::DocKind::Inbox, partner, |doc| {
                InboxDoc::write(doc, &inbox)
            })
            .await;
        match written {
            Ok(()) => {}
            // An inbox that cannot be written is left (and said); its
            // notices still go by push. Marked, so the writer moves on.
            Err(WriteError::GiveUp(why)) => {
                tracing::warn!(partner, %why, "an inbox cannot be written; its notices go by push only");
            }
            Err(retry) => return Err(retry),
        }
        mark(pool, account, &ids, oldest).await?;
    }
    Ok(people.len())
}

/// Marks as in the inbox the notices written (`ids`) and those older than
/// all of them (pushed out of the most recent by newer ones).
async fn mark(pool: &PgPool, account: &str, ids: &[i64], oldest: i64) -> Result<(), WriteError> {
    sqlx::query(
        "UPDATE notifications SET in_app_at = now()
         WHERE account_id = $1 AND in_app_at IS NULL AND (id = ANY($2) OR id < $3)",
    )
    .bind(account)
    .bind(ids)
    .bind(oldest)
    .execute(pool)
    .await?;
    Ok(())
}
