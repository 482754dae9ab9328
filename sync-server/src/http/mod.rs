//! HTTP routes: `/sync` (WebSocket), health, the small JSON API, the PWA.

pub mod client_address;
pub mod csv;
pub mod error;
pub mod extract;
pub mod html;
pub mod live_sessions;
pub mod session;
pub mod sync;

use std::{path::Path, time::Duration};

use axum::{
    Router,
    extract::{FromRef, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use sqlx::PgPool;
use tower_http::services::{ServeDir, ServeFile};

use crate::http::{error::AppError, session::SessionSettings};

/// What the routes of the server's own (health, metrics) read from its
/// state.
#[derive(Clone)]
pub struct OpsState {
    pub pool: PgPool,
    pub residency: std::sync::Arc<crate::platform::residency::Residency>,
    /// What `/metrics` asks for; `None`: not served.
    pub metrics_token: Option<std::sync::Arc<str>>,
}

/// The whole router: the modules' routes (`modules`, merged by the
/// composition root), `/sync`, health and metrics, a JSON 404 for any
/// other `/api` path, the PWA's files for the rest, and the headers every
/// answer gets.
pub fn router<S>(modules: Router<S>, state: S, web_dir: &Path) -> Router
where
    S: Clone + Send + Sync + 'static,
    OpsState: FromRef<S>,
    sync::SyncState: FromRef<S>,
    PgPool: FromRef<S>,
    SessionSettings: FromRef<S>,
{
    let index = web_dir.join("index.html");
    let root = web_dir.to_path_buf();
    let files = ServeDir::new(web_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    Router::new()
        .route("/sync", get(sync::sync_socket))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/page.css", get(html::stylesheet))
        .merge(modules)
        // An API path that does not exist is a JSON 404, not the app's page.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { AppError::NotFound }),
        )
        .fallback_service(
            Router::new()
                .fallback_service(files)
                .layer(middleware::from_fn(move |request, next| {
                    missing_files(root.clone(), request, next)
                })),
        )
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::from_fn(single_slashes))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// A file the PWA does not have (a name with an extension: `/sw.js`, a
/// hashed module of an older build) is a 404, not the app's page: a
/// script or a service worker given HTML fails in ways nobody can read.
/// Every other path is the app's (its screens are in the hash), so it gets
/// index.html.
async fn missing_files(
    root: std::path::PathBuf,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let path = request.uri().path();
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        let relative = path.trim_start_matches('/');
        let inside = !relative
            .split('/')
            .any(|part| part == ".." || part.is_empty());
        if !inside || !root.join(relative).is_file() {
            return AppError::NotFound.into_response();
        }
    }
    next.run(request).await
}

/// 200 when the database answers within a second, 503 otherwise.
async fn healthz(State(state): State<OpsState>) -> Response {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool);
    match tokio::time::timeout(Duration::from_secs(1), probe).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok").into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}

/// Gauges in Prometheus' text format, for whoever has the metrics token:
/// they tell how busy the server is and how many partners are connected.
async fn metrics(State(state): State<OpsState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = &state.metrics_token else {
        return AppError::NotFound.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compared as SHA-256 digests: equal-length values, no early exit on
    // the secret's own bytes.
    let digest = |s: &str| <sha2::Sha256 as sha2::Digest>::digest(s.as_bytes());
    if presented.map(digest) != Some(digest(token)) {
        return AppError::Unauthorized.into_response();
    }
    let stats = state.residency.stats();
    let body = format!(
        "# HELP portal_resident_documents Documents held in memory by samod, all shards.\n\
         # TYPE portal_resident_documents gauge\n\
         portal_resident_documents {}\n\
         # HELP portal_document_generation The highest current generation of any shard.\n\
         # TYPE portal_document_generation gauge\n\
         portal_document_generation {}\n\
         # HELP portal_draining_generations Older generations still closing.\n\
         # TYPE portal_draining_generations gauge\n\
         portal_draining_generations {}\n\
         # HELP portal_sync_connections Open /sync connections.\n\
         # TYPE portal_sync_connections gauge\n\
         portal_sync_connections {}\n\
         # HELP portal_sync_shards Independent samod repos serving /sync.\n\
         # TYPE portal_sync_shards gauge\n\
         portal_sync_shards {}\n",
        stats.resident_docs,
        stats.generation,
        stats.draining_generations,
        stats.connections,
        stats.shards
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// What the browser may do with our pages: run our own scripts and wasm
/// (`'wasm-unsafe-eval'` is what compiling WebAssembly needs; no inline or
/// evaluated JavaScript), talk only to us (which covers the same-origin
/// WebSocket), and never be framed. Pictures and sounds may also come
/// from the device (`blob:`): a file attached in the chat is shown from
/// there until it is uploaded.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
    worker-src 'self'; \
    manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Security headers on every response. A response that set its own
/// policy keeps it: a stored file or a co-branded SVG is served with a
/// stricter one (`sandbox`, nothing loaded), which the app's would undo.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A path with an empty segment (`//admin`) is answered with a redirect
/// to the same path with single slashes. Left to the file service, it would
/// redirect `//admin` to `//admin/`, which a browser reads as a
/// protocol-relative address of another host, `admin`.
async fn single_slashes(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.contains("//") {
        return next.run(request).await;
    }
    let mut single = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && single.ends_with('/')) {
            single.push(c);
        }
    }
    if let Some(query) = request.uri().query() {
        single.push('?');
        single.push_str(query);
    }
    (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, single)]).into_response()
}

/// Files whose names carry a content hash never change: cache them for a
/// year. Everything else (index.html, the service worker, the manifest) must
/// be revalidated so a new release is picked up.
/// Every `/api` answer is personal or financial (sessions, ledgers,
/// balances, statements, exports): `no-store`, whatever its status.
async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let immutable = is_hashed_asset(path);
    let api = path == "/api" || path.starts_with("/api/");
    let mut response = next.run(request).await;
    if api {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    if response.status().is_success() && !response.headers().contains_key(header::CACHE_CONTROL) {
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// `app-1a2b3c4d5e6f7a8b.wasm`: a dash, then at least 16 hex digits, then
/// the extension.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let Some((stem, _ext)) = name.split_once('.') else {
        return false;
    };
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    hash.len() >= 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_hashed_asset("/app-0123456789abcdef.wasm"));
        assert!(is_hashed_asset("/assets/portal-0123456789abcdef0123.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/icon-192.png"));
        assert!(!is_hashed_asset("/app-0123.wasm"));
    }
}
