//! The JSON API's contract: the request and response bodies of the
//! server's `/api` routes, and the vocabularies the API, the database and
//! the apps spell as strings (roles, account and deal statuses, ledger
//! line kinds, tiers, progress components, payout method and session
//! kinds, access). The server writes these types and the browser apps
//! read them (and the other way round for requests), so a renamed field
//! fails to compile on both sides instead of rendering an empty cell.
//!
//! Each type says which endpoint uses it; the files follow the server's
//! modules (`accounts`; `deals`, `ledger`, `orders`, `payouts`,
//! `partners`, `reports`, `programme` for the money; `notifications`; `training`; `error`), and everything is
//! re-exported here: `wire::Me`, `wire::DealStatus`.
//!
//! The shapes are today's, field for field: the same names, the same
//! order, `null` where the server writes `null`, nothing where it leaves a
//! field out. Request bodies refuse unknown fields, as the server reads
//! them.
//!
//! Plain data, by choice:
//! - amounts are integer minor units with their ISO 4217 code as text, as
//!   the database holds them (`model::Money` is the parsed value);
//! - times are a type parameter, `String` unless said otherwise: the server
//!   fills in `chrono::DateTime<Utc>` (its serde form is the wire's RFC 3339
//!   text), the browser apps read the text and hand it to `Date.parse`. So
//!   this crate needs no chrono, and the wasm bundles carry no date parser;
//! - a document's kind is its name as text (the kinds are
//!   `sync::DocKind`).
//!
//! Invariant: serde only. No IO, nothing of axum, sqlx, chrono or
//! web-sys; builds for wasm32.

mod accounts;
mod challenges;
mod chat;
mod deals;
mod error;
mod ledger;
mod notifications;
mod orders;
mod partners;
mod payouts;
mod programme;
mod referrals;
mod reports;
mod resources;
mod training;
mod vocabulary;

pub use accounts::*;
pub use challenges::*;
pub use chat::*;
pub use deals::*;
pub use error::*;
pub use ledger::*;
pub use notifications::*;
pub use orders::*;
pub use partners::*;
pub use payouts::*;
pub use programme::*;
pub use referrals::*;
pub use reports::*;
pub use resources::*;
pub use training::*;
pub use vocabulary::*;
