//! The indexer's loop: take the writer lock (or wait as a standby), migrate, catch up
//! from the cursor to the finalized head in batches, then follow the head.
//!
//! Fetching and preparing (decoding, folding, encoding) the next batch overlaps with
//! writing the current one, so a catch-up runs at the speed of the slower of the two.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::source::BlockSource;
use crate::{db, prepare, store, write_prepared, Applied, IndexerError, Prepared, Watched};

/// How the loop runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The first block to index when the database is empty (the block the marketplace
    /// was deployed in, or any earlier one).
    pub start_block: u32,
    /// Blocks per transaction.
    pub batch_size: u32,
    /// Events per transaction, at most: a batch ends at the block that reaches this many
    /// (at least one block a batch). Two batches are in memory at once.
    pub batch_events: usize,
    /// How often to look for a new finalized head once caught up.
    pub poll: Duration,
    /// How often a standby tries the writer lock.
    pub standby_poll: Duration,
    /// Stop once the cursor reaches this block (tests, one-off catch-ups).
    pub stop_at: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            start_block: 1,
            batch_size: 500,
            batch_events: 20_000,
            poll: Duration::from_millis(500),
            standby_poll: Duration::from_secs(1),
            stop_at: None,
        }
    }
}

/// A batch being fetched and prepared ahead: its first block and the task.
type Prefetch = (u32, tokio::task::JoinHandle<Result<Prepared, IndexerError>>);

/// [`prepare`] on a blocking thread: it is CPU work.
async fn prepare_blocking(
    watched: &Watched,
    blocks: Vec<crate::Block>,
    after: Option<chain::BlockRef>,
    fee_recipient: Option<[u8; 32]>,
) -> Result<Prepared, IndexerError> {
    let watched = watched.clone();
    tokio::task::spawn_blocking(move || prepare(&watched, &blocks, after, fee_recipient))
        .await
        .map_err(|e| IndexerError::Inconsistent(format!("preparing a batch failed: {e}")))?
}

/// Takes the writer lock, migrates, and follows the chain until an error (or `stop_at`).
pub async fn follow(
    client: &mut Client,
    source: &BlockSource,
    watched: &Watched,
    options: &Options,
) -> Result<(), IndexerError> {
    // The writer migrates: a standby of a newer version must not change the schema
    // under the indexer that is writing.
    db::lock_writer(client, options.standby_poll).await?;
    db::migrate(client).await?;
    let batch_size = options.batch_size.max(1);
    let batch_events = options.batch_events.max(1);
    let mut progress = Progress::new();
    let mut pending: Option<Prefetch> = None;
    loop {
        let cursor = db::cursor(&*client, false)
            .await?
            .map(|c| crate::block_ref(c.block));
        let next = cursor.map_or(options.start_block, |c| c.number + 1);
        if options.stop_at.is_some_and(|stop| next > stop) {
            return Ok(());
        }
        let head = source.finalized_head().await?;
        metrics::gauge!("indexer_finalized_block").set(f64::from(head.number));
        let indexed = cursor.map_or(0, |c| c.number);
        metrics::gauge!("indexer_finalized_lag_blocks")
            .set(f64::from(head.number.saturating_sub(indexed)));
        let head_number = options.stop_at.map_or(head.number, |s| s.min(head.number));
        if next > head_number {
            tokio::time::sleep(options.poll).await;
            continue;
        }
        let end = head_number.min(next.saturating_add(batch_size - 1));
        let batch = match pending.take() {
            Some((start, task)) if start == next => task.await.map_err(|e| {
                IndexerError::Inconsistent(format!("fetching and preparing a batch failed: {e}"))
            })??,
            _ => {
                let blocks = source.fetch_batch(next..=end, batch_events).await?;
                let fee_recipient = store::fee_recipient(&*client).await?;
                prepare_blocking(watched, blocks, cursor, fee_recipient).await?
            }
        };
        let last = batch.last_block().map_or(end, |b| b.number);
        // Fetch and prepare the following batch while this one is written; it extends
        // this one's cursor, with the fee recipient this one leaves in force.
        if last < head_number {
            let start = last + 1;
            let stop = head_number.min(start.saturating_add(batch_size - 1));
            let source = source.clone();
            let watched = watched.clone();
            let (after, fee_recipient) = (batch.cursor(), batch.fee_recipient());
            pending = Some((
                start,
                tokio::spawn(async move {
                    let blocks = source.fetch_batch(start..=stop, batch_events).await?;
                    prepare_blocking(&watched, blocks, after, fee_recipient).await
                }),
            ));
        }
        let applied = write_prepared(client, watched, batch).await?;
        progress.record(&applied, head_number);
    }
}

/// Metrics and the catch-up progress line.
struct Progress {
    started: Instant,
    last_line: Instant,
    blocks_since: u64,
    events_since: u64,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_line: Instant::now(),
            blocks_since: 0,
            events_since: 0,
        }
    }

    fn record(&mut self, applied: &Applied, head: u32) {
        metrics::counter!("indexer_blocks_applied_total").increment(u64::from(applied.blocks));
        metrics::counter!("indexer_events_applied_total").increment(applied.events as u64);
        metrics::counter!("indexer_undecodable_events_total").increment(applied.undecodable as u64);
        let Some(cursor) = applied.cursor else { return };
        metrics::gauge!("indexer_head_block").set(f64::from(cursor.number));
        self.blocks_since += u64::from(applied.blocks);
        self.events_since += applied.events as u64;
        let elapsed = self.last_line.elapsed();
        if elapsed >= Duration::from_secs(5) {
            let seconds = elapsed.as_secs_f64();
            let blocks_per_s = self.blocks_since as f64 / seconds;
            let events_per_s = self.events_since as f64 / seconds;
            metrics::gauge!("indexer_events_per_second").set(events_per_s);
            let left = head.saturating_sub(cursor.number);
            if left > 0 && blocks_per_s > 0.0 {
                let eta = Duration::from_secs_f64(f64::from(left) / blocks_per_s);
                tracing::info!(
                    "catching up: block {} of {head}, {blocks_per_s:.0} blocks/s, \
                     {events_per_s:.0} events/s, about {}s left",
                    cursor.number,
                    eta.as_secs()
                );
            } else {
                tracing::info!(
                    "at the finalized head, block {}; {events_per_s:.1} events/s over the last {:.0}s (up {}s)",
                    cursor.number,
                    seconds,
                    self.started.elapsed().as_secs()
                );
            }
            self.last_line = Instant::now();
            self.blocks_since = 0;
            self.events_since = 0;
        }
    }
}
