//! A person's inbox: the notifications the server sent them (a deal
//! decided, a commission available, a payout made, a follow-up due), the
//! most recent first, which the app's drawer shows, offline too.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "inbox", partner_id: "p-ben",
//!        notices: { <id>: { kind: "deal_approved", title: str, body: str,
//!                           screen: "#lead-ben-4", at: ts } } }
//! ```
//!
//! The server is the only writer (the owner reads it; samod drops a
//! read-only peer's changes), from its `notifications` table, whose ids
//! key the map: a notice written is one new entry, one pushed out of the
//! most recent [`INBOX_SIZE`] one delete, so a device downloads what is
//! new and nothing else. Maps are ordered by key, so [`Inbox::sorted`]
//! orders them newest first. Whether a notice was read is the reader's
//! device's to keep, not the server's document's.

#[cfg(feature = "doc")]
mod doc;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::InboxDoc;

use crate::{PartnerId, Timestamp};

/// The value of the root `kind` field of an inbox.
pub const INBOX_KIND: &str = "inbox";
/// How many notices an inbox keeps, the most recent.
pub const INBOX_SIZE: usize = 100;

/// A person's notices, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub partner_id: PartnerId,
    pub notices: Vec<Notice>,
}

/// One notification as the drawer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The server's id: the order they were made in, and what a push
    /// message of the same notice names, so the two are one.
    pub id: i64,
    /// `deal_approved`, `deal_rejected`, `commission_available`,
    /// `payout_made`, `follow_up_due` (the server's vocabulary, `wire`).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The app's screen it opens, as the location's hash: `#lead-ben-4`.
    pub screen: String,
    pub at: Timestamp,
}

impl Inbox {
    /// Newest first, at most [`INBOX_SIZE`].
    pub fn sorted(mut self) -> Inbox {
        self.notices.sort_by_key(|n| std::cmp::Reverse(n.id));
        self.notices.truncate(INBOX_SIZE);
        self
    }

    /// How many notices are newer than `seen` (the newest id the reader
    /// has seen).
    pub fn unread(&self, seen: i64) -> usize {
        self.notices.iter().filter(|n| n.id > seen).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: i64) -> Notice {
        Notice {
            id,
            kind: "deal_approved".to_owned(),
            title: format!("Deal {id} approved"),
            body: String::new(),
            screen: "#earnings".to_owned(),
            at: Timestamp(id * 1_000),
        }
    }

    #[test]
    fn notices_read_newest_first_and_at_most_a_full_inbox() {
        let inbox = Inbox {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            notices: (1..=INBOX_SIZE as i64 + 5).map(notice).collect(),
        }
        .sorted();
        assert_eq!(inbox.notices.len(), INBOX_SIZE);
        assert_eq!(inbox.notices[0].id, INBOX_SIZE as i64 + 5);
        assert_eq!(inbox.notices.last().unwrap().id, 6);
        assert_eq!(inbox.unread(INBOX_SIZE as i64 + 2), 3);
        assert_eq!(inbox.unread(i64::MAX), 0);
    }
}
