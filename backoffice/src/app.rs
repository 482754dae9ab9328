//! The back-office app: one reducer holds who is signed in, the desk on
//! screen and its answers; effects at the edge (fetch, browser events)
//! dispatch actions.
//!
//! Nothing is remembered between visits: the page asks `/api/me` when it
//! opens, and a 401 from any request (the session expired, was revoked, or
//! someone signed out in another tab) brings the sign-in form back with
//! the admin's email filled in. Desks are addressed by the location's hash
//! (`#approvals`, `#payouts`...).

use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::desk::{self, Desk};
use web_common::{
    api::{self, ApiError, Me, MeError, Role},
    forms::{self, Change},
    listener::{WindowListener, location_hash},
    sign_in::SignIn,
};

/// Where the partner app lives, for a partner who opened the back-office.
const PORTAL: &str = "/";

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
    session: Session,
    /// Bumped to ask `/api/me` again.
    checks: u32,
    desk: Desk,
    /// The desk's answers, or why not.
    answers: Option<Result<Rc<Vec<Value>>, ApiError>>,
    /// What the desk shows: a deal status, a report.
    choice: String,
    /// Bumped by each change made from the desk, which then reads again.
    generation: u32,
    /// The deal or order whose reason (a rejection, a clawback, a refund)
    /// is being written.
    reasoning: Option<i64>,
    /// How the last change made from this desk went.
    outcome: Option<Result<Html, String>>,
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
        answers: Result<Vec<Value>, ApiError>,
    },
    Choose(String),
    Reasoning(Option<i64>),
    Outcome(Result<Html, String>),
    /// A change refused because what it was about changed since the desk
    /// read it: say so and read the desk again.
    Stale(String),
}

impl State {
    fn admin(&self) -> Option<&Rc<Me>> {
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

fn initial() -> State {
    State {
        desk: Desk::from_hash(&location_hash()),
        ..State::default()
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(initial);

    // Who is this? Asked when the page opens, and again when the network
    // comes back after no answer.
    {
        let dispatch = state.dispatcher();
        use_effect_with(state.checks, move |_| {
            spawn_local(async move { dispatch.dispatch(Action::Me(api::me().await)) });
            || ()
        });
    }

    // Desks follow the location's hash; the network coming back retries.
    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            let hash = {
                let dispatch = dispatch.clone();
                WindowListener::new("hashchange", move || {
                    dispatch.dispatch(Action::Navigate(Desk::from_hash(&location_hash())))
                })
            };
            let online = WindowListener::new("online", move || dispatch.dispatch(Action::Online));
            move || drop((hash, online))
        });
    }

    // The desk on screen reads what it shows, again after each change made
    // from it.
    {
        let dispatch = state.dispatcher();
        let admin = state.admin().is_some();
        use_effect_with(
            (admin, state.desk, state.choice.clone(), state.generation),
            move |(admin, desk, choice, _)| {
                if *admin {
                    let (desk, choice) = (*desk, choice.clone());
                    spawn_local(async move {
                        let answers = desk::fetch(desk.reads(&choice)).await;
                        if answers == Err(ApiError::SignedOut) {
                            dispatch.dispatch(Action::SessionEnded);
                        }
                        dispatch.dispatch(Action::Answers {
                            desk,
                            choice,
                            answers,
                        });
                    });
                }
                || ()
            },
        );
    }

    let on_signed_in = {
        let dispatch = state.dispatcher();
        Callback::from(move |me| dispatch.dispatch(Action::SignedIn(me)))
    };
    let screen = |body: Html| html! { <div class="app signin-screen">{ body }</div> };
    let me = match &state.session {
        Session::Checking => return screen(html! { <p class="hint">{ "Loading…" }</p> }),
        Session::Unreachable => {
            let retry = state.dispatcher();
            return screen(html! {
                <div class="card" id="backoffice-offline" role="status">
                    <p>{ "The back-office works online only, and the server cannot be reached now." }</p>
                    <button class="primary" onclick={move |_| retry.dispatch(Action::Online)}>{ "Try again" }</button>
                </div>
            });
        }
        Session::SignedOut { email } => {
            let title = if email.is_empty() {
                "Back-office: sign in"
            } else {
                "Your session ended — sign in again"
            };
            return screen(html! {
                <SignIn title={title} email={email.clone()} on_signed_in={on_signed_in} />
            });
        }
        Session::NotAdmin(me) => {
            return screen(html! {
                <div class="card" id="not-admin" role="alert">
                    <p>{ format!("The back-office is for admins, and {} is not one.", me.email) }</p>
                    <a class="button primary" href={PORTAL}>{ "Open the partner portal" }</a>
                </div>
            });
        }
        Session::Admin(me) => me.clone(),
    };

    let on_sign_out = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| {
            let dispatch = dispatch.clone();
            spawn_local(async move {
                match api::sign_out().await {
                    Ok(()) => dispatch.dispatch(Action::SignedOut),
                    Err(e) => {
                        dispatch.dispatch(Action::Outcome(Err(format!("Signing out failed: {e}."))))
                    }
                }
            });
        })
    };
    let change = {
        let dispatch = state.dispatcher();
        Callback::from(move |change: Change| {
            let dispatch = dispatch.clone();
            forms::send(change, move |outcome| {
                match outcome {
                    Err(ApiError::SignedOut) => dispatch.dispatch(Action::SessionEnded),
                    // Show what it is now, and let the admin decide again.
                    Err(ApiError::Changed(why)) => dispatch.dispatch(Action::Stale(why)),
                    outcome => {
                        dispatch.dispatch(Action::Outcome(outcome.map_err(|e| e.to_string())))
                    }
                }
            })
        })
    };
    let outcome = forms::outcome(state.outcome.as_ref());
    let (data, failed) = match &state.answers {
        Some(Ok(data)) => (Some(data.as_slice()), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let dispatch = state.dispatcher();
    let main = desk::desk(desk::Ctx {
        desk: state.desk,
        data,
        failed,
        choice: &state.choice,
        reasoning: state.reasoning,
        outcome,
        choose: Callback::from({
            let dispatch = dispatch.clone();
            move |choice| dispatch.dispatch(Action::Choose(choice))
        }),
        reason: Callback::from({
            let dispatch = dispatch.clone();
            move |id| dispatch.dispatch(Action::Reasoning(id))
        }),
        change,
        invalid: Callback::from(move |why| dispatch.dispatch(Action::Outcome(Err(why)))),
    });
    html! {
        <div class="app">
            <header class="top">
                <div class="title">
                    <h1>{ state.desk.title() }</h1>
                    <span id="account" class="account" title={me.email.clone()}>{ &me.name }</span>
                    <button id="sign-out" class="quiet" onclick={on_sign_out}>{ "Sign out" }</button>
                </div>
                <nav class="tabs">
                    { for Desk::ALL.into_iter().map(|d| html! {
                        <a class="tab" href={format!("#{}", d.name())} aria-current={(d == state.desk).then_some("page")}>{ d.title() }</a>
                    }) }
                </nav>
            </header>
            { main }
        </div>
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
        let answers = |desk, choice: &str| Action::Answers {
            desk,
            choice: choice.to_owned(),
            answers: Ok(vec![Value::Null]),
        };
        let state = reduce(
            State::default(),
            vec![
                Action::Me(Ok(me(Role::Admin))),
                answers(Desk::Approvals, ""),
                // Late answers for a desk or a choice no longer shown.
                answers(Desk::Partners, ""),
                answers(Desk::Approvals, "rejected"),
                Action::Reasoning(Some(7)),
            ],
        );
        assert!(matches!(&state.answers, Some(Ok(a)) if a.len() == 1));
        assert_eq!(state.reasoning, Some(7));
        let dropped = reduce(state.clone(), vec![answers(Desk::Partners, "")]);
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
                Action::Reasoning(Some(7)),
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

    #[test]
    fn desks_are_addressed_by_the_hash() {
        for desk in Desk::ALL {
            assert_eq!(Desk::from_hash(&format!("#{}", desk.name())), desk);
        }
        assert_eq!(Desk::from_hash(""), Desk::Approvals);
        assert_eq!(Desk::from_hash("#earnings"), Desk::Approvals);
    }
}
