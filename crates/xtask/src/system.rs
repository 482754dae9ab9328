//! System packages from Debian, installed when missing.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::exec;

/// A Debian package and a file whose presence says it is installed.
pub struct Package {
    pub name: &'static str,
    pub provides: &'static str,
}

const POSTGRES: Package = Package {
    name: "postgresql",
    provides: "/usr/lib/postgresql/15/bin/initdb",
};
const CHROMIUM: Package = Package {
    name: "chromium",
    provides: "/usr/bin/chromium",
};
const CHROMEDRIVER: Package = Package {
    name: "chromium-driver",
    provides: "/usr/bin/chromedriver",
};
const NODE: Package = Package {
    name: "nodejs",
    provides: "/usr/bin/node",
};
/// Debian's rustc 1.96 with the standard library's source, for building std
/// for wasm32 where rustup cannot download the target (see web.rs).
const RUSTC_WEB: Package = Package {
    name: "rustc-web",
    provides: "/usr/bin/rustc",
};
const CARGO_WEB: Package = Package {
    name: "cargo-web",
    provides: "/usr/bin/cargo",
};
const RUST_WEB_SRC: Package = Package {
    name: "rust-web-src",
    provides: "/usr/lib/rustlib/src/rust/library/std/Cargo.toml",
};
const LLD: Package = Package {
    name: "lld-22",
    provides: "/usr/bin/lld-22",
};
const BINARYEN: Package = Package {
    name: "binaryen",
    provides: "/usr/bin/wasm-opt",
};

/// Short real videos for the training fixtures and tests: ffmpeg's test
/// sources with speech from espeak-ng.
const FFMPEG: Package = Package {
    name: "ffmpeg",
    provides: "/usr/bin/ffmpeg",
};
const ESPEAK: Package = Package {
    name: "espeak-ng",
    provides: "/usr/bin/espeak-ng",
};

/// The proxy in front of several nodes (`run --nodes`, the cluster tests).
pub const HAPROXY: Package = Package {
    name: "haproxy",
    provides: "/usr/sbin/haproxy",
};

pub const RUN_PACKAGES: [Package; 8] = [
    POSTGRES,
    RUSTC_WEB,
    CARGO_WEB,
    RUST_WEB_SRC,
    LLD,
    BINARYEN,
    FFMPEG,
    ESPEAK,
];
/// Python's virtual environments, for moto (the S3 the blob store's
/// tests run against).
const PYTHON_VENV: Package = Package {
    name: "python3-venv",
    provides: "/usr/lib/python3.11/ensurepip/__init__.py",
};

pub const LOAD_PACKAGES: [Package; 1] = [POSTGRES];
/// `bench-sync` runs the reference server on Node.js too.
pub const BENCH_SYNC_PACKAGES: [Package; 2] = [POSTGRES, NODE];
pub const TEST_PACKAGES: [Package; 13] = [
    POSTGRES,
    HAPROXY,
    PYTHON_VENV,
    FFMPEG,
    ESPEAK,
    CHROMIUM,
    CHROMEDRIVER,
    NODE,
    RUSTC_WEB,
    CARGO_WEB,
    RUST_WEB_SRC,
    LLD,
    BINARYEN,
];

pub fn ensure_packages(packages: &[Package]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|p| !Path::new(p.provides).exists())
        .map(|p| p.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !crate::pg::is_root() {
        bail!(
            "missing Debian packages: {}; install them (apt-get install {}) or run as root",
            missing.join(", "),
            missing.join(" ")
        );
    }
    println!("installing Debian packages: {}", missing.join(" "));
    let install = |update: bool| -> Result<()> {
        if update {
            exec(Command::new("apt-get").args(["update", "-q"]))?;
        }
        exec(
            Command::new("apt-get")
                .args(["install", "-y", "-q"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    // A fresh machine may have no package lists yet.
    install(false).or_else(|_| install(true))
}

/// moto, the AWS services' stand-in, in a virtual environment of its own
/// under `target/moto` (made once, pinned): its `moto_server` is an
/// S3-compatible service on loopback for the blob store's conformance
/// test. Answers the program's path.
pub fn moto(root: &Path) -> Result<std::path::PathBuf> {
    const VERSION: &str = "moto[server]==5.2.5";
    let venv = root.join("target/moto");
    let program = venv.join("bin/moto_server");
    let stamp = venv.join("installed");
    if program.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == VERSION) {
        return Ok(program);
    }
    println!("installing {VERSION} into {}", venv.display());
    exec(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    exec(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        VERSION,
    ]))?;
    std::fs::write(&stamp, VERSION)?;
    Ok(program)
}
