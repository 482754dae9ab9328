//! Confirming links: each referrals document's links projected into
//! `referral_links`, where a code is one partner's for good.
//!
//! The first partner whose document names a code holds it. A code another
//! partner holds already is refused (`referral_link_refusals`) and the
//! partner's device says so; with 60 random bits made on the device that
//! happens only to a device that copied a code on purpose. A label follows
//! the document. A link is never removed: its code may be on paper.
//!
//! Every projection writes every link again (at most 500, each an upsert
//! that changes nothing when nothing moved), so it is idempotent and needs
//! no record of what it saw: at start every document is projected once.

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, Utc};
use model::ReferralsDoc;
use sqlx::PgPool;
use sync::DocKind;

use crate::{
    events::{DocumentStored, FiguresMoved, Inbox, Outbox},
    platform::storage::{LoadError, load_document},
};

use super::coupons;

/// Reads what `changed` names; tells `figures` whose links moved.
pub async fn run(pool: PgPool, mut changed: Inbox<DocumentStored>, figures: Outbox<FiguresMoved>) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    loop {
        match sqlx::query_scalar::<_, String>(
            "SELECT doc_id FROM documents WHERE kind = 'referrals'",
        )
        .fetch_all(&pool)
        .await
        {
            Ok(all) => {
                pending.extend(all);
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "referrals projection cannot list documents; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    let mut later: Vec<String> = Vec::new();
    loop {
        while let Ok(DocumentStored(doc)) = changed.try_recv() {
            pending.insert(doc);
        }
        if pending.is_empty() {
            pending.extend(later.drain(..));
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
            Ok(Some(partner)) => figures.send(FiguresMoved(partner)),
            Ok(None) => {}
            Err(Failure::Db(error)) => {
                tracing::warn!(%error, doc_id, "referrals projection failed; will retry");
                // After the others: one document that keeps failing does
                // not hold up those behind it.
                later.push(doc_id);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(Failure::Unreadable(why)) => {
                tracing::error!(why, doc_id, "cannot project referrals document")
            }
        }
    }
}

#[derive(Debug)]
pub enum Failure {
    Db(sqlx::Error),
    Unreadable(String),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        Failure::Db(e)
    }
}

/// Projects one document if it is a referrals document; the partner whose
/// links moved (a link confirmed, renamed or refused).
pub async fn project(pool: &PgPool, doc_id: &str) -> Result<Option<String>, Failure> {
    let owner: Option<Option<String>> =
        sqlx::query_scalar("SELECT owner_id FROM documents WHERE doc_id = $1 AND kind = $2")
            .bind(doc_id)
            .bind(DocKind::Referrals.as_str())
            .fetch_optional(pool)
            .await?;
    let Some(Some(partner)) = owner else {
        return Ok(None);
    };
    let doc = load_document(pool, doc_id).await.map_err(|e| match e {
        LoadError::Db(e) => Failure::Db(e),
        other => Failure::Unreadable(other.to_string()),
    })?;
    let referrals = ReferralsDoc::read(&doc).map_err(|e| Failure::Unreadable(e.to_string()))?;
    if !referrals.unreadable.is_empty() {
        tracing::warn!(doc_id, entries = ?referrals.unreadable, "links that do not read were skipped");
    }
    let mut tx = pool.begin().await?;
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let mut moved = false;
    for link in &referrals.links {
        // A device's clock is its own: a link is not made in the future.
        let created =
            DateTime::from_timestamp_millis(link.created_at.0).map_or(now, |t| t.min(now));
        let holder: String = sqlx::query_scalar(
            "INSERT INTO referral_links (code, partner_id, label, created_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET label = EXCLUDED.label
                 WHERE referral_links.partner_id = EXCLUDED.partner_id
                   AND referral_links.label IS DISTINCT FROM EXCLUDED.label
             RETURNING partner_id",
        )
        .bind(&link.code)
        .bind(&partner)
        .bind(&link.label)
        .bind(created)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .map_or_else(String::new, |p| {
            moved = true;
            p
        });
        if !holder.is_empty() {
            continue;
        }
        // Nothing written: the same label, or another partner's code.
        let other: Option<String> = sqlx::query_scalar(
            "SELECT partner_id FROM referral_links WHERE code = $1 AND partner_id <> $2",
        )
        .bind(&link.code)
        .bind(&partner)
        .fetch_optional(&mut *tx)
        .await?;
        if other.is_some() {
            let refused = sqlx::query(
                "INSERT INTO referral_link_refusals (partner_id, code, reason)
                 VALUES ($1, $2, 'another partner holds this code; make a new link')
                 ON CONFLICT DO NOTHING",
            )
            .bind(&partner)
            .bind(&link.code)
            .execute(&mut *tx)
            .await?;
            moved |= refused.rows_affected() > 0;
        }
    }
    if !referrals.links.is_empty() {
        moved |= coupons::ensure(&mut tx, &partner).await?;
    }
    tx.commit().await?;
    Ok(moved.then_some(partner))
}
