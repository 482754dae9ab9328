//! The JS automerge-repo (npm `@automerge/automerge-repo` with its WebSocket
//! adapter, pinned in `tests/interop/package-lock.json`) as a client of our
//! server, next to a native samod client: documents cross in both directions
//! and concurrent offline edits converge.
//!
//! The JS peer is `tests/interop/client.mjs`, driven over stdin/stdout with
//! one JSON command and one JSON reply per line.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use automerge::{
    Automerge, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use samod::{DialerHandle, DocHandle};
use serde_json::{Map, Value as Json, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
    sync::Mutex,
};

use crate::helpers::*;

const SYNC_DEADLINE: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("tests/interop")
}

/// The JS peer: one `node client.mjs` process, killed when dropped.
struct JsPeer {
    _child: Child,
    io: Mutex<(ChildStdin, Lines<BufReader<ChildStdout>>)>,
}

impl JsPeer {
    async fn connect(server: &TestServer) -> JsPeer {
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/@automerge/automerge-repo-network-websocket")
                .exists(),
            "the interop test's npm packages are missing: run `npm ci` in {} \
             (`cargo xtask test` does it)",
            dir.display()
        );
        // Signed in as Ben, the way any third-party client signs in: a
        // bearer session, and a peer id of his.
        let token = session_for(&server.database_url, "a-ben").await;
        let mut child = Command::new("node")
            .arg("client.mjs")
            .env("PORTAL_TOKEN", token)
            .env("PORTAL_PEER_ID", peer_id_of("a-ben"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn `node tests/interop/client.mjs` (is Node.js installed?)");
        // Through eprintln!, so the test harness shows it only on failure.
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("js: {line}");
            }
        });
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let peer = JsPeer {
            _child: child,
            io: Mutex::new((stdin, stdout)),
        };
        peer.call(json!({"cmd": "connect", "url": server.ws_url().as_str()}))
            .await;
        peer
    }

    /// Sends one command and returns its successful reply; panics on an
    /// error reply. The JS side bounds every wait, this bounds the reply.
    async fn call(&self, command: Json) -> Map<String, Json> {
        let mut io = self.io.lock().await;
        let (stdin, stdout) = &mut *io;
        let mut line = command.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("no reply from the JS peer within 30 s to {command}"))
            .expect("read the JS peer's stdout")
            .unwrap_or_else(|| panic!("the JS peer exited while handling {command}"));
        let reply: Map<String, Json> = serde_json::from_str(&reply)
            .unwrap_or_else(|e| panic!("the JS peer replied {reply:?}, not a JSON object: {e}"));
        assert_eq!(
            reply.get("ok"),
            Some(&Json::Bool(true)),
            "the JS peer failed {command}: {reply:?}"
        );
        reply
    }

    /// Creates a document with `content`; returns its `automerge:` URL once
    /// the server has acknowledged it.
    async fn create(&self, content: Json) -> String {
        let reply = self
            .call(json!({"cmd": "create", "content": content}))
            .await;
        let url = reply["url"].as_str().unwrap().to_owned();
        self.call(json!({"cmd": "synced", "id": url})).await;
        url
    }

    async fn find(&self, url: &str) -> (Json, Vec<String>) {
        let reply = self.call(json!({"cmd": "find", "id": url})).await;
        doc_and_heads(reply)
    }

    async fn read(&self, url: &str) -> (Json, Vec<String>) {
        let reply = self.call(json!({"cmd": "read", "id": url})).await;
        doc_and_heads(reply)
    }

    async fn put(&self, url: &str, key: &str, value: &str) {
        self.call(json!({"cmd": "change", "id": url, "key": key, "value": value}))
            .await;
    }
}

fn doc_and_heads(mut reply: Map<String, Json>) -> (Json, Vec<String>) {
    let mut heads: Vec<String> = serde_json::from_value(reply["heads"].take()).unwrap();
    heads.sort();
    (reply["doc"].take(), heads)
}

/// The root map of a flat document as JSON, read with automerge's `ReadDoc`,
/// comparable with what the JS peer reports. JS automerge stores a string as
/// a text object, Rust's `put` as a scalar: both read as a JSON string.
fn contents(handle: &DocHandle) -> Json {
    // samod aborts the process on a panic inside `with_document`: fail outside.
    let read = handle.with_document(|doc| {
        let mut map = Map::new();
        for key in doc.keys(ROOT) {
            let (value, obj) = doc.get(ROOT, key.as_str()).unwrap().unwrap();
            let json = match value {
                Value::Scalar(scalar) => match scalar.as_ref() {
                    ScalarValue::Str(s) => Json::from(s.as_str()),
                    ScalarValue::Int(i) => Json::from(*i),
                    ScalarValue::Uint(u) => Json::from(*u),
                    ScalarValue::F64(f) => Json::from(*f),
                    ScalarValue::Boolean(b) => Json::from(*b),
                    ScalarValue::Null => Json::Null,
                    other => return Err(format!("unexpected scalar at {key}: {other:?}")),
                },
                Value::Object(ObjType::Text) => Json::from(doc.text(&obj).unwrap()),
                Value::Object(kind) => return Err(format!("unexpected {kind:?} at {key}")),
            };
            map.insert(key, json);
        }
        Ok(Json::Object(map))
    });
    read.unwrap_or_else(|e| panic!("{e}: the test uses flat maps of scalars and strings"))
}

fn hex_heads(handle: &DocHandle) -> Vec<String> {
    heads(handle).iter().map(ChangeHash::to_string).collect()
}

/// Waits until the server has everything `handle` has.
async fn pushed(handle: &DocHandle, link: &DialerHandle<client::Refused>) {
    let conn = link.connection_id().expect("connected");
    tokio::time::timeout(SYNC_DEADLINE, handle.they_have_our_changes(conn))
        .await
        .expect("the server did not acknowledge our changes within 20 s");
}

fn put(handle: &DocHandle, key: &str, value: &str) {
    // Unwrapped outside: samod aborts the process on a panic in `with_document`.
    handle
        .with_document(|doc| {
            doc.transact(|tx| tx.put(ROOT, key, value))
                .map_err(|failure| failure.error)
        })
        .unwrap();
}

fn doc_id(url: &str) -> &str {
    url.strip_prefix("automerge:")
        .unwrap_or_else(|| panic!("not an automerge URL: {url}"))
}

#[tokio::test]
async fn interop_rust_reads_a_document_the_js_client_created() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let js = JsPeer::connect(&server).await;
    let url = js
        .create(json!({"from_js": "hello from node", "n": 3}))
        .await;
    let (js_doc, js_heads) = js.read(&url).await;

    let rust = client("a-ben").await;
    let _link = connect(&rust, &server).await;
    let handle = open(&rust, doc_id(&url)).await;
    assert_eq!(contents(&handle)["from_js"], "hello from node");
    assert_eq!(contents(&handle), js_doc);
    assert_eq!(hex_heads(&handle), js_heads);
}

#[tokio::test]
async fn interop_js_reads_a_document_the_rust_client_wrote() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let rust = client("a-ben").await;
    let link = connect(&rust, &server).await;
    let handle = rust.create(Automerge::new()).await.unwrap();
    put(&handle, "from_rust", "hello from tokio");
    pushed(&handle, &link).await;

    let js = JsPeer::connect(&server).await;
    let (js_doc, js_heads) = js.find(&handle.url().to_string()).await;
    assert_eq!(js_doc, json!({"from_rust": "hello from tokio"}));
    assert_eq!(js_heads, hex_heads(&handle));
}

#[tokio::test]
async fn interop_offline_edits_of_js_and_rust_converge() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let js = JsPeer::connect(&server).await;
    let url = js.create(json!({"base": "shared start"})).await;
    let rust = client("a-ben").await;
    let link = connect(&rust, &server).await;
    let handle = open(&rust, doc_id(&url)).await;
    assert_eq!(js.read(&url).await.1, hex_heads(&handle));

    // Both go offline and edit: different keys, and the same key.
    js.call(json!({"cmd": "disconnect"})).await;
    link.close();
    js.put(&url, "from_js", "written in node").await;
    js.put(&url, "both", "js").await;
    put(&handle, "from_rust", "written in rust");
    put(&handle, "both", "rust");
    assert_ne!(js.read(&url).await.1, hex_heads(&handle));

    // Back online: both replicas converge through the server.
    js.call(json!({"cmd": "reconnect"})).await;
    let _link = connect(&rust, &server).await;
    let (js_doc, js_heads) = wait_for(
        "the JS and Rust replicas to converge",
        SYNC_DEADLINE,
        || {
            let (js, url, handle) = (&js, &url, &handle);
            async move {
                let (doc, heads) = js.read(url).await;
                (heads == hex_heads(handle) && doc == contents(handle)).then_some((doc, heads))
            }
        },
    )
    .await;

    assert_eq!(js_heads.len(), 2, "two concurrent heads: {js_heads:?}");
    assert_eq!(js_doc["base"], "shared start");
    assert_eq!(js_doc["from_js"], "written in node", "the JS edit survives");
    assert_eq!(
        js_doc["from_rust"], "written in rust",
        "the Rust edit survives"
    );
    assert!(
        js_doc["both"] == "js" || js_doc["both"] == "rust",
        "one of the concurrent writes wins: {js_doc}"
    );
    let conflicts = handle.with_document(|doc| doc.get_all(ROOT, "both").unwrap().len());
    assert_eq!(conflicts, 2, "the writes to `both` were concurrent");
}

/// The reference JS client and the field client (`portal-field`, on
/// SQLite) edit Ben's pipeline while apart: the JS client corrects a
/// lead's phone, the field client moves the lead and logs a call. Synced,
/// they hold the same document, and the field client's rows (and the
/// server's) have both edits.
#[tokio::test]
async fn interop_the_js_client_and_the_field_client_edit_one_lead_apart_and_converge() {
    use model::{LeadId, LogKind, PipelineEdit, Stage, Timestamp};

    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (_dir, field) = crate::field::field_client(&server, "field-a").await;
    let pipeline = field.session.document("pipeline").unwrap().to_owned();
    let js = JsPeer::connect(&server).await;
    js.find(&pipeline).await;

    // Apart.
    js.call(json!({"cmd": "disconnect"})).await;
    js.call(json!({
        "cmd": "change", "id": pipeline, "path": ["leads", "ben-1"],
        "key": "phone", "value": "+234 1 555 0299",
    }))
    .await;
    let ben_1 = LeadId::parse("ben-1").unwrap();
    field
        .edit(PipelineEdit::Move {
            id: ben_1.clone(),
            to: Stage::Contacted,
        })
        .await
        .unwrap();
    field
        .edit(PipelineEdit::Log {
            id: ben_1,
            kind: LogKind::Call,
            text: "called from the road".into(),
            at: Timestamp(chrono::Utc::now().timestamp_millis()),
        })
        .await
        .unwrap();

    // Together again: the JS client first, then the field client, which
    // takes the JS edit as it sends its own.
    js.call(json!({"cmd": "reconnect"})).await;
    js.call(json!({"cmd": "synced", "id": pipeline})).await;
    field.sync(false, |_| {}).await.unwrap();
    let id = pipeline.clone();
    let (stored, _) = field
        .store
        .call(move |c| portal_field::local::stored_document(c, &id))
        .await
        .unwrap()
        .unwrap();
    let mut field_heads: Vec<String> = stored.get_heads().iter().map(|h| h.to_string()).collect();
    field_heads.sort();
    wait_for(
        "the JS client to hold the field client's edits",
        SYNC_DEADLINE,
        || {
            let (js, pipeline, field_heads) = (&js, &pipeline, &field_heads);
            async move {
                let (_, mut heads) = js.read(pipeline).await;
                heads.sort();
                (&heads == field_heads).then_some(())
            }
        },
    )
    .await;
    let (doc, _) = js.read(&pipeline).await;
    assert_eq!(doc["leads"]["ben-1"]["stage"], "contacted");
    assert_eq!(doc["leads"]["ben-1"]["phone"], "+234 1 555 0299");

    let rows = crate::field::local_leads(&field).await;
    let ada = rows.iter().find(|l| l.lead_id == "ben-1").unwrap();
    assert_eq!(
        (ada.stage.as_str(), ada.phone.as_str()),
        ("contacted", "+234 1 555 0299")
    );
    crate::field::server_rows_reach(&pool, &rows).await;
    server.stop().await;
}
