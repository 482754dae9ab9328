//! `cargo xtask bench-sync`: our sync server beside the reference one, on
//! the same workload, one after the other on this machine.
//!
//! The reference is automerge-repo's own JavaScript Repo behind its
//! WebSocket server adapter with its filesystem storage
//! (`tests/bench-sync/reference-server.mjs`, pinned npm packages), set up as
//! that project's sync server is. Ours is the release `sync-server` with
//! authentication and Postgres, as `cargo xtask load` runs it. Both are
//! driven by the same client, `loadtest run` (native samod repos, cheaper
//! than Node's client, so the driver does not saturate before the
//! servers): clients in pairs sharing one pipeline document, one small
//! edit per client every 2 s on average, the peer timing each edit's
//! arrival. Ours starts with its documents seeded into Postgres; the
//! reference with the same documents created through it by one client
//! (`loadtest seed-reference`), then is started again on its files, so
//! both start cold: memory per connection counts the documents each opens
//! on both.
//!
//! For each number of clients it prints, per server: edits made and seen,
//! edit-to-seen median and 99th percentile, the server's CPU per edit (and
//! Postgres's, for ours: the postmaster and every backend), peak memory and
//! memory per connection; then the ratios. Everything is also written to
//! `target/bench-sync.txt`.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::{
    cargo, exec,
    load::{METRICS_TOKEN, ServerProcess, Setup, run_to_end, with_fd_limit},
    pg, system, web,
};

/// Everything after the builds for one server at one number of clients.
const DEADLINE: Duration = Duration::from_secs(6 * 60);

/// What `bench-sync` takes: `--clients 50,200,400`, `--duration-secs 30`,
/// `--edit-interval-ms 2000`.
struct Options {
    clients: Vec<usize>,
    duration_secs: u64,
    edit_interval_ms: u64,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        clients: vec![50, 200, 400],
        duration_secs: 30,
        edit_interval_ms: 2000,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--clients" => {
                options.clients = value
                    .split(',')
                    .map(|n| n.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .context("--clients: numbers separated by commas, such as 50,200")?;
                if options.clients.iter().any(|n| *n < 2 || n % 2 == 1) {
                    bail!("--clients: each an even number of at least 2 (clients come in pairs)");
                }
            }
            "--duration-secs" => options.duration_secs = value.parse()?,
            "--edit-interval-ms" => options.edit_interval_ms = value.parse()?,
            other => {
                bail!("unknown option {other} (--clients, --duration-secs, --edit-interval-ms)")
            }
        }
    }
    Ok(options)
}

/// A run's figures, as the driver's `--summary-out` writes them.
type Summary = BTreeMap<String, String>;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let options = options(args)?;
    system::ensure_packages(&system::BENCH_SYNC_PACKAGES)?;
    exec(cargo().args(["build", "--release", "-p", "sync-server", "-p", "loadtest"]))?;
    web::npm_install(&root.join("tests/bench-sync"))?;
    let dir = root.join("target/bench-sync");
    std::fs::create_dir_all(dir.join("web"))?;

    let cluster = pg::Cluster::dev(root);
    let was_running = cluster.is_running();
    cluster.start()?;
    let result = (|| {
        let mut runs = Vec::new();
        for &clients in &options.clients {
            eprintln!("\n== {clients} clients: the reference server ==");
            let reference = reference(root, &dir, clients, &options)?;
            eprintln!("\n== {clients} clients: ours ==");
            let ours = ours(root, &dir, &cluster, clients, &options)?;
            runs.push((clients, reference, ours));
            // What is measured is kept, whatever happens to the next run.
            std::fs::write(root.join("target/bench-sync.txt"), report(&options, &runs))?;
        }
        Ok::<_, anyhow::Error>(runs)
    })();
    let stopped = if was_running { Ok(()) } else { cluster.stop() };
    let runs = result?;
    stopped?;

    let text = report(&options, &runs);
    std::fs::write(root.join("target/bench-sync.txt"), &text)?;
    println!("\n{text}\nwritten to target/bench-sync.txt");
    Ok(())
}

/// The driver's `run` with the options both servers get.
fn driver(root: &Path, clients: usize, options: &Options, summary: &Path) -> Command {
    let mut drive = with_fd_limit(&root.join("target/release/loadtest"));
    drive
        .arg("run")
        .args(["--clients", &clients.to_string()])
        .args(["--duration-secs", &options.duration_secs.to_string()])
        .args(["--edit-interval-ms", &options.edit_interval_ms.to_string()])
        .arg("--summary-out")
        .arg(summary);
    drive
}

fn read_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the driver's summary {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn reference(root: &Path, dir: &Path, clients: usize, options: &Options) -> Result<Summary> {
    let deadline = Instant::now() + DEADLINE;
    let store = dir.join("reference-store");
    if store.exists() {
        std::fs::remove_dir_all(&store)?;
    }
    let log = dir.join(format!("reference-{clients}.log"));
    File::create(&log)?;
    // The documents are created through it, then it is started again on
    // its files, so that it starts cold, as ours does after seeding.
    let seeder = ServerProcess::spawn(reference_command(root, &store), &log)?;
    let sessions = dir.join("reference-sessions.txt");
    let mut seed = with_fd_limit(&root.join("target/release/loadtest"));
    seed.arg("seed-reference")
        .args(["--server", &seeder.addr])
        .args(["--pairs", &(clients / 2).to_string()])
        .arg("--sessions-out")
        .arg(&sessions);
    run_to_end(&mut seed, deadline, false)?;
    stopped("the reference server", seeder.stop());
    let server = ServerProcess::spawn(reference_command(root, &store), &log)?;
    let summary = dir.join(format!("reference-{clients}.summary"));
    let mut drive = driver(root, clients, options, &summary);
    drive
        .arg("--reference")
        .arg("--sessions")
        .arg(&sessions)
        .args(["--server", &server.addr])
        .args(["--server-pid", &server.child.0.id().to_string()]);
    let report = run_to_end(&mut drive, deadline, true)?;
    std::fs::write(dir.join(format!("reference-{clients}.txt")), &report)?;
    eprint!("{report}");
    stopped("the reference server", server.stop());
    read_summary(&summary)
}

/// The reference server on `store`, on any free port.
fn reference_command(root: &Path, store: &Path) -> Command {
    let mut cmd = Command::new("sh");
    // Node's own limit on open files is the shell's: raised as for ours.
    cmd.arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec node reference-server.mjs"#)
        .current_dir(root.join("tests/bench-sync"))
        .env("STORAGE_DIR", store)
        .env("PORT", "0");
    cmd
}

/// A server slow to stop is a figure to note, not a reason to throw the
/// measurement away (it is killed when dropped).
fn stopped(what: &str, stop: Result<Duration>) {
    match stop {
        Ok(took) => eprintln!("{what} stopped in {:.1} s", took.as_secs_f64()),
        Err(error) => eprintln!("{what}: {error:#}; killed"),
    }
}

fn ours(
    root: &Path,
    dir: &Path,
    cluster: &pg::Cluster,
    clients: usize,
    options: &Options,
) -> Result<Summary> {
    let setup = Setup::fresh(
        root,
        cluster,
        "bench",
        dir,
        dir.join(format!("ours-{clients}.log")),
        Instant::now() + DEADLINE,
    )?;
    // One document per pair, as the reference gets.
    setup.migrate_and_seed(&["--docs".to_owned(), (clients / 2).to_string()])?;
    let server = ServerProcess::start(&setup)?;
    let summary = dir.join(format!("ours-{clients}.summary"));
    let mut drive = driver(root, clients, options, &summary);
    drive
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .args(["--server", &server.addr])
        .args(["--server-pid", &server.child.0.id().to_string()])
        .args(["--postgres-pid", &postmaster_pid(cluster.data_dir())?])
        .args(["--database-url", &setup.database_url])
        .arg("--sessions")
        .arg(&setup.sessions);
    let report = run_to_end(&mut drive, setup.deadline, true)?;
    std::fs::write(dir.join(format!("ours-{clients}.txt")), &report)?;
    eprint!("{report}");
    stopped("sync-server", server.stop());
    read_summary(&summary)
}

/// The postmaster's id: the first line of `postmaster.pid`.
fn postmaster_pid(data_dir: &Path) -> Result<String> {
    let file: PathBuf = data_dir.join("postmaster.pid");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .with_context(|| format!("{} names no process", file.display()))
}

fn number(summary: &Summary, key: &str) -> Option<f64> {
    summary.get(key)?.parse().ok()
}

/// The table: a row per server and number of clients, then the ratios.
fn report(options: &Options, runs: &[(usize, Summary, Summary)]) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = vec![
        format!(
            "cargo xtask bench-sync ({cores} cores; server, Postgres and driver share them): \
             clients in pairs sharing one document, one edit per client every {:.1} s on \
             average, {} s windows",
            options.edit_interval_ms as f64 / 1000.0,
            options.duration_secs
        ),
        String::new(),
        format!(
            "{:>7}  {:<9}  {:>13}  {:>19}  {:>26}  {:>9}  {:>9}",
            "clients",
            "server",
            "edits seen",
            "edit-to-seen p50/p99",
            "CPU per edit (+Postgres)",
            "peak RSS",
            "per conn."
        ),
    ];
    let get = |s: &Summary, k: &str| s.get(k).cloned().unwrap_or_else(|| "?".to_owned());
    let ms = |s: &Summary, k: &str| match number(s, k) {
        Some(v) => format!("{v:.1}"),
        None => get(s, k),
    };
    for (clients, reference, ours) in runs {
        for (name, s) in [("reference", reference), ("ours", ours)] {
            let cpu = match (
                number(s, "server_cpu_ms_per_edit"),
                number(s, "postgres_cpu_ms_per_edit"),
            ) {
                (Some(server), Some(pg)) => format!("{server:.2} ms (+{pg:.2} ms)"),
                (Some(server), None) => format!("{server:.2} ms"),
                _ => "?".to_owned(),
            };
            out.push(format!(
                "{:>7}  {:<9}  {:>13}  {:>19}  {:>26}  {:>9}  {:>9}",
                clients,
                name,
                format!("{}/{}", get(s, "edits_seen"), get(s, "edits_made")),
                format!("{} / {} ms", ms(s, "seen_p50_ms"), ms(s, "seen_p99_ms")),
                cpu,
                number(s, "server_peak_rss_mib").map_or("?".to_owned(), |m| format!("{m:.0} MiB")),
                number(s, "kib_per_connection").map_or("?".to_owned(), |k| format!("{k:.0} KiB")),
            ));
        }
    }
    out.push(String::new());
    out.push("ours / reference (below 1: ours spends less)".to_owned());
    for (clients, reference, ours) in runs {
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "?".to_owned(),
        };
        let ours_cpu = number(ours, "server_cpu_ms_per_edit");
        let ours_total = ours_cpu
            .zip(number(ours, "postgres_cpu_ms_per_edit"))
            .map(|(a, b)| a + b);
        let reference_cpu = number(reference, "server_cpu_ms_per_edit");
        out.push(format!(
            "{:>7} clients: CPU per edit {} (server alone {}), p99 {}, peak RSS {}, per connection {}",
            clients,
            ratio(ours_total, reference_cpu),
            ratio(ours_cpu, reference_cpu),
            ratio(number(ours, "seen_p99_ms"), number(reference, "seen_p99_ms")),
            ratio(
                number(ours, "server_peak_rss_mib"),
                number(reference, "server_peak_rss_mib")
            ),
            ratio(
                number(ours, "kib_per_connection"),
                number(reference, "kib_per_connection")
            ),
        ));
    }
    out.join("\n") + "\n"
}
