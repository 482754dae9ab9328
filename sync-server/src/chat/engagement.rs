//! Support engagement, the tier progress's fourth signal, from the chat:
//! the questions a partner answered. An answer is a reply they wrote in a
//! thread someone else started, in a topic channel (the programme's
//! places for questions) or their team's channel, not deleted; a thread
//! counts once however many replies they wrote in it, so the count rewards
//! helping more people, not posting more. Reactions are not counted: they
//! live in the documents and are not projected.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The questions `partner` answered since `since` (the deal window's
/// start), as the chat's projection holds them.
pub async fn answers(
    pool: &PgPool,
    partner: &str,
    since: DateTime<Utc>,
) -> Result<u32, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT (r.channel_id, r.reply_to))
         FROM chat_messages r
         JOIN accounts a ON a.id = r.author_id AND a.partner_id = $1
         JOIN chat_messages q ON q.channel_id = r.channel_id AND q.id = r.reply_to
                             AND q.author_id <> r.author_id
         JOIN channels c ON c.doc_id = r.channel_id AND c.form IN ('topic', 'team')
         WHERE r.reply_to IS NOT NULL AND NOT r.gone AND r.written_at > $2",
    )
    .bind(partner)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
