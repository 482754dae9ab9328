//! The back-office: what admins do with partners and their money, at
//! `/admin/`. A wasm bundle of its own, built beside the partner PWA by
//! `cargo xtask build-web`: admins work at a desk and online, partners on
//! phones and 3G, and a partner's phone should not download screens it
//! may never open. It keeps nothing on the device (no service worker
//! cache, no IndexedDB): every figure comes from the server when the desk
//! opens.
//!
//! `state` holds the state (who is signed in, the desk on screen, its
//! answers) in one reducer, without markup; `app` is the shell (effects,
//! the screens before sign-in, the header and tabs); `desks` has one file
//! per desk. The server's JSON API (typed, from `wire`), the sign-in form
//! and how figures read are shared with the partner app in `web-common`.

mod app;
mod desks;
mod state;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    // No panic hook: the bundles are built so that a panic traps at once,
    // with no message to show (crates/xtask/src/web.rs, `wasm_release`).
    yew::Renderer::<app::App>::new().render();
}
