//! The API under test: a real server on 127.0.0.1:0 over a database of its own, seeded
//! through the real indexer (blocks of the in-process pallet-contracts runtime) or by
//! plain SQL for bulk rows.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chain::{Chain, InProcessChain};
use index_db::{self as db, TempDatabase};
use serde_json::Value;

// The indexer's own workloads: deploy the token and the marketplace, create offers,
// every event of both contracts.
#[path = "../../../../indexer/tests/it/common/mod.rs"]
pub mod workload;

/// A migrated database of its own.
pub async fn database(prefix: &str) -> (TempDatabase, tokio_postgres::Client) {
    let database = TempDatabase::create(prefix)
        .await
        .expect("Postgres at 127.0.0.1:5432");
    let mut client = db::connect(&database.url).await.unwrap();
    db::migrate(&mut client).await.unwrap();
    (database, client)
}

/// A running API and an HTTP client for it.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub state: web_api::AppState,
    server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Api {
    pub async fn start(config: web_api::Config) -> Self {
        let app = web_api::build(&config).await.expect("the API starts");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            web_api::serve(app, listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            server,
            stop: Some(stop),
        }
    }

    pub async fn on(url: &str) -> Self {
        let mut config = web_api::Config::new(url);
        config.search_poll_ms = 200;
        Self::start(config).await
    }

    /// GET `path`: the status and the JSON body (or the text, as a JSON string).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// GET `path`, expecting 200.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// GET `path`, expecting an error `status` with the JSON error body; returns the
    /// message.
    pub async fn fails(&self, path: &str, status: u16) -> String {
        let (got, body) = self.get(path).await;
        assert_eq!(got, status, "GET {path}: {body}");
        let code = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("GET {path}: {body}"));
        assert!(!code.is_empty());
        body["message"].as_str().unwrap().to_owned()
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

pub fn shared(chain: InProcessChain) -> chain::SharedChain {
    Arc::new(Mutex::new(Box::new(chain) as Box<dyn Chain + Send>))
}

/// A chain and the indexer applying its blocks to a database.
pub struct Indexed {
    pub chain: chain::SharedChain,
    pub source: indexer::BlockSource,
    pub client: tokio_postgres::Client,
    pub watched: indexer::Watched,
}

impl Indexed {
    pub async fn new(chain: InProcessChain, url: &str, watched: indexer::Watched) -> Self {
        let chain = shared(chain);
        Self {
            source: indexer::BlockSource::shared(Arc::clone(&chain)),
            chain,
            client: db::connect(url).await.unwrap(),
            watched,
        }
    }

    /// Runs `f` on the chain (a contract call, blocks).
    pub fn with_chain<T>(&self, f: impl FnOnce(&mut dyn Chain) -> T) -> T {
        let mut chain = self.chain.lock().unwrap();
        f(&mut **chain)
    }

    /// Applies every finalized block not yet indexed, in one batch, as the indexer does.
    pub async fn sync(&mut self) -> indexer::Applied {
        let head = self.source.finalized_head().await.unwrap();
        let from = db::cursor(&self.client, false)
            .await
            .unwrap()
            .map_or(1, |c| c.block.number + 1);
        if from > head.number {
            return indexer::Applied::default();
        }
        let blocks = self.source.fetch(from..=head.number).await.unwrap();
        indexer::apply_blocks(&mut self.client, &self.watched, &blocks)
            .await
            .unwrap()
    }
}

/// Waits up to `within` for `check` to hold, polling; returns how long it took.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The ids of a page of offers.
pub fn ids(page: &Value) -> Vec<u64> {
    page["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect()
}

/// Offers 1..=n straight into the indexer's tables: id i has owner `a` (i % 3 == 0) or
/// `b`, price (i * 7919) % 50, the token (i % 4 == 0) or native, tags `even` or `odd` and
/// `all`, status delisted (i % 10 == 0), paused (i % 10 == 1) or active, title
/// "Offer number i".
pub async fn insert_offers(
    client: &tokio_postgres::Client,
    n: i64,
    a: &[u8; 32],
    b: &[u8; 32],
    token: &[u8; 32],
) {
    client
        .execute(
            "INSERT INTO offers (id, owner, content_root, header, key_commitment, price, asset, \
             uri, title, description, tags, schema, size, bond, status, created_block, \
             updated_block) \
             SELECT i, CASE WHEN i % 3 = 0 THEN $1::bytea ELSE $2::bytea END, \
             sha256(i::text::bytea), '\\x00'::bytea, sha256(('k' || i)::bytea), \
             (i * 7919) % 50, CASE WHEN i % 4 = 0 THEN $3::bytea ELSE ''::bytea END, \
             'file:///' || i, 'Offer number ' || i, 'Synthetic listing', \
             ARRAY[CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, 'all'], 'x', i, 0, \
             CASE i % 10 WHEN 0 THEN 'delisted' WHEN 1 THEN 'paused' ELSE 'active' END, i, i \
             FROM generate_series(1, $4::bigint) i",
            &[&a.as_slice(), &b.as_slice(), &token.as_slice(), &n],
        )
        .await
        .unwrap();
}
