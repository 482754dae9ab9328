use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use model::{Lead, Pipeline, PipelineDoc};
use samod::{BackoffConfig, DialerHandle, DocHandle, Repo};
use sqlx::PgPool;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A database of its own for one test, dropped by nobody: the test cluster is
/// thrown away whole.
pub struct TestDb {
    pub url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let admin = std::env::var("TEST_DATABASE_URL").expect(
            "TEST_DATABASE_URL is not set: run the tests with `cargo xtask test`, \
             which starts Postgres, or point it at a Postgres that may create databases",
        );
        let name = format!("t_{:016x}", rand::random::<u64>());
        let pool = PgPool::connect(&admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin.rsplit_once('/').expect("database URL has a path").0;
        TestDb {
            url: format!("{base}/{name}"),
        }
    }

    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// Cuts the database off from everyone (no new connections, existing
    /// ones terminated) or lets them back: to a server, Postgres is down.
    pub async fn set_reachable(&self, reachable: bool) {
        let name = self.url.rsplit('/').next().unwrap();
        let admin = PgPool::connect(&std::env::var("TEST_DATABASE_URL").unwrap())
            .await
            .unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
        ))
        .execute(&admin)
        .await
        .unwrap();
        if !reachable {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(name)
            .execute(&admin)
            .await
            .unwrap();
        }
        admin.close().await;
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo.json")
}

/// The real server binary, started on a free loopback port.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub database_url: String,
}

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

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl ServerProcess {
    pub async fn start(database_url: &str) -> ServerProcess {
        let web_dir = std::env::temp_dir().join("portal-test-empty-web");
        std::fs::create_dir_all(&web_dir).unwrap();
        Self::start_with(database_url, &web_dir, "127.0.0.1:0").await
    }

    /// Starts with extra command-line settings.
    pub async fn start_with_args(database_url: &str, args: &[&str]) -> ServerProcess {
        let web_dir = std::env::temp_dir().join("portal-test-empty-web");
        std::fs::create_dir_all(&web_dir).unwrap();
        Self::spawn(database_url, &web_dir, "127.0.0.1:0", args).await
    }

    pub async fn start_with_web(database_url: &str, web_dir: &std::path::Path) -> ServerProcess {
        Self::start_with(database_url, web_dir, "127.0.0.1:0").await
    }

    /// Starts again where a stopped or killed server listened, so clients'
    /// dialers find it at the same URL.
    pub async fn restart_on(database_url: &str, addr: SocketAddr) -> ServerProcess {
        let web_dir = std::env::temp_dir().join("portal-test-empty-web");
        Self::start_with(database_url, &web_dir, &addr.to_string()).await
    }

    async fn start_with(
        database_url: &str,
        web_dir: &std::path::Path,
        listen: &str,
    ) -> ServerProcess {
        Self::spawn(database_url, web_dir, listen, &[]).await
    }

    async fn spawn(
        database_url: &str,
        web_dir: &std::path::Path,
        listen: &str,
        extra: &[&str],
    ) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["--listen", listen])
            .args(extra)
            .arg("--seed")
            .arg(fixtures())
            .arg("--web-dir")
            .arg(web_dir)
            .env("DATABASE_URL", database_url)
            .env("METRICS_TOKEN", METRICS_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sync-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    return addr.parse::<SocketAddr>().unwrap();
                }
            }
            panic!("sync-server exited before listening");
        })
        .await
        .expect("sync-server did not start within 60 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess {
            child,
            addr,
            database_url: database_url.to_owned(),
        }
    }

    pub fn ws_url(&self) -> url::Url {
        url::Url::parse(&format!("ws://{}/sync", self.addr)).unwrap()
    }

    /// Kills the server with no chance to flush anything (SIGKILL).
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL the server");
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("server still running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server did not stop within 30 s after SIGTERM")
            .unwrap();
    }
}

/// A native client of a fixture account ("a-ana", "a-ben", "a-cleo",
/// "a-admin"): a samod repo with in-memory storage whose peer id is
/// `<account>/<random device>`, as the server requires.
pub async fn client(account: &str) -> Repo {
    Repo::build_tokio()
        .with_peer_id(samod::PeerId::from(peer_id_of(account)))
        .load()
        .await
}

/// A fresh device's peer id for `account`.
pub fn peer_id_of(account: &str) -> String {
    format!("{account}/{:016x}", rand::random::<u64>())
}

/// The account a test client's peer id names.
pub fn account_of(repo: &Repo) -> String {
    let peer = repo.peer_id();
    peer.as_str()
        .split_once('/')
        .expect("a test client made by `client`")
        .0
        .to_owned()
}

/// A bearer session for `account`, straight in the database (signing in
/// through the API is tested in auth.rs; argon2 for every client would
/// only slow the suite down).
pub async fn session_for(database_url: &str, account: &str) -> String {
    let pool = PgPool::connect(database_url).await.unwrap();
    let (token, _) = sync_server::auth::create_session(
        &pool,
        account,
        sync_server::auth::SessionKind::Bearer,
        chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    pool.close().await;
    token
}

/// Connects a client with a new session of its account; waits until the
/// connection is up.
pub async fn connect(repo: &Repo, server: &ServerProcess) -> DialerHandle<client::Refused> {
    let token = session_for(&server.database_url, &account_of(repo)).await;
    connect_with(repo, server.ws_url(), &token).await
}

/// Connects with a given session token to `url` (the server, or a proxy in
/// front of it).
pub async fn connect_with(
    repo: &Repo,
    url: url::Url,
    token: &str,
) -> DialerHandle<client::Refused> {
    let dialer = dial(repo, url, token);
    tokio::time::timeout(Duration::from_secs(20), dialer.established())
        .await
        .expect("no connection within 20 s")
        .expect("dial failed");
    dialer
}

/// A WebSocket on `/sync` with a new bearer session of `account`, for
/// tests that speak the protocol by hand.
pub async fn raw_socket(
    server: &ServerProcess,
    account: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let token = session_for(&server.database_url, account).await;
    let mut request = server.ws_url().as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the raw client connects")
}

/// Starts dialing, without waiting.
pub fn dial(repo: &Repo, url: url::Url, token: &str) -> DialerHandle<client::Refused> {
    dial_with_backoff(repo, url, token, BackoffConfig::default())
}

pub fn dial_with_backoff(
    repo: &Repo,
    url: url::Url,
    token: &str,
    backoff: BackoffConfig,
) -> DialerHandle<client::Refused> {
    repo.dial(
        backoff,
        std::sync::Arc::new(client::BearerDialer::new(url, token)),
    )
    .unwrap()
}

pub async fn open(repo: &Repo, doc_id: &str) -> DocHandle {
    tokio::time::timeout(Duration::from_secs(20), repo.find(doc_id.parse().unwrap()))
        .await
        .expect("find timed out")
        .unwrap()
        .expect("document not found on the server")
}

/// A JSON API call with a bearer session: status and body (`null` when
/// the body is not JSON).
pub async fn api(
    server: &ServerProcess,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let body = body.map(|b| b.to_string());
    let (status, _, bytes) = http_request(
        server.addr,
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
    server: &ServerProcess,
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
    server: &ServerProcess,
    admin: &str,
    period: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "period": period });
    api(server, admin, "POST", "/api/admin/payouts", Some(body)).await
}

/// A CSV export with a bearer session: asserts it answers 200 with a CSV
/// content type, and gives its text.
pub async fn csv_export(server: &ServerProcess, token: &str, path: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, headers, body) =
        http_request(server.addr, "GET", path, &[("authorization", &auth)], None).await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/csv; charset=utf-8"),
        "{path}"
    );
    String::from_utf8(body).expect("a CSV export is UTF-8")
}

/// The id of `partner`'s account view, once the server has made it.
pub async fn account_view_doc(pool: &PgPool, partner: &str) -> String {
    wait_for(
        &format!("the account view of {partner}"),
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar(
                "SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = 'account_view'",
            )
            .bind(partner)
            .fetch_optional(pool)
            .await
            .unwrap()
        },
    )
    .await
}

pub async fn pipeline_doc(pool: &PgPool, partner: &str) -> String {
    sqlx::query_scalar("SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = 'pipeline'")
        .bind(partner)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Unwraps outside `with_document`: a panic inside it aborts the whole test
/// binary (samod's guard panics again while unwinding).
pub fn read(handle: &DocHandle) -> Pipeline {
    handle
        .with_document(|doc| PipelineDoc::read(doc))
        .expect("a pipeline document")
}

pub fn heads(handle: &DocHandle) -> Vec<automerge::ChangeHash> {
    handle.with_document(|doc| {
        let mut heads = doc.get_heads();
        heads.sort();
        heads
    })
}

/// The heads of a document as the server stored it in Postgres, sorted.
pub async fn stored_heads(pool: &PgPool, doc_id: &str) -> Option<Vec<automerge::ChangeHash>> {
    let doc = sync_server::storage::load_document(pool, doc_id)
        .await
        .ok()?;
    let mut heads = doc.get_heads();
    heads.sort();
    Some(heads)
}

/// Waits until every replica has the same heads.
pub async fn wait_converged(replicas: &[DocHandle], deadline: Duration) {
    wait_for("every replica to converge", deadline, || async {
        let first = heads(&replicas[0]);
        replicas.iter().all(|r| heads(r) == first).then_some(())
    })
    .await
}

/// Polls `check` until it returns `Some`, failing with `what` after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A lead as the `leads` table holds it, comparable with a document's lead.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LeadRow {
    pub lead_id: String,
    pub stage: String,
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub notes: String,
    pub value_minor: i64,
    pub currency: String,
}

impl From<&Lead> for LeadRow {
    fn from(lead: &Lead) -> Self {
        LeadRow {
            lead_id: lead.id.to_string(),
            stage: lead.stage.to_string(),
            contact_name: lead.contact_name.clone(),
            company: lead.company.clone(),
            email: lead.email.clone(),
            phone: lead.phone.clone(),
            notes: lead.notes.clone(),
            value_minor: lead.value.minor,
            currency: lead.value.currency.to_string(),
        }
    }
}

pub async fn lead_rows(pool: &PgPool, partner: &str) -> Vec<LeadRow> {
    sqlx::query_as(
        "SELECT lead_id, stage, contact_name, company, email, phone, notes, value_minor,
                currency::text AS currency
         FROM leads WHERE partner_id = $1 ORDER BY lead_id",
    )
    .bind(partner)
    .fetch_all(pool)
    .await
    .unwrap()
}

pub fn rows_of(pipeline: &Pipeline) -> Vec<LeadRow> {
    let mut rows: Vec<LeadRow> = pipeline.leads.iter().map(LeadRow::from).collect();
    rows.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    rows
}

/// Waits until the `leads` rows of `partner` equal `expected`.
pub async fn wait_for_rows(pool: &PgPool, partner: &str, expected: &[LeadRow]) {
    wait_for(
        "the leads table to match the document",
        Duration::from_secs(20),
        || async { (lead_rows(pool, partner).await == expected).then_some(()) },
    )
    .await
}

/// A document as the server stored it in Postgres.
pub async fn stored(pool: &PgPool, doc_id: &str) -> automerge::Automerge {
    sync_server::storage::load_document(pool, doc_id)
        .await
        .expect("the document loads from Postgres")
}

/// What test servers ask for on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// One gauge of `/metrics`.
pub async fn gauge(server: &ServerProcess, name: &str) -> u64 {
    let auth = format!("Bearer {METRICS_TOKEN}");
    let (status, _, body) =
        http_get(server.addr, "/metrics", &[("authorization", auth.as_str())]).await;
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
}

/// Moves a lead of the pipeline on a device.
pub fn move_to(handle: &DocHandle, lead: &str, stage: model::Stage) {
    handle
        .with_document(|doc| {
            PipelineDoc::move_lead(
                doc,
                &model::LeadId::parse(lead)?,
                stage,
                model::Timestamp(10),
            )
        })
        .unwrap();
}

/// The deal of a lead, once the projection has filed it with `status`.
pub async fn deal_of(pool: &PgPool, partner: &str, lead: &str, status: &str) -> i64 {
    wait_for(
        &format!("a {status} deal for {lead}"),
        Duration::from_secs(20),
        || async {
            sqlx::query_scalar(
                "SELECT id FROM deals WHERE partner_id = $1 AND lead_id = $2 AND status = $3",
            )
            .bind(partner)
            .bind(lead)
            .bind(status)
            .fetch_optional(pool)
            .await
            .unwrap()
        },
    )
    .await
}

/// What an admin reviews of a deal before deciding, as the back-office
/// lists it: its amount, currency and version (a decision names them).
/// Someone who may not list deals gets figures of nothing.
pub async fn reviewed(server: &ServerProcess, token: &str, deal: i64) -> serde_json::Value {
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
pub async fn approve(server: &ServerProcess, token: &str, deal: i64) -> (u16, serde_json::Value) {
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
    server: &ServerProcess,
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

/// `count` deals of `partner` approved `days_ago`, straight in the table: a
/// history that sets the partner's tier.
pub async fn approved_history(
    pool: &PgPool,
    partner: &str,
    doc_id: &str,
    count: u32,
    currency: &str,
    days_ago: i32,
) {
    for i in 0..count {
        sqlx::query(
            "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status,
                                decided_at)
             VALUES ($1, $2, $3, 1000, $4, 'approved', now() - make_interval(days => $5))",
        )
        .bind(partner)
        .bind(format!("earlier-{i}"))
        .bind(doc_id)
        .bind(currency)
        .bind(days_ago)
        .execute(pool)
        .await
        .unwrap();
    }
}

impl ServerProcess {
    /// The server's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let pid = self.child.id().expect("the server runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status")
            * 1024
    }
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
