//! The `indexer` binary against a real substrate-contracts-node and the real Postgres:
//! killed with SIGKILL at random moments of a catch-up of more than 10 000 events, it ends
//! with tables identical to an uninterrupted run; a second indexer waits on the writer
//! lock and takes over when the first is killed; a chain that does not extend the index
//! stops it with exit code 3.
//!
//! Needs substrate-contracts-node (scripts/setup installs it). Without it the test says
//! SKIPPED on stderr and passes; CI always has it.

use crate::common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chain::dev_node::DevNode;
use chain::market_types::{Asset, Result as MarketResult};
use chain::{BlockReader, Chain, RpcChain, Signer};
use common::*;
use index_db::{self as db, TempDatabase};
use rand::{Rng, SeedableRng};

const TRANSFERS_PER_BATCH: usize = 50;
const TRANSFER_BATCHES: usize = 200;
const MARKET_BATCHES: usize = 5;
const MARKET_PER_BATCH: usize = 20;

/// Fills the node with > 10 000 events: token transfers and marketplace offers and
/// purchases, many calls per block (Utility::batch_all). Returns the last finalized block.
fn workload(chain: &mut RpcChain, m: &Market) -> u32 {
    let alice = Signer::alice();
    let recipients: Vec<_> = ["Bob", "Charlie", "Dave", "Eve", "Ferdie"]
        .iter()
        .map(|n| Signer::dev(n).account_id())
        .collect();
    let transfer = |to| {
        m.token
            .call_data("PSP22::transfer", &(to, 1u128, Vec::<u8>::new()))
            .unwrap()
    };
    let gas = chain
        .dry_run_call(
            &alice.account_id(),
            &m.token.address,
            &transfer(recipients[0]),
            0,
        )
        .unwrap()
        .gas_required
        .margin();
    for batch in 0..TRANSFER_BATCHES {
        let calls: Vec<_> = (0..TRANSFERS_PER_BATCH)
            .map(|i| {
                let to = recipients[(batch + i) % recipients.len()];
                (m.token.address, transfer(to), 0, gas)
            })
            .collect();
        chain.submit_batch_calls(&alice, &calls).unwrap();
    }
    let owner = Signer::bob();
    let offer = |n: u64| new_offer(n, 1_000, Asset::Native, &[(owner.account_id(), 10_000)]);
    let data = m.market.call_data("create_offer", &offer(0)).unwrap();
    let gas = chain
        .dry_run_call(&owner.account_id(), &m.market.address, &data, BOND)
        .unwrap()
        .gas_required
        .margin();
    let mut id = 0u64;
    for _ in 0..MARKET_BATCHES {
        let calls: Vec<_> = (0..MARKET_PER_BATCH)
            .map(|_| {
                id += 1;
                let data = m.market.call_data("create_offer", &offer(id)).unwrap();
                (m.market.address, data, BOND, gas)
            })
            .collect();
        chain.submit_batch_calls(&owner, &calls).unwrap();
    }
    let buyer = Signer::dev("Charlie");
    let purchase = |offer_id: u64| {
        m.market
            .call_data("purchase", &(offer_id, [7u8; 32]))
            .unwrap()
    };
    let gas = chain
        .dry_run_call(&buyer.account_id(), &m.market.address, &purchase(1), 1_000)
        .unwrap()
        .gas_required
        .margin();
    for batch in 0..MARKET_BATCHES as u64 {
        let calls: Vec<_> = (1..=MARKET_PER_BATCH as u64)
            .map(|i| {
                (
                    m.market.address,
                    purchase(batch * MARKET_PER_BATCH as u64 + i),
                    1_000,
                    gas,
                )
            })
            .collect();
        chain.submit_batch_calls(&buyer, &calls).unwrap();
    }
    finalize(chain, &alice)
}

/// Waits until the node has finalized its best block (it finalizes one block behind its
/// best, a second later: one more block finalizes the last). Returns that block.
fn finalize(chain: &mut RpcChain, signer: &Signer) -> u32 {
    let best = chain.finalized_head().unwrap().number;
    let best = (best..best + 3)
        .take_while(|n| chain.block_hash(*n).unwrap().is_some())
        .last()
        .unwrap_or(best);
    chain
        .transfer(signer, &Signer::bob().account_id(), 1)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let finalized = chain.finalized_head().unwrap();
        if finalized.number >= best {
            return finalized.number;
        }
        assert!(
            Instant::now() < deadline,
            "finality stalled at {finalized:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Dry-run gas with room for what differs between the dry run and each batched call.
trait Margin {
    fn margin(self) -> Self;
}
impl Margin for chain::Weight {
    fn margin(self) -> Self {
        chain::Weight {
            ref_time: self.ref_time * 2,
            proof_size: self.proof_size * 2,
        }
    }
}

struct Indexer<'a> {
    node: &'a str,
    database: &'a str,
    marketplace: String,
    token: String,
}

impl Indexer<'_> {
    fn spawn(&self, extra: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_indexer"))
            .args(["--database-url", self.database, "--node", self.node])
            .args(["--marketplace", &self.marketplace, "--token", &self.token])
            .args(["--metrics-addr", ""])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the indexer binary")
    }

    /// Runs to `stop_at` and returns its stderr.
    fn run_to(&self, stop_at: u32, extra: &[&str]) -> String {
        let mut child = self.spawn(&[&["--stop-at", &stop_at.to_string()], extra].concat());
        let status = child.wait().unwrap();
        let log = stderr(&mut child);
        assert!(status.success(), "indexer failed: {status}\n{log}");
        log
    }
}

fn stderr(child: &mut Child) -> String {
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut log).ok();
    }
    log
}

async fn digest_of(url: &str) -> Vec<(String, String)> {
    full_digest(&db::connect(url).await.unwrap()).await
}

async fn cursor(url: &str) -> u32 {
    let client = db::connect(url).await.unwrap();
    match db::cursor(&client, false).await {
        Ok(c) => c.map_or(0, |c| c.block.number),
        Err(_) => 0, // not migrated yet
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_indexer_ends_identical_to_an_uninterrupted_run() {
    if let Err(e) = DevNode::binary() {
        eprintln!(
            "SKIPPED: substrate-contracts-node is not installed ({e}); scripts/setup installs it"
        );
        return;
    }
    let node = DevNode::start().unwrap_or_else(|e| panic!("{e}"));
    let url = node.url().to_owned();
    let (m, head) = tokio::task::spawn_blocking(move || {
        let mut chain = RpcChain::connect(&url).unwrap();
        let m = deploy(&mut chain);
        let head = workload(&mut chain, &m);
        (m, head)
    })
    .await
    .unwrap();
    let marketplace = format!("0x{}", hex::encode(m.market.address));
    let token = format!("0x{}", hex::encode(m.token.address));

    // The reference: one uninterrupted run.
    let reference = TempDatabase::create("dm_crash_ref").await.unwrap();
    let indexer = Indexer {
        node: node.url(),
        database: &reference.url,
        marketplace: marketplace.clone(),
        token: token.clone(),
    };
    let started = Instant::now();
    let log = indexer.run_to(head, &["--batch-size", "20"]);
    let uninterrupted = started.elapsed();
    let expected = digest_of(&reference.url).await;
    let client = db::connect(&reference.url).await.unwrap();
    let events: i64 = client
        .query_one("SELECT count(*) FROM raw_events", &[])
        .await
        .unwrap()
        .get(0);
    assert!(events > 10_000, "{events} events");
    let offers: i64 = client
        .query_one("SELECT count(*) FROM offers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(offers, (MARKET_BATCHES * MARKET_PER_BATCH) as i64);
    eprintln!("uninterrupted: {events} events in {head} blocks in {uninterrupted:?}\n{log}");

    // Killed again and again: batches of one block, so that a kill lands between or
    // inside many transactions.
    let crashed = TempDatabase::create("dm_crash_kill").await.unwrap();
    let indexer = Indexer {
        node: node.url(),
        database: &crashed.url,
        marketplace: marketplace.clone(),
        token: token.clone(),
    };
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kills = 0;
    let mut progress = Vec::new();
    let watcher = db::connect(&crashed.url).await.unwrap();
    loop {
        let start = cursor(&crashed.url).await;
        let mut child = indexer.spawn(&["--batch-size", "1", "--stop-at", &head.to_string()]);
        if rng.gen_bool(0.2) {
            // Now and then during start-up (migrations, the lock, connecting).
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        } else {
            // Mostly while it writes: once it has applied a few more blocks, after a
            // random extra moment, so that kills land inside transactions as well as
            // between them.
            let target = start + rng.gen_range(1..=6);
            while db::cursor(&watcher, false)
                .await
                .ok()
                .flatten()
                .map_or(0, |c| c.block.number)
                < target
                && child.try_wait().unwrap().is_none()
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
        }
        if child.try_wait().unwrap().is_some() {
            let status = child.wait().unwrap();
            assert!(status.success(), "{status}: {}", stderr(&mut child));
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        progress.push(cursor(&crashed.url).await);
        if kills >= 20 {
            // Enough: let the last run finish.
            let status = indexer
                .spawn(&["--stop-at", &head.to_string()])
                .wait()
                .unwrap();
            assert!(status.success());
            break;
        }
    }
    eprintln!("killed {kills} times; cursor after each kill: {progress:?}");
    assert!(
        kills >= 20,
        "only {kills} kills: the catch-up ended too soon ({progress:?})"
    );
    assert!(
        progress.windows(2).any(|w| w[1] > w[0]),
        "the cursor never moved: {progress:?}"
    );
    assert!(
        progress.last().copied().unwrap_or(0) < head,
        "every kill came after the end"
    );
    assert_eq!(digest_of(&crashed.url).await, expected);

    // Two indexers on one database: the second waits, then takes over from the killed first.
    let pair = TempDatabase::create("dm_crash_pair").await.unwrap();
    let indexer = Indexer {
        node: node.url(),
        database: &pair.url,
        marketplace: marketplace.clone(),
        token: token.clone(),
    };
    let mut first = indexer.spawn(&["--batch-size", "1"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while cursor(&pair.url).await == 0 {
        assert!(Instant::now() < deadline, "the first indexer never wrote");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut second = indexer.spawn(&["--stop-at", &head.to_string()]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    if let Some(status) = second.try_wait().unwrap() {
        panic!(
            "the standby must wait; it exited {status}: {}",
            stderr(&mut second)
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let status = second.wait().unwrap();
    let log = stderr(&mut second);
    assert!(status.success(), "{status}\n{log}");
    assert!(
        log.contains("standby: another indexer holds the writer lock"),
        "{log}"
    );
    assert!(log.contains("took over"), "{log}");
    assert_eq!(digest_of(&pair.url).await, expected);

    // Another chain under the same database: exit code 3 and both blocks named.
    let other = DevNode::start().unwrap_or_else(|e| panic!("{e}"));
    let other_url = other.url().to_owned();
    let other_head = tokio::task::spawn_blocking(move || {
        let mut chain = RpcChain::connect(&other_url).unwrap();
        let m = deploy(&mut chain);
        call::<_, MarketResult<u64>>(
            &mut chain,
            &m.market,
            &Signer::bob(),
            "create_offer",
            &new_offer(1, 1, Asset::Native, &[(Signer::bob().account_id(), 10_000)]),
            BOND,
        )
        .unwrap();
        let number = finalize(&mut chain, &Signer::alice());
        chain::BlockRef {
            number,
            hash: chain.block_hash(number).unwrap().unwrap(),
        }
    })
    .await
    .unwrap();
    assert!(other_head.number < head);
    let forked = TempDatabase::create("dm_crash_fork").await.unwrap();
    let on_other = Indexer {
        node: other.url(),
        database: &forked.url,
        marketplace: marketplace.clone(),
        token: token.clone(),
    };
    on_other.run_to(other_head.number, &[]);
    let before = digest_of(&forked.url).await;
    let on_first = Indexer {
        node: node.url(),
        database: &forked.url,
        marketplace,
        token,
    };
    let mut child = on_first.spawn(&["--stop-at", &head.to_string()]);
    let status = child.wait().unwrap();
    let log = stderr(&mut child);
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(
        log.contains(&format!(
            "block {} is {}",
            other_head.number, other_head.hash
        )),
        "{log}"
    );
    assert!(log.contains("nothing was written past block"), "{log}");
    assert_eq!(digest_of(&forked.url).await, before);

    drop((client, watcher));
    for database in [reference, crashed, pair, forked] {
        database.drop_now().await.unwrap();
    }
}
