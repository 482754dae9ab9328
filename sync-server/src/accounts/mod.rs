//! Accounts: applications, sign-in (passwords, email addresses, the
//! limiters), the admin's decisions on applicants, and team channels.
//! Sessions themselves are read by every module, so they live below, in
//! `http::session`.

pub mod api;
pub mod directory;
pub mod email;
pub mod limits;
pub mod partners;
pub mod passwords;

pub use api::{Accounts, AccountsState, router};
