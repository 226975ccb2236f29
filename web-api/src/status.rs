//! `/v1/status`, `/v1/stats`, `/healthz` and `/metrics`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec;
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// The last block the indexer applied.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndexedHead {
    /// Block number.
    pub block_number: u64,
    /// Block hash (0x-hex).
    pub block_hash: String,
    /// When the indexer applied it (RFC 3339, UTC).
    pub applied_at: String,
}

/// How current the search index is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchStatus {
    /// The last offer change (`offers.change_seq`) in the search index.
    pub applied_change_seq: i64,
    /// The last offer change in Postgres.
    pub latest_change_seq: i64,
    /// Changes not yet searchable.
    pub lag: i64,
    /// Whether search sees every change.
    pub up_to_date: bool,
}

/// The state of the index behind the API.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// The last block indexed, if any. The indexer follows finalized blocks only, so
    /// everything the API shows is final.
    pub indexed_head: Option<IndexedHead>,
    /// The marketplace contract indexed (SS58), once the indexer has started.
    pub marketplace: Option<String>,
    /// Whether an indexer holds the writer lock (is running against this database).
    pub indexer_running: bool,
    /// Search freshness.
    pub search: SearchStatus,
}

/// How the index is doing: head, indexer, search freshness.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "status",
    responses(
        (status = 200, description = "The status", body = Status),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    let client = state.pool.get().await?;
    let client: &tokio_postgres::Client = &client;
    let applied_at: Option<String> = client
        .query_opt(
            "SELECT to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM indexer_cursor",
            &[],
        )
        .await?
        .map(|r| r.get(0));
    let cursor = index_db::cursor(client, false).await?;
    let indexer_running = index_db::writer_active(client).await?;
    let latest: i64 = client
        .query_one("SELECT coalesce(max(change_seq), 0) FROM offers", &[])
        .await?
        .get(0);
    let applied = state.search.applied();
    Ok(Json(Status {
        indexed_head: cursor.map(|c| IndexedHead {
            block_number: u64::from(c.block.number),
            block_hash: codec::hex0x(&c.block.hash),
            applied_at: applied_at.unwrap_or_default(),
        }),
        marketplace: cursor.map(|c| codec::account(&c.marketplace, state.ss58_prefix)),
        indexer_running,
        search: SearchStatus {
            applied_change_seq: applied,
            latest_change_seq: latest,
            lag: (latest - applied).max(0),
            up_to_date: applied >= latest,
        },
    }))
}

/// Offers by status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OfferStats {
    /// All offers.
    pub total: u64,
    /// Listed.
    pub active: u64,
    /// Paused by the owner.
    pub paused: u64,
    /// Delisted.
    pub delisted: u64,
}

/// Trade in one asset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Volume {
    /// `native` or the PSP22 token's SS58 address.
    pub asset: String,
    /// Purchases made in it.
    pub purchases: u64,
    /// What they paid, refunds included (decimal string).
    pub paid: String,
    /// What settled to payees and fees (decimal string).
    pub settled: String,
}

/// Counts and volume.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// Offers by status.
    pub offers: OfferStats,
    /// Purchases made.
    pub purchases: u64,
    /// Purchases settled.
    pub settled_purchases: u64,
    /// Accounts that own an offer or bought one.
    pub accounts: u64,
    /// Volume per asset (native first).
    pub volume: Vec<Volume>,
}

/// The last `/v1/stats` figures and the indexed block (the cursor's) they are of.
pub type StatsCache = tokio::sync::Mutex<Option<(Option<i64>, Stats)>>;

/// Counts of offers, purchases, accounts, and the volume per asset.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "status",
    responses(
        (status = 200, description = "The figures", body = Stats),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn stats(State(state): State<AppState>) -> ApiResult<Json<Stats>> {
    let client = state.pool.get().await?;
    // The figures read whole tables and change only when the indexer applies a batch:
    // they are computed once per indexed block, by one request while the others wait.
    let head: Option<i64> = client
        .query_opt("SELECT block_number FROM indexer_cursor", &[])
        .await?
        .map(|r| r.get(0));
    let mut cached = state.stats.lock().await;
    if let Some((at, stats)) = &*cached {
        if *at == head {
            return Ok(Json(stats.clone()));
        }
    }
    let stats = compute_stats(&client, state.ss58_prefix).await?;
    *cached = Some((head, stats.clone()));
    Ok(Json(stats))
}

/// The figures, read now.
async fn compute_stats(client: &deadpool_postgres::Client, ss58_prefix: u16) -> ApiResult<Stats> {
    let mut offers = OfferStats::default();
    for r in client
        .query("SELECT status, count(*) FROM offers GROUP BY status", &[])
        .await?
    {
        let n = r.get::<_, i64>(1) as u64;
        offers.total += n;
        match r.get::<_, &str>(0) {
            "active" => offers.active = n,
            "paused" => offers.paused = n,
            "delisted" => offers.delisted = n,
            _ => {}
        }
    }
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'settled'), \
             (SELECT count(*) FROM (SELECT owner FROM offers UNION SELECT buyer FROM purchases) a) \
             FROM purchases",
            &[],
        )
        .await?;
    let volume = client
        .query(
            "SELECT asset, count(*), sum(amount)::text, \
             coalesce(sum(amount) FILTER (WHERE status = 'settled'), 0)::text \
             FROM purchases GROUP BY asset ORDER BY asset",
            &[],
        )
        .await?
        .iter()
        .map(|r| Volume {
            asset: codec::asset(r.get(0), ss58_prefix),
            purchases: r.get::<_, i64>(1) as u64,
            paid: r.get(2),
            settled: r.get(3),
        })
        .collect();
    Ok(Stats {
        offers,
        purchases: row.get::<_, i64>(0) as u64,
        settled_purchases: row.get::<_, i64>(1) as u64,
        accounts: row.get::<_, i64>(2) as u64,
        volume,
    })
}

/// Liveness and database reachability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Whether the API is up and reaches its database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "status",
    responses(
        (status = 200, description = "Up", body = Health),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let client = state.pool.get().await?;
    client.query_one("SELECT 1", &[]).await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "status",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.run_upkeep();
    metrics::gauge!("web_api_search_applied_change_seq").set(state.search.applied() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
