//! Each partner's read-only account view document, written by the server
//! from the ledger, deals and rules.

pub mod views;
