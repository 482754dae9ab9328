//! Support engagement, the tier progress's fourth signal, from the chat:
//! the questions a partner answered. An answer is a reply they wrote in a
//! thread someone else started, in a topic channel (the programme's
//! places for questions) or their team's channel, not deleted; a thread
//! counts once however many replies they wrote in it, so the count rewards
//! helping more people, not posting more. Reactions are not counted: they
//! live in the documents and are not projected.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The questions `partner` answered since `since` (the deal window's
/// start), as the chat's projection holds them.
pub async fn answers(
    pool: &PgPool,
    partner: &str,
    since: DateTime<Utc>,
) -> Result<u32, sqlx::Error> {
    Ok(answers_of(pool, &[partner.to_owned()], since)
        .await?
        .get(partner)
        .copied()
        .unwrap_or(0))
}

/// [`answers`] of each of `partners` in one query; one who answered
/// nothing is absent.
pub async fn answers_of(
    pool: &PgPool,
    partners: &[String],
    since: DateTime<Utc>,
) -> Result<HashMap<String, u32>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.partner_id, count(DISTINCT (r.channel_id, r.reply_to))
         FROM chat_messages r
         JOIN accounts a ON a.id = r.author_id AND a.partner_id = ANY($1)
         JOIN chat_messages q ON q.channel_id = r.channel_id AND q.id = r.reply_to
                             AND q.author_id <> r.author_id
         JOIN channels c ON c.doc_id = r.channel_id AND c.form IN ('topic', 'team')
         WHERE r.reply_to IS NOT NULL AND NOT r.gone AND r.written_at > $2
         GROUP BY a.partner_id",
    )
    .bind(partners)
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(partner, n)| (partner, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}
