//! Training: the tracks partners learn from, as admins write them. The
//! list of tracks (with what is published and what is not yet), and a
//! track's editor: modules, lessons with their text and file, quizzes and
//! exams with their right answers; saving keeps the draft, publishing
//! makes it the next version partners get (the server freezes it and
//! keeps exams' answers to itself).
//!
//! The choice (`#training` then a track) is the track open in the editor,
//! `new` for one not saved yet. What is typed lives in the editor until
//! it is saved; a refused save keeps it, with the server's reason.

mod edit;
mod editor;

use std::rc::Rc;

use yew::prelude::*;

use super::{Ctx, parts::day_of};
use wasm_bindgen::JsCast;
use web_common::{
    api::{
        self, ApiError, AssignmentStatus, NewAssignment, PartnerEntry, Track, TrackDraft,
        TrackSummary,
    },
    forms::Change,
    show,
};

pub const NAME: &str = "training";
pub const TITLE: &str = "Training";

/// The choice of a track not saved yet.
const NEW: &str = "new";

const ASSIGNMENTS: &str = "/api/admin/training/assignments";

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub tracks: Vec<TrackSummary>,
    /// The track open in the editor, as saved.
    pub draft: Option<Box<TrackDraft>>,
    /// With a track open: the partners it may be assigned to, and where
    /// those it was assigned to stand.
    pub partners: Vec<PartnerEntry>,
    pub assignments: Vec<AssignmentStatus>,
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    let tracks = api::get("/api/admin/training/tracks");
    let opened = async {
        match choice {
            "" | NEW => Ok((None, Vec::new(), Vec::new())),
            id => {
                let path = format!("/api/admin/training/tracks/{id}");
                let (draft, partners, assignments) = futures::join!(
                    api::get(&path),
                    api::get("/api/admin/partners"),
                    api::get::<Vec<AssignmentStatus>>(ASSIGNMENTS),
                );
                let assignments = assignments?
                    .into_iter()
                    .filter(|a| a.track_id == id)
                    .collect();
                Ok((Some(Box::new(draft?)), partners?, assignments))
            }
        }
    };
    let (tracks, opened) = futures::join!(tracks, opened);
    let (draft, partners, assignments) = opened?;
    Ok(Answers {
        tracks: tracks?,
        draft,
        partners,
        assignments,
    })
}

/// Where a track stands, in words.
fn standing(track: &TrackSummary) -> String {
    match (track.published_version, &track.published_at) {
        (None, _) => "Draft, never published".to_owned(),
        (Some(v), at) => format!(
            "Version {v} published {}{}",
            at.as_deref().map(day_of).unwrap_or_default(),
            if track.unpublished_changes {
                " · changes not published yet"
            } else {
                ""
            }
        ),
    }
}

fn list(answers: &Answers, ctx: &Ctx) -> Html {
    let open = |id: String| ctx.choose.reform(move |_: MouseEvent| id.clone());
    html! {
        <section class="track-list" aria-labelledby="tracks-title">
            <div class="list-head">
                <h2 id="tracks-title" class="section">{ "Tracks" }</h2>
                <button id="new-track" class="primary" onclick={open(NEW.to_owned())}>{ "New track" }</button>
            </div>
            if answers.tracks.is_empty() {
                <p class="hint">{ "No track yet. A track is a course: modules of lessons, with a quiz or an exam at the end of a module." }</p>
            }
            <ul class="plain">
                { for answers.tracks.iter().map(|t| {
                    let current = ctx.choice == t.id;
                    html! {
                        <li class="card track-row" data-id={t.id.clone()} aria-current={current.then_some("true")}>
                            <button class="open-row" onclick={open(t.id.clone())}>{ &t.title }</button>
                            <div class="company">{ format!("{} · {} · {}", t.channel,
                                match t.audience { api::Audience::Everyone => "every partner", api::Audience::TeamLeaders => "team leaders only" },
                                match t.modules { 1 => "1 module".to_owned(), n => format!("{n} modules") }) }</div>
                            <div class={classes!("notes", t.unpublished_changes.then_some("pending"))}>{ standing(t) }</div>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

pub fn view(answers: &Answers, ctx: &Ctx) -> Html {
    let editing = !ctx.choice.is_empty();
    let taken: Rc<Vec<String>> = Rc::new(answers.tracks.iter().map(|t| t.id.clone()).collect());
    let unpublished = answers
        .tracks
        .iter()
        .find(|t| t.id == ctx.choice)
        .is_none_or(|t| t.unpublished_changes);
    let editor = match (&answers.draft, ctx.choice) {
        (Some(draft), _) => html! {
            // Keyed by the track only: a save or another admin's change
            // read again keeps what is being typed.
            <editor::Editor key={draft.track.id.clone()}
                draft={Some((**draft).clone())} taken={taken.clone()} unpublished={unpublished} report={ctx.report.clone()} choose={ctx.choose.clone()}
                change={ctx.change.clone()} />
        },
        (None, NEW) => html! {
            <editor::Editor key={NEW} draft={None} taken={taken} unpublished=true report={ctx.report.clone()}
                choose={ctx.choose.clone()} change={ctx.change.clone()} />
        },
        _ => html! { <p class="hint">{ "Open a track to edit it, or start a new one." }</p> },
    };
    let back = ctx.choose.reform(|_: MouseEvent| String::new());
    html! {
        <div class={classes!("training-desk", ctx.wide.then_some("desk-split"))}>
            if ctx.wide || !editing { { list(answers, ctx) } }
            if ctx.wide || editing {
                <section class="track-editor" aria-label="Track">
                    if !ctx.wide {
                        <button class="link" onclick={back}>{ "← All tracks" }</button>
                    }
                    { editor }
                    if let Some(published) = answers.draft.as_ref().and_then(|d| d.published.as_ref()) {
                        { assign(published, answers, ctx) }
                    }
                </section>
            }
        </div>
    }
}

/// Assigning a module of the open track (as published) to partners by a
/// day, and where those it was assigned to stand.
fn assign(published: &Track, answers: &Answers, ctx: &Ctx) -> Html {
    let track = published.id.clone();
    let send = ctx.change.reform(move |e: SubmitEvent| {
        e.prevent_default();
        let data = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|f| web_sys::FormData::new_with_form(&f).ok());
        let field = |name: &str| {
            data.as_ref()
                .and_then(|d| d.get(name).as_string())
                .unwrap_or_default()
        };
        let body = NewAssignment {
            partner_ids: data
                .as_ref()
                .map(|d| {
                    d.get_all("partner")
                        .iter()
                        .filter_map(|v| v.as_string())
                        .collect()
                })
                .unwrap_or_default(),
            track_id: track.clone(),
            module_id: field("module"),
            due_on: field("due"),
        };
        Change::new("POST", ASSIGNMENTS.to_owned(), Some(&body), |v| {
            super::parts::answer(v, |done: Vec<AssignmentStatus>| {
                html! { <span id="assigned">{ match done.len() {
                    1 => "Assigned to 1 partner, who is notified.".to_owned(),
                    n => format!("Assigned to {n} partners; each is notified."),
                } }</span> }
            })
        })
    });
    let partners: Vec<&PartnerEntry> = answers
        .partners
        .iter()
        .filter(|p| p.account_id.is_some())
        .collect();
    html! {
        <section class="card assign-desk" aria-labelledby="assign-title">
            <h3 id="assign-title">{ "Assign a module" }</h3>
            <p class="hint">{ "Partners are notified, see it on their dashboard, and their phones download it on Wi-Fi." }</p>
            <form id="assign-form" class="track-form" onsubmit={send}>
                <div class="row two">
                    <label for="assign-module">{ "Module (as published)" }
                        <select id="assign-module" name="module">
                            { for published.modules.iter().map(|m| html! { <option value={m.id.clone()}>{ &m.title }</option> }) }
                        </select>
                    </label>
                    <label for="assign-due">{ "Due by" }
                        <input id="assign-due" name="due" type="date" value={show::local_day(14)} required=true />
                    </label>
                </div>
                <fieldset class="members">
                    <legend>{ "Partners" }</legend>
                    { for partners.iter().map(|p| html! {
                        <label class="choice">
                            <input type="checkbox" name="partner" value={p.partner_id.clone()} />
                            { if p.company.is_empty() { p.name.clone() } else { format!("{} ({})", p.name, p.company) } }
                        </label>
                    }) }
                </fieldset>
                <button type="submit" class="primary">{ "Assign" }</button>
            </form>
            if !answers.assignments.is_empty() {
                <table class="desk-table assignments">
                    <caption class="visually-hidden">{ "Where each assigned partner stands" }</caption>
                    <thead><tr><th scope="col">{ "Partner" }</th><th scope="col">{ "Module" }</th><th scope="col">{ "Due" }</th><th scope="col">{ "Done" }</th></tr></thead>
                    <tbody>
                        { for answers.assignments.iter().map(|a| html! {
                            <tr data-partner={a.partner_id.clone()}>
                                <td>{ &a.partner_name }</td>
                                <td>{ &a.module_title }</td>
                                <td>{ show::calendar_day(&a.due_on) }</td>
                                <td>{ if a.completed_at.is_some() { "✓ complete".to_owned() } else { format!("{} of {} lessons", a.lessons_done, a.lessons) } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
