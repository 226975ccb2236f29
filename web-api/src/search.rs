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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tantivy::columnar::{Column, StrColumn};
use tantivy::directory::MmapDirectory;
use tantivy::fastfield::AliveBitSet;
use tantivy::index::SegmentId;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{
    BooleanQuery, BoostQuery, EnableScoring, Occur, Query, QueryParser, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    doc, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentReader, Term,
};
use tokio_postgres::{AsyncMessage, NoTls};

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

/// What a tantivy commit records about itself.
#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    version: u32,
    /// The last `offers.change_seq` applied.
    change_seq: i64,
    /// The marketplace of the database it was built from (0x-hex), so that an index
    /// directory pointed at another market's database is rebuilt.
    marketplace: Option<String>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    description: Field,
    tags_text: Field,
    tag: Field,
    status: Field,
    asset: Field,
    owner: Field,
    price: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        description: b.add_text_field("description", text.clone()),
        tags_text: b.add_text_field("tags_text", text),
        tag: b.add_text_field("tag", STRING | FAST),
        status: b.add_text_field("status", STRING | FAST),
        asset: b.add_text_field("asset", STRING | FAST),
        owner: b.add_text_field("owner", STRING | FAST),
        price: b.add_u64_field("price", INDEXED | FAST),
    };
    (b.build(), fields)
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

/// A searcher kept for the later pages of searches that read it.
struct Pinned {
    searcher: Searcher,
    used: Instant,
}

/// The searchers that the later pages of ranked searches read, by generation.
struct Snapshots {
    /// Tells this process's snapshots from another's.
    instance: u64,
    kept: Mutex<HashMap<u64, Pinned>>,
}

impl Snapshots {
    fn new() -> Self {
        Self {
            // Random, so that a cursor from before a restart names no snapshot of this
            // process (std's hasher keys are random per process).
            instance: std::hash::BuildHasher::hash_one(
                &std::collections::hash_map::RandomState::new(),
                std::process::id(),
            ),
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// What a cursor names to read `searcher` again.
    fn of(&self, searcher: &Searcher) -> Snapshot {
        Snapshot {
            instance: self.instance,
            generation: searcher.generation().generation_id(),
        }
    }

    /// The searcher of `snapshot`, if it is still kept (which counts as reading it).
    fn get(&self, snapshot: Snapshot) -> Option<Searcher> {
        if snapshot.instance != self.instance {
            return None;
        }
        let mut kept = self.kept.lock().expect("snapshots lock");
        let pinned = kept.get_mut(&snapshot.generation)?;
        pinned.used = Instant::now();
        Some(pinned.searcher.clone())
    }

    /// Runs `f` on the kept searchers, then forgets those unread for [`SNAPSHOT_TTL`]
    /// and the least recently read beyond [`SNAPSHOTS`]. The last reference to a
    /// searcher unmaps its segments, so the forgotten ones are dropped after the lock
    /// that every ranked search takes is released.
    fn update<T>(&self, f: impl FnOnce(&mut HashMap<u64, Pinned>) -> T) -> T {
        let now = Instant::now();
        let (out, forgotten) = {
            let mut kept = self.kept.lock().expect("snapshots lock");
            let out = f(&mut kept);
            let mut forgotten: Vec<Pinned> = kept
                .extract_if(|_, pinned| now.duration_since(pinned.used) >= SNAPSHOT_TTL)
                .map(|(_, pinned)| pinned)
                .collect();
            while kept.len() > SNAPSHOTS {
                let oldest = kept
                    .iter()
                    .min_by_key(|(_, pinned)| pinned.used)
                    .map(|(generation, _)| *generation)
                    .expect("more than SNAPSHOTS kept");
                forgotten.extend(kept.remove(&oldest));
            }
            (out, forgotten)
        };
        drop(forgotten);
        out
    }

    /// Keeps `searcher` readable for [`SNAPSHOT_TTL`] from now.
    fn pin(&self, searcher: &Searcher) {
        let now = Instant::now();
        self.update(|kept| {
            kept.entry(searcher.generation().generation_id())
                .and_modify(|pinned| pinned.used = now)
                .or_insert_with(|| Pinned {
                    searcher: searcher.clone(),
                    used: now,
                });
        });
    }

    /// The segments the kept searchers read.
    fn segments(&self) -> HashSet<SegmentId> {
        self.update(|kept| {
            kept.values()
                .flat_map(|pinned| pinned.searcher.segment_readers().iter())
                .map(SegmentReader::segment_id)
                .collect()
        })
    }

    /// Forgets every snapshot.
    fn clear(&self) {
        let all = self.update(std::mem::take);
        drop(all);
    }
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

impl SearchIndex {
    /// Opens the index in `dir` (created if missing; rebuilt if it is of another version
    /// or unreadable), or a fresh one in memory when `dir` is `None`.
    pub fn open(dir: Option<&Path>) -> Result<Arc<Self>, SearchError> {
        let (schema, fields) = schema();
        let index = match dir {
            None => Index::create_in_ram(schema),
            Some(dir) => Self::open_dir(dir, schema)?,
        };
        // A process that is exiting (a restart) may still hold the directory's writer
        // lock for a moment: wait a little for it rather than fail.
        let mut waited = Duration::ZERO;
        let writer: IndexWriter = loop {
            match index.writer_with_num_threads(1, 50_000_000) {
                Err(tantivy::TantivyError::LockFailure(..)) if waited < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                    waited += Duration::from_millis(50);
                }
                other => break other?,
            }
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut parser = QueryParser::for_index(
            &index,
            vec![fields.title, fields.tags_text, fields.description],
        );
        parser.set_field_boost(fields.title, 3.0);
        parser.set_field_boost(fields.tags_text, 1.5);
        let payload = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<CommitPayload>(&p).ok());
        let (applied, marketplace) = match payload {
            Some(p) if p.version == INDEX_VERSION => (p.change_seq, p.marketplace),
            _ => (0, None),
        };
        let tokenizer = index
            .tokenizers()
            .get("en_stem")
            .expect("tantivy registers en_stem");
        let this = Self {
            reader,
            writer: Mutex::new(writer),
            fields,
            parser,
            tokenizer,
            applied: AtomicI64::new(applied),
            marketplace: Mutex::new(marketplace),
            columns: Mutex::new(HashMap::new()),
            searching: tokio::sync::Semaphore::new(concurrent_searches()),
            snapshots: Snapshots::new(),
        };
        if applied == 0 {
            // No usable commit: start from an empty index.
            this.reset_blocking(None)?;
        }
        Ok(Arc::new(this))
    }

    fn open_dir(dir: &Path, schema: Schema) -> Result<Index, SearchError> {
        let fail = |e: &dyn std::fmt::Display| SearchError::Directory(dir.into(), e.to_string());
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let open = || -> tantivy::Result<Index> {
            let directory = MmapDirectory::open(dir)?;
            Index::open_or_create(directory, schema.clone())
        };
        match open() {
            Ok(index) => Ok(index),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "search index unusable ({e}); rebuilding it");
                std::fs::remove_dir_all(dir).map_err(|e| fail(&e))?;
                std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
                open().map_err(|e| fail(&e))
            }
        }
    }

    /// The last `change_seq` committed to the index.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// How many offers the index holds (as of its last commit).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the index and commits that, for a database it does not match.
    fn reset_blocking(&self, marketplace: Option<String>) -> Result<(), SearchError> {
        // A snapshot of the index being thrown away holds ids of another database.
        self.snapshots.clear();
        let mut writer = self.writer.lock().expect("search writer lock");
        writer.delete_all_documents()?;
        let payload = CommitPayload {
            version: INDEX_VERSION,
            change_seq: 0,
            marketplace: marketplace.clone(),
        };
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&serde_json::to_string(&payload).expect("payload serializes"));
        commit.commit()?;
        self.reload()?;
        self.applied.store(0, Ordering::SeqCst);
        *self.marketplace.lock().expect("marketplace lock") = marketplace;
        Ok(())
    }

    /// Applies every offer change after the last one applied, a page per commit, and
    /// returns how many rows were applied.
    pub async fn catch_up(
        self: &Arc<Self>,
        pool: &deadpool_postgres::Pool,
    ) -> Result<usize, SearchError> {
        self.catch_up_pages(pool, PAGE, usize::MAX).await
    }

    /// [`catch_up`](Self::catch_up) in pages of `page` rows, stopping after `max_pages`
    /// commits (a process stopped between commits resumes after the last one).
    pub async fn catch_up_pages(
        self: &Arc<Self>,
        pool: &deadpool_postgres::Pool,
        page: i64,
        max_pages: usize,
    ) -> Result<usize, SearchError> {
        let client = pool.get().await?;
        // An index of another market, or ahead of this database (another database or
        // one restored from an older backup): rebuild from the start.
        let marketplace = client
            .query_opt("SELECT marketplace FROM indexer_cursor", &[])
            .await?
            .map(|r| crate::codec::hex0x(&r.get::<_, Vec<u8>>(0)));
        let latest: i64 = client
            .query_one("SELECT coalesce(max(change_seq), 0) FROM offers", &[])
            .await?
            .get(0);
        let known = self.marketplace.lock().expect("marketplace lock").clone();
        if self.applied() > latest
            || (known.is_some() && marketplace.is_some() && known != marketplace)
        {
            tracing::warn!(
                applied = self.applied(),
                latest,
                "the search index does not match this database; rebuilding it"
            );
            let this = Arc::clone(self);
            let m = marketplace.clone();
            tokio::task::spawn_blocking(move || this.reset_blocking(m))
                .await
                .map_err(|e| SearchError::Task(format!("resetting the index: {e}")))??;
        }
        // A catch-up many pages behind (the first build, a long outage) is a bulk load:
        // its pages are committed without merging and made searchable every
        // `BULK_PAGES` pages (each reload opens every segment), then merged into one
        // segment.
        let bulk = latest - self.applied() > BULK_PAGES * page;
        if bulk {
            self.writer
                .lock()
                .expect("search writer lock")
                .set_merge_policy(Box::new(NoMergePolicy));
        }
        let caught_up = self
            .catch_up_loop(&client, marketplace, page, max_pages, bulk)
            .await;
        if bulk {
            // What the last pages committed, searchable before the merge ends.
            let reloaded = self.reload();
            self.merge_in_background();
            reloaded?;
        }
        let total = caught_up?;
        if total > 0 {
            tracing::debug!(
                applied = self.applied(),
                rows = total,
                "search index caught up"
            );
        }
        Ok(total)
    }

    /// Applies up to `max_pages` pages of changes, a commit each; returns the rows. The
    /// next page is read from Postgres while the index takes the current one.
    async fn catch_up_loop(
        self: &Arc<Self>,
        client: &deadpool_postgres::Object,
        marketplace: Option<String>,
        page: i64,
        max_pages: usize,
        bulk: bool,
    ) -> Result<usize, SearchError> {
        let changes_after = |after: i64| async move {
            let rows = client
                .query(
                    "SELECT id, owner, asset, price::text, title, description, tags, status, \
                     change_seq FROM offers WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
                    &[&after, &page],
                )
                .await?;
            Ok::<_, SearchError>(rows.iter().map(OfferDoc::from_row).collect::<Vec<_>>())
        };
        let mut total = 0;
        // A bulk load into an empty index deletes only what it added itself.
        let mut added_since_empty = (bulk && self.is_empty()).then(HashSet::new);
        let mut docs = changes_after(self.applied()).await?;
        for pages in 1..=max_pages {
            let Some(last) = docs.last().map(|d| d.change_seq) else {
                break;
            };
            let n = docs.len();
            let this = Arc::clone(self);
            let m = marketplace.clone();
            let reload = !bulk || pages as i64 % BULK_PAGES == 0;
            let mut added = added_since_empty.take();
            let apply = tokio::task::spawn_blocking(move || {
                let applied = this.apply_blocking(&docs, m, reload, added.as_mut());
                (applied, added)
            });
            let full = n as i64 == page;
            let (applied, next) = tokio::join!(apply, async {
                if full {
                    changes_after(last).await
                } else {
                    Ok(Vec::new())
                }
            });
            // A panic here is reported (the follower logs it and tries again, and
            // /v1/status shows the index falling behind), not a silently dead task.
            let (applied, added) =
                applied.map_err(|e| SearchError::Task(format!("applying changes: {e}")))?;
            added_since_empty = added;
            applied?;
            total += n;
            docs = next?;
        }
        Ok(total)
    }

    /// After a bulk load: merges every segment into one on a thread of its own (searches
    /// go on over the segments as they are meanwhile), then merges as usual again.
    /// A search does per-segment work (each word's dictionary lookups, the postings'
    /// setup): at a million offers, the index's share of a search was 10-70 % shorter on
    /// one segment than on the twenty a build used to leave at start.
    fn merge_in_background(self: &Arc<Self>) {
        let mut writer = self.writer.lock().expect("search writer lock");
        let segments = match writer.index().searchable_segment_ids() {
            Ok(segments) => segments,
            Err(e) => {
                tracing::warn!("search index: listing segments to merge: {e}");
                Vec::new()
            }
        };
        let merge = (segments.len() > 1).then(|| writer.merge(&segments));
        drop(writer);
        let this = Arc::clone(self);
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            if let Some(merge) = merge {
                match merge.wait() {
                    Ok(_) => tracing::info!(
                        "search index: {} segments merged into one in {:.1} s",
                        segments.len(),
                        started.elapsed().as_secs_f64()
                    ),
                    Err(e) => tracing::warn!("search index: merging after a bulk load: {e}"),
                }
            }
            this.writer
                .lock()
                .expect("search writer lock")
                .set_merge_policy(Box::new(LogMergePolicy::default()));
            if let Err(e) = this.reload() {
                tracing::warn!("search index: reloading after the merge: {e}");
            }
        });
    }

    /// How many segments the index's searcher reads (one after a bulk load's merge).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Adds (or replaces) `docs` and commits; `reload` makes the commit searchable at
    /// once (a bulk load reloads only now and then: each reload opens every segment).
    ///
    /// Each document replaces the offer's earlier one by a delete of its id, which the
    /// commit applies to every segment. A build into an empty index passes the ids it
    /// has added so far as `added_since_empty`, and only those are deleted: an offer
    /// changed during the build comes again in a later page.
    fn apply_blocking(
        &self,
        docs: &[OfferDoc],
        marketplace: Option<String>,
        reload: bool,
        mut added_since_empty: Option<&mut HashSet<u64>>,
    ) -> Result<(), SearchError> {
        let f = self.fields;
        let mut writer = self.writer.lock().expect("search writer lock");
        let mut last = self.applied();
        for d in docs {
            let earlier = match added_since_empty.as_deref_mut() {
                Some(added) => !added.insert(d.id),
                None => true,
            };
            if earlier {
                writer.delete_term(Term::from_field_u64(f.id, d.id));
            }
            let mut document = doc!(
                f.id => d.id,
                f.title => d.title.clone(),
                f.description => d.description.clone(),
                f.tags_text => d.tags.join(" "),
                f.status => d.status.clone(),
                f.asset => hex::encode(&d.asset),
                f.owner => hex::encode(&d.owner),
                f.price => saturate(d.price),
            );
            for tag in &d.tags {
                document.add_text(f.tag, tag);
            }
            writer.add_document(document)?;
            last = last.max(d.change_seq);
        }
        let payload = CommitPayload {
            version: INDEX_VERSION,
            change_seq: last,
            marketplace: marketplace.clone(),
        };
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&serde_json::to_string(&payload).expect("payload serializes"));
        commit.commit()?;
        if reload {
            self.reload()?;
        }
        self.applied.store(last, Ordering::SeqCst);
        *self.marketplace.lock().expect("marketplace lock") = marketplace;
        Ok(())
    }

    /// [`search`](Self::search) on tokio's blocking pool; the time spent in the index
    /// goes to the `web_api_search_index_seconds` histogram (scripts/bench-web-api
    /// reports it per search class). Not bounded below tokio's pool: at one search per
    /// core the load test lost 15 % of its throughput at 8 and 32 connections.
    pub async fn search_blocking(
        self: &Arc<Self>,
        q: String,
        filters: Filters,
        order: SearchOrder,
        start: PageStart,
        limit: usize,
    ) -> Result<SearchPage, SearchError> {
        // Searches are CPU work: a few at a time, the rest wait here, rather than each
        // taking a thread of tokio's blocking pool (which grows to hundreds) to fight
        // over the cores.
        let _permit = self
            .searching
            .acquire()
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let hits = this.search(&q, &filters, order, start, limit);
            metrics::histogram!("web_api_search_index_seconds").record(started.elapsed());
            hits
        })
        .await
        .map_err(|e| SearchError::Task(e.to_string()))?
    }

    /// Searches: `q` ranked with BM25 (or in `order`), inside `filters`, from `start`
    /// (its snapshot, after its key, skipping its offset), returning at most `limit` hits.
    /// A page of `limit` hits ranked by relevance keeps its snapshot readable for the
    /// next page.
    ///
    /// The filters are checked per candidate document against fast fields rather than
    /// intersected as queries: a ranked search then stays a plain union of term queries,
    /// which tantivy scores with Block-WAND (skipping whole blocks of postings that cannot
    /// enter the top hits), so a term found in half a million offers costs about as
    /// much as a rare one.
    pub fn search(
        &self,
        q: &str,
        filters: &Filters,
        order: SearchOrder,
        start: PageStart,
        limit: usize,
    ) -> Result<SearchPage, SearchError> {
        let offset = start.offset;
        let searcher = self.searcher_for(start.snapshot);
        let (query, scale) = self.text_query(q, &searcher)?;
        let wanted = offset.saturating_add(limit.max(1));
        // Hits at or before the cursor's key are on earlier pages.
        let bound = start.after.map(|SortKey(a, b, id)| ((a, b), Reverse(id)));
        let scoring = order == SearchOrder::Relevance;
        let enable = if scoring {
            EnableScoring::enabled_from_searcher(&searcher)
        } else {
            EnableScoring::disabled_from_searcher(&searcher)
        };
        let weight = query.weight(enable)?;
        // One heap across segments, so that what one segment found raises the bar for
        // the next.
        let mut ranked: TopHits<ScoreOrd> = TopHits::new(wanted);
        let mut sorted: TopHits<(u64, u64)> = TopHits::new(wanted);
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let columns = self.columns_of(segment)?;
            let Some(filter) = SegmentFilter::new(segment, &columns, filters)? else {
                continue;
            };
            let ids = &columns.id;
            if scoring {
                // Equal scores go in the order tantivy visits documents (segment by
                // segment, each in document order), as its own top-docs collector does:
                // a later document with the score of the weakest kept never enters, so
                // the bar below is exactly that score (tantivy passes on only scores
                // above it), and every page of a search, recomputed from the start,
                // cuts the same order. (Ties by offer id would have to score every tied
                // document: at 1M offers a medium word took 2.4x as long end to end.)
                let visited = (segment_ord as u64) << 32;
                weight.for_each_pruning(Score::MIN, segment, &mut |doc, score| {
                    if filter.accepts(doc) {
                        if let Some(id) = ids.first(doc) {
                            // Ranked on the score as tantivy computes it (the scale is
                            // one factor for the whole search, so the order is the
                            // same), which makes the bar exact.
                            ranked.push(ScoreOrd(score), visited | u64::from(doc), id);
                        }
                    }
                    // The score a document must beat from now on: what lets Block-WAND
                    // skip postings.
                    ranked.floor().map_or(Score::MIN, |s| s.0)
                })?;
            } else {
                let prices = &columns.price;
                weight.for_each_no_score(segment, &mut |docs| {
                    for &doc in docs {
                        if !filter.accepts(doc) {
                            continue;
                        }
                        let Some(id) = ids.first(doc) else { continue };
                        // Higher keys come first; equal keys lower id first. The same
                        // orders as the SQL listings: price ascending then id ascending,
                        // price descending then id descending.
                        let key = match order {
                            SearchOrder::Newest => (id, 0),
                            SearchOrder::PriceAsc => {
                                (u64::MAX - prices.first(doc).unwrap_or(u64::MAX), 0)
                            }
                            _ => (prices.first(doc).unwrap_or(0), id),
                        };
                        if bound.is_some_and(|bound| (key, Reverse(id)) >= bound) {
                            continue;
                        }
                        sorted.push(key, id, id);
                    }
                })?;
            }
        }
        let hits: Vec<Hit> = if scoring {
            ranked
                .into_sorted()
                .into_iter()
                .map(|(score, id)| Hit {
                    id,
                    score: Some(score.0 * scale),
                    key: None,
                })
                .collect()
        } else {
            sorted
                .into_sorted()
                .into_iter()
                .map(|((a, b), id)| Hit {
                    id,
                    score: None,
                    key: Some(SortKey(a, b, id)),
                })
                .collect()
        };
        let hits: Vec<Hit> = hits.into_iter().skip(offset).collect();
        if scoring && hits.len() >= limit {
            // There may be a next page: keep what it must read.
            self.snapshots.pin(&searcher);
        }
        Ok(SearchPage {
            hits,
            snapshot: self.snapshots.of(&searcher),
        })
    }

    /// The searcher of `snapshot` if it is still kept, else the current one.
    fn searcher_for(&self, snapshot: Option<Snapshot>) -> Searcher {
        let current = self.reader.searcher();
        let Some(snapshot) = snapshot else {
            return current;
        };
        if self.snapshots.of(&current) == snapshot {
            return current;
        }
        self.snapshots.get(snapshot).unwrap_or_else(|| {
            metrics::counter!("web_api_search_snapshots_expired_total").increment(1);
            current
        })
    }

    /// `segment`'s fast-field columns, from the cache or opened now. Opening one decodes
    /// its header and, for a string column, its dictionary's index: per search and
    /// segment that was most of the time a search for a rare word took.
    fn columns_of(&self, segment: &SegmentReader) -> Result<Arc<SegmentColumns>, SearchError> {
        let id = segment.segment_id();
        if let Some(found) = self.columns.lock().expect("columns lock").get(&id) {
            return Ok(Arc::clone(found));
        }
        // Opened outside the lock; two searches may both open a new segment's columns,
        // and the second's copy is simply dropped.
        let opened = Arc::new(SegmentColumns::open(segment)?);
        self.columns
            .lock()
            .expect("columns lock")
            .insert(id, Arc::clone(&opened));
        Ok(opened)
    }

    /// Reloads the searcher after a commit, forgets the snapshots that expired, and
    /// forgets the columns of segments that neither the current searcher nor a kept
    /// snapshot reads (merges and deletions of everything retire segments).
    fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload()?;
        let mut live = self.snapshots.segments();
        live.extend(
            self.reader
                .searcher()
                .segment_readers()
                .iter()
                .map(SegmentReader::segment_id),
        );
        self.columns
            .lock()
            .expect("columns lock")
            .retain(|id, _| live.contains(id));
        Ok(())
    }

    /// The text part of a search. A query of plain words becomes one flat union of
    /// (word, field) term queries with the field boosts, which scores exactly as the
    /// parser's nested form but lets tantivy use Block-WAND; anything with query syntax
    /// (quotes, `+`, `-`, `field:`) goes through the parser, leniently: people's queries
    /// are not syntax, and what does not parse is dropped.
    ///
    /// Only (word, field) pairs that occur in the index go in: tantivy scores a union
    /// with Block-WAND only when every part has postings to read frequencies from, and a
    /// word that never occurs in a field (most words are in descriptions, not titles)
    /// would turn the whole search exhaustive.
    fn text_query(
        &self,
        q: &str,
        searcher: &tantivy::Searcher,
    ) -> Result<(Box<dyn Query>, Score), SearchError> {
        let plain = q
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || c == ',' || c == '.');
        if !plain {
            let (ast, _) = tantivy::query_grammar::parse_query_lenient(q);
            check_syntax(&ast)?;
            return Ok((
                self.parser.build_query_from_user_input_ast_lenient(ast).0,
                1.0,
            ));
        }
        let f = self.fields;
        let mut words: Vec<String> = Vec::new();
        let mut tokenizer = self.tokenizer.clone();
        let mut stream = tokenizer.token_stream(q);
        while let Some(token) = stream.next() {
            if !words.contains(&token.text) {
                words.push(token.text.clone());
            }
        }
        let mut terms: Vec<(Term, Score)> = Vec::new();
        for word in &words {
            for (field, boost) in [(f.title, 3.0), (f.tags_text, 1.5), (f.description, 1.0)] {
                let term = Term::from_field_text(field, word);
                if searcher.doc_freq(&term)? == 0 {
                    continue;
                }
                terms.push((term, boost));
            }
        }
        let term_query = |term: Term| TermQuery::new(term, IndexRecordOption::WithFreqs);
        if terms.len() == 1 {
            // One term alone: tantivy prunes a bare term query (Block-WAND over one
            // posting list) but not a boosted one or a union of one, so search the bare
            // term and scale its scores by the boost (the caller does).
            let (term, boost) = terms.pop().expect("one term");
            return Ok((Box::new(term_query(term)), boost));
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|(term, boost)| -> (Occur, Box<dyn Query>) {
                let boosted = BoostQuery::new(Box::new(term_query(term)), boost);
                (Occur::Should, Box::new(boosted))
            })
            .collect();
        // No minimum of should-clauses: with only should-clauses that means the same
        // (a hit matches some word), but tantivy 0.24 takes its Block-WAND path only then
        // (`BooleanQuery::new` sets the minimum to 1, which scores an exhaustive union).
        let query = BooleanQuery::with_minimum_required_clauses(clauses, 0);
        Ok((Box::new(query), 1.0))
    }
}

/// The fields a query may name: the searched text.
const QUERY_FIELDS: [&str; 3] = ["title", "description", "tags_text"];

/// Refuses the query syntax that reads far more than words do: ranges (`title:[a TO
/// z]` walks every term between), sets (`IN [...]`), `*` (every offer) and field
/// existence, and fields other than the searched text (filters are parameters). Words,
/// "phrases", phrase prefixes (`"heart ra"*`, tantivy expands the last word to at most
/// 50 terms), `+` and `-`, boosts and the text fields by name stay.
fn check_syntax(ast: &tantivy::query_grammar::UserInputAst) -> Result<(), SearchError> {
    use tantivy::query_grammar::{UserInputAst, UserInputLeaf};
    let refuse = |what: &str| {
        Err(SearchError::BadQuery(format!(
            "q may hold words, \"phrases\", +required and -excluded words, and the fields \
             title:, description: and tags_text:; not {what}"
        )))
    };
    match ast {
        UserInputAst::Clause(clauses) => clauses.iter().try_for_each(|(_, a)| check_syntax(a)),
        UserInputAst::Boost(inner, _) => check_syntax(inner),
        UserInputAst::Leaf(leaf) => match leaf.as_ref() {
            UserInputLeaf::Literal(literal) => match literal.field_name.as_deref() {
                Some(field) if !QUERY_FIELDS.contains(&field) => {
                    refuse(&format!("the field {field}: (filters are parameters)"))
                }
                _ => Ok(()),
            },
            UserInputLeaf::All => refuse("* (leave q out to list every offer)"),
            UserInputLeaf::Range { .. } => refuse("ranges ([a TO b])"),
            UserInputLeaf::Set { .. } => refuse("sets (IN [...])"),
            UserInputLeaf::Exists { .. } => refuse("field existence (field:*)"),
        },
    }
}

/// The best `limit` hits seen so far by a key where higher is better; equal keys go to
/// the lower tie-break (the offer id for the sorted orders, the order of visit for
/// relevance), so that pages of equal keys are stable.
struct TopHits<K> {
    limit: usize,
    /// (key, tie-break, offer id), the weakest on top.
    heap: BinaryHeap<Reverse<(K, Reverse<u64>, u64)>>,
}

/// A BM25 score with a total order (scores are never NaN).
#[derive(Clone, Copy, PartialEq)]
struct ScoreOrd(Score);

impl Eq for ScoreOrd {}

impl PartialOrd for ScoreOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ScoreOrd {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl<K: Ord + Copy> TopHits<K> {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
        }
    }

    fn push(&mut self, key: K, tie_break: u64, id: u64) {
        let entry = Reverse((key, Reverse(tie_break), id));
        if self.heap.len() < self.limit {
            self.heap.push(entry);
        } else if self.heap.peek().is_some_and(|worst| entry < *worst) {
            self.heap.pop();
            self.heap.push(entry);
        }
    }

    /// The weakest key kept, once the heap is full.
    fn floor(&self) -> Option<K> {
        if self.heap.len() < self.limit {
            None
        } else {
            self.heap.peek().map(|Reverse((key, ..))| *key)
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(K, u64)> {
        let mut hits: Vec<(K, u64, u64)> = self
            .heap
            .into_iter()
            .map(|Reverse((key, Reverse(tie_break), id))| (key, tie_break, id))
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        hits.into_iter().map(|(key, _, id)| (key, id)).collect()
    }
}

/// A string fast field's ordinal column and the ordinals of some of its values.
type ColumnOrds = (Column<u64>, Vec<u64>);

/// One segment's fast-field columns (cheap to clone: the data stays in the index's files).
struct SegmentColumns {
    id: Column<u64>,
    price: Column<u64>,
    status: Option<StrColumn>,
    asset: Option<StrColumn>,
    owner: Option<StrColumn>,
    tag: Option<StrColumn>,
}

impl SegmentColumns {
    fn open(segment: &SegmentReader) -> Result<Self, SearchError> {
        let fast = segment.fast_fields();
        Ok(Self {
            id: fast.u64("id")?,
            price: fast.u64("price")?,
            status: fast.str("status")?,
            asset: fast.str("asset")?,
            owner: fast.str("owner")?,
            tag: fast.str("tag")?,
        })
    }
}

/// The filters of a search, resolved against one segment's fast fields.
struct SegmentFilter {
    alive: Option<AliveBitSet>,
    status: Option<(Column<u64>, u64)>,
    asset: Option<(Column<u64>, u64)>,
    owner: Option<(Column<u64>, u64)>,
    /// The tag column and the ordinals of every required tag.
    tags: Option<ColumnOrds>,
    price: Option<(Column<u64>, u64, u64)>,
}

impl SegmentFilter {
    /// `None` when no document of the segment can match (a required value is absent
    /// from its dictionary).
    fn new(
        segment: &SegmentReader,
        columns: &SegmentColumns,
        filters: &Filters,
    ) -> Result<Option<Self>, SearchError> {
        // A string column's ordinals and those of `values` in it; `None` when the segment
        // has the column or one of the values nowhere.
        let ords_of = |column: &Option<StrColumn>,
                       values: &[String]|
         -> Result<Option<ColumnOrds>, SearchError> {
            let Some(column) = column else {
                return Ok(None);
            };
            let mut ords = Vec::with_capacity(values.len());
            for value in values {
                match column
                    .dictionary()
                    .term_ord(value.as_bytes())
                    .map_err(|e| SearchError::Tantivy(e.into()))?
                {
                    Some(ord) => ords.push(ord),
                    None => return Ok(None),
                }
            }
            Ok(Some((column.ords().clone(), ords)))
        };
        let mut filter = Self {
            alive: segment.alive_bitset().cloned(),
            status: None,
            asset: None,
            owner: None,
            tags: None,
            price: None,
        };
        for (slot, column, value) in [
            (&mut filter.status, &columns.status, filters.status.clone()),
            (
                &mut filter.asset,
                &columns.asset,
                filters.asset.as_deref().map(hex::encode),
            ),
            (
                &mut filter.owner,
                &columns.owner,
                filters.owner.as_deref().map(hex::encode),
            ),
        ] {
            if let Some(value) = value {
                match ords_of(column, &[value])? {
                    Some((column, ords)) => *slot = Some((column, ords[0])),
                    None => return Ok(None),
                }
            }
        }
        if !filters.tags.is_empty() {
            match ords_of(&columns.tag, &filters.tags)? {
                Some(found) => filter.tags = Some(found),
                None => return Ok(None),
            }
        }
        if filters.min_price.is_some() || filters.max_price.is_some() {
            let low = filters.min_price.map_or(0, saturate);
            let high = filters.max_price.map_or(u64::MAX, saturate);
            if low > high {
                return Ok(None);
            }
            filter.price = Some((columns.price.clone(), low, high));
        }
        Ok(Some(filter))
    }

    #[inline]
    fn accepts(&self, doc: DocId) -> bool {
        if self.alive.as_ref().is_some_and(|a| a.is_deleted(doc)) {
            return false;
        }
        for (column, ord) in [&self.status, &self.asset, &self.owner]
            .into_iter()
            .flatten()
        {
            if column.first(doc) != Some(*ord) {
                return false;
            }
        }
        if let Some((column, wanted)) = &self.tags {
            if !wanted
                .iter()
                .all(|w| column.values_for_doc(doc).any(|v| v == *w))
            {
                return false;
            }
        }
        if let Some((column, low, high)) = &self.price {
            match column.first(doc) {
                Some(p) if p >= *low && p <= *high => {}
                _ => return false,
            }
        }
        true
    }
}

struct OfferDoc {
    id: u64,
    owner: Vec<u8>,
    asset: Vec<u8>,
    price: u128,
    title: String,
    description: String,
    tags: Vec<String>,
    status: String,
    change_seq: i64,
}

impl OfferDoc {
    fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get::<_, i64>(0) as u64,
            owner: row.get(1),
            asset: row.get(2),
            price: row.get::<_, String>(3).parse().unwrap_or(u128::MAX),
            title: row.get(4),
            description: row.get(5),
            tags: row.get(6),
            status: row.get(7),
            change_seq: row.get(8),
        }
    }
}

/// Keeps `index` current: waits for a notification on [`index_db::OFFERS_CHANNEL`]
/// or `poll`, whichever comes first, then catches up. Reconnects the listener when its
/// connection drops. Runs until the task is aborted.
pub async fn follow(
    index: Arc<SearchIndex>,
    pool: deadpool_postgres::Pool,
    database_url: String,
    poll: Duration,
) {
    loop {
        let (wake_tx, mut wake) = tokio::sync::mpsc::unbounded_channel::<()>();
        let listener = listen(&database_url, index_db::OFFERS_CHANNEL, wake_tx).await;
        if let Err(e) = &listener {
            tracing::warn!("search index: cannot LISTEN for offer changes ({e}); polling");
        }
        loop {
            if let Err(e) = index.catch_up(&pool).await {
                tracing::warn!("search index: catching up failed: {e}");
            }
            match tokio::time::timeout(poll, wake.recv()).await {
                // A notification (drain any others that came with it).
                Ok(Some(())) => while wake.try_recv().is_ok() {},
                // The listener's connection closed: reconnect.
                Ok(None) => {
                    if listener.is_ok() {
                        tracing::warn!("search index: the LISTEN connection closed; reconnecting");
                    }
                    tokio::time::sleep(poll).await;
                    break;
                }
                Err(_) => {}
            }
        }
        drop(listener);
    }
}

/// Opens a connection that LISTENs on `channel` and sends `()` on each notification;
/// the sender is dropped when the connection ends. Keep the returned client to keep
/// listening.
pub(crate) async fn listen(
    database_url: &str,
    channel: &str,
    wake: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<tokio_postgres::Client, SearchError> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| SearchError::Database(format!("bad database URL: {e}")))?;
    let (client, mut connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if wake.send(()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("listener connection: {e}");
                    break;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok(client)
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

#[cfg(test)]
mod tests {
    //! The pruned, fast-field-filtered search against the plain way of asking tantivy the
    //! same thing (the parser's query, the filters as required term and range clauses,
    //! an exhaustive TopDocs), over an index of several segments with deletions.

    use std::ops::Bound;

    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use tantivy::collector::TopDocs;
    use tantivy::query::RangeQuery;
    use tantivy::schema::Value;
    use tantivy::TantivyDocument;

    use super::*;

    const WORDS: [&str; 12] = [
        "heart", "rate", "sleep", "steps", "glucose", "data", "daily", "raw", "minute", "phone",
        "watch", "receipts",
    ];
    const TAGS: [&str; 4] = ["health", "sleep", "travel", "food"];
    const STATUSES: [&str; 3] = ["active", "paused", "delisted"];

    fn random_offer(rng: &mut StdRng, id: u64, change_seq: i64) -> OfferDoc {
        let words = |n: usize, rng: &mut StdRng| -> String {
            (0..n)
                .map(|_| {
                    // Skewed: early words are common.
                    let i = (rng.gen::<f64>().powi(2) * WORDS.len() as f64) as usize;
                    WORDS[i]
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut tags: Vec<String> = (0..rng.gen_range(1..3))
            .map(|_| TAGS[rng.gen_range(0..TAGS.len())].to_string())
            .collect();
        tags.dedup();
        OfferDoc {
            id,
            owner: vec![rng.gen_range(0..3u8); 32],
            asset: if rng.gen_bool(0.3) {
                vec![7; 32]
            } else {
                Vec::new()
            },
            // Few distinct prices, so that price orders have ties.
            price: u128::from(rng.gen_range(0..20u32)) * 1_000,
            title: words(rng.gen_range(1..4), rng),
            description: words(rng.gen_range(3..15), rng),
            tags,
            status: STATUSES[rng.gen_range(0..3)].into(),
            change_seq,
        }
    }

    /// The reference: what tantivy answers for the same thing asked plainly.
    fn reference(
        index: &SearchIndex,
        q: &str,
        filters: &Filters,
        order: SearchOrder,
    ) -> Vec<(u64, f32, u64)> {
        let f = index.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, index.parser.parse_query_lenient(q).0)];
        let term = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            let query = TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            );
            (Occur::Must, Box::new(BoostQuery::new(Box::new(query), 0.0)))
        };
        for tag in &filters.tags {
            clauses.push(term(f.tag, tag));
        }
        if let Some(status) = &filters.status {
            clauses.push(term(f.status, status));
        }
        if let Some(owner) = &filters.owner {
            clauses.push(term(f.owner, &hex::encode(owner)));
        }
        if let Some(asset) = &filters.asset {
            clauses.push(term(f.asset, &hex::encode(asset)));
        }
        if filters.min_price.is_some() || filters.max_price.is_some() {
            let bound = |p: Option<u128>| match p {
                Some(p) => Bound::Included(Term::from_field_u64(f.price, saturate(p))),
                None => Bound::Unbounded,
            };
            // Filters must not score (a range query alone scores 1).
            let range = RangeQuery::new(bound(filters.min_price), bound(filters.max_price));
            clauses.push((Occur::Must, Box::new(BoostQuery::new(Box::new(range), 0.0))));
        }
        let searcher = index.reader.searcher();
        let all = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(100_000))
            .unwrap();
        let mut hits: Vec<(u64, f32, u64)> = all
            .into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(address).unwrap();
                let id = doc.get_first(f.id).and_then(|v| v.as_u64()).unwrap();
                let reader = searcher.segment_reader(address.segment_ord);
                let price = reader
                    .fast_fields()
                    .u64("price")
                    .unwrap()
                    .first(address.doc_id)
                    .unwrap();
                (id, score, price)
            })
            .collect();
        match order {
            SearchOrder::Relevance => hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))),
            SearchOrder::Newest => hits.sort_by_key(|h| Reverse(h.0)),
            SearchOrder::PriceAsc => hits.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0))),
            SearchOrder::PriceDesc => hits.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0))),
        }
        hits
    }

    /// A build into an empty index deletes only ids it added itself, and an offer that
    /// comes again in a later page (changed during the build) replaces its first copy.
    #[test]
    fn a_build_from_empty_replaces_what_it_added_and_nothing_else() {
        let mut rng = StdRng::seed_from_u64(3);
        let index = SearchIndex::open(None).unwrap();
        let mut added = HashSet::new();
        let first: Vec<OfferDoc> = (1..=50)
            .map(|id| random_offer(&mut rng, id, id as i64))
            .collect();
        index
            .apply_blocking(&first, None, true, Some(&mut added))
            .unwrap();
        // Offer 7 again, renamed, and 50 new ones.
        let mut again = random_offer(&mut rng, 7, 51);
        again.title = "zebrafish".into();
        let second: Vec<OfferDoc> = std::iter::once(again)
            .chain((51..=100).map(|id| random_offer(&mut rng, id, id as i64 + 1)))
            .collect();
        index
            .apply_blocking(&second, None, true, Some(&mut added))
            .unwrap();
        assert_eq!(index.len(), 100, "offer 7 once");
        assert_eq!(added.len(), 100);
        let hits = index
            .search(
                "zebrafish",
                &Filters::default(),
                SearchOrder::Relevance,
                PageStart::offset(0),
                10,
            )
            .unwrap()
            .hits;
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [7]);
    }

    /// Each segment's columns are opened once and forgotten when a merge retires the
    /// segment; searches answer the same before and after.
    #[test]
    fn segment_columns_are_cached_until_a_merge_retires_them() {
        let mut rng = StdRng::seed_from_u64(11);
        let index = SearchIndex::open(None).unwrap();
        let mut seq = 0;
        for commit in 0..4u64 {
            let docs: Vec<OfferDoc> = (0..200)
                .map(|i| {
                    seq += 1;
                    random_offer(&mut rng, commit * 200 + i + 1, seq)
                })
                .collect();
            index.apply_blocking(&docs, None, true, None).unwrap();
        }
        let live = || -> HashSet<SegmentId> {
            index
                .reader
                .searcher()
                .segment_readers()
                .iter()
                .map(SegmentReader::segment_id)
                .collect()
        };
        let cached =
            || -> HashSet<SegmentId> { index.columns.lock().unwrap().keys().copied().collect() };
        assert!(live().len() > 1);
        assert!(cached().is_empty(), "nothing is opened before a search");
        let filters = Filters {
            status: Some("active".into()),
            tags: vec!["health".into()],
            ..Filters::default()
        };
        // Every match with its score; equal scores by id (a merge reorders documents,
        // and with them the order of ties).
        let search = || -> Vec<(u64, u32)> {
            let mut hits: Vec<(u64, u32)> = index
                .search(
                    "heart rate",
                    &filters,
                    SearchOrder::Relevance,
                    PageStart::offset(0),
                    10_000,
                )
                .unwrap()
                .hits
                .into_iter()
                .map(|h| (h.id, (h.score.unwrap() * 1e4) as u32))
                .collect();
            hits.sort_by_key(|&(id, score)| (Reverse(score), id));
            hits
        };
        let before = search();
        assert!(!before.is_empty());
        assert_eq!(cached(), live(), "each searched segment's columns are kept");
        let opened: Vec<Arc<SegmentColumns>> =
            index.columns.lock().unwrap().values().cloned().collect();
        assert_eq!(search(), before);
        assert!(
            index
                .columns
                .lock()
                .unwrap()
                .values()
                .all(|c| opened.iter().any(|o| Arc::ptr_eq(o, c))),
            "a second search opens nothing again"
        );

        // Merge every segment into one, as tantivy's merge policy does in the background.
        let segments: Vec<SegmentId> = live().into_iter().collect();
        index
            .writer
            .lock()
            .unwrap()
            .merge(&segments)
            .wait()
            .unwrap();
        index.reload().unwrap();
        assert_eq!(live().len(), 1);
        assert!(
            cached().is_empty(),
            "the retired segments' columns are dropped"
        );
        assert_eq!(search(), before);
        assert_eq!(cached(), live());
    }

    /// Offers whose scores tie come in pages that cut one order, each offer once,
    /// whatever order their documents were added in (a changed offer is added again at
    /// the end) and however small the pages.
    #[test]
    fn pages_of_equal_scores_neither_skip_nor_repeat_offers() {
        let mut rng = StdRng::seed_from_u64(5);
        let index = SearchIndex::open(None).unwrap();
        let same = |id: u64, seq: i64| OfferDoc {
            id,
            owner: vec![1; 32],
            asset: Vec::new(),
            price: 1_000,
            title: "heart rate".into(),
            description: "one row per minute".into(),
            tags: vec!["health".into()],
            status: "active".into(),
            change_seq: seq,
        };
        let mut ids: Vec<u64> = (1..=120).collect();
        ids.shuffle(&mut rng);
        let mut seq = 0;
        for chunk in ids.chunks(40) {
            let docs: Vec<OfferDoc> = chunk
                .iter()
                .map(|&id| {
                    seq += 1;
                    same(id, seq)
                })
                .collect();
            index.apply_blocking(&docs, None, true, None).unwrap();
        }
        // Low ids changed last: their documents are the newest.
        let again: Vec<OfferDoc> = (1..=30)
            .rev()
            .map(|id| {
                seq += 1;
                same(id, seq)
            })
            .collect();
        index.apply_blocking(&again, None, true, None).unwrap();

        // One word (a bare term query, its score scaled by the title's boost) and two
        // (a union, unscaled: the threshold is then exactly the weakest score kept).
        for q in ["heart", "heart rate"] {
            for limit in [1, 3, 7, 20] {
                let mut walked = Vec::new();
                let mut offset = 0;
                loop {
                    let page = index
                        .search(
                            q,
                            &Filters::default(),
                            SearchOrder::Relevance,
                            PageStart::offset(offset),
                            limit,
                        )
                        .unwrap()
                        .hits;
                    if page.is_empty() {
                        break;
                    }
                    walked.extend(page.iter().map(|h| h.id));
                    offset += limit;
                }
                let all: Vec<u64> = index
                    .search(
                        q,
                        &Filters::default(),
                        SearchOrder::Relevance,
                        PageStart::offset(0),
                        200,
                    )
                    .unwrap()
                    .hits
                    .iter()
                    .map(|h| h.id)
                    .collect();
                assert_eq!(walked, all, "{q}, limit {limit}");
                let mut each = walked.clone();
                each.sort_unstable();
                assert_eq!(each, (1..=120).collect::<Vec<_>>(), "{q}, limit {limit}");
            }
        }
    }

    /// An index of offers 1..=`offers`, offer i with change_seq i, in one commit.
    fn random_index(rng: &mut StdRng, offers: u64) -> Arc<SearchIndex> {
        let index = SearchIndex::open(None).unwrap();
        let docs: Vec<OfferDoc> = (1..=offers)
            .map(|id| random_offer(rng, id, id as i64))
            .collect();
        index.apply_blocking(&docs, None, true, None).unwrap();
        index
    }

    fn ids_of(hits: &[Hit]) -> Vec<u64> {
        hits.iter().map(|h| h.id).collect()
    }

    /// The later pages of a ranked search read the snapshot its first page read, while
    /// offers that rank first are added and others rewritten between pages; a snapshot
    /// no longer kept (expired, or another process's) gives the current index; a rebuild
    /// forgets every snapshot; at most `SNAPSHOTS` are kept, the least recently read
    /// going first.
    #[test]
    fn ranked_pages_read_the_first_pages_snapshot_while_the_index_changes() {
        let mut rng = StdRng::seed_from_u64(11);
        let index = random_index(&mut rng, 200);
        let mut seq = 200;
        let q = "heart rate";
        let any = Filters::default();
        let relevance = SearchOrder::Relevance;
        let everything = |index: &SearchIndex| {
            ids_of(
                &index
                    .search(q, &any, relevance, PageStart::offset(0), 1_000)
                    .unwrap()
                    .hits,
            )
        };
        let before = everything(&index);
        assert!(before.len() > 100, "{}", before.len());

        let mut walked = Vec::new();
        let mut start = PageStart::default();
        let mut first_snapshot = None;
        let mut next_id = 1_000;
        loop {
            let page = index.search(q, &any, relevance, start, 7).unwrap();
            walked.extend(ids_of(&page.hits));
            first_snapshot.get_or_insert(page.snapshot);
            assert_eq!(Some(page.snapshot), first_snapshot);
            if page.hits.len() < 7 {
                break;
            }
            start = PageStart {
                offset: start.offset + 7,
                snapshot: Some(page.snapshot),
                after: None,
            };
            // Between pages: a new offer that ranks first, and an old one rewritten.
            next_id += 1;
            seq += 1;
            let mut top = random_offer(&mut rng, next_id, seq);
            top.title = "heart rate heart rate".into();
            seq += 1;
            let old = rng.gen_range(1..=200);
            let rewritten = random_offer(&mut rng, old, seq);
            index
                .apply_blocking(&[top, rewritten], None, true, None)
                .unwrap();
        }
        assert_eq!(walked, before);
        let now = everything(&index);
        assert_ne!(now, before, "the index changed under the pages");

        let first_snapshot = first_snapshot.unwrap();
        let old = PageStart {
            offset: 7,
            snapshot: Some(first_snapshot),
            after: None,
        };
        let page = index.search(q, &any, relevance, old, 7).unwrap();
        assert_eq!(ids_of(&page.hits), before[7..14], "still kept");
        // Another process's snapshot of a kept generation is not this one's: the page
        // comes from the current index.
        let foreign = Snapshot {
            instance: first_snapshot.instance.wrapping_add(1),
            generation: first_snapshot.generation,
        };
        let start = PageStart {
            snapshot: Some(foreign),
            ..old
        };
        let page = index.search(q, &any, relevance, start, 7).unwrap();
        assert_eq!(ids_of(&page.hits), now[7..14]);
        assert_ne!(now[7..14], before[7..14]);
        // Forgotten (expired): the current index, at the same depth.
        index.snapshots.kept.lock().unwrap().clear();
        let page = index.search(q, &any, relevance, old, 7).unwrap();
        assert_eq!(ids_of(&page.hits), now[7..14]);
        assert_ne!(page.snapshot, first_snapshot);
        // A rebuild forgets every snapshot: they hold another database's ids.
        let page = index
            .search(q, &any, relevance, PageStart::default(), 7)
            .unwrap();
        assert!(!index.snapshots.kept.lock().unwrap().is_empty());
        index.reset_blocking(None).unwrap();
        assert!(index.snapshots.kept.lock().unwrap().is_empty());
        let start = PageStart {
            snapshot: Some(page.snapshot),
            ..old
        };
        assert!(index
            .search(q, &any, relevance, start, 7)
            .unwrap()
            .hits
            .is_empty());
        let docs: Vec<OfferDoc> = (1..=200)
            .map(|id| {
                seq += 1;
                random_offer(&mut rng, id, seq)
            })
            .collect();
        index.apply_blocking(&docs, None, true, None).unwrap();

        // A first page keeps its snapshot; past SNAPSHOTS the least recently read goes.
        let mut kept = Vec::new();
        for _ in 0..SNAPSHOTS + 3 {
            seq += 1;
            next_id += 1;
            index
                .apply_blocking(&[random_offer(&mut rng, next_id, seq)], None, true, None)
                .unwrap();
            kept.push(
                index
                    .search(q, &any, relevance, PageStart::default(), 7)
                    .unwrap()
                    .snapshot,
            );
        }
        let pinned: HashSet<u64> = index
            .snapshots
            .kept
            .lock()
            .unwrap()
            .keys()
            .copied()
            .collect();
        let newest: HashSet<u64> = kept[kept.len() - SNAPSHOTS..]
            .iter()
            .map(|s| s.generation)
            .collect();
        assert_eq!(pinned, newest);
    }

    /// Pages sorted by id or price resume after the last hit's key: offers added between
    /// pages never repeat one or push one off; those that sort after the cursor show in
    /// their place.
    #[test]
    fn sorted_pages_resume_after_the_last_key_while_offers_are_added() {
        let mut rng = StdRng::seed_from_u64(13);
        let index = random_index(&mut rng, 300);
        let mut seq = 300;
        let q = "heart";
        let mut next_id = 1_000;
        for order in [
            SearchOrder::Newest,
            SearchOrder::PriceAsc,
            SearchOrder::PriceDesc,
        ] {
            for filters in [
                Filters::default(),
                Filters {
                    status: Some("active".into()),
                    ..Filters::default()
                },
            ] {
                let before: Vec<u64> = reference(&index, q, &filters, order)
                    .iter()
                    .map(|h| h.0)
                    .collect();
                assert!(before.len() > 50, "{order:?}: {}", before.len());
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let start = PageStart {
                        after,
                        ..PageStart::default()
                    };
                    let page = index.search(q, &filters, order, start, 9).unwrap();
                    walked.extend(ids_of(&page.hits));
                    assert!(walked.len() < 2_000, "{order:?}: the pages never end");
                    match page.hits.last() {
                        Some(last) if page.hits.len() == 9 => after = last.key,
                        _ => break,
                    }
                    let added: Vec<OfferDoc> = (0..3)
                        .map(|_| {
                            next_id += 1;
                            seq += 1;
                            random_offer(&mut rng, next_id, seq)
                        })
                        .collect();
                    index.apply_blocking(&added, None, true, None).unwrap();
                }
                let mut each = walked.clone();
                each.sort_unstable();
                each.dedup();
                assert_eq!(each.len(), walked.len(), "{order:?}: an offer repeated");
                // In the order of the index as it is now, and every offer of the first
                // page's index is there.
                let now: Vec<u64> = reference(&index, q, &filters, order)
                    .iter()
                    .map(|h| h.0)
                    .collect();
                let mut rest = now.iter();
                for id in &walked {
                    assert!(rest.any(|n| n == id), "{order:?}: {id} out of order");
                }
                let walked: HashSet<u64> = walked.into_iter().collect();
                assert!(before.iter().all(|id| walked.contains(id)), "{order:?}");
                if order == SearchOrder::Newest {
                    // Added offers are newer than the cursor: none shows.
                    assert_eq!(walked.len(), before.len());
                }
            }
        }
    }

    #[test]
    fn pruned_filtered_search_returns_what_an_exhaustive_search_does() {
        let mut rng = StdRng::seed_from_u64(7);
        let index = SearchIndex::open(None).unwrap();
        // Several commits make several segments; rewriting some offers leaves deleted
        // documents behind.
        let mut seq = 0;
        for commit in 0..6u64 {
            let docs: Vec<OfferDoc> = (0..400)
                .map(|i| {
                    seq += 1;
                    let id = if commit > 3 && i % 3 == 0 {
                        rng.gen_range(1..=1_600)
                    } else {
                        commit * 400 + i + 1
                    };
                    random_offer(&mut rng, id, seq)
                })
                .collect();
            index.apply_blocking(&docs, None, true, None).unwrap();
        }
        assert!(index.reader.searcher().segment_readers().len() > 1);

        let queries = [
            "heart",
            "data",
            "rate heart",
            "glucose receipts",
            "phone watch raw",
            "\"heart rate\"",
            "sleep -data",
            "nothingmatches",
            // Words only in tags: one (word, field) term alone, and two.
            "travel",
            "food travel",
        ];
        let mut checked = 0;
        for case in 0..300 {
            let q = queries[case % queries.len()];
            let mut filters = Filters::default();
            if rng.gen_bool(0.5) {
                filters.status = Some(STATUSES[rng.gen_range(0..3)].into());
            }
            if rng.gen_bool(0.3) {
                filters.tags = vec![TAGS[rng.gen_range(0..TAGS.len())].into()];
            }
            if rng.gen_bool(0.2) {
                filters.asset = Some(if rng.gen_bool(0.5) {
                    vec![7; 32]
                } else {
                    Vec::new()
                });
            }
            if rng.gen_bool(0.2) {
                filters.owner = Some(vec![rng.gen_range(0..4u8); 32]);
            }
            if rng.gen_bool(0.3) {
                filters.min_price = Some(u128::from(rng.gen_range(0..10u32)) * 1_000);
                filters.max_price = Some(u128::from(rng.gen_range(5..25u32)) * 1_000);
            }
            let order = [
                SearchOrder::Relevance,
                SearchOrder::Newest,
                SearchOrder::PriceAsc,
                SearchOrder::PriceDesc,
            ][case % 4];
            let offset = [0, 0, 5, 20][rng.gen_range(0..4)];
            let limit = [1, 10, 20][rng.gen_range(0..3)];
            let got = index
                .search(q, &filters, order, PageStart::offset(offset), limit)
                .unwrap()
                .hits;
            let want = reference(&index, q, &filters, order);
            let want: Vec<_> = want.iter().skip(offset).take(limit).collect();
            assert_eq!(
                got.len(),
                want.len(),
                "case {case}: {q} {filters:?} {order:?}"
            );
            for (g, w) in got.iter().zip(&want) {
                match order {
                    // Equal scores may come out in another order only when the sums are
                    // a rounding apart (the flat union adds in another order).
                    SearchOrder::Relevance => {
                        let score = g.score.unwrap();
                        assert!(
                            (score - w.1).abs() < 1e-4 * w.1.abs().max(1.0),
                            "case {case}: {q} {filters:?}: {g:?} against {w:?}"
                        );
                    }
                    _ => assert_eq!(g.id, w.0, "case {case}: {q} {filters:?} {order:?}"),
                }
            }
            checked += got.len();
        }
        assert!(
            checked > 1_000,
            "the cases found too little to compare: {checked}"
        );
    }
}
