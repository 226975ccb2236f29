//! The Datamarket web API: an HTTP JSON API over the index (DESIGN §5).
//!
//! - [`offers`]: listing (SQL, keyset pages) and ranked search (tantivy), one offer, its
//!   purchases;
//! - [`purchases`]: one purchase with its envelope and the block of each step;
//! - [`accounts`]: an account's offers, purchases and balances;
//! - [`status`]: indexer and search status, stats, health, Prometheus metrics;
//! - [`search`]: the tantivy index derived from Postgres and kept current from the change
//!   feed;
//! - [`openapi`]: the OpenAPI document generated from the handlers, and its docs page.
//!
//! Accounts are SS58 in and out, amounts decimal strings, bytes 0x-hex. Errors are JSON
//! `{error, message}` ([`error::ApiError`]).

#![warn(missing_docs)]

pub mod accounts;
pub mod codec;
pub mod error;
pub mod events;
mod listen;
pub mod offers;
pub mod openapi;
pub mod purchases;
pub mod search;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// The API's configuration, from flags or the environment.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "web-api",
    version,
    about = "The Datamarket HTTP JSON API over the index"
)]
pub struct Config {
    /// Postgres URL of the index (the indexer's database, or a read replica of it).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "WEB_API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Origins allowed by CORS, comma-separated; `*` for any. None by default.
    #[arg(
        long = "cors-origin",
        env = "WEB_API_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Directory of the search index (kept across restarts); in memory when absent.
    #[arg(long, env = "WEB_API_SEARCH_INDEX_DIR")]
    pub search_index_dir: Option<PathBuf>,
    /// SS58 address prefix of the network (42: generic Substrate; SS58 has 0-16383).
    #[arg(
        long,
        env = "WEB_API_SS58_PREFIX",
        default_value_t = 42,
        value_parser = clap::value_parser!(u16).range(0..=16_383)
    )]
    pub ss58_prefix: u16,
    /// Most database connections.
    #[arg(long, env = "WEB_API_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,
    /// How often the search index and the event feeds poll for changes when no
    /// notification came, in milliseconds (notifications wake them at once).
    #[arg(long, env = "WEB_API_SEARCH_POLL_MS", default_value_t = 2_000)]
    pub search_poll_ms: u64,
    /// Most live event feeds (`/v1/events`) open at once; one more is a 503. Each open
    /// feed reads the database whenever the indexer applies a batch.
    #[arg(long, env = "WEB_API_MAX_EVENT_STREAMS", default_value_t = 1_000)]
    pub max_event_streams: usize,
}

impl Config {
    /// A configuration with the defaults, for `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            listen: ([127, 0, 0, 1], 8080).into(),
            cors_origins: Vec::new(),
            search_index_dir: None,
            ss58_prefix: 42,
            pool_size: 16,
            search_poll_ms: 2_000,
            max_event_streams: 1_000,
        }
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database URL or pool is wrong.
    #[error("database: {0}")]
    Database(String),
    /// The search index could not be opened or built.
    #[error("search index: {0}")]
    Search(#[from] search::SearchError),
    /// A CORS origin is not a valid header value.
    #[error("bad CORS origin `{0}`")]
    Cors(String),
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Connections to the index database.
    pub pool: deadpool_postgres::Pool,
    /// The SS58 prefix accounts are shown in and parsed with.
    pub ss58_prefix: u16,
    /// The ranked search index.
    pub search: Arc<search::SearchIndex>,
    /// The Prometheus recorder's handle.
    pub metrics: PrometheusHandle,
    /// Changes on each indexer batch with events (the event feed waits on it).
    pub blocks: tokio::sync::watch::Receiver<u64>,
    /// How often feeds poll when no notification came.
    pub poll: Duration,
    /// Becomes true when the server shuts down, so that endless responses (the event
    /// feed) end and the graceful shutdown does not wait on them.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// The last `/v1/stats` figures and the indexed block they are of.
    pub stats: Arc<status::StatsCache>,
    /// One permit per live event feed that may be open.
    pub event_streams: Arc<tokio::sync::Semaphore>,
}

/// The process's Prometheus recorder (installed once; a second API in the same process,
/// as in tests, shares it).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = match PrometheusBuilder::new().install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!("another metrics recorder is installed ({e}); /metrics shows only this API's own recorder");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            // Histograms keep every sample until an upkeep folds them into their
            // summaries; without one, a server nobody scrapes grows by every request's
            // latencies (3-4 MiB a minute at 3 000 requests/s). A thread rather than a
            // task: it must outlive any one runtime.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(METRICS_UPKEEP);
                    upkeep.run_upkeep();
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

/// The longest a statement of the API's may run.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the metrics' histograms are folded, scraped or not.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// A running API's parts: the router to serve, and the task keeping search current.
pub struct App {
    /// The routes.
    pub router: Router,
    /// The shared state.
    pub state: AppState,
    /// Follow the change feed and the block notifications; aborted when the `App` is
    /// dropped.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Drop for App {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Connects, opens the search index and catches it up with Postgres (so a fresh
/// process never serves a stale search), starts following the change feed, and
/// returns the router.
pub async fn build(config: &Config) -> Result<App, StartError> {
    let pg: tokio_postgres::Config = config
        .database_url
        .parse()
        .map_err(|e| StartError::Database(format!("bad database URL: {e}")))?;
    let pool = pool(&config.database_url, config.pool_size)?;
    let dir = config.search_index_dir.clone();
    let search = tokio::task::spawn_blocking(move || search::SearchIndex::open(dir.as_deref()))
        .await
        .expect("the search index opens without panicking")?;
    search.catch_up(&pool).await.map_err(|e| {
        StartError::Database(format!(
            "cannot read offers from {}: {e}",
            index_db::describe(&pg)
        ))
    })?;
    let poll = Duration::from_millis(config.search_poll_ms.max(10));
    let follower = tokio::spawn(search::follow(
        Arc::clone(&search),
        pool.clone(),
        config.database_url.clone(),
        poll,
    ));
    let (blocks_tx, blocks) = tokio::sync::watch::channel(0u64);
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let blocks_task = tokio::spawn(events::follow_blocks(
        config.database_url.clone(),
        blocks_tx,
        poll,
    ));
    let state = AppState {
        pool,
        ss58_prefix: config.ss58_prefix,
        search,
        metrics: metrics_handle(),
        blocks,
        poll,
        closing,
        stats: Arc::default(),
        event_streams: Arc::new(tokio::sync::Semaphore::new(config.max_event_streams)),
    };
    let router = router(state.clone(), cors(&config.cors_origins)?);
    Ok(App {
        router,
        state,
        tasks: vec![follower, blocks_task],
        closing: closing_tx,
    })
}

/// A pool of at most `size` connections to `database_url` (none opened yet).
pub fn pool(database_url: &str, size: usize) -> Result<deadpool_postgres::Pool, StartError> {
    let mut pg: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| StartError::Database(format!("bad database URL: {e}")))?;
    // No request holds a connection for long: a statement that runs past this is
    // cancelled (the request gets a 503), so a costly request cannot starve the pool.
    let timeout = format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
    let options = match pg.get_options() {
        Some(theirs) => format!("{theirs} {timeout}"),
        None => timeout,
    };
    pg.options(&options);
    let manager = deadpool_postgres::Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| StartError::Database(e.to_string()))
}

fn cors(origins: &[String]) -> Result<Option<CorsLayer>, StartError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .map(|o| HeaderValue::from_str(o).map_err(|_| StartError::Cors(o.clone())))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    Ok(Some(CorsLayer::new().allow_origin(allow).allow_methods([
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
    ])))
}

/// All routes over `state`.
pub fn router(state: AppState, cors: Option<CorsLayer>) -> Router {
    let router = Router::new()
        .route("/v1/offers", get(offers::list))
        .route("/v1/offers/{id}", get(offers::get))
        .route("/v1/offers/{id}/purchases", get(offers::purchases))
        .route("/v1/purchases/{id}", get(purchases::get))
        .route("/v1/accounts/{address}/offers", get(accounts::offers))
        .route("/v1/accounts/{address}/purchases", get(accounts::purchases))
        .route("/v1/accounts/{address}/balances", get(accounts::balances))
        .route("/v1/events", get(events::events))
        .route("/v1/status", get(status::status))
        .route("/v1/stats", get(status::stats))
        .route("/healthz", get(status::healthz))
        .route("/metrics", get(status::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::docs))
        .route(
            "/docs/swagger-ui-bundle.js",
            get(openapi::swagger_ui_script),
        )
        .route("/docs/swagger-ui.css", get(openapi::swagger_ui_style))
        .route("/", get(page))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(track))
        .layer(TraceLayer::new_for_http());
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// `GET /`: the read-only web page (search, offers, status) over this API.
async fn page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("index.html"))
}

/// Counts requests and their latency per route and status.
async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("web_api_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("web_api_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app.router.clone();
    let closing = app.closing.clone();
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = closing.send(true);
        })
        .await;
    drop(app);
    result
}
