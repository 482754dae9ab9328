//! Which address a request comes from: the peer's, or, when the peer is a
//! proxy the server trusts (`--trusted-proxies`, e.g. the HAProxy of
//! `deploy/haproxy.cfg`, which appends the client's address to
//! `X-Forwarded-For`), the address that proxy forwarded for. The sign-in
//! and application limits count by it: behind a proxy every request's peer
//! is the proxy, and one guesser would slow everyone down.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// `X-Forwarded-For` entries read at most, from the right: a chain of
/// proxies is short, and the header is the client's to make long.
const MAX_HOPS: usize = 16;

/// The client's address: from the right of `X-Forwarded-For`, each entry
/// was appended by the hop before it, so the first one that is not a
/// trusted proxy is the client. Without a trusted peer the header is
/// the client's own and says nothing; an entry that is not an address
/// stops the walk at the last trusted hop.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    // A server listening on `[::]` sees IPv4 peers as `::ffff:a.b.c.d`.
    let mut client = peer.to_canonical();
    if !trusted.contains(&client) {
        return client;
    }
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|value| value.to_str().unwrap_or("").rsplit(','))
        .take(MAX_HOPS);
    for entry in entries {
        match entry.trim().parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(address) => {
                client = address;
                if !trusted.contains(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_says_who_the_client_is() {
        let proxy = ip("127.0.0.1");
        let trusted = [proxy];
        // What the proxy appended is the client, whatever the client
        // itself put before it.
        let forwarded = headers(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(
            client_address(proxy, &forwarded, &trusted),
            ip("203.0.113.9")
        );
        // A client talking to the server directly says nothing by it.
        let direct = ip("198.51.100.4");
        assert_eq!(client_address(direct, &forwarded, &trusted), direct);
        assert_eq!(client_address(proxy, &forwarded, &[]), proxy);
        // Through two trusted hops, and with the header split in two.
        let second = ip("10.0.0.2");
        let chain = headers(&["203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            client_address(proxy, &chain, &[proxy, second]),
            ip("203.0.113.9")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        // The proxy seen by a server listening on [::].
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(
            client_address(mapped, &forwarded, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn hostile_forwarded_headers_cannot_name_a_client_the_proxy_did_not() {
        let proxy = ip("127.0.0.1");
        let trusted = [proxy];
        // Garbage before the proxy's entry is never reached; garbage where
        // the proxy's entry should be stops at the proxy.
        let garbage = headers(&["not-an-address, 203.0.113.9"]);
        assert_eq!(client_address(proxy, &garbage, &trusted), ip("203.0.113.9"));
        let broken = headers(&["203.0.113.9, ::not"]);
        assert_eq!(client_address(proxy, &broken, &trusted), proxy);
        // A long chain of trusted-looking entries is read only so far.
        let long = vec!["127.0.0.1"; 1000].join(",");
        let long = headers(&[&format!("203.0.113.9,{long}")]);
        assert_eq!(client_address(proxy, &long, &trusted), proxy);
    }
}
