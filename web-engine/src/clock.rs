//! The engine's clock, in the model's terms (std's own, which samod reads,
//! comes from `web-clock`).

/// Now, in the model's terms.
pub fn now() -> model::Timestamp {
    model::Timestamp(js_sys::Date::now() as i64)
}
