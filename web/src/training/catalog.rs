//! What the screens work out of the published tracks and the partner's
//! record, on the device, so all of it works offline: the tracks by
//! channel, a search over every text on the device, each module's lessons
//! done, the files a module needs and their size, practice grading.
//! Pure, and tested natively.

use std::collections::BTreeMap;

use model::Training;
use web_common::api::{Lesson, Module, Published, Question, Quiz, Track};

use crate::text_search::Query;

/// The tracks, by channel (channels and tracks in alphabetical order).
pub fn by_channel(tracks: &[&Published]) -> BTreeMap<String, Vec<Track>> {
    let mut channels: BTreeMap<String, Vec<Track>> = BTreeMap::new();
    for published in tracks {
        channels
            .entry(published.track.channel.clone())
            .or_default()
            .push(published.track.clone());
    }
    for tracks in channels.values_mut() {
        tracks.sort_by_key(|t| t.title.to_lowercase());
    }
    channels
}

/// One thing a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub track: String,
    pub title: String,
    /// Where it is: "Track › Module".
    pub within: String,
    /// The page it opens, as the location's hash.
    pub hash: String,
}

/// Tracks, modules and lessons whose texts hold every word of `query`
/// (case ignored), tracks first, at most `limit`.
pub fn search(tracks: &[&Published], query: &str, limit: usize) -> Vec<Found> {
    let query = Query::new(query);
    if query.is_empty() {
        return Vec::new();
    }
    let holds = |texts: &[&str]| query.holds(texts);
    let mut found = Vec::new();
    for published in tracks {
        let track = &published.track;
        if holds(&[&track.title, &track.summary, &track.channel]) {
            found.push(Found {
                track: track.id.clone(),
                title: track.title.clone(),
                within: track.channel.clone(),
                hash: format!("#training-{}", track.id),
            });
        }
    }
    for published in tracks {
        let track = &published.track;
        for module in &track.modules {
            if holds(&[&module.title, &module.summary]) {
                found.push(Found {
                    track: track.id.clone(),
                    title: module.title.clone(),
                    within: track.title.clone(),
                    hash: format!("#training-{}", track.id),
                });
            }
            for lesson in &module.lessons {
                let caption = lesson.media.as_ref().map_or("", |m| m.caption.as_str());
                if holds(&[&lesson.title, &lesson.body, caption]) {
                    found.push(Found {
                        track: track.id.clone(),
                        title: lesson.title.clone(),
                        within: format!("{} › {}", track.title, module.title),
                        hash: lesson_hash(&track.id, &lesson.id),
                    });
                }
            }
        }
    }
    found.truncate(limit);
    found
}

pub fn lesson_hash(track: &str, lesson: &str) -> String {
    format!("#lesson-{track}_{lesson}")
}

pub fn quiz_hash(track: &str, quiz: &str) -> String {
    format!("#quiz-{track}_{quiz}")
}

/// Lessons of `module` done, and how many it has.
pub fn lessons_done(record: Option<&Training>, track: &str, module: &Module) -> (usize, usize) {
    let done = record.map_or(0, |r| {
        module
            .lessons
            .iter()
            .filter(|l| r.completed(track, &l.id))
            .count()
    });
    (done, module.lessons.len())
}

/// The files `module` shows: (URL, bytes), each once.
pub fn files(module: &Module) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = module
        .lessons
        .iter()
        .filter_map(|l| l.media.as_ref())
        .map(|m| (format!("/blobs/{}", m.sha256), m.bytes))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The lesson after `lesson` in its track, across modules.
pub fn next_lesson<'a>(track: &'a Track, lesson: &str) -> Option<&'a Lesson> {
    let all: Vec<&Lesson> = track.modules.iter().flat_map(|m| &m.lessons).collect();
    let at = all.iter().position(|l| l.id == lesson)?;
    all.get(at + 1).copied()
}

/// The module a lesson belongs to.
pub fn module_of<'a>(track: &'a Track, lesson: &str) -> Option<&'a Module> {
    track
        .modules
        .iter()
        .find(|m| m.lessons.iter().any(|l| l.id == lesson))
}

/// The module whose quiz is `quiz`.
pub fn quiz_of<'a>(track: &'a Track, quiz: &str) -> Option<(&'a Module, &'a Quiz)> {
    track
        .modules
        .iter()
        .find_map(|m| m.quiz.as_ref().filter(|q| q.id == quiz).map(|q| (m, q)))
}

/// Whether the question was answered exactly right (practice quizzes:
/// their keys are on the device).
pub fn right(question: &Question, picks: &[String]) -> bool {
    let mut picks = picks.to_vec();
    picks.sort();
    picks.dedup();
    let mut correct = question.correct.clone();
    correct.sort();
    !correct.is_empty() && picks == correct
}

/// A practice quiz's score in percent (rounded down), as the server
/// scores an exam.
pub fn score(quiz: &Quiz, answers: &BTreeMap<String, Vec<String>>) -> u8 {
    if quiz.questions.is_empty() {
        return 0;
    }
    let right = quiz
        .questions
        .iter()
        .filter(|q| answers.get(&q.id).is_some_and(|picks| right(q, picks)))
        .count();
    (right * 100 / quiz.questions.len()) as u8
}

#[cfg(test)]
mod tests {
    use model::{Completion, PartnerId, Timestamp};
    use web_common::api::{Audience, Choice, Media, MediaKind, QuizKind};

    use super::*;

    fn lesson(id: &str, body: &str, media: Option<&str>) -> Lesson {
        Lesson {
            id: id.into(),
            title: format!("Lesson {id}"),
            body: body.into(),
            media: media.map(|sha| Media {
                sha256: sha.into(),
                kind: MediaKind::Video,
                content_type: "video/mp4".into(),
                bytes: 1_500_000,
                caption: "Pitching to a clinic".into(),
            }),
        }
    }

    fn published(id: &str, channel: &str) -> Published {
        Published {
            version: 1,
            track: Track {
                id: id.into(),
                channel: channel.into(),
                title: format!("Track {id}"),
                summary: "How to sell the portal".into(),
                audience: Audience::Everyone,
                modules: vec![Module {
                    id: format!("{id}-m"),
                    title: "Objections".into(),
                    summary: String::new(),
                    minutes: 5,
                    lessons: vec![
                        lesson("a", "Price comes up first.", Some("aa")),
                        lesson("b", "Then timing.", Some("aa")),
                        lesson("c", "Close.", None),
                    ],
                    quiz: Some(Quiz {
                        id: "q".into(),
                        title: "Check".into(),
                        kind: QuizKind::Practice,
                        pass_percent: 50,
                        questions: vec![
                            Question {
                                id: "1".into(),
                                prompt: "?".into(),
                                multiple: true,
                                choices: vec![
                                    Choice {
                                        id: "x".into(),
                                        text: "X".into(),
                                    },
                                    Choice {
                                        id: "y".into(),
                                        text: "Y".into(),
                                    },
                                ],
                                correct: vec!["y".into(), "x".into()],
                                explanation: None,
                            },
                            Question {
                                id: "2".into(),
                                prompt: "?".into(),
                                multiple: false,
                                choices: vec![],
                                correct: vec!["x".into()],
                                explanation: None,
                            },
                        ],
                    }),
                }],
            },
        }
    }

    #[test]
    fn search_finds_every_word_in_any_text_case_ignored() {
        let a = published("sell", "Selling");
        let b = published("lead", "Leading");
        let tracks = [&a, &b];
        let found = search(&tracks, "TIMING then", 10);
        assert_eq!(
            found.iter().map(|f| f.hash.as_str()).collect::<Vec<_>>(),
            ["#lesson-sell_b", "#lesson-lead_b"]
        );
        assert_eq!(found[0].within, "Track sell › Objections");
        assert_eq!(
            search(&tracks, "clinic", 10).len(),
            4,
            "captions are searched"
        );
        assert_eq!(search(&tracks, "leading", 10)[0].hash, "#training-lead");
        assert!(search(&tracks, "  ", 10).is_empty());
        assert_eq!(search(&tracks, "lesson", 3).len(), 3);
    }

    #[test]
    fn modules_count_lessons_done_and_name_their_files_once() {
        let p = published("sell", "Selling");
        let module = &p.track.modules[0];
        let record = Training {
            partner_id: Some(PartnerId::parse("p-ben").unwrap()),
            lessons: vec![Completion {
                track: "sell".into(),
                module: "sell-m".into(),
                lesson: "b".into(),
                completed_at: Timestamp(1),
            }],
            ..Training::default()
        };
        assert_eq!(lessons_done(Some(&record), "sell", module), (1, 3));
        assert_eq!(lessons_done(Some(&record), "other", module), (0, 3));
        assert_eq!(lessons_done(None, "sell", module), (0, 3));
        assert_eq!(files(module), vec![("/blobs/aa".to_owned(), 1_500_000)]);
        assert_eq!(next_lesson(&p.track, "a").unwrap().id, "b");
        assert!(next_lesson(&p.track, "c").is_none());
        assert_eq!(by_channel(&[&p])["Selling"][0].id, "sell");
    }

    #[test]
    fn a_question_is_right_only_with_exactly_its_answers() {
        let p = published("sell", "Selling");
        let quiz = p.track.modules[0].quiz.as_ref().unwrap();
        let answers = |pairs: &[(&str, &[&str])]| {
            pairs
                .iter()
                .map(|(q, picks)| (q.to_string(), picks.iter().map(|p| p.to_string()).collect()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            score(quiz, &answers(&[("1", &["x", "y"]), ("2", &["x"])])),
            100
        );
        assert_eq!(score(quiz, &answers(&[("1", &["x"]), ("2", &["x"])])), 50);
        assert_eq!(score(quiz, &answers(&[])), 0);
    }
}
