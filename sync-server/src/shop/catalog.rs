//! The storefront's catalog: products with a description, a picture in
//! the blob store and a price per currency, loaded from a directory
//! (`--seed-shop`, `fixtures/shop`: `catalog.json` and its pictures).

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use model::{Currency, Money};
use serde::Deserialize;
use sqlx::PgPool;

use crate::platform::blobs::{BlobId, BlobStore};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    /// The currencies sold in, the first shown first.
    currencies: Vec<String>,
    products: Vec<ProductFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFixture {
    slug: String,
    name: String,
    summary: String,
    description: String,
    /// A file of the directory.
    image: String,
    /// Currency code to canonical decimal text ("49.00").
    prices: BTreeMap<String, String>,
}

/// Loads `dir/catalog.json`: products there are written as the file says
/// (a second load updates them), their pictures put in the blob store.
pub async fn load(pool: &PgPool, blobs: &BlobStore, dir: &Path) -> anyhow::Result<usize> {
    let text = tokio::fs::read_to_string(dir.join("catalog.json")).await?;
    let file: CatalogFile = serde_json::from_str(&text).context("parsing catalog.json")?;
    let mut tx = pool.begin().await?;
    for (position, code) in file.currencies.iter().enumerate() {
        let currency = Currency::parse(code).map_err(anyhow::Error::msg)?;
        sqlx::query(
            "INSERT INTO shop_currencies (currency, position) VALUES ($1, $2)
             ON CONFLICT (currency) DO UPDATE SET position = $2",
        )
        .bind(currency.as_str())
        .bind(position as i32)
        .execute(&mut *tx)
        .await?;
    }
    for (position, p) in file.products.iter().enumerate() {
        if p.image.contains('/') || p.image.starts_with('.') {
            anyhow::bail!(
                "{}: the image {:?} is not a file of the directory",
                p.slug,
                p.image
            );
        }
        let bytes = tokio::fs::read(dir.join(&p.image))
            .await
            .with_context(|| format!("{}: reading {}", p.slug, p.image))?;
        let image_type = match p.image.rsplit('.').next() {
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            other => anyhow::bail!("{}: no picture type for {other:?}", p.slug),
        };
        let size = bytes.len() as i64;
        let id = blobs.put(bytes.into()).await?;
        sqlx::query(
            "INSERT INTO shop_products (slug, name, summary, description, image_sha256, image_type,
                                        image_size, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (slug) DO UPDATE SET name = $2, summary = $3, description = $4,
                 image_sha256 = $5, image_type = $6, image_size = $7, position = $8",
        )
        .bind(&p.slug)
        .bind(&p.name)
        .bind(&p.summary)
        .bind(&p.description)
        .bind(id.hex())
        .bind(image_type)
        .bind(size)
        .bind(position as i32)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("product {}", p.slug))?;
        for (currency, amount) in &p.prices {
            if !file.currencies.contains(currency) {
                anyhow::bail!("{}: {currency} is not among the shop's currencies", p.slug);
            }
            let currency = Currency::parse(currency).map_err(anyhow::Error::msg)?;
            let price = Money::parse_decimal(amount, currency).map_err(anyhow::Error::msg)?;
            sqlx::query(
                "INSERT INTO shop_prices (slug, currency, amount_minor) VALUES ($1, $2, $3)
                 ON CONFLICT (slug, currency) DO UPDATE SET amount_minor = $3",
            )
            .bind(&p.slug)
            .bind(currency.as_str())
            .bind(price.minor)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(file.products.len())
}

/// A product as the pages show it, priced in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Product {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub image_sha256: Option<String>,
    /// Its price in the currency asked for; none when not sold in it.
    pub price_minor: Option<i64>,
}

const PRODUCT_COLUMNS: &str = "p.slug, p.name, p.summary, p.description, p.image_sha256,
     (SELECT amount_minor FROM shop_prices s WHERE s.slug = p.slug AND s.currency = $1) AS price_minor";

pub async fn all(pool: &PgPool, currency: Currency) -> Result<Vec<Product>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM shop_products p ORDER BY p.position, p.slug"
    ))
    .bind(currency.as_str())
    .fetch_all(pool)
    .await
}

pub async fn one(
    pool: &PgPool,
    slug: &str,
    currency: Currency,
) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM shop_products p WHERE p.slug = $2"
    ))
    .bind(currency.as_str())
    .bind(slug)
    .fetch_optional(pool)
    .await
}

/// The currencies the shop sells in, the first shown first.
pub async fn currencies(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT currency::text FROM shop_currencies ORDER BY position, currency")
        .fetch_all(pool)
        .await
}

/// A catalog picture: only those products name are served, never any
/// other blob by its hash.
pub async fn image(pool: &PgPool, sha: &str) -> Result<Option<(BlobId, u64, String)>, sqlx::Error> {
    let Some(id) = BlobId::parse(sha) else {
        return Ok(None);
    };
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT image_type, image_size FROM shop_products WHERE image_sha256 = $1 LIMIT 1",
    )
    .bind(sha)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(kind, size)| (id, size.max(0) as u64, kind)))
}
