//! The clock our wasm build of std asks for.
//!
//! On wasm32-unknown-unknown, std's `Instant::now` and `SystemTime::now`
//! panic: the target has no clock. samod reads both on every event, so the
//! build (crates/xtask/src/web.rs) compiles std from a copy of its source in
//! which those two functions call the symbols below instead; this crate
//! defines them from the browser's clocks (a worker has both). A module
//! that links std's clock links this crate (`extern crate web_clock;`):
//! the sync engine's, and every browser test binary (their harness reads
//! the time); the screens' module reads no such clock and goes without. Native
//! builds never use them.

#[cfg(target_arch = "wasm32")]
mod imp {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
        #[wasm_bindgen(js_namespace = Date, js_name = now)]
        fn date_now() -> f64;
    }

    /// Milliseconds on a monotonic clock, for `Instant::now`.
    #[allow(unsafe_code, reason = "std links to this symbol by name")]
    #[unsafe(no_mangle)]
    pub extern "C" fn __portal_time_monotonic_ms() -> f64 {
        performance_now()
    }

    /// Milliseconds since the Unix epoch, for `SystemTime::now`.
    #[allow(unsafe_code, reason = "std links to this symbol by name")]
    #[unsafe(no_mangle)]
    pub extern "C" fn __portal_time_system_ms() -> f64 {
        date_now()
    }
}
