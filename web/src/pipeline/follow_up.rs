//! A lead's follow-up: when to get back to them and what to do then. Kept
//! in the pipeline document, so it is set and listed offline; the board
//! lists what is due (`board.rs`), and push reminders will read the
//! projected `follow_up_at`.

use model::{FollowUp, Lead, PipelineEdit};
use web_common::{forms, show};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::lead_form::sentence;
use crate::{clock, focus::use_focus_swap};

/// A day, in ms.
const DAY: i64 = 24 * 60 * 60 * 1000;

/// What the follow-up section keeps between renders (a hook, for the
/// reason `stage_moves::Moves` gives).
pub struct FollowUpState {
    open: UseStateHandle<bool>,
    at: NodeRef,
    note: NodeRef,
    opener: NodeRef,
    error: UseStateHandle<Option<String>>,
}

/// The follow-up section's state for `lead`.
#[hook]
pub fn use_follow_up(lead: &Lead) -> FollowUpState {
    let state = FollowUpState {
        open: use_state(|| false),
        at: use_node_ref(),
        note: use_node_ref(),
        opener: use_node_ref(),
        error: use_state(|| None::<String>),
    };
    // As the form opens: the follow-up set (or tomorrow at nine) into its
    // fields, focus into the first; back to its button as it closes.
    let start = lead.follow_up.as_ref().map_or_else(
        || {
            let tomorrow = show::local_input(clock::now().0 + DAY);
            (format!("{}T09:00", &tomorrow[..10]), String::new())
        },
        |f| (show::local_input(f.at.0), f.note.clone()),
    );
    let (at, note) = (state.at.clone(), state.note.clone());
    use_effect_with(*state.open, move |open| {
        if *open {
            forms::fill(&at, &start.0);
            forms::fill(&note, &start.1);
        }
        || ()
    });
    use_focus_swap(*state.open, state.at.clone(), state.opener.clone());
    state
}

/// The follow-up section of `lead`, with `state` from [`use_follow_up`].
pub fn follow_up(
    lead: &Lead,
    read_only: bool,
    edit: &Callback<PipelineEdit>,
    state: &FollowUpState,
) -> Html {
    let FollowUpState {
        open,
        at,
        note,
        opener,
        error,
    } = state;
    let on_save = {
        let (id, edit, open, at, note, error) = (
            lead.id.clone(),
            edit.clone(),
            open.clone(),
            at.clone(),
            note.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let Some(when) = show::from_local_input(&value(&at)) else {
                return error.set(Some("Choose a day and a time.".to_owned()));
            };
            let follow_up = match FollowUp::parse(model::Timestamp(when), &value(&note)) {
                Ok(f) => f,
                Err(e) => return error.set(Some(sentence(&e.to_string()))),
            };
            edit.emit(PipelineEdit::FollowUp {
                id: id.clone(),
                follow_up: Some(follow_up),
            });
            error.set(None);
            open.set(false);
        })
    };
    let on_clear = {
        let (id, edit) = (lead.id.clone(), edit.clone());
        Callback::from(move |_: MouseEvent| {
            edit.emit(PipelineEdit::FollowUp {
                id: id.clone(),
                follow_up: None,
            });
        })
    };
    let toggle = |to: bool| {
        let (open, error) = (open.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            open.set(to);
        })
    };
    let on_key = {
        let open = open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(false);
            }
        })
    };
    let now = clock::now().0;
    let name = &lead.contact_name;
    html! {
        <section class="card follow-up" aria-label={format!("Follow-up with {name}")}>
            <h3>{ "Follow-up" }</h3>
            { match &lead.follow_up {
                Some(f) => html! {
                    <p class={classes!("due", (f.at.0 <= now).then_some("overdue"))}>
                        <strong>{ if f.at.0 <= now { "Due " } else { "" } }{ show::when(f.at.0) }</strong>
                        if !f.note.is_empty() { { " · " }{ &f.note } }
                    </p>
                },
                None => html! { <p class="hint">{ "None set." }</p> },
            } }
            if **open {
                <form class="follow-up-form" onsubmit={on_save} onkeydown={on_key} novalidate=true
                    aria-label={format!("Follow-up with {name}")}>
                    <label>{ "When" }<input type="datetime-local" name="at" ref={at.clone()} /></label>
                    <label>{ "What to do" }
                        <input name="note" ref={note.clone()} placeholder="Send the quote" />
                    </label>
                    if let Some(e) = &**error { <p class="error" role="alert">{ e }</p> }
                    <div class="row">
                        <button type="button" onclick={toggle(false)}>{ "Cancel" }</button>
                        <button type="submit" class="primary">{ "Save follow-up" }</button>
                    </div>
                </form>
            } else if !read_only {
                <div class="row">
                    <button type="button" ref={opener.clone()} onclick={toggle(true)}
                        aria-label={format!("{} with {name}", if lead.follow_up.is_some() { "Change follow-up" } else { "Set follow-up" })}>
                        { if lead.follow_up.is_some() { "Change" } else { "Set follow-up" } }
                    </button>
                    if lead.follow_up.is_some() {
                        <button type="button" class="quiet" onclick={on_clear} aria-label={format!("Clear the follow-up with {name}")}>{ "Clear" }</button>
                    }
                </div>
            }
        </section>
    }
}
