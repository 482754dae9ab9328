//! What plain HTTP gave away: personal and financial answers a cache could
//! keep, gauges for anyone, a redirect to another host, and a cross-site
//! check that ignored the scheme.

use crate::helpers::*;

#[tokio::test]
async fn every_api_answer_with_personal_or_financial_data_is_no_store() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben = session_for(&server.database_url, "a-ben").await;
    for (token, path) in [
        (&ben, "/api/me"),
        (&ben, "/api/me/ledger"),
        (&ben, "/api/me/balances"),
        (&ben, "/api/me/statements"),
        (&admin, "/api/admin/deals"),
        (&admin, "/api/admin/partners"),
        (&admin, "/api/admin/orders"),
        (&admin, "/api/admin/payouts/preview"),
        (
            &admin,
            "/api/admin/reports/partner_revenue_share?format=csv",
        ),
        // Refusals too: an error names what was asked.
        (&ben, "/api/admin/partners"),
        (&ben, "/api/no-such-thing"),
    ] {
        let auth = format!("Bearer {token}");
        let (status, headers, _) = http_get(server.addr, path, &[("authorization", &auth)]).await;
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path} ({status})"
        );
    }
}

#[tokio::test]
async fn metrics_are_for_the_token_holder_only() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let (status, _, _) = http_get(server.addr, "/metrics", &[]).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_get(
        server.addr,
        "/metrics",
        &[("authorization", "Bearer guess")],
    )
    .await;
    assert_eq!(status, 401);
    // A partner's session is not the metrics token.
    let ben = format!(
        "Bearer {}",
        session_for(&server.database_url, "a-ben").await
    );
    let (status, _, _) = http_get(server.addr, "/metrics", &[("authorization", &ben)]).await;
    assert_eq!(status, 401);
    assert_eq!(gauge(&server, "portal_sync_connections").await, 0);
}

#[tokio::test]
async fn a_double_slash_never_redirects_to_another_host() {
    let db = TestDb::new().await;
    let web = std::env::temp_dir().join(format!("portal-web-{}", std::process::id()));
    std::fs::create_dir_all(web.join("admin")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(web.join("admin/index.html"), "<!doctype html>").unwrap();
    let server = TestServer::start_with_web(&db.url, &web).await;
    for path in ["//admin", "///admin", "//admin/", "/admin//x?y=1"] {
        let (status, headers, _) = http_get(server.addr, path, &[]).await;
        if let Some(location) = header(&headers, "location") {
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{path} ({status}) redirects to {location}"
            );
        }
    }
    let (status, headers, _) = http_get(server.addr, "//admin", &[]).await;
    assert_eq!(
        (status, header(&headers, "location")),
        (308, Some("/admin"))
    );
}

#[tokio::test]
async fn an_id_in_a_path_that_cannot_be_one_is_a_404_not_a_500() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let body = serde_json::json!({"elite_custom_bps": 100});
    for path in [
        "/api/admin/partners/p%00ben/terms",
        "/api/admin/partners/p-%E2%80%8Bben/terms",
    ] {
        let (status, answer) = api(&server, &admin, "PUT", path, Some(body.clone())).await;
        assert_eq!(status, 404, "{path}: {answer}");
    }
    let (status, _) = api(
        &server,
        &admin,
        "PUT",
        "/api/admin/partners/p-ben/terms",
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
}
