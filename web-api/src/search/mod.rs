//! Ranked search over offers: a tantivy index derived from Postgres like a materialized
//! view (DESIGN §5).
//!
//! - Built from the `offers` table on first start, or opened from its directory and
//!   caught up: every tantivy commit carries, as its payload, the last
//!   `offers.change_seq` it covers, so a restart (even one in the middle of a catch-up)
//!   resumes after exactly what was committed.
//! - Kept current from the change feed: `SELECT ... WHERE change_seq > $last ORDER BY
//!   change_seq`, woken by `LISTEN datamarket_offers` (the indexer notifies in its batch
//!   transaction) and, should notifications be lost, by a poll.
//! - Title weighs more than tags, tags more than the description (BM25). Status, asset,
//!   owner, tags and price are indexed too, so filters apply inside the search and a page
//!   is full; the API then reads the rows from Postgres with the same filters.
//! - Prices are u128 on chain; the index keeps them saturated to u64 (the API re-checks
//!   the exact price in SQL, so only a price filter above 2^64 can shorten a page).

mod collect;
mod feed;
mod maintain;
mod query;
mod schema;
mod snapshots;
#[cfg(test)]
mod tests;

pub use feed::follow;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tantivy::index::SegmentId;
use tantivy::query::QueryParser;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{doc, IndexReader, IndexWriter};

use collect::SegmentColumns;
use schema::Fields;
use snapshots::Snapshots;

/// Offers read from Postgres per tantivy commit while catching up.
const PAGE: i64 = 5_000;
/// A catch-up more pages behind than this is a bulk load (see `catch_up_pages`).
const BULK_PAGES: i64 = 10;
/// Bump when the schema or what goes into it changes: an index of another version is
/// rebuilt from Postgres.
const INDEX_VERSION: u32 = 2;
/// How long opening waits for another writer to let go of the index directory.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How deep a search ranked by relevance may page (offset + limit). Searches in the
/// other orders page by key and go as deep as there are hits.
pub const MAX_DEPTH: usize = 1_000;
/// How long a snapshot of the index stays readable after its last page was read (see
/// [`Snapshot`]).
const SNAPSHOT_TTL: Duration = Duration::from_secs(600);
/// Most snapshots kept at once: each keeps the segments it reads from on disk (and
/// mapped) after merges and deletions have retired them.
const SNAPSHOTS: usize = 8;

/// Why the search index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed.
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Reading the change feed failed.
    #[error("database: {0}")]
    Database(String),
    /// The search task panicked or was cancelled.
    #[error("search task: {0}")]
    Task(String),
    /// The index directory is unusable.
    #[error("index directory {0}: {1}")]
    Directory(PathBuf, String),
    /// The query asks for something searches do not do (the message says what).
    #[error("{0}")]
    BadQuery(String),
}

impl From<tokio_postgres::Error> for SearchError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for SearchError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Database(e.to_string())
    }
}

/// The filters of a listing, in the index's terms (raw bytes as hex).
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Every one of these tags.
    pub tags: Vec<String>,
    /// The owner's 32 bytes.
    pub owner: Option<Vec<u8>>,
    /// The asset (empty for native).
    pub asset: Option<Vec<u8>>,
    /// Price at least.
    pub min_price: Option<u128>,
    /// Price at most.
    pub max_price: Option<u128>,
    /// Status, or any.
    pub status: Option<String>,
}

/// How search hits are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchOrder {
    /// BM25 score, best first.
    Relevance,
    /// Newest offer first.
    Newest,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
}

/// One hit: the offer id and, for relevance order, its score.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    /// The offer.
    pub id: u64,
    /// Its BM25 score, when ranked by relevance.
    pub score: Option<f32>,
    /// Its sort key, in the orders other than relevance: a page that starts
    /// [`after`](PageStart::after) it holds the hits that follow it.
    pub key: Option<SortKey>,
}

/// Where a hit stands in a sorted order, as the index keeps it: a page that starts after
/// a key shows what sorts after it now, so offers added meanwhile neither repeat one nor
/// push one off the page. (An offer whose price changes moves, as in any keyset paging:
/// across the cursor, it shows twice or not at all.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey(u64, u64, u64);

/// The index as one search read it. Later pages of a search ranked by relevance read
/// the same snapshot, so offers added, changed or delisted since the first page neither
/// repeat nor skip (BM25 scores move with every document added). A snapshot stays
/// readable while it is among the [`SNAPSHOTS`] most recently read and for
/// [`SNAPSHOT_TTL`] after its last page; after that, after a restart or a rebuild,
/// pages go on at the same depth in the current index. (On an index that commits often
/// under many searches, a client that pauses over [`SNAPSHOTS`] commits loses its
/// snapshot.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// This process's index (generations count from 0 in each process).
    instance: u64,
    /// The searcher's generation.
    generation: u64,
}

/// Where a page of hits begins.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageStart {
    /// Hits to skip.
    pub offset: usize,
    /// The snapshot earlier pages were read from; the current index when `None`.
    pub snapshot: Option<Snapshot>,
    /// Only hits that sort after this key (orders other than relevance).
    pub after: Option<SortKey>,
}

impl PageStart {
    /// After `offset` hits of the current index.
    pub fn offset(offset: usize) -> Self {
        Self {
            offset,
            ..Self::default()
        }
    }
}

/// A page of hits and the snapshot they were read from.
#[derive(Debug)]
pub struct SearchPage {
    /// The hits, best first.
    pub hits: Vec<Hit>,
    /// What the next page of the same search should read.
    pub snapshot: Snapshot,
}

/// The search index and its writer.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    parser: QueryParser,
    /// The text fields' analyzer, for queries of plain words.
    tokenizer: TextAnalyzer,
    applied: AtomicI64,
    marketplace: Mutex<Option<String>>,
    /// Each live segment's fast-field columns, opened once rather than on every search.
    columns: Mutex<HashMap<SegmentId, Arc<SegmentColumns>>>,
    /// Searches running at once, at most (see [`SearchIndex::search_blocking`]).
    searching: tokio::sync::Semaphore,
    /// Searchers that relevance pages still read.
    snapshots: Snapshots,
}

/// Searches at once: two per core, so that a core never idles while a search waits on
/// the page cache.
fn concurrent_searches() -> usize {
    std::thread::available_parallelism().map_or(4, |n| 2 * n.get())
}

fn saturate(price: u128) -> u64 {
    u64::try_from(price).unwrap_or(u64::MAX)
}

// Here rather than in `error`, so that the error module knows no resource module.
impl From<SearchError> for crate::error::ApiError {
    fn from(e: SearchError) -> Self {
        if let SearchError::BadQuery(message) = e {
            return Self::bad(message);
        }
        tracing::error!("search index: {e}");
        Self::Internal
    }
}
