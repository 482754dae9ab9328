//! A track's editor: the working copy of the track (what is typed, kept
//! here until saved), the uploads under way, and the markup of every part.
//! Each field sends an [`Edit`] to the editor's reducer; saving sends the
//! whole track (`PUT`), publishing asks the server to freeze what was
//! saved.

use std::{collections::BTreeMap, rc::Rc};

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::edit::{self, At, Edit, Field, media_kind};
use crate::desks::{
    parts::answer,
    upload::{self, Progress},
};
use web_common::{
    api::{self, ApiError, Audience, Publication, QuizKind, Track, TrackDraft},
    forms::{Change, Sent},
    show::{file_size, media_word},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The track as saved; `None` for a new one.
    pub draft: Option<TrackDraft>,
    /// The ids of the tracks there are, which a new one may not take.
    pub taken: Rc<Vec<String>>,
    /// What was saved differs from what partners read (or was never
    /// published).
    pub unpublished: bool,
    /// How a save went, for the desk to show (and a 401 to sign in again).
    pub report: Callback<Sent<Html>>,
    /// Opens a track (a new one, once saved).
    pub choose: Callback<String>,
    pub change: Callback<Change>,
}

#[derive(Clone, PartialEq)]
struct Working {
    /// Where the working copy is kept in the tab's session storage, so
    /// that a session ending, another track opened or the page reloaded
    /// loses nothing typed: `training-draft:<track id>` (`new` for one not
    /// saved yet). Removed once saved.
    kept_as: String,
    track: Track,
    /// Uploads under way, by lesson id.
    uploads: BTreeMap<String, Progress>,
    saving: bool,
    /// Why the last save was refused.
    refused: Option<String>,
}

enum Action {
    Edit(Edit),
    /// Saved as `sent`, which the server answered as `saved` (texts
    /// trimmed): the working copy becomes that, unless typed into since.
    Saved {
        sent: Box<Track>,
        saved: Box<Track>,
    },
    Upload(String, Option<Progress>),
    Saving,
    Refused(String),
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps `track` as the working copy under `key`, or forgets it.
fn keep(key: &str, track: Option<&Track>) {
    let Some(storage) = session_storage() else {
        return;
    };
    match track.and_then(|t| serde_json::to_string(t).ok()) {
        Some(json) => {
            let _ = storage.set_item(key, &json);
        }
        None => {
            let _ = storage.remove_item(key);
        }
    }
}

/// The working copy kept under `key`, if any.
fn kept(key: &str) -> Option<Track> {
    let json = session_storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

/// Asks before a removal (`what` in words): it is undone only by not
/// saving.
fn confirmed(what: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(&format!("Remove {what}?")).ok())
        .unwrap_or(true)
}

/// An id for a new part: its kind and six random hex digits.
fn fresh(kind: &str) -> String {
    format!(
        "{kind}-{:06x}",
        (js_sys::Math::random() * 16_777_216.0) as u32
    )
}

impl Reducible for Working {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Edit(e) => {
                edit::apply(&mut next.track, e, &mut fresh);
                next.refused = None;
                // Uploads of lessons removed are no one's any more.
                let lessons: Vec<&str> = next
                    .track
                    .modules
                    .iter()
                    .flat_map(|m| m.lessons.iter().map(|l| l.id.as_str()))
                    .collect();
                next.uploads.retain(|id, _| lessons.contains(&id.as_str()));
                keep(&next.kept_as, Some(&next.track));
            }
            Action::Saved { sent, saved } => {
                next.saving = false;
                if next.track == *sent {
                    next.track = *saved;
                    keep(&next.kept_as, None);
                }
            }
            Action::Upload(lesson, Some(progress)) => {
                next.uploads.insert(lesson, progress);
            }
            Action::Upload(lesson, None) => {
                next.uploads.remove(&lesson);
            }
            Action::Saving => {
                next.saving = true;
                next.refused = None;
            }
            Action::Refused(why) => {
                next.saving = false;
                next.refused = Some(why);
            }
        }
        Rc::new(next)
    }
}

/// The callbacks fields use: each makes an [`Edit`].
#[derive(Clone)]
struct Edits(UseReducerDispatcher<Working>);

impl Edits {
    fn send(&self, e: Edit) {
        self.0.dispatch(Action::Edit(e));
    }

    fn on(&self, e: Edit) -> Callback<MouseEvent> {
        let edits = self.clone();
        Callback::from(move |_| edits.send(e.clone()))
    }

    /// A removal, asked first.
    fn remove(&self, at: At, quiz: bool, what: String) -> Callback<MouseEvent> {
        let edits = self.clone();
        Callback::from(move |_| {
            if confirmed(&what) {
                edits.send(Edit::Remove {
                    at: at.clone(),
                    quiz,
                });
            }
        })
    }

    /// A text field's `oninput`.
    fn typed(&self, at: At, field: Field) -> Callback<InputEvent> {
        let edits = self.clone();
        Callback::from(move |e: InputEvent| {
            let target = e.target();
            let value = target
                .clone()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .map(|i| i.value())
                .or_else(|| {
                    target
                        .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
                        .map(|a| a.value())
                })
                .unwrap_or_default();
            edits.send(Edit::Text(at.clone(), field, value));
        })
    }

    /// A check box's `onchange`.
    fn checked(&self, make: impl Fn(bool) -> Edit + 'static) -> Callback<Event> {
        let edits = self.clone();
        Callback::from(move |e: Event| {
            edits.send(make(
                e.target_unchecked_into::<HtmlInputElement>().checked(),
            ))
        })
    }
}

/// A labelled one-line field.
fn line(label: &str, id: String, value: &str, oninput: Callback<InputEvent>) -> Html {
    html! {
        <label for={id.clone()}>{ label }
            <input {id} value={value.to_owned()} {oninput} autocomplete="off" />
        </label>
    }
}

/// A labelled text area.
fn area(label: &str, id: String, value: &str, rows: u32, oninput: Callback<InputEvent>) -> Html {
    html! {
        <label for={id.clone()}>{ label }
            <textarea {id} value={value.to_owned()} rows={rows.to_string()} {oninput} />
        </label>
    }
}

/// Up, down and remove for a part named `what` ("module 2").
fn tools(edits: &Edits, at: At, what: &str) -> Html {
    let remove = edits.remove(at.clone(), false, what.to_owned());
    html! {
        <div class="row tools">
            <button type="button" class="quiet" aria-label={format!("Move {what} up")}
                onclick={edits.on(Edit::Move { at: at.clone(), up: true })}>{ "↑" }</button>
            <button type="button" class="quiet" aria-label={format!("Move {what} down")}
                onclick={edits.on(Edit::Move { at, up: false })}>{ "↓" }</button>
            <button type="button" class="quiet danger" onclick={remove}>{ format!("Remove {what}") }</button>
        </div>
    }
}

fn lesson_view(
    edits: &Edits,
    state: &UseReducerHandle<Working>,
    module: &str,
    n: usize,
    lesson: &api::Lesson,
) -> Html {
    let at = At::lesson(module, &lesson.id);
    let key = |what: &str| format!("{what}-{}", lesson.id);
    let what = format!("lesson {n}");
    let progress = state.uploads.get(&lesson.id);
    let file = match (&lesson.media, progress) {
        (_, Some(p)) => {
            let busy = p.fraction();
            html! {
                <div class="upload" role="status">
                    if let Some((done, of)) = busy {
                        <progress max={of.to_string()} value={done.to_string()} aria-label={format!("Upload of {what}")} />
                    }
                    <p class={classes!("hint", busy.is_none().then_some("error"))}>{ p.words() }</p>
                    if busy.is_none() {
                        <button type="button" class="quiet" onclick={{
                            let (dispatch, id) = (state.dispatcher(), lesson.id.clone());
                            move |_| dispatch.dispatch(Action::Upload(id.clone(), None))
                        }}>{ "Dismiss" }</button>
                    }
                </div>
            }
        }
        (Some(media), None) => html! {
            <div class="file">
                <p class="notes file-line">
                    <a href={format!("/blobs/{}", media.sha256)} target="_blank" rel="noopener">
                        { format!("{} · {}", media_word(media.kind), file_size(media.bytes)) }
                    </a>
                </p>
                { line("Caption (read out to screen readers, shown under an image)", key("caption"), &media.caption, edits.typed(at.clone(), Field::Caption)) }
                <button type="button" class="quiet" onclick={edits.on(Edit::Media(at.clone(), None))}>{ "Remove the file" }</button>
            </div>
        },
        (None, None) => {
            let (dispatch, id, at) = (state.dispatcher(), lesson.id.clone(), at.clone());
            let picked = Callback::from(move |e: Event| {
                let Some(file) = upload::chosen(&e) else {
                    return;
                };
                let (dispatch, id, at) = (dispatch.clone(), id.clone(), at.clone());
                spawn_local(async move {
                    let report = {
                        let (dispatch, id) = (dispatch.clone(), id.clone());
                        move |p: Progress| dispatch.dispatch(Action::Upload(id.clone(), Some(p)))
                    };
                    let content_type = file.type_();
                    let Some(kind) = media_kind(&content_type) else {
                        report(Progress::Failed(format!(
                            "{} is {}: a lesson's file is a video (MP4, WebM), a sound (MP3, M4A), an image (PNG, JPEG, WebP) or a PDF.",
                            file.name(),
                            if content_type.is_empty() {
                                "of no known type".to_owned()
                            } else {
                                content_type
                            }
                        )));
                        return;
                    };
                    match upload::send(&file, &report).await {
                        Ok(sent) => {
                            let media = api::Media {
                                sha256: sent.sha256,
                                kind,
                                content_type: sent.content_type,
                                bytes: sent.bytes,
                                caption: String::new(),
                            };
                            dispatch.dispatch(Action::Upload(id.clone(), None));
                            dispatch.dispatch(Action::Edit(Edit::Media(at, Some(media))));
                        }
                        Err(why) => report(Progress::Failed(why)),
                    }
                });
            });
            html! {
                <label class="file-pick" for={key("file")}>
                    { "Add a video, PDF, image or sound" }
                    <input type="file" id={key("file")} onchange={picked}
                        accept="video/mp4,video/webm,audio/mpeg,audio/mp4,application/pdf,image/png,image/jpeg,image/webp" />
                </label>
            }
        }
    };
    html! {
        <li class="lesson-edit" key={lesson.id.clone()} data-id={lesson.id.clone()}>
            <h4>{ format!("Lesson {n}") }</h4>
            { line("Title", key("title"), &lesson.title, edits.typed(at.clone(), Field::LessonTitle)) }
            { area("Text", key("body"), &lesson.body, 5, edits.typed(at.clone(), Field::Body)) }
            <p class="hint">{ "A blank line starts a paragraph; # starts a heading, - a list item, **words** are bold." }</p>
            { file }
            { tools(edits, at, &what) }
        </li>
    }
}

fn quiz_view(edits: &Edits, module: &str, quiz: &api::Quiz) -> Html {
    let at = At::module(module);
    let key = |what: &str| format!("{what}-{}", quiz.id);
    let kind = {
        let (edits, at) = (edits.clone(), at.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(kind) = QuizKind::parse(&value) {
                edits.send(Edit::QuizKind(at.clone(), kind));
            }
        })
    };
    html! {
        <fieldset class="quiz-edit" data-id={quiz.id.clone()}>
            <legend>{ if quiz.kind == QuizKind::Exam { "Certification exam" } else { "Practice quiz" } }</legend>
            { line("Title", key("title"), &quiz.title, edits.typed(at.clone(), Field::QuizTitle)) }
            <div class="row two">
                <label for={key("kind")}>{ "Kind" }
                    <select id={key("kind")} onchange={kind}>
                        <option value="practice" selected={quiz.kind == QuizKind::Practice}>{ "Practice: graded on the phone, answers explained" }</option>
                        <option value="exam" selected={quiz.kind == QuizKind::Exam}>{ "Exam: graded by the server, earns a certificate" }</option>
                    </select>
                </label>
                <label for={key("pass")}>{ "Share right to pass (%)" }
                    <input id={key("pass")} type="number" inputmode="numeric" min="1" max="100"
                        value={quiz.pass_percent.to_string()} oninput={edits.typed(at.clone(), Field::PassPercent)} />
                </label>
            </div>
            <ol class="questions">
                { for quiz.questions.iter().enumerate().map(|(i, q)| question_view(edits, module, i + 1, q)) }
            </ol>
            <div class="row">
                <button type="button" onclick={edits.on(Edit::AddQuestion(at.clone()))}>{ "Add a question" }</button>
                <button type="button" class="quiet danger" onclick={edits.remove(at, true, "the quiz and its questions".to_owned())}>
                    { if quiz.kind == QuizKind::Exam { "Remove the exam" } else { "Remove the quiz" } }
                </button>
            </div>
        </fieldset>
    }
}

fn question_view(edits: &Edits, module: &str, n: usize, q: &api::Question) -> Html {
    let at = At::question(module, &q.id);
    let key = |what: &str| format!("{what}-{}", q.id);
    let multiple = {
        let at = at.clone();
        edits.checked(move |on| Edit::Multiple(at.clone(), on))
    };
    html! {
        <li class="question-edit" key={q.id.clone()} data-id={q.id.clone()}>
            { area(&format!("Question {n}"), key("prompt"), &q.prompt, 2, edits.typed(at.clone(), Field::Prompt)) }
            <label class="choice">
                <input type="checkbox" checked={q.multiple} onchange={multiple} />
                { "More than one answer is right" }
            </label>
            <fieldset class="choices">
                <legend>{ if q.multiple { "Answers: mark the right ones" } else { "Answers: mark the right one" } }</legend>
                { for q.choices.iter().enumerate().map(|(i, c)| {
                    let at = At::choice(module, &q.id, &c.id);
                    let right = {
                        let at = at.clone();
                        edits.checked(move |on| Edit::Right(at.clone(), on))
                    };
                    let letter = char::from(b'A' + (i as u8 % 26));
                    html! {
                        <div class="choice-edit" key={c.id.clone()} data-id={c.id.clone()}>
                            <label class="right" title={format!("Answer {letter} is right")}>
                                <input type={if q.multiple { "checkbox" } else { "radio" }} name={key("right")}
                                    checked={q.correct.contains(&c.id)} onchange={right}
                                    aria-label={format!("Answer {letter} is right")} />
                            </label>
                            <input value={c.text.clone()} oninput={edits.typed(at.clone(), Field::ChoiceText)}
                                aria-label={format!("Answer {letter}")} autocomplete="off" />
                            <button type="button" class="quiet" aria-label={format!("Remove answer {letter}")}
                                onclick={edits.on(Edit::Remove { at, quiz: false })}>{ "✕" }</button>
                        </div>
                    }
                }) }
                <button type="button" class="quiet" onclick={edits.on(Edit::AddChoice(at.clone()))}>{ "Add an answer" }</button>
            </fieldset>
            { area("Explanation (shown after a practice answer; never sent with an exam)", key("why"),
                q.explanation.as_deref().unwrap_or_default(), 2, edits.typed(at.clone(), Field::Explanation)) }
            <button type="button" class="quiet danger" onclick={edits.remove(at, false, format!("question {n}"))}>
                { format!("Remove question {n}") }
            </button>
        </li>
    }
}

fn module_view(
    edits: &Edits,
    state: &UseReducerHandle<Working>,
    n: usize,
    m: &api::Module,
) -> Html {
    let at = At::module(&m.id);
    let key = |what: &str| format!("{what}-{}", m.id);
    let what = format!("module {n}");
    html! {
        <fieldset class="card module-edit" key={m.id.clone()} data-id={m.id.clone()}>
            <legend>{ format!("Module {n}") }</legend>
            <div class="row two">
                { line("Title", key("title"), &m.title, edits.typed(at.clone(), Field::ModuleTitle)) }
                <label for={key("minutes")}>{ "Minutes it takes" }
                    <input id={key("minutes")} type="number" inputmode="numeric" min="1" max="600"
                        value={m.minutes.to_string()} oninput={edits.typed(at.clone(), Field::Minutes)} />
                </label>
            </div>
            { area("Summary", key("summary"), &m.summary, 2, edits.typed(at.clone(), Field::ModuleSummary)) }
            <ol class="lessons-edit">
                { for m.lessons.iter().enumerate().map(|(i, l)| lesson_view(edits, state, &m.id, i + 1, l)) }
            </ol>
            <button type="button" onclick={edits.on(Edit::AddLesson(at.clone()))}>{ "Add a lesson" }</button>
            if let Some(quiz) = &m.quiz {
                { quiz_view(edits, &m.id, quiz) }
            } else {
                <div class="row">
                    <button type="button" onclick={edits.on(Edit::AddQuiz(at.clone(), QuizKind::Practice))}>{ "Add a practice quiz" }</button>
                    <button type="button" onclick={edits.on(Edit::AddQuiz(at.clone(), QuizKind::Exam))}>{ "Add a certification exam" }</button>
                </div>
            }
            { tools(edits, at, &what) }
        </fieldset>
    }
}

#[function_component(Editor)]
pub fn editor(props: &Props) -> Html {
    let state = use_reducer(|| {
        let kept_as = format!(
            "training-draft:{}",
            props.draft.as_ref().map_or("new", |d| d.track.id.as_str())
        );
        let track = kept(&kept_as).unwrap_or_else(|| {
            props
                .draft
                .as_ref()
                .map(|d| d.track.clone())
                .unwrap_or_else(|| edit::new_track(&mut fresh))
        });
        Working {
            kept_as,
            track,
            uploads: BTreeMap::new(),
            saving: false,
            refused: None,
        }
    });
    let edits = Edits(state.dispatcher());
    let track = &state.track;
    let new = props.draft.is_none();
    let unsaved = props.draft.as_ref().is_none_or(|d| d.track != *track);

    let base = props.draft.as_ref().map(|d| d.updated_at.clone());
    let save = {
        let (state, props_taken) = (state.clone(), props.taken.clone());
        let (report, choose) = (props.report.clone(), props.choose.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut track = state.track.clone();
            if new && track.id.trim().is_empty() {
                track.id = edit::slug(&track.title);
            }
            track.id = track.id.trim().to_owned();
            let uploading = state
                .uploads
                .values()
                .any(|p| !matches!(p, Progress::Failed(_)));
            let refusal = if uploading {
                Some("A file is still uploading: save once it is done.".to_owned())
            } else if new && !edit::valid_track_id(&track.id) {
                Some("The track needs an id of 1 to 40 of a–z, 0–9 and - (not starting with -): type one.".to_owned())
            } else if new && props_taken.contains(&track.id) {
                Some(format!(
                    "A track with the id {:?} exists already: give this one another id.",
                    track.id
                ))
            } else {
                edit::missing(&track)
            };
            if let Some(why) = refusal {
                state.dispatch(Action::Refused(why));
                return;
            }
            state.dispatch(Action::Saving);
            let (dispatch, report, choose) = (state.dispatcher(), report.clone(), choose.clone());
            let base = base.clone();
            spawn_local(async move {
                let at = js_sys::Date::now();
                let path = match &base {
                    None => format!("/api/admin/training/tracks/{}?new=true", track.id),
                    Some(base) => format!(
                        "/api/admin/training/tracks/{}?base={}",
                        track.id,
                        js_sys::encode_uri_component(base)
                    ),
                };
                let body = serde_json::to_string(&track).ok();
                match api::call("PUT", &path, body).await {
                    Ok(answer) => {
                        if let Ok(saved) = serde_json::from_value::<TrackDraft>(answer) {
                            dispatch.dispatch(Action::Saved {
                                sent: Box::new(track.clone()),
                                saved: Box::new(saved.track),
                            });
                        }
                        if new {
                            keep("training-draft:new", None);
                            choose.emit(track.id.clone());
                        }
                        report.emit(Sent {
                            outcome: Ok(html! { "Saved. Partners see it once you publish it." }),
                            at,
                        });
                    }
                    // The session ended, or another admin saved since: the
                    // desk says so; what was typed stays kept.
                    Err(e @ (ApiError::SignedOut | ApiError::Changed(_))) => {
                        dispatch.dispatch(Action::Refused(e.to_string()));
                        report.emit(Sent {
                            outcome: Err(e),
                            at,
                        });
                    }
                    Err(e) => dispatch.dispatch(Action::Refused(e.to_string())),
                }
            });
        })
    };
    let publish = props.draft.as_ref().map(|d| {
        let path = format!("/api/admin/training/tracks/{}/publish", d.track.id);
        props.change.reform(move |_: MouseEvent| {
            Change::new("POST", path.clone(), None::<&()>, |v| {
                answer(v, |p: Publication| {
                    html! { <span id="published">{ format!("Published as version {}. Partners' apps get it with their next sync.", p.version) }</span> }
                })
            })
        })
    });
    let audience = {
        let edits = edits.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(a) = Audience::parse(&value) {
                edits.send(Edit::Audience(a));
            }
        })
    };
    let root = At::default();
    html! {
        <form class="track-form" onsubmit={save} novalidate=true>
            <h2>{ if track.title.trim().is_empty() { "New track".to_owned() } else { track.title.clone() } }</h2>
            <fieldset class="card">
                <legend>{ "Track" }</legend>
                <div class="row two">
                    { line("Title", "track-title".into(), &track.title, edits.typed(root.clone(), Field::TrackTitle)) }
                    { line("Channel (the topic it is listed under)", "track-channel".into(), &track.channel, edits.typed(root.clone(), Field::Channel)) }
                </div>
                if new {
                    <label for="track-id">{ "Id in addresses (a–z, 0–9 and -; it never changes)" }
                        <input id="track-id" value={track.id.clone()} placeholder={edit::slug(&track.title)}
                            oninput={edits.typed(root.clone(), Field::TrackId)} autocomplete="off" />
                    </label>
                }
                { area("Summary", "track-summary".into(), &track.summary, 2, edits.typed(root.clone(), Field::TrackSummary)) }
                <label for="track-audience">{ "Who reads it" }
                    <select id="track-audience" onchange={audience}>
                        <option value="everyone" selected={track.audience == Audience::Everyone}>{ "Every partner" }</option>
                        <option value="team_leaders" selected={track.audience == Audience::TeamLeaders}>{ "Team leaders only" }</option>
                    </select>
                </label>
            </fieldset>
            { for track.modules.iter().enumerate().map(|(i, m)| module_view(&edits, &state, i + 1, m)) }
            <button type="button" id="add-module" onclick={edits.on(Edit::AddModule)}>{ "Add a module" }</button>
            <div class="editor-actions">
                if let Some(why) = &state.refused {
                    <p class="error" role="alert" id="editor-refused">{ why }</p>
                } else if unsaved {
                    <p class="hint" role="status">{ if new { "Not saved yet." } else { "Changes not saved yet: save before publishing." } }</p>
                } else if !props.unpublished {
                    <p class="hint" role="status">{ "Partners read this version: nothing to publish." }</p>
                } else {
                    <p class="hint" role="status">{ "Saved. Publish to make it what partners read." }</p>
                }
                <div class="row">
                    <button type="submit" id="save-track" class="primary" disabled={state.saving}>
                        { if state.saving { "Saving…" } else { "Save draft" } }
                    </button>
                    if let Some(publish) = publish {
                        <button type="button" id="publish-track" disabled={unsaved || !props.unpublished} onclick={publish}>{ "Publish" }</button>
                    }
                </div>
            </div>
        </form>
    }
}
