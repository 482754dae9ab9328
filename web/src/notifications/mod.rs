//! Notifications: the person's inbox (a document the server writes, kept
//! on the device, so the list works offline), the bell in the header with
//! the count of notices not seen yet, the page that lists them (each opens
//! its screen), and this device's push notifications: turning them on,
//! subscribing again on every start, and the categories pushed.
//!
//! Which notices were seen is this device's to keep (the newest id seen,
//! in localStorage per account): the server's inbox is read-only.

mod page;
mod push;

use std::rc::Rc;

use model::Inbox;
use yew::prelude::*;

use crate::engine;

pub use page::view;

/// A follow-up due now, from the partner's pipeline on the device: the
/// list shows it whatever happened to the server's reminder.
#[derive(Clone, Debug, PartialEq)]
pub struct DueNow {
    pub who: String,
    /// The lead's page.
    pub screen: String,
    pub at: i64,
}
pub use push::use_push;

/// The module's page: `#notifications`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    List,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "notifications").then_some(Page::List)
    }

    fn name(&self) -> String {
        "notifications".to_owned()
    }

    fn title(&self) -> &'static str {
        "Notifications"
    }
}

/// The module's part of the app's state: it outlives its page (the bell
/// counts on every screen).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    pub inbox: Option<Rc<Inbox>>,
    /// The newest notice id seen on this device.
    pub seen: i64,
}

pub enum Action {
    /// The account's inbox reads so now; `seen` is what this device saw.
    Read { inbox: Inbox, seen: i64 },
    /// Everything up to this id was on screen.
    Seen(i64),
}

impl State {
    pub fn reduce(&mut self, action: Action) {
        match action {
            Action::Read { inbox, seen } => {
                self.inbox = Some(Rc::new(inbox));
                self.seen = self.seen.max(seen);
            }
            Action::Seen(id) => self.seen = self.seen.max(id),
        }
    }

    /// Notices newer than the newest seen.
    pub fn unread(&self) -> usize {
        self.inbox.as_ref().map_or(0, |i| i.unread(self.seen))
    }

    /// The newest notice's id, if any.
    pub fn newest(&self) -> Option<i64> {
        self.inbox.as_ref()?.notices.first().map(|n| n.id)
    }
}

/// The key this device keeps the newest id seen under, per account.
fn seen_key(account_id: &str) -> String {
    format!("notices-seen:{account_id}")
}

/// The newest id seen on this device by `account_id`.
pub fn seen_by(account_id: &str) -> i64 {
    engine::local_get(&seen_key(account_id))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Remembers that `account_id` saw everything up to `id` on this device.
pub fn mark_seen(account_id: &str, id: i64) {
    if id > seen_by(account_id) {
        engine::local_set(&seen_key(account_id), &id.to_string());
    }
}

/// The bell: a link to the list, saying how many are unread.
pub fn bell(state: &State) -> Html {
    let unread = state.unread();
    let label = match unread {
        0 => "Notifications".to_owned(),
        1 => "Notifications, 1 unread".to_owned(),
        n => format!("Notifications, {n} unread"),
    };
    html! {
        <a id="bell" class="bell" href="#notifications" aria-label={label.clone()} title={label}>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22">
                <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/>
            </svg>
            if unread > 0 {
                <span class="unread" aria-hidden="true">{ if unread > 99 { "99+".to_owned() } else { unread.to_string() } }</span>
            }
        </a>
    }
}

#[cfg(test)]
mod tests {
    use model::{Notice, PartnerId, Timestamp};

    use super::*;

    fn inbox(ids: &[i64]) -> Inbox {
        Inbox {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            notices: ids
                .iter()
                .map(|&id| Notice {
                    id,
                    kind: "deal_approved".to_owned(),
                    title: String::new(),
                    body: String::new(),
                    screen: "#earnings".to_owned(),
                    at: Timestamp(0),
                })
                .collect(),
        }
    }

    #[test]
    fn unread_counts_what_is_newer_than_the_newest_seen() {
        let mut state = State::default();
        assert_eq!(state.unread(), 0);
        state.reduce(Action::Read {
            inbox: inbox(&[9, 7, 4]),
            seen: 4,
        });
        assert_eq!((state.unread(), state.newest()), (2, Some(9)));
        state.reduce(Action::Seen(9));
        assert_eq!(state.unread(), 0);
        // A reading with an older mark never makes seen notices unread.
        state.reduce(Action::Read {
            inbox: inbox(&[10, 9, 7]),
            seen: 0,
        });
        assert_eq!(state.unread(), 1);
    }
}
