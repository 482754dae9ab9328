//! Authoring and publishing tracks (admins): a draft is a whole
//! `wire::Track`, checked as it is saved; publishing freezes it as the
//! next version, keeps exam keys apart, and writes the version partners
//! read into the track's catalog document.

use std::collections::HashSet;

use axum::{
    Json,
    extract::{Path, Query, State},
};
use chrono::{DateTime, Utc};
use model::{Catalog, CatalogDoc, Timestamp, valid_id};
use sqlx::PgConnection;
use sync::DocKind;
use wire::{
    Audience, MediaKind, Publication, Published, QuizKind, Track, TrackDraft, TrackSummary,
};

use super::TrainingState;
use crate::{
    http::{
        error::AppError,
        extract::{ApiJson, Lines, plain_text},
        session::Authenticated,
    },
    platform::{server_docs, storage},
};

/// Bounds on a track, so one draft cannot be a denial of service.
pub mod bounds {
    pub const MODULES: usize = 50;
    pub const LESSONS: usize = 50;
    pub const QUESTIONS: usize = 100;
    pub const CHOICES: usize = 10;
    pub const TITLE: usize = 120;
    pub const SUMMARY: usize = 1_000;
    pub const BODY: usize = 50_000;
    pub const PROMPT: usize = 1_000;
    pub const CHOICE: usize = 300;
}

fn bad(message: String) -> AppError {
    AppError::BadRequest(message)
}

/// A text of at most `max` characters (1 at least unless `empty_ok`),
/// trimmed, with no control characters but line breaks where `lines`.
fn text(
    value: &str,
    what: &str,
    field: &str,
    max: usize,
    empty_ok: bool,
    lines: Lines,
) -> Result<String, AppError> {
    let value = value.trim();
    if (!empty_ok && value.is_empty()) || value.chars().count() > max {
        let least = if empty_ok { 0 } else { 1 };
        return Err(bad(format!(
            "{what} needs a {field} of {least} to {max} characters"
        )));
    }
    plain_text(value, what, field, lines)?;
    Ok(value.to_owned())
}

fn id_of(id: &str, what: &str) -> Result<(), AppError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} has the id {id:?}: ids are 1 to 64 of a-z, 0-9, - and _"
        )))
    }
}

/// The track as it may be stored: texts trimmed, every id unique where it
/// must be, every quiz answerable, every file a blob that was uploaded as
/// what it claims to be.
async fn checked(conn: &mut PgConnection, mut track: Track) -> Result<Track, AppError> {
    let t = format!("track {:?}", track.id);
    track.channel = text(&track.channel, &t, "channel", 60, false, Lines::One)?;
    track.title = text(&track.title, &t, "title", bounds::TITLE, false, Lines::One)?;
    track.summary = text(
        &track.summary,
        &t,
        "summary",
        bounds::SUMMARY,
        true,
        Lines::Many,
    )?;
    if track.modules.is_empty() || track.modules.len() > bounds::MODULES {
        return Err(bad(format!("{t} needs 1 to {} modules", bounds::MODULES)));
    }
    let mut ids: HashSet<String> = HashSet::new();
    let mut unique = |id: &str, what: &str| -> Result<(), AppError> {
        id_of(id, what)?;
        if ids.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(bad(format!(
                "{what}: the id {id:?} is used twice in the track"
            )))
        }
    };
    let mut media = Vec::new();
    for module in &mut track.modules {
        let m = format!("module {:?}", module.id);
        unique(&module.id, &m)?;
        module.title = text(&module.title, &m, "title", bounds::TITLE, false, Lines::One)?;
        module.summary = text(
            &module.summary,
            &m,
            "summary",
            bounds::SUMMARY,
            true,
            Lines::Many,
        )?;
        if module.minutes == 0 || module.minutes > 600 {
            return Err(bad(format!("{m} needs minutes of 1 to 600")));
        }
        if module.lessons.is_empty() || module.lessons.len() > bounds::LESSONS {
            return Err(bad(format!("{m} needs 1 to {} lessons", bounds::LESSONS)));
        }
        for lesson in &mut module.lessons {
            let l = format!("lesson {:?}", lesson.id);
            unique(&lesson.id, &l)?;
            lesson.title = text(&lesson.title, &l, "title", bounds::TITLE, false, Lines::One)?;
            lesson.body = text(&lesson.body, &l, "body", bounds::BODY, true, Lines::Many)?;
            if let Some(file) = &mut lesson.media {
                file.caption = text(&file.caption, &l, "caption", 300, true, Lines::One)?;
                media.push((l, file.clone()));
            } else if lesson.body.is_empty() {
                return Err(bad(format!("{l} needs a body or a file")));
            }
        }
        if let Some(quiz) = &mut module.quiz {
            let q = format!("quiz {:?}", quiz.id);
            unique(&quiz.id, &q)?;
            quiz.title = text(&quiz.title, &q, "title", bounds::TITLE, false, Lines::One)?;
            if !(1..=100).contains(&quiz.pass_percent) {
                return Err(bad(format!("{q} needs a pass_percent of 1 to 100")));
            }
            if quiz.questions.is_empty() || quiz.questions.len() > bounds::QUESTIONS {
                return Err(bad(format!(
                    "{q} needs 1 to {} questions",
                    bounds::QUESTIONS
                )));
            }
            let mut questions = HashSet::new();
            for question in &mut quiz.questions {
                let qq = format!("{q}, question {:?}", question.id);
                id_of(&question.id, &qq)?;
                if !questions.insert(question.id.clone()) {
                    return Err(bad(format!("{qq} is there twice")));
                }
                question.prompt = text(
                    &question.prompt,
                    &qq,
                    "prompt",
                    bounds::PROMPT,
                    false,
                    Lines::Many,
                )?;
                if let Some(why) = &question.explanation {
                    let why = text(why, &qq, "explanation", bounds::PROMPT, true, Lines::Many)?;
                    question.explanation = (!why.is_empty()).then_some(why);
                }
                if question.choices.len() < 2 || question.choices.len() > bounds::CHOICES {
                    return Err(bad(format!("{qq} needs 2 to {} choices", bounds::CHOICES)));
                }
                let mut choices = HashSet::new();
                for choice in &mut question.choices {
                    id_of(&choice.id, &qq)?;
                    if !choices.insert(choice.id.clone()) {
                        return Err(bad(format!("{qq} has the choice {:?} twice", choice.id)));
                    }
                    choice.text = text(
                        &choice.text,
                        &qq,
                        "choice",
                        bounds::CHOICE,
                        false,
                        Lines::One,
                    )?;
                }
                question.correct.sort();
                question.correct.dedup();
                if question.correct.is_empty()
                    || question.correct.iter().any(|c| !choices.contains(c))
                {
                    return Err(bad(format!(
                        "{qq} needs its right answers among its choices"
                    )));
                }
                if !question.multiple && question.correct.len() != 1 {
                    return Err(bad(format!(
                        "{qq} takes one answer, so exactly one is right"
                    )));
                }
            }
        }
    }
    for (l, file) in media {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT bytes, content_type FROM blobs WHERE sha256 = $1")
                .bind(&file.sha256)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((bytes, content_type)) = row else {
            return Err(bad(format!("{l} names a file that was not uploaded")));
        };
        let kind_fits = match file.kind {
            MediaKind::Video => content_type.starts_with("video/"),
            MediaKind::Audio => content_type.starts_with("audio/"),
            MediaKind::Image => content_type.starts_with("image/"),
            MediaKind::Pdf => content_type == "application/pdf",
        };
        if bytes as u64 != file.bytes || content_type != file.content_type || !kind_fits {
            return Err(bad(format!(
                "{l}'s file was uploaded as {content_type} of {bytes} bytes"
            )));
        }
    }
    Ok(track)
}

/// What partners read of a version: every exam's keys and explanations
/// taken out. Practice quizzes keep theirs (graded on the device).
pub fn for_partners(track: &Track) -> Track {
    let mut track = track.clone();
    for quiz in track.modules.iter_mut().filter_map(|m| m.quiz.as_mut()) {
        if quiz.kind == QuizKind::Exam {
            for question in &mut quiz.questions {
                question.correct.clear();
                question.explanation = None;
            }
        }
    }
    track
}

/// A track's draft, when it was saved, and its latest version.
type SummaryRow = (
    sqlx::types::Json<Track>,
    DateTime<Utc>,
    Option<i32>,
    Option<DateTime<Utc>>,
    Option<sqlx::types::Json<Published>>,
);

/// `GET /api/admin/training/tracks`.
pub async fn list(
    State(state): State<TrainingState>,
    who: Authenticated,
) -> Result<Json<Vec<TrackSummary<DateTime<Utc>>>>, AppError> {
    who.require_admin()?;
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT t.draft, t.updated_at, v.version, v.published_at, v.manifest
             FROM training_tracks t
             LEFT JOIN LATERAL (SELECT version, published_at, manifest FROM training_versions
                                WHERE track_id = t.id ORDER BY version DESC LIMIT 1) v ON true
             ORDER BY t.draft->>'channel', t.draft->>'title'",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(draft, updated_at, version, published_at, manifest)| {
                let track = draft.0;
                let unpublished_changes =
                    manifest.is_none_or(|published| published.0.track != for_partners(&track));
                TrackSummary {
                    id: track.id.clone(),
                    channel: track.channel.clone(),
                    title: track.title.clone(),
                    audience: track.audience,
                    modules: track.modules.len() as u32,
                    updated_at,
                    published_version: version.map(|v| v as u32),
                    published_at,
                    unpublished_changes,
                }
            })
            .collect(),
    ))
}

fn track_id(id: &str) -> Result<&str, AppError> {
    let shaped = !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if shaped {
        Ok(id)
    } else {
        Err(AppError::NotFound)
    }
}

/// `GET /api/admin/training/tracks/{id}`.
pub async fn get(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<TrackDraft<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    Ok(Json(
        draft_of(&state, track_id(&id)?)
            .await?
            .ok_or(AppError::NotFound)?,
    ))
}

/// The draft of the track `id`, with its latest published version.
async fn draft_of(
    state: &TrainingState,
    id: &str,
) -> Result<Option<TrackDraft<DateTime<Utc>>>, AppError> {
    type Row = (
        sqlx::types::Json<Track>,
        DateTime<Utc>,
        Option<i32>,
        Option<sqlx::types::Json<Published>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT t.draft, t.updated_at, v.version, v.manifest
         FROM training_tracks t
         LEFT JOIN LATERAL (SELECT version, manifest FROM training_versions
                            WHERE track_id = t.id ORDER BY version DESC LIMIT 1) v ON true
         WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    Ok(
        row.map(|(draft, updated_at, version, published)| TrackDraft {
            track: draft.0,
            updated_at,
            published_version: version.map(|v| v as u32),
            published: published.map(|p| p.0.track),
        }),
    )
}

/// What a save may overwrite (`PUT ...?new=true`, `?base=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Expect {
    /// Make the track; an id taken is refused.
    #[serde(default)]
    pub new: bool,
    /// Save over this draft only (its `updated_at`).
    pub base: Option<DateTime<Utc>>,
}

/// `PUT /api/admin/training/tracks/{id}`: saves the draft (made if new).
pub async fn put(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
    Query(expect): Query<Expect>,
    ApiJson(track): ApiJson<Track>,
) -> Result<Json<TrackDraft<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    save(&state, &id, track, &who.account_id, &expect)
        .await
        .map(Json)
}

/// Saves `track` as the draft of the track `id`, by the admin `by`, over
/// what `expect` says it may.
pub async fn save(
    state: &TrainingState,
    id: &str,
    track: Track,
    by: &str,
    expect: &Expect,
) -> Result<TrackDraft<DateTime<Utc>>, AppError> {
    if track_id(id).is_err() {
        return Err(bad(
            "a track id is 1 to 40 of a-z, 0-9 and -, not starting with -".to_owned(),
        ));
    }
    if track.id != id {
        return Err(bad(format!(
            "the track's id is {:?}, but the address names {id:?}",
            track.id
        )));
    }
    let mut conn = state.pool.acquire().await?;
    let track = checked(&mut conn, track).await?;
    // A new track takes no id taken; a save from a draft read earlier
    // writes over that draft only.
    let saved: Option<DateTime<Utc>> = sqlx::query_scalar(
        "INSERT INTO training_tracks (id, draft, audience, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE
            SET draft = EXCLUDED.draft, audience = EXCLUDED.audience,
                updated_by = EXCLUDED.updated_by, updated_at = now()
            WHERE NOT $5 AND ($6::timestamptz IS NULL OR training_tracks.updated_at = $6)
         RETURNING updated_at",
    )
    .bind(&track.id)
    .bind(sqlx::types::Json(&track))
    .bind(track.audience.as_str())
    .bind(by)
    .bind(expect.new)
    .bind(expect.base)
    .fetch_optional(&mut *conn)
    .await?;
    drop(conn);
    if saved.is_none() {
        let current = draft_of(state, id).await?;
        return Err(if expect.new {
            AppError::Conflict(format!(
                "a track with the id {id:?} exists already: give this one another id"
            ))
        } else {
            AppError::Stale {
                message: "another admin saved this track since you opened it: what you typed is kept here; look at theirs, then save again".to_owned(),
                current: serde_json::to_value(current).map_err(|e| AppError::Internal(e.into()))?,
            }
        });
    }
    draft_of(state, id).await?.ok_or(AppError::NotFound)
}

/// `POST /api/admin/training/tracks/{id}/publish`: the draft becomes the
/// next version, and partners' devices get it with their next sync.
pub async fn publish(
    State(state): State<TrainingState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Publication<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    publish_track(&state, &id, &who.account_id).await.map(Json)
}

/// Publishes the draft of the track `id` as its next version, by `by`.
pub async fn publish_track(
    state: &TrainingState,
    id: &str,
    by: &str,
) -> Result<Publication<DateTime<Utc>>, AppError> {
    let mut tx = state.pool.begin().await?;
    let row: Option<(sqlx::types::Json<Track>, Option<String>)> =
        sqlx::query_as("SELECT draft, doc_id FROM training_tracks WHERE id = $1 FOR UPDATE")
            .bind(track_id(id)?)
            .fetch_optional(&mut *tx)
            .await?;
    let (draft, doc_id) = row.ok_or(AppError::NotFound)?;
    // Checked again: a blob may be gone, a rule tightened since saving.
    let track = checked(&mut tx, draft.0).await?;
    let version: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(version), 0) + 1 FROM training_versions WHERE track_id = $1",
    )
    .bind(&track.id)
    .fetch_one(&mut *tx)
    .await?;
    let published = Published {
        version: version as u32,
        track: for_partners(&track),
    };
    let published_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO training_versions (track_id, version, manifest, published_by)
         VALUES ($1, $2, $3, $4) RETURNING published_at",
    )
    .bind(&track.id)
    .bind(version)
    .bind(sqlx::types::Json(&published))
    .bind(by)
    .fetch_one(&mut *tx)
    .await?;
    for module in &track.modules {
        for lesson in &module.lessons {
            sqlx::query(
                "INSERT INTO training_lessons (track_id, version, module_id, lesson_id)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&track.id)
            .bind(version)
            .bind(&module.id)
            .bind(&lesson.id)
            .execute(&mut *tx)
            .await?;
            if let Some(file) = &lesson.media {
                sqlx::query(
                    "INSERT INTO training_version_blobs (track_id, version, sha256)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(&track.id)
                .bind(version)
                .bind(&file.sha256)
                .execute(&mut *tx)
                .await?;
            }
        }
        if let Some(quiz) = module.quiz.as_ref().filter(|q| q.kind == QuizKind::Exam) {
            for question in &quiz.questions {
                sqlx::query(
                    "INSERT INTO training_exam_keys (track_id, version, quiz_id, question_id, correct)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&track.id)
                .bind(version)
                .bind(&quiz.id)
                .bind(&question.id)
                .bind(&question.correct)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    let catalog = catalog_of(&published, published_at)?;
    let readers = (track.audience == Audience::TeamLeaders).then_some("team_leaders");
    let (doc_id, existing) = match doc_id {
        Some(doc_id) => {
            sqlx::query("UPDATE documents SET readers = $2 WHERE doc_id = $1")
                .bind(&doc_id)
                .bind(readers)
                .execute(&mut *tx)
                .await?;
            (doc_id, true)
        }
        None => {
            let mut doc = automerge::Automerge::new();
            CatalogDoc::write(&mut doc, &catalog).map_err(|e| AppError::Internal(e.into()))?;
            let doc_id = storage::insert_new_document(&mut tx, &doc)
                .await
                .map_err(AppError::Internal)?
                .to_string();
            sqlx::query(
                "INSERT INTO documents (doc_id, kind, owner_id, readers) VALUES ($1, $2, NULL, $3)",
            )
            .bind(&doc_id)
            .bind(DocKind::Catalog.as_str())
            .bind(readers)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE training_tracks SET doc_id = $2 WHERE id = $1")
                .bind(&track.id)
                .bind(&doc_id)
                .execute(&mut *tx)
                .await?;
            (doc_id, false)
        }
    };
    tx.commit().await?;
    if existing {
        write_catalog(state, &doc_id, &catalog).await?;
    }
    // What counts as done, and which assignments can be done, follows the
    // latest version: the account views of those it concerns are written
    // again.
    let concerned: Vec<String> = sqlx::query_scalar(
        "SELECT partner_id FROM training_progress WHERE track_id = $1
         UNION SELECT partner_id FROM training_assignments WHERE track_id = $1",
    )
    .bind(&track.id)
    .fetch_all(&state.pool)
    .await?;
    for partner in concerned {
        state.figures.send(crate::events::FiguresMoved(partner));
    }
    tracing::info!(
        track = track.id,
        version,
        doc_id,
        "training track published"
    );
    Ok(Publication {
        track_id: track.id,
        version: version as u32,
        published_at,
        doc_id,
    })
}

fn catalog_of(published: &Published, at: DateTime<Utc>) -> Result<Catalog, AppError> {
    Ok(Catalog {
        track_id: published.track.id.clone(),
        version: published.version,
        published_at: Timestamp(at.timestamp_millis()),
        manifest: serde_json::to_string(published).map_err(|e| AppError::Internal(e.into()))?,
    })
}

/// Writes `catalog` into the document `doc_id`, outside every repo.
async fn write_catalog(
    state: &TrainingState,
    doc_id: &str,
    catalog: &Catalog,
) -> Result<(), AppError> {
    let mut doc = storage::load_document(&state.pool, doc_id)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let before = doc.get_heads();
    CatalogDoc::write(&mut doc, catalog).map_err(|e| AppError::Internal(e.into()))?;
    server_docs::store_changes_since(&state.residency, doc_id, &doc, &before)
        .await
        .map(drop)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// At start: every catalog document holds its track's latest version (a
/// publication whose document write was cut short is finished here).
pub async fn refresh_catalogs(state: &TrainingState) -> Result<(), AppError> {
    let rows: Vec<(String, sqlx::types::Json<Published>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT t.doc_id, v.manifest, v.published_at FROM training_tracks t
         JOIN LATERAL (SELECT manifest, published_at FROM training_versions
                       WHERE track_id = t.id ORDER BY version DESC LIMIT 1) v ON true
         WHERE t.doc_id IS NOT NULL",
    )
    .fetch_all(&state.pool)
    .await?;
    for (doc_id, published, at) in rows {
        write_catalog(state, &doc_id, &catalog_of(&published.0, at)?).await?;
    }
    Ok(())
}
