//! Messages projected into Postgres (`chat_messages`), from each messages
//! document as it is stored: what search and the older history read, and
//! where mentions are found. Resumable and idempotent as the other
//! projections are: the heads projected are kept (`chat_projected`) in
//! the same transaction as the rows, and at start every messages document
//! is looked at again.
//!
//! The author of a row is the actor that made the message (the document
//! says nothing else that could be trusted); a message whose author is no
//! account of the channel's is left out. A mention (`@Ana`) of a member
//! notifies them once per message, through the outbox, in the
//! transaction that first projects the message.

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, Utc};
use model::{ChannelIndex, MessagesDoc};
use sqlx::PgPool;
use wire::NotificationKind;

use super::channels::index_of;
use crate::{
    events::{DocumentStored, FiguresMoved, Inbox, Outbox},
    notifications::outbox::{self, Notice},
    platform::storage::{LoadError, load_document},
};

/// Projects what `changed` names, and every messages document at start.
pub async fn run(pool: PgPool, mut changed: Inbox<DocumentStored>, figures: Outbox<FiguresMoved>) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    loop {
        match sqlx::query_scalar::<_, String>("SELECT doc_id FROM channel_buckets")
            .fetch_all(&pool)
            .await
        {
            Ok(all) => {
                pending.extend(all);
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "chat projection cannot list documents; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    loop {
        while let Ok(DocumentStored(doc)) = changed.try_recv() {
            pending.insert(doc);
        }
        let Some(doc_id) = pending.pop_first() else {
            match changed.recv().await {
                Some(DocumentStored(doc)) => {
                    pending.insert(doc);
                    continue;
                }
                None => return,
            }
        };
        match project(&pool, &doc_id).await {
            // Those who answered a question: their support engagement
            // (`engagement.rs`) moved, and with it their tier progress.
            Ok(answered) => {
                for partner in answered {
                    figures.send(FiguresMoved(partner));
                }
            }
            Err(Failed::Db(error)) => {
                tracing::warn!(%error, doc_id, "chat projection failed; will retry");
                pending.insert(doc_id);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(Failed::Unreadable(why)) => {
                tracing::error!(doc_id, why, "cannot project a messages document")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Failed {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Unreadable(String),
}

impl From<anyhow::Error> for Failed {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<sqlx::Error>() {
            Ok(db) => Failed::Db(db),
            Err(other) => Failed::Unreadable(other.to_string()),
        }
    }
}

/// Projects one document if it is a channel's messages and its heads
/// moved; the partners who wrote a reply it added or removed.
pub async fn project(pool: &PgPool, doc_id: &str) -> Result<Vec<String>, Failed> {
    let channel: Option<String> =
        sqlx::query_scalar("SELECT channel_id FROM channel_buckets WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_optional(pool)
            .await?;
    let Some(channel) = channel else {
        return Ok(Vec::new());
    };
    // One projection of a document at a time (the worker's, an admin's
    // post's), each loading it only once it holds the lock: one that
    // loaded first could otherwise write an older state over a newer one.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('chat_projected'), hashtext($1))")
        .bind(doc_id)
        .execute(&mut *tx)
        .await?;
    let doc = load_document(pool, doc_id).await.map_err(|e| match e {
        LoadError::Db(e) => Failed::Db(e),
        other => Failed::Unreadable(other.to_string()),
    })?;
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    let messages =
        MessagesDoc::read(&doc, None, None).map_err(|e| Failed::Unreadable(e.to_string()))?;
    let projected: Option<Vec<String>> =
        sqlx::query_scalar("SELECT heads FROM chat_projected WHERE doc_id = $1 FOR UPDATE")
            .bind(doc_id)
            .fetch_optional(&mut *tx)
            .await?;
    if projected.as_ref() == Some(&heads) {
        return Ok(Vec::new());
    }
    let Some(index) = index_of(pool, &channel).await? else {
        return Ok(Vec::new());
    };
    // Authors are accounts; an author who is no member (removed since)
    // still wrote it, but one no account has is nobody.
    let authors: Vec<String> = messages.messages.iter().map(|m| m.author.clone()).collect();
    let known: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1)")
            .bind(&authors)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let removers: Vec<String> = messages
        .messages
        .iter()
        .filter_map(|m| m.removed_by.clone())
        .collect();
    let known_removers: std::collections::HashSet<String> = if removers.is_empty() {
        Default::default()
    } else {
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1)")
            .bind(&removers)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect()
    };
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    // A device's clock may be wrong: no message is dated after it reached
    // the server, nor before the year 2000.
    let at = |ms: i64| {
        DateTime::from_timestamp_millis(ms)
            .map_or(now, |t| t.min(now))
            .max(DateTime::from_timestamp(946_684_800, 0).unwrap_or(now))
    };
    let mut repliers: BTreeSet<String> = BTreeSet::new();
    for m in messages
        .messages
        .iter()
        .filter(|m| known.contains(&m.author))
    {
        if m.is_gone() {
            super::files::withdraw(&mut tx, &channel, &m.id).await?;
        }
        let inserted: Option<bool> = sqlx::query_scalar(
            "INSERT INTO chat_messages
                 (channel_id, id, doc_id, author_id, written_at, body, reply_to, edited_at, gone,
                  removed_by, file)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (channel_id, id) DO UPDATE SET
                 body = EXCLUDED.body, edited_at = EXCLUDED.edited_at, gone = EXCLUDED.gone,
                 removed_by = EXCLUDED.removed_by, file = EXCLUDED.file
             WHERE chat_messages.author_id = EXCLUDED.author_id
               AND (chat_messages.body, chat_messages.edited_at, chat_messages.gone,
                    chat_messages.removed_by, chat_messages.file)
                   IS DISTINCT FROM
                   (EXCLUDED.body, EXCLUDED.edited_at, EXCLUDED.gone, EXCLUDED.removed_by,
                    EXCLUDED.file)
             RETURNING (xmax = 0)",
        )
        .bind(&channel)
        .bind(&m.id)
        .bind(doc_id)
        .bind(&m.author)
        .bind(at(m.at.0))
        .bind(&m.body)
        .bind(&m.reply_to)
        .bind(m.edited_at.map(|t| at(t.0)))
        .bind(m.is_gone())
        // Named by the server's own write, so an account; one that is not
        // (an account gone) is said as nobody's.
        .bind(
            m.removed_by
                .as_ref()
                .filter(|by| known_removers.contains(*by)),
        )
        .bind(m.file.as_ref().map(sqlx::types::Json))
        .fetch_optional(&mut *tx)
        .await?;
        if inserted == Some(true) && !m.is_gone() {
            notify_mentions(&mut tx, &channel, &index, m).await?;
        }
        // A row comes back only when inserted (true) or changed (false):
        // a message projected again unchanged writes nothing and moves
        // nobody's figures, and a reply deleted moves them once.
        if m.reply_to.is_some() && (inserted == Some(true) || (inserted.is_some() && m.is_gone())) {
            repliers.insert(m.author.clone());
        }
    }
    sqlx::query(
        "INSERT INTO chat_projected (doc_id, heads, messages) VALUES ($1, $2, $3)
         ON CONFLICT (doc_id) DO UPDATE SET heads = EXCLUDED.heads, messages = EXCLUDED.messages",
    )
    .bind(doc_id)
    .bind(&heads)
    .bind(i32::try_from(messages.messages.len()).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if repliers.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT partner_id FROM accounts WHERE id = ANY($1) AND partner_id IS NOT NULL",
    )
    .bind(repliers.into_iter().collect::<Vec<_>>())
    .fetch_all(pool)
    .await?)
}

async fn notify_mentions(
    tx: &mut sqlx::PgConnection,
    channel: &str,
    index: &ChannelIndex,
    m: &model::ChatMessage,
) -> Result<(), sqlx::Error> {
    let author = index.name_of(&m.author).to_owned();
    let screen = match &m.reply_to {
        Some(root) => format!("#thread-{channel}_{root}"),
        None => format!("#chat-{channel}"),
    };
    for account in model::mentions(&m.body, &index.members) {
        if account == m.author {
            continue;
        }
        outbox::enqueue(
            &mut *tx,
            &Notice {
                account_id: account.clone(),
                kind: NotificationKind::ChatMention,
                dedupe_key: format!("chat-mention:{channel}:{}:{account}", m.id),
                title: format!("{author} mentioned you in {}", index.name),
                body: m.body.clone(),
                screen: screen.clone(),
                topic: None,
            },
        )
        .await?;
    }
    Ok(())
}
