//! `cargo xtask run --nodes N`: N server nodes over one Postgres behind
//! HAProxy, configured from `deploy/haproxy.cfg`, for trying what the
//! cluster does (stop a node; its clients move to the others).

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command},
};

use anyhow::{Context, Result, bail};

/// `deploy/haproxy.cfg` with its placeholders filled: the proxy listening
/// on `listen`, one `server` line per node.
pub fn haproxy_config(template: &str, listen: &str, nodes: &[SocketAddr]) -> String {
    let servers: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, addr)| format!("    server node{} {addr}", i + 1))
        .collect();
    template
        .replace("{{listen}}", listen)
        .replace("{{servers}}", &servers.join("\n"))
}

/// Starts `nodes` servers (made by `server`, given each one's address) on
/// the ports after `listen`'s, then HAProxy on `listen`, and waits for the
/// proxy; every node is stopped when it ends (Ctrl-C stops them all).
pub fn run(
    root: &Path,
    listen: &str,
    nodes: usize,
    server: impl Fn(&str) -> Command,
) -> Result<()> {
    let front: SocketAddr = listen
        .parse()
        .with_context(|| format!("LISTEN_ADDR {listen:?} is not an address and port"))?;
    let addrs: Vec<SocketAddr> = (1..=nodes)
        .map(|i| {
            let port = u16::try_from(usize::from(front.port()) + i)
                .context("no room for the nodes' ports after LISTEN_ADDR's")?;
            Ok(SocketAddr::new(front.ip(), port))
        })
        .collect::<Result<_>>()?;
    let template = std::fs::read_to_string(root.join("deploy/haproxy.cfg"))?;
    let config = root.join("target/haproxy.cfg");
    std::fs::write(&config, haproxy_config(&template, listen, &addrs))?;

    let mut children = Children(Vec::new());
    for (i, addr) in addrs.iter().enumerate() {
        let child = server(&addr.to_string())
            // The proxy connects from the address it listens on (from
            // loopback when that is every address).
            .env(
                "TRUSTED_PROXIES",
                if front.ip().is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    front.ip().to_string()
                },
            )
            .spawn()
            .with_context(|| format!("starting node {}", i + 1))?;
        println!("node {} on http://{addr} (pid {})", i + 1, child.id());
        children.0.push(child);
    }
    println!(
        "Starting the partner portal on http://{listen}: HAProxy in front of {nodes} nodes \
         ({}; Ctrl-C stops them all)",
        config.display()
    );
    let status = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&config)
        .status()
        .context("starting haproxy")?;
    if !status.success() {
        bail!("haproxy ended with {status}");
    }
    Ok(())
}

/// The nodes, killed when `run` ends however it ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_gets_its_listener_and_one_server_per_node() {
        let template = include_str!("../../../deploy/haproxy.cfg");
        let nodes: Vec<SocketAddr> = vec![
            "127.0.0.1:8081".parse().unwrap(),
            "127.0.0.1:8082".parse().unwrap(),
        ];
        let config = haproxy_config(template, "127.0.0.1:8080", &nodes);
        assert!(config.contains("    bind 127.0.0.1:8080\n"));
        assert!(
            config.contains("    server node1 127.0.0.1:8081\n    server node2 127.0.0.1:8082")
        );
        assert!(!config.contains("{{"), "every placeholder is filled");
    }
}
