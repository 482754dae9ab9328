//! A blob as an HTTP answer, for whichever module decided who may read
//! it: the whole, or the one range asked for (so a video or a voice clip
//! seeks, and Safari plays audio at all), 304 for the copy a browser has,
//! 416 past the end; and the headers that make a blob safe to serve
//! whatever its bytes are (`nosniff`, a sandboxing CSP).

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::blobs::{BlobError, BlobId, BlobStore};

/// The blob `id` of `size` bytes as `content_type`; `download`: offered
/// as a file to save under that name rather than shown.
pub async fn serve_blob(
    store: &BlobStore,
    id: &BlobId,
    size: u64,
    content_type: &str,
    download: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, BlobError> {
    let etag = format!("\"{}\"", id.hex());
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, &etag)
        // Only this person's browser may keep it (authorization), and for
        // good: the name is the bytes' hash.
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        );
    if let Some(name) = download {
        // RFC 6266 with RFC 8187's UTF-8 form: any name, safely quoted.
        let encoded: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        response = response.header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename*=UTF-8''{encoded}"),
        );
    }
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(built(
            response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty()),
        ));
    }
    let (status, start, end) = match byte_range(headers.get(header::RANGE), size) {
        Ok(Some((start, end))) => {
            response =
                response.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end + 1)
        }
        Ok(None) => (StatusCode::OK, 0, size),
        Err(Unsatisfiable) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response());
        }
    };
    let body = if start == end {
        Body::empty()
    } else {
        Body::from_stream(store.read(id, start..end).await?)
    };
    Ok(built(
        response
            .status(status)
            .header(header::CONTENT_LENGTH, end - start)
            .body(body),
    ))
}

/// Every header above is made of valid parts; a failure would be a bug
/// here, answered 500 rather than a panic.
fn built(response: Result<Response, axum::http::Error>) -> Response {
    response.unwrap_or_else(|error| {
        tracing::error!(%error, "a blob's answer did not build");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// A range that starts past the end of the blob (answered 416).
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A single range of `bytes=` (RFC 9110 §14.1.2) over a blob of `size`:
/// `Ok(None)` for no header, a header that is not one byte range (served
/// whole, as the RFC allows), `Err` for one that starts past the end.
pub fn byte_range(
    header: Option<&HeaderValue>,
    size: u64,
) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), number(first), number(last)) {
        // `-N`: the last N bytes.
        (true, _, Some(n)) if n > 0 && size > 0 => Ok(Some((size.saturating_sub(n), size - 1))),
        (true, _, _) => Ok(None),
        (false, Some(start), _) if start >= size => Err(Unsatisfiable),
        (false, Some(start), None) if last.is_empty() => Ok(Some((start, size - 1))),
        (false, Some(start), Some(end)) if end >= start => Ok(Some((start, end.min(size - 1)))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(h: &str, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
        byte_range(Some(&HeaderValue::from_str(h).unwrap()), size)
    }

    #[test]
    fn ranges_read_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(range("bytes=500-", 1000), Ok(Some((500, 999))));
        assert_eq!(range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(range("bytes=-5000", 1000), Ok(Some((0, 999))));
        assert_eq!(range("bytes=900-5000", 1000), Ok(Some((900, 999))));
        assert_eq!(range("bytes=1000-", 1000), Err(Unsatisfiable));
        assert_eq!(range("bytes=0-0", 1), Ok(Some((0, 0))));
        // Not one range: the whole blob.
        assert_eq!(range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(range("bytes=5-1", 1000), Ok(None));
        assert_eq!(range("items=0-1", 1000), Ok(None));
        assert_eq!(range("bytes=-0", 1000), Ok(None));
        assert_eq!(range("bytes=abc-", 1000), Ok(None));
        assert_eq!(range("bytes=99999999999999999999999-", 1000), Ok(None));
        assert_eq!(byte_range(None, 10), Ok(None));
    }
}
