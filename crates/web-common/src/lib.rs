//! What the partner PWA (`web/`) and the back-office (`backoffice/`) share.
//! They are two wasm bundles, not one: the back-office is for admins, on a
//! desk, online; a partner's phone on a 3G network should not download it.
//!
//! `api` is the server's JSON API as the browser calls it (sign in, who am
//! I, sign out, any other request with its errors in words), `forms` the
//! changes a screen sends and how their answers are reported, `sign_in`
//! the sign-in form, `sign_out` the sign-out button, `show` how amounts,
//! percentages, days and tiers read, `listener` window events (the
//! location's hash, the network coming back) as listeners and hooks,
//! `pricing` what a deal would earn, offline.

pub mod api;
pub mod forms;
pub mod listener;
pub mod pricing;
pub mod show;
pub mod sign_in;
pub mod sign_out;
