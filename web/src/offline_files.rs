//! Downloads for offline use: files put whole into a cache of the Cache
//! Storage that the service worker answers from (ranges cut from the whole
//! file, so a video seeks offline; see `static/sw.js`), each module its
//! own cache (training's modules, the resources a partner saved); the
//! storage they take, and asking the browser to keep them
//! (`navigator.storage.persist()`), so it does not evict them when space
//! runs short.

use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Response};

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "the browser refused".to_owned())
}

async fn cache(name: &str) -> Result<Cache, String> {
    let window = web_sys::window().ok_or("no window")?;
    let caches = window.caches().map_err(js_error)?;
    let cache = JsFuture::from(caches.open(name)).await.map_err(js_error)?;
    cache.dyn_into::<Cache>().map_err(js_error)
}

/// Which of `urls` are on the device, in the cache `name`.
pub async fn kept(name: &str, urls: &[String]) -> Result<Vec<bool>, String> {
    let cache = cache(name).await?;
    let mut kept = Vec::with_capacity(urls.len());
    for url in urls {
        let hit = JsFuture::from(cache.match_with_str(url))
            .await
            .map_err(js_error)?;
        kept.push(!hit.is_undefined());
    }
    Ok(kept)
}

/// Downloads each of `files` (URL, bytes) not in the cache `name` yet,
/// whole, telling `progress` the bytes on the device after each. A file is
/// kept only once it arrived whole (a 200, never a 206).
pub async fn download(
    name: &str,
    files: &[(String, u64)],
    progress: impl Fn(u64),
) -> Result<(), String> {
    let cache = cache(name).await?;
    let window = web_sys::window().ok_or("no window")?;
    let mut done = 0;
    for (url, bytes) in files {
        let hit = JsFuture::from(cache.match_with_str(url))
            .await
            .map_err(js_error)?;
        if hit.is_undefined() {
            let response: Response = JsFuture::from(window.fetch_with_str(url))
                .await
                .map_err(|_| "the network is not there; try again when it is".to_owned())?
                .dyn_into()
                .map_err(js_error)?;
            if response.status() != 200 {
                return Err(format!(
                    "the server answered {} for a file to keep",
                    response.status()
                ));
            }
            JsFuture::from(cache.put_with_str(url, &response))
                .await
                .map_err(|e| format!("the device did not keep it: {}", js_error(e)))?;
        }
        done += bytes;
        progress(done);
    }
    Ok(())
}

/// Whether the browser says the connection costs nothing to use (Wi-Fi or
/// a cable, and no data saver): `navigator.connection`, which only some
/// browsers have (Chrome on Android does). Where it says nothing, the
/// answer is no: nothing is downloaded unasked on a connection that may
/// be metered.
pub fn unmetered() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(connection) = Reflect::get(&window.navigator(), &"connection".into()) else {
        return false;
    };
    if connection.is_undefined() || connection.is_null() {
        return false;
    }
    let kind = Reflect::get(&connection, &"type".into())
        .ok()
        .and_then(|t| t.as_string());
    let saving = Reflect::get(&connection, &"saveData".into())
        .ok()
        .and_then(|s| s.as_bool())
        .unwrap_or(false);
    matches!(kind.as_deref(), Some("wifi" | "ethernet")) && !saving
}

/// Takes `urls` out of the cache `name`.
pub async fn remove(name: &str, urls: &[String]) -> Result<(), String> {
    let cache = cache(name).await?;
    for url in urls {
        JsFuture::from(cache.delete_with_str(url))
            .await
            .map_err(js_error)?;
    }
    Ok(())
}

fn storage_manager() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    Reflect::get(&navigator, &"storage".into())
        .ok()
        .filter(|s| !s.is_undefined())
}

async fn call(target: &JsValue, method: &str) -> Option<JsValue> {
    let f = Reflect::get(target, &method.into()).ok()?;
    let f: js_sys::Function = f.dyn_into().ok()?;
    let promise: Promise = f.call0(target).ok()?.dyn_into().ok()?;
    JsFuture::from(promise).await.ok()
}

/// What the browser says of this site's storage.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Storage {
    pub used: Option<f64>,
    pub quota: Option<f64>,
    /// Kept even when space runs short.
    pub persisted: bool,
}

pub async fn storage() -> Storage {
    let Some(manager) = storage_manager() else {
        return Storage::default();
    };
    let estimate = call(&manager, "estimate").await;
    let number = |key: &str| {
        estimate
            .as_ref()
            .and_then(|e| Reflect::get(e, &key.into()).ok())
            .and_then(|v| v.as_f64())
    };
    Storage {
        used: number("usage"),
        quota: number("quota"),
        persisted: call(&manager, "persisted")
            .await
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    }
}

/// Asks the browser to keep this site's storage; whether it will.
pub async fn persist() -> bool {
    match storage_manager() {
        Some(manager) => call(&manager, "persist")
            .await
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        None => false,
    }
}
