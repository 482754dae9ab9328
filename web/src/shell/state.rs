//! The app's state and how actions change it, without markup: who is
//! signed in and whether their session lasts, the connection, the screen,
//! the partner's account view, and each module's part that outlives its
//! screen (the pipeline shown: the sync badge counts its changes waiting
//! on every screen).

use std::rc::Rc;

use model::AccountView;
use web_common::api::{Me, Role};
use yew::prelude::*;

use super::screen::Screen;
use crate::{chat, notifications, pipeline, training};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AppState {
    pub me: Option<Rc<Me>>,
    /// The session is over; `me` and everything on screen stay until
    /// someone signs in.
    pub session_ended: bool,
    /// When (ms since the epoch) the current session began on this page: a
    /// probe of `/api/me` sent before then speaks of an older session.
    signed_in_at: f64,
    pub connection: Option<Connection>,
    pub error: Option<String>,
    /// The error came while the app was not online (a request that could
    /// not reach the server): it describes that condition, and goes when
    /// the connection is back.
    error_until_online: bool,
    pub screen: Screen,
    /// The partner's account view, once on the device: the tier badge, the
    /// deals on lead cards and the money screens read it.
    pub view: Option<Rc<AccountView>>,
    /// Nobody could give the account view yet (offline on first use).
    pub view_missing: bool,
    pub pipeline: pipeline::State,
    /// The inbox and what of it this device saw: the bell counts on every
    /// screen.
    pub notifications: notifications::State,
    /// The published tracks and the partner's training record.
    pub training: training::State,
    /// The channels and their messages on the device.
    pub chat: chat::State,
}

pub enum Action {
    /// Someone signed in on this page, at `at`.
    SignedIn {
        me: Me,
        at: f64,
    },
    /// `/api/me` answered: the session is alive, and this is who owns it.
    MeRefreshed(Me),
    /// The server says the account's session is over; `since` is when the
    /// question was asked (or the socket closed).
    SessionEnded {
        account_id: String,
        since: f64,
    },
    SignedOut,
    Connection(Connection),
    Error(Option<String>),
    Navigate(Screen),
    View(AccountView),
    ViewMissing,
    Pipeline(pipeline::Action),
    Notifications(notifications::Action),
    Training(training::Action),
    Chat(chat::Action),
}

impl AppState {
    pub fn signed_in(me: Me, ended: bool, at: f64) -> AppState {
        AppState {
            pipeline: pipeline::State::for_account(&me),
            me: Some(Rc::new(me)),
            session_ended: ended,
            signed_in_at: at,
            ..AppState::default()
        }
    }

    /// The account's details changed (its team, say).
    fn replace_me(&mut self, me: Me) {
        self.pipeline.account_changed(&me);
        self.me = Some(Rc::new(me));
    }

    /// Signed in as an admin, whose place is the back-office.
    pub fn admin(&self) -> bool {
        self.me.as_ref().is_some_and(|me| me.role == Role::Admin)
    }

    fn account_id(&self) -> Option<&str> {
        self.me.as_ref().map(|me| me.account_id.as_str())
    }

    /// Whether the pipeline on screen may be edited from here.
    pub fn read_only(&self) -> bool {
        self.pipeline.read_only(self.me.as_deref())
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::SignedIn { me, at } => {
                if self.account_id() == Some(me.account_id.as_str()) {
                    // The same partner again: same engine, same documents,
                    // and what waited will now sync.
                    next.replace_me(me);
                    next.session_ended = false;
                    next.signed_in_at = at;
                    next.error = None;
                } else {
                    next = AppState::signed_in(me, false, at);
                    next.screen = self.screen.clone();
                }
            }
            Action::MeRefreshed(me) => match self.account_id() {
                Some(current) if current == me.account_id => {
                    next.replace_me(me);
                    next.session_ended = false;
                }
                // The browser's session now belongs to someone else (signed
                // in from another tab): this page's account is signed out.
                Some(_) => next.session_ended = true,
                None => {}
            },
            Action::SessionEnded { account_id, since } => {
                if self.account_id() == Some(account_id.as_str()) && since >= self.signed_in_at {
                    // Everything else stays, a half-typed lead included.
                    next.session_ended = true;
                }
            }
            Action::SignedOut => {
                next = AppState {
                    screen: self.screen.clone(),
                    ..AppState::default()
                }
            }
            Action::Connection(c) => {
                next.connection = Some(c);
                if c == Connection::Online && next.error_until_online {
                    next.error = None;
                    next.error_until_online = false;
                }
            }
            Action::Error(e) => {
                next.error_until_online =
                    e.is_some() && self.connection != Some(Connection::Online);
                next.error = e;
            }
            Action::Navigate(screen) => next.screen = screen,
            Action::View(view) => {
                next.view = Some(Rc::new(view));
                next.view_missing = false;
            }
            Action::ViewMissing => next.view_missing = self.view.is_none(),
            Action::Pipeline(action) => next.pipeline.reduce(action),
            Action::Notifications(action) => next.notifications.reduce(action),
            Action::Training(action) => next.training.reduce(action),
            Action::Chat(action) => next.chat.reduce(action),
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{earnings, pipeline::Action::Read};
    use model::Pipeline;
    use web_common::api::{Access, MyDocument};

    fn doc(id: &str, partner: &str, access: Access) -> MyDocument {
        MyDocument {
            doc_id: id.to_owned(),
            kind: "pipeline".to_owned(),
            partner_id: format!("p-{}", partner.to_lowercase()),
            partner_name: partner.to_owned(),
            access,
        }
    }

    fn me(account: &str, documents: Vec<MyDocument>) -> Me {
        serde_json::from_value(serde_json::json!({
            "account_id": account,
            "email": format!("{account}@example.test"),
            "name": account,
            "role": Role::Partner,
            "documents": documents,
        }))
        .unwrap()
    }

    fn ben() -> Me {
        me("a-ben", vec![doc("d-ben", "Ben", Access::ReadWrite)])
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            partner_id: model::PartnerId::parse("p-ben").unwrap(),
            leads: Vec::new(),
            unreadable: Vec::new(),
            heads: model::Heads::default(),
        }
    }

    fn reduce(state: AppState, actions: Vec<Action>) -> AppState {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        (*state).clone()
    }

    fn shown(state: &AppState) -> AppState {
        // Ben's pipeline is on screen, with changes waiting.
        reduce(
            state.clone(),
            vec![Action::Pipeline(Read {
                doc_id: "d-ben".to_owned(),
                pipeline: pipeline(),
                pending: 2,
            })],
        )
    }

    #[test]
    fn an_error_met_offline_goes_when_the_connection_is_back_and_others_stay() {
        let offline = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![
                Action::Connection(Connection::Offline),
                Action::Error(Some("You are offline.".to_owned())),
            ],
        );
        assert_eq!(offline.error.as_deref(), Some("You are offline."));
        let still = reduce(
            offline.clone(),
            vec![Action::Connection(Connection::Connecting)],
        );
        assert_eq!(still.error.as_deref(), Some("You are offline."));
        let back = reduce(offline, vec![Action::Connection(Connection::Online)]);
        assert_eq!(back.error, None);

        // An error met online is not about the connection: it stays.
        let online = reduce(
            back,
            vec![Action::Error(Some("cannot read pipeline".to_owned()))],
        );
        let again = reduce(
            online,
            vec![
                Action::Connection(Connection::Offline),
                Action::Connection(Connection::Online),
            ],
        );
        assert_eq!(again.error.as_deref(), Some("cannot read pipeline"));
    }

    #[test]
    fn a_session_that_ends_keeps_what_is_on_screen_until_the_same_partner_is_back() {
        let signed_in = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::Pipeline(pipeline::Action::Form(true))],
        );
        let ended = reduce(
            signed_in.clone(),
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_000.0,
            }],
        );
        assert!(ended.session_ended);
        assert_eq!(ended.pipeline.pipeline, signed_in.pipeline.pipeline);
        assert_eq!(ended.pipeline.pending, 2);
        assert_eq!(ended.pipeline.selected.as_deref(), Some("d-ben"));
        assert!(ended.pipeline.form_open, "a lead being typed is kept");

        let back = reduce(
            ended,
            vec![Action::SignedIn {
                me: ben(),
                at: 3_000.0,
            }],
        );
        assert!(!back.session_ended);
        assert_eq!(
            back.pipeline.pipeline, signed_in.pipeline.pipeline,
            "same engine, same document"
        );
        assert_eq!(back.pipeline.pending, 2);
        assert!(back.pipeline.form_open);

        // A 401 to a question asked before that sign-in is about the old
        // session.
        let stale = reduce(
            back,
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_500.0,
            }],
        );
        assert!(!stale.session_ended);
    }

    #[test]
    fn another_account_starts_from_nothing_of_the_previous_ones() {
        let ended = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_000.0,
            }],
        );
        let cleo = me("a-cleo", vec![doc("d-cleo", "Cleo", Access::ReadWrite)]);
        let next = reduce(
            ended,
            vec![
                Action::SignedIn {
                    me: cleo,
                    at: 3_000.0,
                },
                // Late news from Ben's engine.
                Action::SessionEnded {
                    account_id: "a-ben".to_owned(),
                    since: 4_000.0,
                },
                Action::Pipeline(Read {
                    doc_id: "d-ben".to_owned(),
                    pipeline: pipeline(),
                    pending: 2,
                }),
            ],
        );
        assert_eq!(next.account_id(), Some("a-cleo"));
        assert!(!next.session_ended);
        assert_eq!(next.pipeline.selected.as_deref(), Some("d-cleo"));
        assert_eq!(next.pipeline.pipeline, None);
        assert_eq!(next.pipeline.pending, 0);
    }

    #[test]
    fn the_browsers_session_passing_to_another_account_ends_this_pages() {
        let state = AppState::signed_in(ben(), false, 1_000.0);
        let cleo = me("a-cleo", vec![]);
        let next = reduce(state, vec![Action::MeRefreshed(cleo)]);
        assert!(next.session_ended);
        assert_eq!(next.account_id(), Some("a-ben"));
    }

    #[test]
    fn a_team_leader_sees_the_team_read_only() {
        let ana = me(
            "a-ana",
            vec![
                doc("d-ana", "Ana", Access::ReadWrite),
                doc("d-ben", "Ben", Access::ReadOnly),
            ],
        );
        let state = AppState::signed_in(ana, false, 1_000.0);
        assert_eq!(state.pipeline.selected.as_deref(), Some("d-ana"));
        assert!(!state.read_only());
        let state = reduce(
            state,
            vec![Action::Pipeline(pipeline::Action::Select(
                "d-ben".to_owned(),
            ))],
        );
        assert!(state.read_only());
        // Ana's team changes and Ben leaves it: back to her own pipeline.
        let state = reduce(
            state,
            vec![Action::MeRefreshed(me(
                "a-ana",
                vec![doc("d-ana", "Ana", Access::ReadWrite)],
            ))],
        );
        assert_eq!(state.pipeline.selected.as_deref(), Some("d-ana"));
    }

    #[test]
    fn moving_between_screens_keeps_the_pipeline() {
        let state = shown(&AppState::signed_in(ben(), false, 1_000.0));
        let earnings = Screen::Earnings(earnings::Page::Tier);
        let moved = reduce(state.clone(), vec![Action::Navigate(earnings.clone())]);
        assert_eq!(moved.screen, earnings);
        assert_eq!(moved.pipeline, state.pipeline);
    }

    #[test]
    fn an_admin_is_sent_to_the_back_office() {
        let admin = Me {
            role: Role::Admin,
            ..me("a-admin", vec![])
        };
        assert!(AppState::signed_in(admin, false, 0.0).admin());
        assert!(!AppState::signed_in(ben(), false, 0.0).admin());
    }

    #[test]
    fn signing_out_forgets_the_account() {
        let state = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::SignedOut],
        );
        assert_eq!(state, AppState::default());
    }
}
