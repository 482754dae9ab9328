//! This device's push notifications: whether the browser can have them,
//! asking once the person chooses to, and subscribing (again on every
//! start of the app: browsers let a subscription lapse without a word, and
//! the server forgets one its push service says is gone). The service
//! worker (`static/sw.js`) shows each message and opens its screen.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_common::api::{self, PushKey};
use web_sys::{Notification, NotificationPermission, PushManager, PushSubscriptionOptionsInit};
use yew::prelude::*;

/// Where this device stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// No Notification or Push API here (iOS Safari outside an installed
    /// app, an old browser).
    Unsupported,
    /// Not asked yet.
    Off,
    /// The person said no; only the browser's settings can undo it.
    Denied,
    On,
}

pub fn standing() -> Standing {
    let Some(window) = web_sys::window() else {
        return Standing::Unsupported;
    };
    let has = |name: &str| Reflect::has(&window, &name.into()).unwrap_or(false);
    if !has("Notification") || !has("PushManager") {
        return Standing::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Standing::On,
        NotificationPermission::Denied => Standing::Denied,
        _ => Standing::Off,
    }
}

async fn push_manager() -> Result<PushManager, String> {
    let window = web_sys::window().ok_or("no window")?;
    let ready = window
        .navigator()
        .service_worker()
        .ready()
        .map_err(|_| "no service worker".to_owned())?;
    let registration: web_sys::ServiceWorkerRegistration = JsFuture::from(ready)
        .await
        .map_err(|_| "the service worker did not start".to_owned())?
        .unchecked_into();
    registration
        .push_manager()
        .map_err(|_| "no push here".to_owned())
}

/// Base64url (no padding) to bytes: the server's key as browsers take it.
fn from_base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Subscribes this device (or takes its subscription) and tells the
/// server. Needs the permission already.
pub async fn subscribe() -> Result<(), String> {
    let manager = push_manager().await?;
    let existing = JsFuture::from(manager.get_subscription().map_err(|_| "no push here")?)
        .await
        .ok()
        .filter(|s| !s.is_null() && !s.is_undefined());
    let subscription = match existing {
        Some(subscription) => subscription,
        None => {
            let key: PushKey = api::get("/api/push/key").await.map_err(|e| e.to_string())?;
            let key = from_base64url(&key.public_key).ok_or("the server's key does not read")?;
            let options = PushSubscriptionOptionsInit::new();
            options.set_user_visible_only(true);
            options.set_application_server_key(&Uint8Array::from(key.as_slice()).into());
            JsFuture::from(
                manager
                    .subscribe_with_options(&options)
                    .map_err(|_| "no push here")?,
            )
            .await
            .map_err(|e| {
                e.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_else(|| "the browser could not subscribe".to_owned())
            })?
        }
    };
    let json = js_sys::JSON::stringify(&subscription)
        .map_err(|_| "the subscription does not read")?
        .as_string()
        .ok_or("the subscription does not read")?;
    api::call("POST", "/api/push/subscriptions", Some(json))
        .await
        .map(|_| ())
        .or_else(|e| match e {
            // 204: no body to read.
            api::ApiError::Unexpected(_) => Ok(()),
            other => Err(other.to_string()),
        })
}

/// Asks the person (a browser asks once; a click must ask), then
/// subscribes.
pub async fn turn_on() -> Result<Standing, String> {
    let asked = Notification::request_permission().map_err(|_| "the browser cannot ask")?;
    let answer = JsFuture::from(asked).await.unwrap_or(JsValue::NULL);
    match answer.as_string().as_deref() {
        Some("granted") => {
            subscribe().await?;
            Ok(Standing::On)
        }
        Some("denied") => Ok(Standing::Denied),
        _ => Ok(Standing::Off),
    }
}

/// On every start, for a signed-in account whose device allows
/// notifications: subscribe again (a no-op for the browser when the
/// subscription is alive; it keeps the server's record of it current).
#[hook]
pub fn use_push(account: Option<String>) {
    use_effect_with(account, |account| {
        if account.is_some() && standing() == Standing::On {
            wasm_bindgen_futures::spawn_local(async {
                if let Err(why) = subscribe().await {
                    web_sys::console::warn_1(&format!("push subscription: {why}").into());
                }
            });
        }
        || ()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_base64url() {
        assert_eq!(from_base64url("AQID").unwrap(), [1, 2, 3]);
        assert_eq!(from_base64url("_-8").unwrap(), [0xff, 0xef]);
        assert_eq!(from_base64url("AQI=").unwrap(), [1, 2]);
        assert!(from_base64url("a b").is_none());
    }
}
