//! Notifications: the server's Web Push key, a device's push subscription,
//! and what a person wants pushed (the notifications themselves reach the
//! app in its inbox document and in push messages, [`PushMessage`]).

use serde::{Deserialize, Serialize};

use crate::{NotificationCategory, NotificationKind};

/// `GET /api/push/key`: the server's VAPID public key (RFC 8292), the
/// uncompressed P-256 point in unpadded base64url, which a browser's
/// `pushManager.subscribe` takes as `applicationServerKey`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKey {
    pub public_key: String,
}

/// `POST /api/push/subscriptions`: a browser's `PushSubscription.toJSON()`,
/// as it gives it (its `expirationTime` is not read: browsers leave it
/// null, and the app subscribes again on every start instead).
/// `DELETE /api/push/subscriptions` takes the same body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub endpoint: String,
    pub keys: PushKeys,
}

/// The keys a device's messages are encrypted for (RFC 8291), unpadded
/// base64url as browsers write them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// `GET /api/me/notification-preferences`, and the body of `PUT` (the
/// categories it names change; the others stay).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub categories: Vec<CategoryPreference>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPreference {
    pub category: NotificationCategory,
    /// Whether notices of this category are pushed to the person's
    /// devices; the inbox has them either way.
    pub push: bool,
}

/// What a push message carries, decrypted: a notice as the app's service
/// worker shows it. It is also a declarative Web Push message (`web_push`
/// and `notification`, which Safari shows with no service worker), so the
/// service worker reads its fields from `notification` too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushMessage {
    /// Always 8030: marks a declarative message.
    pub web_push: u16,
    pub notification: PushNotification,
    /// The notice's id, as in the inbox: a device that is sent a message
    /// twice shows it once.
    pub id: i64,
    pub kind: NotificationKind,
    /// The app's screen it opens, as the location's hash.
    pub screen: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotification {
    pub title: String,
    pub body: String,
    /// The address a click opens.
    pub navigate: String,
    /// Messages of one tag replace each other on screen.
    pub tag: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_subscription_reads_as_browsers_write_it() {
        let read: PushSubscription = serde_json::from_value(json!({
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "expirationTime": null,
            "keys": { "p256dh": "BOr", "auth": "xyz" }
        }))
        .unwrap();
        assert_eq!(read.keys.auth, "xyz");
        let without: PushSubscription = serde_json::from_value(json!({
            "endpoint": "https://e.example/1", "keys": { "p256dh": "a", "auth": "b" }
        }))
        .unwrap();
        assert_eq!(without.endpoint, "https://e.example/1");
    }
}
