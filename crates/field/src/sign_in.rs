//! Signing in: a bearer session from `POST /api/sessions`, and what
//! `GET /api/me` says of the account, kept as the [`Session`].

use std::time::Duration;

use crate::session::Session;

/// Most bytes of an answer read: `/api/me` is a few KiB.
const MAX_ANSWER: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the server at {0} cannot be reached: {1}")]
    Unreachable(String, String),
    #[error("{0}")]
    Refused(String),
    #[error("the server's answer does not read: {0}")]
    Answer(String),
}

/// Signs in to `server` (a base URL) and returns the session to keep.
pub async fn sign_in(
    server: &str,
    email: &str,
    password: String,
    device: String,
) -> Result<Session, SignInError> {
    let server = server.trim_end_matches('/').to_owned();
    let base = url::Url::parse(&server)
        .map_err(|e| SignInError::Refused(format!("{server} is not a server address: {e}")))?;
    // The password, and the token on every sync after, would cross the
    // network in clear over plain HTTP: only to this machine.
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match base.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(SignInError::Refused(format!(
                "{server} is plain HTTP: your password would cross the network unencrypted; \
                 use its https:// address"
            )));
        }
        _ => {
            return Err(SignInError::Refused(format!(
                "{server} is not an https:// address"
            )));
        }
    }
    let http = reqwest::Client::builder()
        // A redirect would send the password on to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| SignInError::Unreachable(server.clone(), e.to_string()))?;
    let unreachable = |e: reqwest::Error| SignInError::Unreachable(server.clone(), e.to_string());
    let response = http
        .post(format!("{server}/api/sessions"))
        .json(&wire::SignIn {
            email: email.to_owned(),
            password,
            kind: wire::SessionKind::Bearer,
        })
        .send()
        .await
        .map_err(unreachable)?;
    let signed: wire::SignedIn = read(response).await?;
    let token = signed
        .token
        .ok_or_else(|| SignInError::Answer("no token in the answer".into()))?;
    let response = http
        .get(format!("{server}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(unreachable)?;
    let me: wire::Me = read(response).await?;
    let documents = me
        .documents
        .iter()
        // Its own documents only: a team leader's team's are the app's.
        .filter(|d| Some(&d.partner_id) == me.partner_id.as_ref())
        .map(|d| (d.doc_id.clone(), d.kind.clone()))
        .collect();
    Ok(Session {
        server,
        token,
        account_id: me.account_id,
        partner_id: me.partner_id,
        name: me.name,
        expires_at: signed.expires_at,
        affinity: me.session.map(|s| s.affinity).unwrap_or_default(),
        documents,
        device,
    })
}

/// The JSON of a successful answer, or the server's own words for a
/// refusal (`{"error": ...}`), bounded in size.
async fn read<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
) -> Result<T, SignInError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SignInError::Answer(e.to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            return Err(SignInError::Answer("the answer is too large".into()));
        }
    }
    if !status.is_success() {
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
        return Err(SignInError::Refused(match (status.as_u16(), said) {
            (401, _) => "the email or password is not right".to_owned(),
            // The server's words, as a terminal may show them.
            (_, Some(said)) => crate::shown(&said, 300),
            (code, None) => format!("the server answered HTTP {code}"),
        }));
    }
    serde_json::from_slice(&body).map_err(|e| SignInError::Answer(e.to_string()))
}
