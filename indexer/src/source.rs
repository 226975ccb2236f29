//! Reading finalized blocks and their contract events from the chain, several at once.
//!
//! The chain client is synchronous (see the `chain` crate), so each fetch runs on a
//! blocking thread with a connection of its own; `concurrency` connections fetch that many
//! blocks at a time, and the results come back in block order.

use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use chain::{BlockReader, BlockRef, ContractEvent, Header, SharedChain};
use futures::{stream, StreamExt, TryStreamExt};

use crate::IndexerError;

/// One connection that fetch tasks take turns on. It can read blocks and nothing else:
/// the indexer holds no key and can submit nothing, by type.
type Connection = Arc<Mutex<Box<dyn BlockReader + Send>>>;

/// A block as the indexer reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its header.
    pub header: Header,
    /// Its `ContractEmitted` events, in order.
    pub events: Vec<ContractEvent>,
}

impl Block {
    /// Its number and hash.
    pub fn reference(&self) -> BlockRef {
        BlockRef {
            number: self.header.number,
            hash: self.header.hash,
        }
    }
}

/// Where blocks come from: one or more connections to the same chain.
#[derive(Clone)]
pub struct BlockSource {
    connections: Vec<Connection>,
    endpoint: String,
}

impl BlockSource {
    /// Opens `concurrency` connections to the node at `url` (`ws://…`).
    pub async fn connect(url: &str, concurrency: usize) -> Result<Self, IndexerError> {
        if url == chain::IN_PROCESS {
            return Err(IndexerError::Config(
                "the in-process runtime only has blocks inside the program that drives it: \
                 that program runs the indexer on it (the demo does); give the indexer a \
                 node's ws:// URL"
                    .into(),
            ));
        }
        let mut connections = Vec::new();
        for _ in 0..concurrency.max(1) {
            let url = url.to_owned();
            let chain = tokio::task::spawn_blocking(move || chain::open_reader(&url))
                .await
                .map_err(|e| IndexerError::Chain(format!("connecting: {e}")))?
                .map_err(|e| IndexerError::Chain(e.to_string()))?;
            connections.push(Arc::new(Mutex::new(chain)));
        }
        Ok(Self {
            connections,
            endpoint: url.to_owned(),
        })
    }

    /// Reads from a chain this program shares (the in-process runtime, or a connection
    /// it already has); blocks are fetched one at a time.
    pub fn shared(chain: SharedChain) -> Self {
        let reader = chain::Locked(chain);
        let endpoint = reader.endpoint();
        Self {
            connections: vec![Arc::new(Mutex::new(Box::new(reader)))],
            endpoint,
        }
    }

    /// The chain's endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How many blocks are fetched at once.
    pub fn concurrency(&self) -> usize {
        self.connections.len()
    }

    async fn with<T: Send + 'static>(
        &self,
        slot: usize,
        what: String,
        f: impl FnOnce(&mut dyn BlockReader) -> Result<T, chain::ChainError> + Send + 'static,
    ) -> Result<T, IndexerError> {
        let connection = Arc::clone(&self.connections[slot % self.connections.len()]);
        tokio::task::spawn_blocking(move || {
            let mut chain = connection
                .lock()
                .map_err(|_| IndexerError::Chain("a chain connection panicked".into()))?;
            f(chain.as_mut()).map_err(|e| {
                let mut message = format!("{what}: {e}");
                if message.contains("State already discarded") {
                    message.push_str(
                        " (the node has pruned that block's state, and with it its events: \
                         the indexer needs a node that keeps the state of finalized blocks, \
                         e.g. --state-pruning archive-canonical)",
                    );
                }
                IndexerError::Chain(message)
            })
        })
        .await
        .map_err(|e| IndexerError::Chain(format!("a fetch task failed: {e}")))?
    }

    /// The newest finalized block.
    pub async fn finalized_head(&self) -> Result<BlockRef, IndexerError> {
        self.with(0, "reading the finalized head".into(), |c| {
            c.finalized_head()
        })
        .await
    }

    /// Fetches the blocks of `range` (all at or below the finalized head), in order.
    pub async fn fetch(&self, range: RangeInclusive<u32>) -> Result<Vec<Block>, IndexerError> {
        self.fetch_batch(range, usize::MAX).await
    }

    /// Fetches the blocks of `range` in order, but stops after the block that brings the
    /// events fetched to `max_events`: at least one block, and a batch's memory stays
    /// bounded on a chain with very many events per block. The blocks fetched ahead of
    /// the stop are dropped.
    pub async fn fetch_batch(
        &self,
        range: RangeInclusive<u32>,
        max_events: usize,
    ) -> Result<Vec<Block>, IndexerError> {
        let concurrency = self.connections.len();
        let mut blocks = stream::iter(range)
            .map(|number| async move {
                let block = self
                    .with(
                        number as usize,
                        format!("reading block {number}"),
                        move |c| {
                            let Some(hash) = c.block_hash(number)? else {
                                return Ok(None);
                            };
                            let Some(header) = c.header(hash)? else {
                                return Ok(None);
                            };
                            let events = c.contract_events(hash)?;
                            Ok(Some(Block { header, events }))
                        },
                    )
                    .await?;
                block.ok_or_else(|| {
                    IndexerError::Chain(format!(
                        "the node does not know block {number}, which is at or below its \
                         finalized head"
                    ))
                })
            })
            .buffered(concurrency);
        let mut fetched = Vec::new();
        let mut events = 0usize;
        while let Some(block) = blocks.try_next().await? {
            events = events.saturating_add(block.events.len());
            fetched.push(block);
            if events >= max_events {
                break;
            }
        }
        Ok(fetched)
    }
}
