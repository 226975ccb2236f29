//! A synchronous JSON-RPC client over one persistent WebSocket, for substrate-api-client's
//! `sync-api` mode.
//!
//! substrate-api-client's own tungstenite client opens a connection per request, waits a
//! fixed 5 s between connection attempts and drops the node's JSON-RPC error messages
//! (the pool's "Inability to pay some fees", "Transaction is outdated", ...). This one
//! keeps the connection, connects with exponential backoff, reports the URL, and hands the
//! node's errors up intact as [`ChainError`]s (boxed in the client's error type, which
//! [`super::RpcChain`] unboxes again).

use std::{
    marker::PhantomData,
    net::TcpStream,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    thread::sleep,
    time::{Duration, Instant},
};

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use substrate_api_client::{
    ac_primitives::RpcParams,
    rpc::{Error as RpcClientError, HandleSubscription, Request, Result as RpcResult, Subscribe},
};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

use crate::ChainError;

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// How connecting retries: `attempts` tries, waiting `first_delay`, then twice as long
/// each time up to `max_delay`.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Connection attempts before giving up (at least 1).
    pub attempts: u32,
    /// Wait after the first failed attempt.
    pub first_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Six attempts over about 6 s: enough for a node that is starting.
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(3),
        }
    }
}

/// How long a request may wait for its answer; a transaction waits for its block.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The connection to one node.
pub struct WsTransport {
    url: String,
    retry: Retry,
    socket: Mutex<Option<Socket>>,
    next_id: AtomicU64,
}

impl WsTransport {
    /// Connects to `url` (`ws://host:port`), retrying as `retry` says.
    pub fn connect(url: &str, retry: Retry) -> Result<Self, ChainError> {
        let socket = connect(url, retry)?;
        Ok(Self {
            url: url.to_owned(),
            retry,
            socket: Mutex::new(Some(socket)),
            next_id: AtomicU64::new(1),
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one request and returns its `result`, reconnecting once if the connection
    /// broke.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let mut guard = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        let mut reason = String::new();
        for _ in 0..2 {
            let socket = match guard.as_mut() {
                Some(socket) => socket,
                None => guard.insert(connect(&self.url, self.retry)?),
            };
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            match exchange(socket, &request, id) {
                Ok(reply) => return reply_result(&self.url, method, reply),
                Err(e) => {
                    reason = e;
                    *guard = None;
                }
            }
        }
        Err(ChainError::ConnectionLost {
            url: self.url.clone(),
            reason,
        })
    }
}

fn boxed(error: ChainError) -> RpcClientError {
    RpcClientError::Client(Box::new(error))
}

impl Request for WsTransport {
    fn request<R: DeserializeOwned>(&self, method: &str, params: RpcParams) -> RpcResult<R> {
        let params = params.to_json_value()?;
        let result = self.call(method, params).map_err(boxed)?;
        Ok(serde_json::from_value(result)?)
    }
}

impl Subscribe for WsTransport {
    type Subscription<Notification>
        = WsSubscription<Notification>
    where
        Notification: DeserializeOwned;

    /// Each subscription gets its own connection, so that its notifications never mix
    /// with the answers to requests.
    fn subscribe<Notification: DeserializeOwned>(
        &self,
        sub: &str,
        params: RpcParams,
        unsub: &str,
    ) -> RpcResult<Self::Subscription<Notification>> {
        let mut socket = connect(&self.url, self.retry).map_err(boxed)?;
        let request =
            json!({"jsonrpc": "2.0", "id": 1, "method": sub, "params": params.to_json_value()?});
        let reply = exchange(&mut socket, &request, 1).map_err(|reason| {
            boxed(ChainError::ConnectionLost {
                url: self.url.clone(),
                reason,
            })
        })?;
        let id = reply_result(&self.url, sub, reply).map_err(boxed)?;
        Ok(WsSubscription {
            socket,
            id,
            unsub: unsub.to_owned(),
            _notification: PhantomData,
        })
    }
}

/// Notifications of one subscription, on its own connection.
pub struct WsSubscription<Notification> {
    socket: Socket,
    id: Value,
    unsub: String,
    _notification: PhantomData<Notification>,
}

impl<Notification: DeserializeOwned> HandleSubscription<Notification>
    for WsSubscription<Notification>
{
    fn next(&mut self) -> Option<RpcResult<Notification>> {
        loop {
            let text = match read_text(&mut self.socket) {
                Ok(text) => text,
                Err(reason) => {
                    return Some(Err(RpcClientError::Client(Box::new(
                        ChainError::ConnectionLost {
                            url: "the subscription's connection".into(),
                            reason,
                        },
                    ))))
                }
            };
            let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if value["params"]["subscription"] == self.id {
                let result = value["params"]["result"].take();
                return Some(serde_json::from_value(result).map_err(Into::into));
            }
        }
    }

    fn unsubscribe(mut self) -> RpcResult<()> {
        let request = json!({"jsonrpc": "2.0", "id": 2, "method": self.unsub, "params": [self.id]});
        // The answer does not matter: the connection closes either way.
        let _ = self.socket.send(Message::text(request.to_string()));
        let _ = self.socket.close(None);
        Ok(())
    }
}

/// Connects, retrying with exponential backoff.
fn connect(url: &str, retry: Retry) -> Result<Socket, ChainError> {
    let bad_url = |reason: String| ChainError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|e| bad_url(e.to_string()))?;
    if parsed.scheme() != "ws" {
        return Err(bad_url(format!(
            "scheme {}:// is not supported (this build speaks plain ws://; put a TLS proxy in front for wss://)",
            parsed.scheme()
        )));
    }
    let started = Instant::now();
    let mut delay = retry.first_delay;
    let mut reason = String::new();
    let attempts = retry.attempts.max(1);
    for attempt in 1..=attempts {
        match tungstenite::connect(url) {
            Ok((mut socket, _response)) => {
                if let MaybeTlsStream::Plain(stream) = socket.get_mut() {
                    // A node that stops answering must not hang the caller forever.
                    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
                    let _ = stream.set_nodelay(true);
                }
                return Ok(socket);
            }
            Err(e) => reason = e.to_string(),
        }
        if attempt < attempts {
            log::debug!("connecting to {url} failed ({reason}); retrying in {delay:?}");
            sleep(delay);
            delay = (delay * 2).min(retry.max_delay);
        }
    }
    Err(ChainError::Unreachable {
        url: url.to_owned(),
        attempts,
        waited: started.elapsed(),
        reason,
    })
}

/// Sends `request` and reads until the answer with `id`; `Err` is a transport failure.
fn exchange(socket: &mut Socket, request: &Value, id: u64) -> Result<Value, String> {
    socket
        .send(Message::text(request.to_string()))
        .map_err(|e| e.to_string())?;
    loop {
        let text = read_text(socket)?;
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if value["id"] == json!(id) {
            return Ok(value);
        }
    }
}

fn read_text(socket: &mut Socket) -> Result<String, String> {
    loop {
        match socket.read().map_err(|e| e.to_string())? {
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Close(_) => return Err("the node closed the connection".into()),
            _ => {}
        }
    }
}

/// The `result` of a JSON-RPC answer, or its `error` as [`ChainError::Rpc`].
fn reply_result(url: &str, method: &str, mut reply: Value) -> Result<Value, ChainError> {
    let error = reply["error"].take();
    if error.is_null() {
        return Ok(reply["result"].take());
    }
    let code = error["code"].as_i64().unwrap_or_default();
    let mut message = error["message"]
        .as_str()
        .unwrap_or("unknown error")
        .to_owned();
    match &error["data"] {
        Value::Null => {}
        Value::String(data) => message = format!("{message}: {data}"),
        data => message = format!("{message}: {data}"),
    }
    Err(ChainError::Rpc {
        url: url.to_owned(),
        method: method.to_owned(),
        code,
        message,
    })
}
