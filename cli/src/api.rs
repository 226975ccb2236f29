//! What the index knows, through the web API (`--api`): listing and searching offers.
//! The chain stays the truth for everything that moves money; the API is for finding,
//! and its live event feed tells the owner's watcher of new purchases without polling.

use std::time::Duration;

use chain::AccountId;
use serde_json::Value;

use crate::{Error, Result};

/// A client of the web API at `base` (e.g. `http://127.0.0.1:8080`).
pub struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

impl Api {
    /// A client; nothing is sent yet.
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::invalid(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// GET `path` with `query`; the API's own message on a 4xx.
    fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).query(query).send().map_err(|e| {
            Error::invalid(format!("no Datamarket API answers at {}: {e}", self.base))
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .map_err(|e| Error::invalid(format!("{url} did not answer JSON: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body["message"].as_str().unwrap_or("no message").to_owned();
        Err(Error::invalid(if status.as_u16() == 404 {
            format!("not in the index: {message}")
        } else {
            format!("the API refused ({status}): {message}")
        }))
    }

    /// `GET /v1/offers`: ranked by `q` when given, filtered, one page.
    pub fn offers(&self, filter: &OfferFilter) -> Result<Value> {
        let mut query = Vec::new();
        if let Some(q) = &filter.q {
            query.push(("q", q.clone()));
        }
        for tag in &filter.tags {
            query.push(("tag", tag.clone()));
        }
        if let Some(owner) = &filter.owner {
            query.push(("owner", owner.clone()));
        }
        if let Some(status) = &filter.status {
            query.push(("status", status.clone()));
        }
        query.push(("limit", filter.limit.to_string()));
        self.get("/v1/offers", &query)
    }

    /// `GET /v1/offers/{id}`.
    pub fn offer(&self, id: u64) -> Result<Value> {
        self.get(&format!("/v1/offers/{id}"), &[])
    }
}

/// Which offers `offer list` asks for.
#[derive(Clone, Debug, Default)]
pub struct OfferFilter {
    /// Words to search for (ranked).
    pub q: Option<String>,
    /// Tags every offer must have.
    pub tags: Vec<String>,
    /// Owner (SS58).
    pub owner: Option<String>,
    /// `active`, `paused`, `delisted` or `any`.
    pub status: Option<String>,
    /// At most this many (the API allows 100).
    pub limit: u32,
}

/// `text` from the chain, safe to print on a terminal: control characters (escape
/// sequences could move the cursor, rewrite earlier lines or set the clipboard) and
/// bidirectional overrides (which reorder what is shown) become U+FFFD. The marketplace
/// refuses control characters, but what is printed may come from any index.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// One line per offer of a page: id, price and asset, title, tags.
pub fn offer_lines(page: &Value) -> Vec<String> {
    page["offers"]
        .as_array()
        .map(|offers| {
            offers
                .iter()
                .map(|o| {
                    let tags: Vec<String> = o["tags"]
                        .as_array()
                        .map(|t| t.iter().filter_map(Value::as_str).map(printable).collect())
                        .unwrap_or_default();
                    format!(
                        "{:>6}  {:>14} {:<10}  {}  [{}]",
                        o["id"],
                        o["price"].as_str().unwrap_or("?"),
                        printable(&short_asset(o["asset"].as_str().unwrap_or("?"))),
                        printable(o["title"].as_str().unwrap_or("")),
                        tags.join(", ")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn short_asset(asset: &str) -> String {
    if asset.len() > 10 {
        format!("{}…", &asset[..8])
    } else {
        asset.to_owned()
    }
}

/// What the event feed tells the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// The feed is (re)connected: every later event will arrive.
    Connected,
    /// A purchase of one of the owner's offers was paid (a `PurchaseCreated` event).
    Purchased(u64),
    /// The feed dropped; it reconnects from the last event seen.
    Dropped(String),
}

/// Follows `GET /v1/events?owner=OWNER` on a thread of its own and sends what happens to
/// `events`, reconnecting with `Last-Event-ID` after a drop so that nothing between is
/// missed. Ends when `events`'s receiver is gone.
pub fn follow_purchases(
    base: &str,
    owner: &AccountId,
    events: std::sync::mpsc::Sender<FeedEvent>,
) -> Result<std::thread::JoinHandle<()>> {
    let url = format!(
        "{}/v1/events?owner={}",
        base.trim_end_matches('/'),
        crate::address::show(owner)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the event feed's I/O: {e}")))?;
    std::thread::Builder::new()
        .name("event-feed".into())
        .spawn(move || runtime.block_on(follow(url, events)))
        .map_err(|e| Error::invalid(format!("cannot start the event feed: {e}")))
}

async fn follow(url: String, events: std::sync::mpsc::Sender<FeedEvent>) {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;

    // The API sends a keep-alive comment every 15 s: a silent minute means the
    // connection is dead, though no error came.
    let http = match reqwest::Client::builder()
        .read_timeout(Duration::from_secs(60))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            let _ = events.send(FeedEvent::Dropped(format!(
                "cannot make an HTTP client: {e}"
            )));
            return;
        }
    };
    let mut last_id: Option<String> = None;
    let mut pause = Duration::from_millis(200);
    loop {
        let mut request = http.get(&url).header("accept", "text/event-stream");
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id.as_str());
        }
        let why = match request.send().await {
            Ok(response) if response.status().is_success() => {
                if events.send(FeedEvent::Connected).is_err() {
                    return;
                }
                pause = Duration::from_millis(200);
                let mut stream = Box::pin(response.bytes_stream().eventsource());
                loop {
                    match stream.next().await {
                        Some(Ok(event)) => {
                            if !event.id.is_empty() {
                                last_id = Some(event.id.clone());
                            }
                            if event.event != "PurchaseCreated" {
                                continue;
                            }
                            let purchase = serde_json::from_str::<Value>(&event.data)
                                .ok()
                                .and_then(|data| data["purchase_id"].as_u64());
                            if let Some(id) = purchase {
                                if events.send(FeedEvent::Purchased(id)).is_err() {
                                    return;
                                }
                            }
                        }
                        Some(Err(e)) => break format!("the event feed broke: {e}"),
                        None => break "the event feed ended".to_owned(),
                    }
                }
            }
            Ok(response) => format!("the event feed answered {}", response.status()),
            Err(e) => format!("no event feed at {url}: {e}"),
        };
        if events.send(FeedEvent::Dropped(why)).is_err() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_lines_print_no_terminal_controls() {
        let page = serde_json::json!({"offers": [{
            "id": 7, "price": "100", "asset": "native",
            "title": "Steps\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J and \u{202e}txt.exe",
            "tags": ["health\r", "ok"],
        }]});
        let lines = offer_lines(&page);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(!line.contains('\u{202e}'), "{line:?}");
        assert!(
            line.contains("Steps\u{fffd}]52;c;ZXZpbA==\u{fffd}\u{fffd}[2J and \u{fffd}txt.exe"),
            "{line:?}"
        );
        assert!(line.ends_with("[health\u{fffd}, ok]"), "{line:?}");
        assert_eq!(
            printable("Daily steps, 2024 — ok"),
            "Daily steps, 2024 — ok"
        );
    }
}
