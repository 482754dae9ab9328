//! How a native client (the test suite, the load driver, a future desktop
//! app) reaches `/sync`: a samod [`Dialer`] over tokio-tungstenite that
//! presents its session as `Authorization: Bearer`, the way the server
//! requires of every client that is not a browser.
//!
//! samod's own WebSocket dialer cannot send headers, and a token never goes
//! in a URL (URLs end up in logs), hence this one. A refused session (HTTP
//! 401) is a permanent failure: redialing with the same token cannot
//! succeed, so the dialer stops and says why.

use futures::{SinkExt, StreamExt, TryStreamExt, future::BoxFuture};
use samod::{DialError, Dialer, Transport};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http};
use url::Url;

/// Dials `url` with a bearer session token.
pub struct BearerDialer {
    url: Url,
    token: String,
    affinity: Option<String>,
}

impl BearerDialer {
    pub fn new(url: Url, token: impl Into<String>) -> BearerDialer {
        BearerDialer {
            url,
            token: token.into(),
            affinity: None,
        }
    }

    /// Sends the session's affinity (`/api/me`'s `session.affinity`) as
    /// the `portal_affinity` cookie, as a browser does: a proxy in front
    /// of several server nodes routes by it, so a team meets on one node.
    pub fn with_affinity(mut self, affinity: impl Into<String>) -> BearerDialer {
        self.affinity = Some(affinity.into());
        self
    }
}

/// Why the server will not take this client's connection, whatever it tries.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the server refused the session (HTTP {0}): sign in again")]
    Session(u16),
    #[error("cannot make a request for {0}: {1}")]
    BadRequest(String, String),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NetworkError(String);

impl Dialer for BearerDialer {
    type Error = Refused;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<Transport, DialError<Refused>>> {
        let url = self.url.clone();
        let token = self.token.clone();
        let affinity = self.affinity.clone();
        Box::pin(async move {
            let bad = |e: &dyn std::fmt::Display| {
                DialError::PermanentFailure(Refused::BadRequest(url.to_string(), e.to_string()))
            };
            let mut request = url.as_str().into_client_request().map_err(|e| bad(&e))?;
            let value =
                http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| bad(&e))?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
            if let Some(affinity) = affinity {
                let cookie = http::HeaderValue::from_str(&format!("portal_affinity={affinity}"))
                    .map_err(|e| bad(&e))?;
                request.headers_mut().insert(http::header::COOKIE, cookie);
            }
            let (ws, _response) = match tokio_tungstenite::connect_async(request).await {
                Ok(connected) => connected,
                Err(tungstenite::Error::Http(response))
                    if matches!(response.status().as_u16(), 401 | 403) =>
                {
                    return Err(DialError::PermanentFailure(Refused::Session(
                        response.status().as_u16(),
                    )));
                }
                Err(error) => return Err(DialError::transient(error)),
            };
            let (sink, stream) = ws.split();
            let stream = stream
                .map_err(|e| NetworkError(format!("receiving: {e}")))
                .try_filter_map(|message| async move {
                    match message {
                        Message::Binary(bytes) => Ok(Some(bytes.to_vec())),
                        Message::Text(_) => {
                            Err(NetworkError("a text frame on a binary protocol".to_owned()))
                        }
                        // The stream ends after a close frame; pings are
                        // answered by tungstenite.
                        _ => Ok(None),
                    }
                })
                .boxed();
            let sink = sink
                .sink_map_err(|e| NetworkError(format!("sending: {e}")))
                .with(|bytes: Vec<u8>| async move {
                    Ok::<_, NetworkError>(Message::Binary(bytes.into()))
                });
            Ok(Transport::new(stream, Box::pin(sink)))
        })
    }
}
