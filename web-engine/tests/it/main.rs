//! The engine's tests that need a real browser. wasm-bindgen-test runs them
//! in headless Chromium (on the page, not in a worker: IndexedDB is the
//! same there); `cargo xtask test` builds them for wasm32 (see
//! `browser_tests` in crates/xtask/src/web.rs). A native build of this
//! binary is empty.

#![cfg(target_arch = "wasm32")]

mod storage;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
