//! The back-office app's shell: the effects at the edge (who am I, the
//! location's hash, the network, reading the desk on screen, sending
//! changes) dispatch actions to the reducer in `state`; the screens for
//! nobody signed in, the header with its tabs, and the desk on screen
//! (`desks`).
//!
//! Desks are addressed by the location's hash (`#approvals`,
//! `#payouts`...).

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::{
    desks::{self, Desk},
    state::{Action, Session, State},
};
use web_common::{
    api::{self, ApiError},
    forms::{self, Sent},
    listener::{use_hash_change, use_window_event},
    sign_in::SignIn,
    sign_out::sign_out_button,
};

/// Where the partner app lives, for a partner who opened the back-office.
const PORTAL: &str = "/";

/// Whether the window is as wide as a desk (the style sheet's breakpoint).
fn is_wide() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(min-width: 1000px)").ok().flatten())
        .is_some_and(|m| m.matches())
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(State::initial);

    // Who is this? Asked when the page opens, and again when the network
    // comes back after no answer.
    {
        let dispatch = state.dispatcher();
        use_effect_with(state.checks, move |_| {
            spawn_local(async move { dispatch.dispatch(Action::Me(api::me().await)) });
            || ()
        });
    }

    // A desk's width or a phone's: a table with a detail pane, or cards.
    let wide = use_state(is_wide);
    {
        let wide = wide.clone();
        use_window_event("resize", Callback::from(move |()| wide.set(is_wide())));
    }

    // Desks follow the location's hash; the network coming back retries.
    {
        let dispatch = state.dispatcher();
        use_hash_change(Callback::from(move |hash: String| {
            dispatch.dispatch(Action::Navigate(Desk::from_hash(&hash)))
        }));
        let dispatch = state.dispatcher();
        use_window_event(
            "online",
            Callback::from(move |()| dispatch.dispatch(Action::Online)),
        );
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
                        let answers = desk.fetch(&choice).await;
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

    let sign_out = {
        let (signed_out, failed) = (state.dispatcher(), state.dispatcher());
        sign_out_button(
            Callback::from(move |()| signed_out.dispatch(Action::SignedOut)),
            Callback::from(move |why| failed.dispatch(Action::Outcome(Err(why)))),
        )
    };
    let report = {
        let dispatch = state.dispatcher();
        Callback::from(move |sent: Sent<Html>| {
            match sent.outcome {
                Err(ApiError::SignedOut) => dispatch.dispatch(Action::SessionEnded),
                // Show what it is now, and let the admin decide again.
                Err(ApiError::Changed(why)) => dispatch.dispatch(Action::Stale(why)),
                outcome => dispatch.dispatch(Action::Outcome(outcome.map_err(|e| e.to_string()))),
            }
        })
    };
    let change = forms::sender(report.clone());
    let outcome = forms::outcome(state.outcome.as_ref());
    let (answers, failed) = match &state.answers {
        Some(Ok(answers)) => (Some(&**answers), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let dispatch = state.dispatcher();
    let main = desks::desk(desks::Ctx {
        desk: state.desk,
        answers,
        failed,
        choice: &state.choice,
        reasoning: state.reasoning.as_deref(),
        wide: *wide,
        selected: state.selected.as_deref(),
        select: Callback::from({
            let dispatch = dispatch.clone();
            move |id| dispatch.dispatch(Action::Select(id))
        }),
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
        report,
        invalid: Callback::from(move |why| dispatch.dispatch(Action::Outcome(Err(why)))),
    });
    html! {
        <div class="app">
            <header class="top">
                <div class="title">
                    <h1>{ state.desk.title() }</h1>
                    <span id="account" class="account" title={me.email.clone()}>{ &me.name }</span>
                    { sign_out }
                </div>
                <nav class="tabs">
                    { for Desk::ALL.iter().map(|&d| html! {
                        <a class="tab" href={format!("#{}", d.name())} aria-current={(d == state.desk).then_some("page")}>{ d.title() }</a>
                    }) }
                </nav>
            </header>
            { main }
        </div>
    }
}
