//! The demo catalog (`--seed-training <dir>`): `<dir>/catalog.json` holds
//! tracks as an admin writes them (`wire::Track`), except that a lesson's
//! file is named, not uploaded: `"file": { "name": "opening-call.mp4",
//! "caption": "…" }`, the file beside the catalog (`cargo xtask` makes
//! them with ffmpeg and espeak-ng; what a `say` field says is spoken in a
//! video or a sound, printed in a PDF). Each file is put in the blob store
//! under its hash, and each track saved and published as an admin would,
//! through the same checks. A track there is already is left as it is: an
//! admin may have changed it since.

use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Value, json};
use wire::Track;

use super::{
    TrainingState, authoring,
    files::{self, by_extension},
};

/// The largest catalog file read.
const MAX_CATALOG_BYTES: u64 = 1024 * 1024;

/// Seeds the catalog in `dir`; answers how many tracks were published.
pub async fn load(state: &TrainingState, dir: &Path) -> anyhow::Result<usize> {
    let path = dir.join("catalog.json");
    let size = std::fs::metadata(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > MAX_CATALOG_BYTES {
        bail!("{} is over {MAX_CATALOG_BYTES} bytes", path.display());
    }
    let catalog: Value = serde_json::from_slice(&std::fs::read(&path)?)
        .with_context(|| format!("reading {}", path.display()))?;
    let Some(tracks) = catalog.get("tracks").and_then(Value::as_array) else {
        bail!("{} has no \"tracks\" list", path.display());
    };
    let admin: Option<String> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE role = 'admin' ORDER BY created_at, id LIMIT 1",
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(admin) = admin else {
        bail!("the demo catalog is published by an admin, and there is none");
    };
    let mut published = 0;
    for track in tracks {
        let id = track
            .get("id")
            .and_then(Value::as_str)
            .context("a track with no id")?;
        // (saved, published): a track saved but never published (a start
        // cut short between the two) is published as it is now.
        let (saved, was_published): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM training_tracks WHERE id = $1),
                    EXISTS (SELECT 1 FROM training_versions WHERE track_id = $1)",
        )
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
        if was_published {
            continue;
        }
        if !saved {
            let track = with_files(state, dir, &admin, track.clone()).await?;
            let track: Track = serde_json::from_value(track)
                .with_context(|| format!("track {id:?} is not a track"))?;
            authoring::save(state, id, track, &admin, &authoring::Expect::default())
                .await
                .map_err(|e| anyhow::anyhow!("saving track {id:?}: {e}"))?;
        }
        authoring::publish_track(state, id, &admin)
            .await
            .map_err(|e| anyhow::anyhow!("publishing track {id:?}: {e}"))?;
        published += 1;
    }
    Ok(published)
}

/// A file's name, not a path: the catalog reads only beside itself.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255
}

/// `track` with each lesson's named `file` replaced by its `media`, the
/// file kept as a blob.
async fn with_files(
    state: &TrainingState,
    dir: &Path,
    admin: &str,
    mut track: Value,
) -> anyhow::Result<Value> {
    let lessons = track
        .get_mut("modules")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get_mut("lessons").and_then(Value::as_array_mut))
        .flatten();
    for lesson in lessons {
        let Some(file) = lesson.as_object_mut().and_then(|l| l.remove("file")) else {
            continue;
        };
        let name = file
            .get("name")
            .and_then(Value::as_str)
            .context("a lesson's file with no name")?;
        if !plain_name(name) {
            bail!("the file {name:?} is not a plain name");
        }
        let (kind, content_type) = by_extension(name)
            .with_context(|| format!("{name}: not a video, sound, image or PDF"))?;
        let path = dir.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if bytes.is_empty() || bytes.len() as u64 > state.max_blob_bytes {
            bail!("{name} is empty or over the largest file allowed");
        }
        let size = bytes.len();
        let id = state.blobs.put(Bytes::from(bytes)).await?;
        let mut conn = state.pool.acquire().await?;
        files::register(&mut conn, &id, size as u64, content_type, Some(admin)).await?;
        lesson["media"] = json!({
            "sha256": id.hex(),
            "kind": kind,
            "content_type": content_type,
            "bytes": size,
            "caption": file.get("caption").and_then(Value::as_str).unwrap_or_default(),
        });
    }
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_names_files_beside_it_only() {
        assert!(plain_name("first-call.mp4"));
        for path in [
            "",
            "../secret.pdf",
            "..",
            ".hidden.png",
            "dir/file.mp4",
            "/etc/passwd",
            "a\\b.pdf",
            "nul\0.pdf",
        ] {
            assert!(!plain_name(path), "{path:?}");
        }
        assert!(!plain_name(&"a".repeat(256)));
    }
}
