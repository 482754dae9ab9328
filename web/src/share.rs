//! Sharing a link the way the device does: the system share sheet where
//! the browser has one, else the clipboard, else the person is told to
//! copy it by hand.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Calls `navigator.<object>.<method>(arg)` (or `navigator.<method>` when
/// `object` is empty) if the browser has it; whether it did.
async fn navigator_call(object: &str, method: &str, arg: &JsValue) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let mut target: JsValue = window.navigator().into();
    if !object.is_empty() {
        target = match Reflect::get(&target, &object.into()) {
            Ok(t) if !t.is_undefined() => t,
            _ => return false,
        };
    }
    let Some(f) = Reflect::get(&target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return false;
    };
    match f.call1(&target, arg) {
        Ok(promise) => match promise.dyn_into::<js_sys::Promise>() {
            Ok(promise) => JsFuture::from(promise).await.is_ok(),
            Err(_) => true,
        },
        Err(_) => false,
    }
}

/// Copies `text`; what to tell the person.
pub async fn copy(text: &str) -> &'static str {
    if navigator_call("clipboard", "writeText", &text.into()).await {
        "Link copied."
    } else {
        "Select the link and copy it."
    }
}

/// Opens the share sheet with `url` and `title`, or copies the link; what
/// to tell the person (nothing when the sheet took it).
pub async fn share(title: &str, url: &str) -> Option<&'static str> {
    let data = js_sys::Object::new();
    let _ = Reflect::set(&data, &"title".into(), &title.into());
    let _ = Reflect::set(&data, &"url".into(), &url.into());
    if navigator_call("", "share", &data).await {
        return None;
    }
    Some(copy(url).await)
}
