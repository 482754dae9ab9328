//! The library: loaded from a directory (`--seed-resources`,
//! `fixtures/resources`: `catalog.json` and its files; a `.typ` file is
//! laid out into a PDF by the certificates' engine as it is loaded),
//! listed by category, and each asset served as published.

use std::path::Path;

use anyhow::Context;
use axum::{
    Json,
    extract::{Path as UrlPath, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use sqlx::PgPool;
use wire::{CobrandedCopies, Library, ResourceCategory, ResourceEntry};

use super::ResourcesState;
use crate::{
    http::{error::AppError, session::Authenticated},
    platform::{
        blob_http::serve_blob,
        blobs::{BlobId, BlobStore},
        pdf,
    },
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    categories: Vec<CategoryFixture>,
    resources: Vec<ResourceFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFixture {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceFixture {
    id: String,
    category: String,
    title: String,
    description: String,
    kind: String,
    file: String,
}

/// What a file of the library is, by its extension.
fn content_type(name: &str) -> Option<&'static str> {
    Some(
        match name.rsplit_once('.')?.1.to_ascii_lowercase().as_str() {
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "pdf" | "typ" => "application/pdf",
            "mp4" => "video/mp4",
            _ => return None,
        },
    )
}

/// Loads `dir/catalog.json`; resources there are written as the file says.
pub async fn load(pool: &PgPool, blobs: &BlobStore, dir: &Path) -> anyhow::Result<usize> {
    let text = tokio::fs::read_to_string(dir.join("catalog.json")).await?;
    let file: CatalogFile = serde_json::from_str(&text).context("parsing catalog.json")?;
    let mut tx = pool.begin().await?;
    for (position, c) in file.categories.iter().enumerate() {
        sqlx::query(
            "INSERT INTO resource_categories (id, name, position) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = $2, position = $3",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(position as i32)
        .execute(&mut *tx)
        .await?;
    }
    for (position, r) in file.resources.iter().enumerate() {
        if r.file.contains('/') || r.file.starts_with('.') {
            anyhow::bail!("{}: {:?} is not a file of the directory", r.id, r.file);
        }
        let kind_type =
            content_type(&r.file).with_context(|| format!("{}: no type for {}", r.id, r.file))?;
        let mut bytes = tokio::fs::read(dir.join(&r.file))
            .await
            .with_context(|| format!("{}: reading {}", r.id, r.file))?;
        let mut name = r.file.clone();
        if let Some(stem) = r.file.strip_suffix(".typ") {
            // A brochure written as typst: laid out once, at a fixed date,
            // so every load makes the same bytes.
            let source = String::from_utf8(bytes).context("a .typ file is text")?;
            let at = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("a date");
            bytes =
                tokio::task::spawn_blocking(move || pdf::render_now(&source, &[], at, "resource"))
                    .await??;
            name = format!("{stem}.pdf");
        }
        let size = bytes.len() as i64;
        let id = blobs.put(bytes.into()).await?;
        sqlx::query(
            "INSERT INTO resources (id, category_id, title, description, kind, sha256, content_type,
                                    bytes, file_name, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET category_id = $2, title = $3, description = $4,
                 kind = $5, sha256 = $6, content_type = $7, bytes = $8, file_name = $9,
                 position = $10",
        )
        .bind(&r.id)
        .bind(&r.category)
        .bind(&r.title)
        .bind(&r.description)
        .bind(&r.kind)
        .bind(id.hex())
        .bind(kind_type)
        .bind(size)
        .bind(&name)
        .bind(position as i32)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("resource {}", r.id))?;
    }
    tx.commit().await?;
    Ok(file.resources.len())
}

#[derive(sqlx::FromRow)]
struct Row {
    category_id: String,
    category_name: String,
    id: String,
    title: String,
    description: String,
    kind: String,
    content_type: String,
    bytes: i64,
    sha256: String,
}

/// `GET /api/resources`.
pub async fn list(
    State(state): State<ResourcesState>,
    who: Authenticated,
) -> Result<Json<Library>, AppError> {
    let rows = sqlx::query_as::<_, Row>(
        "SELECT c.id AS category_id, c.name AS category_name, r.id, r.title, r.description,
                r.kind, r.content_type, r.bytes, r.sha256
         FROM resources r JOIN resource_categories c ON c.id = r.category_id
         ORDER BY c.position, c.id, r.position, r.id",
    )
    .fetch_all(&state.pool)
    .await?;
    let branding: Option<(String, String)> = match &who.partner_id {
        Some(partner) => {
            sqlx::query_as("SELECT name, company FROM partners WHERE id = $1")
                .bind(partner.as_str())
                .fetch_optional(&state.pool)
                .await?
        }
        None => None,
    };
    let mut categories: Vec<ResourceCategory> = Vec::new();
    for row in rows {
        if categories.last().is_none_or(|c| c.id != row.category_id) {
            categories.push(ResourceCategory {
                id: row.category_id.clone(),
                name: row.category_name.clone(),
                resources: Vec::new(),
            });
        }
        // Each address names what it serves (`?v=`, which the routes
        // ignore): a device keeps a file under its address, and a changed
        // file is a new address, never a stale copy read offline.
        let base = format!("/api/resources/{}", row.id);
        let cobranded =
            branding
                .as_ref()
                .filter(|_| row.kind == "template")
                .map(|(name, company)| {
                    let v = super::cobrand::version(&row.sha256, name, company);
                    CobrandedCopies {
                        png: format!("{base}/cobranded/png?v={v}"),
                        pdf: format!("{base}/cobranded/pdf?v={v}"),
                        svg: format!("{base}/cobranded/svg?v={v}"),
                    }
                });
        if let Some(category) = categories.last_mut() {
            category.resources.push(ResourceEntry {
                file: format!("{base}/file?v={}", &row.sha256[..16.min(row.sha256.len())]),
                id: row.id,
                title: row.title,
                description: row.description,
                kind: row.kind,
                content_type: row.content_type,
                bytes: row.bytes,
                cobranded,
            });
        }
    }
    Ok(Json(Library { categories }))
}

/// `GET /api/resources/{id}/file`: as published, with ranges (a video
/// seeks), named for saving.
pub async fn file(
    State(state): State<ResourcesState>,
    _who: Authenticated,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let row: Option<(String, String, i64, String)> = sqlx::query_as(
        "SELECT sha256, content_type, bytes, file_name FROM resources WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(&state.pool)
    .await?;
    let (sha, kind, size, name) = row.ok_or(AppError::NotFound)?;
    let blob = BlobId::parse(&sha).ok_or(AppError::NotFound)?;
    serve_blob(
        &state.blobs,
        &blob,
        size.max(0) as u64,
        &kind,
        Some(&name),
        &headers,
    )
    .await
    .map_err(|e| AppError::Internal(e.into()))
}
