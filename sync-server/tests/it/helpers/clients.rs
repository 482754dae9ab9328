//! Clients of the server: native samod repos of the fixture accounts, their
//! dialers and connections, the documents they open, and raw `/sync`
//! sockets for tests that speak the protocol by hand.

use std::time::Duration;

use samod::{BackoffConfig, DialerHandle, DocHandle, Repo};

use super::{api::session_for, server::ServerUnderTest};

/// A native client of a fixture account ("a-ana", "a-ben", "a-cleo",
/// "a-admin"): a samod repo with in-memory storage whose peer id is
/// `<account>/<random device>`, as the server requires.
pub async fn client(account: &str) -> Repo {
    Repo::build_tokio()
        .with_peer_id(samod::PeerId::from(peer_id_of(account)))
        .load()
        .await
}

/// A fresh device's peer id for `account`.
pub fn peer_id_of(account: &str) -> String {
    format!("{account}/{:016x}", rand::random::<u64>())
}

/// The account a test client's peer id names.
pub fn account_of(repo: &Repo) -> String {
    let peer = repo.peer_id();
    peer.as_str()
        .split_once('/')
        .expect("a test client made by `client`")
        .0
        .to_owned()
}

/// Connects a client with a new session of its account; waits until the
/// connection is up.
pub async fn connect(repo: &Repo, server: &impl ServerUnderTest) -> DialerHandle<client::Refused> {
    let token = session_for(server.database_url(), &account_of(repo)).await;
    connect_with(repo, server.ws_url(), &token).await
}

/// Connects with a given session token to `url` (the server, or a proxy in
/// front of it).
pub async fn connect_with(
    repo: &Repo,
    url: url::Url,
    token: &str,
) -> DialerHandle<client::Refused> {
    let dialer = dial(repo, url, token);
    tokio::time::timeout(Duration::from_secs(20), dialer.established())
        .await
        .expect("no connection within 20 s")
        .expect("dial failed");
    dialer
}

/// A WebSocket on `/sync` with a new bearer session of `account`, for
/// tests that speak the protocol by hand.
pub async fn raw_socket(
    server: &impl ServerUnderTest,
    account: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let token = session_for(server.database_url(), account).await;
    let mut request = server.ws_url().as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the raw client connects")
}

/// Starts dialing, without waiting.
pub fn dial(repo: &Repo, url: url::Url, token: &str) -> DialerHandle<client::Refused> {
    dial_with_backoff(repo, url, token, BackoffConfig::default())
}

pub fn dial_with_backoff(
    repo: &Repo,
    url: url::Url,
    token: &str,
    backoff: BackoffConfig,
) -> DialerHandle<client::Refused> {
    repo.dial(
        backoff,
        std::sync::Arc::new(client::BearerDialer::new(url, token)),
    )
    .unwrap()
}

pub async fn open(repo: &Repo, doc_id: &str) -> DocHandle {
    tokio::time::timeout(Duration::from_secs(20), repo.find(doc_id.parse().unwrap()))
        .await
        .expect("find timed out")
        .unwrap()
        .expect("document not found on the server")
}
