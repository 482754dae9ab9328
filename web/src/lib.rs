//! The partner PWA.
//!
//! Everything a partner edits is written to a local Automerge document first
//! (samod on the browser's event loop, stored in IndexedDB) and shown at
//! once; samod syncs it with the server over `/sync` whenever a connection
//! exists. The UI is a Yew app with its state in one reducer (`app`); the
//! partner's money and tier screens, read from the account view the server
//! writes, are in `earnings`; the sync machinery is in `engine`, `dialer`
//! and `idb_store`. The server's JSON API, the sign-in form and how figures
//! read are shared with the back-office (a bundle of its own, for admins)
//! in `web-common`. The storage and the runtime are public for the browser
//! tests in `tests/`.

mod app;
mod clock;
mod dialer;
mod earnings;
mod engine;
pub mod idb_store;

pub use engine::BrowserRuntime;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    if let Some(window) = web_sys::window() {
        // The app shell works offline once the service worker has cached it.
        let _ = window.navigator().service_worker().register("/sw.js");
    }
    yew::Renderer::<app::App>::new().render();
}
