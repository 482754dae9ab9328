//! The resources library: what partners browse (`GET /api/resources`),
//! what their devices report of their use (`POST /api/resources/events`),
//! and what admins read of it (`GET /api/admin/resources/analytics`).

use serde::{Deserialize, Serialize};

use crate::LinkAmount;

/// `GET /api/resources` (any signed-in account): the library by category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    pub categories: Vec<ResourceCategory>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCategory {
    pub id: String,
    pub name: String,
    pub resources: Vec<ResourceEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceEntry {
    pub id: String,
    pub title: String,
    pub description: String,
    /// `image`, `pdf`, `video` or `template`.
    pub kind: String,
    pub content_type: String,
    pub bytes: i64,
    /// The file as published (the address to fetch and keep offline).
    pub file: String,
    /// A template's co-branded copies for the asking partner: PNG, PDF
    /// and SVG, each carrying their name and a link of theirs.
    pub cobranded: Option<CobrandedCopies>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CobrandedCopies {
    pub png: String,
    pub pdf: String,
    pub svg: String,
}

/// `POST /api/resources/events` (a partner): what their device recorded,
/// each under an id it made, so a batch sent twice is kept once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEvents {
    pub events: Vec<ResourceEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEvent {
    /// 1 to 64 of `A-Za-z0-9_-`, made on the device.
    pub id: String,
    pub resource_id: String,
    /// `view`, `download`, `share`, `cobrand` or `link_copied`.
    pub kind: String,
    /// When, in milliseconds since 1970 by the device's clock.
    pub at_ms: i64,
}

/// The answer to `POST /api/resources/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsTaken {
    /// Events kept now.
    pub kept: usize,
    /// Events kept before (the same ids).
    pub already: usize,
    /// Events of a resource the library no longer has: not kept, and
    /// never will be (the device drops them too).
    pub unknown: usize,
}

/// `GET /api/admin/resources/analytics`: one row per resource and partner
/// who used it or whose copy brought clicks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceFigures {
    pub resource_id: String,
    pub title: String,
    pub partner_id: String,
    pub partner_name: String,
    pub views: i64,
    pub downloads: i64,
    pub shares: i64,
    pub cobrands: i64,
    /// Clicks on the links in the partner's co-branded copies.
    pub clicks: i64,
    /// Orders those links won, refunded ones left out.
    pub orders: i64,
    /// Revenue of those orders not refunded, and the referral commission
    /// they earned, per currency.
    pub revenue: Vec<LinkAmount>,
}

/// `POST /api/admin/resources` (admins): a file uploaded before (`POST
/// /api/admin/blobs/uploads`) published into the library. Its kind is
/// the file's: a PNG, JPEG or WebP is an image, a PDF a PDF, an MP4 a
/// video, and an SVG a template with slots (`{{partner_name}}`,
/// `{{company}}`, `{{link}}`, `{{qr}}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// A category's name: the one of that name, or a new one.
    pub category: String,
    pub title: String,
    pub description: String,
    pub sha256: String,
    /// The name it is downloaded under.
    pub file_name: String,
}

/// The answer to `POST /api/admin/resources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedResource {
    pub id: String,
    pub kind: String,
    pub category_id: String,
}
