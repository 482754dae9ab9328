//! Team collaboration through the real server: channels kept in step with
//! the accounts, and every write to a channel's messages checked change by
//! change (forgeries refused with an error, nothing stored).

use std::time::Duration;

use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc, transaction::Transactable};
use model::{ChannelIndexDoc, ChatEdit, MessagesDoc, Timestamp};

use crate::{
    access::{Raw, Reply, find, sync_data_with_new_changes},
    helpers::*,
};

fn post(id: &str, body: &str, at: i64) -> ChatEdit {
    ChatEdit::Post {
        id: id.into(),
        at: Timestamp(at),
        body: body.into(),
        reply_to: None,
        file: None,
    }
}

/// Writes `edit` as `account` on a fresh actor of theirs.
fn write_as(doc: &mut Automerge, account: &str, edit: &ChatEdit) {
    if model::author_of(doc.get_actor()) != Some(account) {
        doc.set_actor(model::actor_for(account, rand::random()));
    }
    edit.apply(doc).unwrap();
}

async fn channel_of(pool: &sqlx::PgPool, form: &str) -> String {
    sqlx::query_scalar("SELECT doc_id FROM channels WHERE form = $1 ORDER BY created_at LIMIT 1")
        .bind(form)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn bodies(doc: &Automerge) -> Vec<(String, String)> {
    MessagesDoc::read(doc, None, None)
        .map(|m| m.messages.into_iter().map(|m| (m.author, m.body)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_team_has_its_channel_and_the_programme_its_announcements() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let index = ChannelIndexDoc::read(&stored(&pool, &team).await).unwrap();
    assert_eq!(index.name, "Team Ana Souza");
    let members: Vec<&str> = index
        .members
        .iter()
        .map(|m| m.account_id.as_str())
        .collect();
    assert!(
        members.contains(&"a-ana") && members.contains(&"a-ben"),
        "{members:?}"
    );
    assert!(!members.contains(&"a-cleo"), "Cleo is in no team");
    // This month's and next month's messages documents.
    assert_eq!(index.buckets.len(), 2);
    assert_eq!(
        index.buckets[0].period,
        model::month_of(Timestamp(chrono::Utc::now().timestamp_millis()))
    );
    // Ben lists his team's channel and the announcements, which he reads
    // and does not post in.
    let ben = session_for(&server.database_url, "a-ben").await;
    let (status, list) = api(&server, &ben, "GET", "/api/chat/channels", None).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["form"], "announcements");
    assert_eq!(list[0]["posts"], false);
    assert_eq!(list[1]["doc_id"], team.as_str());
    assert_eq!(list[1]["posts"], true);
    assert_eq!(list[2]["form"], "team_announcements");
    assert_eq!(list[2]["name"], "Ana Souza's team announcements");
    assert_eq!(list[2]["posts"], false, "the leader posts, the team reads");
    let cleo = session_for(&server.database_url, "a-cleo").await;
    let (_, list) = api(&server, &cleo, "GET", "/api/chat/channels", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only the announcements");
    // Ben's read markers are his own document, listed for his devices;
    // his team leader is not given them.
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    let reads: Vec<&serde_json::Value> = me["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "reads")
        .collect();
    assert_eq!(reads.len(), 1, "{me}");
    assert_eq!(reads[0]["access"], "read_write");
    let ana = session_for(&server.database_url, "a-ana").await;
    let (_, me) = api(&server, &ana, "GET", "/api/me", None).await;
    let theirs = me["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "reads")
        .count();
    assert_eq!(theirs, 1, "Ana lists her own read markers only: {me}");
}

/// Ana and Ben post through samod as the app does; what Ben might send by
/// hand is refused with an error naming why, and stores nothing.
#[tokio::test]
async fn forged_channel_writes_are_refused_and_store_nothing() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let bucket = crate::access::bucket_of(&pool, &team).await;

    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let on_ana = find(&ana, &bucket).await.unwrap();
    on_ana.with_document(|d| write_as(d, "a-ana", &post("ana-1", "Kick-off at nine", 1)));
    on_ana.with_document(|d| {
        write_as(
            d,
            "a-ana",
            &ChatEdit::React {
                message: "ana-1".into(),
                emoji: "🎉".into(),
                at: Timestamp(2),
            },
        )
    });
    let ana_actor: ActorId = on_ana.with_document(|d| d.get_actor().clone());
    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ben = find(&ben, &bucket).await.unwrap();
    wait_for(
        "Ana's message on Ben's side",
        Duration::from_secs(20),
        || async { (on_ben.with_document(|d| bodies(d)).len() == 1).then_some(()) },
    )
    .await;
    on_ben.with_document(|d| write_as(d, "a-ben", &post("ben-1", "On my way", 3)));
    let legit = wait_for("both messages stored", Duration::from_secs(20), || async {
        let doc = stored(&pool, &bucket).await;
        (bodies(&doc).len() == 2).then_some(doc)
    })
    .await;
    assert_eq!(
        bodies(&legit),
        [
            ("a-ana".to_owned(), "Kick-off at nine".to_owned()),
            ("a-ben".to_owned(), "On my way".to_owned())
        ]
    );
    let heads = legit.get_heads();

    // The n-th element of a list at the root.
    fn nth(d: &Automerge, list: &str, n: usize) -> (automerge::ObjId, automerge::ObjId) {
        let (_, list) = d.get(ROOT, list).unwrap().unwrap();
        let (_, item) = d.get(&list, n).unwrap().unwrap();
        (list, item)
    }
    type Forgery = Box<dyn Fn(&mut Automerge)>;
    let ben_actor = || model::actor_for("a-ben", rand::random());
    let attempts: Vec<(&str, Forgery, &str)> = vec![
        (
            "change Ana's message",
            Box::new(move |d: &mut Automerge| {
                d.set_actor(ben_actor());
                let (_, m) = nth(d, "messages", 0);
                d.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(&m, "body", "Cancelled")?;
                    Ok(())
                })
                .unwrap();
            }),
            "another user",
        ),
        (
            "delete Ana's message",
            Box::new(move |d: &mut Automerge| {
                d.set_actor(ben_actor());
                let (list, _) = nth(d, "messages", 0);
                d.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.delete(&list, 0)?;
                    Ok(())
                })
                .unwrap();
            }),
            "another user",
        ),
        (
            "take back Ana's reaction",
            Box::new(move |d: &mut Automerge| {
                d.set_actor(ben_actor());
                let (list, _) = nth(d, "reactions", 0);
                d.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.delete(&list, 0)?;
                    Ok(())
                })
                .unwrap();
            }),
            "another user",
        ),
        (
            "move the document to another channel",
            Box::new(move |d: &mut Automerge| {
                d.set_actor(ben_actor());
                d.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(ROOT, "channel", "elsewhere")?;
                    tx.put_object(ROOT, "extra", ObjType::Map)?;
                    Ok(())
                })
                .unwrap();
            }),
            "structure",
        ),
        (
            "post under Ana's actor",
            Box::new(move |d: &mut Automerge| {
                d.set_actor(ana_actor.clone());
                post("ana-2", "I quit", 4).apply(d).unwrap();
            }),
            "registered to another user",
        ),
        (
            "post as Ana on a new actor",
            Box::new(|d: &mut Automerge| {
                d.set_actor(model::actor_for("a-ana", rand::random()));
                post("ana-3", "I quit", 4).apply(d).unwrap();
            }),
            "account id",
        ),
    ];
    for (what, forge, expected) in attempts {
        let base = stored(&pool, &bucket).await;
        let mut forged = base.fork();
        forge(&mut forged);
        let (mut raw, refused) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
        assert_eq!(refused, None);
        raw.sync(&bucket, sync_data_with_new_changes(forged, &base))
            .await;
        let reply = raw.reply_about(&bucket).await;
        assert!(
            matches!(&reply, Reply::Error(m) if m.contains(expected)),
            "{what}: {reply:?}"
        );
        assert_eq!(raw.close_code().await, Some(1008), "{what}");
        assert_eq!(stored(&pool, &bucket).await.get_heads(), heads, "{what}");
    }

    // Posting to the announcements as a partner: not stored (samod drops
    // a read-only peer's changes; the connection stays, so a device that
    // kept such a change does not lose its other documents' sync).
    let announcements = channel_of(&pool, "announcements").await;
    let news = crate::access::bucket_of(&pool, &announcements).await;
    let base = stored(&pool, &news).await;
    let news_heads = base.get_heads();
    let mut forged = base.fork();
    write_as(&mut forged, "a-ben", &post("ben-news", "Free money", 5));
    let (mut raw, _) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    raw.sync(&news, sync_data_with_new_changes(forged, &base))
        .await;
    let reply = raw.reply_about(&news).await;
    assert!(matches!(&reply, Reply::Sync(_)), "announcement: {reply:?}");
    raw.sync(&news, hello_again()).await;
    assert!(matches!(raw.reply_about(&news).await, Reply::Sync(_)));
    assert_eq!(stored(&pool, &news).await.get_heads(), news_heads);

    // Ben, well-behaved again, still posts.
    on_ben.with_document(|d| write_as(d, "a-ben", &post("ben-2", "Sorry, wrong button", 6)));
    wait_for(
        "Ben's next message stored",
        Duration::from_secs(20),
        || async { (bodies(&stored(&pool, &bucket).await).len() == 3).then_some(()) },
    )
    .await;
}

/// Presence crosses between the members holding a channel, but only as
/// the connection's own account and device: a message naming someone else
/// is dropped by the server, and the connection goes on.
#[tokio::test]
async fn presence_is_relayed_only_as_its_senders_own() {
    use futures::StreamExt;
    use sync::presence::Presence;

    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;

    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let on_ana = find(&ana, &team).await.unwrap();
    let mut heard = on_ana.ephemera();

    let peer = peer_id_of("a-ben");
    let device = peer.split_once('/').unwrap().1.to_owned();
    let (mut raw, refused) = Raw::join(&server, "a-ben", &peer).await;
    assert_eq!(refused, None);
    // A share decision first: samod drops ephemera about a document the
    // connection has not asked for.
    let hello = hello_again();
    raw.sync(&team, hello).await;
    assert!(matches!(raw.reply_about(&team).await, Reply::Sync(_)));

    let say = |user: &str, device: &str, state: &str| {
        Presence {
            user: user.into(),
            device: device.into(),
            state: state.into(),
        }
        .encode()
    };
    // Spoofed: as Ana, as another of Ben's devices, not a presence at all;
    // and Cleo, in no team, about Ana's team's channel.
    raw.ephemeral(&team, "s1", 1, say("a-ana", &device, "typing"))
        .await;
    raw.ephemeral(&team, "s1", 2, say("a-ben", "other-device", "typing"))
        .await;
    raw.ephemeral(&team, "s1", 3, b"not cbor".to_vec()).await;
    let cleo_peer = peer_id_of("a-cleo");
    let cleo_device = cleo_peer.split_once('/').unwrap().1.to_owned();
    let (mut cleo, _) = Raw::join(&server, "a-cleo", &cleo_peer).await;
    cleo.ephemeral(&team, "s2", 1, say("a-cleo", &cleo_device, "here"))
        .await;
    // Another member's presence passed back on (as every client's samod
    // does with what it hears): an echo, dropped, not an impersonation.
    raw.ephemeral_from(
        &peer_id_of("a-ana"),
        &team,
        "s3",
        1,
        say("a-ana", "x", "here"),
    )
    .await;
    // The connection was not closed for any of them: it still syncs.
    raw.sync(&team, hello_again()).await;
    assert!(matches!(raw.reply_about(&team).await, Reply::Sync(_)));

    // Then Ben's phone, as the app does, says where it is, twice.
    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ben = find(&ben, &team).await.unwrap();
    let ben_peer = ben.peer_id();
    let ben_device = ben_peer.as_str().split_once('/').unwrap().1;
    // Ephemeral messages are best-effort (samod may drop one), so the
    // phone says it again until heard, as the app's heartbeat does; every
    // message Ana hears must be Ben's own.
    for state in ["here", "typing"] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "Ben's {state} never reached Ana"
            );
            on_ben.broadcast(say("a-ben", ben_device, state));
            let Ok(Some(bytes)) =
                tokio::time::timeout(Duration::from_millis(500), heard.next()).await
            else {
                continue;
            };
            let p = Presence::decode(&bytes).unwrap();
            assert_eq!(
                (p.user.as_str(), p.device.as_str()),
                ("a-ben", ben_device),
                "a spoofed presence was relayed: {p:?}"
            );
            if p.state == state {
                break;
            }
        }
    }
}

fn hello_again() -> Vec<u8> {
    automerge::sync::SyncDoc::generate_sync_message(
        &Automerge::new(),
        &mut automerge::sync::State::new(),
    )
    .unwrap()
    .encode()
}

/// Messages are projected into Postgres: a mention notifies the person
/// named, once, and search finds what a member may read and nothing else.
#[tokio::test]
async fn messages_are_projected_searched_and_mentions_notify() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let bucket = crate::access::bucket_of(&pool, &team).await;

    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let on_ana = find(&ana, &bucket).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    on_ana.with_document(|d| {
        write_as(
            d,
            "a-ana",
            &post(
                "ana-1",
                "Kick-off at nine, @Ben. Bring the Lisbon figures",
                now,
            ),
        )
    });
    let notices = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM notifications WHERE account_id = 'a-ben' AND kind = 'chat_mention'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    wait_for(
        "the mention to notify Ben",
        Duration::from_secs(20),
        || async { (notices().await == 1).then_some(()) },
    )
    .await;
    let (title, screen): (String, String) = sqlx::query_as(
        "SELECT title, screen FROM notifications WHERE account_id = 'a-ben' AND kind = 'chat_mention'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(title, "Ana Souza mentioned you in Team Ana Souza");
    assert_eq!(screen, format!("#chat-{team}"));

    // Changed: the row follows, and nobody is notified again.
    on_ana.with_document(|d| {
        write_as(
            d,
            "a-ana",
            &ChatEdit::Change {
                id: "ana-1".into(),
                at: Timestamp(now + 1),
                body: "Kick-off at ten, @Ben. Bring the Lisbon figures".into(),
            },
        )
    });
    wait_for("the change projected", Duration::from_secs(20), || async {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM chat_messages WHERE id = 'ana-1'")
                .fetch_optional(&pool)
                .await
                .unwrap();
        body.filter(|b| b.contains("ten")).map(|_| ())
    })
    .await;
    assert_eq!(notices().await, 1, "a change does not notify again");

    let search = |token: String, q: &'static str| {
        let server = &server;
        async move {
            let (status, hits) = api(
                server,
                &token,
                "GET",
                &format!("/api/chat/search?q={q}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{hits}");
            hits.as_array().unwrap().clone()
        }
    };
    let ben = session_for(&server.database_url, "a-ben").await;
    let hits = search(ben.clone(), "lisbon").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["author_name"], "Ana Souza");
    assert_eq!(hits[0]["channel"], team.as_str());
    assert!(search(ben.clone(), "nowhere").await.is_empty());
    let cleo = session_for(&server.database_url, "a-cleo").await;
    assert!(
        search(cleo, "lisbon").await.is_empty(),
        "Cleo is in no team: she finds nothing of it"
    );
    // Hostile input: too long, or control characters, is refused.
    let (status, _) = api(
        &server,
        &ben,
        "GET",
        &format!("/api/chat/search?q={}", "a".repeat(300)),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = api(&server, &ben, "GET", "/api/chat/search?q=%00x", None).await;
    assert_eq!(status, 400);

    // Deleted: gone from search.
    on_ana.with_document(|d| {
        write_as(
            d,
            "a-ana",
            &ChatEdit::Delete {
                id: "ana-1".into(),
                at: Timestamp(now + 2),
            },
        )
    });
    wait_for(
        "the deletion projected",
        Duration::from_secs(20),
        || async { search(ben.clone(), "lisbon").await.is_empty().then_some(()) },
    )
    .await;
}

/// A direct conversation: with people of one's team, made once, private
/// to its members.
#[tokio::test]
async fn direct_conversations_are_with_teammates_and_theirs_alone() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let ben = session_for(&server.database_url, "a-ben").await;
    let start = |with: serde_json::Value| {
        let (server, ben) = (&server, ben.clone());
        async move {
            api(
                server,
                &ben,
                "POST",
                "/api/chat/direct",
                Some(serde_json::json!({ "with": with })),
            )
            .await
        }
    };
    let (status, made) = start(serde_json::json!(["a-ana"])).await;
    assert_eq!(status, 201, "{made}");
    let dm = made["doc_id"].as_str().unwrap().to_owned();
    let (status, again) = start(serde_json::json!(["a-ana", "a-ana", "a-ben"])).await;
    assert_eq!(
        (status, again["doc_id"].as_str()),
        (200, Some(dm.as_str())),
        "the same one"
    );
    for hostile in [
        serde_json::json!(["a-cleo"]),
        serde_json::json!([]),
        serde_json::json!(["a-ben"]),
        serde_json::json!(["a-nobody"]),
        serde_json::json!(["x".repeat(10_000)]),
    ] {
        let (status, why) = start(hostile.clone()).await;
        assert_eq!(status, 400, "{hostile}: {why}");
    }
    let (status, _) = api(
        &server,
        &ben,
        "POST",
        "/api/chat/direct",
        Some(serde_json::json!({ "with": ["a-ana"], "name": "x" })),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");

    // Listed for both; its messages are theirs to write, Cleo's to nothing.
    let ana = session_for(&server.database_url, "a-ana").await;
    let (_, list) = api(&server, &ana, "GET", "/api/chat/channels", None).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["doc_id"] == dm.as_str() && c["form"] == "direct"),
        "{list}"
    );
    let bucket = crate::access::bucket_of(&pool, &dm).await;
    let on_ana = {
        let ana = client("a-ana").await;
        let link = connect(&ana, &server).await;
        let handle = find(&ana, &bucket).await;
        (ana, link, handle)
    };
    assert!(on_ana.2.is_some(), "Ana reads it");
    let cleo = client("a-cleo").await;
    let _cleo_link = connect(&cleo, &server).await;
    assert!(find(&cleo, &bucket).await.is_none(), "Cleo does not");
    assert!(find(&cleo, &dm).await.is_none(), "nor its index");
}

/// Topic channels are joined and left from the app; a member an admin
/// removes while connected stops receiving the channel within a second
/// (the share policy decides their open connection again), and what they
/// write after is not stored.
#[tokio::test]
async fn a_member_removed_while_connected_stops_receiving_at_once() {
    let db = TestDb::new().await;
    // The devices are on one node and the admin removes Cleo on another:
    // the node that holds her connection learns it through Postgres.
    let (server, other_node) = tokio::join!(TestServer::start(&db.url), TestServer::start(&db.url));
    let pool = db.pool().await;
    let topic = crate::access::create_channel(&server, &["a-ana", "a-cleo"]).await;
    let bucket = crate::access::bucket_of(&pool, &topic).await;
    let team = channel_of(&pool, "team").await;
    let announcements = channel_of(&pool, "announcements").await;
    let ben = session_for(&server.database_url, "a-ben").await;
    let admin = crate::access::admin_token(&server).await;

    // Ben finds the topic, joins it (twice: nothing changes), and it is his.
    let (status, topics) = api(&server, &ben, "GET", "/api/chat/topics", None).await;
    assert_eq!(status, 200, "{topics}");
    assert_eq!(topics[0]["doc_id"], topic.as_str(), "{topics}");
    assert_eq!(
        (topics[0]["members"].as_u64(), &topics[0]["joined"]),
        (Some(2), &serde_json::json!(false))
    );
    let join = format!("/api/chat/channels/{topic}/join");
    for _ in 0..2 {
        let (status, why) = api(&server, &ben, "POST", &join, None).await;
        assert_eq!(status, 204, "{why}");
    }
    let (_, topics) = api(&server, &ben, "GET", "/api/chat/topics", None).await;
    assert_eq!(
        (topics[0]["members"].as_u64(), &topics[0]["joined"]),
        (Some(3), &serde_json::json!(true))
    );
    // What may not be joined, left or removed, and by whom.
    let long = "x".repeat(10_000);
    for (who, method, path, expected) in [
        (&ben, "POST", format!("/api/chat/channels/{team}/join"), 409),
        (
            &ben,
            "POST",
            format!("/api/chat/channels/{announcements}/leave"),
            409,
        ),
        (&ben, "POST", "/api/chat/channels/nope/join".to_owned(), 404),
        (&ben, "POST", format!("/api/chat/channels/{long}/join"), 404),
        (
            &ben,
            "POST",
            format!("/api/chat/channels/{bucket}/join"),
            404,
        ),
        (
            &ben,
            "DELETE",
            format!("/api/admin/channels/{topic}/members/a-cleo"),
            403,
        ),
        (
            &admin,
            "DELETE",
            format!("/api/admin/channels/{topic}/members/a-nobody"),
            404,
        ),
        (
            &admin,
            "DELETE",
            format!("/api/admin/channels/{team}/members/a-ben"),
            409,
        ),
    ] {
        let (status, why) = api(&server, who, method, &path, None).await;
        assert_eq!(
            status,
            expected,
            "{method} {}: {why}",
            &path[..path.len().min(80)]
        );
    }
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM channel_members WHERE doc_id = $1")
        .bind(&topic)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(members, 3, "nothing refused changed the members");

    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let on_ana = find(&ana, &bucket).await.unwrap();
    let readers = [client("a-ben").await, client("a-cleo").await];
    let mut links = Vec::new();
    let mut copies = Vec::new();
    for reader in &readers {
        links.push(connect(reader, &server).await);
        copies.push(find(reader, &bucket).await.expect("a member reads it"));
    }
    on_ana.with_document(|d| write_as(d, "a-ana", &post("hello", "Welcome", 1)));
    for copy in &copies {
        wait_for("Ana's welcome on both", Duration::from_secs(20), || async {
            (copy.with_document(|d| bodies(d)).len() == 1).then_some(())
        })
        .await;
    }

    // Cleo is removed while connected; Ana writes every 50 ms from then on.
    let removed_at = tokio::time::Instant::now();
    let path = format!("/api/admin/channels/{topic}/members/a-cleo");
    let (status, why) = api(&other_node, &admin, "DELETE", &path, None).await;
    assert_eq!(status, 204, "{why}");
    const TICKS: usize = 30;
    let mut written = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    for tick in 0..TICKS {
        pace.tick().await;
        written.push(removed_at.elapsed());
        let id = format!("tick-{tick}");
        on_ana.with_document(|d| write_as(d, "a-ana", &post(&id, &id, 10 + tick as i64)));
    }
    let on_ben = &copies[0];
    wait_for(
        "every tick on Ben's side",
        Duration::from_secs(20),
        || async { (on_ben.with_document(|d| bodies(d)).len() == 1 + TICKS).then_some(()) },
    )
    .await;
    // What was on its way to Cleo has arrived once a round trip of hers
    // (a document she still reads) is answered.
    let on_cleo = &copies[1];
    on_cleo.with_document(|d| write_as(d, "a-cleo", &post("cleo-after", "Still here?", 99)));
    assert!(find(&readers[1], &announcements).await.is_some());
    let got: Vec<String> = on_cleo
        .with_document(|d| bodies(d))
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let ticks = got.iter().filter(|b| b.starts_with("tick-")).count();
    let expected: Vec<String> = std::iter::once("Welcome".to_owned())
        .chain((0..ticks).map(|t| format!("tick-{t}")))
        .chain(std::iter::once("Still here?".to_owned()))
        .collect();
    assert_eq!(
        got, expected,
        "what Cleo received is what was written before she stopped receiving"
    );
    assert!(ticks < TICKS, "Cleo stopped receiving: {got:?}");
    println!(
        "removal: Cleo's first message missed was written {:?} after the removal was asked",
        written[ticks]
    );
    assert!(
        written[ticks] < Duration::from_secs(1),
        "Cleo received messages written up to {:?} after her removal",
        written[ticks]
    );
    // Her own write after removal is not stored; she no longer lists it.
    let stored_bodies: Vec<String> = bodies(&stored(&pool, &bucket).await)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert!(
        !stored_bodies.iter().any(|b| b == "Still here?"),
        "{stored_bodies:?}"
    );
    let cleo = session_for(&server.database_url, "a-cleo").await;
    let (_, list) = api(&server, &cleo, "GET", "/api/chat/channels", None).await;
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["doc_id"] == topic.as_str()),
        "{list}"
    );
    // The channel's index no longer lists her.
    let index = wait_for(
        "the index without Cleo",
        Duration::from_secs(20),
        || async {
            let index = ChannelIndexDoc::read(&stored(&pool, &topic).await).unwrap();
            (!index.members.iter().any(|m| m.account_id == "a-cleo")).then_some(index)
        },
    )
    .await;
    assert_eq!(index.members.len(), 2);
    // Removed by an admin, she does not join again by herself.
    let (status, why) = api(
        &server,
        &cleo,
        "POST",
        &format!("/api/chat/channels/{topic}/join"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{why}");
    // Ben leaves: a member may.
    let (status, why) = api(
        &server,
        &ben,
        "POST",
        &format!("/api/chat/channels/{topic}/leave"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{why}");
    other_node.stop().await;
    server.stop().await;
}

/// Files attached to messages: put under the id the message names, once
/// whatever the retries, fetched by the channel's readers only, and
/// refused when they are not what they claim or not the sender's to send.
#[tokio::test]
async fn a_channels_files_are_its_members_and_only_what_they_claim() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let announcements = channel_of(&pool, "announcements").await;
    let ben = session_for(&server.database_url, "a-ben").await;
    let ana = session_for(&server.database_url, "a-ana").await;
    let cleo = session_for(&server.database_url, "a-cleo").await;
    let put =
        |token: &str, id: &str, channel: &str, name: &str, content_type: &str, bytes: &[u8]| {
            let auth = format!("Bearer {token}");
            let path = format!("/api/chat/files/{id}?channel={channel}&name={name}");
            let (content_type, bytes) = (content_type.to_owned(), bytes.to_vec());
            let addr = server.addr();
            async move {
                http_request(
                    addr,
                    "PUT",
                    &path,
                    &[("authorization", &auth), ("content-type", &content_type)],
                    Some(&bytes),
                )
                .await
                .0
            }
        };
    let get = |token: &str, id: &str, range: Option<&str>| {
        let auth = format!("Bearer {token}");
        let path = format!("/api/chat/files/a-ben/{id}");
        let range = range.map(str::to_owned);
        let addr = server.addr();
        async move {
            let mut headers = vec![("authorization", auth.as_str())];
            if let Some(range) = &range {
                headers.push(("range", range.as_str()));
            }
            http_request(addr, "GET", &path, &headers, None).await
        }
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..2000u32).map(|i| (i % 251) as u8));
    let id = "00112233445566778899aabbccddeeff";
    assert_eq!(
        put(&ben, id, &team, "Roof.png", "image/png", &png).await,
        201
    );
    assert_eq!(
        put(&ben, id, &team, "Roof.png", "image/png", &png).await,
        200,
        "sent again after a cut connection: the same file"
    );
    let (status, headers, bytes) = get(&ana, id, None).await;
    assert_eq!((status, bytes == png), (200, true));
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("image/png"));
    assert_eq!(header("x-content-type-options"), Some("nosniff"));
    assert_eq!(header("content-disposition"), None, "a picture is shown");
    let (status, _, part) = get(&ana, id, Some("bytes=8-15")).await;
    assert_eq!((status, part.as_slice()), (206, &png[8..16]));
    assert_eq!(get(&cleo, id, None).await.0, 404, "not Cleo's channel");
    assert_eq!(
        get(&ben, "ffffffffffffffffffffffffffffffff", None).await.0,
        404
    );
    assert_eq!(get(&ben, "../../etc/passwd", None).await.0, 404);

    // A CSV is offered as a download under its name.
    let csv_id = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        put(
            &ben,
            csv_id,
            &team,
            "Q4%20leads.csv",
            "text/csv",
            b"name,stage\nGrace,won\n"
        )
        .await,
        201
    );
    let (status, headers, _) = get(&ana, csv_id, None).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-disposition")
                && v == "attachment; filename*=UTF-8''Q4%20leads.csv"),
        "{headers:?}"
    );

    let fresh = |n: u8| format!("{n:02x}").repeat(16);
    let too_big = vec![0u8; model::chat_limits::FILE_BYTES as usize + 1];
    for (what, status, attempt) in [
        (
            "a page sent as a picture",
            400,
            put(
                &ben,
                &fresh(1),
                &team,
                "x.png",
                "image/png",
                b"<html><script>alert(1)</script>",
            )
            .await,
        ),
        (
            "a type not shared",
            400,
            put(&ben, &fresh(2), &team, "x.html", "text/html", b"<html>").await,
        ),
        (
            "an SVG",
            400,
            put(
                &ben,
                &fresh(3),
                &team,
                "x.svg",
                "image/svg+xml",
                b"<svg onload=alert(1)>",
            )
            .await,
        ),
        (
            "a name with a slash",
            400,
            put(&ben, &fresh(4), &team, "..%2Fx.png", "image/png", &png).await,
        ),
        (
            "no name",
            400,
            put(&ben, &fresh(5), &team, "", "image/png", &png).await,
        ),
        (
            "an id of another shape",
            400,
            put(&ben, "ABC", &team, "x.png", "image/png", &png).await,
        ),
        (
            "past the size limit",
            413,
            put(&ben, &fresh(6), &team, "x.png", "image/png", &too_big).await,
        ),
        (
            "no such channel",
            404,
            put(&ben, &fresh(7), "nope", "x.png", "image/png", &png).await,
        ),
        (
            "a channel not Cleo's",
            403,
            put(&cleo, &fresh(8), &team, "x.png", "image/png", &png).await,
        ),
        (
            "the announcements, by a partner",
            403,
            put(&ben, &fresh(9), &announcements, "x.png", "image/png", &png).await,
        ),
        (
            "other bytes under one's own taken id",
            409,
            put(
                &ben,
                id,
                &team,
                "Roof.png",
                "image/png",
                &[png.as_slice(), b"x"].concat(),
            )
            .await,
        ),
        (
            "empty",
            400,
            put(&ben, &fresh(10), &team, "x.txt", "text/plain", b"").await,
        ),
    ] {
        assert_eq!(attempt, status, "{what}");
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_files")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 2, "nothing refused was kept");
    // Ana read Ben's file id in his message before its bytes came, and put
    // hers under it: they are hers, and his message still shows his.
    let mut other = b"\x89PNG\r\n\x1a\n".to_vec();
    other.extend(b"not Ben's roof");
    let early = "ffeeddccbbaa99887766554433221100";
    assert_eq!(
        put(&ana, early, &team, "Roof.png", "image/png", &other).await,
        201
    );
    assert_eq!(
        put(&ben, early, &team, "Roof.png", "image/png", &png).await,
        201
    );
    let (status, _, bytes) = get(&ana, early, None).await;
    assert_eq!(
        (status, bytes == png),
        (200, true),
        "Ben's message shows Ben's file"
    );
}

/// The back-office's moderation and the older history: members page
/// through the projection, an admin lists every channel, posts to the
/// announcements as themselves, removes a message (every device sees it
/// removed, by an admin) and exports a channel.
#[tokio::test]
async fn admins_moderate_post_and_export_and_members_page_the_history() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let bucket = crate::access::bucket_of(&pool, &team).await;
    let admin = crate::access::admin_token(&server).await;
    let ben_token = session_for(&server.database_url, "a-ben").await;
    let cleo_token = session_for(&server.database_url, "a-cleo").await;

    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ben = find(&ben, &bucket).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    on_ben.with_document(|d| {
        write_as(d, "a-ben", &post("ben-1", "Morning all", now - 3000));
        write_as(
            d,
            "a-ben",
            &post("ben-2", "Cheap watches, =cmd", now - 2000),
        );
        write_as(
            d,
            "a-ben",
            &post("ben-3", "=1+1 Lisbon went well", now - 1000),
        );
    });
    let history = format!("/api/chat/channels/{team}/history");
    let page = wait_for(
        "three messages projected",
        Duration::from_secs(20),
        || async {
            let (_, page) = api(
                &server,
                &ben_token,
                "GET",
                &format!("{history}?limit=2"),
                None,
            )
            .await;
            (page.as_array().map(Vec::len) == Some(2)).then_some(page)
        },
    )
    .await;
    assert_eq!(page[0]["id"], "ben-3", "newest first: {page}");
    assert_eq!(page[1]["id"], "ben-2");
    assert_eq!(page[0]["author_name"], "Ben Okafor");
    let cursor = page[1]["cursor"].as_str().unwrap();
    let (status, older) = api(
        &server,
        &ben_token,
        "GET",
        &format!("{history}?before={cursor}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{older}");
    let ids: Vec<&str> = older
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ben-1"], "the page after the cursor");
    // Not a reader of the team: no such channel. A cursor the history did
    // not give, a page past its limits: said so.
    for (who, path, expected) in [
        (&cleo_token, history.clone(), 404),
        (&ben_token, format!("{history}?before=yesterday"), 400),
        (&ben_token, format!("{history}?before=12.a%20b"), 400),
        (&ben_token, format!("{history}?limit=0"), 400),
        (&ben_token, format!("{history}?limit=100000"), 400),
        (
            &ben_token,
            "/api/chat/channels/nonesuch/history".to_owned(),
            404,
        ),
    ] {
        let (status, body) = api(&server, who, "GET", &path, None).await;
        assert_eq!(status, expected, "{path}: {body}");
    }

    // Every channel, for an admin only.
    let (status, all) = api(&server, &admin, "GET", "/api/admin/channels", None).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all[0]["form"], "announcements");
    let listed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["doc_id"] == team.as_str())
        .unwrap();
    assert_eq!(listed["messages"], 3, "{listed}");
    assert_eq!(
        api(&server, &ben_token, "GET", "/api/admin/channels", None)
            .await
            .0,
        403
    );

    // Ben cannot remove his teammates' messages, nor his own as an admin.
    let remove = format!("/api/admin/channels/{team}/messages/ben-2");
    assert_eq!(
        api(&server, &ben_token, "DELETE", &remove, None).await.0,
        403
    );
    let (status, body) = api(&server, &admin, "DELETE", &remove, None).await;
    assert_eq!(status, 204, "{body}");
    // Said again, nothing changes; a message nobody wrote is not found.
    let heads = stored(&pool, &bucket).await.get_heads();
    assert_eq!(api(&server, &admin, "DELETE", &remove, None).await.0, 204);
    assert_eq!(stored(&pool, &bucket).await.get_heads(), heads);
    for path in [
        format!("/api/admin/channels/{team}/messages/ben-9"),
        format!("/api/admin/channels/{team}/messages/a%20b"),
        "/api/admin/channels/nonesuch/messages/ben-2".to_owned(),
    ] {
        assert_eq!(
            api(&server, &admin, "DELETE", &path, None).await.0,
            404,
            "{path}"
        );
    }
    // A removal is the server's word: Ben writing one is refused.
    let base = stored(&pool, &bucket).await;
    let mut forged = base.fork();
    forged.set_actor(model::actor_for("a-ben", rand::random()));
    forged
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            let removed = tx.put_object(ROOT, "removed", ObjType::Map)?;
            let entry = tx.put_object(&removed, "ben-1", ObjType::Map)?;
            tx.put(&entry, "by", "a-admin")?;
            Ok(())
        })
        .unwrap();
    let (mut raw, _) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    raw.sync(&bucket, sync_data_with_new_changes(forged, &base))
        .await;
    let reply = raw.reply_about(&bucket).await;
    assert!(
        matches!(&reply, Reply::Error(m) if m.contains("structure")),
        "{reply:?}"
    );
    assert_eq!(stored(&pool, &bucket).await.get_heads(), base.get_heads());
    // Nor into the map the server made: un-removing his message, or
    // removing Ana's... his own first.
    let base = stored(&pool, &bucket).await;
    for forge in ["undo", "add"] {
        let mut forged = base.fork();
        forged.set_actor(model::actor_for("a-ben", rand::random()));
        forged
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                let (_, removed) = tx.get(ROOT, "removed")?.unwrap();
                match forge {
                    "undo" => tx.delete(&removed, "ben-2")?,
                    _ => {
                        let entry = tx.put_object(&removed, "ben-1", ObjType::Map)?;
                        tx.put(&entry, "by", "a-admin")?;
                    }
                }
                Ok(())
            })
            .unwrap();
        let (mut raw, _) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
        raw.sync(&bucket, sync_data_with_new_changes(forged, &base))
            .await;
        let reply = raw.reply_about(&bucket).await;
        assert!(
            matches!(&reply, Reply::Error(m) if m.contains("structure") || m.contains("another user")),
            "{forge}: {reply:?}"
        );
        assert_eq!(
            stored(&pool, &bucket).await.get_heads(),
            base.get_heads(),
            "{forge}"
        );
    }
    // Ben's connected device shows it removed by an admin, its text gone.
    let shown = wait_for(
        "the removal on Ben's device",
        Duration::from_secs(20),
        || async {
            let read = on_ben.with_document(|d| MessagesDoc::read(d, None, None).unwrap());
            let m = read.messages.into_iter().find(|m| m.id == "ben-2")?;
            m.removed_by.is_some().then_some(m)
        },
    )
    .await;
    assert_eq!(shown.removed_by.as_deref(), Some("a-admin"));
    assert_eq!(shown.body, "");
    let (_, page) = api(&server, &ben_token, "GET", &history, None).await;
    assert_eq!(page[1]["id"], "ben-2");
    assert_eq!(page[1]["removed_by"], "Portal Admin", "{page}");
    assert_eq!(page[1]["body"], "");
    assert_eq!(page[1]["deleted"], false, "removed, not deleted by Ben");
    let (_, found) = api(
        &server,
        &ben_token,
        "GET",
        "/api/chat/search?q=watches",
        None,
    )
    .await;
    assert_eq!(
        found,
        serde_json::json!([]),
        "a removed message is not found"
    );

    // An admin posts to the announcements, as themselves.
    let announcements = channel_of(&pool, "announcements").await;
    let news = crate::access::bucket_of(&pool, &announcements).await;
    let say = |body: &str| serde_json::json!({ "body": body });
    let path = format!("/api/admin/channels/{announcements}/messages");
    let (status, posted) = api(
        &server,
        &admin,
        "POST",
        &path,
        Some(say("Q1 targets are out")),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    let doc = stored(&pool, &news).await;
    assert_eq!(
        bodies(&doc),
        [("a-admin".to_owned(), "Q1 targets are out".to_owned())]
    );
    assert_eq!(
        MessagesDoc::read(&doc, None, None).unwrap().messages[0].id,
        posted["id"].as_str().unwrap()
    );
    let heads = doc.get_heads();
    assert_eq!(
        api(&server, &ben_token, "POST", &path, Some(say("Free money")))
            .await
            .0,
        403
    );
    for body in [
        say(""),
        say("   "),
        say(&"x".repeat(4001)),
        say("bell\u{7}"),
    ] {
        let (status, why) = api(&server, &admin, "POST", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {why}");
    }
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &path,
        Some(serde_json::json!({ "body": "x", "as": "a-ben" })),
    )
    .await;
    assert_eq!(status, 400, "no field but the body");
    assert_eq!(
        stored(&pool, &news).await.get_heads(),
        heads,
        "nothing refused was stored"
    );
    // Not in other channels.
    let (_, direct) = api(
        &server,
        &ben_token,
        "POST",
        "/api/chat/direct",
        Some(serde_json::json!({ "with": ["a-ana"] })),
    )
    .await;
    let direct = direct["doc_id"].as_str().unwrap();
    for elsewhere in [direct, team.as_str()] {
        let path = format!("/api/admin/channels/{elsewhere}/messages");
        assert_eq!(
            api(&server, &admin, "POST", &path, Some(say("Hi"))).await.0,
            403,
            "admins post in the announcements"
        );
    }

    // The export: every message, oldest first, the removal said, a
    // formula defused.
    let export = format!("/api/admin/channels/{team}/export");
    assert_eq!(api(&server, &ben_token, "GET", &export, None).await.0, 403);
    let auth = format!("Bearer {admin}");
    let (status, headers, csv) =
        http_get(server.addr(), &export, &[("authorization", &auth)]).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/csv"))
    );
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("written_at,id,author_id,author,"),
        "{csv}"
    );
    assert!(
        lines[1].contains(",ben-1,a-ben,Ben Okafor,,Morning all,"),
        "{csv}"
    );
    assert!(
        lines[2].contains(",ben-2,") && lines[2].contains("removed by Portal Admin"),
        "{csv}"
    );
    assert!(
        !csv.contains("watches"),
        "a removed message's text is not exported: {csv}"
    );
    assert!(
        lines[3].contains(",ben-3,a-ben,Ben Okafor,,'=1+1 Lisbon"),
        "{csv}"
    );
}

/// A team's announcements: its leader posts (a message and a file), the
/// team reads; a member's post is not stored, nor a file of theirs taken.
#[tokio::test]
async fn a_teams_announcements_are_its_leaders_to_post() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let news = channel_of(&pool, "team_announcements").await;
    let bucket = crate::access::bucket_of(&pool, &news).await;
    let index = ChannelIndexDoc::read(&stored(&pool, &news).await).unwrap();
    let mut members: Vec<&str> = index
        .members
        .iter()
        .map(|m| m.account_id.as_str())
        .collect();
    members.sort();
    assert_eq!(members, ["a-ana", "a-ben"], "the team, as its channel");
    let ana_token = session_for(&server.database_url, "a-ana").await;
    let (_, list) = api(&server, &ana_token, "GET", "/api/chat/channels", None).await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["doc_id"] == news.as_str())
        .unwrap();
    assert_eq!(mine["posts"], true, "Ana leads the team: {mine}");

    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let on_ana = find(&ana, &bucket).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    on_ana
        .with_document(|d| write_as(d, "a-ana", &post("ana-news", "Targets for Q1 are set", now)));
    wait_for(
        "Ana's announcement stored",
        Duration::from_secs(20),
        || async { (bodies(&stored(&pool, &bucket).await).len() == 1).then_some(()) },
    )
    .await;

    // Ben's post goes nowhere: samod drops a read-only peer's changes.
    let base = stored(&pool, &bucket).await;
    let heads = base.get_heads();
    let mut forged = base.fork();
    write_as(&mut forged, "a-ben", &post("ben-news", "Free money", now));
    let (mut raw, _) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    raw.sync(&bucket, sync_data_with_new_changes(forged, &base))
        .await;
    assert!(matches!(raw.reply_about(&bucket).await, Reply::Sync(_)));
    raw.sync(&bucket, hello_again()).await;
    assert!(matches!(raw.reply_about(&bucket).await, Reply::Sync(_)));
    assert_eq!(
        stored(&pool, &bucket).await.get_heads(),
        heads,
        "Ben's post is not stored"
    );

    // Files follow the same rule.
    let png = b"\x89PNG\r\n\x1a\n0000000000000000";
    let path = |id: &str| format!("/api/chat/files/{id}?channel={news}&name=plan.png");
    for (token, id, expected) in [
        (
            session_for(&server.database_url, "a-ben").await,
            "b".repeat(32),
            403,
        ),
        (ana_token.clone(), "a".repeat(32), 201),
    ] {
        let auth = format!("Bearer {token}");
        let (status, _, body) = http_request(
            server.addr(),
            "PUT",
            &path(&id),
            &[("authorization", &auth), ("content-type", "image/png")],
            Some(png),
        )
        .await;
        assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
    }
}

/// A month's document that fills is followed by another of that month,
/// named in the index, which members write into; the history reads both.
#[tokio::test]
async fn a_full_months_document_is_followed_by_another() {
    let db = TestDb::new().await;
    let server =
        TestServer::start_with_args(&db.url, &["--chat-split-at", "3", "--chat-sweep-secs", "1"])
            .await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let first = crate::access::bucket_of(&pool, &team).await;
    let month = model::month_of(Timestamp(chrono::Utc::now().timestamp_millis()));

    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ben = find(&ben, &first).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    on_ben.with_document(|d| {
        for i in 0..3 {
            write_as(
                d,
                "a-ben",
                &post(&format!("ben-{i}"), "Filling up", now + i),
            );
        }
    });
    let split = format!("{month}.2");
    let second: String = wait_for(
        "the month's second document",
        Duration::from_secs(20),
        || async {
            sqlx::query_scalar::<_, String>(
                "SELECT doc_id FROM channel_buckets WHERE channel_id = $1 AND period = $2",
            )
            .bind(&team)
            .bind(&split)
            .fetch_optional(&pool)
            .await
            .unwrap()
        },
    )
    .await;
    let index = wait_for("the index to name it", Duration::from_secs(20), || async {
        let index = ChannelIndexDoc::read(&stored(&pool, &team).await).unwrap();
        index
            .buckets
            .iter()
            .any(|b| b.period == split)
            .then_some(index)
    })
    .await;
    assert_eq!(
        index
            .bucket_for(Timestamp(now), 3)
            .map(|b| b.doc_id.as_str()),
        Some(second.as_str()),
        "this month's messages go into the new one"
    );
    let on_second = find(&ben, &second).await.unwrap();
    on_second.with_document(|d| write_as(d, "a-ben", &post("ben-3", "A new page", now + 3)));
    let token = session_for(&server.database_url, "a-ben").await;
    let history = format!("/api/chat/channels/{team}/history");
    let page = wait_for(
        "four messages in the history",
        Duration::from_secs(20),
        || async {
            let (_, page) = api(&server, &token, "GET", &history, None).await;
            (page.as_array().map(Vec::len) == Some(4)).then_some(page)
        },
    )
    .await;
    assert_eq!(page[0]["id"], "ben-3");
    // The new one fills in its turn and is followed by a third: the month's
    // newest is the one counted.
    on_second.with_document(|d| {
        for i in 4..6 {
            write_as(d, "a-ben", &post(&format!("ben-{i}"), "More", now + i));
        }
    });
    let third = format!("{month}.3");
    let periods = wait_for(
        "the month's third document",
        Duration::from_secs(20),
        || async {
            let periods: Vec<String> = sqlx::query_scalar(
                "SELECT period FROM channel_buckets WHERE channel_id = $1 AND period LIKE $2",
            )
            .bind(&team)
            .bind(format!("{month}%"))
            .fetch_all(&pool)
            .await
            .unwrap();
            periods.contains(&third).then_some(periods)
        },
    )
    .await;
    assert_eq!(periods.len(), 3, "{periods:?}");
}

/// A file goes with its message: deleted by its author or removed by an
/// admin, it is served to no one again, its thumbnail neither.
#[tokio::test]
async fn a_gone_messages_file_is_served_no_more() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let team = channel_of(&pool, "team").await;
    let bucket = crate::access::bucket_of(&pool, &team).await;
    let ben_token = session_for(&server.database_url, "a-ben").await;
    let ana_token = session_for(&server.database_url, "a-ana").await;
    let admin = crate::access::admin_token(&server).await;
    let png = b"\x89PNG\r\n\x1a\nroof".to_vec();
    let jpeg = b"\xff\xd8\xff\xe0small".to_vec();
    let request = |token: &str,
                   method: &'static str,
                   path: String,
                   body: Option<Vec<u8>>,
                   kind: &'static str| {
        let auth = format!("Bearer {token}");
        let addr = server.addr();
        async move {
            http_request(
                addr,
                method,
                &path,
                &[("authorization", &auth), ("content-type", kind)],
                body.as_deref(),
            )
            .await
            .0
        }
    };
    let file = |id: u8, thumb: Option<u8>| model::ChatFile {
        id: format!("{id:032x}"),
        name: "Roof.png".into(),
        content_type: "image/png".into(),
        bytes: png.len() as u64,
        voice: None,
        thumb: thumb.map(|t| model::Thumb {
            id: format!("{t:032x}"),
            width: 4,
            height: 3,
        }),
    };
    for (id, bytes, kind) in [
        (1u8, &png, "image/png"),
        (2, &jpeg, "image/jpeg"),
        (3, &png, "image/png"),
    ] {
        let path = format!("/api/chat/files/{id:032x}?channel={team}&name=Roof.png");
        assert_eq!(
            request(&ben_token, "PUT", path, Some(bytes.clone()), kind).await,
            201
        );
    }
    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ben = find(&ben, &bucket).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    on_ben.with_document(|d| {
        for (message, f) in [("with-thumb", file(1, Some(2))), ("plain", file(3, None))] {
            let edit = ChatEdit::Post {
                id: message.into(),
                at: Timestamp(now),
                body: String::new(),
                reply_to: None,
                file: Some(f),
            };
            write_as(d, "a-ben", &edit);
        }
    });
    let served = |id: u8| {
        request(
            &ana_token,
            "GET",
            format!("/api/chat/files/a-ben/{id:032x}"),
            None,
            "text/plain",
        )
    };
    wait_for(
        "both messages projected",
        Duration::from_secs(20),
        || async {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM chat_messages WHERE file IS NOT NULL")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            (n == 2).then_some(())
        },
    )
    .await;
    for id in [1, 2, 3] {
        assert_eq!(served(id).await, 200, "file {id} before");
    }
    // Ben deletes the first: the picture and its thumbnail go with it.
    on_ben.with_document(|d| {
        write_as(
            d,
            "a-ben",
            &ChatEdit::Delete {
                id: "with-thumb".into(),
                at: Timestamp(now + 1),
            },
        )
    });
    wait_for(
        "the deleted message's files withdrawn",
        Duration::from_secs(20),
        || async { (served(1).await == 404 && served(2).await == 404).then_some(()) },
    )
    .await;
    assert_eq!(served(3).await, 200, "the other message's file stays");
    // An admin removes the second.
    let remove = format!("/api/admin/channels/{team}/messages/plain");
    assert_eq!(
        request(&admin, "DELETE", remove, None, "text/plain").await,
        204
    );
    assert_eq!(served(3).await, 404, "the removed message's file, at once");
    assert_eq!(
        request(
            &admin,
            "GET",
            "/api/chat/files/a-ben/00000000000000000000000000000003".into(),
            None,
            "text/plain"
        )
        .await,
        404,
        "to no one"
    );
}
