//! The training document over Automerge.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, transaction::Transactable};

use super::{Attempt, Completion, TRAINING_KIND, Training, limits, valid_id};
use crate::{
    ModelError, PartnerId, Timestamp,
    read::{Entries, check_kind},
};

const SCHEMA: u64 = 1;

pub struct TrainingDoc;

fn map_at<T: Transactable>(tx: &mut T, key: &str) -> Result<ObjId, automerge::AutomergeError> {
    match tx.get(ROOT, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => tx.put_object(ROOT, key, ObjType::Map),
    }
}

fn ts(t: Timestamp) -> ScalarValue {
    ScalarValue::Timestamp(t.0)
}

impl TrainingDoc {
    /// A new, empty record for `partner`.
    pub fn create(partner: &PartnerId) -> Result<automerge::Automerge, ModelError> {
        let mut doc = automerge::Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "kind", TRAINING_KIND)?;
            tx.put(ROOT, "partner_id", partner.as_str())?;
            tx.put_object(ROOT, "lessons", ObjType::Map)?;
            tx.put_object(ROOT, "attempts", ObjType::Map)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(doc)
    }

    /// Marks a lesson completed at `at`, unless it already is.
    pub fn complete(
        doc: &mut automerge::Automerge,
        track: &str,
        module: &str,
        lesson: &str,
        at: Timestamp,
    ) -> Result<(), ModelError> {
        check_kind(doc, TRAINING_KIND, SCHEMA)?;
        let key = Training::lesson_key(track, lesson);
        let held = TrainingDoc::read(doc)?;
        if held.completed(track, lesson) {
            return Ok(());
        }
        if held.lessons.len() >= limits::LESSONS {
            return Err(ModelError::Invalid {
                what: "lessons",
                why: "are too many".into(),
            });
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let lessons = map_at(tx, "lessons")?;
            let entry = tx.put_object(&lessons, key.as_str(), ObjType::Map)?;
            tx.put(&entry, "module", module)?;
            tx.put(&entry, "completed_at", ts(at))?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// Writes a submitted attempt, whole, in one change. An id already
    /// there is refused: an attempt is never rewritten.
    pub fn submit(doc: &mut automerge::Automerge, attempt: &Attempt) -> Result<(), ModelError> {
        check_kind(doc, TRAINING_KIND, SCHEMA)?;
        let held = TrainingDoc::read(doc)?;
        if held.attempts.iter().any(|a| a.id == attempt.id)
            || held
                .unreadable
                .contains(&format!("attempts/{}", attempt.id))
        {
            return Err(ModelError::Invalid {
                what: "attempt",
                why: format!("{} was submitted already", attempt.id),
            });
        }
        if held.attempts.len() >= limits::ATTEMPTS {
            return Err(ModelError::Invalid {
                what: "attempts",
                why: "are too many".into(),
            });
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let attempts = map_at(tx, "attempts")?;
            let entry = tx.put_object(&attempts, attempt.id.as_str(), ObjType::Map)?;
            tx.put(&entry, "track", attempt.track.as_str())?;
            tx.put(&entry, "version", u64::from(attempt.version))?;
            tx.put(&entry, "quiz", attempt.quiz.as_str())?;
            tx.put(
                &entry,
                "kind",
                if attempt.exam { "exam" } else { "practice" },
            )?;
            let answers = tx.put_object(&entry, "answers", ObjType::Map)?;
            for (question, picks) in &attempt.answers {
                tx.put(&answers, question.as_str(), picks.join(","))?;
            }
            tx.put(&entry, "started_at", ts(attempt.started_at))?;
            tx.put(&entry, "submitted_at", ts(attempt.submitted_at))?;
            if let Some(score) = attempt.score {
                tx.put(&entry, "score", u64::from(score))?;
            }
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// The record, sorted (lessons by key, attempts by submission); entries
    /// that do not read are named in `unreadable`, not dropped silently.
    pub fn read(doc: &impl ReadDoc) -> Result<Training, ModelError> {
        check_kind(doc, TRAINING_KIND, SCHEMA)?;
        let root = Entries::of(doc, &ROOT);
        let partner_id = root
            .str("partner_id")
            .and_then(|p| PartnerId::parse(&p).ok());
        let mut training = Training {
            partner_id,
            ..Training::default()
        };
        if let Some(lessons) = root.obj("lessons", ObjType::Map) {
            for item in doc.map_range(&lessons, ..).take(limits::LESSONS) {
                let key = item.key.to_string();
                match completion(doc, &key, &item.id()) {
                    Some(c) => training.lessons.push(c),
                    None => training.unreadable.push(format!("lessons/{key}")),
                }
            }
        }
        if let Some(attempts) = root.obj("attempts", ObjType::Map) {
            for item in doc.map_range(&attempts, ..).take(limits::ATTEMPTS) {
                let key = item.key.to_string();
                match attempt(doc, &key, &item.id()) {
                    Some(a) => training.attempts.push(a),
                    None => training.unreadable.push(format!("attempts/{key}")),
                }
            }
        }
        training
            .attempts
            .sort_by(|a, b| (a.submitted_at, &a.id).cmp(&(b.submitted_at, &b.id)));
        Ok(training)
    }
}

fn completion(doc: &impl ReadDoc, key: &str, obj: &ObjId) -> Option<Completion> {
    let (track, lesson) = key.split_once('/')?;
    if !valid_id(track) || !valid_id(lesson) {
        return None;
    }
    let e = Entries::of(doc, obj);
    let module = e.str("module").filter(|m| valid_id(m))?;
    Some(Completion {
        track: track.to_owned(),
        module,
        lesson: lesson.to_owned(),
        completed_at: Timestamp(e.int("completed_at")?),
    })
}

fn attempt(doc: &impl ReadDoc, key: &str, obj: &ObjId) -> Option<Attempt> {
    if !valid_id(key) {
        return None;
    }
    let e = Entries::of(doc, obj);
    let exam = match e.str("kind")?.as_str() {
        "exam" => true,
        "practice" => false,
        _ => return None,
    };
    let answers_obj = e.obj("answers", ObjType::Map)?;
    let mut answers = Vec::new();
    for item in doc.map_range(&answers_obj, ..) {
        if answers.len() >= limits::ANSWERS || !valid_id(&item.key) {
            return None;
        }
        let automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(picks)) = &item.value else {
            return None;
        };
        let picks: Vec<String> = if picks.is_empty() {
            Vec::new()
        } else {
            picks.split(',').map(str::to_owned).collect()
        };
        if picks.len() > limits::PICKS || !picks.iter().all(|p| valid_id(p)) {
            return None;
        }
        answers.push((item.key.to_string(), picks));
    }
    let score = match e.integer("score") {
        None => None,
        Some(s) => Some(u8::try_from(s).ok().filter(|s| *s <= 100)?),
    };
    let track = e.str("track").filter(|t| valid_id(t))?;
    let quiz = e.str("quiz").filter(|q| valid_id(q))?;
    Some(Attempt {
        id: key.to_owned(),
        track,
        version: u32::try_from(e.integer("version")?).ok()?,
        quiz,
        exam,
        answers,
        started_at: Timestamp(e.int("started_at")?),
        submitted_at: Timestamp(e.int("submitted_at")?),
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainingEdit;

    fn partner() -> PartnerId {
        PartnerId::parse("p-ben").unwrap()
    }

    fn exam(id: &str) -> Attempt {
        Attempt {
            id: id.into(),
            track: "selling".into(),
            version: 2,
            quiz: "final".into(),
            exam: true,
            answers: vec![
                ("q1".into(), vec!["a".into()]),
                ("q2".into(), vec!["b".into(), "c".into()]),
                ("q3".into(), vec![]),
            ],
            started_at: Timestamp(1000),
            submitted_at: Timestamp(2000),
            score: None,
        }
    }

    #[test]
    fn what_is_written_reads_back_and_shows_the_same_at_once() {
        let mut doc = TrainingDoc::create(&partner()).unwrap();
        let edits = [
            TrainingEdit::Complete {
                track: "selling".into(),
                module: "intro".into(),
                lesson: "welcome".into(),
                at: Timestamp(500),
            },
            TrainingEdit::Submit {
                attempt: exam("att-1"),
            },
        ];
        let mut shown = TrainingDoc::read(&doc).unwrap();
        for edit in &edits {
            edit.apply(&mut doc).unwrap();
            shown.shown_with(edit);
        }
        let read = TrainingDoc::read(&doc).unwrap();
        assert_eq!(read, shown);
        assert_eq!(read.partner_id, Some(partner()));
        assert_eq!(read.attempts, vec![exam("att-1")]);
        assert!(read.completed("selling", "welcome"));
        assert!(!read.completed("selling", "other"));
    }

    #[test]
    fn a_lesson_stays_completed_at_its_first_time_and_an_attempt_is_never_rewritten() {
        let mut doc = TrainingDoc::create(&partner()).unwrap();
        TrainingDoc::complete(&mut doc, "t", "m", "l", Timestamp(1)).unwrap();
        TrainingDoc::complete(&mut doc, "t", "m", "l", Timestamp(9)).unwrap();
        assert_eq!(
            TrainingDoc::read(&doc).unwrap().lessons[0].completed_at,
            Timestamp(1)
        );
        TrainingDoc::submit(&mut doc, &exam("a")).unwrap();
        let mut changed = exam("a");
        changed.answers[0].1 = vec!["z".into()];
        assert!(TrainingDoc::submit(&mut doc, &changed).is_err());
        assert_eq!(TrainingDoc::read(&doc).unwrap().attempts, vec![exam("a")]);
    }

    #[test]
    fn hostile_edits_are_refused_before_they_reach_the_document() {
        let mut doc = TrainingDoc::create(&partner()).unwrap();
        let before = doc.get_heads();
        let mut bad = vec![];
        let mut a = exam("../x");
        bad.push(TrainingEdit::Submit { attempt: a.clone() });
        a.id = "ok".into();
        a.answers = (0..=limits::ANSWERS)
            .map(|i| (format!("q{i}"), vec![]))
            .collect();
        bad.push(TrainingEdit::Submit { attempt: a.clone() });
        a.answers = vec![("q".into(), vec!["a,b".into()])];
        bad.push(TrainingEdit::Submit { attempt: a.clone() });
        a.answers = vec![];
        a.score = Some(80);
        bad.push(TrainingEdit::Submit { attempt: a.clone() });
        a.exam = false;
        a.score = Some(101);
        bad.push(TrainingEdit::Submit { attempt: a });
        bad.push(TrainingEdit::Complete {
            track: "T".into(),
            module: "m".into(),
            lesson: "l".into(),
            at: Timestamp(0),
        });
        bad.push(TrainingEdit::Complete {
            track: "t".into(),
            module: "m".into(),
            lesson: "x".repeat(65),
            at: Timestamp(0),
        });
        for edit in bad {
            assert!(edit.apply(&mut doc).is_err(), "{edit:?} was written");
        }
        assert_eq!(doc.get_heads(), before);
    }

    #[test]
    fn entries_written_by_something_else_are_named_not_read() {
        let mut doc = TrainingDoc::create(&partner()).unwrap();
        TrainingDoc::submit(&mut doc, &exam("good")).unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let (_, attempts) = tx.get(ROOT, "attempts")?.unwrap();
            let e = tx.put_object(&attempts, "bad", ObjType::Map)?;
            tx.put(&e, "kind", "exam")?;
            tx.put(&e, "score", 300u64)?;
            let (_, lessons) = tx.get(ROOT, "lessons")?.unwrap();
            tx.put(&lessons, "no-slash", "x")?;
            Ok(())
        })
        .unwrap();
        let read = TrainingDoc::read(&doc).unwrap();
        assert_eq!(read.attempts.len(), 1);
        assert_eq!(read.unreadable, vec!["lessons/no-slash", "attempts/bad"]);
    }
}
