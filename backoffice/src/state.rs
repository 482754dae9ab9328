//! The back-office's state and its reducer: who is signed in, the desk on
//! screen, its answers and the last change's outcome (the words its
//! answer gave, as `forms::Change` renders them). It renders nothing;
//! effects at the edge (`app`) dispatch the actions.
//!
//! Nothing is remembered between visits: the page asks `/api/me` when it
//! opens, and a 401 from any request (the session expired, was revoked, or
//! someone signed out in another tab) brings the sign-in form back with
//! the admin's email filled in.

use std::rc::Rc;

use yew::prelude::*;

use crate::desks::{Answers, Desk};
use web_common::{
    api::{ApiError, Me, MeError, Role},
    listener::location_hash,
};

/// Who the page works for.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Session {
    /// `/api/me` has not answered yet.
    #[default]
    Checking,
    /// No answer from the server: the back-office works online only.
    Unreachable,
    /// Nobody is signed in; `email` fills the form when a session ended.
    SignedOut {
        email: AttrValue,
    },
    /// Signed in, but not as an admin.
    NotAdmin(Rc<Me>),
    Admin(Rc<Me>),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    pub session: Session,
    /// Bumped to ask `/api/me` again.
    pub checks: u32,
    pub desk: Desk,
    /// The desk's answers, or why not.
    pub answers: Option<Result<Rc<Answers>, ApiError>>,
    /// What the desk shows: a deal status, a report.
    pub choice: String,
    /// Bumped by each change made from the desk, which then reads again.
    pub generation: u32,
    /// The deal, order or application (its id as text) whose reason (a
    /// rejection, a clawback, a refund) is being written.
    pub reasoning: Option<String>,
    /// The row shown in the detail pane (a desk's width), by its id.
    pub selected: Option<String>,
    /// How the last change made from this desk went.
    pub outcome: Option<Result<Html, String>>,
}

pub enum Action {
    /// `/api/me` answered (or did not).
    Me(Result<Me, MeError>),
    SignedIn(Me),
    /// A request was answered 401.
    SessionEnded,
    SignedOut,
    /// The browser says the network is back.
    Online,
    Navigate(Desk),
    /// The answers for a desk and choice.
    Answers {
        desk: Desk,
        choice: String,
        answers: Result<Answers, ApiError>,
    },
    Choose(String),
    Reasoning(Option<String>),
    /// A row opened in the detail pane (or none).
    Select(Option<String>),
    Outcome(Result<Html, String>),
    /// A change refused because what it was about changed since the desk
    /// read it: say so and read the desk again.
    Stale(String),
}

impl State {
    /// The desk named by the location's hash, nobody known yet.
    pub fn initial() -> State {
        State {
            desk: Desk::from_hash(&location_hash()),
            ..State::default()
        }
    }

    pub fn admin(&self) -> Option<&Rc<Me>> {
        match &self.session {
            Session::Admin(me) => Some(me),
            _ => None,
        }
    }

    fn signed_in(&mut self, me: Me) {
        self.session = match me.role {
            Role::Admin => Session::Admin(Rc::new(me)),
            _ => Session::NotAdmin(Rc::new(me)),
        };
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Me(Ok(me)) | Action::SignedIn(me) => {
                next.signed_in(me);
                // Whatever failed for want of a session is read again.
                next.generation += 1;
            }
            Action::Me(Err(MeError::SignedOut)) => {
                next.session = Session::SignedOut {
                    email: AttrValue::default(),
                }
            }
            Action::Me(Err(MeError::Unreachable)) => next.session = Session::Unreachable,
            Action::Me(Err(MeError::Other(e))) => {
                web_sys::console::warn_1(&format!("who am I: {e}").into());
                next.session = Session::Unreachable;
            }
            Action::SessionEnded => {
                if let Some(me) = self.admin() {
                    next.session = Session::SignedOut {
                        email: me.email.clone().into(),
                    };
                }
            }
            Action::SignedOut => {
                next = State {
                    session: Session::SignedOut {
                        email: AttrValue::default(),
                    },
                    desk: self.desk,
                    ..State::default()
                }
            }
            Action::Online => match &self.session {
                Session::Unreachable | Session::Checking => next.checks += 1,
                Session::Admin(_) if matches!(self.answers, Some(Err(_))) => next.generation += 1,
                _ => {}
            },
            Action::Navigate(desk) => {
                if desk != self.desk {
                    next = State {
                        session: self.session.clone(),
                        checks: self.checks,
                        desk,
                        generation: self.generation,
                        ..State::default()
                    };
                }
            }
            Action::Answers {
                desk,
                choice,
                answers,
            } => {
                // A late answer for a desk or a choice no longer shown is
                // dropped.
                if self.desk == desk && self.choice == choice {
                    next.answers = Some(answers.map(Rc::new));
                }
            }
            Action::Choose(choice) => {
                next.choice = choice;
                next.answers = None;
                next.selected = None;
            }
            Action::Select(id) => {
                next.selected = id;
                next.reasoning = None;
            }
            Action::Reasoning(id) => next.reasoning = id,
            Action::Outcome(outcome) => {
                if outcome.is_ok() {
                    next.generation += 1;
                    next.reasoning = None;
                }
                next.outcome = Some(outcome);
            }
            Action::Stale(why) => {
                next.generation += 1;
                next.reasoning = None;
                next.outcome = Some(Err(why));
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(role: Role) -> Me {
        serde_json::from_value(serde_json::json!({
            "account_id": "a-1", "email": "desk@example.com", "name": "Dee Desk",
            "role": role,
        }))
        .unwrap()
    }

    fn deals(count: usize) -> Answers {
        let deal = serde_json::from_value(serde_json::json!({
            "id": 7, "partner_id": "p-ben", "partner_name": "Ben", "lead_id": "ben-5",
            "contact_name": null, "company": null, "amount_minor": 100, "currency": "USD",
            "status": "submitted", "version": 1, "reason": null,
            "submitted_at": "2030-01-01T00:00:00Z", "decided_at": null,
            "reversed_at": null, "reverse_reason": null,
        }))
        .unwrap();
        Answers::Approvals(crate::desks::approvals_answers(vec![deal; count]))
    }

    fn reduce(state: State, actions: Vec<Action>) -> State {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        (*state).clone()
    }

    #[test]
    fn only_an_admin_gets_the_desks() {
        let admin = reduce(State::default(), vec![Action::Me(Ok(me(Role::Admin)))]);
        assert!(admin.admin().is_some());
        let partner = reduce(State::default(), vec![Action::Me(Ok(me(Role::Partner)))]);
        assert!(partner.admin().is_none());
        assert!(matches!(partner.session, Session::NotAdmin(_)));
        let leader = reduce(
            State::default(),
            vec![Action::SignedIn(me(Role::TeamLeader))],
        );
        assert!(leader.admin().is_none());
    }

    #[test]
    fn a_session_that_ends_asks_to_sign_in_again_with_the_email_filled_in() {
        let state = reduce(
            State::default(),
            vec![Action::Me(Ok(me(Role::Admin))), Action::SessionEnded],
        );
        assert_eq!(
            state.session,
            Session::SignedOut {
                email: "desk@example.com".into()
            }
        );
        let back = reduce(state, vec![Action::SignedIn(me(Role::Admin))]);
        assert!(back.admin().is_some());
        let out = reduce(back, vec![Action::SignedOut]);
        assert_eq!(
            out.session,
            Session::SignedOut {
                email: AttrValue::default()
            }
        );
    }

    #[test]
    fn no_answer_is_asked_again_when_the_network_returns() {
        let state = reduce(
            State::default(),
            vec![Action::Me(Err(MeError::Unreachable))],
        );
        assert_eq!(state.session, Session::Unreachable);
        let again = reduce(state, vec![Action::Online]);
        assert_eq!(again.checks, 1);
        // A desk whose reading failed reads again.
        let admin = reduce(
            again,
            vec![
                Action::Me(Ok(me(Role::Admin))),
                Action::Answers {
                    desk: Desk::Approvals,
                    choice: String::new(),
                    answers: Err(ApiError::Unreachable { offline: true }),
                },
            ],
        );
        let generation = admin.generation;
        assert_eq!(
            reduce(admin, vec![Action::Online]).generation,
            generation + 1
        );
    }

    #[test]
    fn a_desk_keeps_only_its_own_answers_and_reads_again_after_a_change() {
        let answers = |desk, choice: &str, count| Action::Answers {
            desk,
            choice: choice.to_owned(),
            answers: Ok(deals(count)),
        };
        let state = reduce(
            State::default(),
            vec![
                Action::Me(Ok(me(Role::Admin))),
                answers(Desk::Approvals, "", 1),
                // Late answers for a desk or a choice no longer shown.
                answers(Desk::Partners, "", 2),
                answers(Desk::Approvals, "rejected", 3),
                Action::Reasoning(Some("7".to_owned())),
            ],
        );
        assert!(matches!(&state.answers, Some(Ok(a)) if **a == deals(1)));
        assert_eq!(state.reasoning.as_deref(), Some("7"));
        let dropped = reduce(state.clone(), vec![answers(Desk::Partners, "", 2)]);
        assert_eq!(dropped.answers, state.answers);

        let generation = state.generation;
        let changed = reduce(state, vec![Action::Outcome(Ok(html! { "Deal rejected." }))]);
        assert_eq!(changed.generation, generation + 1, "the desk reads again");
        assert_eq!(changed.reasoning, None);
        let failed = reduce(changed, vec![Action::Outcome(Err("no".to_owned()))]);
        assert_eq!(
            failed.generation,
            generation + 1,
            "a refused change changes nothing"
        );
        let stale = reduce(
            failed,
            vec![
                Action::Reasoning(Some("7".to_owned())),
                Action::Stale("It is now 999.00 USD".to_owned()),
            ],
        );
        assert_eq!(stale.generation, generation + 2, "the desk reads again");
        assert_eq!(stale.reasoning, None);
        assert_eq!(stale.outcome, Some(Err("It is now 999.00 USD".to_owned())));
        let failed = stale;

        // Another desk starts from nothing, still signed in.
        let next = reduce(failed, vec![Action::Navigate(Desk::Payouts)]);
        assert_eq!(next.answers, None);
        assert_eq!(next.outcome, None);
        assert_eq!(next.desk, Desk::Payouts);
        assert!(next.admin().is_some());
    }
}
