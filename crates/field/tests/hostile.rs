//! What a hostile or broken server answers at sign-in: an endless body,
//! not JSON, no token, a redirect. Each is refused with words a person can
//! act on, within the answer cap, and no session is kept.

use std::time::Duration;

use portal_field::sign_in::{SignInError, sign_in};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// What the stand-in server answers: a status line and headers, then a
/// body of `body` repeated `times` times (a body that does not end is a
/// large `times`: the client must stop reading first).
#[derive(Clone)]
struct Answer {
    head: String,
    body: &'static [u8],
    times: usize,
}

impl Answer {
    /// `status` (e.g. "200 OK") and `body` once, with its length.
    fn whole(status: &str, headers: &str, body: &'static [u8]) -> Answer {
        Answer {
            head: format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\n\r\n",
                body.len()
            ),
            body,
            times: 1,
        }
    }
}

/// A server on loopback giving `answer` to every request; its base URL.
async fn serve(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                // The request's head and body, read up to a bound: only
                // its end matters here.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if socket.write_all(answer.head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..answer.times {
                    if socket.write_all(answer.body).await.is_err() {
                        // The client hung up: what it should do.
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

async fn signing_in(answer: Answer) -> SignInError {
    let server = serve(answer).await;
    let attempt = sign_in(&server, "ben@okafor.example", "pw".into(), "d".into());
    tokio::time::timeout(Duration::from_secs(20), attempt)
        .await
        .expect("a hostile answer is given up on, not waited on forever")
        .expect_err("a hostile answer signs no one in")
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_cap() {
    let error = signing_in(Answer {
        head: "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n".into(),
        body: &[b'['; 64 * 1024],
        times: 1 << 20,
    })
    .await;
    assert!(
        matches!(&error, SignInError::Answer(why) if why.contains("too large")),
        "{error}"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_said_to_not_read() {
    let error = signing_in(Answer::whole(
        "200 OK",
        "content-type: text/html\r\n",
        b"<html><body>hello</body></html>",
    ))
    .await;
    assert!(
        error
            .to_string()
            .starts_with("the server's answer does not read"),
        "{error}"
    );
}

#[tokio::test]
async fn an_answer_without_a_token_signs_no_one_in() {
    const BODY: &[u8] =
        br#"{"account_id":"a-ben","role":"partner","expires_at":"2027-01-01T00:00:00Z"}"#;
    let error = signing_in(Answer::whole(
        "200 OK",
        "content-type: application/json\r\n",
        BODY,
    ))
    .await;
    assert_eq!(
        error.to_string(),
        "the server's answer does not read: no token in the answer"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_with_the_password() {
    let error = signing_in(Answer::whole(
        "307 Temporary Redirect",
        "location: http://127.0.0.2:9/steal\r\n",
        b"",
    ))
    .await;
    assert_eq!(error.to_string(), "the server answered HTTP 307");
}

#[tokio::test]
async fn a_refusal_says_the_servers_own_words_bounded() {
    let error = signing_in(Answer::whole(
        "403 Forbidden",
        "content-type: application/json\r\n",
        br#"{"error":"this account is not approved."}"#,
    ))
    .await;
    assert_eq!(error.to_string(), "this account is not approved.");
    // Words that would drive the terminal, or fill it, are not passed on.
    let error = signing_in(Answer::whole(
        "403 Forbidden",
        "",
        Box::leak(
            format!(r#"{{"error":"\u001b[2Jgone{}"}}"#, "x".repeat(5_000))
                .into_bytes()
                .into_boxed_slice(),
        ),
    ))
    .await;
    let said = error.to_string();
    assert!(
        said.starts_with(" [2Jgone") && said.chars().count() == 300,
        "{said}"
    );
    let error = signing_in(Answer::whole("401 Unauthorized", "", b"")).await;
    assert_eq!(error.to_string(), "the email or password is not right");
}

#[tokio::test]
async fn plain_http_beyond_this_machine_is_refused_before_any_request() {
    let error = sign_in("http://portal.example", "e", "pw".into(), "d".into())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unencrypted"), "{error}");
    let error = sign_in("ftp://127.0.0.1", "e", "pw".into(), "d".into())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("not an https:// address"),
        "{error}"
    );
}
