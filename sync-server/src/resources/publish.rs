//! Admins publish into the library: a file uploaded first (resumably,
//! `POST /api/admin/blobs/uploads`, as training's), then named, described
//! and put in a category, new or not. What the file is decides what the
//! resource is; an SVG is a template, checked for slots and drawn once
//! before it is published, so no partner meets a copy that cannot be made.

use axum::{Json, extract::State, http::StatusCode};
use wire::{NewResource, PublishedResource};

use super::{ResourcesState, cobrand};
use crate::{
    http::{error::AppError, extract::ApiJson, session::Authenticated},
    platform::blobs::BlobId,
};

/// What the library makes of a file of this type.
fn kind_of(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "image/png" | "image/jpeg" | "image/webp" => "image",
        "application/pdf" => "pdf",
        "video/mp4" => "video",
        "image/svg+xml" => "template",
        _ => return None,
    })
}

/// An id for a title: its ASCII letters and digits, lower case, words
/// joined by `-`, at most 40 (the schema's shape, with room for a suffix).
fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if slug.len() >= 40 {
                break;
            }
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "resource".to_owned()
    } else {
        slug.to_owned()
    }
}

/// `text` trimmed, refused when empty or longer than `max` characters, or
/// holding control characters (a name goes into headers and files).
fn field(what: &str, text: &str, max: usize, empty_ok: bool) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() && !empty_ok {
        return Err(AppError::BadRequest(format!("the {what} is empty")));
    }
    if text.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "the {what} is at most {max} characters"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::BadRequest(format!(
            "the {what} holds control characters"
        )));
    }
    Ok(text.to_owned())
}

/// `POST /api/admin/resources`.
pub async fn publish(
    State(state): State<ResourcesState>,
    who: Authenticated,
    ApiJson(new): ApiJson<NewResource>,
) -> Result<(StatusCode, Json<PublishedResource>), AppError> {
    who.require_admin()?;
    let title = field("title", &new.title, 120, false)?;
    let description = field("description", &new.description, 1000, true)?;
    let category = field("category", &new.category, 60, false)?;
    let file_name = field("file name", &new.file_name, 200, false)?.replace(['/', '\\', '\n'], "-");
    let blob = BlobId::parse(&new.sha256).ok_or_else(|| {
        AppError::BadRequest("sha256 must be 64 lower-case hex digits".to_owned())
    })?;
    let kept: Option<(i64, String)> =
        sqlx::query_as("SELECT bytes, content_type FROM blobs WHERE sha256 = $1")
            .bind(blob.hex())
            .fetch_optional(&state.pool)
            .await?;
    let (bytes, content_type) = kept.ok_or_else(|| {
        AppError::BadRequest("no such file: upload it first, then publish it".to_owned())
    })?;
    let kind = kind_of(&content_type).ok_or_else(|| {
        AppError::BadRequest(format!(
            "a {content_type} file is not published: the library takes PNG, JPEG or WebP images, PDFs, MP4 videos and SVG templates"
        ))
    })?;
    if kind == "template" {
        let svg = state
            .blobs
            .read_all(&blob)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        // Drawing takes a core: not on the runtime's threads.
        tokio::task::spawn_blocking(move || cobrand::check_template(&svg))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(AppError::BadRequest)?;
    }

    let mut tx = state.pool.begin().await?;
    // One writer of categories and positions at a time: two admins
    // publishing into a new category make it once.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('resources/publish'))")
        .execute(&mut *tx)
        .await?;
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM resource_categories WHERE lower(name) = lower($1)")
            .bind(&category)
            .fetch_optional(&mut *tx)
            .await?;
    let category_id = match existing {
        Some(id) => id,
        None => {
            let id = free_id(&mut tx, "resource_categories", &slug(&category)).await?;
            sqlx::query(
                "INSERT INTO resource_categories (id, name, position)
                 SELECT $1, $2, COALESCE(max(position) + 1, 0) FROM resource_categories",
            )
            .bind(&id)
            .bind(&category)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let id = free_id(&mut tx, "resources", &slug(&title)).await?;
    sqlx::query(
        "INSERT INTO resources (id, category_id, title, description, kind, sha256, content_type,
                                bytes, file_name, position)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE(max(position) + 1, 0)
         FROM resources WHERE category_id = $2",
    )
    .bind(&id)
    .bind(&category_id)
    .bind(&title)
    .bind(&description)
    .bind(kind)
    .bind(blob.hex())
    .bind(&content_type)
    .bind(bytes)
    .bind(&file_name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PublishedResource {
            id,
            kind: kind.to_owned(),
            category_id,
        }),
    ))
}

/// `base`, or `base-2`, `base-3`... whichever `table` has no row of.
async fn free_id(
    tx: &mut sqlx::PgConnection,
    table: &'static str,
    base: &str,
) -> Result<String, sqlx::Error> {
    let taken: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE id = $1 OR id LIKE $1 || '-%'"
    ))
    .bind(base)
    .fetch_all(&mut *tx)
    .await?;
    Ok((1..)
        .map(|n| {
            if n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|id| !taken.contains(id))
        .unwrap_or_else(|| base.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_titles_words_in_the_schemas_shape() {
        assert_eq!(slug("Card terminal flyer"), "card-terminal-flyer");
        assert_eq!(slug("  Été 2026: A4 / PDF!  "), "t-2026-a4-pdf");
        assert_eq!(slug("***"), "resource");
        assert_eq!(slug(&"x".repeat(100)).len(), 40);
    }

    #[test]
    fn a_files_type_makes_its_kind() {
        assert_eq!(kind_of("image/svg+xml"), Some("template"));
        assert_eq!(kind_of("application/pdf"), Some("pdf"));
        assert_eq!(kind_of("text/html"), None);
    }
}
