//! What an author does to a track in the editor, as data: each [`Edit`]
//! names what it changes by id (a module, a lesson, a question, a choice),
//! not by position, so an upload that finishes after the lessons were
//! reordered still lands on its lesson. Pure: the editor's reducer applies
//! them, and the tests below check them.
//!
//! New parts get ids made here, never typed: an id is what progress, quiz
//! attempts and certificates are kept under, so it must not change when a
//! title does, and a part removed must not lend its id to a new one (a
//! random suffix, from the caller, sees to that).

use web_common::api::{
    Audience, Choice, Lesson, Media, MediaKind, Module, Question, Quiz, QuizKind, Track,
};

/// A field of text, by what it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    TrackId,
    TrackTitle,
    Channel,
    TrackSummary,
    ModuleTitle,
    ModuleSummary,
    Minutes,
    LessonTitle,
    Body,
    Caption,
    QuizTitle,
    PassPercent,
    Prompt,
    Explanation,
    ChoiceText,
}

/// Where an edit applies: ids from the track down, as far as it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At {
    pub module: String,
    pub lesson: String,
    pub question: String,
    pub choice: String,
}

impl At {
    pub fn module(module: &str) -> At {
        At {
            module: module.to_owned(),
            ..At::default()
        }
    }

    pub fn lesson(module: &str, lesson: &str) -> At {
        At {
            lesson: lesson.to_owned(),
            ..At::module(module)
        }
    }

    pub fn question(module: &str, question: &str) -> At {
        At {
            question: question.to_owned(),
            ..At::module(module)
        }
    }

    pub fn choice(module: &str, question: &str, choice: &str) -> At {
        At {
            choice: choice.to_owned(),
            ..At::question(module, question)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Text(At, Field, String),
    Audience(Audience),
    AddModule,
    AddLesson(At),
    AddQuiz(At, QuizKind),
    AddQuestion(At),
    AddChoice(At),
    /// Removes what `At` names last (a choice, a question, a lesson, a
    /// module); `quiz` the module's quiz.
    Remove {
        at: At,
        quiz: bool,
    },
    /// Moves a module or a lesson one place up (`up`) or down.
    Move {
        at: At,
        up: bool,
    },
    QuizKind(At, QuizKind),
    Multiple(At, bool),
    /// Marks a choice right or not; a question with one answer has one
    /// right choice, so marking one unmarks the others.
    Right(At, bool),
    Media(At, Option<Media>),
}

/// A track with one module of one lesson: what "New track" opens with.
pub fn new_track(fresh: &mut impl FnMut(&str) -> String) -> Track {
    Track {
        id: String::new(),
        channel: String::new(),
        title: String::new(),
        summary: String::new(),
        audience: Audience::Everyone,
        modules: vec![new_module(fresh)],
    }
}

fn new_module(fresh: &mut impl FnMut(&str) -> String) -> Module {
    Module {
        id: fresh("module"),
        title: String::new(),
        summary: String::new(),
        minutes: 10,
        lessons: vec![new_lesson(fresh)],
        quiz: None,
    }
}

fn new_lesson(fresh: &mut impl FnMut(&str) -> String) -> Lesson {
    Lesson {
        id: fresh("lesson"),
        title: String::new(),
        body: String::new(),
        media: None,
    }
}

fn new_question(fresh: &mut impl FnMut(&str) -> String) -> Question {
    Question {
        id: fresh("q"),
        prompt: String::new(),
        multiple: false,
        choices: vec![
            Choice {
                id: fresh("c"),
                text: String::new(),
            },
            Choice {
                id: fresh("c"),
                text: String::new(),
            },
        ],
        correct: Vec::new(),
        explanation: None,
    }
}

/// What a file of this content type is to the app, if it can show it.
pub fn media_kind(content_type: &str) -> Option<MediaKind> {
    match content_type {
        "video/mp4" | "video/webm" => Some(MediaKind::Video),
        "audio/mpeg" | "audio/mp4" => Some(MediaKind::Audio),
        "image/png" | "image/jpeg" | "image/webp" => Some(MediaKind::Image),
        "application/pdf" => Some(MediaKind::Pdf),
        _ => None,
    }
}

/// Whether the server takes `id` as a track's: 1 to 40 of a–z, 0–9 and
/// `-`, not starting with `-` (it is in addresses).
pub fn valid_track_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An id of a–z, 0–9 and `-` made from a title ("Selling to clinics" →
/// `selling-to-clinics`), at most 40 long, for a new track whose author
/// left its id empty; empty when the title has none of those.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn module<'a>(track: &'a mut Track, at: &At) -> Option<&'a mut Module> {
    track.modules.iter_mut().find(|m| m.id == at.module)
}

fn question<'a>(track: &'a mut Track, at: &At) -> Option<&'a mut Question> {
    module(track, at)?
        .quiz
        .as_mut()?
        .questions
        .iter_mut()
        .find(|q| q.id == at.question)
}

fn shift<T>(items: &mut [T], index: usize, up: bool) {
    let other = if up {
        index.checked_sub(1)
    } else {
        Some(index + 1).filter(|&i| i < items.len())
    };
    if let Some(other) = other {
        items.swap(index, other);
    }
}

/// Applies `edit` to `track`; one that names nothing there changes
/// nothing. `fresh(kind)` makes an id for a new part.
pub fn apply(track: &mut Track, edit: Edit, fresh: &mut impl FnMut(&str) -> String) {
    match edit {
        Edit::Text(at, field, value) => text(track, &at, field, value),
        Edit::Audience(audience) => track.audience = audience,
        Edit::AddModule => track.modules.push(new_module(fresh)),
        Edit::AddLesson(at) => {
            let lesson = new_lesson(fresh);
            if let Some(m) = module(track, &at) {
                m.lessons.push(lesson);
            }
        }
        Edit::AddQuiz(at, kind) => {
            let id = fresh("quiz");
            let question = new_question(fresh);
            if let Some(m) = module(track, &at).filter(|m| m.quiz.is_none()) {
                m.quiz = Some(Quiz {
                    id,
                    title: String::new(),
                    kind,
                    pass_percent: 80,
                    questions: vec![question],
                });
            }
        }
        Edit::AddQuestion(at) => {
            let question = new_question(fresh);
            if let Some(quiz) = module(track, &at).and_then(|m| m.quiz.as_mut()) {
                quiz.questions.push(question);
            }
        }
        Edit::AddChoice(at) => {
            let id = fresh("c");
            if let Some(q) = question(track, &at) {
                q.choices.push(Choice {
                    id,
                    text: String::new(),
                });
            }
        }
        Edit::Remove { at, quiz } => {
            if !at.choice.is_empty() {
                if let Some(q) = question(track, &at) {
                    q.choices.retain(|c| c.id != at.choice);
                    q.correct.retain(|c| *c != at.choice);
                }
            } else if !at.question.is_empty() {
                if let Some(quiz) = module(track, &at).and_then(|m| m.quiz.as_mut()) {
                    quiz.questions.retain(|q| q.id != at.question);
                }
            } else if quiz {
                if let Some(m) = module(track, &at) {
                    m.quiz = None;
                }
            } else if !at.lesson.is_empty() {
                if let Some(m) = module(track, &at) {
                    m.lessons.retain(|l| l.id != at.lesson);
                }
            } else {
                track.modules.retain(|m| m.id != at.module);
            }
        }
        Edit::Move { at, up } => {
            if at.lesson.is_empty() {
                if let Some(i) = track.modules.iter().position(|m| m.id == at.module) {
                    shift(&mut track.modules, i, up);
                }
            } else if let Some(m) = module(track, &at)
                && let Some(i) = m.lessons.iter().position(|l| l.id == at.lesson)
            {
                shift(&mut m.lessons, i, up);
            }
        }
        Edit::QuizKind(at, kind) => {
            if let Some(quiz) = module(track, &at).and_then(|m| m.quiz.as_mut()) {
                quiz.kind = kind;
            }
        }
        Edit::Multiple(at, multiple) => {
            if let Some(q) = question(track, &at) {
                q.multiple = multiple;
                if !multiple {
                    q.correct.truncate(1);
                }
            }
        }
        Edit::Right(at, right) => {
            if let Some(q) = question(track, &at) {
                q.correct.retain(|c| *c != at.choice);
                if right {
                    if !q.multiple {
                        q.correct.clear();
                    }
                    q.correct.push(at.choice.clone());
                }
            }
        }
        Edit::Media(at, media) => {
            if let Some(lesson) =
                module(track, &at).and_then(|m| m.lessons.iter_mut().find(|l| l.id == at.lesson))
            {
                lesson.media = media;
            }
        }
    }
}

fn text(track: &mut Track, at: &At, field: Field, value: String) {
    match field {
        Field::TrackId => track.id = value,
        Field::TrackTitle => track.title = value,
        Field::Channel => track.channel = value,
        Field::TrackSummary => track.summary = value,
        Field::ModuleTitle | Field::ModuleSummary | Field::Minutes => {
            if let Some(m) = module(track, at) {
                match field {
                    Field::ModuleTitle => m.title = value,
                    Field::ModuleSummary => m.summary = value,
                    // What is not a number stays as it was; the field
                    // says so by showing it.
                    _ => m.minutes = value.trim().parse().unwrap_or(m.minutes),
                }
            }
        }
        Field::LessonTitle | Field::Body | Field::Caption => {
            let Some(lesson) =
                module(track, at).and_then(|m| m.lessons.iter_mut().find(|l| l.id == at.lesson))
            else {
                return;
            };
            match field {
                Field::LessonTitle => lesson.title = value,
                Field::Body => lesson.body = value,
                _ => {
                    if let Some(media) = &mut lesson.media {
                        media.caption = value;
                    }
                }
            }
        }
        Field::QuizTitle | Field::PassPercent => {
            if let Some(quiz) = module(track, at).and_then(|m| m.quiz.as_mut()) {
                match field {
                    Field::QuizTitle => quiz.title = value,
                    _ => quiz.pass_percent = value.trim().parse().unwrap_or(quiz.pass_percent),
                }
            }
        }
        Field::Prompt | Field::Explanation | Field::ChoiceText => {
            let Some(q) = question(track, at) else {
                return;
            };
            match field {
                Field::Prompt => q.prompt = value,
                Field::Explanation => q.explanation = (!value.is_empty()).then_some(value),
                _ => {
                    if let Some(c) = q.choices.iter_mut().find(|c| c.id == at.choice) {
                        c.text = value;
                    }
                }
            }
        }
    }
}

/// What keeps the track from being saved, found before the server says it:
/// the first thing an author must fill in, in words. The server checks
/// everything again (and more: the files, the bounds).
pub fn missing(track: &Track) -> Option<String> {
    if track.title.trim().is_empty() {
        return Some("The track needs a title.".to_owned());
    }
    if track.channel.trim().is_empty() {
        return Some("The track needs a channel (the topic it is listed under).".to_owned());
    }
    if track.modules.is_empty() {
        return Some("The track needs a module.".to_owned());
    }
    for (i, m) in track.modules.iter().enumerate() {
        let name = format!("Module {}", i + 1);
        if m.title.trim().is_empty() {
            return Some(format!("{name} needs a title."));
        }
        if m.lessons.is_empty() {
            return Some(format!("{name} needs a lesson."));
        }
        for (j, l) in m.lessons.iter().enumerate() {
            let lesson = format!("{name}, lesson {}", j + 1);
            if l.title.trim().is_empty() {
                return Some(format!("{lesson} needs a title."));
            }
            if l.body.trim().is_empty() && l.media.is_none() {
                return Some(format!("{lesson} needs a text or a file."));
            }
        }
        if let Some(quiz) = &m.quiz {
            if quiz.title.trim().is_empty() {
                return Some(format!("{name}'s quiz needs a title."));
            }
            for (k, q) in quiz.questions.iter().enumerate() {
                let question = format!("{name}'s quiz, question {}", k + 1);
                if q.prompt.trim().is_empty() {
                    return Some(format!("{question} needs a prompt."));
                }
                if q.choices.iter().any(|c| c.text.trim().is_empty()) {
                    return Some(format!("{question} has a choice with no text."));
                }
                if q.correct.is_empty() {
                    return Some(format!("{question} needs its right answer marked."));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> impl FnMut(&str) -> String {
        let mut n = 0;
        move |kind| {
            n += 1;
            format!("{kind}-{n}")
        }
    }

    fn edit(track: &mut Track, edits: Vec<Edit>) {
        let mut fresh = ids();
        // Ids made by the edits continue after those of the track.
        for _ in 0..100 {
            fresh("skip");
        }
        for e in edits {
            apply(track, e, &mut fresh);
        }
    }

    #[test]
    fn a_new_track_has_a_module_with_a_lesson_and_fresh_ids() {
        let track = new_track(&mut ids());
        assert_eq!(track.modules.len(), 1);
        assert_eq!(track.modules[0].id, "module-1");
        assert_eq!(track.modules[0].lessons[0].id, "lesson-2");
        assert_eq!(missing(&track).as_deref(), Some("The track needs a title."));
    }

    #[test]
    fn edits_land_on_what_they_name_even_after_a_move() {
        let mut track = new_track(&mut ids());
        edit(
            &mut track,
            vec![
                Edit::Text(At::default(), Field::TrackTitle, "Clinics".into()),
                Edit::Text(At::default(), Field::Channel, "Selling".into()),
                Edit::AddLesson(At::module("module-1")),
                Edit::Move {
                    at: At::lesson("module-1", "lesson-101"),
                    up: true,
                },
                // An upload that finishes after the move lands on its lesson.
                Edit::Media(
                    At::lesson("module-1", "lesson-2"),
                    Some(Media {
                        sha256: "a".repeat(64),
                        kind: MediaKind::Pdf,
                        content_type: "application/pdf".into(),
                        bytes: 10,
                        caption: String::new(),
                    }),
                ),
                Edit::Text(
                    At::lesson("module-1", "lesson-2"),
                    Field::Caption,
                    "Slides".into(),
                ),
                Edit::Text(At::module("module-1"), Field::Minutes, "25".into()),
                Edit::Text(At::module("module-1"), Field::Minutes, "soon".into()),
                // Nothing named: nothing changes.
                Edit::Text(At::module("nowhere"), Field::ModuleTitle, "x".into()),
            ],
        );
        let m = &track.modules[0];
        assert_eq!(
            m.lessons.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
            ["lesson-101", "lesson-2"]
        );
        let media = m.lessons[1].media.as_ref().unwrap();
        assert_eq!(media.caption, "Slides");
        assert_eq!(m.minutes, 25);
        assert_eq!(track.title, "Clinics");
        // Moving the first up leaves the order as it is.
        let before = track.clone();
        edit(
            &mut track,
            vec![Edit::Move {
                at: At::lesson("module-1", "lesson-101"),
                up: true,
            }],
        );
        assert_eq!(track, before);
    }

    #[test]
    fn a_quiz_is_written_question_by_question_with_its_right_answers() {
        let mut track = new_track(&mut ids());
        let q = |c: &str| At::choice("module-1", "q-102", c);
        edit(
            &mut track,
            vec![
                Edit::AddQuiz(At::module("module-1"), QuizKind::Exam),
                Edit::AddChoice(At::question("module-1", "q-102")),
                Edit::Right(q("c-103"), true),
                // One answer: marking another unmarks the first.
                Edit::Right(q("c-104"), true),
            ],
        );
        let quiz = track.modules[0].quiz.clone().unwrap();
        assert_eq!(quiz.id, "quiz-101");
        assert_eq!(quiz.kind, QuizKind::Exam);
        let question = &quiz.questions[0];
        assert_eq!(question.choices.len(), 3);
        assert_eq!(question.correct, ["c-104"]);

        edit(
            &mut track,
            vec![
                Edit::Multiple(At::question("module-1", "q-102"), true),
                Edit::Right(q("c-103"), true),
                Edit::Text(q("c-103"), Field::ChoiceText, "Ask".into()),
                Edit::Text(q(""), Field::Explanation, "Because.".into()),
            ],
        );
        let question = &track.modules[0].quiz.as_ref().unwrap().questions[0];
        assert_eq!(question.correct, ["c-104", "c-103"]);
        assert_eq!(question.choices[0].text, "Ask");
        assert_eq!(question.explanation.as_deref(), Some("Because."));

        // A right choice removed is no longer right; one answer again keeps one.
        edit(
            &mut track,
            vec![
                Edit::Remove {
                    at: q("c-104"),
                    quiz: false,
                },
                Edit::Multiple(At::question("module-1", "q-102"), false),
            ],
        );
        let question = &track.modules[0].quiz.as_ref().unwrap().questions[0];
        assert_eq!(question.correct, ["c-103"]);
        assert_eq!(question.choices.len(), 2);

        edit(
            &mut track,
            vec![Edit::Remove {
                at: At::module("module-1"),
                quiz: true,
            }],
        );
        assert_eq!(track.modules[0].quiz, None);
    }

    #[test]
    fn what_is_missing_is_said_in_the_order_an_author_fills_it_in() {
        let mut track = new_track(&mut ids());
        let mut said = Vec::new();
        let fills = vec![
            Edit::Text(At::default(), Field::TrackTitle, "Clinics".into()),
            Edit::Text(At::default(), Field::Channel, "Selling".into()),
            Edit::Text(At::module("module-1"), Field::ModuleTitle, "Open".into()),
            Edit::Text(
                At::lesson("module-1", "lesson-2"),
                Field::LessonTitle,
                "Read".into(),
            ),
            Edit::Text(At::lesson("module-1", "lesson-2"), Field::Body, "Hi".into()),
        ];
        for fill in fills {
            said.push(missing(&track).unwrap());
            edit(&mut track, vec![fill]);
        }
        assert_eq!(missing(&track), None);
        assert_eq!(
            said,
            [
                "The track needs a title.",
                "The track needs a channel (the topic it is listed under).",
                "Module 1 needs a title.",
                "Module 1, lesson 1 needs a title.",
                "Module 1, lesson 1 needs a text or a file.",
            ]
        );
        edit(
            &mut track,
            vec![Edit::Remove {
                at: At::module("module-1"),
                quiz: false,
            }],
        );
        assert_eq!(
            missing(&track).as_deref(),
            Some("The track needs a module.")
        );
    }

    #[test]
    fn ids_come_from_titles_and_files_from_their_types() {
        assert_eq!(slug("Selling to clinics"), "selling-to-clinics");
        assert_eq!(slug("  Ünïcode & More!! "), "n-code-more");
        assert_eq!(slug("!!!"), "");
        assert_eq!(slug(&"a".repeat(100)).len(), 40);
        assert!(valid_track_id(&slug(&"Long words ".repeat(10))));
        assert!(valid_track_id("selling-to-clinics"));
        for refused in ["", "-x", "Caps", "a_b", "é", &"a".repeat(41)] {
            assert!(!valid_track_id(refused), "{refused}");
        }
        assert_eq!(media_kind("video/mp4"), Some(MediaKind::Video));
        assert_eq!(media_kind("application/pdf"), Some(MediaKind::Pdf));
        assert_eq!(media_kind("text/html"), None);
        assert_eq!(media_kind("image/svg+xml"), None);
    }
}
