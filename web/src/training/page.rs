//! The training pages. Everything here reads what is on the device (the
//! catalogs, the record, the account view), so it works offline; only a
//! download needs the network.

use std::{collections::BTreeMap, rc::Rc};

use model::{AccountView, Attempt, ExamOutcome, Timestamp, TrainingEdit};
use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{Audience, Lesson, MediaKind, Module, Published, QuizKind, TeamMember, Track},
    show,
};
use yew::prelude::*;

use super::{FILES, Page, State, catalog, markup};
use crate::offline_files as files;

/// What the pages are drawn from.
pub struct Input<'a> {
    pub page: &'a Page,
    pub state: &'a State,
    pub view: Option<Rc<AccountView>>,
    pub on_edit: Callback<TrainingEdit>,
    /// A team leader's team (empty for everyone else).
    pub team: Rc<Vec<TeamMember>>,
}

pub fn view(input: Input) -> Html {
    let state = input.state.clone();
    match input.page {
        Page::Catalog => html! { <CatalogPage state={state} view={input.view} /> },
        Page::Track(id) => match input.state.track(id) {
            Some(published) => html! {
                <TrackPage published={Rc::new(published.clone())} state={state} view={input.view} team={input.team} />
            },
            None => missing(input.state, "This track"),
        },
        Page::Lesson(track, lesson) => match input.state.track(track) {
            Some(published) => lesson_page(&published.track, lesson, input.state, &input.on_edit),
            None => missing(input.state, "This lesson"),
        },
        Page::Quiz(track, quiz) => match input.state.track(track) {
            Some(published) if catalog::quiz_of(&published.track, quiz).is_some() => html! {
                <QuizPage published={Rc::new(published.clone())} quiz={quiz.clone()}
                    state={state} view={input.view} on_edit={input.on_edit} />
            },
            _ => missing(input.state, "This quiz"),
        },
    }
}

fn missing(state: &State, what: &str) -> Html {
    let why = if state.catalogs.is_empty() {
        "Training appears here once this device has been online since it was published."
    } else {
        "It is not published, or not for you."
    };
    html! {
        <main class="training">
            <p class="card hint" role="status">{ format!("{what} is not on this device. {why}") }</p>
            <p><a class="button" href="#training">{ "All training" }</a></p>
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct CatalogProps {
    state: State,
    view: Option<Rc<AccountView>>,
}

#[function_component(CatalogPage)]
fn catalog_page(props: &CatalogProps) -> Html {
    let query = use_state(String::new);
    let tracks = props.state.tracks();
    let record = props.state.record.as_deref();
    let on_search = {
        let query = query.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            query.set(input.value());
        })
    };
    let found = catalog::search(&tracks, &query, 30);
    let certified = |track: &str| {
        props.view.as_ref().is_some_and(|v| {
            v.exams
                .iter()
                .any(|e| e.track == track && e.certificate.is_some())
        })
    };
    html! {
        <main class="training">
            <StorageCard />
            <div class="field search">
                <label for="training-search">{ "Search training on this device" }</label>
                <input id="training-search" type="search" autocomplete="off" oninput={on_search} />
            </div>
            if !query.trim().is_empty() {
                <section aria-labelledby="found-title">
                    <h2 id="found-title" aria-live="polite">{ match found.len() {
                        0 => "Nothing found".to_owned(),
                        1 => "1 result".to_owned(),
                        n => format!("{n} results"),
                    } }</h2>
                    <ul class="found">
                        { for found.iter().map(|f| html! {
                            <li><a href={f.hash.clone()}><strong>{ &f.title }</strong><span class="hint">{ &f.within }</span></a></li>
                        }) }
                    </ul>
                </section>
            } else if tracks.is_empty() {
                <p class="card hint" role="status">{ "No training is on this device yet. It downloads with the rest of your data when you are online." }</p>
            } else {
                { for catalog::by_channel(&tracks).into_iter().map(|(channel, tracks)| html! {
                    <section class="channel" aria-label={channel.clone()}>
                        <h2>{ channel }</h2>
                        <ul class="tracks">
                            { for tracks.iter().map(|track| {
                                let modules = track.modules.len();
                                let done = track.modules.iter().filter(|m| {
                                    let (done, all) = catalog::lessons_done(record, &track.id, m);
                                    done == all
                                }).count();
                                html! {
                                    <li class="card track">
                                        <a href={format!("#training-{}", track.id)}>
                                            <h3>{ &track.title }</h3>
                                            if !track.summary.is_empty() { <p>{ &track.summary }</p> }
                                            <p class="hint">{ format!("{done} of {modules} modules done") }
                                                if certified(&track.id) { <span class="badge">{ " · Certified" }</span> }
                                            </p>
                                        </a>
                                    </li>
                                }
                            }) }
                        </ul>
                    </section>
                }) }
            }
        </main>
    }
}

/// What this site keeps on the device, and the way to have it kept.
#[function_component(StorageCard)]
fn storage_card() -> Html {
    let storage = use_state(|| None::<files::Storage>);
    {
        let storage = storage.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { storage.set(Some(files::storage().await)) });
            || ()
        });
    }
    let on_keep = {
        let storage = storage.clone();
        Callback::from(move |_| {
            let storage = storage.clone();
            spawn_local(async move {
                files::persist().await;
                storage.set(Some(files::storage().await));
            })
        })
    };
    let Some(s) = *storage else {
        return Html::default();
    };
    let used = match (s.used, s.quota) {
        (Some(used), Some(quota)) => format!(
            "On this device: {} used of {} available.",
            show::file_size(used as u64),
            show::file_size(quota as u64)
        ),
        (Some(used), None) => format!("On this device: {} used.", show::file_size(used as u64)),
        _ => "This browser does not say how much it keeps.".to_owned(),
    };
    html! {
        <p id="storage" class="card hint storage" role="status">
            { used }{ " " }
            if s.persisted {
                { "Downloads are kept even when space runs short." }
            } else {
                <button type="button" class="link" onclick={on_keep}>{ "Keep downloads on this device" }</button>
            }
        </p>
    }
}

#[derive(Properties, PartialEq)]
struct TrackProps {
    published: Rc<Published>,
    state: State,
    view: Option<Rc<AccountView>>,
    team: Rc<Vec<TeamMember>>,
}

#[function_component(TrackPage)]
fn track_page(props: &TrackProps) -> Html {
    let track = &props.published.track;
    let record = props.state.record.as_deref();
    html! {
        <main class="training track-page">
            <p class="crumbs"><a href="#training">{ "Training" }</a>{ " › " }{ &track.channel }</p>
            <h2>{ &track.title }</h2>
            if !track.summary.is_empty() { <p>{ &track.summary }</p> }
            if !props.team.is_empty() && track.audience == Audience::Everyone {
                <super::team::TeamPanel published={props.published.clone()} team={props.team.clone()} />
            }
            { for track.modules.iter().map(|module| {
                let (done, all) = catalog::lessons_done(record, &track.id, module);
                let heading = format!("module-{}", module.id);
                html! {
                    <section class="card module" aria-labelledby={heading.clone()} data-module={module.id.clone()}>
                        <h3 id={heading}>{ &module.title }</h3>
                        <p class="hint">{ format!("{} min · {done} of {all} lessons done", module.minutes) }</p>
                        if !module.summary.is_empty() { <p>{ &module.summary }</p> }
                        <Download files={Rc::new(catalog::files(module))} />
                        <ol class="lessons">
                            { for module.lessons.iter().map(|lesson| lesson_link(&track.id, lesson, record.is_some_and(|r| r.completed(&track.id, &lesson.id)))) }
                        </ol>
                        { quiz_line(track, module, &props.state, props.view.as_deref()) }
                    </section>
                }
            }) }
        </main>
    }
}

fn lesson_link(track: &str, lesson: &Lesson, done: bool) -> Html {
    let kind = lesson.media.as_ref().map(|m| show::media_word(m.kind));
    html! {
        <li class={classes!(done.then_some("done"))}>
            <a href={catalog::lesson_hash(track, &lesson.id)}>
                <span aria-hidden="true" class="tick">{ if done { "✓" } else { "○" } }</span>
                { &lesson.title }
                if let Some(kind) = kind { <span class="hint">{ format!(" · {kind}") }</span> }
                if done { <span class="visually-hidden">{ ", done" }</span> }
            </a>
        </li>
    }
}

/// The newest attempt of `quiz` in the record, and what the server said
/// of it, if it has.
fn latest<'a>(
    state: &'a State,
    view: Option<&'a AccountView>,
    track: &str,
    quiz: &str,
) -> Option<(&'a Attempt, Option<&'a ExamOutcome>)> {
    let record = state.record.as_deref()?;
    let attempt = record
        .attempts
        .iter()
        .filter(|a| a.track == track && a.quiz == quiz)
        .max_by_key(|a| (a.submitted_at, a.id.clone()))?;
    let outcome = view.and_then(|v| v.exams.iter().find(|e| e.attempt == attempt.id));
    Some((attempt, outcome))
}

fn outcome_text(outcome: &ExamOutcome) -> Html {
    let score = outcome
        .score
        .map(|s| format!(" with {s}%"))
        .unwrap_or_default();
    match outcome.outcome.as_str() {
        "passed" => html! {
            <>
                { format!("Passed{score}. ") }
                if let Some(id) = &outcome.certificate {
                    <a href={format!("/verify/{id}")} target="_blank" rel="noopener">{ format!("Certificate {id}") }</a>
                    { " · " }
                    <a class="certificate-pdf" href={format!("/verify/{id}/certificate.pdf")} target="_blank" rel="noopener">{ "PDF" }</a>
                    { " · " }
                    <a class="certificate-badge" href={format!("/verify/{id}/badge.json")} target="_blank" rel="noopener"
                        title="A signed Open Badges 3.0 credential, for badge backpacks">{ "Open Badge" }</a>
                }
            </>
        },
        "failed" => html! { { format!("Not passed{score}.{}", retry(outcome.retry_after)) } },
        "too_soon" => {
            html! { { format!("Not graded: taken before the waiting time ended.{}", retry(outcome.retry_after)) } }
        }
        "no_attempts_left" => html! { { "Not graded: no attempts left. Ask your team leader." } },
        _ => html! { { "Not graded: this exam is no longer published." } },
    }
}

fn retry(at: Option<Timestamp>) -> String {
    at.map(|t| format!(" You can try again from {}.", show::when(t.0)))
        .unwrap_or_default()
}

fn quiz_line(track: &Track, module: &Module, state: &State, view: Option<&AccountView>) -> Html {
    let Some(quiz) = &module.quiz else {
        return Html::default();
    };
    let label = match quiz.kind {
        QuizKind::Practice => format!("Practice quiz: {}", quiz.title),
        QuizKind::Exam => format!("Certification exam: {}", quiz.title),
    };
    let status = match latest(state, view, &track.id, &quiz.id) {
        None => Html::default(),
        Some((attempt, _)) if !attempt.exam => html! {
            <p class="hint">{ format!("Last practice: {}%.", attempt.score.unwrap_or(0)) }</p>
        },
        Some((_, Some(outcome))) => {
            html! { <p class="result" role="status">{ outcome_text(outcome) }</p> }
        }
        Some((_, None)) => html! {
            <p class="result pending" role="status">{ "Submitted. It is graded when this device is back online." }</p>
        },
    };
    html! {
        <div class="quiz-line">
            <a class="button" href={catalog::quiz_hash(&track.id, &quiz.id)}>{ label }</a>
            { status }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct DownloadProps {
    files: Rc<Vec<(String, u64)>>,
}

#[derive(Clone, PartialEq)]
enum Kept {
    Looking,
    No,
    Downloading(u64),
    Yes,
    Failed(String),
}

/// A module's files: downloaded for offline use, or to download.
#[function_component(Download)]
fn download(props: &DownloadProps) -> Html {
    let kept = use_state(|| Kept::Looking);
    let total: u64 = props.files.iter().map(|(_, b)| b).sum();
    let urls: Vec<String> = props.files.iter().map(|(u, _)| u.clone()).collect();
    {
        let kept = kept.clone();
        let urls = urls.clone();
        use_effect_with(urls, move |urls| {
            let urls = urls.clone();
            spawn_local(async move {
                match files::kept(FILES, &urls).await {
                    Ok(all) if all.iter().all(|k| *k) => kept.set(Kept::Yes),
                    Ok(_) => kept.set(Kept::No),
                    Err(e) => kept.set(Kept::Failed(e)),
                }
            });
            || ()
        });
    }
    if props.files.is_empty() {
        return html! { <p class="hint">{ "Text only: on this device already." }</p> };
    }
    let on_download = {
        let kept = kept.clone();
        let files = props.files.clone();
        Callback::from(move |_| {
            let kept = kept.clone();
            let files = files.clone();
            kept.set(Kept::Downloading(0));
            spawn_local(async move {
                // Asked once, on a tap: the browser may keep downloads
                // for good then.
                files::persist().await;
                let progress = {
                    let kept = kept.clone();
                    move |done| kept.set(Kept::Downloading(done))
                };
                match files::download(FILES, &files, progress).await {
                    Ok(()) => kept.set(Kept::Yes),
                    Err(e) => kept.set(Kept::Failed(e)),
                }
            });
        })
    };
    let on_remove = {
        let kept = kept.clone();
        Callback::from(move |_| {
            let kept = kept.clone();
            let urls = urls.clone();
            spawn_local(async move {
                match files::remove(FILES, &urls).await {
                    Ok(()) => kept.set(Kept::No),
                    Err(e) => kept.set(Kept::Failed(e)),
                }
            });
        })
    };
    let size = show::file_size(total);
    html! {
        <div class="download" aria-live="polite">
            { match &*kept {
                Kept::Looking => html! { <p class="hint">{ "Looking on this device…" }</p> },
                Kept::No => html! {
                    <button type="button" class="download-button" onclick={on_download}>{ format!("Download for offline ({size})") }</button>
                },
                Kept::Downloading(done) => html! {
                    <p class="hint" role="status">
                        { format!("Downloading… {} of {size}", show::file_size(*done)) }
                        <progress max={total.to_string()} value={done.to_string()} aria-label="Download progress"></progress>
                    </p>
                },
                Kept::Yes => html! {
                    <p class="kept">
                        <span>{ format!("✓ On this device ({size})") }</span>
                        <button type="button" class="link" onclick={on_remove}>{ "Remove download" }</button>
                    </p>
                },
                Kept::Failed(why) => html! {
                    <p class="error" role="alert">
                        { format!("Not downloaded: {why}. ") }
                        <button type="button" class="link" onclick={on_download}>{ "Try again" }</button>
                    </p>
                },
            } }
        </div>
    }
}

fn lesson_page(
    track: &Track,
    lesson_id: &str,
    state: &State,
    on_edit: &Callback<TrainingEdit>,
) -> Html {
    let (Some(module), Some(lesson)) = (
        catalog::module_of(track, lesson_id),
        track
            .modules
            .iter()
            .flat_map(|m| &m.lessons)
            .find(|l| l.id == lesson_id),
    ) else {
        return missing(state, "This lesson");
    };
    let done = state
        .record
        .as_deref()
        .is_some_and(|r| r.completed(&track.id, &lesson.id));
    let complete = {
        let on_edit = on_edit.clone();
        let edit = TrainingEdit::Complete {
            track: track.id.clone(),
            module: module.id.clone(),
            lesson: lesson.id.clone(),
            at: Timestamp(js_sys::Date::now() as i64),
        };
        Callback::from(move |_: ()| on_edit.emit(edit.clone()))
    };
    let media = lesson.media.as_ref().map(|m| {
        let url = format!("/blobs/{}", m.sha256);
        match m.kind {
            MediaKind::Video => {
                let complete = complete.clone();
                html! {
                    <video id="lesson-video" controls=true preload="metadata" playsinline=true src={url}
                        aria-label={if m.caption.is_empty() { lesson.title.clone() } else { m.caption.clone() }}
                        onended={Callback::from(move |_| complete.emit(()))}></video>
                }
            }
            MediaKind::Audio => html! { <audio controls=true preload="metadata" src={url} aria-label={m.caption.clone()}></audio> },
            MediaKind::Image => html! { <figure><img src={url} alt={m.caption.clone()} />if !m.caption.is_empty() { <figcaption>{ &m.caption }</figcaption> }</figure> },
            MediaKind::Pdf => html! {
                <div class="pdf">
                    <p class="hint">{ if m.caption.is_empty() { "A PDF document.".to_owned() } else { m.caption.clone() } }</p>
                    <a id="lesson-pdf" class="button primary" href={url} target="_blank" rel="noopener">{ format!("Open the PDF ({})", show::file_size(m.bytes)) }</a>
                </div>
            },
        }
    });
    let next = catalog::next_lesson(track, &lesson.id);
    let on_done = {
        let complete = complete.clone();
        Callback::from(move |_| complete.emit(()))
    };
    html! {
        <main class="training lesson">
            <p class="crumbs"><a href={format!("#training-{}", track.id)}>{ &track.title }</a>{ " › " }{ &module.title }</p>
            <h2>{ &lesson.title }</h2>
            { media.unwrap_or_default() }
            <div class="body">{ markup::view(&lesson.body) }</div>
            if done {
                <p class="done" role="status">{ "✓ Done" }</p>
            } else {
                <button type="button" id="lesson-done" onclick={on_done}>{ "Mark as done" }</button>
            }
            <p class="next">
                { match next {
                    Some(next) => html! { <a class="button" href={catalog::lesson_hash(&track.id, &next.id)}>{ format!("Next: {}", next.title) }</a> },
                    None => html! { <a class="button" href={format!("#training-{}", track.id)}>{ "Back to the track" }</a> },
                } }
            </p>
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct QuizProps {
    published: Rc<Published>,
    quiz: String,
    state: State,
    view: Option<Rc<AccountView>>,
    on_edit: Callback<TrainingEdit>,
}

#[function_component(QuizPage)]
fn quiz_page(props: &QuizProps) -> Html {
    let answers = use_state(BTreeMap::<String, Vec<String>>::new);
    // A practice quiz's answers as checked (shown with what was right).
    let checked = use_state(|| None::<u8>);
    let started = use_state(|| js_sys::Date::now() as i64);
    let submitted = use_state(|| None::<String>);
    let track = &props.published.track;
    let Some((_, quiz)) = catalog::quiz_of(track, &props.quiz) else {
        return Html::default();
    };
    let exam = quiz.kind == QuizKind::Exam;
    let on_submit = {
        let answers = answers.clone();
        let checked = checked.clone();
        let submitted = submitted.clone();
        let on_edit = props.on_edit.clone();
        let quiz = quiz.clone();
        let track_id = track.id.clone();
        let version = props.published.version;
        let started = *started;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if submitted.is_some() {
                return;
            }
            let score = (!exam).then(|| catalog::score(&quiz, &answers));
            let id = uuid::Uuid::new_v4().simple().to_string();
            on_edit.emit(TrainingEdit::Submit {
                attempt: Attempt {
                    id: id.clone(),
                    track: track_id.clone(),
                    version,
                    quiz: quiz.id.clone(),
                    exam,
                    answers: answers
                        .iter()
                        .map(|(q, picks)| (q.clone(), picks.clone()))
                        .collect(),
                    started_at: Timestamp(started),
                    submitted_at: Timestamp(js_sys::Date::now() as i64),
                    score,
                },
            });
            checked.set(score);
            submitted.set(Some(id));
        })
    };
    let outcome = submitted.as_ref().and_then(|id| {
        props
            .view
            .as_ref()
            .and_then(|v| v.exams.iter().find(|e| &e.attempt == id).cloned())
    });
    let intro = if exam {
        format!(
            "Certification exam: {} questions; {}% passes. You may take it offline: your answers are graded by the server when this device is online.",
            quiz.questions.len(),
            quiz.pass_percent
        )
    } else {
        format!(
            "Practice: graded on this device, as often as you like; {}% passes.",
            quiz.pass_percent
        )
    };
    let locked = submitted.is_some();
    html! {
        <main class="training quiz">
            <p class="crumbs"><a href={format!("#training-{}", track.id)}>{ &track.title }</a></p>
            <h2>{ &quiz.title }</h2>
            <p class="hint">{ intro }</p>
            <form id="quiz-form" onsubmit={on_submit} novalidate=true>
                { for quiz.questions.iter().enumerate().map(|(i, question)| {
                    let picked = answers.get(&question.id).cloned().unwrap_or_default();
                    let verdict = checked.is_some().then(|| catalog::right(question, &picked));
                    html! {
                        <fieldset class="question" data-question={question.id.clone()}>
                            <legend>{ format!("{}. {}", i + 1, question.prompt) }</legend>
                            { for question.choices.iter().map(|choice| {
                                let answers = answers.clone();
                                let q = question.id.clone();
                                let c = choice.id.clone();
                                let multiple = question.multiple;
                                let on_change = Callback::from(move |e: Event| {
                                    let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                                    let mut all = (*answers).clone();
                                    let picks = all.entry(q.clone()).or_default();
                                    if !multiple {
                                        picks.clear();
                                    }
                                    picks.retain(|p| p != &c);
                                    if input.checked() {
                                        picks.push(c.clone());
                                    }
                                    answers.set(all);
                                });
                                html! {
                                    <label class="choice">
                                        <input type={if question.multiple { "checkbox" } else { "radio" }}
                                            name={format!("q-{}", question.id)} value={choice.id.clone()}
                                            disabled={locked} onchange={on_change} />
                                        <span>{ &choice.text }</span>
                                    </label>
                                }
                            }) }
                            if let Some(right) = verdict {
                                <p class={if right { "right" } else { "wrong" }}>
                                    { if right { "Right. " } else { "Not quite. " } }
                                    { question.explanation.clone().unwrap_or_default() }
                                </p>
                            }
                        </fieldset>
                    }
                }) }
                if !locked {
                    <button type="submit">{ if exam { "Submit the exam" } else { "Check my answers" } }</button>
                }
            </form>
            <div aria-live="polite" id="quiz-result">
                if let Some(score) = *checked {
                    <p class={if score >= quiz.pass_percent { "right" } else { "wrong" }} role="status">
                        { format!("You scored {score}%{}.", if score >= quiz.pass_percent { ": passed" } else { "" }) }
                    </p>
                }
                if exam && locked {
                    <p class="result" role="status">
                        { match &outcome {
                            Some(outcome) => outcome_text(outcome),
                            None => html! { { "Submitted. It is graded when this device is back online; the result comes to this page, Training and your notifications." } },
                        } }
                    </p>
                }
                if locked {
                    <p><a class="button" href={format!("#training-{}", track.id)}>{ "Back to the track" }</a></p>
                }
            </div>
        </main>
    }
}
