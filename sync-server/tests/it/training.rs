//! The training hub through the real server: the blob store's conformance
//! (the filesystem store and the in-memory one, the same checks), a
//! resumable upload, publishing, who may fetch which file (with ranges),
//! an exam taken on a device and graded by the server into a certificate
//! anyone can verify, and the answer key never reaching a partner.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use model::{Attempt, CatalogDoc, Timestamp, TrainingDoc};
use serde_json::json;
use sha2::{Digest, Sha256};
use sync_server::platform::blobs::{BlobError, BlobId, BlobStore};

use crate::helpers::*;

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that differ at every offset, so a range cut in the wrong place
/// shows.
fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn read(store: &BlobStore, id: &BlobId, range: std::ops::Range<u64>) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .read(id, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

/// What every blob store must do, whatever keeps the bytes.
async fn conformance(store: BlobStore) {
    let bytes = sample(300_000);
    let id = BlobId::of(&bytes);
    assert_eq!(store.size(&id).await.unwrap(), None);
    assert!(matches!(
        store.read(&id, 0..1).await,
        Err(BlobError::NotFound)
    ));

    // An upload in three parts, cut short after the second: what arrived
    // stays, and it resumes from there.
    let upload = "0123456789abcdef0123456789abcdef";
    let size = bytes.len() as u64;
    assert_eq!(store.received(upload).await.unwrap(), 0);
    let at = store
        .append(upload, size, 0, Bytes::copy_from_slice(&bytes[..100_000]))
        .await
        .unwrap();
    assert_eq!(at, 100_000);
    // A part sent again at an offset already passed is refused, saying
    // where the upload stands.
    assert!(matches!(
        store
            .append(upload, size, 0, Bytes::copy_from_slice(&bytes[..10]))
            .await,
        Err(BlobError::Offset { received: 100_000 })
    ));
    store
        .append(
            upload,
            size,
            100_000,
            Bytes::copy_from_slice(&bytes[100_000..200_000]),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.finish(upload, size, &id).await,
        Err(BlobError::Incomplete {
            received: 200_000,
            ..
        })
    ));
    // "The connection dropped": a new start asks where it stands.
    let resumed_at = store.received(upload).await.unwrap();
    assert_eq!(resumed_at, 200_000);
    assert!(matches!(
        store
            .append(
                upload,
                size,
                resumed_at,
                Bytes::copy_from_slice(&[0u8; 100_001])
            )
            .await,
        Err(BlobError::PastSize { .. })
    ));
    store
        .append(
            upload,
            size,
            resumed_at,
            Bytes::copy_from_slice(&bytes[200_000..]),
        )
        .await
        .unwrap();
    store.finish(upload, size, &id).await.unwrap();
    assert_eq!(
        store.received(upload).await.unwrap(),
        0,
        "parts left behind"
    );
    assert_eq!(store.size(&id).await.unwrap(), Some(size));
    assert_eq!(read(&store, &id, 0..size).await, bytes);
    assert_eq!(read(&store, &id, 1000..1010).await, bytes[1000..1010]);
    assert_eq!(
        read(&store, &id, size - 5..size).await,
        bytes[bytes.len() - 5..]
    );
    // Finishing again is done already.
    store.finish(upload, size, &id).await.unwrap();

    // Bytes that are not the ones declared never become the blob.
    let other = "fedcba9876543210fedcba9876543210";
    let wrong = sample(1000);
    let declared = BlobId::of(b"something else");
    store
        .append(other, 1000, 0, Bytes::copy_from_slice(&wrong))
        .await
        .unwrap();
    match store.finish(other, 1000, &declared).await {
        Err(BlobError::Hash { found }) => assert_eq!(found, BlobId::of(&wrong)),
        other => panic!("finished as {other:?}"),
    }
    assert_eq!(store.size(&declared).await.unwrap(), None);
    store.discard(other).await.unwrap();
    assert_eq!(store.received(other).await.unwrap(), 0);

    // A whole put is named by its hash, and the same bytes are one blob.
    let small = Bytes::from_static(b"%PDF-1.7 tiny");
    let put = store.put(small.clone()).await.unwrap();
    assert_eq!(put, BlobId::of(&small));
    assert_eq!(store.put(small.clone()).await.unwrap(), put);
    assert_eq!(store.read_all(&put).await.unwrap(), small);
}

#[tokio::test]
async fn the_in_memory_blob_store_conforms() {
    conformance(BlobStore::in_memory()).await;
}

/// An S3-compatible service on loopback: moto's server (`MOTO_SERVER`,
/// the `moto_server` program `cargo xtask test` installs), on a port of
/// its choosing, ended when dropped.
struct Moto {
    child: tokio::process::Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Moto {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let program = std::env::var("MOTO_SERVER").expect(
            "MOTO_SERVER names moto's server (`cargo xtask test` installs it in target/moto)",
        );
        let mut child = tokio::process::Command::new(program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(at) = line.find("http://127.0.0.1:") {
                    return line[at..].trim().to_owned();
                }
            }
            panic!("moto_server ended before saying where it listens");
        })
        .await
        .expect("moto_server listening within 60 s");
        // Its log goes on: read and dropped, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Moto { child, endpoint }
    }

    /// Makes a bucket (moto takes an unsigned request).
    async fn bucket(&self, name: &str) {
        let addr: std::net::SocketAddr = self.endpoint["http://".len()..].parse().unwrap();
        let (status, _, body) =
            http_request(addr, "PUT", &format!("/{name}"), &[], Some(b"")).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn an_s3_compatible_blob_store_conforms() {
    let moto = Moto::start().await;
    moto.bucket("portal-blobs").await;
    let config = sync_server::platform::blobs::S3Config {
        bucket: "portal-blobs".to_owned(),
        endpoint: moto.endpoint.clone(),
        region: "us-east-1".to_owned(),
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
    };
    conformance(BlobStore::s3(&config).unwrap()).await;
    // A bucket that is not there fails as an error, not as "no blob".
    let missing = BlobStore::s3(&sync_server::platform::blobs::S3Config {
        bucket: "no-such-bucket".to_owned(),
        ..config
    })
    .unwrap();
    assert!(matches!(
        missing.put(Bytes::from_static(b"x")).await,
        Err(BlobError::Store(_))
    ));
    drop(moto.child);
}

#[tokio::test]
async fn the_filesystem_blob_store_conforms() {
    let dir = std::env::temp_dir().join(format!("blobs-{:016x}", rand::random::<u64>()));
    conformance(BlobStore::filesystem(&dir).unwrap()).await;
    // A second store over the same directory finds what the first kept
    // (a restarted server).
    let again = BlobStore::filesystem(&dir).unwrap();
    assert_eq!(
        again.size(&BlobId::of(b"%PDF-1.7 tiny")).await.unwrap(),
        Some(13)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Uploads `bytes` as the admin, in two parts, with a part sent at a
/// wrong offset in between (answered 409 with where to go on).
pub(crate) async fn upload(
    server: &TestServer,
    admin: &str,
    bytes: &[u8],
    content_type: &str,
) -> String {
    let sha = hex(bytes);
    let (status, state) = api(
        server,
        admin,
        "POST",
        "/api/admin/blobs/uploads",
        Some(json!({ "sha256": sha, "bytes": bytes.len(), "content_type": content_type })),
    )
    .await;
    assert_eq!(status, 201, "{state}");
    let id = state["upload"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {admin}");
    let half = bytes.len() / 2;
    let put = |offset: usize, part: &[u8]| {
        let path = format!("/api/admin/blobs/uploads/{id}?offset={offset}");
        let auth = auth.clone();
        let part = part.to_vec();
        async move {
            let (status, _, body) = http_request(
                server.addr(),
                "PUT",
                &path,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/octet-stream"),
                ],
                Some(&part),
            )
            .await;
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        }
    };
    let (status, body) = put(0, &bytes[..half]).await;
    assert_eq!(
        (status, body["received"].as_u64()),
        (200, Some(half as u64))
    );
    let (status, body) = put(0, &bytes[..half]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["current"]["received"], half);
    // Declared again (the page was closed halfway): the same upload, where
    // it stands.
    let (status, again) = api(
        server,
        admin,
        "POST",
        "/api/admin/blobs/uploads",
        Some(json!({ "sha256": sha, "bytes": bytes.len(), "content_type": content_type })),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["upload"].as_str(), Some(id.as_str()));
    assert_eq!(again["received"], half);
    let (status, body) = put(half, &bytes[half..]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(
        server,
        admin,
        "POST",
        &format!("/api/admin/blobs/uploads/{id}/finish"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upload"], serde_json::Value::Null);
    sha
}

const MARKER: &str = "only-the-server-knows-this";

fn track(id: &str, audience: &str, video: &str, video_bytes: usize) -> serde_json::Value {
    json!({
        "id": id, "channel": "Selling", "title": format!("Track {id}"),
        "summary": "", "audience": audience,
        "modules": [{
            "id": format!("{id}-m1"), "title": "Basics", "summary": "", "minutes": 10,
            "lessons": [
                { "id": format!("{id}-l1"), "title": "Watch", "body": "",
                  "media": { "sha256": video, "kind": "video", "content_type": "video/mp4",
                             "bytes": video_bytes, "caption": "A demo" } },
                { "id": format!("{id}-l2"), "title": "Read", "body": "# Hello\n\nText." }
            ],
            "quiz": {
                "id": format!("{id}-exam"), "title": "Exam", "kind": "exam", "pass_percent": 50,
                "questions": [
                    { "id": "q1", "prompt": "One?", "choices": [{"id":"a","text":"A"},{"id":"b","text":"B"}],
                      "correct": ["b"], "explanation": MARKER },
                    { "id": "q2", "prompt": "Two?", "multiple": true,
                      "choices": [{"id":"a","text":"A"},{"id":"b","text":"B"},{"id":"c","text":"C"}],
                      "correct": ["a","c"], "explanation": MARKER }
                ]
            }
        }]
    })
}

async fn publish(server: &TestServer, admin: &str, body: serde_json::Value) -> serde_json::Value {
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, saved) = api(
        server,
        admin,
        "PUT",
        &format!("/api/admin/training/tracks/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (status, published) = api(
        server,
        admin,
        "POST",
        &format!("/api/admin/training/tracks/{id}/publish"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{published}");
    published
}

async fn get_blob(
    server: &TestServer,
    token: &str,
    sha: &str,
    range: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(range) = range {
        headers.push(("range", range));
    }
    http_get(server.addr(), &format!("/blobs/{sha}"), &headers).await
}

#[tokio::test]
async fn a_partner_learns_offline_and_the_server_grades_the_exam_into_a_certificate() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&db.url, "a-admin").await;
    let ben = session_for(&db.url, "a-ben").await;

    let video = sample(50_000);
    let sha = upload(&server, &admin, &video, "video/mp4").await;
    let secret_video = sample(7_000);
    let secret_sha = upload(&server, &admin, &secret_video, "video/mp4").await;
    let published = publish(
        &server,
        &admin,
        track("selling", "everyone", &sha, video.len()),
    )
    .await;
    assert_eq!(published["version"], 1);
    publish(
        &server,
        &admin,
        track("leading", "team_leaders", &secret_sha, secret_video.len()),
    )
    .await;

    // Ben may fetch the file of a track he reads, by ranges (a seek).
    let (status, headers, body) = get_blob(&server, &ben, &sha, Some("bytes=1000-1999")).await;
    assert_eq!(status, 206);
    assert_eq!(body, video[1000..2000]);
    assert_eq!(
        header(&headers, "content-range"),
        Some("bytes 1000-1999/50000")
    );
    assert_eq!(header(&headers, "accept-ranges"), Some("bytes"));
    assert!(
        header(&headers, "cache-control")
            .unwrap()
            .contains("immutable")
    );
    let (status, _, body) = get_blob(&server, &ben, &sha, None).await;
    assert_eq!((status, body.len()), (200, video.len()));
    let (status, _, _) = get_blob(&server, &ben, &sha, Some("bytes=50000-")).await;
    assert_eq!(status, 416);
    // Not a file of the team leaders' track, nor one nobody published, nor
    // without a session.
    assert_eq!(get_blob(&server, &ben, &secret_sha, None).await.0, 404);
    let ana = session_for(&db.url, "a-ana").await;
    assert_eq!(get_blob(&server, &ana, &secret_sha, None).await.0, 200);
    let (status, _, _) = http_get(server.addr(), &format!("/blobs/{sha}"), &[]).await;
    assert_eq!(status, 401);
    // A partner may not upload, nor author.
    let (status, _) = api(
        &server,
        &ben,
        "POST",
        "/api/admin/blobs/uploads",
        Some(json!({ "sha256": hex(b"x"), "bytes": 1, "content_type": "video/mp4" })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = api(
        &server,
        &ben,
        "PUT",
        "/api/admin/training/tracks/mine",
        Some(track("mine", "everyone", &sha, video.len())),
    )
    .await;
    assert_eq!(status, 403);

    // Ben's app lists the catalogs he may read: one, not the leaders'.
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    let catalogs: Vec<String> = serde_json::from_value(me["catalogs"].clone()).unwrap();
    assert_eq!(
        catalogs,
        vec![published["doc_id"].as_str().unwrap().to_owned()]
    );
    let training_doc = me["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "training")
        .expect("Ben has a training document")["doc_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // On Ben's device: the catalog, then an exam written offline and synced.
    let device = client("a-ben").await;
    let _dialer = connect(&device, &server).await;
    let catalog = open(&device, &catalogs[0]).await;
    let manifest = catalog.with_document(|doc| CatalogDoc::read(doc)).unwrap();
    let read: wire::Published = serde_json::from_str(&manifest.manifest).unwrap();
    assert_eq!(read.track.id, "selling");
    let exam = read.track.modules[0].quiz.as_ref().unwrap();
    assert!(
        exam.questions
            .iter()
            .all(|q| q.correct.is_empty() && q.explanation.is_none())
    );
    let mine = open(&device, &training_doc).await;
    let attempt = |id: &str, answers: &[(&str, &[&str])]| Attempt {
        id: id.into(),
        track: "selling".into(),
        version: 1,
        quiz: "selling-exam".into(),
        exam: true,
        answers: answers
            .iter()
            .map(|(q, picks)| (q.to_string(), picks.iter().map(|p| p.to_string()).collect()))
            .collect(),
        started_at: Timestamp(chrono::Utc::now().timestamp_millis() - 60_000),
        submitted_at: Timestamp(chrono::Utc::now().timestamp_millis()),
        score: None,
    };
    mine.with_document(|doc| {
        TrainingDoc::complete(doc, "selling", "selling-m1", "selling-l1", Timestamp(1))?;
        TrainingDoc::complete(doc, "selling", "selling-m1", "selling-l2", Timestamp(2))?;
        TrainingDoc::complete(doc, "nothing", "made-up", "lesson", Timestamp(1))?;
        TrainingDoc::submit(
            doc,
            &attempt("first", &[("q1", &["b"]), ("q2", &["a", "c"])]),
        )
    })
    .unwrap();

    let certificate: String = wait_for("the certificate", Duration::from_secs(30), || async {
        sqlx::query_scalar("SELECT id FROM certificates WHERE partner_id = 'p-ben'")
            .fetch_optional(&pool)
            .await
            .unwrap()
    })
    .await;
    let (outcome, score): (String, i16) = sqlx::query_as(
        "SELECT outcome, score_percent FROM quiz_attempts WHERE partner_id = 'p-ben' AND id = 'first'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((outcome.as_str(), score), ("passed", 100));
    let progress: Vec<String> = sqlx::query_scalar(
        "SELECT lesson_id FROM training_progress WHERE partner_id = 'p-ben' ORDER BY lesson_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        progress,
        vec!["selling-l1", "selling-l2"],
        "an unpublished lesson was counted"
    );

    // Ben's account view says so: the module done (and counted towards
    // his tier), the exam passed with its certificate.
    let view_doc = account_view_doc(&pool, "p-ben").await;
    let view = open(&device, &view_doc).await;
    let seen = wait_for(
        "the account view to carry the exam",
        Duration::from_secs(30),
        || {
            let view = view.clone();
            async move {
                let read = view
                    .with_document(|doc| model::AccountViewDoc::read(doc))
                    .ok()?;
                (!read.exams.is_empty()).then_some(read)
            }
        },
    )
    .await;
    assert_eq!(
        seen.modules_done
            .iter()
            .map(|m| (m.track.as_str(), m.module.as_str()))
            .collect::<Vec<_>>(),
        vec![("selling", "selling-m1")]
    );
    let training = seen
        .progress
        .components
        .iter()
        .find(|c| c.name == "training")
        .unwrap();
    assert_eq!(training.counted, 1);
    assert_eq!(seen.exams[0].outcome, "passed");
    assert_eq!(
        seen.exams[0].certificate.as_deref(),
        Some(certificate.as_str())
    );
    let graded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE account_id = 'a-ben' AND kind = 'exam_graded'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(graded, 1);

    // Anyone can verify it; a made-up number is not found.
    let (status, _, page) = http_get(server.addr(), &format!("/verify/{certificate}"), &[]).await;
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("genuine") && page.contains("Track selling"),
        "{page}"
    );
    let (status, json) = api(
        &server,
        "none",
        "GET",
        &format!("/api/certificates/{certificate}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["score_percent"], 100);
    // The certificate itself, laid out by typst once and the same bytes
    // after.
    let pdf_path = format!("/verify/{certificate}/certificate.pdf");
    let (status, headers, first) = http_get(server.addr(), &pdf_path, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/pdf"));
    assert!(first.starts_with(b"%PDF-"));
    let (_, _, again) = http_get(server.addr(), &pdf_path, &[]).await;
    assert_eq!(first, again);
    let kept: Option<String> =
        sqlx::query_scalar("SELECT pdf_sha256 FROM certificates WHERE id = $1")
            .bind(&certificate)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept, Some(hex(&first)));
    assert_eq!(
        http_get(
            server.addr(),
            "/verify/0000000000000000/certificate.pdf",
            &[]
        )
        .await
        .0,
        404
    );
    assert_eq!(
        http_get(server.addr(), "/verify/0000000000000000", &[])
            .await
            .0,
        404
    );
    assert_eq!(
        http_get(server.addr(), "/verify/..%2F..%2Fetc", &[])
            .await
            .0,
        404
    );
    // And as a signed Open Badge, checked against the issuer's published
    // key; the key survives a restart (it is in Postgres), and a badge
    // changed by anyone no longer verifies.
    let badge_path = format!("/verify/{certificate}/badge.json");
    let (status, headers, badge) = http_get(server.addr(), &badge_path, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    let badge: serde_json::Value = serde_json::from_slice(&badge).unwrap();
    assert_eq!(badge["type"][1], "OpenBadgeCredential");
    assert_eq!(
        badge["credentialSubject"]["identifier"][0]["identityHash"],
        "Ben Okafor"
    );
    let (_, _, issuer) = http_get(server.addr(), "/issuer", &[]).await;
    let issuer: serde_json::Value = serde_json::from_slice(&issuer).unwrap();
    let key = issuer["verificationMethod"][0]["publicKeyMultibase"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        badge["proof"]["verificationMethod"],
        issuer["verificationMethod"][0]["id"]
    );
    assert!(sync_server::training::badges::verify(&badge, &key));
    let mut forged = badge.clone();
    forged["credentialSubject"]["achievement"]["name"] = json!("Something else");
    assert!(!sync_server::training::badges::verify(&forged, &key));
    assert_eq!(
        http_get(server.addr(), "/verify/0000000000000000/badge.json", &[])
            .await
            .0,
        404
    );
    // One key signs certificates; the other is the referral clicks'
    // cookie's. None is made per render or per start.
    let keys: Vec<String> = sqlx::query_scalar("SELECT id FROM signing_keys ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(keys, ["key-1", "referral-clicks"]);

    // A failed attempt, then one too soon: graded, then refused by the
    // cooldown (24 h by default).
    mine.with_document(|doc| {
        TrainingDoc::submit(doc, &attempt("second", &[("q1", &["a"])]))?;
        TrainingDoc::submit(
            doc,
            &attempt("third", &[("q1", &["b"]), ("q2", &["a", "c"])]),
        )
    })
    .unwrap();
    let outcomes: Vec<(String, Option<String>)> =
        wait_for("the retakes graded", Duration::from_secs(30), || async {
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT id, outcome FROM quiz_attempts WHERE partner_id = 'p-ben' ORDER BY id",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            (rows.len() == 3).then_some(rows)
        })
        .await;
    assert_eq!(
        outcomes,
        vec![
            ("first".into(), Some("passed".into())),
            ("second".into(), Some("failed".into())),
            ("third".into(), Some("too_soon".into())),
        ]
    );
    // A device that says it took one long ago, before any failure, gains
    // nothing: the wait runs on the server's clock.
    mine.with_document(|doc| {
        let mut backdated = attempt("backdated", &[("q1", &["b"]), ("q2", &["a", "c"])]);
        backdated.started_at = Timestamp(0);
        backdated.submitted_at = Timestamp(1);
        TrainingDoc::submit(doc, &backdated)
    })
    .unwrap();
    let backdated: Option<String> = wait_for(
        "the backdated attempt read",
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT outcome FROM quiz_attempts WHERE partner_id = 'p-ben' AND id = 'backdated'",
            )
            .fetch_optional(&pool)
            .await
            .unwrap()
        },
    )
    .await;
    assert_eq!(backdated.as_deref(), Some("too_soon"));

    // The answer key reached Ben nowhere: not his API answers, not any
    // version of the catalog document in its history.
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    assert!(!me.to_string().contains(MARKER));
    catalog.with_document(|doc| {
        for change in doc.get_changes(&[]) {
            let at = doc.fork_at(&[change.hash()]).unwrap();
            let version = CatalogDoc::read(&at).unwrap();
            assert!(!version.manifest.contains(MARKER));
            assert!(!version.manifest.contains("\"correct\""));
        }
    });
    server.stop().await;
}

#[tokio::test]
async fn tracks_and_uploads_refuse_what_they_cannot_keep() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&db.url, "a-admin").await;
    let video = sample(1000);
    let sha = upload(&server, &admin, &video, "video/mp4").await;
    let good = track("t", "everyone", &sha, video.len());
    let mut cases: Vec<(serde_json::Value, &str)> = Vec::new();
    let mut bad = good.clone();
    bad["modules"][0]["quiz"]["questions"][0]["correct"] = json!(["z"]);
    cases.push((bad, "right answers among its choices"));
    let mut bad = good.clone();
    bad["modules"][0]["quiz"]["questions"][0]["correct"] = json!(["a", "b"]);
    cases.push((bad, "exactly one is right"));
    let mut bad = good.clone();
    bad["modules"][0]["lessons"][1]["id"] = json!("t-l1");
    cases.push((bad, "used twice"));
    let mut bad = good.clone();
    bad["modules"][0]["lessons"][0]["media"]["sha256"] = json!(hex(b"never uploaded"));
    cases.push((bad, "not uploaded"));
    let mut bad = good.clone();
    bad["modules"][0]["lessons"][0]["media"]["kind"] = json!("pdf");
    cases.push((bad, "was uploaded as video/mp4"));
    let mut bad = good.clone();
    bad["title"] = json!("a\u{1b}[31m");
    cases.push((bad, "control characters"));
    let mut bad = good.clone();
    bad["modules"][0]["id"] = json!("../x");
    cases.push((bad, "ids are 1 to 64"));
    let mut bad = good.clone();
    bad["modules"] = json!([]);
    cases.push((bad, "1 to 50 modules"));
    let mut bad = good.clone();
    bad["extra"] = json!(1);
    cases.push((bad, "unknown field"));
    for (body, expected) in cases {
        let (status, answer) = api(
            &server,
            &admin,
            "PUT",
            "/api/admin/training/tracks/t",
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{answer} lacks {expected:?}"
        );
    }
    let (status, _) = api(
        &server,
        &admin,
        "PUT",
        "/api/admin/training/tracks/other",
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 400, "a body naming another track was taken");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/training/tracks/none/publish",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Uploads: a type the app cannot show (HTML could script the page),
    // a hash that is no hash, a size of nothing, bytes that are not the
    // ones declared.
    for (body, expected) in [
        (
            json!({ "sha256": hex(b"x"), "bytes": 1, "content_type": "text/html" }),
            "content_type",
        ),
        (
            json!({ "sha256": "ABC", "bytes": 1, "content_type": "video/mp4" }),
            "sha256",
        ),
        (
            json!({ "sha256": hex(b"x"), "bytes": 0, "content_type": "video/mp4" }),
            "bytes",
        ),
    ] {
        let (status, answer) = api(
            &server,
            &admin,
            "POST",
            "/api/admin/blobs/uploads",
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{answer}"
        );
    }
    let (status, state) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/blobs/uploads",
        Some(json!({ "sha256": hex(b"declared"), "bytes": 5, "content_type": "image/png" })),
    )
    .await;
    assert_eq!(status, 201);
    let id = state["upload"].as_str().unwrap();
    let auth = format!("Bearer {admin}");
    let (status, _, _) = http_request(
        server.addr(),
        "PUT",
        &format!("/api/admin/blobs/uploads/{id}?offset=0"),
        &[("authorization", &auth)],
        Some(b"other"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/blobs/uploads/{id}/finish"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("starts again"),
        "{answer}"
    );
    let (_, state) = api(
        &server,
        &admin,
        "GET",
        &format!("/api/admin/blobs/uploads/{id}"),
        None,
    )
    .await;
    assert_eq!(state["received"], 0);
    // An uploaded blob is answered at once the second time.
    let (status, state) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/blobs/uploads",
        Some(json!({ "sha256": sha, "bytes": 1000, "content_type": "video/mp4" })),
    )
    .await;
    assert_eq!(
        (status, state["upload"].clone()),
        (200, serde_json::Value::Null)
    );
    // Not an upload id, not a blob name.
    assert_eq!(
        api(
            &server,
            &admin,
            "GET",
            "/api/admin/blobs/uploads/..%2Fx",
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get_blob(&server, &admin, "../../etc/passwd", None).await.0,
        404
    );
    server.stop().await;
}

/// The demo catalog's directory: the one `cargo xtask test` made
/// (`DEMO_TRAINING_DIR`, real videos, sounds, PDFs and an image), or else
/// the catalog with stand-in bytes for its files.
fn demo_training_dir() -> (std::path::PathBuf, bool) {
    if let Some(dir) = std::env::var_os("DEMO_TRAINING_DIR") {
        return (dir.into(), false);
    }
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/training/catalog.json");
    let text = std::fs::read_to_string(source).unwrap();
    let dir = std::env::temp_dir().join(format!("demo-training-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog.json"), &text).unwrap();
    let catalog: serde_json::Value = serde_json::from_str(&text).unwrap();
    for track in catalog["tracks"].as_array().unwrap() {
        for module in track["modules"].as_array().unwrap() {
            for lesson in module["lessons"].as_array().unwrap() {
                if let Some(name) = lesson["file"]["name"].as_str() {
                    std::fs::write(dir.join(name), format!("stand-in for {name}")).unwrap();
                }
            }
        }
    }
    (dir, true)
}

/// The demo catalog publishes at start through an admin's checks: three
/// tracks of eight modules in all, each file a blob the partners who may
/// read the track can fetch, the exam's key on the server only; a start
/// after that changes nothing.
#[tokio::test]
async fn the_demo_catalog_is_published_once_at_start() {
    let (dir, stand_ins) = demo_training_dir();
    let db = TestDb::new().await;
    let dir_arg = dir.to_str().unwrap();
    let server = TestServer::start_with_args(&db.url, &["--seed-training", dir_arg]).await;
    let pool = db.pool().await;
    let versions: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT track_id, manifest FROM training_versions ORDER BY track_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let tracks: Vec<&str> = versions.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        tracks,
        ["leading-a-team", "product-essentials", "selling-to-clinics"]
    );
    let modules: usize = versions
        .iter()
        .map(|(_, m)| m["track"]["modules"].as_array().unwrap().len())
        .sum();
    assert_eq!(modules, 8);
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM training_exam_keys WHERE quiz_id = 'clinic-exam'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(keys, 5);
    let manifests = serde_json::to_string(&versions).unwrap();
    let exam = versions[2].1["track"]["modules"][3]["quiz"].clone();
    assert_eq!(exam["kind"], "exam");
    assert!(
        exam["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q.get("correct").is_none()),
        "{exam}"
    );
    assert!(
        manifests.contains("\"correct\":[\"a\",\"b\"]"),
        "practice keys stay"
    );

    // Every file is kept, with its type; Ben fetches the ones of his tracks.
    let files: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT b.sha256, b.content_type, b.bytes FROM blobs b ORDER BY b.content_type",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let types: Vec<&str> = files.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "application/pdf",
            "application/pdf",
            "audio/mp4",
            "image/png",
            "video/mp4",
            "video/mp4",
            "video/mp4",
            "video/mp4"
        ]
    );
    let ben = session_for(&db.url, "a-ben").await;
    let ana = session_for(&db.url, "a-ana").await;
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    assert_eq!(me["catalogs"].as_array().unwrap().len(), 2);
    let (_, me) = api(&server, &ana, "GET", "/api/me", None).await;
    assert_eq!(me["catalogs"].as_array().unwrap().len(), 3);
    let coaching: String = sqlx::query_scalar(
        "SELECT sha256 FROM training_version_blobs WHERE track_id = 'leading-a-team'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(get_blob(&server, &ben, &coaching, None).await.0, 404);
    assert_eq!(get_blob(&server, &ana, &coaching, None).await.0, 200);
    let (sha, _, bytes) = files.iter().find(|(_, t, _)| t == "audio/mp4").unwrap();
    let (status, _, body) = get_blob(&server, &ben, sha, None).await;
    assert_eq!((status, body.len() as i64), (200, *bytes));
    if !stand_ins {
        // What `xtask demo-media` made is what its name says.
        assert_eq!(&body[4..8], b"ftyp", "an MP4 container");
    }
    server.stop().await;

    let again = TestServer::start_with_args(&db.url, &["--seed-training", dir_arg]).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM training_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 3, "nothing published again");
    again.stop().await;
    if stand_ins {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Assignments: Ana assigns a module to Ben, her team member, by a day;
/// she may not assign Cleo (not in her team), Ben may not assign at all,
/// a day that is not one or is past is refused, and a track for team
/// leaders is not assigned to a partner. Ben is notified and his account
/// view carries it (his dashboard reads it offline); Ana reads where he
/// stands, and it is complete once his lessons are.
#[tokio::test]
async fn a_team_leader_assigns_a_module_and_sees_where_each_member_stands() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&db.url, "a-admin").await;
    let ana = session_for(&db.url, "a-ana").await;
    let ben = session_for(&db.url, "a-ben").await;
    let video = sample(2_000);
    let sha = upload(&server, &admin, &video, "video/mp4").await;
    publish(
        &server,
        &admin,
        track("selling", "everyone", &sha, video.len()),
    )
    .await;
    publish(
        &server,
        &admin,
        track("leading", "team_leaders", &sha, video.len()),
    )
    .await;
    let due = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    let assign = |token: &str,
                  path: &str,
                  partners: &[&str],
                  track: &str,
                  module: &str,
                  due: &str| {
        let body = json!({ "partner_ids": partners, "track_id": track, "module_id": module, "due_on": due });
        let (token, path) = (token.to_owned(), path.to_owned());
        let server = &server;
        async move { api(server, &token, "POST", &path, Some(body)).await }
    };
    const TEAM: &str = "/api/team/training/assignments";
    const ADMIN: &str = "/api/admin/training/assignments";

    for (token, partners, track, module, day, status, said) in [
        (
            &ana,
            vec!["p-cleo"],
            "selling",
            "selling-m1",
            due.as_str(),
            400,
            "p-cleo",
        ),
        (
            &ana,
            vec!["p-ben", "p-nobody"],
            "selling",
            "selling-m1",
            &due,
            400,
            "p-nobody",
        ),
        (
            &ben,
            vec!["p-ben"],
            "selling",
            "selling-m1",
            &due,
            403,
            "team leaders",
        ),
        (
            &ana,
            vec!["p-ben"],
            "selling",
            "selling-m1",
            "2026-02-30",
            400,
            "YYYY-MM-DD",
        ),
        (
            &ana,
            vec!["p-ben"],
            "selling",
            "selling-m1",
            "2020-01-01",
            400,
            "past",
        ),
        (
            &ana,
            vec!["p-ben"],
            "selling",
            "nowhere",
            &due,
            400,
            "no module",
        ),
        (
            &ana,
            vec!["p-ben"],
            "leading",
            "leading-m1",
            &due,
            400,
            "team leaders",
        ),
        (&ana, vec![], "selling", "selling-m1", &due, 400, "1 to"),
    ] {
        let (got, answer) = assign(token, TEAM, &partners, track, module, day).await;
        assert_eq!(got, status, "{partners:?} {track} {module} {day}: {answer}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains(said),
            "{answer}"
        );
    }
    // Too many at once, or a body of the wrong shape.
    let many: Vec<String> = (0..501).map(|i| format!("p-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, answer) = assign(&ana, TEAM, &many, "selling", "selling-m1", &due).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("1 to 500"),
        "{answer}"
    );
    for body in [
        json!({ "partner_ids": "p-ben", "track_id": "selling", "module_id": "selling-m1", "due_on": due }),
        json!({ "partner_ids": ["p-ben"], "track_id": 7, "module_id": "selling-m1", "due_on": due }),
        json!({ "partner_ids": ["p-ben"], "track_id": "selling", "module_id": "selling-m1", "due_on": due, "extra": 1 }),
        json!({ "partner_ids": ["p-ben"], "track_id": "x".repeat(10_000), "module_id": "m", "due_on": due }),
    ] {
        let (status, answer) = api(&server, &ana, "POST", TEAM, Some(body)).await;
        assert!((400..500).contains(&status), "{status} {answer}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM training_assignments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "a refused request assigns nobody");

    let (status, assigned) = assign(&ana, TEAM, &["p-ben"], "selling", "selling-m1", &due).await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned[0]["partner_id"], "p-ben");
    assert_eq!(assigned[0]["module_title"], "Basics");
    assert_eq!(
        (
            assigned[0]["lessons_done"].as_u64(),
            assigned[0]["lessons"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(assigned[0]["completed_at"], serde_json::Value::Null);
    let (status, _) = assign(&admin, ADMIN, &["p-cleo"], "selling", "selling-m1", &due).await;
    assert_eq!(status, 200);

    // Ben is told, and his account view carries it.
    let (kind, screen): (String, String) = sqlx::query_as(
        "SELECT kind, screen FROM notifications WHERE account_id = 'a-ben'
          AND kind = 'training_assigned'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), screen.as_str()),
        ("training_assigned", "#training-selling")
    );
    let device = client("a-ben").await;
    let _dialer = connect(&device, &server).await;
    let view = open(&device, &account_view_doc(&pool, "p-ben").await).await;
    let seen = wait_for(
        "the assignment in Ben's view",
        Duration::from_secs(30),
        || {
            let view = view.clone();
            async move {
                let read = view
                    .with_document(|doc| model::AccountViewDoc::read(doc))
                    .ok()?;
                (!read.assignments.is_empty()).then_some(read.assignments)
            }
        },
    )
    .await;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (
            seen[0].track.as_str(),
            seen[0].module.as_str(),
            seen[0].due_on.as_str()
        ),
        ("selling", "selling-m1", due.as_str())
    );
    assert_eq!(seen[0].assigned_by, "Ana Souza");

    // Ana reads her team only; the admin reads everyone.
    let (_, team) = api(&server, &ana, "GET", TEAM, None).await;
    let partners: Vec<&str> = team
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["partner_id"].as_str().unwrap())
        .collect();
    assert_eq!(partners, ["p-ben"]);
    let (_, all) = api(&server, &admin, "GET", ADMIN, None).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(api(&server, &ben, "GET", TEAM, None).await.0, 403);

    // Once Ben's lessons are done (as his training document's projection
    // writes them), the assignment is complete.
    sqlx::query(
        "INSERT INTO training_progress (partner_id, track_id, lesson_id, completed_at)
         VALUES ('p-ben', 'selling', 'selling-l1', now()), ('p-ben', 'selling', 'selling-l2', now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (_, team) = api(&server, &ana, "GET", TEAM, None).await;
    assert_eq!(team[0]["lessons_done"], 2);
    assert!(team[0]["completed_at"].is_string(), "{team}");

    // Assigned again: the day moves, nothing is added.
    let later = (chrono::Utc::now() + chrono::Duration::days(14))
        .format("%Y-%m-%d")
        .to_string();
    let (status, again) = assign(&ana, TEAM, &["p-ben"], "selling", "selling-m1", &later).await;
    assert_eq!(status, 200);
    assert_eq!(again[0]["due_on"], later);
    let (_, team) = api(&server, &ana, "GET", TEAM, None).await;
    assert_eq!(team.as_array().unwrap().len(), 1);
    assert_eq!(api(&server, &ana, "GET", ADMIN, None).await.0, 403);
    assert_eq!(
        assign(&ana, ADMIN, &["p-ben"], "selling", "selling-m1", &later)
            .await
            .0,
        403
    );

    // A version without the module: nobody can complete it any more, so
    // it is listed nowhere, and Ben's view drops it.
    let mut next = track("selling", "everyone", &sha, video.len());
    next["modules"][0]["id"] = json!("selling-m9");
    publish(&server, &admin, next).await;
    let (_, team) = api(&server, &ana, "GET", TEAM, None).await;
    assert_eq!(team, json!([]));
    wait_for(
        "Ben's view to drop the assignment",
        Duration::from_secs(30),
        || {
            let view = view.clone();
            async move {
                let read = view
                    .with_document(|doc| model::AccountViewDoc::read(doc))
                    .ok()?;
                read.assignments.is_empty().then_some(())
            }
        },
    )
    .await;
    server.stop().await;
}

/// A save does not overwrite what its author did not read: a new track
/// takes no id taken, and a save from a draft read earlier is refused
/// (409, with the draft as it is now) once another save came between.
#[tokio::test]
async fn a_save_never_overwrites_a_draft_it_did_not_read() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&db.url, "a-admin").await;
    let video = sample(1_000);
    let sha = upload(&server, &admin, &video, "video/mp4").await;
    let body = track("clinics", "everyone", &sha, video.len());
    let put = |path: String, body: serde_json::Value| {
        let (server, admin) = (&server, admin.clone());
        async move { api(server, &admin, "PUT", &path, Some(body)).await }
    };
    let (status, made) = put(
        "/api/admin/training/tracks/clinics?new=true".into(),
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["published"], serde_json::Value::Null);
    let (status, taken) = put(
        "/api/admin/training/tracks/clinics?new=true".into(),
        body.clone(),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        taken["error"].as_str().unwrap().contains("exists already"),
        "{taken}"
    );

    let read_at = made["updated_at"].as_str().unwrap().to_owned();
    let mut mine = body.clone();
    mine["title"] = json!("Mine");
    let (status, saved) = put(
        format!("/api/admin/training/tracks/clinics?base={read_at}"),
        mine.clone(),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["track"]["title"], "Mine");
    // Another admin's save from the first reading is refused, saying what
    // the draft is now.
    let mut theirs = body.clone();
    theirs["title"] = json!("Theirs");
    let (status, stale) = put(
        format!("/api/admin/training/tracks/clinics?base={read_at}"),
        theirs,
    )
    .await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["current"]["track"]["title"], "Mine");
    // Published, the draft says what may be assigned.
    publish(&server, &admin, mine).await;
    let (_, draft) = api(
        &server,
        &admin,
        "GET",
        "/api/admin/training/tracks/clinics",
        None,
    )
    .await;
    assert_eq!(draft["published"]["modules"][0]["id"], "clinics-m1");
    assert!(
        draft["published"]["modules"][0]["quiz"]["questions"][0]
            .get("correct")
            .is_none()
    );
    server.stop().await;
}
