//! A samod `Dialer` over the browser's WebSocket.
//!
//! samod wants `Send` dialers and transports (its traits serve tokio too),
//! while browser objects are not `Send`. So the socket lives in a task on the
//! browser's event loop and talks to samod through channels, which are
//! `Send`: `connect` asks that task for a socket and gets back a transport
//! made of the channel ends. Reconnection and backoff are samod's.
//!
//! The server ends a socket with close code 4401 when the session behind it
//! ends (expired or revoked). Redialing would only be refused, so from then
//! on this dialer fails permanently and samod stops; the engine dials anew
//! once the partner has signed in again. Every close is reported to the
//! engine, which decides what it means.

use std::{
    cell::{Cell, RefCell},
    fmt,
    rc::Rc,
};

use futures::{
    StreamExt,
    channel::{mpsc, oneshot},
};
use samod::{DialError, Transport};
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

#[derive(Debug)]
pub struct WsError(pub String);

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WsError {}

/// A socket closed. `opened` is false when it never opened: the browser
/// reports a refused upgrade (such as a 401) that way, with code 1006, as
/// it does a network that is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketClosed {
    pub code: u16,
    pub opened: bool,
}

enum Failure {
    Transient(WsError),
    SessionEnded,
}

type Reply = oneshot::Sender<Result<Transport, Failure>>;

pub struct BrowserDialer {
    url: url::Url,
    requests: mpsc::UnboundedSender<Reply>,
}

impl BrowserDialer {
    /// `on_close` hears of every socket this dialer opened or tried to open.
    pub fn new(url: url::Url, on_close: Rc<dyn Fn(SocketClosed)>) -> BrowserDialer {
        let (requests, mut incoming) = mpsc::unbounded::<Reply>();
        let target = url.to_string();
        wasm_bindgen_futures::spawn_local(async move {
            let ended = Rc::new(Cell::new(false));
            let patience = Rc::new(Cell::new(ANSWER_MS));
            let on_close: Rc<dyn Fn(SocketClosed)> = {
                let ended = ended.clone();
                Rc::new(move |closed: SocketClosed| {
                    if closed.code == sync::SESSION_ENDED_CLOSE {
                        ended.set(true);
                    }
                    on_close(closed);
                })
            };
            while let Some(reply) = incoming.next().await {
                let answer = if ended.get() {
                    Err(Failure::SessionEnded)
                } else {
                    open_socket(&target, on_close.clone(), patience.clone())
                        .await
                        .map_err(Failure::Transient)
                };
                let _ = reply.send(answer);
            }
        });
        BrowserDialer { url, requests }
    }
}

impl samod::Dialer for BrowserDialer {
    type Error = WsError;

    fn url(&self) -> url::Url {
        self.url.clone()
    }

    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<Transport, DialError<WsError>>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.requests.unbounded_send(reply);
        Box::pin(async move {
            sent.map_err(|_| DialError::transient(WsError("dialer task is gone".into())))?;
            match answer.await {
                Ok(Ok(transport)) => Ok(transport),
                Ok(Err(Failure::Transient(e))) => Err(DialError::transient(e)),
                Ok(Err(Failure::SessionEnded)) => Err(DialError::PermanentFailure(WsError(
                    "the session ended; sign in again".into(),
                ))),
                Err(_) => Err(DialError::transient(WsError("dialer task is gone".into()))),
            }
        })
    }
}

/// Heard nothing on an open socket for this long: send the heartbeat. While
/// the page is hidden, the longer wait: a phone's radio is not kept awake
/// for a badge no one sees.
const QUIET_MS: f64 = 1_000.0;
const QUIET_HIDDEN_MS: f64 = 15_000.0;
/// No frame since the heartbeat went, this long after: the socket is dead.
/// With the check below, a socket whose network went is found dead within
/// 1 + 0.5 + 2 = 3.5 s (the badge looks four times a second).
///
/// The browser hands a frame over only once all of it has arrived, and the
/// answer queues behind whatever the server was sending: on a slow link a
/// large first sync can take longer than that. So each socket the
/// heartbeat ends doubles the wait for the dialer's next ones, up to
/// `MOST_PATIENT_MS`, and an answer in time brings it back.
const ANSWER_MS: f64 = 2_000.0;
const MOST_PATIENT_MS: f64 = 32_000.0;
/// A socket not open this long after it was asked for is given up on.
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// A check this much later than due (a busy or frozen page, a clock put
/// right) says nothing about the network: the wait starts again.
const LATE_MS: f64 = 1_000.0;
/// The code reported when the heartbeat finds a socket dead: the browser's
/// own for a connection lost without a close frame.
const ABNORMAL: u16 = 1006;

/// Opens a socket and, once it is open, wires it to a fresh pair of channels.
async fn open_socket(
    url: &str,
    on_close: Rc<dyn Fn(SocketClosed)>,
    patience: Rc<Cell<f64>>,
) -> Result<Transport, WsError> {
    let ws = WebSocket::new(url).map_err(|e| {
        let why = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        WsError(format!("cannot open a socket to {url}: {why}"))
    })?;
    ws.set_binary_type(BinaryType::Arraybuffer);

    let (to_samod, from_socket) = mpsc::unbounded::<Result<Vec<u8>, WsError>>();
    let (to_socket, mut from_samod) = mpsc::unbounded::<Vec<u8>>();
    let (opened_tx, opened_rx) = oneshot::channel::<Result<(), WsError>>();
    let opened_tx = Rc::new(RefCell::new(Some(opened_tx)));
    // When a frame last arrived (ms since the epoch).
    let heard = Rc::new(Cell::new(js_sys::Date::now()));

    let to_samod_for_messages = to_samod.clone();
    // The end of this socket, whoever notices it first: the browser's
    // `onclose` or the heartbeat. Runs once.
    let finish: Rc<dyn Fn(u16)> = {
        let opened = opened_tx.clone();
        let finished = Cell::new(false);
        Rc::new(move |code: u16| {
            if finished.replace(true) {
                return;
            }
            let never_opened = opened.borrow_mut().take();
            let was_open = never_opened.is_none();
            if let Some(tx) = never_opened {
                let _ = tx.send(Err(WsError(format!("socket closed ({code})"))));
            }
            // Ending the stream tells samod the connection is gone. Closing
            // the channel ends it for every sender: `on_message` holds one
            // too, and merely dropping this one would leave samod waiting on
            // a dead socket, never to reconnect.
            to_samod.close_channel();
            on_close(SocketClosed {
                code,
                opened: was_open,
            });
        })
    };

    let on_open = {
        let opened = opened_tx.clone();
        let heard = heard.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            heard.set(js_sys::Date::now());
            if let Some(tx) = opened.borrow_mut().take() {
                let _ = tx.send(Ok(()));
            }
        })
    };
    let on_message = {
        let to_samod = to_samod_for_messages;
        let heard = heard.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            heard.set(js_sys::Date::now());
            if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
                let _ = to_samod.unbounded_send(Ok(js_sys::Uint8Array::new(&buffer).to_vec()));
            }
            // A text frame is the heartbeat's answer
            // (`sync::HEARTBEAT_ANSWER`); having heard it is all it is for.
        })
    };
    let on_close = {
        let finish = finish.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| finish(event.code()))
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));

    // A network that takes the connection and then says nothing would keep
    // samod waiting here for minutes, never dialing again.
    let timeout = gloo_timers::future::sleep(OPEN_TIMEOUT);
    let opened = match futures::future::select(opened_rx, Box::pin(timeout)).await {
        futures::future::Either::Left((opened, _)) => {
            opened.unwrap_or_else(|_| Err(WsError("socket dropped".into())))
        }
        futures::future::Either::Right(_) => {
            finish(ABNORMAL);
            let _ = ws.close();
            Err(WsError("the server did not answer in time".into()))
        }
    };
    if let Err(e) = opened {
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        return Err(e);
    }

    wasm_bindgen_futures::spawn_local(heartbeat(ws.clone(), heard, patience, finish));

    // Outbound pump; it also owns the callbacks so they live as long as the
    // socket is in use.
    let socket = ws.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _callbacks = (on_open, on_message, on_close);
        while let Some(bytes) = from_samod.next().await {
            if socket.send_with_u8_array(&bytes).is_err() {
                break;
            }
        }
        // samod dropped the transport (or the socket broke). Unhook every
        // callback before they are dropped with this task: the close below
        // fires `onclose` later, and a dropped closure must not be called.
        socket.set_onopen(None);
        socket.set_onmessage(None);
        socket.set_onclose(None);
        let _ = socket.close();
    });
    Ok(Transport::new(from_socket, to_socket))
}

/// Keeps asking a quiet socket whether it still works, and ends it when no
/// answer comes within `patience` (ms), which it doubles when it ends one
/// and brings back to `ANSWER_MS` when an answer comes in time.
///
/// The send buffer draining is no sign of life: the operating system takes
/// bytes into its own buffers whether or not the network carries them.
async fn heartbeat(
    socket: WebSocket,
    heard: Rc<Cell<f64>>,
    patience: Rc<Cell<f64>>,
    finish: Rc<dyn Fn(u16)>,
) {
    let mut asked_at: Option<f64> = None;
    let mut checked = js_sys::Date::now();
    loop {
        gloo_timers::future::sleep(CHECK_EVERY).await;
        if socket.ready_state() != WebSocket::OPEN {
            return;
        }
        let now = js_sys::Date::now();
        let due = checked + CHECK_EVERY.as_millis() as f64;
        checked = now;
        if now < due - LATE_MS || now > due + LATE_MS {
            // Whatever arrived meanwhile may still be queued behind this
            // task: ask again, later.
            asked_at = asked_at.map(|_| now);
            continue;
        }
        match asked_at {
            Some(at) if heard.get() >= at => {
                asked_at = None;
                patience.set(ANSWER_MS);
            }
            Some(at) if now - at >= patience.get() => {
                patience.set((patience.get() * 2.0).min(MOST_PATIENT_MS));
                finish(ABNORMAL);
                let _ = socket.close();
                return;
            }
            Some(_) => {}
            None if now - heard.get() >= quiet_ms() => {
                if socket.send_with_str(sync::HEARTBEAT).is_err() {
                    finish(ABNORMAL);
                    return;
                }
                asked_at = Some(now);
            }
            None => {}
        }
    }
}

thread_local! {
    /// Whether the page is shown: a worker has no document to ask, so the
    /// screens say (`ToEngine::Visible`).
    static VISIBLE: Cell<bool> = const { Cell::new(true) };
}

pub fn set_visible(visible: bool) {
    VISIBLE.with(|v| v.set(visible));
}

fn quiet_ms() -> f64 {
    if VISIBLE.with(Cell::get) {
        QUIET_MS
    } else {
        QUIET_HIDDEN_MS
    }
}
