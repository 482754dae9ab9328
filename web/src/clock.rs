//! The screens' clock: now, and marks in the page's performance timeline.

/// Now, in the model's terms.
pub fn now() -> model::Timestamp {
    model::Timestamp(js_sys::Date::now() as i64)
}

/// Marks a moment of the app's start in the browser's performance timeline
/// (`performance.mark`): DevTools shows it, and `cargo xtask bench-board`
/// reads it to say where an open's time goes.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}
