//! The web crate's tests that need a real browser (and the shared browser
//! crate's: web-common's moments). wasm-bindgen-test runs
//! them in headless Chromium; `cargo xtask test` builds them for wasm32
//! (see `browser_tests` in crates/xtask/src/web.rs). A native build of this
//! binary is empty.

#![cfg(target_arch = "wasm32")]

// The harness reads std's clock.
extern crate web_clock;

mod moments;
mod view_cache;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
