//! The Datamarket indexer: follows finalized blocks and mirrors the marketplace's and
//! tokens' contract events into Postgres (DESIGN §5).
//!
//! - [`source`] reads blocks and their `ContractEmitted` events, several at once;
//! - [`decode`] keeps the events of the watched contracts and decodes them;
//! - [`apply_blocks`] writes a batch of blocks in one transaction with the cursor, in two
//!   steps: [`prepare`] decodes and folds the events ([`store::Changes`]) and encodes the
//!   raw events and the new derived rows for COPY ([`CopyRows`]), with no database;
//!   [`write_prepared`] COPYs them, updates the rows that existed, and moves the cursor.
//!   A block already applied is skipped, and a block that does not extend the cursor
//!   stops everything with [`IndexerError::Fork`] or [`IndexerError::Gap`];
//! - [`follow`] is the loop: migrations, the writer lock (a second indexer waits as a
//!   standby), catch-up with progress (the next batch fetched and prepared while the one
//!   before is written), then following the finalized head;
//! - [`rebuild`] replays `raw_events` into emptied derived tables;
//!
//! The database side it shares with the web API (connection, migrations, the writer
//! lock, channels, cursor, digests, payload conventions) is the `index-db` crate.

#![warn(missing_docs)]

mod copy;
pub mod decode;
pub mod follow;
pub mod source;
pub mod store;

use chain::{BlockHash, BlockRef, ContractEvent};
use index_db as db;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

pub use copy::CopyRows;

pub use decode::{Classified, Decoded, Watched};
pub use follow::{follow, Options};
pub use source::{Block, BlockSource};

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// The next block does not extend the index: the chain forked under it, or this
    /// database belongs to another chain.
    #[error(
        "block {} ({}) has parent {parent}, but the index's block {} is {}: the chain \
         forked or the node serves another chain; nothing was written past block {}",
        block.number, block.hash, cursor.number, cursor.hash, cursor.number
    )]
    Fork {
        /// The last block applied.
        cursor: BlockRef,
        /// The block that does not extend it.
        block: BlockRef,
        /// That block's parent hash.
        parent: BlockHash,
    },
    /// The next block is not the one after the cursor.
    #[error(
        "expected block {} after the index's block {} ({}), got block {} ({}); nothing was \
         written past block {}",
        cursor.number + 1, cursor.number, cursor.hash, block.number, block.hash, cursor.number
    )]
    Gap {
        /// The last block applied.
        cursor: BlockRef,
        /// The block that came instead of the next.
        block: BlockRef,
    },
    /// The configuration does not fit this database or chain.
    #[error("{0}")]
    Config(String),
    /// Reading the chain failed.
    #[error("chain: {0}")]
    Chain(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// The events contradict the index (e.g. a change of an offer it never saw).
    #[error("inconsistent index: {0}")]
    Inconsistent(String),
}

impl From<tokio_postgres::Error> for IndexerError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's message (code and text), never connection parameters.
        match e.as_db_error() {
            Some(db) => Self::Database(format!("{} ({})", db.message(), db.code().code())),
            None => Self::Database(e.to_string()),
        }
    }
}

impl From<index_db::DbError> for IndexerError {
    fn from(e: index_db::DbError) -> Self {
        match e {
            index_db::DbError::Inconsistent(message) => Self::Inconsistent(message),
            other => Self::Database(other.to_string()),
        }
    }
}

// What the index's rows may hold is what the marketplace allows: readers refuse queries
// by index_db's copy of these bounds.
const _: () = {
    assert!(index_db::payload::offer_limits::TAGS == market_types::limits::TAGS);
    assert!(index_db::payload::offer_limits::TAG == market_types::limits::TAG);
};

/// The chain's name for a block the index stores.
pub fn block_ref(block: db::BlockPos) -> BlockRef {
    BlockRef {
        number: block.number,
        hash: BlockHash(block.hash),
    }
}

impl IndexerError {
    /// The process exit code for this error: 3 for a fork or gap (an operator must look),
    /// 2 for configuration, 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Fork { .. } | Self::Gap { .. } => 3,
            Self::Config(_) => 2,
            _ => 1,
        }
    }
}

/// What [`apply_blocks`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Blocks newly applied (blocks at or below the cursor are skipped).
    pub blocks: u32,
    /// Events decoded and applied.
    pub events: usize,
    /// Events of watched contracts that did not decode.
    pub undecodable: usize,
    /// The cursor afterwards.
    pub cursor: Option<BlockRef>,
}

/// Applies `blocks` (consecutive, in order) in one transaction with the cursor.
///
/// Blocks at or below the cursor are skipped, so applying a batch again changes nothing.
/// The first new block must be the cursor's child (or any block when the index is
/// empty); otherwise nothing is written and the error names both blocks.
pub async fn apply_blocks(
    client: &mut Client,
    watched: &Watched,
    blocks: &[Block],
) -> Result<Applied, IndexerError> {
    let cursor = db::cursor(&*client, false).await?;
    // Checked here too (write_prepared checks it in its transaction): another market's
    // database must say so, not fail on its blocks as a fork or gap.
    if let Some(cursor) = &cursor {
        same_marketplace(cursor, watched)?;
    }
    let fee_recipient = store::fee_recipient(&*client).await?;
    let batch = prepare(
        watched,
        blocks,
        cursor.map(|c| block_ref(c.block)),
        fee_recipient,
    )?;
    write_prepared(client, watched, batch).await
}

/// A batch of blocks decoded, folded and encoded for COPY: all of applying it that needs
/// no database. [`follow`] prepares each batch on a blocking thread while the batch
/// before it is written, so that decoding and Postgres's work overlap.
pub struct Prepared {
    /// The cursor the batch extends (`None`: the index is empty).
    after: Option<BlockRef>,
    /// Its last block, when it has blocks past `after`.
    last: Option<BlockRef>,
    blocks: u32,
    raw: CopyRows,
    undecodable: Vec<(BlockRef, ContractEvent, String)>,
    changes: store::Changes,
    new_rows: store::NewRows,
    /// How long preparing took.
    took: std::time::Duration,
}

impl Prepared {
    /// The cursor once the batch is written.
    pub fn cursor(&self) -> Option<BlockRef> {
        self.last.or(self.after)
    }

    /// The batch's last block past the cursor it extends, if any.
    pub fn last_block(&self) -> Option<BlockRef> {
        self.last
    }

    /// The fee recipient in force after the batch (what the next batch is prepared with).
    pub fn fee_recipient(&self) -> Option<[u8; 32]> {
        self.changes.fee_recipient()
    }
}

/// Prepares `blocks` to extend the cursor `after`, with `fee_recipient` in force as the
/// index has it after `after` ([`store::fee_recipient`], or the batch before's
/// [`Prepared::fee_recipient`]).
///
/// Blocks at or below `after` are skipped (the one at its height must be it); the first
/// block past it must be its child, and each block the child of the one before.
pub fn prepare(
    watched: &Watched,
    blocks: &[Block],
    after: Option<BlockRef>,
    fee_recipient: Option<[u8; 32]>,
) -> Result<Prepared, IndexerError> {
    let started = std::time::Instant::now();
    let mut tip = after;
    let mut changes = store::Changes::with_fee_recipient(fee_recipient);
    let mut raw = CopyRows::new(RAW_COPY, RAW_TYPES);
    let mut undecodable = Vec::new();
    let mut applied_blocks = 0;
    for block in blocks {
        let this = block.reference();
        if let Some(tip) = tip {
            if this.number <= tip.number {
                if this.number == tip.number && this.hash != tip.hash {
                    return Err(IndexerError::Fork {
                        cursor: tip,
                        block: this,
                        parent: block.header.parent_hash,
                    });
                }
                continue;
            }
            if this.number != tip.number + 1 {
                return Err(IndexerError::Gap {
                    cursor: tip,
                    block: this,
                });
            }
            if block.header.parent_hash != tip.hash {
                return Err(IndexerError::Fork {
                    cursor: tip,
                    block: this,
                    parent: block.header.parent_hash,
                });
            }
        }
        for event in &block.events {
            match watched.classify(event) {
                Classified::Foreign => {}
                Classified::Undecodable(reason) => {
                    tracing::warn!(
                        block = this.number,
                        event_index = event.event_index,
                        contract = %decode::ss58(&event.contract),
                        "undecodable event stored in undecodable_events: {reason}"
                    );
                    undecodable.push((this, event.clone(), reason));
                }
                Classified::Decoded(decoded) => {
                    let topics: Vec<&[u8]> = event.topics.iter().map(|t| t.as_slice()).collect();
                    raw.push(&[
                        &i64::from(this.number),
                        &(event.event_index as i32),
                        &this.hash.0.as_slice(),
                        &event.extrinsic_index.map(|i| i as i32),
                        &AsRef::<[u8]>::as_ref(&event.contract),
                        &decoded.name(),
                        &topics,
                        &event.data.as_slice(),
                        &decode::payload(&decoded),
                    ])?;
                    changes.apply(this.number, event.event_index, &decoded)?;
                }
            }
        }
        tip = Some(this);
        applied_blocks += 1;
    }
    let new_rows = changes.encode()?;
    Ok(Prepared {
        after,
        last: if applied_blocks > 0 { tip } else { None },
        blocks: applied_blocks,
        raw,
        undecodable,
        changes,
        new_rows,
        took: started.elapsed(),
    })
}

/// Writes a prepared batch in one transaction with the cursor. The index's cursor must
/// still be the one the batch was prepared after (one indexer writes, under the lock).
pub async fn write_prepared(
    client: &mut Client,
    watched: &Watched,
    batch: Prepared,
) -> Result<Applied, IndexerError> {
    let started = std::time::Instant::now();
    let txn = client.transaction().await?;
    let cursor = db::cursor(&txn, true).await?;
    if let Some(cursor) = &cursor {
        same_marketplace(cursor, watched)?;
    }
    let cursor = cursor.map(|c| block_ref(c.block));
    if cursor != batch.after {
        let show = |c: Option<BlockRef>| {
            c.map_or("none".into(), |c| {
                format!("block {} ({})", c.number, c.hash)
            })
        };
        return Err(IndexerError::Inconsistent(format!(
            "a batch prepared after {} found the index at {}: is another indexer writing \
             without the lock?",
            show(batch.after),
            show(cursor)
        )));
    }
    let mut applied = Applied {
        blocks: batch.blocks,
        events: batch.changes.events(),
        undecodable: batch.undecodable.len(),
        cursor,
    };
    let Some(tip) = batch.last else {
        // Everything was applied before: change nothing.
        txn.rollback().await?;
        return Ok(applied);
    };
    batch.raw.send(&txn).await?;
    let raw_copied = started.elapsed();
    for (block, event, reason) in &batch.undecodable {
        let topics: Vec<&[u8]> = event.topics.iter().map(|t| t.as_slice()).collect();
        txn.execute(
            "INSERT INTO undecodable_events (block_number, event_index, block_hash, \
             extrinsic_index, contract, topics, data, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &i64::from(block.number),
                &(event.event_index as i32),
                &block.hash.0.as_slice(),
                &event.extrinsic_index.map(|i| i as i32),
                &AsRef::<[u8]>::as_ref(&event.contract),
                &topics,
                &event.data,
                reason,
            ],
        )
        .await?;
    }
    let touches_offers = batch.changes.touches_offers();
    batch.changes.write_encoded(&txn, batch.new_rows).await?;
    let derived = started.elapsed() - raw_copied;
    txn.execute(
        "INSERT INTO indexer_cursor (block_number, block_hash, marketplace) VALUES ($1, $2, $3) \
         ON CONFLICT (singleton) DO UPDATE SET block_number = EXCLUDED.block_number, \
         block_hash = EXCLUDED.block_hash, applied_at = now()",
        &[
            &i64::from(tip.number),
            &tip.hash.0.as_slice(),
            &AsRef::<[u8]>::as_ref(&watched.marketplace),
        ],
    )
    .await?;
    if touches_offers {
        notify_offers(&txn).await?;
    }
    if applied.events > 0 || applied.undecodable > 0 {
        txn.execute(
            &format!("SELECT pg_notify('{}', $1)", db::BLOCKS_CHANNEL),
            &[&tip.number.to_string()],
        )
        .await?;
    }
    txn.commit().await?;
    tracing::debug!(
        blocks = applied.blocks,
        events = applied.events,
        "batch: prepared (decode, fold, encode) in {:?}; raw COPY {raw_copied:?}, derived \
         tables {derived:?}, total with cursor and commit {:?}",
        batch.took,
        started.elapsed()
    );
    applied.cursor = Some(tip);
    Ok(applied)
}

/// Stops an indexer started with another marketplace than the database's.
fn same_marketplace(cursor: &db::Cursor, watched: &Watched) -> Result<(), IndexerError> {
    if cursor.marketplace != *AsRef::<[u8; 32]>::as_ref(&watched.marketplace) {
        return Err(IndexerError::Config(format!(
            "this database indexes the marketplace {}, not {}",
            decode::hex0x(&cursor.marketplace),
            decode::hex0x(watched.marketplace.as_ref())
        )));
    }
    Ok(())
}

/// Where the raw events go, for a binary COPY.
pub const RAW_COPY: &str = "raw_events (block_number, event_index, block_hash, extrinsic_index, \
    contract, name, topics, data, payload)";

/// Their types, for a binary COPY.
pub const RAW_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT4,
    Type::BYTEA,
    Type::INT4,
    Type::BYTEA,
    Type::TEXT,
    Type::BYTEA_ARRAY,
    Type::BYTEA,
    Type::JSONB,
];

/// Wakes the search index's feed (delivered when the transaction commits).
async fn notify_offers(txn: &tokio_postgres::Transaction<'_>) -> Result<(), IndexerError> {
    txn.execute(
        &format!(
            "SELECT pg_notify('{}', (SELECT coalesce(max(change_seq), 0)::text FROM offers))",
            db::OFFERS_CHANNEL
        ),
        &[],
    )
    .await?;
    Ok(())
}

/// How many raw events a rebuild folds per statement set.
const REBUILD_PAGE: i64 = 10_000;

/// Empties the derived tables and replays `raw_events` into them, in one transaction (a
/// crash leaves the old tables; readers see the old ones until it commits). Takes the
/// writer lock first, so the live indexer must be stopped or it waits. Returns the number
/// of events replayed.
pub async fn rebuild(client: &mut Client) -> Result<u64, IndexerError> {
    db::lock_writer(client, std::time::Duration::from_secs(1)).await?;
    let Some(cursor) = db::cursor(&*client, false).await? else {
        return Ok(0);
    };
    let marketplace = chain::AccountId::from(cursor.marketplace);
    let txn = client.transaction().await?;
    txn.batch_execute(&format!("TRUNCATE {}", db::DERIVED_TABLES.join(", ")))
        .await?;
    let mut after: (i64, i32) = (-1, -1);
    let mut replayed = 0u64;
    loop {
        let rows = txn
            .query(
                "SELECT block_number, event_index, contract, topics, data, extrinsic_index \
                 FROM raw_events WHERE (block_number, event_index) > ($1, $2) \
                 ORDER BY block_number, event_index LIMIT $3",
                &[&after.0, &after.1, &REBUILD_PAGE],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut changes = store::Changes::begin(&txn).await?;
        for row in &rows {
            let block: i64 = row.get(0);
            let index: i32 = row.get(1);
            after = (block, index);
            let contract: Vec<u8> = row.get(2);
            let topics: Vec<Vec<u8>> = row.get(3);
            let contract = chain::AccountId::from(
                <[u8; 32]>::try_from(contract)
                    .map_err(|_| IndexerError::Inconsistent("a raw event's contract".into()))?,
            );
            let event = chain::ContractEvent {
                event_index: index as u32,
                extrinsic_index: row.get::<_, Option<i32>>(5).map(|i| i as u32),
                contract,
                topics: topics
                    .into_iter()
                    .map(|t| t.try_into())
                    .collect::<Result<_, _>>()
                    .map_err(|_| IndexerError::Inconsistent("a raw event's topic".into()))?,
                data: row.get(4),
            };
            // Every contract in the log other than the marketplace is a watched token.
            let watched = Watched {
                marketplace,
                tokens: if contract == marketplace {
                    Vec::new()
                } else {
                    vec![contract]
                },
            };
            match watched.classify(&event) {
                Classified::Decoded(decoded) => {
                    changes.apply(block as u32, index as u32, &decoded)?
                }
                other => {
                    return Err(IndexerError::Inconsistent(format!(
                        "raw event ({block}, {index}) no longer decodes: {other:?}"
                    )))
                }
            }
            replayed += 1;
        }
        changes.write(&txn).await?;
        tracing::info!(replayed, "rebuild: replayed up to block {}", after.0);
    }
    notify_offers(&txn).await?;
    txn.commit().await?;
    Ok(replayed)
}
