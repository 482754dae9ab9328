//! Where a partner stands in training, for their account view: the
//! modules they completed (every lesson of the module, in its latest
//! published version), what the server made of their exams, and the
//! modules they were asked to complete.
//!
//! Each is read for a batch of partners in one query (the account views
//! refresh partners in batches); the one-partner forms are the batch of
//! one, so the two can never disagree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use model::{Assignment, ExamOutcome, ModuleDone, Timestamp};
use sqlx::PgPool;

use crate::grouped;

/// The most exams a partner's view lists, newest first.
const EXAMS_SHOWN: i64 = 100;

/// What a batch of one says of its partner.
fn one<T>(mut of: HashMap<String, Vec<T>>, partner: &str) -> Vec<T> {
    of.remove(partner).unwrap_or_default()
}

/// The modules `partner` completed, oldest first.
pub async fn modules_done(pool: &PgPool, partner: &str) -> Result<Vec<ModuleDone>, sqlx::Error> {
    Ok(one(
        modules_done_of(pool, &[partner.to_owned()]).await?,
        partner,
    ))
}

/// The modules each of `partners` completed, oldest first; a partner who
/// completed none is absent.
pub async fn modules_done_of(
    pool: &PgPool,
    partners: &[String],
) -> Result<HashMap<String, Vec<ModuleDone>>, sqlx::Error> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT me.id, l.track_id, l.module_id, max(p.completed_at)
         FROM unnest($1::text[]) AS me (id)
         CROSS JOIN training_lessons l
         JOIN (SELECT track_id, max(version) AS version FROM training_versions GROUP BY track_id) latest
           ON latest.track_id = l.track_id AND latest.version = l.version
         LEFT JOIN training_progress p
           ON p.partner_id = me.id AND p.track_id = l.track_id AND p.lesson_id = l.lesson_id
         GROUP BY me.id, l.track_id, l.module_id
         HAVING count(*) = count(p.lesson_id)
         ORDER BY 1, 4, 2, 3",
    )
    .bind(partners)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows.into_iter().map(
        |(partner, track, module, at)| {
            let done = ModuleDone {
                track,
                module,
                completed_at: Timestamp(at.timestamp_millis()),
            };
            (partner, done)
        },
    )))
}

/// The exams the server graded (or refused to grade) for `partner`.
pub async fn exams(pool: &PgPool, partner: &str) -> Result<Vec<ExamOutcome>, sqlx::Error> {
    Ok(one(exams_of(pool, &[partner.to_owned()]).await?, partner))
}

/// The exams graded for each of `partners`, newest first and at most
/// [`EXAMS_SHOWN`] each.
pub async fn exams_of(
    pool: &PgPool,
    partners: &[String],
) -> Result<HashMap<String, Vec<ExamOutcome>>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<i16>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT me.id, a.id, a.track_id, a.quiz_id, a.outcome, a.score_percent, a.graded_at,
                a.retry_after, a.certificate
         FROM unnest($1::text[]) AS me (id)
         CROSS JOIN LATERAL (
             SELECT a.id, a.track_id, a.quiz_id, a.outcome, a.score_percent, a.graded_at,
                    a.retry_after, c.id AS certificate
             FROM quiz_attempts a
             LEFT JOIN certificates c ON c.partner_id = a.partner_id AND c.attempt_id = a.id
             WHERE a.partner_id = me.id AND a.kind = 'exam' AND a.graded_at IS NOT NULL
             ORDER BY a.graded_at DESC, a.id LIMIT $2) a
         ORDER BY me.id, a.graded_at DESC, a.id",
    )
    .bind(partners)
    .bind(EXAMS_SHOWN)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows.into_iter().map(
        |(partner, attempt, track, quiz, outcome, score, graded_at, retry_after, certificate)| {
            let exam = ExamOutcome {
                attempt,
                track,
                quiz,
                outcome,
                score: score.map(|s| s.clamp(0, 100) as u8),
                graded_at: Timestamp(graded_at.timestamp_millis()),
                retry_after: retry_after.map(|t| Timestamp(t.timestamp_millis())),
                certificate,
            };
            (partner, exam)
        },
    )))
}

/// The modules `partner` was assigned, with who assigned each; one the
/// track's latest version dropped, or of a track they may no longer read,
/// is left out (it could never be completed).
pub async fn assignments(pool: &PgPool, partner: &str) -> Result<Vec<Assignment>, sqlx::Error> {
    Ok(one(
        assignments_of(pool, &[partner.to_owned()]).await?,
        partner,
    ))
}

/// [`assignments`] of each of `partners`.
pub async fn assignments_of(
    pool: &PgPool,
    partners: &[String],
) -> Result<HashMap<String, Vec<Assignment>>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        chrono::NaiveDate,
        String,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.partner_id, a.track_id, a.module_id, a.due_on, b.name, a.assigned_at
         FROM training_assignments a JOIN accounts b ON b.id = a.assigned_by
         JOIN training_tracks t ON t.id = a.track_id
         JOIN accounts me ON me.partner_id = a.partner_id
         WHERE a.partner_id = ANY($1)
           AND (t.audience = 'everyone' OR me.role = 'team_leader')
           AND EXISTS (SELECT 1 FROM training_lessons l
                       WHERE l.track_id = a.track_id AND l.module_id = a.module_id
                         AND l.version = (SELECT max(version) FROM training_versions v
                                           WHERE v.track_id = a.track_id))
         ORDER BY a.partner_id, a.track_id, a.module_id",
    )
    .bind(partners)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows.into_iter().map(
        |(partner, track, module, due_on, by, at)| {
            let assignment = Assignment {
                track,
                module,
                due_on: due_on.format("%Y-%m-%d").to_string(),
                assigned_by: by,
                assigned_at: Timestamp(at.timestamp_millis()),
            };
            (partner, assignment)
        },
    )))
}
