//! A partner's co-branded copy of a template: the template's slots filled
//! with their name, their company and a link of theirs for this resource
//! (its QR code too), made as SVG, as PNG (resvg, with the fonts typst
//! embeds: no system font) or as PDF (the certificates' engine, the copy
//! placed on an A4 page with the link as a live annotation). A copy is kept
//! in the blob store by the template and the branding it was made with,
//! so asking again costs a lookup, and a new name or template makes it
//! again.
//!
//! Slots: `{{partner_name}}`, `{{company}}`, `{{link}}` (text, escaped for
//! XML), and `{{qr}}`, an image's `href`, which becomes the link's QR code
//! as an SVG data address.
//!
//! The link is a referral link of the partner's that the server makes for
//! the resource: its code is the partner's and a nonce's (as the device's
//! are), the nonce derived from the resource, so it is the same every time
//! and its clicks and orders are the resource's.

use std::sync::{Arc, LazyLock};

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use resvg::{tiny_skia, usvg};
use sha2::{Digest, Sha256};

use super::ResourcesState;
use crate::{
    http::{error::AppError, session::Authenticated},
    platform::{blobs::BlobId, pdf},
    referrals::coupons,
};

/// Moves when a copy's making changes, so copies made before are made again.
const MAKING: &str = "1";
/// A template's largest size, and the largest image made of it, a side.
const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;
const MAX_SIDE: u32 = 4096;

static COBRANDED_PDF: &str = include_str!("../../templates/cobranded.typ");

/// typst's fonts, for resvg: a template's text is drawn with them.
static FONTS: LazyLock<Arc<usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = usvg::fontdb::Database::new();
    for data in typst_assets::fonts() {
        db.load_font_data(data.to_vec());
    }
    db.set_serif_family("Libertinus Serif");
    db.set_sans_serif_family("Libertinus Serif");
    db.set_monospace_family("DejaVu Sans Mono");
    Arc::new(db)
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn xml_text(text: &str) -> String {
    crate::http::html::escape(text)
}

/// What a partner's copies of a template are made of, short: it names
/// them in the library's addresses (`?v=`), so a copy kept on a device is
/// known stale once the template, the partner's name or company, or the
/// making changes. (Their link is made once per template and never
/// changes.)
pub fn version(template_sha: &str, name: &str, company: &str) -> String {
    let digest = Sha256::digest(
        [MAKING, template_sha, name, company]
            .join("\u{0}")
            .as_bytes(),
    );
    hex(&digest[..8])
}

/// The branding a copy is made with.
pub struct Branding {
    pub name: String,
    pub company: String,
    pub link: String,
}

/// `template` with its slots filled.
pub fn fill(template: &str, branding: &Branding) -> String {
    let qr = model::qr::svg(&branding.link).unwrap_or_default();
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(qr)
    );
    template
        .replace("{{partner_name}}", &xml_text(&branding.name))
        .replace("{{company}}", &xml_text(&branding.company))
        .replace("{{link}}", &xml_text(&branding.link))
        .replace("{{qr}}", &qr)
}

/// One PNG drawn at a time (each takes a core and up to 64 MB).
static DRAWING: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(1)));

/// The filled template drawn as PNG. Its images may only be SVG given in
/// the document itself (the QR code's `data:` address): usvg would
/// otherwise read any path on the server's disk an `href` names, and
/// decode raster images of any size.
pub fn png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let tree = parse(svg)?;
    let size = tree.size().to_int_size();
    let (w, h) = (size.width(), size.height());
    let mut pixmap =
        tiny_skia::Pixmap::new(w, h).ok_or_else(|| anyhow::anyhow!("no {w} x {h} image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}

/// The slots a template may carry.
const SLOTS: [&str; 4] = ["{{partner_name}}", "{{company}}", "{{link}}", "{{qr}}"];

/// Whether `template` is one copies can be made of: text, at most
/// [`MAX_TEMPLATE_BYTES`], with at least one slot (else it is an image,
/// the same for every partner), and drawn once filled (its images only
/// its own SVG, at most [`MAX_SIDE`] a side). What is wrong, in words.
pub fn check_template(template: &[u8]) -> Result<(), String> {
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "a template is at most {MAX_TEMPLATE_BYTES} bytes; this one is {}",
            template.len()
        ));
    }
    let text = std::str::from_utf8(template).map_err(|_| "a template is SVG text (UTF-8)")?;
    if !SLOTS.iter().any(|slot| text.contains(slot)) {
        return Err(format!(
            "an SVG template names at least one slot of {}; an SVG without one is not published",
            SLOTS.join(", ")
        ));
    }
    let sample = Branding {
        name: "Partner name".to_owned(),
        company: "Company".to_owned(),
        link: "https://portal.example/r/0000000000000".to_owned(),
    };
    parse(&fill(text, &sample))
        .map(|_| ())
        .map_err(|e| format!("the template cannot be drawn: {e}"))
}

/// A filled template read as usvg reads it, within the bounds.
fn parse(svg: &str) -> anyhow::Result<usvg::Tree> {
    if svg.len() > 2 * MAX_TEMPLATE_BYTES {
        anyhow::bail!("a filled template of {} bytes is not drawn", svg.len());
    }
    let data = usvg::ImageHrefResolver::default_data_resolver();
    let options = usvg::Options {
        fontdb: FONTS.clone(),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(move |mime, bytes, options| {
                (mime == "image/svg+xml")
                    .then(|| data(mime, bytes, options))
                    .flatten()
            }),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let (w, h) = (size.width(), size.height());
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        anyhow::bail!("a template of {w} x {h} is not drawn (at most {MAX_SIDE} a side)");
    }
    Ok(tree)
}

/// The partner's link for `resource`, made if it is not there yet.
async fn link_for(
    tx: &mut sqlx::PgConnection,
    partner: &model::PartnerId,
    resource: &str,
    title: &str,
) -> Result<String, sqlx::Error> {
    let digest = Sha256::digest(format!("resource:{resource}").as_bytes());
    let nonce = hex(&digest[..8]);
    let code = model::referral_code_for(partner, &nonce);
    let label: String = format!("{title} (co-branded)").chars().take(80).collect();
    sqlx::query(
        "INSERT INTO referral_links (code, partner_id, label, created_at, resource_id)
         VALUES ($1, $2, $3, now(), $4) ON CONFLICT (code) DO NOTHING",
    )
    .bind(&code)
    .bind(partner.as_str())
    .bind(&label)
    .bind(resource)
    .execute(&mut *tx)
    .await?;
    coupons::ensure(tx, partner.as_str()).await?;
    Ok(code)
}

fn origin(state: &ResourcesState, headers: &HeaderMap) -> String {
    if !state.public_origin.is_empty() {
        return state.public_origin.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// `GET /api/resources/{id}/cobranded/{format}`: the asking partner's copy.
pub async fn copy(
    State(state): State<ResourcesState>,
    who: Authenticated,
    Path((id, format)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let partner = who
        .partner_id
        .clone()
        .ok_or_else(|| AppError::Forbidden("only a partner has co-branded copies".to_owned()))?;
    let content_type = match format.as_str() {
        "png" => "image/png",
        "pdf" => "application/pdf",
        "svg" => "image/svg+xml",
        _ => return Err(AppError::NotFound),
    };
    let template: Option<(String, String, String)> = sqlx::query_as(
        "SELECT sha256, title, file_name FROM resources WHERE id = $1 AND kind = 'template'",
    )
    .bind(&id)
    .fetch_optional(&state.pool)
    .await?;
    let (sha, title, file_name) = template.ok_or(AppError::NotFound)?;
    let (name, company): (String, String) =
        sqlx::query_as("SELECT name, company FROM partners WHERE id = $1")
            .bind(partner.as_str())
            .fetch_one(&state.pool)
            .await?;
    let mut tx = state.pool.begin().await?;
    let code = link_for(&mut tx, &partner, &id, &title).await?;
    tx.commit().await?;
    let branding = Branding {
        name,
        company,
        link: format!("{}/r/{code}", origin(&state, &headers)),
    };
    // Keyed by the code, not the whole address: the address's host is the
    // request's when no public origin is set, and a request must not make
    // a copy again by naming another host.
    let fingerprint = hex(&Sha256::digest(
        [
            MAKING,
            &sha,
            &format,
            &title,
            &branding.name,
            &branding.company,
            &code,
        ]
        .join("\u{0}")
        .as_bytes(),
    ));
    let kept: Option<String> = sqlx::query_scalar(
        "SELECT sha256 FROM cobranded_copies
         WHERE resource_id = $1 AND partner_id = $2 AND format = $3 AND branding = $4",
    )
    .bind(&id)
    .bind(partner.as_str())
    .bind(&format)
    .bind(&fingerprint)
    .fetch_optional(&state.pool)
    .await?;
    let kept = match kept.as_deref().and_then(BlobId::parse) {
        Some(blob) => match state.blobs.read_all(&blob).await {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(crate::platform::blobs::BlobError::NotFound) => None,
            Err(e) => return Err(AppError::Internal(e.into())),
        },
        None => None,
    };
    let bytes = match kept {
        Some(bytes) => bytes,
        None => {
            let blob = BlobId::parse(&sha).ok_or(AppError::NotFound)?;
            let template = state
                .blobs
                .read_all(&blob)
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            if template.len() > MAX_TEMPLATE_BYTES {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "the template {id} is over {MAX_TEMPLATE_BYTES} bytes"
                )));
            }
            let template = String::from_utf8(template.to_vec()).map_err(|_| {
                AppError::Internal(anyhow::anyhow!("the template {id} is not text"))
            })?;
            let svg = fill(&template, &branding);
            let made = match format.as_str() {
                "svg" => svg.into_bytes(),
                "png" => {
                    let _turn = DRAWING
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|e| AppError::Internal(e.into()))?;
                    tokio::task::spawn_blocking(move || png(&svg))
                        .await
                        .map_err(|e| AppError::Internal(e.into()))??
                }
                _ => {
                    pdf::render(
                        COBRANDED_PDF,
                        vec![
                            ("svg", svg),
                            ("title", title.clone()),
                            ("partner", branding.name.clone()),
                            ("company", branding.company.clone()),
                            ("link", branding.link.clone()),
                        ],
                        chrono::Utc::now(),
                        fingerprint.clone(),
                    )
                    .await?
                }
            };
            let size = made.len() as i64;
            let put = state
                .blobs
                .put(made.clone().into())
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            sqlx::query(
                "INSERT INTO cobranded_copies (resource_id, partner_id, format, branding, sha256, bytes)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (resource_id, partner_id, format)
                 DO UPDATE SET branding = $4, sha256 = $5, bytes = $6, made_at = now()",
            )
            .bind(&id)
            .bind(partner.as_str())
            .bind(&format)
            .bind(&fingerprint)
            .bind(put.hex())
            .bind(size)
            .execute(&state.pool)
            .await?;
            made
        }
    };
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name.as_str(), |(s, _)| s);
    let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    // An SVG opened on its own runs nothing and loads nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}.{format}\"",
        stem.replace(['"', '\\'], ""),
        partner.as_str()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_filled_with_escaped_text_and_the_qr_code() {
        let branding = Branding {
            name: "Ana <Souza> & Co".into(),
            company: "\"Souza\"".into(),
            link: "https://p.example/r/0123456789ab".into(),
        };
        let filled = fill(
            "<svg><text>{{partner_name}} {{company}} {{link}}</text><image href=\"{{qr}}\"/></svg>",
            &branding,
        );
        assert!(filled.contains(
            "Ana &lt;Souza&gt; &amp; Co &quot;Souza&quot; https://p.example/r/0123456789ab"
        ));
        assert!(filled.contains("href=\"data:image/svg+xml;base64,"));
    }

    #[test]
    fn a_template_is_drawn_with_its_text_and_bounded() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"100\">\
                   <text x=\"10\" y=\"50\" font-family=\"Libertinus Serif\" font-size=\"20\">Ana</text></svg>";
        let drawn = png(svg).unwrap();
        assert!(drawn.starts_with(b"\x89PNG"));
        let other = png(&svg.replace("Ana", "Ben")).unwrap();
        assert_ne!(drawn, other, "the text is drawn");
        let huge = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"10\"/>";
        assert!(png(huge).is_err());
        // An image naming a file on the server's disk draws nothing of it.
        let dir = std::env::temp_dir().join(format!("cobrand-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret.svg");
        std::fs::write(&secret, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"#f00\"/></svg>").unwrap();
        let reads = |href: &str| {
            png(&format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><image width=\"10\" height=\"10\" href=\"{href}\"/></svg>"
            ))
            .unwrap()
        };
        let blank =
            png("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>").unwrap();
        assert_eq!(
            reads(&secret.display().to_string()),
            blank,
            "a file was read"
        );
        assert_ne!(
            reads(
                "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCI+PHJlY3Qgd2lkdGg9IjEwIiBoZWlnaHQ9IjEwIi8+PC9zdmc+"
            ),
            blank,
            "an SVG given in the document is drawn"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(png("<not svg").is_err());
    }
}
