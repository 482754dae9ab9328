//! Sending a file (a lesson's, a resource's): hashed on the page, then
//! sent in parts that survive a dropped connection.
//!
//! The server names a blob by the SHA-256 of its bytes, so the page hashes
//! the file first, a slice at a time (a 500 MB video is never in memory
//! whole; `SubtleCrypto.digest` takes only a whole buffer, so the hash is
//! the `sha2` crate's, fed slice by slice). Then it declares the upload,
//! which the server answers with where it stands (an upload of the same
//! bytes begun before, even from a page since closed, goes on from there;
//! a blob kept already needs nothing), and sends parts from that offset.
//! No answer: it waits, asks the server where it stands, and goes on.

use std::time::Duration;

use js_sys::Uint8Array;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_common::api::{self, ApiError, NewUpload, UploadState};

/// Bytes hashed at a time.
const HASH_SLICE: f64 = 2.0 * 1024.0 * 1024.0;
/// Bytes sent in one request (the server takes up to 8 MiB).
const PART: u64 = 4 * 1024 * 1024;
/// How many times in a row a part may go unanswered before the upload
/// stops and says so (waits of 1, 2, 4... up to 30 s: about ten minutes).
const TRIES: u32 = 25;

/// Where an upload is, for the editor to show.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    Hashing {
        done: u64,
        of: u64,
    },
    Sending {
        done: u64,
        of: u64,
    },
    /// No answer from the server; it tries again by itself.
    Waiting {
        done: u64,
        of: u64,
    },
    Failed(String),
}

impl Progress {
    /// What a screen reader and the label say.
    pub fn words(&self) -> String {
        let share = |done: u64, of: u64| done.saturating_mul(100).checked_div(of).unwrap_or(100);
        match *self {
            Progress::Hashing { done, of } => format!("Checking the file… {}%", share(done, of)),
            Progress::Sending { done, of } => format!("Uploading… {}%", share(done, of)),
            Progress::Waiting { done, of } => format!(
                "No connection: the upload goes on by itself once the server answers ({}% sent).",
                share(done, of)
            ),
            Progress::Failed(ref why) => why.clone(),
        }
    }

    /// How far along, of how much, for a `<progress>`.
    pub fn fraction(&self) -> Option<(u64, u64)> {
        match *self {
            Progress::Hashing { done, of }
            | Progress::Sending { done, of }
            | Progress::Waiting { done, of } => Some((done, of.max(1))),
            Progress::Failed(_) => None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn bytes_of(blob: &web_sys::Blob) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "The file could not be read. Choose it again.".to_owned())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

async fn sha256(file: &web_sys::File, report: &impl Fn(Progress)) -> Result<String, String> {
    let size = file.size();
    let mut hasher = Sha256::new();
    let mut at = 0.0;
    while at < size {
        let end = (at + HASH_SLICE).min(size);
        let slice = file
            .slice_with_f64_and_f64(at, end)
            .map_err(|_| "The file could not be read.".to_owned())?;
        hasher.update(bytes_of(&slice).await?);
        at = end;
        report(Progress::Hashing {
            done: at as u64,
            of: size as u64,
        });
    }
    Ok(hex(&hasher.finalize()))
}

/// A file the server keeps now.
#[derive(Clone, Debug, PartialEq)]
pub struct Uploaded {
    pub sha256: String,
    pub bytes: u64,
    pub content_type: String,
}

/// Sends `file`, reporting how it goes (the caller checked its type).
pub async fn send(file: &web_sys::File, report: impl Fn(Progress)) -> Result<Uploaded, String> {
    let content_type = file.type_();
    let size = file.size() as u64;
    let sha256 = sha256(file, &report).await?;
    let declared = NewUpload {
        sha256: sha256.clone(),
        bytes: size,
        content_type: content_type.clone(),
    };
    let body = serde_json::to_string(&declared).map_err(|e| e.to_string())?;
    let declare = || {
        let body = body.clone();
        async move {
            let value = api::call("POST", "/api/admin/blobs/uploads", Some(body)).await?;
            serde_json::from_value::<UploadState>(value)
                .map_err(|e| ApiError::Unexpected(e.to_string()))
        }
    };
    let mut state: UploadState = with_retries(size, 0, &report, declare).await?;
    while let Some(id) = state.upload.clone() {
        if state.received >= size {
            let path = format!("/api/admin/blobs/uploads/{id}/finish");
            let finished = with_retries(size, size, &report, || {
                let path = path.clone();
                async move {
                    let value = api::call("POST", &path, None).await?;
                    serde_json::from_value(value).map_err(|e| ApiError::Unexpected(e.to_string()))
                }
            })
            .await;
            state = match finished {
                Ok(state) => state,
                // A finish whose answer was lost, tried again, finds no
                // upload: declared again, the blob says whether it is kept.
                Err(why) => {
                    let again: UploadState = declare().await.map_err(|_| why.clone())?;
                    if again.upload.is_some() && again.received < size {
                        return Err(why);
                    }
                    again
                }
            };
            continue;
        }
        report(Progress::Sending {
            done: state.received,
            of: size,
        });
        let (from, to) = (state.received, (state.received + PART).min(size));
        let part = file
            .slice_with_f64_and_f64(from as f64, to as f64)
            .map_err(|_| "The file could not be read.".to_owned())?;
        let path = format!("/api/admin/blobs/uploads/{id}?offset={from}");
        state = match api::put_bytes(&path, &part, "application/octet-stream").await {
            Ok(value) => serde_json::from_value(value).map_err(|e| e.to_string())?,
            // The server has another offset (a part that arrived though
            // its answer did not), or no answer: ask where it stands.
            Err(ApiError::Changed(_) | ApiError::Unreachable { .. } | ApiError::Server(_)) => {
                let status = format!("/api/admin/blobs/uploads/{id}");
                with_retries(size, from, &report, || {
                    let status = status.clone();
                    async move { api::get::<UploadState>(&status).await }
                })
                .await?
            }
            Err(e) => return Err(e.to_string()),
        };
    }
    report(Progress::Sending {
        done: size,
        of: size,
    });
    Ok(Uploaded {
        sha256,
        bytes: size,
        content_type,
    })
}

/// `request`, again after a wait each time it gets no answer (or a
/// server error), up to [`TRIES`] times; a refusal is final.
async fn with_retries<T, F, Fut>(
    size: u64,
    done: u64,
    report: &impl Fn(Progress),
    request: F,
) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut wait = Duration::from_secs(1);
    for _ in 0..TRIES {
        match request().await {
            Ok(answer) => return Ok(answer),
            Err(ApiError::Unreachable { .. } | ApiError::Server(_)) => {
                report(Progress::Waiting { done, of: size });
                gloo_timers::future::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("The server has not answered for ten minutes. Choose the file again to go on from where it stopped.".to_owned())
}

/// The file chosen in a file field, if any.
pub fn chosen(e: &web_sys::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = e.target()?.dyn_into().ok()?;
    let file = input.files()?.get(0);
    // The same file chosen again fires a change too.
    input.set_value("");
    file
}
