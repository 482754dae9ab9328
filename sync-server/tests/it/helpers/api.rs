//! The server's HTTP side as the tests call it: raw HTTP/1.1 requests
//! (from any loopback address), bearer sessions, the JSON API and the
//! admin's decisions, payouts, CSV exports and `/metrics`.

use std::{net::SocketAddr, time::Duration};

use sqlx::PgPool;

use super::server::{METRICS_TOKEN, ServerUnderTest};

/// One HTTP/1.1 GET over a fresh loopback connection: status, headers
/// (lower-cased names) and body. Enough for the few HTTP checks here.
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_request(addr, "GET", path, headers, None).await
}

/// One HTTP/1.1 request over a fresh loopback connection, with an optional
/// body (sent with its `Content-Length`; pass `Content-Type` in `headers`).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_request_from(
        std::net::Ipv4Addr::LOCALHOST,
        addr,
        method,
        path,
        headers,
        body,
    )
    .await
}

/// [`http_request`] from a given loopback address (`127.0.0.2` ..): Linux
/// routes all of 127.0.0.0/8 on loopback, so a test can stand for clients
/// at many addresses, which the server tells apart by the peer address.
pub async fn http_request_from(
    from: std::net::Ipv4Addr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((from, 0).into()).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&bytes).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("HTTP response within 30 s")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A bearer session for `account`, straight in the database (signing in
/// through the API is tested in auth.rs; argon2 for every client would
/// only slow the suite down).
pub async fn session_for(database_url: &str, account: &str) -> String {
    let pool = PgPool::connect(database_url).await.unwrap();
    let (token, _) = sync_server::http::session::create_session(
        &pool,
        account,
        sync_server::http::session::SessionKind::Bearer,
        chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    pool.close().await;
    token
}

/// A JSON API call with a bearer session: status and body (`null` when
/// the body is not JSON).
pub async fn api(
    server: &impl ServerUnderTest,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let body = body.map(|b| b.to_string());
    let (status, _, bytes) = http_request(
        server.addr(),
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_deref().map(str::as_bytes),
    )
    .await;
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// `PUT /api/me/payout-method` as the partner of `token`.
pub async fn set_payout_method(
    server: &impl ServerUnderTest,
    token: &str,
    kind: &str,
    holder: &str,
    account: &str,
) -> (u16, serde_json::Value) {
    let method = serde_json::json!({"kind": kind, "holder": holder, "account": account});
    api(server, token, "PUT", "/api/me/payout-method", Some(method)).await
}

/// `POST /api/admin/payouts` for `period` (`YYYY-MM`).
pub async fn run_payouts(
    server: &impl ServerUnderTest,
    admin: &str,
    period: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "period": period });
    api(server, admin, "POST", "/api/admin/payouts", Some(body)).await
}

/// A CSV export with a bearer session: asserts it answers 200 with a CSV
/// content type, and gives its text.
pub async fn csv_export(server: &impl ServerUnderTest, token: &str, path: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, headers, body) = http_request(
        server.addr(),
        "GET",
        path,
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/csv; charset=utf-8"),
        "{path}"
    );
    String::from_utf8(body).expect("a CSV export is UTF-8")
}

/// One gauge of `/metrics`.
pub async fn gauge(server: &impl ServerUnderTest, name: &str) -> u64 {
    let auth = format!("Bearer {METRICS_TOKEN}");
    let (status, _, body) = http_get(
        server.addr(),
        "/metrics",
        &[("authorization", auth.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
}

/// What an admin reviews of a deal before deciding, as the back-office
/// lists it: its amount, currency and version (a decision names them).
/// Someone who may not list deals gets figures of nothing.
pub async fn reviewed(server: &impl ServerUnderTest, token: &str, deal: i64) -> serde_json::Value {
    let (_, deals) = api(server, token, "GET", "/api/admin/deals?status=all", None).await;
    let listed = deals
        .as_array()
        .and_then(|deals| deals.iter().find(|d| d["id"] == deal))
        .cloned()
        .unwrap_or(serde_json::json!({"amount_minor": 0, "currency": "USD", "version": 0}));
    serde_json::json!({
        "amount_minor": listed["amount_minor"],
        "currency": listed["currency"],
        "version": listed["version"],
    })
}

/// An admin's approval of a deal as listed now, through the API.
pub async fn approve(
    server: &impl ServerUnderTest,
    token: &str,
    deal: i64,
) -> (u16, serde_json::Value) {
    let body = reviewed(server, token, deal).await;
    api(
        server,
        token,
        "POST",
        &format!("/api/admin/deals/{deal}/approve"),
        Some(body),
    )
    .await
}

/// An admin's rejection of a deal as listed now, with `reason`.
pub async fn reject(
    server: &impl ServerUnderTest,
    token: &str,
    deal: i64,
    reason: &str,
) -> (u16, serde_json::Value) {
    let mut body = reviewed(server, token, deal).await;
    body["reason"] = reason.into();
    api(
        server,
        token,
        "POST",
        &format!("/api/admin/deals/{deal}/reject"),
        Some(body),
    )
    .await
}
