//! A published training track, as partners read it: a read-only document
//! the server writes when an admin publishes (one per track).
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "catalog", track_id: "selling-basics",
//!        version: uint, published_at: ts, manifest: str }
//! ```
//!
//! `manifest` is the published version as JSON (`wire::Published`, exam
//! keys taken out). Content is published, not co-edited: nobody merges
//! two manifests, so one string replaced at each publication is the
//! whole story, and a device parses it once per version. What partners
//! write about a track (progress, attempts) is their own training
//! document's.

#[cfg(feature = "doc")]
mod doc;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::CatalogDoc;

use crate::Timestamp;

/// The value of the root `kind` field of a catalog.
pub const CATALOG_KIND: &str = "catalog";
/// The longest manifest read: a track of many modules is a few hundred
/// kilobytes of text; files are blobs, not manifest.
pub const MAX_MANIFEST_BYTES: usize = 2 * 1024 * 1024;

/// One published version of a track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub track_id: String,
    pub version: u32,
    pub published_at: Timestamp,
    /// `wire::Published` as JSON.
    pub manifest: String,
}
