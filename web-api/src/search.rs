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

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::{
    doc, DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};
use tokio_postgres::{AsyncMessage, NoTls};

/// Offers read from Postgres per tantivy commit while catching up.
const PAGE: i64 = 5_000;
/// Bump when the schema or what goes into it changes: an index of another version is
/// rebuilt from Postgres.
const INDEX_VERSION: u32 = 1;
/// How long opening waits for another writer to let go of the index directory.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How deep a search may page (offset + limit).
pub const MAX_DEPTH: usize = 1_000;

/// Why the search index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed.
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Reading the change feed failed.
    #[error("database: {0}")]
    Database(String),
    /// The index directory is unusable.
    #[error("index directory {0}: {1}")]
    Directory(PathBuf, String),
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
        tag: b.add_text_field("tag", STRING),
        status: b.add_text_field("status", STRING),
        asset: b.add_text_field("asset", STRING),
        owner: b.add_text_field("owner", STRING),
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
}

/// The search index and its writer.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    parser: QueryParser,
    applied: AtomicI64,
    marketplace: Mutex<Option<String>>,
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
        let this = Self {
            reader,
            writer: Mutex::new(writer),
            fields,
            parser,
            applied: AtomicI64::new(applied),
            marketplace: Mutex::new(marketplace),
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
        self.reader.reload()?;
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
                .expect("reset task")?;
        }
        let mut total = 0;
        for _ in 0..max_pages {
            let after = self.applied();
            let rows = client
                .query(
                    "SELECT id, owner, asset, price::text, title, description, tags, status, \
                     change_seq FROM offers WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
                    &[&after, &page],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len();
            let docs: Vec<OfferDoc> = rows.iter().map(OfferDoc::from_row).collect();
            let this = Arc::clone(self);
            let m = marketplace.clone();
            tokio::task::spawn_blocking(move || this.apply_blocking(&docs, m))
                .await
                .expect("apply task")?;
            total += n;
            if (n as i64) < page {
                break;
            }
        }
        if total > 0 {
            tracing::debug!(
                applied = self.applied(),
                rows = total,
                "search index caught up"
            );
        }
        Ok(total)
    }

    fn apply_blocking(
        &self,
        docs: &[OfferDoc],
        marketplace: Option<String>,
    ) -> Result<(), SearchError> {
        let f = self.fields;
        let mut writer = self.writer.lock().expect("search writer lock");
        let mut last = self.applied();
        for d in docs {
            writer.delete_term(Term::from_field_u64(f.id, d.id));
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
        self.reader.reload()?;
        self.applied.store(last, Ordering::SeqCst);
        *self.marketplace.lock().expect("marketplace lock") = marketplace;
        Ok(())
    }

    /// Searches: `q` ranked with BM25 (or in `order`), inside `filters`, skipping
    /// `offset` hits and returning at most `limit`.
    pub fn search(
        &self,
        q: &str,
        filters: &Filters,
        order: SearchOrder,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        let f = self.fields;
        // Lenient: people's queries are not syntax; what does not parse is dropped.
        let (text, _) = self.parser.parse_query_lenient(q);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
        let term = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            )
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
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(filters.min_price),
                    bound(filters.max_price),
                )),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        let addresses: Vec<(Option<f32>, DocAddress)> = match order {
            SearchOrder::Relevance => searcher
                .search(&query, &top)?
                .into_iter()
                .map(|(s, a)| (Some(s), a))
                .collect(),
            SearchOrder::Newest | SearchOrder::PriceAsc | SearchOrder::PriceDesc => {
                let (field, dir) = match order {
                    SearchOrder::Newest => ("id", Order::Desc),
                    SearchOrder::PriceAsc => ("price", Order::Asc),
                    _ => ("price", Order::Desc),
                };
                searcher
                    .search(&query, &top.order_by_u64_field(field, dir))?
                    .into_iter()
                    .map(|(_, a)| (None, a))
                    .collect()
            }
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = document.get_first(f.id).and_then(|v| v.as_u64()) {
                hits.push(Hit { id, score });
            }
        }
        Ok(hits)
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

/// Keeps `index` current: waits for a notification on [`indexer::db::OFFERS_CHANNEL`]
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
        let listener = listen(&database_url, indexer::db::OFFERS_CHANNEL, wake_tx).await;
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
