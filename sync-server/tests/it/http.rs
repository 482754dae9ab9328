use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn healthz_follows_the_database() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let (status, _, body) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));

    db.set_reachable(false).await;
    wait_for("healthz to report 503", Duration::from_secs(20), || async {
        (http_get(server.addr, "/healthz", &[]).await.0 == 503).then_some(())
    })
    .await;

    db.set_reachable(true).await;
    wait_for("healthz to recover", Duration::from_secs(20), || async {
        (http_get(server.addr, "/healthz", &[]).await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_pwa_is_served_precompressed_with_cache_headers() {
    let db = TestDb::new().await;
    let web = std::env::temp_dir().join(format!("portal-web-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>shell</title>",
    )
    .unwrap();
    std::fs::write(web.join("app-0123456789abcdef.js"), "console.log('plain')").unwrap();
    std::fs::write(web.join("app-0123456789abcdef.js.br"), b"pretend-brotli").unwrap();
    let server = TestServer::start_with_web(&db.url, &web).await;

    let (status, headers, body) = http_get(
        server.addr,
        "/app-0123456789abcdef.js",
        &[("Accept-Encoding", "br")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("br"));
    assert_eq!(body, b"pretend-brotli");
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let (_, headers, body) = http_get(server.addr, "/app-0123456789abcdef.js", &[]).await;
    assert_eq!(
        body, b"console.log('plain')",
        "no br without Accept-Encoding"
    );
    assert_eq!(header(&headers, "content-encoding"), None);

    // Routes of the single-page app get the shell, which is revalidated.
    let (status, headers, body) = http_get(server.addr, "/pipeline/somewhere", &[]).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<title>shell</title>"));
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));

    let csp = header(&headers, "content-security-policy").expect("a CSP on the shell");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));

    // A file the app does not have is a 404, never the shell: a service
    // worker or a script given HTML fails without saying why.
    for missing in [
        "/sw.js",
        "/app-ffffffffffffffff.wasm",
        "/deep/style.css",
        "/../etc/passwd.txt",
    ] {
        let (status, _, body) = http_get(server.addr, missing, &[]).await;
        assert_eq!(status, 404, "{missing}");
        assert!(
            !String::from_utf8_lossy(&body).contains("<title>shell</title>"),
            "{missing}"
        );
    }

    // The API answers in JSON, with the same headers, errors included.
    let (status, headers, body) = http_get(server.addr, "/api/me", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(error["error"].as_str().is_some(), "{error}");
    // The demo partner list of the walking skeleton is gone, and an API
    // path that does not exist is not the app's page.
    let (status, headers, _) = http_get(server.addr, "/api/partners", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
}
