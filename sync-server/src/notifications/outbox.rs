//! The outbox: what the modules whose events notify somebody call, in the
//! transaction of the event itself, so a notice exists exactly when its
//! event does (a decision rolled back notifies nobody; one committed is
//! never forgotten by a crash before a message was sent).

use sqlx::PgConnection;
use wire::NotificationKind;

/// The longest title and body a notice keeps (in characters): a push
/// message must stay under 4 KB once encrypted (RFC 8291), and a phone
/// shows two lines anyway.
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 400;

/// A notice for one account.
#[derive(Debug, Clone)]
pub struct Notice {
    pub account_id: String,
    pub kind: NotificationKind,
    /// The same key notifies once, however often the event is seen.
    pub dedupe_key: String,
    pub title: String,
    pub body: String,
    /// The app's screen it opens, as the location's hash: `#lead-ben-4`.
    pub screen: String,
    /// Notices of one topic replace each other on a device that has not
    /// shown them yet (RFC 8030 §5.4): at most 32 of `[A-Za-z0-9_-]`.
    pub topic: Option<String>,
}

/// Writes `notice` on `conn` (the caller's transaction) with a delivery
/// for each device its account subscribed (unless it chose not to have
/// this category pushed), and wakes the workers when the transaction
/// commits. Returns its id, or `None` when its `dedupe_key` was written
/// before.
pub async fn enqueue(conn: &mut PgConnection, notice: &Notice) -> Result<Option<i64>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO notifications (account_id, kind, dedupe_key, title, body, screen, topic)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING
         RETURNING id",
    )
    .bind(&notice.account_id)
    .bind(notice.kind.as_str())
    .bind(&notice.dedupe_key)
    .bind(clip(&notice.title, MAX_TITLE))
    .bind(clip(&notice.body, MAX_BODY))
    .bind(&notice.screen)
    .bind(&notice.topic)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO push_deliveries (notification_id, endpoint, expires_at)
         SELECT $1, s.endpoint, now() + make_interval(secs => $4) FROM push_subscriptions s
         WHERE s.account_id = $2
           AND NOT EXISTS (SELECT 1 FROM notification_preferences p
                           WHERE p.account_id = $2 AND p.category = $3 AND NOT p.push)",
    )
    .bind(id)
    .bind(&notice.account_id)
    .bind(notice.kind.category().as_str())
    .bind(super::push::ttl(notice.kind).as_secs_f64())
    .execute(&mut *conn)
    .await?;
    // Delivered when the transaction commits, and never if it does not.
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(Some(id))
}

/// The account of a partner, if it has one (a fixture's partner may not).
pub async fn account_of(
    conn: &mut PgConnection,
    partner_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM accounts WHERE partner_id = $1 AND status = 'approved'")
        .bind(partner_id)
        .fetch_optional(&mut *conn)
        .await
}

/// A lead's page in the app, as the location's hash (what a notice about
/// it opens); `#` (the board) for an id a hash cannot hold.
pub fn lead_screen(lead_id: &str) -> String {
    if !lead_id.is_empty()
        && lead_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        format!("#lead-{lead_id}")
    } else {
        "#".to_owned()
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_screens_are_safe_whatever_the_lead_id() {
        assert_eq!(lead_screen("ben-4"), "#lead-ben-4");
        assert_eq!(lead_screen("Ben 4<script>"), "#");
        assert_eq!(lead_screen(""), "#");
    }

    #[test]
    fn long_texts_are_cut_with_an_ellipsis() {
        assert_eq!(clip("short", 10), "short");
        let cut = clip(&"é".repeat(500), MAX_BODY);
        assert_eq!(cut.chars().count(), MAX_BODY);
        assert!(cut.ends_with('…'));
    }
}
