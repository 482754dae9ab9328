//! Accounts and sessions over HTTP, through the real server: applying,
//! approval, signing in with a cookie or a bearer token, signing out, and
//! the ways in that must stay shut.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::helpers::*;

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// Sends `body` as JSON; returns the status, headers and the JSON answer
/// (`Value::Null` when there is none).
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Vec<(String, String)>, Value) {
    let mut all = headers.to_vec();
    let body = body.map(|b| b.to_string());
    if body.is_some() {
        all.push(JSON);
    }
    let (status, headers, raw) =
        http_request(addr, method, path, &all, body.as_deref().map(str::as_bytes)).await;
    let value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    (status, headers, value)
}

async fn bearer(addr: SocketAddr, email: &str, password: &str) -> String {
    let (status, _, body) = call(
        addr,
        "POST",
        "/api/sessions",
        &[],
        Some(json!({ "email": email, "password": password, "kind": "bearer" })),
    )
    .await;
    assert_eq!(status, 200, "sign-in of {email}: {body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Signs in with a cookie; returns the `Cookie` header value to send back.
async fn cookie(addr: SocketAddr, email: &str, password: &str) -> String {
    let (status, headers, body) = call(
        addr,
        "POST",
        "/api/sessions",
        &[],
        Some(json!({ "email": email, "password": password, "kind": "cookie" })),
    )
    .await;
    assert_eq!(status, 200, "sign-in of {email}: {body}");
    assert_eq!(
        body.get("token"),
        None,
        "a cookie session's token stays in the cookie"
    );
    let set_cookie = header(&headers, "set-cookie").expect("a session cookie");
    set_cookie.split(';').next().unwrap().to_owned()
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

async fn me(addr: SocketAddr, headers: &[(&str, &str)]) -> (u16, Value) {
    let (status, _, body) = call(addr, "GET", "/api/me", headers, None).await;
    (status, body)
}

const ADMIN: (&str, &str) = ("admin@portal.example", "demo-admin-password");
const CLEO: (&str, &str) = ("cleo@martin.example", "demo-cleo-password");

#[tokio::test]
async fn an_applicant_is_approved_signs_in_and_out() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let application = json!({
        "name": "Dora Lang", "email": "Dora@Lang.example", "company": "Lang GmbH",
        "password": "correct horse battery"
    });

    let (status, _, body) = call(
        addr,
        "POST",
        "/api/applications",
        &[],
        Some(application.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "applied");
    let id = body["id"].as_str().unwrap().to_owned();
    // Again: answered as any application (hostile/accounts.rs), and
    // nothing more is stored.
    let (status, _, body) = call(addr, "POST", "/api/applications", &[], Some(application)).await;
    assert_eq!((status, &body["status"]), (201, &json!("applied")));
    assert_ne!(body["id"].as_str(), Some(id.as_str()));

    // Not approved yet: the right password says so, nothing more.
    let (status, _, _) = call(
        addr,
        "POST",
        "/api/sessions",
        &[],
        Some(json!({ "email": "dora@lang.example", "password": "correct horse battery", "kind": "bearer" })),
    )
    .await;
    assert_eq!(status, 403);

    let admin = auth(&bearer(addr, ADMIN.0, ADMIN.1).await);
    let (status, _, list) = call(
        addr,
        "GET",
        "/api/admin/applications",
        &[("Authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let pending: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(pending, [id.as_str()]);

    // A partner cannot decide applications.
    let cleo = auth(&bearer(addr, CLEO.0, CLEO.1).await);
    let approve = format!("/api/admin/applications/{id}/approve");
    let (status, _, _) = call(addr, "POST", &approve, &[("Authorization", &cleo)], None).await;
    assert_eq!(status, 403);
    let (status, _, _) = call(
        addr,
        "GET",
        "/api/admin/applications",
        &[("Authorization", &cleo)],
        None,
    )
    .await;
    assert_eq!(status, 403);

    let (status, _, decision) =
        call(addr, "POST", &approve, &[("Authorization", &admin)], None).await;
    assert_eq!(status, 200, "{decision}");
    let partner_id = decision["partner_id"].as_str().unwrap().to_owned();
    let (status, _, _) = call(addr, "POST", &approve, &[("Authorization", &admin)], None).await;
    assert_eq!(status, 409, "an application is decided once");

    // Approval made the partner as the fixtures do: a row and a pipeline document.
    let pool = db.pool().await;
    let (name, company): (String, String) =
        sqlx::query_as("SELECT name, company FROM partners WHERE id = $1")
            .bind(&partner_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), company.as_str()),
        ("Dora Lang", "Lang GmbH")
    );
    let doc_id = pipeline_doc(&pool, &partner_id).await;
    let stored = stored(&pool, &doc_id).await;
    let pipeline = model::PipelineDoc::read(&stored).unwrap();
    assert!(pipeline.leads.is_empty());
    // And their account view, before any deal.
    account_view_doc(&pool, &partner_id).await;

    // Bearer session.
    let token = bearer(addr, "DORA@lang.example", "correct horse battery").await;
    let dora = auth(&token);
    let (status, body) = me(addr, &[("Authorization", &dora)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["account_id"].as_str(),
            body["role"].as_str(),
            body["partner_id"].as_str(),
            body["session"]["kind"].as_str()
        ),
        (
            Some(id.as_str()),
            Some("partner"),
            Some(partner_id.as_str()),
            Some("bearer")
        )
    );
    let (status, headers, _) = call(
        addr,
        "DELETE",
        "/api/sessions/current",
        &[("Authorization", &dora)],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert_eq!(
        me(addr, &[("Authorization", &dora)]).await.0,
        401,
        "a revoked token is refused"
    );

    // Cookie session.
    let (status, headers, _) = call(
        addr,
        "POST",
        "/api/sessions",
        &[],
        Some(json!({ "email": "dora@lang.example", "password": "correct horse battery", "kind": "cookie" })),
    )
    .await;
    assert_eq!(status, 200);
    let set_cookie = header(&headers, "set-cookie").unwrap();
    let attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"]
    );
    let jar = set_cookie.split(';').next().unwrap().to_owned();
    let (status, body) = me(addr, &[("Cookie", &jar)]).await;
    assert_eq!(
        (status, body["session"]["kind"].as_str()),
        (200, Some("cookie"))
    );
    let (status, headers, _) = call(
        addr,
        "DELETE",
        "/api/sessions/current",
        &[("Cookie", &jar), ("Origin", &format!("http://{addr}"))],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        header(&headers, "set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(me(addr, &[("Cookie", &jar)]).await.0, 401);
}

#[tokio::test]
async fn a_rejected_application_needs_a_reason_and_cannot_sign_in() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let (_, _, body) = call(
        addr,
        "POST",
        "/api/applications",
        &[],
        Some(
            json!({ "name": "Eli", "email": "eli@x.example", "password": "long enough password" }),
        ),
    )
    .await;
    let reject = format!(
        "/api/admin/applications/{}/reject",
        body["id"].as_str().unwrap()
    );
    let admin = auth(&bearer(addr, ADMIN.0, ADMIN.1).await);
    let (status, _, body) = call(
        addr,
        "POST",
        &reject,
        &[("Authorization", &admin)],
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            400,
            Some("a rejection needs a reason of 1 to 1000 characters")
        )
    );
    let (status, _, body) = call(
        addr,
        "POST",
        &reject,
        &[("Authorization", &admin)],
        Some(json!({ "reason": "not a partner" })),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("rejected")));
    let (status, _, _) = call(
        addr,
        "POST",
        "/api/sessions",
        &[],
        Some(json!({ "email": "eli@x.example", "password": "long enough password", "kind": "bearer" })),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn demo_accounts_sign_in_and_a_team_leader_sees_the_team() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let ana = auth(&bearer(addr, "ana@souza.example", "demo-ana-password").await);
    let (status, body) = me(addr, &[("Authorization", &ana)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["role"], "team_leader");
    assert_eq!(body["partner_id"], "p-ana");
    assert_eq!(
        body["team"],
        json!([{ "account_id": "a-ben", "name": "Ben Okafor", "partner_id": "p-ben" }])
    );

    let ben = auth(&bearer(addr, "ben@okafor.example", "demo-ben-password").await);
    let (_, body) = me(addr, &[("Authorization", &ben)]).await;
    assert_eq!(
        (body["role"].as_str(), body["team_leader_id"].as_str()),
        (Some("partner"), Some("a-ana"))
    );

    let admin = auth(&bearer(addr, ADMIN.0, ADMIN.1).await);
    let (_, body) = me(addr, &[("Authorization", &admin)]).await;
    assert_eq!(
        (body["role"].as_str(), &body["partner_id"]),
        (Some("admin"), &Value::Null)
    );
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_401() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let mut answers = Vec::new();
    for (email, password) in [
        (CLEO.0, "wrong password!"),
        ("nobody@x.example", CLEO.1),
        ("not an email", CLEO.1),
    ] {
        let (status, _, body) = call(
            server.addr,
            "POST",
            "/api/sessions",
            &[],
            Some(json!({ "email": email, "password": password, "kind": "bearer" })),
        )
        .await;
        answers.push((status, body));
    }
    let first = answers[0].clone();
    assert_eq!(first.0, 401);
    assert!(answers.iter().all(|a| *a == first), "{answers:?}");

    for token in ["", "garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_eq!(
            me(server.addr, &[("Authorization", &auth(token))]).await.0,
            401
        );
    }
    assert_eq!(me(server.addr, &[]).await.0, 401);
}

#[tokio::test]
async fn brute_force_is_limited_per_account_and_per_address() {
    let db = TestDb::new().await;
    // The five guesses let through take this server's whole queue for
    // password hashing (each server has its own).
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let attempt = |email: String, password: &'static str| async move {
        call(
            addr,
            "POST",
            "/api/sessions",
            &[],
            Some(json!({ "email": email, "password": password, "kind": "bearer" })),
        )
        .await
    };
    // Sent at once, so no delay passes in between (see accounts/limits.rs's
    // `SignInLimiter`; hostile/accounts.rs has the lock-out attack).
    type Answer = (u16, Vec<(String, String)>, Value);
    let statuses = |answers: Vec<Answer>| {
        let mut statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
        statuses.sort();
        let waits = answers
            .iter()
            .filter_map(|(_, headers, _)| header(headers, "retry-after"))
            .map(|s| s.parse::<u64>().unwrap());
        assert!(waits.into_iter().all(|s| s == 1));
        statuses
    };
    // One email from one address: five guesses, then a second apart.
    let guesses = (0..8).map(|_| attempt(CLEO.0.to_owned(), "wrong password!"));
    let answers = futures::future::join_all(guesses).await;
    assert_eq!(statuses(answers), [[401; 5], [429; 5]].concat()[..8]);
    // Another account is not slowed by it.
    bearer(addr, ADMIN.0, ADMIN.1).await;

    // One address, whichever emails: twenty, then a second apart. One
    // after another: sent at once, most would be turned away by the queue
    // for password checks (503) before the limiter is asked, and each
    // check takes far less than the second.
    let mut answers = Vec::new();
    for i in 5..30 {
        answers.push(attempt(format!("guess{i}@x.example"), "wrong password!").await);
    }
    assert_eq!(statuses(answers), [[401; 15], [429; 15]].concat()[..25]);
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(&db.url, &["--session-days", "1"]).await;
    let token = bearer(server.addr, CLEO.0, CLEO.1).await;
    let (status, body) = me(server.addr, &[("Authorization", &auth(&token))]).await;
    assert_eq!(status, 200);
    let expires: chrono::DateTime<chrono::Utc> = body["session"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::Duration::hours(23) && left <= chrono::Duration::days(1),
        "{left}"
    );

    let pool = db.pool().await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = me(server.addr, &[("Authorization", &auth(&token))]).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"],
        "wrong credentials, or the session has ended; sign in again"
    );
}

#[tokio::test]
async fn cross_site_requests_with_the_cookie_are_refused() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let jar = cookie(addr, CLEO.0, CLEO.1).await;

    let (status, _, body) = call(
        addr,
        "DELETE",
        "/api/sessions/current",
        &[("Cookie", &jar), ("Origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // No Origin and no X-Requested-With: refused too.
    let (status, _, _) = call(
        addr,
        "DELETE",
        "/api/sessions/current",
        &[("Cookie", &jar)],
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        me(addr, &[("Cookie", &jar)]).await.0,
        200,
        "the session survived"
    );

    // Signing a browser in from another site is refused as well.
    let (status, headers, _) = call(
        addr,
        "POST",
        "/api/sessions",
        &[("Origin", "https://evil.example")],
        Some(json!({ "email": CLEO.0, "password": CLEO.1, "kind": "cookie" })),
    )
    .await;
    assert_eq!((status, header(&headers, "set-cookie")), (403, None));

    let (status, _, _) = call(
        addr,
        "DELETE",
        "/api/sessions/current",
        &[("Cookie", &jar), ("X-Requested-With", "portal")],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(me(addr, &[("Cookie", &jar)]).await.0, 401);
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_a_clear_4xx() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let addr = server.addr;
    let post = |body: Vec<u8>, headers: Vec<(&'static str, &'static str)>| async move {
        let (status, _, raw) =
            http_request(addr, "POST", "/api/applications", &headers, Some(&body)).await;
        let body: Value = serde_json::from_slice(&raw).expect("a JSON error");
        (status, body["error"].as_str().unwrap().to_owned())
    };

    let (status, message) = post(b"{\"name\": ".to_vec(), vec![JSON]).await;
    assert_eq!(status, 400);
    assert!(
        message.contains("Failed to parse the request body as JSON"),
        "{message}"
    );

    let (status, message) = post(
        br#"{"name": "X", "password": "long enough password"}"#.to_vec(),
        vec![JSON],
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("missing field `email`"), "{message}");

    let (status, message) = post(
        br#"{"name":"X","email":"x@x.example","password":"long enough password"}"#.to_vec(),
        vec![],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message.contains("Content-Type: application/json"),
        "{message}"
    );

    let (status, message) = post(
        br#"{"name":"X","email":"x@x.example","password":"short"}"#.to_vec(),
        vec![JSON],
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "password must be at least 12 characters long")
    );

    let (status, message) = post(
        br#"{"name":"X","email":"no-at-sign","password":"long enough password"}"#.to_vec(),
        vec![JSON],
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "email must look like name@example.com")
    );

    let huge = format!(
        r#"{{"name":"{}","email":"x@x.example","password":"long enough password"}}"#,
        "x".repeat(64 * 1024)
    );
    let (status, message) = post(huge.into_bytes(), vec![JSON]).await;
    assert_eq!((status, message.as_str()), (413, "request body too large"));
}
