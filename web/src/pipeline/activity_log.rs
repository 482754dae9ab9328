//! A lead's history: the form that logs a call, a meeting or a note, and
//! the log itself, newest first, with each entry's moment in the reader's
//! language. Entries written on two devices while apart are all kept (the
//! log is a list in the document).

use model::{Activity, Lead, LogKind, PipelineEdit, Stage};
use web_common::show;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::{lead_form::sentence, stage_label};
use crate::clock;

/// What the log form keeps between renders (a hook, for the reason
/// `stage_moves::Moves` gives).
pub struct LogState {
    kind: UseStateHandle<LogKind>,
    text: NodeRef,
    error: UseStateHandle<Option<String>>,
}

#[hook]
pub fn use_log() -> LogState {
    LogState {
        kind: use_state(|| LogKind::Call),
        text: use_node_ref(),
        error: use_state(|| None::<String>),
    }
}

fn kind_label(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Call => "Call",
        LogKind::Meeting => "Meeting",
        LogKind::Note => "Note",
    }
}

/// The log form and the log of `lead`, with `state` from [`use_log`].
pub fn activity_log(
    lead: &Lead,
    read_only: bool,
    edit: &Callback<PipelineEdit>,
    state: &LogState,
) -> Html {
    let LogState { kind, text, error } = state;
    let on_log = {
        let (id, edit, kind, text, error) = (
            lead.id.clone(),
            edit.clone(),
            kind.clone(),
            text.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(field) = text.cast::<HtmlTextAreaElement>() else {
                return;
            };
            let (id, kind, typed) = (id.clone(), *kind, field.value());
            let now = clock::now();
            // A refusal (too long, an empty note) keeps what was typed
            // and says why.
            if let Err(e) = kind.parse_text(&typed) {
                return error.set(Some(sentence(&e.to_string())));
            }
            edit.emit(PipelineEdit::Log {
                id,
                kind,
                text: typed,
                at: now,
            });
            field.set_value("");
            error.set(None);
        })
    };
    let entries = {
        let mut entries: Vec<&Activity> = lead.activity.iter().collect();
        // Newest first; the document's order among equal times.
        entries.reverse();
        entries.sort_by_key(|e| std::cmp::Reverse(e.at()));
        entries
    };
    let name = &lead.contact_name;
    html! {
        <section class="card activity" aria-label={format!("Activity with {name}")}>
            <h3>{ "Activity" }</h3>
            if !read_only {
                <form class="log-form" onsubmit={on_log} novalidate=true aria-label={format!("Log for {name}")}>
                    <fieldset class="kinds">
                        <legend class="visually-hidden">{ "What to log" }</legend>
                        { for LogKind::ALL.iter().map(|k| {
                            let kind = kind.clone();
                            let k = *k;
                            html! {
                                <label class={classes!("kind", (*kind == k).then_some("chosen"))}>
                                    <input type="radio" name="kind" value={k.as_str()} checked={*kind == k}
                                        onchange={Callback::from(move |_| kind.set(k))} />
                                    { kind_label(k) }
                                </label>
                            }
                        }) }
                    </fieldset>
                    <label class="visually-hidden" for="log-text">{ format!("What happened with {name}") }</label>
                    <textarea id="log-text" name="text" ref={text.clone()} rows="2"
                        placeholder={match **kind { LogKind::Call => "Left a voicemail", LogKind::Meeting => "Demo at their office", LogKind::Note => "They budget in March" }}></textarea>
                    if let Some(e) = &**error { <p class="error" role="alert">{ e }</p> }
                    <button type="submit" class="primary">{ format!("Log {}", kind_label(**kind).to_lowercase()) }</button>
                </form>
            }
            if entries.is_empty() {
                <p class="hint">{ "Nothing yet." }</p>
            } else {
                <ol class="timeline">
                    { for entries.into_iter().map(entry) }
                </ol>
            }
        </section>
    }
}

fn entry(activity: &Activity) -> Html {
    let (what, text) = match activity {
        Activity::Moved { from, to, .. } => (
            format!("Moved from {} to {}", stage_label(*from), stage_label(*to)),
            match to {
                Stage::Won => Some("Deal submitted for approval".to_owned()),
                _ => None,
            },
        ),
        Activity::Logged { kind, text, .. } => (
            kind_label(*kind).to_owned(),
            (!text.is_empty()).then(|| text.clone()),
        ),
        Activity::Archived { .. } => ("Archived".to_owned(), None),
        Activity::Restored { .. } => ("Restored to the board".to_owned(), None),
    };
    html! {
        <li>
            <span class="what">{ what }</span>
            <time class="at">{ show::when(activity.at().0) }</time>
            if let Some(text) = text { <p class="text">{ text }</p> }
        </li>
    }
}
