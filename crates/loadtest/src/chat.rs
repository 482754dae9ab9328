//! The chat's load: one channel of many members, messages at a steady rate,
//! and the time from one member's send to another member's screen.
//!
//! Each member is a native samod repo with its own WebSocket, signed in with
//! a seeded partner's session (`seed.rs`); an admin made here the same way
//! asks the server for a topic channel of them all (`POST
//! /api/admin/channels`, so the server makes its documents as it would for
//! anyone). Every member opens this month's messages document; message `k`
//! is written by member `k % members` at `k / rate` seconds (open loop: a
//! slow server does not slow the senders), with an actor naming its account
//! as the app's engine makes one, so the server checks each change as it
//! checks a phone's. All members live in this one process, so one monotonic
//! clock times both ends, and two times are taken:
//!
//! - arrival: every other member notes when its copy holds the message's
//!   change (checked by hash on each change, which costs next to nothing:
//!   the members share two cores with the server and Postgres, where real
//!   phones would each have their own);
//! - display: one member reads its copy as the app does on every change
//!   ([`MessagesDoc::read`], the whole list) and notes when the message
//!   shows; drawing it is the browser's, which `tests/e2e/chat.mjs` times.

use std::{
    collections::{HashMap, HashSet},
    io::{Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, ensure};
use automerge::{ChangeHash, ReadDoc};
use futures::{StreamExt, stream};
use model::{ChatEdit, MessagesDoc, Timestamp};
use samod::{DocHandle, PeerId};
use sqlx::postgres::PgPoolOptions;

use crate::{
    drive::{self, Device, Tally, lock},
    stats::percentile,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's address (HTTP and ws://<server>/sync).
    #[arg(long)]
    server: SocketAddr,
    /// The server's database: the admin's session is made in it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The file `loadtest seed --sessions-out` wrote; its first `members`
    /// partners are the channel's members.
    #[arg(long)]
    sessions: std::path::PathBuf,
    /// Members of the channel, each one device.
    #[arg(long, default_value_t = 50)]
    members: usize,
    /// Messages a second, all members together.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds during which members write.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Most seconds to wait after the window for every message to reach
    /// every member.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
}

/// Each message by number: when it was sent, its change, its id.
type Sent = Arc<Mutex<Vec<(Instant, ChangeHash, String)>>>;

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.members >= 2, "--members: at least 2");
    ensure!(
        args.rate > 0.0 && args.rate <= 1000.0,
        "--rate: more than 0, at most 1000"
    );
    let partners = drive::read_sessions(&args.sessions)?;
    ensure!(
        partners.len() >= args.members,
        "{} seeded partners for {} members (seed with --docs {})",
        partners.len(),
        args.members,
        args.members
    );
    let partners = &partners[..args.members];
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&args.database_url)
        .await
        .context("connecting to Postgres")?;
    let admin = admin_session(&pool).await?;
    let accounts: Vec<&str> = partners.iter().map(|p| p.account.as_str()).collect();
    let body = format!(
        "{{\"name\":\"Load\",\"members\":[{}]}}",
        accounts
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let answer = post(args.server, &admin, "/api/admin/channels", &body).await?;
    let channel = answer
        .split("\"doc_id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow!("no channel made: {answer:.200}"))?
        .to_owned();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let bucket: String = sqlx::query_scalar(
        "SELECT doc_id FROM channel_buckets WHERE channel_id = $1 AND period = $2",
    )
    .bind(&channel)
    .bind(model::month_of(Timestamp(now_ms)))
    .fetch_one(&pool)
    .await
    .context("the channel's messages document of this month")?;

    let url = samod::Url::parse(&format!("ws://{}/sync", args.server))?;
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    let opened: Vec<_> = stream::iter(partners.iter().enumerate())
        .map(|(i, partner)| {
            let device = Device {
                peer_id: PeerId::from(format!("{}/chat{i}", partner.account)),
                dialer: Arc::new(client::BearerDialer::new(url.clone(), &partner.token)),
            };
            drive::open_client(device, vec![(0, bucket.clone())], deadline, tally.clone())
        })
        .buffered(16)
        .collect()
        .await;
    let mut members = Vec::new();
    for (partner, opened) in partners.iter().zip(&opened) {
        let Some((_, handle)) = opened.docs.first() else {
            anyhow::bail!("{} did not open the channel", partner.account);
        };
        members.push((partner.account.clone(), handle.clone()));
    }
    eprintln!(
        "{} members in channel {channel}, writing {} messages a second for {} s",
        members.len(),
        args.rate,
        args.duration_secs
    );

    let sent: Sent = Arc::default();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let shown: Arc<Mutex<Vec<u64>>> = Arc::default();
    let arrived = Arc::new(AtomicUsize::new(0));
    let mut watchers: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, (_, handle))| {
            tokio::spawn(arrivals(
                i,
                members.len(),
                handle.clone(),
                sent.clone(),
                latencies.clone(),
                arrived.clone(),
            ))
        })
        .collect();
    // Member 1 writes too; the messages of others it displays are timed.
    watchers.push(tokio::spawn(display(
        members[1].0.clone(),
        members[1].1.clone(),
        sent.clone(),
        shown.clone(),
    )));

    let total = (args.rate * args.duration_secs as f64).round() as usize;
    let every = Duration::from_secs_f64(1.0 / args.rate);
    let started = Instant::now();
    let mut pace = tokio::time::interval(every);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for k in 0..total {
        pace.tick().await;
        let (account, handle) = &members[k % members.len()];
        let id = format!("load-{k}");
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        let edit = ChatEdit::Post {
            id: id.clone(),
            at: Timestamp(at),
            body: format!("Message {k} of the load"),
            reply_to: None,
            file: None,
        };
        handle.with_document(|doc| {
            if model::author_of(doc.get_actor()) != Some(account.as_str()) {
                doc.set_actor(model::actor_for(account, rand::random()));
            }
            // From when it was due: a sender that falls behind counts its
            // lag as the message's.
            let at = started + every * k as u32;
            edit.apply(doc)?;
            // Noted before samod can send it: the closure holds the document.
            if let Some(change) = doc.get_last_local_change() {
                lock(&sent).push((at, change.hash(), id));
            }
            Ok::<_, model::ModelError>(())
        })?;
    }
    let window = started.elapsed();
    let expected = total * (members.len() - 1);
    let settle_until = Instant::now() + Duration::from_secs(args.settle_secs);
    while arrived.load(Ordering::Relaxed) < expected && Instant::now() < settle_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for watcher in watchers {
        watcher.abort();
    }
    // The projection (search, mentions, older history) follows the
    // documents: how long after the last arrival it holds every message.
    let delivered = Instant::now();
    let project_until = delivered + Duration::from_secs(args.settle_secs);
    let (stored, caught_up) = loop {
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM chat_messages WHERE channel_id = $1")
                .bind(&channel)
                .fetch_one(&pool)
                .await
                .unwrap_or(-1);
        if stored >= total as i64 || Instant::now() >= project_until {
            break (
                stored,
                (stored >= total as i64).then(|| delivered.elapsed()),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let mut all = lock(&latencies).clone();
    all.sort_unstable();
    let mut on_screen = lock(&shown).clone();
    on_screen.sort_unstable();
    let ms = |of: &[u64], p: f64| {
        percentile(of, p).map_or("-".to_owned(), |us| format!("{:.1} ms", us as f64 / 1000.0))
    };
    let spread = |of: &[u64]| {
        format!(
            "p50 {}, p99 {}, max {}",
            ms(of, 50.0),
            ms(of, 99.0),
            ms(of, 100.0)
        )
    };
    let row = |label: &str, value: String| println!("{label:<28}{value}");
    row(
        "channel",
        format!(
            "{} members, {} messages in {:.1} s ({:.1}/s)",
            members.len(),
            total,
            window.as_secs_f64(),
            total as f64 / window.as_secs_f64()
        ),
    );
    row(
        "arrived",
        format!(
            "{} of {} (each message on every other member's device)",
            all.len(),
            expected
        ),
    );
    row("send to arrival", spread(&all));
    row(
        "send to display",
        format!(
            "{} (one member reading as the app does; {} messages; goal: p99 under 200 ms)",
            spread(&on_screen),
            on_screen.len()
        ),
    );
    row(
        "projected",
        match caught_up {
            Some(after) => format!(
                "{stored} of {total} messages in chat_messages, {} ms after the last arrival",
                after.as_millis()
            ),
            None => format!(
                "{stored} of {total} messages in chat_messages within {} s",
                args.settle_secs
            ),
        },
    );
    let to_show = (0..total).filter(|k| k % members.len() != 1).count();
    if on_screen.len() < to_show {
        row(
            "never shown",
            format!(
                "{} of the displaying member's {to_show} within {} s after the window",
                to_show - on_screen.len(),
                args.settle_secs
            ),
        );
    }
    if all.len() < expected {
        // A figure, not a failure: what never showed within the settling
        // time is counted, and the report is still printed.
        row(
            "never displayed",
            format!(
                "{} within {} s after the window",
                expected - all.len(),
                args.settle_secs
            ),
        );
    }
    Ok(())
}

/// One member's device: on each change of its copy, which of the
/// messages of others it has not seen yet it now holds.
async fn arrivals(
    me: usize,
    members: usize,
    handle: DocHandle,
    sent: Sent,
    latencies: Arc<Mutex<Vec<u64>>>,
    arrived: Arc<AtomicUsize>,
) {
    let (mut next, mut waiting): (usize, Vec<usize>) = (0, Vec::new());
    let mut changes = handle.changes();
    while changes.next().await.is_some() {
        let now = Instant::now();
        let messages: Vec<(usize, Instant, ChangeHash)> = {
            let sent = lock(&sent);
            waiting.extend((next..sent.len()).filter(|k| k % members != me));
            next = sent.len();
            waiting.iter().map(|&k| (k, sent[k].0, sent[k].1)).collect()
        };
        let mut seen = Vec::new();
        handle.with_document(|doc| {
            for (k, at, hash) in messages {
                if doc.get_change_by_hash(&hash).is_some() {
                    seen.push((k, now.duration_since(at).as_micros() as u64));
                }
            }
        });
        waiting.retain(|k| !seen.iter().any(|(s, _)| s == k));
        arrived.fetch_add(seen.len(), Ordering::Relaxed);
        lock(&latencies).extend(seen.into_iter().map(|(_, us)| us));
    }
}

/// One member's screen: on each change, the document read as the app
/// reads it, and the messages of others shown for the first time.
async fn display(me: String, handle: DocHandle, sent: Sent, shown: Arc<Mutex<Vec<u64>>>) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut changes = handle.changes();
    while changes.next().await.is_some() {
        let Ok(read) = handle.with_document(|doc| MessagesDoc::read(doc, None, None)) else {
            continue;
        };
        let now = Instant::now();
        let sent_at: HashMap<String, Instant> = lock(&sent)
            .iter()
            .map(|(at, _, id)| (id.clone(), *at))
            .collect();
        for m in read.messages {
            if m.author != me
                && !seen.contains(&m.id)
                && let Some(at) = sent_at.get(&m.id)
            {
                lock(&shown).push(now.duration_since(*at).as_micros() as u64);
                seen.insert(m.id);
            }
        }
    }
}

/// An admin account and a bearer session of it, made in the database the
/// way `seed` makes the partners'; its token.
async fn admin_session(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let (token, hash) = crate::seed::new_token(&mut rand::rng());
    sqlx::query(
        "INSERT INTO accounts (id, email, name, company, role, status, password_hash, decided_at)
         VALUES ('a-load-admin', 'admin@load.example', 'Load Admin', 'Load', 'admin',
                 'approved', $1, now())
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(crate::seed::NO_PASSWORD)
    .execute(pool)
    .await
    .context("making the admin")?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, kind, expires_at)
         VALUES ($1, 'a-load-admin', 'bearer', now() + interval '1 hour')",
    )
    .bind(hash.to_vec())
    .execute(pool)
    .await?;
    Ok(token)
}

/// `POST path` with a JSON `body` and a bearer `token`; the answer's body
/// when it is a 2xx.
async fn post(server: SocketAddr, token: &str, path: &str, body: &str) -> anyhow::Result<String> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        ensure!(
            response.starts_with("HTTP/1.1 2"),
            "refused: {response:.300}"
        );
        Ok(response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default())
    })
    .await?
}
