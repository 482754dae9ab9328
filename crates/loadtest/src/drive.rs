//! The load itself: clients in pairs, each pair sharing one document or a few.
//!
//! Every client is a native samod repo with its own WebSocket to the server,
//! signed in as a partner: the server lets an account read and write only
//! its own documents, so pair `p` is two devices (peer ids
//! `<account>/<client number>`) of the partner seeded `p`th, with that
//! partner's session (see `seed.rs`). Clients `2p` and `2p + 1` both open
//! the documents of pair `p`; for the
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
    io::{Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, ensure};
use automerge::{Automerge, ChangeHash, ReadDoc};
use futures::{StreamExt, TryStreamExt, stream};
use model::{LeadDraft, PipelineDoc, Stage, Timestamp};
use rand::{Rng, SeedableRng, rngs::StdRng};
use samod::{
    BackoffConfig, DialerEvent, DialerHandle, DocHandle, DocumentId, PeerId, Repo,
    storage::StorageKey,
};
use sqlx::{PgPool, postgres::PgPoolOptions};

use crate::stats::{self, mib, nearest_rank, percentile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's address; clients dial ws://<server>/sync. Given more
    /// than once, the nodes of one cluster: the clients of half the pairs
    /// meet on one node, the other half's two clients are on two nodes,
    /// and the edit-to-seen times of each half are reported apart.
    #[arg(long, required = true)]
    server: Vec<SocketAddr>,
    /// The server's process id, to read its memory and CPU time from /proc
    /// (one per `--server`, in the same order).
    #[arg(long)]
    server_pid: Vec<u32>,
    /// The server's database, to wait for its projections and to check
    /// what it stored (not with `--reference`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The server is the reference JavaScript sync server
    /// (`tests/bench-sync`), not ours: no accounts (pairs are devices of
    /// made-up partners), no database (the documents are created through
    /// the server by a client that leaves before the others come), and
    /// what it stored is not read back.
    #[arg(long)]
    reference: bool,
    /// Leads in each document `--reference` creates (as `loadtest seed
    /// --leads-per-doc`).
    #[arg(long, default_value_t = 3)]
    leads_per_doc: usize,
    /// The Postgres postmaster's process id: its CPU time and its
    /// backends' over the window are reported beside the server's.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Where to write the run's figures as `<name> <value>` lines, for
    /// `cargo xtask bench-sync`.
    #[arg(long)]
    summary_out: Option<std::path::PathBuf>,
    /// Connected clients (an even number: they come in pairs).
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// Documents each client opens; both clients of a pair open the same
    /// ones. One is the partner's pipeline on two devices; more need as
    /// many per partner from `loadtest seed --docs-per-partner`.
    #[arg(long, default_value_t = 1)]
    docs_per_client: usize,
    /// The file `loadtest seed --sessions-out` wrote: each partner's
    /// account, session token and documents. Pairs take partners in its
    /// order (again from the first when there are more pairs than partners).
    /// Not with `--reference`.
    #[arg(long)]
    sessions: Option<std::path::PathBuf>,
    /// Seconds during which clients edit.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Mean milliseconds between two edits of one client (each wait is drawn
    /// from half to one and a half times this).
    #[arg(long, default_value_t = 2000)]
    edit_interval_ms: u64,
    /// Clients coming online (connecting and finding their documents) at
    /// once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Most seconds for all clients to connect and open their documents;
    /// documents still loading then stay out of the window.
    #[arg(long, default_value_t = 120)]
    open_secs: u64,
    /// Most seconds to wait after the window for every edit to reach its
    /// peer and Postgres.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
    /// Where to write every edit made (`<doc id> <change hash>` per line),
    /// for `loadtest verify` after the server has stopped.
    #[arg(long)]
    edits_out: Option<std::path::PathBuf>,
    /// Most seconds to wait for the server to project every stored document
    /// (it catches up at start) before the clients begin.
    #[arg(long, default_value_t = 180)]
    catch_up_secs: u64,
    /// Most seconds to wait, after the catch-up, for the servers' other
    /// start-up work (the views of every partner, the documents each
    /// partner is given) to end, so that the window measures the steady
    /// state. The wait ends when the servers together use under a tenth of
    /// a core for two seconds; its length is reported. 0: no wait.
    #[arg(long, default_value_t = 300)]
    start_up_secs: u64,
    /// The server's `--metrics-token`, to read its gauges.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
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
    /// The pair's two clients are on different nodes.
    across: bool,
}

/// The node (an index into `--server`) client `c` dials, of `nodes`: a
/// pair's first client on its pair's node, the second on the same node
/// for even pairs and on the next one for odd pairs.
fn node_of(c: usize, nodes: usize) -> usize {
    let pair = c / 2;
    let across = c % 2 == 1 && pair % 2 == 1;
    (pair + usize::from(across)) % nodes.max(1)
}

#[derive(Default)]
pub(crate) struct Tally {
    /// Edit-to-seen latencies, in microseconds.
    latencies: Mutex<Vec<u64>>,
    /// Those of them between clients on two nodes, and on one.
    across: Mutex<Vec<u64>>,
    within: Mutex<Vec<u64>>,
    /// Every edit made: document index and change hash.
    edits: Mutex<Vec<(usize, ChangeHash)>>,
    failed_edits: AtomicU64,
    connected: AtomicUsize,
    found: AtomicUsize,
    disconnects: AtomicU64,
    disconnect_reasons: Mutex<BTreeMap<String, u64>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    let server_pids: Vec<String> = args.server_pid.iter().map(u32::to_string).collect();
    let server_pid = server_pids.first().cloned();
    let postgres_pid = args.postgres_pid.map(|pid| pid.to_string());
    let urls = args
        .server
        .iter()
        .map(|server| samod::Url::parse(&format!("ws://{server}/sync")))
        .collect::<Result<Vec<_>, _>>()?;
    let url = urls[0].clone();
    let nodes = urls.len();
    let mut report = Vec::new();
    let k = args.docs_per_client;
    let pairs = args.clients / 2;

    let (pool, partners, stored, catch_up) = if args.reference {
        // Seeded beforehand (and the server restarted, so that it starts
        // cold as ours does), or created now.
        let partners = match &args.sessions {
            Some(sessions) => read_sessions(sessions)?,
            None => reference_partners(&url, pairs, k, args.leads_per_doc).await?,
        };
        let stored = partners.iter().map(|p| p.docs.len()).sum();
        (None, partners, stored, Duration::ZERO)
    } else {
        let database_url = args
            .database_url
            .as_deref()
            .context("--database-url is needed (or --reference)")?;
        let sessions = args
            .sessions
            .as_deref()
            .context("--sessions is needed (or --reference)")?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(database_url)
            .await
            .context("connecting to Postgres")?;
        // The server projects every stored document when it starts; wait,
        // so that the window measures edits and not the catch-up.
        let waited = Instant::now();
        let stored = wait_for_projections(&pool, Duration::from_secs(args.catch_up_secs)).await?;
        let catch_up = waited.elapsed();
        eprintln!("server projected all {stored} stored documents (waited {catch_up:.1?})");
        let partners = read_sessions(sessions)?;
        (Some(pool), partners, usize::try_from(stored)?, catch_up)
    };
    let settled = settle(&server_pids, Duration::from_secs(args.start_up_secs)).await;
    match settled {
        Some(took) => eprintln!("the servers' start-up work ended (waited {took:.1?})"),
        None => eprintln!(
            "the servers were still busy after {} s; the window starts anyway",
            args.start_up_secs
        ),
    }
    ensure!(!partners.is_empty(), "no partners seeded; seed first");
    ensure!(
        partners.iter().all(|p| p.docs.len() >= k),
        "--docs-per-client {k} needs {k} documents per partner: seed with \
         --docs-per-partner {k} or more"
    );
    // Every document by index; pair p's slot j is its partner's jth.
    let mut doc_ids: Vec<String> = Vec::new();
    let mut first_doc = Vec::with_capacity(partners.len());
    for partner in &partners {
        first_doc.push(doc_ids.len());
        doc_ids.extend(partner.docs.iter().cloned());
    }
    let rss_before = server_pid.as_deref().and_then(stats::memory);

    let tally = Arc::new(Tally::default());
    let shared: Vec<Arc<Shared>> = (0..pairs * k)
        .map(|slot| {
            Arc::new(Shared {
                doc: first_doc[(slot / k) % partners.len()] + slot % k,
                pending: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
                across: node_of(slot / k * 2, nodes) != node_of(slot / k * 2 + 1, nodes),
            })
        })
        .collect();

    // Clients come online as devices do: connect, then ask for their
    // documents. The phase is bounded: what is not open by the deadline
    // stays out of the window.
    let started = Instant::now();
    let open_deadline = started + Duration::from_secs(args.open_secs);
    let progress = tokio::spawn({
        let tally = tally.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                eprintln!(
                    "  {:.0?}: {} clients connected, {} documents found",
                    started.elapsed(),
                    tally.connected.load(Ordering::Relaxed),
                    tally.found.load(Ordering::Relaxed)
                );
            }
        }
    });
    let mut opened: Vec<(usize, Opened)> = stream::iter(0..args.clients)
        .map(|c| {
            let wanted: Vec<(usize, String)> = (0..k)
                .map(|j| {
                    let slot = (c / 2) * k + j;
                    (slot, doc_ids[shared[slot].doc].clone())
                })
                .collect();
            let partner = &partners[(c / 2) % partners.len()];
            let device = Device {
                peer_id: PeerId::from(format!("{}/{c}", partner.account)),
                dialer: Arc::new(client::BearerDialer::new(
                    urls[node_of(c, nodes)].clone(),
                    &partner.token,
                )),
            };
            let open = open_client(device, wanted, open_deadline, tally.clone());
            async move { (c, open.await) }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    opened.sort_by_key(|(c, _)| *c);
    let opened: Vec<Opened> = opened.into_iter().map(|(_, o)| o).collect();
    progress.abort();
    let open_time = started.elapsed();
    let mut find_times: Vec<u64> = opened
        .iter()
        .flat_map(|o| &o.find_times)
        .map(|d| d.as_micros() as u64)
        .collect();
    find_times.sort_unstable();
    let connected = opened.iter().filter(|o| o.connected).count();
    let found_count = find_times.len();
    // A document takes part only when both sides of its pair have it.
    let mut pairs_of: HashMap<usize, [Option<DocHandle>; 2]> = HashMap::new();
    for (c, client) in opened.iter().enumerate() {
        for (slot, handle) in &client.docs {
            pairs_of.entry(*slot).or_default()[c % 2] = Some(handle.clone());
        }
    }
    let mut per_client: Vec<Vec<(DocHandle, Arc<Shared>)>> = vec![Vec::new(); args.clients];
    let mut watchers = Vec::new();
    for (slot, [a, b]) in pairs_of {
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
        "{connected} clients connected, {found_count} of {} finds done in {open_time:.1?}; \
         {open_docs} documents open on both sides of a pair",
        args.clients * k
    );
    ensure!(
        open_docs > 0,
        "no document could be opened by both clients of a pair within {} s",
        args.open_secs
    );
    let rss_open = server_pid.as_deref().and_then(stats::memory);

    // The window: every client edits at its own jittered pace.
    let window = Duration::from_secs(args.duration_secs);
    let interval = Duration::from_millis(args.edit_interval_ms);
    eprintln!("editing for {window:?}, one edit per client every {interval:?} on average");
    let run: u32 = rand::random();
    // Every node's CPU, summed.
    let cpu_of_nodes = || {
        server_pids
            .iter()
            .map(|pid| stats::cpu_time(pid))
            .sum::<Option<Duration>>()
    };
    let cpu_start = cpu_of_nodes();
    let pg_cpu_start = postgres_pid.as_deref().and_then(stats::tree_cpu_time);
    let driver_cpu_start = stats::cpu_time("self");
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
    let cpu_window = cpu_of_nodes()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    let pg_cpu_window = postgres_pid
        .as_deref()
        .and_then(stats::tree_cpu_time)
        .zip(pg_cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    let driver_cpu_window = stats::cpu_time("self")
        .zip(driver_cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    let rss_window = server_pid.as_deref().and_then(stats::memory);
    let metrics = if args.reference {
        Err(anyhow!("the reference server has none"))
    } else {
        server_metrics(args.server[0], args.metrics_token.clone()).await
    };
    let edits: Vec<(usize, ChangeHash)> = std::mem::take(&mut *lock(&tally.edits));
    eprintln!("window closed: {} edits made", edits.len());
    if let Some(path) = &args.edits_out {
        let lines: String = edits
            .iter()
            .map(|(doc, hash)| format!("{} {hash}\n", doc_ids[*doc]))
            .collect();
        std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
    }

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
    // The reference server's files are not read back: its own tests say
    // what it keeps.
    let (unstored, all_stored_after) = match &pool {
        Some(pool) => {
            let (unstored, after) = wait_stored(pool, &doc_ids, &edits, closed + settle).await?;
            (Some(unstored), after.map(|at| at.duration_since(closed)))
        }
        None => (None, None),
    };
    for watcher in &watchers {
        watcher.abort();
    }
    let rss_end = server_pid.as_deref().and_then(stats::memory);

    // The report.
    let made = edits.len();
    let stored_count = unstored.map(|u| made - u);
    let mut latencies = std::mem::take(&mut *lock(&tally.latencies));
    latencies.sort_unstable();
    let mut across = std::mem::take(&mut *lock(&tally.across));
    across.sort_unstable();
    let ms = |us: Option<u64>| match us {
        Some(us) => format!("{:.1} ms", us as f64 / 1000.0),
        None => "n/a".into(),
    };
    let memory = |m: Option<stats::Memory>| match m {
        Some(m) => format!("{:.1} MiB", mib(m.rss)),
        None => "n/a".into(),
    };
    let mut line = |label: &str, value: String| report.push(format!("{label:<28}{value}"));
    if args.start_up_secs > 0 && !server_pids.is_empty() {
        line(
            "start-up work",
            match settled {
                Some(took) => format!(
                    "ended {:.1} s after the catch-up (the window came after it)",
                    took.as_secs_f64()
                ),
                None => format!(
                    "still running {} s after the catch-up, in the window",
                    args.start_up_secs
                ),
            },
        );
    }
    line(
        "documents stored",
        if args.reference {
            format!("{stored} (created through the reference server before the clients came)")
        } else {
            format!(
                "{stored} (the server projected them all {:.1} s after it was started)",
                catch_up.as_secs_f64()
            )
        },
    );
    line(
        "clients",
        format!(
            "{connected} of {} connected within the open phase ({pairs} pairs, {k} shared \
             document(s) per pair)",
            args.clients
        ),
    );
    line(
        "documents opened",
        format!(
            "{open_docs} of {} on both sides; {found_count} of {} finds done in {:.1} s{}",
            pairs * k,
            args.clients * k,
            open_time.as_secs_f64(),
            if open_time >= Duration::from_secs(args.open_secs) {
                " (the phase's limit)"
            } else {
                ""
            }
        ),
    );
    line(
        "find time p50 / p99",
        format!(
            "{} / {} (connected to document in hand)",
            ms(percentile(&find_times, 50.0)),
            ms(percentile(&find_times, 99.0))
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
        match (stored_count, all_stored_after) {
            (None, _) => "not read (the reference server's files)".to_owned(),
            (Some(stored_count), Some(after)) => format!(
                "{stored_count} of {made}, all in Postgres {:.1} s after the window",
                after.as_secs_f64()
            ),
            (Some(stored_count), None) => format!(
                "{stored_count} of {made} in Postgres {} s after the window",
                settle.as_secs()
            ),
        },
    );
    if let Some(stored_count) = stored_count {
        line(
            "changes/s accepted",
            format!("{:.1}", stored_count as f64 / window_secs),
        );
    }
    // Over every edit made: one never seen took longer than any seen one
    // (more than the settle time), so it ranks last.
    let of_all = |p: f64| match nearest_rank(latencies.len() + unseen, p) {
        Some(rank) if rank <= latencies.len() => ms(Some(latencies[rank - 1])),
        Some(_) => format!("over {} s (not seen by the end)", settle.as_secs()),
        None => "n/a".into(),
    };
    line("edit-to-seen p50", of_all(50.0));
    line("edit-to-seen p99", of_all(99.0));
    line("edit-to-seen max", of_all(100.0));
    // Of the edits seen (an unseen one has no side to count it on).
    let mut within = std::mem::take(&mut *lock(&tally.within));
    within.sort_unstable();
    let peaks: Vec<Option<f64>> = server_pids
        .iter()
        .map(|pid| stats::memory(pid).map(|m| mib(m.peak)))
        .collect();
    if nodes > 1 {
        for (label, of) in [("  within a node", &within), ("  across nodes", &across)] {
            line(
                label,
                format!(
                    "p50 {}, p99 {} ({} edits seen)",
                    ms(percentile(of, 50.0)),
                    ms(percentile(of, 99.0)),
                    of.len()
                ),
            );
        }
        let peaks: Vec<String> = peaks
            .iter()
            .enumerate()
            .map(|(i, peak)| match peak {
                Some(peak) => format!("node {} {peak:.1} MiB", i + 1),
                None => format!("node {} n/a", i + 1),
            })
            .collect();
        line("each node's peak RSS", peaks.join(", "));
    }
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
        // With several nodes, the first one's.
        if nodes > 1 {
            "node 1 RSS"
        } else {
            "server RSS"
        },
        format!(
            "{} before clients, {} with documents open, {} at window end, {} at the end",
            memory(rss_before),
            memory(rss_open),
            memory(rss_window),
            memory(rss_end)
        ),
    );
    line(
        if nodes > 1 {
            "node 1 peak RSS"
        } else {
            "server peak RSS"
        },
        match rss_end {
            Some(m) => format!("{:.1} MiB (VmHWM)", mib(m.peak)),
            None => "n/a".into(),
        },
    );
    let cores = |cpu: Option<Duration>| match cpu {
        Some(cpu) => format!("{:.2} cores", cpu.as_secs_f64() / window_secs),
        None => "n/a".into(),
    };
    line(
        "CPU in window",
        format!(
            "server {}, driver {}",
            cores(cpu_window),
            cores(driver_cpu_window)
        ),
    );
    if postgres_pid.is_some() {
        line(
            "Postgres CPU in window",
            format!(
                "{} (the postmaster and every backend)",
                cores(pg_cpu_window)
            ),
        );
    }
    // Per edit made: what a change costs the server, and its database.
    let per_edit = |cpu: Option<Duration>| {
        cpu.filter(|_| made > 0)
            .map(|cpu| cpu.as_secs_f64() * 1000.0 / made as f64)
    };
    let server_per_edit = per_edit(cpu_window);
    let pg_per_edit = per_edit(pg_cpu_window);
    let per = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3} ms"));
    line(
        "CPU per edit",
        if postgres_pid.is_some() {
            format!(
                "server {}, Postgres {}, both {}",
                per(server_per_edit),
                per(pg_per_edit),
                per(server_per_edit.zip(pg_per_edit).map(|(a, b)| a + b))
            )
        } else {
            format!("server {}", per(server_per_edit))
        },
    );
    // What each connection with its documents open holds on the server.
    let per_connection = rss_before
        .zip(rss_open)
        .filter(|_| connected > 0 && nodes == 1)
        .map(|(before, open)| {
            open.rss.saturating_sub(before.rss) as f64 / 1024.0 / connected as f64
        });
    line(
        "memory per connection",
        per_connection.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{kib:.0} KiB (RSS with documents open less before, per client)"),
        ),
    );
    line(
        "server /metrics",
        metrics.unwrap_or_else(|e| format!("no answer ({e})")),
    );
    line(
        "driver peak RSS",
        match stats::memory("self") {
            Some(m) => format!("{:.1} MiB (all {} clients)", mib(m.peak), args.clients),
            None => "n/a".into(),
        },
    );
    for row in &report {
        println!("{row}");
    }
    std::io::stdout().flush()?;
    if let Some(path) = &args.summary_out {
        // Over every edit made, an unseen one ranking last (as above).
        let rank_ms = |p: f64| match nearest_rank(latencies.len() + unseen, p) {
            Some(rank) if rank <= latencies.len() => {
                format!("{:.3}", latencies[rank - 1] as f64 / 1000.0)
            }
            _ => "unseen".to_owned(),
        };
        let number = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"));
        let seen_ms = |us: Option<u64>| number(us.map(|us| us as f64 / 1000.0));
        let summary = [
            (
                "server",
                if args.reference { "reference" } else { "ours" }.to_owned(),
            ),
            ("clients", args.clients.to_string()),
            ("connected", connected.to_string()),
            ("documents_open", open_docs.to_string()),
            ("edits_made", made.to_string()),
            ("edits_seen", latencies.len().to_string()),
            (
                "edits_stored",
                stored_count.map_or_else(|| "n/a".to_owned(), |n| n.to_string()),
            ),
            ("seen_p50_ms", rank_ms(50.0)),
            ("seen_p99_ms", rank_ms(99.0)),
            ("nodes", nodes.to_string()),
            ("within_p50_ms", seen_ms(percentile(&within, 50.0))),
            ("within_p99_ms", seen_ms(percentile(&within, 99.0))),
            ("across_p50_ms", seen_ms(percentile(&across, 50.0))),
            ("across_p99_ms", seen_ms(percentile(&across, 99.0))),
            (
                "changes_per_sec",
                number(stored_count.map(|n| n as f64 / window_secs)),
            ),
            (
                "node_peak_rss_mib",
                peaks
                    .iter()
                    .map(|p| number(*p))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("server_cpu_ms_per_edit", number(server_per_edit)),
            ("postgres_cpu_ms_per_edit", number(pg_per_edit)),
            ("server_peak_rss_mib", number(rss_end.map(|m| mib(m.peak)))),
            ("kib_per_connection", number(per_connection)),
            ("disconnects", disconnects.to_string()),
        ]
        .iter()
        .map(|(name, value)| format!("{name} {value}\n"))
        .collect::<String>();
        std::fs::write(path, summary).with_context(|| format!("writing {}", path.display()))?;
    }

    // Leave politely; the process exiting would close the sockets anyway.
    let stopping = futures::future::join_all(opened.iter().map(|o| o.repo.stop()));
    let _ = tokio::time::timeout(Duration::from_secs(10), stopping).await;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct SeedReferenceArgs {
    /// The reference server's address.
    #[arg(long)]
    server: SocketAddr,
    /// Pairs of clients to make documents for.
    #[arg(long)]
    pairs: usize,
    /// Documents per pair.
    #[arg(long, default_value_t = 1)]
    docs_per_pair: usize,
    #[arg(long, default_value_t = 3)]
    leads_per_doc: usize,
    /// Where to list the partners and their documents (`<account> none
    /// <doc id>...`), for `run --reference --sessions`.
    #[arg(long)]
    sessions_out: std::path::PathBuf,
}

/// `loadtest seed-reference`: the documents of a reference run, created
/// through the server, listed for `run`.
pub async fn seed_reference(args: SeedReferenceArgs) -> anyhow::Result<()> {
    let url = samod::Url::parse(&format!("ws://{}/sync", args.server))?;
    let started = Instant::now();
    let partners =
        reference_partners(&url, args.pairs, args.docs_per_pair, args.leads_per_doc).await?;
    let lines: String = partners
        .iter()
        .map(|p| format!("{} {} {}\n", p.account, p.token, p.docs.join(" ")))
        .collect();
    std::fs::write(&args.sessions_out, lines)
        .with_context(|| format!("writing {}", args.sessions_out.display()))?;
    eprintln!(
        "created {} documents through the reference server in {:.1?}",
        partners.iter().map(|p| p.docs.len()).sum::<usize>(),
        started.elapsed()
    );
    Ok(())
}

/// The reference server's side of seeding: `pairs` made-up partners, each
/// with `k` documents created through the server by one client, which
/// waits until the server has each and then leaves, so that the window
/// has only the pairs' clients on it. The documents hold what `loadtest
/// seed` writes into Postgres for ours.
async fn reference_partners(
    url: &samod::Url,
    pairs: usize,
    k: usize,
    leads: usize,
) -> anyhow::Result<Vec<Partner>> {
    let repo = Repo::build_tokio()
        .with_peer_id(PeerId::from("bench-seeder".to_owned()))
        .load()
        .await;
    let dialer = repo
        .dial(
            BackoffConfig::default(),
            Arc::new(client::BearerDialer::new(url.clone(), "none")),
        )
        .map_err(|e| anyhow!("{e:?}"))?;
    tokio::time::timeout(Duration::from_secs(30), dialer.established())
        .await
        .context("the reference server did not accept a connection within 30 s")?
        .map_err(|e| anyhow!("connecting to the reference server: {e:?}"))?;
    let conn = dialer
        .connection_id()
        .context("connected, yet no connection id")?;
    let now = Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    let mut partners = Vec::with_capacity(pairs);
    for p in 0..pairs {
        let account = format!("bench-{p:05}");
        let partner = model::PartnerId::parse(&account)?;
        let mut docs = Vec::with_capacity(k);
        for _ in 0..k {
            let doc = crate::seed::pipeline(&partner, leads, now)?;
            let handle = repo
                .create(doc)
                .await
                .map_err(|e| anyhow!("creating a document: {e:?}"))?;
            docs.push(handle);
        }
        partners.push((account, docs));
    }
    let acknowledged = futures::future::join_all(
        partners
            .iter()
            .flat_map(|(_, docs)| docs)
            .map(|h| h.they_have_our_changes(conn)),
    );
    tokio::time::timeout(Duration::from_secs(120), acknowledged)
        .await
        .context("the reference server did not take every document within 120 s")?;
    let partners = partners
        .into_iter()
        .map(|(account, docs)| Partner {
            account,
            token: "none".to_owned(),
            docs: docs.iter().map(|h| h.document_id().to_string()).collect(),
        })
        .collect();
    dialer.close();
    repo.stop().await;
    Ok(partners)
}

/// Waits until the servers `pids` together use under a tenth of a core
/// over two seconds, for at most `deadline`; how long that took, or `None`
/// if they were still busy then (or no pid was given: nothing to wait on).
async fn settle(pids: &[String], deadline: Duration) -> Option<Duration> {
    const SPAN: Duration = Duration::from_secs(2);
    if pids.is_empty() || deadline.is_zero() {
        return None;
    }
    let used = || -> Duration { pids.iter().filter_map(|pid| stats::cpu_time(pid)).sum() };
    let started = Instant::now();
    let mut samples = std::collections::VecDeque::from([(Instant::now(), used())]);
    while started.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = (Instant::now(), used());
        samples.push_back(now);
        while samples.len() > 2 && now.0 - samples[1].0 >= SPAN {
            samples.pop_front();
        }
        let (then, cpu) = samples[0];
        if now.0 - then >= SPAN && (now.1 - cpu) < (now.0 - then) / 10 {
            return Some(started.elapsed());
        }
    }
    None
}

async fn wait_for_projections(pool: &PgPool, deadline: Duration) -> anyhow::Result<i64> {
    let started = Instant::now();
    // The kinds the pipeline's projection records (the server's own
    // documents, a channel's, are another module's).
    let documents: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents WHERE kind IN ('pipeline', 'note')")
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

/// A client after coming online: its repo, whether it connected in time,
/// the documents it found (by slot), and how long each find took. A client
/// that did not connect in time keeps trying, as a device would.
pub(crate) struct Opened {
    repo: Repo,
    _dialer: Option<DialerHandle<client::Refused>>,
    connected: bool,
    pub(crate) docs: Vec<(usize, DocHandle)>,
    find_times: Vec<Duration>,
}

/// Who a client is: a device of its pair's partner, signed in with the
/// partner's session.
pub(crate) struct Device {
    pub(crate) peer_id: PeerId,
    pub(crate) dialer: Arc<client::BearerDialer>,
}

pub(crate) async fn open_client(
    device: Device,
    wanted: Vec<(usize, String)>,
    deadline: Instant,
    tally: Arc<Tally>,
) -> Opened {
    let repo = Repo::build_tokio()
        .with_peer_id(device.peer_id)
        .load()
        .await;
    let mut opened = Opened {
        repo: repo.clone(),
        _dialer: None,
        connected: false,
        docs: Vec::new(),
        find_times: Vec::new(),
    };
    let Ok(dialer) = repo.dial(BackoffConfig::default(), device.dialer) else {
        return opened;
    };
    opened._dialer = Some(dialer.clone());
    match tokio::time::timeout_at(deadline.into(), dialer.established()).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            eprintln!("a client could not connect: {error}");
            return opened;
        }
        Err(_) => return opened,
    }
    opened.connected = true;
    tally.connected.fetch_add(1, Ordering::Relaxed);
    let counts = tally.clone();
    tokio::spawn(async move {
        let mut events = dialer.events();
        while let Some(event) = events.next().await {
            if let DialerEvent::Disconnected { reason } = event {
                counts.disconnects.fetch_add(1, Ordering::Relaxed);
                *lock(&counts.disconnect_reasons).entry(reason).or_default() += 1;
            }
        }
    });
    let finds = wanted.into_iter().map(|(slot, doc_id)| {
        let repo = repo.clone();
        let tally = tally.clone();
        async move {
            let asked = Instant::now();
            let id: DocumentId = doc_id.parse().ok()?;
            match tokio::time::timeout_at(deadline.into(), repo.find(id)).await {
                Ok(Ok(Some(handle))) => {
                    tally.found.fetch_add(1, Ordering::Relaxed);
                    Some((slot, handle, asked.elapsed()))
                }
                Ok(Ok(None)) => {
                    eprintln!("document {doc_id} not found on the server");
                    None
                }
                Ok(Err(_)) | Err(_) => None,
            }
        }
    });
    for (slot, handle, took) in futures::future::join_all(finds).await.into_iter().flatten() {
        opened.docs.push((slot, handle));
        opened.find_times.push(took);
    }
    opened
}

/// A seeded partner: its account, a session token of it, its documents.
pub(crate) struct Partner {
    pub(crate) account: String,
    pub(crate) token: String,
    docs: Vec<String>,
}

/// Reads the file `loadtest seed` wrote: `<account> <token> <doc id>...`.
pub(crate) fn read_sessions(path: &std::path::Path) -> anyhow::Result<Vec<Partner>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (written by `loadtest seed`)", path.display()))?;
    text.lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let (Some(account), Some(token)) = (words.next(), words.next()) else {
                return Err(anyhow!(
                    "not `<account> <token> <doc id>...`: {line:.20}..."
                ));
            };
            Ok(Partner {
                account: account.to_owned(),
                token: token.to_owned(),
                docs: words.map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Whether `doc` holds the change `hash` (applied, not merely queued).
pub fn contains(doc: &Automerge, hash: ChangeHash) -> bool {
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
            if shared.across {
                lock(&tally.across).extend(&seen);
            } else {
                lock(&tally.within).extend(&seen);
            }
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
pub async fn load_stored(pool: &PgPool, doc_id: &str) -> anyhow::Result<Automerge> {
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
async fn server_metrics(server: SocketAddr, token: Option<String>) -> anyhow::Result<String> {
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let timed_out = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                anyhow!("none within 5 s")
            }
            _ => e.into(),
        };
        let token = token.unwrap_or_default();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(timed_out)?;
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
        "{} resident documents, {} sync connections, {} shards (at window end)",
        gauge("portal_resident_documents"),
        gauge("portal_sync_connections"),
        gauge("portal_sync_shards")
    ))
}
