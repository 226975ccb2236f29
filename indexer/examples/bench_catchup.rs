//! Benchmark: catch-up speed, in blocks per second, from a local substrate-contracts-node
//! whose blocks carry no contract events, beside the speed of fetching the same blocks
//! alone (no database) in the same run. Run it with `scripts/bench-indexer`.
//!
//! The dev node seals a block per transaction and never an empty one, so the blocks are
//! made with one balance transfer each: to the indexer they are empty (no contract
//! events), but it still reads each block's hash, header and events.

use std::time::{Duration, Instant};

use chain::dev_node::DevNode;
use chain::{BlockReader, Chain, Signer};
use index_db::{self as db, TempDatabase};
use indexer::{BlockSource, Options, Watched};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: u32 = std::env::var("BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let node = match DevNode::start() {
        Ok(node) => node,
        Err(e) => {
            println!("indexer catch-up benchmark: SKIPPED, no node ({e})");
            return Ok(());
        }
    };
    let url = node.url().to_owned();
    let made = Instant::now();
    let head = tokio::task::spawn_blocking(move || -> anyhow::Result<u32> {
        let mut chain = chain::RpcChain::connect(&url)?;
        let alice = Signer::alice();
        let bob = Signer::bob().account_id();
        for _ in 0..=count {
            chain.transfer(&alice, &bob, 1)?;
        }
        // Finality trails the best block by one.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let finalized = chain.finalized_head()?;
            if finalized.number >= count {
                return Ok(finalized.number);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "finality stalled at {finalized:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await??;
    eprintln!(
        "made {head} blocks in {:.1} s",
        made.elapsed().as_secs_f64()
    );

    let source = BlockSource::connect(node.url(), concurrency).await?;
    let started = Instant::now();
    let mut next = 1;
    while next <= head {
        let end = head.min(next + 499);
        source.fetch(next..=end).await?;
        next = end + 1;
    }
    let fetch = started.elapsed();

    let database = TempDatabase::create("dm_bench_catchup").await?;
    let mut client = db::connect(&database.url).await?;
    db::migrate(&mut client).await?;
    let watched = Watched {
        marketplace: chain::AccountId::from([1u8; 32]),
        tokens: Vec::new(),
    };
    let options = Options {
        stop_at: Some(head),
        batch_size: 500,
        ..Options::default()
    };
    let started = Instant::now();
    indexer::follow(&mut client, &source, &watched, &options).await?;
    let indexed = started.elapsed();

    let rate = |d: Duration| f64::from(head) / d.as_secs_f64();
    println!("indexer catch-up benchmark: {head} blocks without contract events, {concurrency} node connections");
    println!("| what | time | blocks/s | vs fetch alone |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| fetch hash, header and events (baseline) | {:.2} s | {:.0} | 1.00x |",
        fetch.as_secs_f64(),
        rate(fetch)
    );
    println!(
        "| indexer follow (fetch + apply + cursor) | {:.2} s | {:.0} | {:.2}x |",
        indexed.as_secs_f64(),
        rate(indexed),
        fetch.as_secs_f64() / indexed.as_secs_f64()
    );
    println!(
        "target: >= 2 000 blocks/s: {}",
        if rate(indexed) >= 2_000.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    drop(client);
    database.drop_now().await?;
    Ok(())
}
