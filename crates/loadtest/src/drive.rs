//! The load itself: clients in pairs, each pair sharing a few documents.
//!
//! Every client is a native samod repo with its own WebSocket to the server.
//! Clients `2p` and `2p + 1` both open the documents of pair `p`; for the
//! length of the window each edits one of them at a steady, jittered rate
//! (open loop: a slow server does not slow the clients down), and the other
//! times the edit's arrival. All clients live in this one process, so one
//! monotonic clock serves both ends: the editor notes the instant and the
//! change hash of its edit before samod can send it, and the peer, on each
//! change notification, takes the pending edits its document now contains.
//!
//! An edit counts as accepted once the server has stored it: after the
//! window the driver loads every edited document from Postgres, chunk for
//! chunk, and looks for each edit's change hash.

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    io::{Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, ensure};
use automerge::{Automerge, ChangeHash, ReadDoc};
use futures::{StreamExt, TryStreamExt, stream};
use model::{LeadDraft, PipelineDoc, Stage, Timestamp};
use rand::{Rng, SeedableRng, rngs::StdRng};
use samod::{
    BackoffConfig, DialerEvent, DialerHandle, DocHandle, DocumentId, Repo, storage::StorageKey,
};
use sqlx::{PgPool, postgres::PgPoolOptions};

use crate::stats::{self, mib, percentile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's address; clients dial ws://<server>/sync.
    #[arg(long)]
    server: SocketAddr,
    /// The server's process id, to read its memory and CPU time from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's database, to wait for its projections and to check
    /// what it stored.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Connected clients (an even number: they come in pairs).
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// Documents each client opens; a pair opens the same ones.
    #[arg(long, default_value_t = 8)]
    docs_per_client: usize,
    /// Seconds during which clients edit.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Mean milliseconds between two edits of one client (each wait is drawn
    /// from half to one and a half times this).
    #[arg(long, default_value_t = 2000)]
    edit_interval_ms: u64,
    /// Connections, and then document requests, in flight at once while
    /// clients start.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Most seconds to wait after the window for every edit to reach its
    /// peer and Postgres.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
    /// Most seconds to wait for the server to project every stored document
    /// (it catches up at start) before the clients begin.
    #[arg(long, default_value_t = 180)]
    catch_up_secs: u64,
}

/// An edit the peer has not seen yet.
struct Pending {
    hash: ChangeHash,
    at: Instant,
}

/// One document shared by a pair: the edits of each side (0 and 1) that
/// the other side has not seen yet.
struct Shared {
    doc: usize,
    pending: [Mutex<Vec<Pending>>; 2],
}

#[derive(Default)]
struct Tally {
    /// Edit-to-seen latencies, in microseconds.
    latencies: Mutex<Vec<u64>>,
    /// Every edit made: document index and change hash.
    edits: Mutex<Vec<(usize, ChangeHash)>>,
    failed_edits: AtomicU64,
    disconnects: AtomicU64,
    disconnect_reasons: Mutex<BTreeMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What an edit will do, drawn before it runs on the document's actor.
#[derive(Clone, Copy)]
struct Choice {
    lead: usize,
    move_lead: bool,
    stage: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(
        args.clients >= 2 && args.clients.is_multiple_of(2),
        "--clients must be an even number of at least 2"
    );
    ensure!(
        args.docs_per_client >= 1,
        "--docs-per-client must be at least 1"
    );
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&args.database_url)
        .await
        .context("connecting to Postgres")?;
    let mut report = Vec::new();

    // The server projects every stored document when it starts; wait, so
    // that the window measures edits and not the catch-up.
    let waited = Instant::now();
    let stored = wait_for_projections(&pool, Duration::from_secs(args.catch_up_secs)).await?;
    eprintln!(
        "server projected all {stored} stored documents (waited {:.1?})",
        waited.elapsed()
    );
    let doc_ids: Vec<String> = sqlx::query_scalar("SELECT doc_id FROM documents ORDER BY doc_id")
        .fetch_all(&pool)
        .await?;
    ensure!(!doc_ids.is_empty(), "no documents stored; seed first");
    let rss_before = server_pid.as_deref().and_then(stats::memory);

    let tally = Arc::new(Tally::default());
    let pairs = args.clients / 2;
    let k = args.docs_per_client;
    let shared: Vec<Arc<Shared>> = (0..pairs * k)
        .map(|slot| {
            Arc::new(Shared {
                doc: slot % doc_ids.len(),
                pending: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
            })
        })
        .collect();

    // Connect every client.
    let url = samod::Url::parse(&format!("ws://{}/sync", args.server))?;
    let started = Instant::now();
    let clients: Vec<(Repo, DialerHandle<Infallible>)> = stream::iter(0..args.clients)
        .map(|_| connect(url.clone(), tally.clone()))
        .buffered(args.concurrency)
        .try_collect()
        .await?;
    let connect_time = started.elapsed();
    eprintln!("{} clients connected in {connect_time:.1?}", clients.len());

    // Each client asks for its pair's documents.
    let started = Instant::now();
    let jobs: Vec<(usize, usize)> = (0..args.clients)
        .flat_map(|c| (0..k).map(move |j| (c, (c / 2) * k + j)))
        .collect();
    let found: Vec<(usize, usize, Option<DocHandle>)> = stream::iter(jobs)
        .map(|(c, slot)| {
            let repo = clients[c].0.clone();
            let id = doc_ids[shared[slot].doc].clone();
            async move { (c, slot, find(&repo, &id).await) }
        })
        .buffered(args.concurrency)
        .collect()
        .await;
    let find_time = started.elapsed();
    let failed_finds = found.iter().filter(|(_, _, h)| h.is_none()).count();
    // A document takes part only when both sides of its pair have it.
    let mut opened: HashMap<usize, [Option<DocHandle>; 2]> = HashMap::new();
    for (c, slot, handle) in found {
        opened.entry(slot).or_default()[c % 2] = handle;
    }
    let mut per_client: Vec<Vec<(DocHandle, Arc<Shared>)>> = vec![Vec::new(); args.clients];
    let mut watchers = Vec::new();
    for (slot, [a, b]) in opened {
        let (Some(a), Some(b)) = (a, b) else { continue };
        let pair = slot / k;
        for (side, handle) in [(0, a), (1, b)] {
            watchers.push(tokio::spawn(watch(
                handle.clone(),
                shared[slot].clone(),
                side,
                tally.clone(),
            )));
            per_client[pair * 2 + side].push((handle, shared[slot].clone()));
        }
    }
    let open_docs = watchers.len() / 2;
    eprintln!(
        "{} finds in {find_time:.1?} ({failed_finds} failed); {open_docs} documents shared",
        args.clients * k
    );
    ensure!(
        open_docs > 0,
        "no document could be opened by both clients of a pair"
    );
    let rss_open = server_pid.as_deref().and_then(stats::memory);

    // The window: every client edits at its own jittered pace.
    let window = Duration::from_secs(args.duration_secs);
    let interval = Duration::from_millis(args.edit_interval_ms);
    eprintln!("editing for {window:?}, one edit per client every {interval:?} on average");
    let run: u32 = rand::random();
    let cpu_start = server_pid.as_deref().and_then(stats::cpu_time);
    let start = Instant::now();
    let end = start + window;
    let editors: Vec<_> = per_client
        .into_iter()
        .enumerate()
        .filter(|(_, docs)| !docs.is_empty())
        .map(|(c, docs)| tokio::spawn(edit_loop(run, c, docs, interval, start, end, tally.clone())))
        .collect();
    for editor in editors {
        editor.await?;
    }
    let window_secs = window.as_secs_f64();
    let cpu_window = server_pid
        .as_deref()
        .and_then(stats::cpu_time)
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    let rss_window = server_pid.as_deref().and_then(stats::memory);
    let metrics = server_metrics(args.server).await;
    let edits: Vec<(usize, ChangeHash)> = std::mem::take(&mut *lock(&tally.edits));
    eprintln!("window closed: {} edits made", edits.len());

    // Settle: every edit should reach its peer, and Postgres.
    let settle = Duration::from_secs(args.settle_secs);
    let closed = Instant::now();
    let unseen = loop {
        let unseen: usize = shared
            .iter()
            .flat_map(|s| &s.pending)
            .map(|p| lock(p).len())
            .sum();
        if unseen == 0 || closed.elapsed() > settle {
            break unseen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all_seen_after = closed.elapsed();
    let (unstored, all_stored_after) =
        wait_stored(&pool, &doc_ids, &edits, closed + settle).await?;
    let all_stored_after = all_stored_after.map(|at| at.duration_since(closed));
    for watcher in &watchers {
        watcher.abort();
    }
    let rss_end = server_pid.as_deref().and_then(stats::memory);

    // The report.
    let made = edits.len();
    let stored_count = made - unstored;
    let mut latencies = std::mem::take(&mut *lock(&tally.latencies));
    latencies.sort_unstable();
    let ms = |us: Option<u64>| match us {
        Some(us) => format!("{:.1} ms", us as f64 / 1000.0),
        None => "n/a".into(),
    };
    let memory = |m: Option<stats::Memory>| match m {
        Some(m) => format!("{:.1} MiB", mib(m.rss)),
        None => "n/a".into(),
    };
    let mut line = |label: &str, value: String| report.push(format!("{label:<28}{value}"));
    line("documents stored", format!("{stored}"));
    line(
        "clients",
        format!(
            "{} connected in {:.1} s ({pairs} pairs, {k} shared documents each)",
            clients.len(),
            connect_time.as_secs_f64()
        ),
    );
    line(
        "documents opened",
        format!(
            "{open_docs} by both clients of a pair; {} finds in {:.1} s, {failed_finds} failed",
            args.clients * k,
            find_time.as_secs_f64()
        ),
    );
    line(
        "window",
        format!(
            "{window_secs:.1} s, one edit per client every {:.1} s on average",
            interval.as_secs_f64()
        ),
    );
    line(
        "edits made",
        format!(
            "{made} ({:.1}/s offered; {} failed locally)",
            made as f64 / window_secs,
            tally.failed_edits.load(Ordering::Relaxed)
        ),
    );
    line(
        "edits stored",
        match all_stored_after {
            Some(after) => format!(
                "{stored_count} of {made}, all in Postgres {:.1} s after the window",
                after.as_secs_f64()
            ),
            None => format!(
                "{stored_count} of {made} in Postgres {} s after the window",
                settle.as_secs()
            ),
        },
    );
    line(
        "changes/s accepted",
        format!("{:.1}", stored_count as f64 / window_secs),
    );
    line("edit-to-seen p50", ms(percentile(&latencies, 50.0)));
    line("edit-to-seen p99", ms(percentile(&latencies, 99.0)));
    line("edit-to-seen max", ms(latencies.last().copied()));
    line(
        "edits seen by the peer",
        if unseen == 0 {
            format!(
                "{} (all, {:.1} s after the window)",
                latencies.len(),
                all_seen_after.as_secs_f64()
            )
        } else {
            format!(
                "{} ({unseen} not seen {} s after the window)",
                latencies.len(),
                settle.as_secs()
            )
        },
    );
    let disconnects = tally.disconnects.load(Ordering::Relaxed);
    let reasons = lock(&tally.disconnect_reasons).clone();
    line(
        "disconnects",
        if reasons.is_empty() {
            format!("{disconnects}")
        } else {
            let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n}× {r}")).collect();
            format!("{disconnects} ({})", reasons.join("; "))
        },
    );
    line(
        "server RSS",
        format!(
            "{} before clients, {} with documents open, {} at window end, {} at the end",
            memory(rss_before),
            memory(rss_open),
            memory(rss_window),
            memory(rss_end)
        ),
    );
    line(
        "server peak RSS",
        match rss_end {
            Some(m) => format!("{:.1} MiB (VmHWM)", mib(m.peak)),
            None => "n/a".into(),
        },
    );
    line(
        "server CPU in window",
        match cpu_window {
            Some(cpu) => format!("{:.2} cores", cpu.as_secs_f64() / window_secs),
            None => "n/a".into(),
        },
    );
    line(
        "server /metrics",
        metrics.unwrap_or_else(|e| format!("n/a ({e})")),
    );
    line(
        "driver peak RSS",
        match stats::memory("self") {
            Some(m) => format!("{:.1} MiB (all {} clients)", mib(m.peak), clients.len()),
            None => "n/a".into(),
        },
    );
    for row in &report {
        println!("{row}");
    }
    std::io::stdout().flush()?;

    // Leave politely; the process exiting would close the sockets anyway.
    let stopping = futures::future::join_all(clients.iter().map(|(repo, _)| repo.stop()));
    let _ = tokio::time::timeout(Duration::from_secs(10), stopping).await;
    Ok(())
}

async fn wait_for_projections(pool: &PgPool, deadline: Duration) -> anyhow::Result<i64> {
    let started = Instant::now();
    let documents: i64 = sqlx::query_scalar("SELECT count(*) FROM documents")
        .fetch_one(pool)
        .await?;
    loop {
        let projected: i64 = sqlx::query_scalar("SELECT count(*) FROM projections")
            .fetch_one(pool)
            .await?;
        if projected >= documents {
            return Ok(documents);
        }
        ensure!(
            started.elapsed() < deadline,
            "the server projected only {projected} of {documents} documents in {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn connect(
    url: samod::Url,
    tally: Arc<Tally>,
) -> anyhow::Result<(Repo, DialerHandle<Infallible>)> {
    let repo = Repo::build_tokio().load().await;
    let dialer = repo
        .dial_websocket(url, BackoffConfig::default())
        .map_err(|_| anyhow!("client repo stopped"))?;
    tokio::time::timeout(Duration::from_secs(30), dialer.established())
        .await
        .context("no connection within 30 s")?
        .map_err(|e| anyhow!("dialing failed: {e}"))?;
    let watched = dialer.clone();
    tokio::spawn(async move {
        let mut events = watched.events();
        while let Some(event) = events.next().await {
            if let DialerEvent::Disconnected { reason } = event {
                tally.disconnects.fetch_add(1, Ordering::Relaxed);
                *lock(&tally.disconnect_reasons).entry(reason).or_default() += 1;
            }
        }
    });
    Ok((repo, dialer))
}

async fn find(repo: &Repo, doc_id: &str) -> Option<DocHandle> {
    let id: DocumentId = doc_id.parse().ok()?;
    match tokio::time::timeout(Duration::from_secs(60), repo.find(id)).await {
        Ok(Ok(Some(handle))) => Some(handle),
        Ok(Ok(None)) => {
            eprintln!("document {doc_id} not found on the server");
            None
        }
        Ok(Err(_)) => None,
        Err(_) => {
            eprintln!("finding {doc_id} timed out after 60 s");
            None
        }
    }
}

/// Whether `doc` holds the change `hash` (applied, not merely queued).
fn contains(doc: &Automerge, hash: ChangeHash) -> bool {
    doc.get_missing_deps(&[hash]).is_empty()
}

/// The peer's side: on each change, the other side's edits that arrived.
async fn watch(handle: DocHandle, shared: Arc<Shared>, side: usize, tally: Arc<Tally>) {
    let mut changes = handle.changes();
    while changes.next().await.is_some() {
        let now = Instant::now();
        let mut seen = Vec::new();
        handle.with_document(|doc| {
            lock(&shared.pending[1 - side]).retain(|p| {
                let arrived = contains(doc, p.hash);
                if arrived {
                    seen.push(now.duration_since(p.at).as_micros() as u64);
                }
                !arrived
            });
        });
        if !seen.is_empty() {
            lock(&tally.latencies).extend(seen);
        }
    }
}

/// The editor's side: edits at a jittered pace until `end`.
async fn edit_loop(
    run: u32,
    client: usize,
    docs: Vec<(DocHandle, Arc<Shared>)>,
    interval: Duration,
    start: Instant,
    end: Instant,
    tally: Arc<Tally>,
) {
    let side = client % 2;
    let mut rng = StdRng::from_rng(&mut rand::rng());
    // Clients start spread over one interval, not all at once.
    let mut next = start + interval.mul_f64(rng.random::<f64>());
    let mut seq = 0u64;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        let (handle, shared) = &docs[rng.random_range(0..docs.len())];
        seq += 1;
        let choice = Choice {
            lead: rng.random_range(0..usize::MAX),
            move_lead: rng.random_bool(0.5),
            stage: rng.random_range(1..Stage::ALL.len()),
        };
        let on_doc = shared.clone();
        // Unique across runs too, so no edit can repeat what a document holds.
        let label = format!("run {run:08x}, client {client}, edit {seq}");
        let result = handle
            .with_document_async(move |doc| edit(doc, &on_doc, side, &label, choice))
            .await;
        match result {
            Ok(Ok(hash)) => lock(&tally.edits).push((shared.doc, hash)),
            Ok(Err(error)) => {
                tally.failed_edits.fetch_add(1, Ordering::Relaxed);
                eprintln!("client {client}: edit failed: {error}");
            }
            Err(_) => {
                tally.failed_edits.fetch_add(1, Ordering::Relaxed);
            }
        }
        next += interval.mul_f64(rng.random_range(0.5..1.5));
    }
}

/// One edit a partner might make (move a lead on, or rewrite its notes),
/// registered as pending for the peer before samod can send it.
fn edit(
    doc: &mut Automerge,
    shared: &Shared,
    side: usize,
    label: &str,
    choice: Choice,
) -> anyhow::Result<ChangeHash> {
    let at = Instant::now();
    let now = Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    let before = doc.get_heads();
    let pipeline = PipelineDoc::read(doc)?;
    ensure!(!pipeline.leads.is_empty(), "document has no leads");
    let lead = &pipeline.leads[choice.lead % pipeline.leads.len()];
    if choice.move_lead {
        let current = Stage::ALL
            .iter()
            .position(|s| *s == lead.stage)
            .unwrap_or(0);
        let to = Stage::ALL[(current + choice.stage) % Stage::ALL.len()];
        PipelineDoc::move_lead(doc, &lead.id, to, now)?;
    } else {
        let draft = LeadDraft {
            contact_name: lead.contact_name.clone(),
            company: lead.company.clone(),
            email: lead.email.clone(),
            phone: lead.phone.clone(),
            value: lead.value,
            notes: format!("Called back ({label}); follow up next week."),
        };
        PipelineDoc::edit_lead(doc, &lead.id, &draft, now)?;
    }
    ensure!(doc.get_heads() != before, "the edit changed nothing");
    let hash = doc
        .get_last_local_change()
        .map(|change| change.hash())
        .context("no local change after an edit")?;
    lock(&shared.pending[side]).push(Pending { hash, at });
    Ok(hash)
}

/// Polls Postgres until every edit is in its document's stored chunks or
/// `deadline` passes. Returns how many are still missing, and when the last
/// one was found.
async fn wait_stored(
    pool: &PgPool,
    doc_ids: &[String],
    edits: &[(usize, ChangeHash)],
    deadline: Instant,
) -> anyhow::Result<(usize, Option<Instant>)> {
    let mut missing: HashMap<usize, Vec<ChangeHash>> = HashMap::new();
    for (doc, hash) in edits {
        missing.entry(*doc).or_default().push(*hash);
    }
    loop {
        let docs: Vec<usize> = missing.keys().copied().collect();
        let loaded: Vec<(usize, Automerge)> = stream::iter(docs)
            .map(|doc| async move {
                Ok::<_, anyhow::Error>((doc, load_stored(pool, &doc_ids[doc]).await?))
            })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        for (doc, stored) in loaded {
            if let Some(hashes) = missing.get_mut(&doc) {
                hashes.retain(|h| !contains(&stored, *h));
                if hashes.is_empty() {
                    missing.remove(&doc);
                }
            }
        }
        if missing.is_empty() {
            return Ok((0, Some(Instant::now())));
        }
        if Instant::now() > deadline {
            return Ok((missing.values().map(Vec::len).sum(), None));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A document as the server stored it: every chunk under its id, merged.
async fn load_stored(pool: &PgPool, doc_id: &str) -> anyhow::Result<Automerge> {
    let prefix = StorageKey::from_parts([doc_id]).map_err(|e| anyhow!("{e}"))?;
    let (lo, hi) = sync::prefix_range(&prefix);
    let chunks: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT data FROM doc_chunks WHERE key >= $1 AND key < $2 ORDER BY key")
            .bind(&lo)
            .bind(&hi)
            .fetch_all(pool)
            .await?;
    let mut doc = Automerge::new();
    for chunk in &chunks {
        doc.load_incremental(chunk)?;
    }
    Ok(doc)
}

/// The server's gauges of resident documents and open connections.
async fn server_metrics(server: SocketAddr) -> anyhow::Result<String> {
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        ensure!(response.starts_with("HTTP/1.1 200"), "no /metrics");
        Ok(response)
    })
    .await??;
    let gauge = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or("?")
            .to_owned()
    };
    Ok(format!(
        "{} resident documents, {} sync connections (at window end)",
        gauge("portal_resident_documents"),
        gauge("portal_sync_connections")
    ))
}
