//! Project automation, in Rust so the README, CI and developers call the same
//! entry points: `cargo xtask run`, `cargo xtask test`, `cargo xtask build-web`.
//!
//! Everything the project needs that a fresh Debian machine lacks (Postgres
//! binaries, Chromium, the wasm toolchain) is installed here, and everything
//! it starts (a private Postgres cluster) it also stops.

mod bench_sync;
mod cluster;
mod demo_media;
mod load;
mod pg;
mod system;
mod wasm_size;
mod web;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

  run          build the PWA and the server, start a private Postgres (unless
               DATABASE_URL is set), load the demo data and publish the
               demo training catalog, serve on http://127.0.0.1:8080
               (LISTEN_ADDR overrides)
  run --nodes N
               the same with N server nodes over the one Postgres, on the
               next N ports, behind HAProxy on http://127.0.0.1:8080
               (deploy/haproxy.cfg): stop a node (its pid is printed) and
               its clients move to the others
  test         fmt --check, clippy -D warnings, every Rust test against a real
               Postgres, the web crate's wasm tests and the browser
               end-to-end test in Chromium
  test-web     only the web crate's wasm tests, in headless Chromium
  e2e          only the browser end-to-end tests (tests/e2e), against the
               built web/dist and debug binaries, on the private cluster
  build-web    build the PWA into web/dist (release, optimised, precompressed)
  fuzz [N]     run the /sync inbound-path fuzzer for N cases (default 1000000)
  load [OPTS]  the load test: 10,000 stored documents, 500 clients syncing
               edits for 60 s against the release server; reports peak RSS,
               changes/s accepted and edit-to-seen p50/p99 (also in
               target/load-report.txt). OPTS: --docs N, --nodes N (the
               same workload on one node, then on N nodes over the one
               Postgres, and the two side by side, edit-to-seen within a
               node and across nodes apart; --cluster-only skips the one
               node), and the driver's
               (`target/release/loadtest run --help`), e.g. --clients 100
  load-chat [OPTS]
               the chat's load: 50 members in one channel, 10 messages a
               second for 60 s against the release server; reports the
               p50/p99 time from a member's send to the message on every
               other member's device (also in target/load-chat-report.txt).
               OPTS: `target/release/loadtest chat --help`, e.g. --members 20
  bench-sync [OPTS]
               our sync server beside the reference JavaScript one
               (automerge-repo 2.5 with its WebSocket server and filesystem
               storage), the same driver and workload one after the other:
               edits seen, edit-to-seen p50/p99, server CPU per edit (and
               Postgres's), peak RSS and memory per connection, and the
               ratios (also in target/bench-sync.txt). OPTS: --clients
               50,200,400 --duration-secs 30 --edit-interval-ms 2000
  bench-load   first visit on a phone on 3G: the release build in Chromium
               under Regular 3G (300 ms, 700 kbit/s) with the CPU slowed 4x,
               375 x 812, five cold runs; reports the medians of first text,
               sign-in usable, data after signing in, repeat open offline and
               bytes on the wire (also in target/bench-load.json)
  bench-board  a busy partner's pipeline (fixtures/big-pipeline.mjs: 500
               leads, a year of activity) opened on a phone with no network
               and the CPU slowed 4x: five runs, the median time until the
               whole board is on screen and takes a tap (also in
               target/bench-board.json)
  bench-push   notifications through the test push service (release build):
               1,000 notices with a fifth of the answers faults (429, 500,
               a stalled connection), reporting how many arrive within 60 s,
               duplicates and latency percentiles; and 40 deal approvals,
               reporting the time from approval to the partner's device
  bench-field  the field client (release build): its binary's size, and
               days offline: 1,000 edits made with no network (each as one
               command makes it), the time and bytes of the sync that sends
               them and of another laptop's sync that fetches them
  wasm-size    the partner app's wasm by crate: the 15 largest, in raw bytes
               of the optimised module (also in target/wasm/size-by-crate.txt)
  demo-media   make the demo training catalog's videos, sounds, PDFs and
               images (ffmpeg, espeak-ng) into target/demo-training
  pg-start     start the private Postgres cluster used by `run` and print its URL
  pg-stop      stop it
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run(&root, &args[1..]),
        Some("test") => test(&root),
        Some("test-web") => web::browser_tests(&root),
        Some("e2e") => {
            let cluster = pg::Cluster::dev(&root);
            cluster.start()?;
            web::e2e(&root, &cluster.database_url("postgres"))
        }
        Some("build-web") => web::build(&root),
        Some("demo-media") => {
            system::ensure_packages(&system::RUN_PACKAGES)?;
            demo_media::make(&root).map(drop)
        }
        Some("fuzz") => {
            let cases = args.get(1).map(String::as_str).unwrap_or("1000000");
            let started = std::time::Instant::now();
            exec(
                cargo()
                    .args([
                        "test",
                        "--release",
                        "-p",
                        "sync-server",
                        "--lib",
                        "platform::guard::fuzz",
                        "--",
                        "--nocapture",
                    ])
                    .env("FUZZ_CASES", cases),
            )?;
            println!(
                "fuzz: {cases} frames, no crash, in {:.1?} (peak memory above)",
                started.elapsed()
            );
            Ok(())
        }
        Some("load") => load::run(&root, load::Load::Sync, &args[1..]),
        Some("load-chat") => load::run(&root, load::Load::Chat, &args[1..]),
        Some("bench-sync") => bench_sync::run(&root, &args[1..]),
        Some("bench-load") => bench(&root, "load"),
        Some("bench-board") => bench(&root, "board"),
        Some("bench-push") => bench_push(&root),
        Some("bench-field") => bench_field(&root),
        Some("wasm-size") => wasm_size::report(&root),
        Some("pg-start") => {
            let cluster = pg::Cluster::dev(&root);
            cluster.start()?;
            println!("{}", cluster.database_url("portal"));
            Ok(())
        }
        Some("pg-stop") => pg::Cluster::dev(&root).stop(),
        _ => {
            eprint!("{USAGE}");
            bail!("unknown or missing command")
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask lives in crates/xtask")
        .to_path_buf()
}

/// Runs a command, failing with its command line when it fails.
pub fn exec(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(root: &Path, args: &[String]) -> Result<()> {
    let nodes: usize = match args {
        [] => 1,
        [flag, n] if flag == "--nodes" => n
            .parse()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .context("--nodes takes a number from 1 to 16")?,
        _ => bail!("usage: cargo xtask run [--nodes N]"),
    };
    system::ensure_packages(&system::RUN_PACKAGES)?;
    if nodes > 1 {
        system::ensure_packages(&[system::HAPROXY])?;
    }
    web::build(root)?;
    let training = demo_media::make(root)?;
    exec(cargo().args(["build", "--release", "-p", "sync-server"]))?;
    let database_url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let cluster = pg::Cluster::dev(root);
            cluster.start()?;
            cluster.create_database("portal")?;
            cluster.database_url("portal")
        }
    };
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let server = |listen: &str| {
        let mut command = Command::new(root.join("target/release/sync-server"));
        command
            .env("DATABASE_URL", &database_url)
            .env("LISTEN_ADDR", listen)
            .env("WEB_DIR", root.join("web/dist"))
            .env("SEED_FIXTURES", root.join("fixtures/demo.json"))
            .env("SEED_SHOP", root.join("fixtures/shop"))
            .env("SEED_RESOURCES", root.join("fixtures/resources"))
            .env("SEED_TRAINING", &training);
        command
    };
    if nodes == 1 {
        println!("Starting the partner portal on http://{listen}  (Ctrl-C stops it)");
        return exec(&mut server(&listen));
    }
    cluster::run(root, &listen, nodes, server)
}

/// `cargo xtask bench-<name>`: five runs of a measurement (`web::bench`)
/// against the release build.
fn bench(root: &Path, name: &str) -> Result<()> {
    system::ensure_packages(&system::TEST_PACKAGES)?;
    web::build(root)?;
    exec(cargo().args(["build", "--release", "-p", "sync-server"]))?;
    let cluster = pg::Cluster::dev(root);
    cluster.start()?;
    web::bench(
        root,
        name,
        &cluster.database_url("postgres"),
        &root.join("target/release/sync-server"),
        5,
        false,
    )
}

/// `cargo xtask bench-field`: the field client's figures. The size of its
/// release binary, then days offline (`field::a_thousand_edits_*`: 1,000
/// edits made with no network, their sync, another laptop's sync of them),
/// built in release as the client and server ship.
fn bench_field(root: &Path) -> Result<()> {
    exec(cargo().args(["build", "--release", "-p", "portal-field"]))?;
    let binary = root.join("target/release/portal-field");
    let size = std::fs::metadata(&binary)
        .with_context(|| format!("{} after its build", binary.display()))?
        .len();
    println!(
        "field client: release binary {size} B ({:.1} MiB), {}",
        size as f64 / (1024.0 * 1024.0),
        std::env::consts::ARCH
    );
    release_tests(root, &["field::a_thousand"])
}

/// The integration tests named by `filters`, built in release as the
/// server runs, one at a time so they do not share the cores, their
/// figures printed: the bench commands made of tests.
fn release_tests(root: &Path, filters: &[&str]) -> Result<()> {
    let cluster = pg::Cluster::dev(root);
    cluster.start()?;
    exec(
        cargo()
            .args([
                "test",
                "--release",
                "-p",
                "sync-server",
                "--test",
                "it",
                "--",
            ])
            .args(filters)
            .args(["--nocapture", "--test-threads", "1"])
            .env("TEST_DATABASE_URL", cluster.database_url("postgres")),
    )
}

/// `cargo xtask bench-push`: the notifications tests that print figures,
/// built in release as the server runs, one at a time so they do not
/// share the cores.
fn bench_push(root: &Path) -> Result<()> {
    release_tests(
        root,
        &["notifications::a_thousand", "notifications::an_approval"],
    )
}

fn test(root: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    system::ensure_packages(&system::TEST_PACKAGES)?;
    // moto comes from PyPI while the builds below take the cores: the
    // network's time, not theirs.
    let moto = {
        let root = root.to_path_buf();
        std::thread::spawn(move || system::moto(&root))
    };
    // Each step's time, said as it ends: where the half hour goes.
    let mut lap = std::time::Instant::now();
    let mut step = |name: &str| {
        println!("xtask test: {name} took {:.0?}", lap.elapsed());
        lap = std::time::Instant::now();
    };
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The bundles and their browser tests are built beside clippy and the
    // native tests (another cargo, another target directory): each build
    // has long stretches on one core (the bundles' link-time optimisation,
    // the last crates of a test build), which the other fills.
    let wasm = {
        let root = root.to_path_buf();
        std::thread::spawn(move || -> Result<std::time::Duration> {
            let started = std::time::Instant::now();
            web::build(&root)?;
            web::browser_tests(&root)?;
            Ok(started.elapsed())
        })
    };
    // A fresh clone gains nothing from incremental compilation's caches,
    // and writing them costs a tenth of the workspace crates' build.
    exec(
        cargo()
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .env("CARGO_INCREMENTAL", "0"),
    )?;
    step("fmt and clippy (the wasm build beside it)");
    // The JS automerge-repo client of sync-server's interop test.
    web::npm_install(&root.join("tests/interop"))?;
    // The demo catalog's files, which `training::the_demo_catalog_*`
    // publishes, and the S3 stand-in the blob store's tests run against.
    let training = demo_media::make(root)?;
    let moto = moto
        .join()
        .map_err(|_| anyhow::anyhow!("installing moto panicked"))??;

    let cluster = pg::Cluster::test(root);
    cluster.start()?;
    let result = (|| -> Result<()> {
        // Each test makes its own database from this one.
        let admin_url = cluster.database_url("postgres");
        let tests = |build_only: bool| {
            let mut cargo = cargo();
            cargo.args(["test", "--workspace"]);
            if build_only {
                cargo.arg("--no-run");
            }
            cargo
                .env("CARGO_INCREMENTAL", "0")
                .env("TEST_DATABASE_URL", &admin_url)
                .env("PG_TEST_CLUSTER_DIR", cluster.data_dir())
                .env("DEMO_TRAINING_DIR", &training)
                .env("MOTO_SERVER", &moto);
            cargo
        };
        exec(&mut tests(true))?;
        step("cargo test (the build)");
        let wasm_took = wasm
            .join()
            .map_err(|_| anyhow::anyhow!("the wasm build panicked"))??;
        println!("xtask test: the wasm build and its tests took {wasm_took:.0?}, beside the above");
        step("waiting for the wasm build");
        // The measurements once, against the debug server, failing only
        // far beyond their goals (four and ten times): to keep them
        // working, not to measure. They run beside the tests' run, which
        // mostly waits on Postgres and sockets, instead of after it.
        let benches = {
            let root = root.to_path_buf();
            let admin_url = admin_url.clone();
            std::thread::spawn(move || -> Result<()> {
                let server = root.join("target/debug/sync-server");
                for name in ["load", "board"] {
                    web::bench(&root, name, &admin_url, &server, 1, true)?;
                }
                Ok(())
            })
        };
        let ran = exec(&mut tests(false));
        let benched = benches
            .join()
            .map_err(|_| anyhow::anyhow!("the measurements panicked"))?;
        ran?;
        benched?;
        step("cargo test (the run), the measurements beside it");
        web::e2e(root, &admin_url)?;
        step("the end-to-end tests");
        Ok(())
    })();
    let stopped = cluster.stop();
    result?;
    stopped?;
    println!("all tests passed in {:.0?}", started.elapsed());
    Ok(())
}
