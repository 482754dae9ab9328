//! A push service for the tests: RFC 8030 endpoints on loopback
//! (`POST /push/<device>`), one per device made with [`PushService::device`]
//! (its own P-256 key pair and auth secret, as a browser makes them). Each
//! message is checked as a real service checks it (a VAPID signature by the
//! server's key for this origin, RFC 8292; `aes128gcm` and a `TTL`) and
//! decrypted with the device's private key (RFC 8291). A share of the
//! answers can be faults chosen at random: a 429, a 500, or a connection
//! that stalls and never answers. A device can be made gone (410).

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use web_push_native::{
    Auth,
    jwt_simple::{
        algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey},
        claims::NoCustomClaims,
        common::VerificationOptions,
    },
    p256::{SecretKey, elliptic_curve::sec1::ToEncodedPoint},
};

/// A message the service took, decrypted.
#[derive(Clone, Debug)]
pub struct Received {
    pub device: String,
    pub message: serde_json::Value,
    pub at: Instant,
    pub ttl: u64,
    pub urgency: Option<String>,
    pub topic: Option<String>,
}

/// What the service answered, counted.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub taken: usize,
    pub too_many: usize,
    pub failed: usize,
    pub stalled: usize,
    pub gone: usize,
    /// Messages a real service would refuse: a bad signature, a payload
    /// that does not decrypt. None is expected.
    pub refused: Vec<String>,
}

struct Device {
    secret: SecretKey,
    auth: [u8; 16],
}

#[derive(Default)]
struct Inner {
    devices: HashMap<String, Device>,
    gone: HashSet<String>,
    received: Vec<Received>,
    answers: Answers,
    /// The server's VAPID public key, base64url.
    server_key: Option<String>,
}

#[derive(Clone)]
pub struct PushService {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    faults: Arc<Mutex<f64>>,
}

impl PushService {
    /// Starts the service; `fault_rate` of the answers are faults.
    pub async fn start(fault_rate: f64) -> PushService {
        let service = PushService {
            addr: "127.0.0.1:0".parse().unwrap(),
            inner: Arc::default(),
            faults: Arc::new(Mutex::new(fault_rate)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/push/{device}", post(take))
            .with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService { addr, ..service }
    }

    /// The key every message must be signed with (the server's, from
    /// `/api/push/key`).
    pub fn expect_key(&self, public_key: &str) {
        self.inner.lock().unwrap().server_key = Some(public_key.to_owned());
    }

    /// A new device: its subscription as a browser's `toJSON()` gives it.
    pub fn device(&self, name: &str) -> serde_json::Value {
        let secret = SecretKey::random(&mut rand_core_06());
        let public = secret.public_key().to_encoded_point(false);
        let auth: [u8; 16] = rand::random();
        let subscription = serde_json::json!({
            "endpoint": format!("http://{}/push/{name}", self.addr),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(auth),
            }
        });
        self.inner
            .lock()
            .unwrap()
            .devices
            .insert(name.to_owned(), Device { secret, auth });
        subscription
    }

    /// The subscription of a device made before, as its browser gives it
    /// again (to another account, say).
    pub fn device_again(&self, name: &str) -> serde_json::Value {
        let inner = self.inner.lock().unwrap();
        let device = &inner.devices[name];
        let public = device.secret.public_key().to_encoded_point(false);
        serde_json::json!({
            "endpoint": format!("http://{}/push/{name}", self.addr),
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(device.auth),
            }
        })
    }

    /// From now on the device is gone: every message to it gets a 410.
    pub fn forget(&self, name: &str) {
        self.inner.lock().unwrap().gone.insert(name.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn answers(&self) -> Answers {
        self.inner.lock().unwrap().answers.clone()
    }
}

/// p256 0.13 takes rand_core 0.6's RNG: the OS's, through getrandom.
fn rand_core_06() -> impl web_push_native::p256::elliptic_curve::rand_core::CryptoRngCore {
    web_push_native::p256::elliptic_curve::rand_core::OsRng
}

async fn take(
    State(service): State<PushService>,
    Path(device): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rate = *service.faults.lock().unwrap();
    if rand::random::<f64>() < rate {
        match rand::random_range(0..3) {
            0 => {
                service.inner.lock().unwrap().answers.too_many += 1;
                return (StatusCode::TOO_MANY_REQUESTS, [("Retry-After", "1")]).into_response();
            }
            1 => {
                service.inner.lock().unwrap().answers.failed += 1;
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            _ => {
                service.inner.lock().unwrap().answers.stalled += 1;
                // Never answers in time: the sender's timeout ends it.
                tokio::time::sleep(Duration::from_secs(120)).await;
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    let mut inner = service.inner.lock().unwrap();
    if inner.gone.contains(&device) {
        inner.answers.gone += 1;
        return StatusCode::GONE.into_response();
    }
    match check(&inner, &device, &headers, &body) {
        Ok(received) => {
            inner.answers.taken += 1;
            inner.received.push(received);
            StatusCode::CREATED.into_response()
        }
        Err(why) => {
            inner.answers.refused.push(why);
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The checks a push service makes, then the decryption.
fn check(
    inner: &Inner,
    device: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Received, String> {
    let known = inner.devices.get(device).ok_or("no such device")?;
    // RFC 8292 §3: `vapid t=<JWT>, k=<public key>`.
    let authorization = header(headers, "authorization").ok_or("no Authorization")?;
    let rest = authorization.strip_prefix("vapid ").ok_or("not vapid")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => token = Some(t),
            Some(("k", k)) => key = Some(k),
            _ => {}
        }
    }
    let (token, key) = (token.ok_or("no t")?, key.ok_or("no k")?);
    if inner.server_key.as_deref() != Some(key) {
        return Err(format!("signed with another key: {key}"));
    }
    let raw = URL_SAFE_NO_PAD.decode(key).map_err(|e| e.to_string())?;
    let compressed = web_push_native::p256::PublicKey::from_sec1_bytes(&raw)
        .map_err(|e| e.to_string())?
        .to_encoded_point(true);
    let public = ES256PublicKey::from_bytes(compressed.as_bytes()).map_err(|e| e.to_string())?;
    // web-push-native's audience is scheme and host, without the port.
    let options = VerificationOptions {
        allowed_audiences: Some(HashSet::from(["http://127.0.0.1".to_owned()])),
        ..Default::default()
    };
    let claims = public
        .verify_token::<NoCustomClaims>(token, Some(options))
        .map_err(|e| format!("the VAPID token does not verify: {e}"))?;
    if claims.subject.as_deref().is_none_or(|s| s.is_empty()) {
        return Err("no sub".to_owned());
    }
    if header(headers, "content-encoding") != Some("aes128gcm") {
        return Err("not aes128gcm".to_owned());
    }
    let ttl = header(headers, "ttl")
        .and_then(|t| t.parse().ok())
        .ok_or("no TTL")?;
    let plain =
        web_push_native::decrypt(body.to_vec(), &known.secret, Auth::from_slice(&known.auth))
            .map_err(|e| format!("does not decrypt: {e}"))?;
    let message = serde_json::from_slice(&plain).map_err(|e| format!("not JSON: {e}"))?;
    Ok(Received {
        device: device.to_owned(),
        message,
        at: Instant::now(),
        ttl,
        urgency: header(headers, "urgency").map(str::to_owned),
        topic: header(headers, "topic").map(str::to_owned),
    })
}
