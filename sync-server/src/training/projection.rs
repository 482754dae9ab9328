//! Projection of partners' training documents: lessons completed into
//! `training_progress`, attempts into `quiz_attempts`, and each exam
//! attempt graded here, never on the device (the device never had the
//! key). A pass issues a certificate; every graded exam notifies the
//! partner, and their account view is written again (it carries the
//! results, the certificates and the modules done).
//!
//! Like the pipeline's projection, heads make it idempotent and resumable
//! (`training_projected`): at start every training document is read
//! again, and only new heads do anything. An attempt is graded once, the
//! first time it is seen (`quiz_attempts` keeps the first, by id).
//!
//! Times a device writes are its clock's; the server takes none from the
//! future: a completion or a submission is counted at the earlier of the
//! device's time and the moment the server read it. The retake policy
//! reads no device time at all: every graded attempt counts, and the wait
//! after a failure runs from when the server graded it to when it reads
//! the next attempt, so a clock set back or forward gains nothing.

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, Utc};
use model::{Attempt, TrainingDoc};
use sqlx::{PgConnection, PgPool};
use sync::DocKind;
use wire::{AttemptOutcome, NotificationKind};

use crate::{
    events::{DocumentStored, FiguresMoved, Inbox, Outbox},
    notifications::outbox::{self, Notice},
    platform::storage::load_document,
};

/// How many exam attempts a partner has, and how long after a failure
/// the next one is graded.
#[derive(Debug, Clone, Copy)]
pub struct ExamPolicy {
    pub attempts: u32,
    pub cooldown: chrono::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Unreadable(String),
}

/// Reads what `changed` names; tells `figures` whose training moved.
pub async fn run(
    pool: PgPool,
    policy: ExamPolicy,
    mut changed: Inbox<DocumentStored>,
    figures: Outbox<FiguresMoved>,
) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    loop {
        match sqlx::query_scalar::<_, String>(
            "SELECT doc_id FROM documents WHERE kind = 'training'",
        )
        .fetch_all(&pool)
        .await
        {
            Ok(all) => {
                pending.extend(all);
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "training projection cannot list documents; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    loop {
        while let Ok(DocumentStored(doc)) = changed.try_recv() {
            pending.insert(doc);
        }
        let Some(doc_id) = pending.pop_first() else {
            match changed.recv().await {
                Some(DocumentStored(doc)) => {
                    pending.insert(doc);
                    continue;
                }
                None => return,
            }
        };
        match project(&pool, &policy, &doc_id).await {
            Ok(Some(partner)) => figures.send(FiguresMoved(partner)),
            Ok(None) => {}
            Err(ProjectionError::Db(error)) => {
                tracing::warn!(%error, doc_id, "training projection failed; will retry");
                pending.insert(doc_id);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => tracing::error!(%error, doc_id, "cannot project training document"),
        }
    }
}

/// Projects one document if it is a training document whose heads moved;
/// the partner whose rows changed.
pub async fn project(
    pool: &PgPool,
    policy: &ExamPolicy,
    doc_id: &str,
) -> Result<Option<String>, ProjectionError> {
    let owner: Option<Option<String>> =
        sqlx::query_scalar("SELECT owner_id FROM documents WHERE doc_id = $1 AND kind = $2")
            .bind(doc_id)
            .bind(DocKind::Training.as_str())
            .fetch_optional(pool)
            .await?;
    let Some(Some(partner)) = owner else {
        return Ok(None);
    };
    let doc = load_document(pool, doc_id).await.map_err(|e| match e {
        crate::platform::storage::LoadError::Db(e) => ProjectionError::Db(e),
        other => ProjectionError::Unreadable(other.to_string()),
    })?;
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    let training =
        TrainingDoc::read(&doc).map_err(|e| ProjectionError::Unreadable(e.to_string()))?;
    if !training.unreadable.is_empty() {
        tracing::warn!(doc_id, entries = ?training.unreadable, "training entries that do not read were skipped");
    }
    let mut tx = pool.begin().await?;
    let projected: Option<Vec<String>> =
        sqlx::query_scalar("SELECT heads FROM training_projected WHERE doc_id = $1 FOR UPDATE")
            .bind(doc_id)
            .fetch_optional(&mut *tx)
            .await?;
    if projected.as_ref() == Some(&heads) {
        return Ok(None);
    }
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).map_or(now, |t| t.min(now));
    let mut moved = false;
    for lesson in &training.lessons {
        // Only lessons some published version has: a device cannot
        // invent progress.
        moved |= sqlx::query(
            "INSERT INTO training_progress (partner_id, track_id, lesson_id, completed_at)
             SELECT $1, $2, $3, $4
             WHERE EXISTS (SELECT 1 FROM training_lessons WHERE track_id = $2 AND lesson_id = $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(&partner)
        .bind(&lesson.track)
        .bind(&lesson.lesson)
        .bind(at(lesson.completed_at.0))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
    }
    for attempt in &training.attempts {
        let answers: serde_json::Value = attempt
            .answers
            .iter()
            .map(|(q, picks)| (q.clone(), serde_json::json!(picks)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let submitted_at = at(attempt.submitted_at.0);
        let inserted = sqlx::query(
            "INSERT INTO quiz_attempts (partner_id, id, track_id, version, quiz_id, kind, answers,
                                        started_at, submitted_at, device_score)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING",
        )
        .bind(&partner)
        .bind(&attempt.id)
        .bind(&attempt.track)
        .bind(attempt.version as i32)
        .bind(&attempt.quiz)
        .bind(if attempt.exam { "exam" } else { "practice" })
        .bind(answers)
        .bind(at(attempt.started_at.0).min(submitted_at))
        .bind(submitted_at)
        .bind(attempt.score.map(i16::from))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        moved |= inserted;
        if inserted && attempt.exam {
            grade(&mut tx, policy, &partner, attempt, now).await?;
        }
    }
    sqlx::query(
        "INSERT INTO training_projected (doc_id, heads) VALUES ($1, $2)
         ON CONFLICT (doc_id) DO UPDATE SET heads = EXCLUDED.heads",
    )
    .bind(doc_id)
    .bind(&heads)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(moved.then_some(partner))
}

/// The share of questions answered exactly right, in percent (rounded
/// down): a question of several right choices counts only when all of
/// them and nothing else were picked.
pub fn score(keys: &[(String, Vec<String>)], answers: &[(String, Vec<String>)]) -> u8 {
    if keys.is_empty() {
        return 0;
    }
    let right = keys
        .iter()
        .filter(|(question, correct)| {
            answers.iter().any(|(q, picks)| {
                let mut picks = picks.clone();
                picks.sort();
                picks.dedup();
                let mut correct = correct.clone();
                correct.sort();
                q == question && picks == correct
            })
        })
        .count();
    (right * 100 / keys.len()) as u8
}

/// Grades an exam attempt just recorded, by the retake policy, and
/// issues a certificate for a pass.
async fn grade(
    tx: &mut PgConnection,
    policy: &ExamPolicy,
    partner: &str,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let keys: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT question_id, correct FROM training_exam_keys
         WHERE track_id = $1 AND version = $2 AND quiz_id = $3 ORDER BY question_id",
    )
    .bind(&attempt.track)
    .bind(attempt.version as i32)
    .bind(&attempt.quiz)
    .fetch_all(&mut *tx)
    .await?;
    let pass_percent: Option<i32> = sqlx::query_scalar(
        "SELECT (q->>'pass_percent')::int FROM training_versions v,
                jsonb_array_elements(v.manifest->'track'->'modules') m,
                LATERAL (SELECT m->'quiz' AS q) quiz
         WHERE v.track_id = $1 AND v.version = $2 AND q->>'id' = $3",
    )
    .bind(&attempt.track)
    .bind(attempt.version as i32)
    .bind(&attempt.quiz)
    .fetch_optional(&mut *tx)
    .await?;
    // Every graded attempt counts, whenever the device says it was taken,
    // and the wait runs from when the server graded the last failure to
    // now: a device's clock, set back or forward, changes neither.
    let (graded, last_failure): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), max(graded_at) FILTER (WHERE outcome = 'failed')
         FROM quiz_attempts
         WHERE partner_id = $1 AND track_id = $2 AND quiz_id = $3 AND kind = 'exam'
           AND outcome IN ('passed', 'failed') AND id <> $4",
    )
    .bind(partner)
    .bind(&attempt.track)
    .bind(&attempt.quiz)
    .bind(&attempt.id)
    .fetch_one(&mut *tx)
    .await?;
    // Only a track published for this partner (a track for team leaders
    // is theirs alone), as the share policy gives its catalog.
    let readable: bool = sqlx::query_scalar(
        "SELECT EXISTS (
            SELECT 1 FROM training_tracks t JOIN documents d ON d.doc_id = t.doc_id
            WHERE t.id = $1 AND (d.readers IS NULL OR EXISTS (
                SELECT 1 FROM accounts a WHERE a.partner_id = $2 AND a.role = 'team_leader')))",
    )
    .bind(&attempt.track)
    .bind(partner)
    .fetch_one(&mut *tx)
    .await?;
    let retry_at = last_failure.map(|t| t + policy.cooldown);
    let (outcome, percent, retry_after) = match pass_percent {
        _ if keys.is_empty() || !readable => (AttemptOutcome::Unknown, None, None),
        None => (AttemptOutcome::Unknown, None, None),
        Some(_) if graded >= i64::from(policy.attempts) => {
            (AttemptOutcome::NoAttemptsLeft, None, None)
        }
        Some(_) if retry_at.is_some_and(|t| now < t) => (AttemptOutcome::TooSoon, None, retry_at),
        Some(pass) => {
            let percent = score(&keys, &attempt.answers);
            let outcome = if i32::from(percent) >= pass {
                AttemptOutcome::Passed
            } else {
                AttemptOutcome::Failed
            };
            let retry_after = (outcome == AttemptOutcome::Failed).then(|| now + policy.cooldown);
            (outcome, Some(percent), retry_after)
        }
    };
    sqlx::query(
        "UPDATE quiz_attempts SET outcome = $3, score_percent = $4, graded_at = $5, retry_after = $6
         WHERE partner_id = $1 AND id = $2",
    )
    .bind(partner)
    .bind(&attempt.id)
    .bind(outcome.as_str())
    .bind(percent.map(i16::from))
    .bind(now)
    .bind(retry_after)
    .execute(&mut *tx)
    .await?;
    let (track_title, account_id, recipient): (String, Option<String>, String) = sqlx::query_as(
        "SELECT coalesce((SELECT manifest->'track'->>'title' FROM training_versions
                          WHERE track_id = $2 AND version = $3), $2),
                (SELECT id FROM accounts WHERE partner_id = $1 ORDER BY created_at LIMIT 1),
                (SELECT coalesce(nullif(a.name, ''), p.name) FROM partners p
                 LEFT JOIN accounts a ON a.partner_id = p.id WHERE p.id = $1 LIMIT 1)",
    )
    .bind(partner)
    .bind(&attempt.track)
    .bind(attempt.version as i32)
    .fetch_one(&mut *tx)
    .await?;
    if outcome == AttemptOutcome::Passed {
        let id = super::certificates::new_id();
        sqlx::query(
            "INSERT INTO certificates (id, partner_id, attempt_id, track_id, version, quiz_id,
                                       recipient, track_title, score_percent, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(partner)
        .bind(&attempt.id)
        .bind(&attempt.track)
        .bind(attempt.version as i32)
        .bind(&attempt.quiz)
        .bind(&recipient)
        .bind(&track_title)
        .bind(percent.map(i16::from))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tracing::info!(
        partner,
        attempt = attempt.id,
        outcome = outcome.as_str(),
        ?percent,
        "exam graded"
    );
    if let Some(account_id) = account_id {
        let (title, body) = match (outcome, percent) {
            (AttemptOutcome::Passed, Some(p)) => (
                format!("Certified: {track_title}"),
                format!("You passed with {p}%. Your certificate is ready."),
            ),
            (AttemptOutcome::Failed, Some(p)) => (
                format!("Exam not passed: {track_title}"),
                format!("You scored {p}%. You can try again after the waiting time."),
            ),
            _ => (
                format!("Exam not graded: {track_title}"),
                "This attempt could not be graded; open Training to see why.".to_owned(),
            ),
        };
        outbox::enqueue(
            tx,
            &Notice {
                account_id,
                kind: NotificationKind::ExamGraded,
                dedupe_key: format!("exam:{partner}:{}", attempt.id),
                title,
                body,
                screen: format!("#training-{}", attempt.track),
                topic: None,
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, picks: &[&str]) -> (String, Vec<String>) {
        (id.into(), picks.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn a_question_counts_only_when_exactly_right() {
        let keys = [q("1", &["a"]), q("2", &["b", "c"]), q("3", &["d"])];
        assert_eq!(
            score(
                &keys,
                &[q("1", &["a"]), q("2", &["c", "b"]), q("3", &["d"])]
            ),
            100
        );
        assert_eq!(
            score(&keys, &[q("1", &["a"]), q("2", &["b"]), q("3", &["d"])]),
            66
        );
        assert_eq!(score(&keys, &[q("1", &["a", "b"])]), 0);
        assert_eq!(score(&keys, &[q("1", &["a", "a"]), q("9", &["d"])]), 33);
        assert_eq!(score(&keys, &[]), 0);
        assert_eq!(score(&[], &[q("1", &["a"])]), 0);
    }
}
