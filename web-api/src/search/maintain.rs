//! Opening the index, catching it up from the change feed, and applying changes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tantivy::directory::MmapDirectory;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::QueryParser;
use tantivy::schema::Schema;
use tantivy::{doc, Index, IndexWriter, ReloadPolicy, SegmentReader, Term};

use super::schema::{schema, CommitPayload, OfferDoc};
use super::snapshots::Snapshots;
use super::{
    concurrent_searches, saturate, SearchError, SearchIndex, BULK_PAGES, INDEX_VERSION, LOCK_WAIT,
    PAGE,
};

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
    pub(super) fn reset_blocking(&self, marketplace: Option<String>) -> Result<(), SearchError> {
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
    pub(super) fn apply_blocking(
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

    /// Reloads the searcher after a commit, forgets the snapshots that expired, and
    /// forgets the columns of segments that neither the current searcher nor a kept
    /// snapshot reads (merges and deletions of everything retire segments).
    pub(super) fn reload(&self) -> Result<(), SearchError> {
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
}
