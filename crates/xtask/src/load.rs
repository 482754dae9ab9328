//! `cargo xtask load`: the load test, one command, bounded in time.
//!
//! It builds the real `sync-server` and the load driver (`crates/loadtest`)
//! in release, makes a fresh `load` database in the dev Postgres cluster,
//! and then: starts the server once so it applies `schema/`, stops it, has
//! the driver seed the documents (and a partner account with a bearer
//! session for each, the tokens in `target/load/sessions.txt`) straight into
//! Postgres, starts the server
//! again (a server that comes up with 10,000 stored documents, as after a
//! deploy), and lets the driver's clients loose on it. The server is a child
//! process on a free loopback port; the driver reads its memory and CPU time
//! from /proc. Whatever happens, both are killed before the command returns,
//! and everything after the build must finish within [`DEADLINE`].
//!
//! `cargo xtask load-chat` is the chat's load on the same footing: seeded
//! partners (50 by default) in one topic channel, 10 messages a second for
//! 60 s, and the time from a member's send to the message on every other
//! member's device (`loadtest chat`, which says how it measures).

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::{cargo, exec, pg, system};

/// Everything after the build: seeding, both server starts, the clients'
/// connecting and finding, the window, settling, stopping.
/// (The driver waits up to five minutes of it for the servers' start-up
/// work to end.)
const DEADLINE: Duration = Duration::from_secs(13 * 60);

/// Driver options that belong to `loadtest seed`; all others go to
/// `loadtest run` (`target/release/loadtest run --help` lists them).
const SEED_OPTIONS: [&str; 3] = ["--docs", "--docs-per-partner", "--leads-per-doc"];

/// Which load: the documents' (`load`) or the chat's (`load-chat`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Load {
    Sync,
    Chat,
}

pub fn run(root: &Path, load: Load, args: &[String]) -> Result<()> {
    let started = Instant::now();
    let (nodes, cluster_only, args) = nodes_of(args)?;
    if nodes > 1 && load == Load::Chat {
        bail!("--nodes is for `load` only");
    }
    let (mut seed_args, run_args) = split_args(&args)?;
    if load == Load::Chat {
        // A partner (and their pipeline) for each member.
        let members = run_args
            .iter()
            .position(|a| a == "--members")
            .and_then(|i| run_args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "50".to_owned());
        seed_args = vec!["--docs".to_owned(), members];
    }
    system::ensure_packages(&system::LOAD_PACKAGES)?;
    exec(cargo().args(["build", "--release", "-p", "sync-server", "-p", "loadtest"]))?;
    let built = started.elapsed();
    let deadline = Instant::now() + DEADLINE;

    let cluster = pg::Cluster::dev(root);
    let was_running = cluster.is_running();
    cluster.start()?;
    let result = (|| {
        let dir = root.join("target/load");
        // With --nodes, the same workload on one node first, then on the
        // cluster, each on a fresh database, and the two side by side.
        let mut report = Vec::new();
        let mut summaries = Vec::new();
        let runs = match nodes {
            1 => vec![1],
            _ if cluster_only => vec![nodes],
            _ => vec![1, nodes],
        };
        for nodes in runs {
            let setup = Setup::fresh(
                root,
                &cluster,
                "load",
                &dir,
                dir.join(format!("server-{nodes}.log")),
                deadline + DEADLINE * (u32::from(nodes > 1)),
            )?;
            let summary = dir.join(format!("summary-{nodes}.txt"));
            if nodes > 1 {
                report.push(String::new());
                report.push(format!("--- {nodes} nodes over one Postgres ---"));
            }
            report.extend(measure(
                &setup, load, &seed_args, &run_args, nodes, &summary,
            )?);
            summaries.push((nodes, summary));
        }
        if summaries.len() > 1 {
            report.push(String::new());
            report.extend(side_by_side(&summaries)?);
        }
        Ok::<_, anyhow::Error>(report)
    })();
    let stopped = if was_running { Ok(()) } else { cluster.stop() };
    let mut report = result?;
    stopped?;
    report.push(format!(
        "{:<28}{:.0} s (build {:.0} s)",
        "wall time",
        started.elapsed().as_secs_f64(),
        built.as_secs_f64()
    ));
    let text = report.join("\n") + "\n";
    let file = match load {
        Load::Sync => "target/load-report.txt",
        Load::Chat => "target/load-chat-report.txt",
    };
    std::fs::write(root.join(file), &text)?;
    println!("\n{text}\nwritten to {file}");
    Ok(())
}

/// `--nodes N` taken out of `args` (1 without it), and whether
/// `--cluster-only` was given (the N nodes without the one-node run before
/// them: half the time, for profiling the cluster).
fn nodes_of(args: &[String]) -> Result<(usize, bool, Vec<String>)> {
    let mut rest = Vec::new();
    let mut nodes = 1;
    let mut cluster_only = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--cluster-only" {
            cluster_only = true;
        } else if arg == "--nodes" {
            nodes = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| (1..=8).contains(n))
                .context("--nodes takes a number from 1 to 8")?;
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((nodes, cluster_only, rest))
}

/// The figures of the runs (`loadtest run --summary-out`) side by side.
fn side_by_side(summaries: &[(usize, PathBuf)]) -> Result<Vec<String>> {
    let read = |path: &Path| -> Result<std::collections::HashMap<String, String>> {
        Ok(std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    };
    let runs: Vec<_> = summaries
        .iter()
        .map(|(nodes, path)| Ok((*nodes, read(path)?)))
        .collect::<Result<_>>()?;
    let mut out = vec![format!(
        "{:<34}{}",
        "side by side",
        runs.iter()
            .map(|(n, _)| format!("{:>22}", format!("{n} node(s)")))
            .collect::<String>()
    )];
    for (label, key) in [
        ("changes/s accepted", "changes_per_sec"),
        ("edits seen", "edits_seen"),
        ("edit-to-seen p50 ms", "seen_p50_ms"),
        ("edit-to-seen p99 ms", "seen_p99_ms"),
        ("  within a node p50 / p99 ms", "within"),
        ("  across nodes p50 / p99 ms", "across"),
        (
            "server CPU per edit ms (all nodes)",
            "server_cpu_ms_per_edit",
        ),
        ("peak RSS MiB, each node", "node_peak_rss_mib"),
        ("disconnects", "disconnects"),
    ] {
        // Figures rounded as they are read: ms to a tenth, MiB and
        // changes to a whole.
        let round = |value: Option<&String>, places: usize| match value.map(|v| v.parse::<f64>()) {
            Some(Ok(v)) => format!("{v:.places$}"),
            _ => value.cloned().unwrap_or_else(|| "n/a".into()),
        };
        let cell = |run: &std::collections::HashMap<String, String>| match key {
            "within" | "across" => format!(
                "{} / {}",
                round(run.get(&format!("{key}_p50_ms")), 1),
                round(run.get(&format!("{key}_p99_ms")), 1)
            ),
            "node_peak_rss_mib" => run.get(key).map_or_else(
                || "n/a".into(),
                |list| {
                    list.split(',')
                        .map(|v| round(Some(&v.to_owned()), 0))
                        .collect::<Vec<_>>()
                        .join(" / ")
                },
            ),
            "changes_per_sec" | "edits_seen" | "disconnects" => round(run.get(key), 0),
            _ => round(run.get(key), if key.ends_with("per_edit") { 2 } else { 1 }),
        };
        out.push(format!(
            "{label:<34}{}",
            runs.iter()
                .map(|(_, run)| format!("{:>22}", cell(run)))
                .collect::<String>()
        ));
    }
    Ok(out)
}

fn split_args(args: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let (mut seed, mut run) = (Vec::new(), Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let name = arg.split('=').next().unwrap_or(arg);
        let to = if SEED_OPTIONS.contains(&name) {
            &mut seed
        } else {
            &mut run
        };
        to.push(arg.clone());
        if !arg.contains('=') && arg.starts_with("--") {
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            to.push(value.clone());
        }
    }
    Ok((seed, run))
}

/// The load run's server serves its gauges to whoever has this; it lives
/// as long as the throwaway load database.
pub(crate) const METRICS_TOKEN: &str = "load-test-metrics";

pub(crate) struct Setup {
    pub(crate) server: PathBuf,
    pub(crate) driver: PathBuf,
    pub(crate) database_url: String,
    pub(crate) web_dir: PathBuf,
    pub(crate) log: PathBuf,
    /// Where the driver lists the edits it made, for `loadtest verify`.
    pub(crate) edits: PathBuf,
    /// Where `loadtest seed` hands `loadtest run` the partners' session
    /// tokens (only their hashes are in the database).
    pub(crate) sessions: PathBuf,
    pub(crate) deadline: Instant,
}

impl Setup {
    /// A fresh, empty database `db` in `cluster`, the release server and
    /// driver, and the run's files under `dir` (the server's output in
    /// `log`).
    pub(crate) fn fresh(
        root: &Path,
        cluster: &pg::Cluster,
        db: &str,
        dir: &Path,
        log: PathBuf,
        deadline: Instant,
    ) -> Result<Setup> {
        cluster.drop_database(db)?;
        cluster.create_database(db)?;
        std::fs::create_dir_all(dir.join("web"))?;
        File::create(&log)?;
        Ok(Setup {
            server: root.join("target/release/sync-server"),
            driver: root.join("target/release/loadtest"),
            database_url: cluster.database_url(db),
            web_dir: dir.join("web"),
            log,
            edits: dir.join("edits.txt"),
            sessions: dir.join("sessions.txt"),
            deadline,
        })
    }

    /// A first start applies the migrations to the empty database; then
    /// `loadtest seed` with `seed_args` writes the documents and sessions.
    /// Returns how long the seeding took.
    pub(crate) fn migrate_and_seed(&self, seed_args: &[String]) -> Result<Duration> {
        ServerProcess::start(self)?.stop()?;
        let seeding = Instant::now();
        let mut seed = with_fd_limit(&self.driver);
        seed.arg("seed")
            .args(["--database-url", &self.database_url])
            .arg("--sessions-out")
            .arg(&self.sessions)
            .args(seed_args);
        run_to_end(&mut seed, self.deadline, false)?;
        Ok(seeding.elapsed())
    }
}

fn measure(
    setup: &Setup,
    load: Load,
    seed_args: &[String],
    run_args: &[String],
    nodes: usize,
    summary: &Path,
) -> Result<Vec<String>> {
    let seeded = setup.migrate_and_seed(seed_args)?;

    let server = ServerProcess::start(setup)?;
    let others = (1..nodes)
        .map(|_| ServerProcess::start(setup))
        .collect::<Result<Vec<_>>>()?;
    if load == Load::Chat {
        let mut drive = with_fd_limit(&setup.driver);
        drive
            .arg("chat")
            .args(["--server", &server.addr])
            .args(["--database-url", &setup.database_url])
            .arg("--sessions")
            .arg(&setup.sessions)
            .args(run_args);
        let driven = run_to_end(&mut drive, setup.deadline, true)?;
        server.stop()?;
        let cores = thread::available_parallelism().map_or(0, |n| n.get());
        let command: String = run_args.iter().map(|arg| format!(" {arg}")).collect();
        let mut report = vec![format!(
            "cargo xtask load-chat{command}  ({cores} cores; server, Postgres and members share them)"
        )];
        report.extend(driven.lines().map(str::to_owned));
        report.push(format!("{:<28}{}", "server log", log_summary(&setup.log)?));
        return Ok(report);
    }
    let mut drive = with_fd_limit(&setup.driver);
    drive.arg("run").env("METRICS_TOKEN", METRICS_TOKEN);
    for node in std::iter::once(&server).chain(&others) {
        drive
            .args(["--server", &node.addr])
            .args(["--server-pid", &node.child.0.id().to_string()]);
    }
    drive
        .arg("--summary-out")
        .arg(summary)
        .args(["--database-url", &setup.database_url])
        .arg("--edits-out")
        .arg(&setup.edits)
        .arg("--sessions")
        .arg(&setup.sessions)
        .args(run_args);
    let driven = run_to_end(&mut drive, setup.deadline, true)?;
    for node in others {
        node.stop()?;
    }
    let stop = match server.stop() {
        Ok(took) => format!("SIGTERM, exited in {:.1} s", took.as_secs_f64()),
        // A figure, not a failure: an overloaded server may take long to
        // flush. It is killed on drop.
        Err(error) => format!("{error:#}; killed"),
    };
    // What reached Postgres in the end, the shutdown flush included.
    let mut verify = Command::new(&setup.driver);
    verify
        .arg("verify")
        .args(["--database-url", &setup.database_url])
        .arg("--edits")
        .arg(&setup.edits);
    let in_the_end = run_to_end(&mut verify, setup.deadline + Duration::from_secs(60), true)?;

    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let command: String = [seed_args, run_args]
        .concat()
        .iter()
        .map(|arg| format!(" {arg}"))
        .collect();
    let mut report = vec![format!(
        "cargo xtask load{command}  ({cores} cores; server, Postgres and driver share them)"
    )];
    report.extend(driven.lines().map(str::to_owned));
    let row = |label: &str, value: String| format!("{label:<28}{value}");
    report.push(row(
        "seeding",
        format!("{:.1} s, straight into Postgres", seeded.as_secs_f64()),
    ));
    report.push(row("server stop", stop));
    report.push(row(
        "edits stored in the end",
        format!("{} (after the server's shutdown flush)", in_the_end.trim()),
    ));
    report.push(row("server log", log_summary(&setup.log)?));
    Ok(report)
}

/// Spawns `program` through `sh` with the soft open-files limit raised to
/// the hard one: hundreds of WebSockets need more than the usual 1024.
/// `LOAD_SERVER_PREFIX`, when set, runs before it (a profiler:
/// `LOAD_SERVER_PREFIX="heaptrack -o target/heap"`, see
/// docs/performance.md).
pub(crate) fn with_fd_limit(program: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec $LOAD_SERVER_PREFIX "$0" "$@""#)
        .arg(program);
    cmd
}

/// A child that is killed if it is still running when dropped.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs a driver step to its end or the deadline; returns its stdout when
/// `capture` (otherwise it goes to the terminal). Its stderr, the progress,
/// always goes to the terminal.
pub(crate) fn run_to_end(cmd: &mut Command, deadline: Instant, capture: bool) -> Result<String> {
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let mut child = Reaped(cmd.spawn().with_context(|| format!("starting {cmd:?}"))?);
    let reader = child.0.stdout.take().map(|mut out| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        })
    });
    let status = wait_until(&mut child.0, deadline)?
        .with_context(|| format!("the load test passed its {DEADLINE:?} deadline; stopped"))?;
    if !status.success() {
        bail!("load driver failed with {status}");
    }
    Ok(reader
        .map(|r| r.join().unwrap_or_default())
        .unwrap_or_default())
}

/// The child's exit status, or `None` if it still runs at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The release `sync-server` on a free loopback port, its output appended
/// to the log.
pub(crate) struct ServerProcess {
    pub(crate) child: Reaped,
    pub(crate) addr: String,
}

impl ServerProcess {
    pub(crate) fn start(setup: &Setup) -> Result<ServerProcess> {
        let mut cmd = with_fd_limit(&setup.server);
        cmd.args(["--listen", "127.0.0.1:0", "--blob-store", "memory"])
            .arg("--web-dir")
            .arg(&setup.web_dir)
            .env("DATABASE_URL", &setup.database_url)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("NO_COLOR", "1")
            .env("METRICS_TOKEN", METRICS_TOKEN);
        ServerProcess::spawn(cmd, &setup.log)
    }

    /// Starts a server that prints `listening on http://<addr>` once it
    /// listens (sync-server, and the reference server of `bench-sync`),
    /// its output appended to `log`.
    pub(crate) fn spawn(mut cmd: Command, log: &Path) -> Result<ServerProcess> {
        let mut log = OpenOptions::new().append(true).open(log)?;
        cmd.stdout(Stdio::piped()).stderr(log.try_clone()?);
        let mut child = Reaped(cmd.spawn().with_context(|| format!("starting {cmd:?}"))?);
        let stdout = child.0.stdout.take().context("server stdout")?;
        let (tx, rx) = mpsc::channel();
        // Reads the bound address from the server's first line, then keeps
        // copying its output to the log so it never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.to_owned());
                }
                let _ = writeln!(log, "{line}");
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the server did not report its address; see its log")?;
        Ok(ServerProcess { child, addr })
    }

    /// SIGTERM, as an operator would stop it; returns how long it took.
    pub(crate) fn stop(mut self) -> Result<Duration> {
        let started = Instant::now();
        exec(Command::new("kill").args(["-TERM", &self.child.0.id().to_string()]))?;
        match wait_until(&mut self.child.0, Instant::now() + Duration::from_secs(30))? {
            Some(status) if status.success() => Ok(started.elapsed()),
            Some(status) => bail!("the server exited with {status} after SIGTERM"),
            None => bail!("the server did not stop within 30 s of SIGTERM"),
        }
    }
}

/// Counts the server's warnings and errors, grouped by what they say (the
/// message without its fields), most frequent first.
fn log_summary(log: &Path) -> Result<String> {
    let text = std::fs::read_to_string(log)?;
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut warnings, mut errors) = (0, 0);
    for line in text.lines() {
        // `<time> <LEVEL> <target>: <message> <field>=<value> ...`
        let mut words = line.split_whitespace().skip(1);
        match words.next() {
            Some("WARN") => warnings += 1,
            Some("ERROR") => errors += 1,
            _ => continue,
        }
        let what: Vec<&str> = words.take_while(|w| !w.contains('=')).collect();
        *kinds.entry(what.join(" ")).or_default() += 1;
    }
    let mut summary = format!("{warnings} warnings, {errors} errors ({})", log.display());
    let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (what, count) in kinds.iter().take(4) {
        summary.push_str(&format!("\n    {count:>6} × {what}"));
    }
    Ok(summary)
}
