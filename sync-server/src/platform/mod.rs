//! The sync platform: what keeps documents and files and lets clients
//! reach them, knowing no product module. Files kept by their hash
//! ([`blobs`]), served over HTTP ([`blob_http`]). samod's storage over Postgres and the
//! document registry ([`storage`]), each document's kind remembered
//! ([`doc_kinds`]), documents in memory by generations and
//! shards ([`residency`]), the bus between nodes over one Postgres
//! ([`cluster`]), one node at a time for work only one should do
//! ([`leader`]), the socket's gatekeeper ([`guard`], with the
//! bounded measure of sync data in [`expansion`]), who may read and write
//! what ([`policy`]), authorship of shared writes ([`shared_writes`]) and
//! the cap on open sockets per account ([`sockets`]).
//!
//! Product modules build on it; it imports none of them (the layout test
//! in `tests/it/layout.rs` holds it to that).

pub mod blob_http;
pub mod blobs;
pub mod cluster;
pub mod doc_kinds;
pub mod expansion;
pub mod guard;
pub mod leader;
pub mod pdf;
pub mod periods;
pub mod policy;
pub mod residency;
pub mod server_docs;
pub mod shared_writes;
pub mod sockets;
pub mod storage;
