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
mod upload;

use std::rc::Rc;

use yew::prelude::*;

use super::{Ctx, parts::day_of};
use web_common::api::{self, ApiError, TrackDraft, TrackSummary};

pub const NAME: &str = "training";
pub const TITLE: &str = "Training";

/// The choice of a track not saved yet.
const NEW: &str = "new";

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub tracks: Vec<TrackSummary>,
    /// The track open in the editor, as saved.
    pub draft: Option<TrackDraft>,
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    let tracks = api::get("/api/admin/training/tracks");
    let draft = async {
        match choice {
            "" | NEW => Ok(None),
            id => api::get(&format!("/api/admin/training/tracks/{id}"))
                .await
                .map(Some),
        }
    };
    let (tracks, draft) = futures::join!(tracks, draft);
    Ok(Answers {
        tracks: tracks?,
        draft: draft?,
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
            <editor::Editor key={format!("{}@{}", draft.track.id, draft.updated_at)}
                draft={Some(draft.clone())} taken={taken.clone()} unpublished={unpublished} report={ctx.report.clone()} choose={ctx.choose.clone()}
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
                </section>
            }
        </div>
    }
}
