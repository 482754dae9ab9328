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

/// Shares the file at `url` (this origin's: a saved file comes from the
/// device) by the share sheet, as `name`: a flyer goes into a chat or a
/// post as a picture, not as an address the client cannot open. `Err` is
/// what to tell the person when it was not shared.
pub async fn share_file(title: &str, url: &str, name: &str) -> Result<(), &'static str> {
    const CANNOT: &str =
        "This browser cannot share files: download it, then share it from your files.";
    let Some(window) = web_sys::window() else {
        return Err(CANNOT);
    };
    let navigator: JsValue = window.navigator().into();
    let can_share = Reflect::get(&navigator, &"canShare".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let Some(can_share) = can_share else {
        return Err(CANNOT);
    };
    let response: web_sys::Response = match JsFuture::from(window.fetch_with_str(url)).await {
        Ok(r) => r.dyn_into().map_err(|_| CANNOT)?,
        Err(_) => return Err("The file is not on this device: share it when you are online."),
    };
    if !response.ok() {
        return Err("The file is not on this device: share it when you are online.");
    }
    let blob: web_sys::Blob = match response.blob() {
        Ok(p) => JsFuture::from(p)
            .await
            .map_err(|_| CANNOT)?
            .dyn_into()
            .map_err(|_| CANNOT)?,
        Err(_) => return Err(CANNOT),
    };
    let options = web_sys::FilePropertyBag::new();
    options.set_type(&blob.type_());
    let file = web_sys::File::new_with_blob_sequence_and_options(
        &js_sys::Array::of1(&blob),
        name,
        &options,
    )
    .map_err(|_| CANNOT)?;
    let data = js_sys::Object::new();
    let _ = Reflect::set(&data, &"files".into(), &js_sys::Array::of1(&file));
    let _ = Reflect::set(&data, &"title".into(), &title.into());
    if !can_share
        .call1(&navigator, &data)
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    {
        return Err(CANNOT);
    }
    if navigator_call("", "share", &data).await {
        Ok(())
    } else {
        Err("Not shared.")
    }
}
