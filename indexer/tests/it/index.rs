//! The indexer against the real Postgres (a database of its own per test) and real event
//! bytes from the contracts on the in-process pallet-contracts runtime.

use crate::common;

use std::sync::{Arc, Mutex};

use chain::market_types::decode::MarketEvent;
use chain::{BlockReader, Chain, ContractEvent, InProcessChain};
use common::*;
use index_db::{self as db, TempDatabase};
use indexer::{apply_blocks, Block, BlockSource, IndexerError};
use tokio_postgres::Client;

fn shared(chain: InProcessChain) -> chain::SharedChain {
    Arc::new(Mutex::new(Box::new(chain) as Box<dyn Chain + Send>))
}

async fn fresh(prefix: &str) -> (TempDatabase, Client) {
    let database = TempDatabase::create(prefix)
        .await
        .expect("Postgres at 127.0.0.1:5432");
    let mut client = db::connect(&database.url).await.unwrap();
    db::migrate(&mut client).await.unwrap();
    (database, client)
}

async fn all_blocks(source: &BlockSource) -> Vec<Block> {
    let head = source.finalized_head().await.unwrap();
    source.fetch(1..=head.number).await.unwrap()
}

/// A chain on which every event type was emitted ([`every_event`]), and its blocks.
async fn every_event_blocks() -> (Market, BlockSource, Vec<Block>) {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    every_event(&mut chain, &m);
    let source = BlockSource::shared(shared(chain));
    let blocks = all_blocks(&source).await;
    (m, source, blocks)
}

/// The first column of every row `sql` returns.
async fn first_column<T: tokio_postgres::types::FromSqlOwned>(
    client: &Client,
    sql: &str,
) -> Vec<T> {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn hex(b: &[u8]) -> Vec<u8> {
    b.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_lands_in_its_rows() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let story = every_event(&mut chain, &m);
    let (database, client) = fresh("dm_idx_rows").await;
    let chain = shared(chain);
    let head = index_all(Arc::clone(&chain), &database.url, &m.watched(), 4).await;

    // Every event of both contracts was seen and kept, none undecodable.
    let names: Vec<String> = first_column(
        &client,
        "SELECT DISTINCT name FROM raw_events ORDER BY name",
    )
    .await;
    let mut expected: Vec<String> = [
        "OfferCreated",
        "OfferPriceUpdated",
        "OfferMetadataUpdated",
        "OfferStatusChanged",
        "BondReleased",
        "PurchaseCreated",
        "KeyDelivered",
        "PurchaseSettled",
        "PurchaseRefunded",
        "Withdrawn",
        "ConfigChanged",
        "MarketPauseChanged",
        "AdminTransferred",
        "CodeUpgraded",
        "PurchaseDisputed",
        "DisputePenaltyChanged",
        "psp22.Transfer",
        "psp22.Approval",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.sort();
    assert_eq!(names, expected);
    let undecodable: i64 = client
        .query_one("SELECT count(*) FROM undecodable_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(undecodable, 0);
    let cursor = db::cursor(&client, false).await.unwrap().unwrap();
    assert_eq!(indexer::block_ref(cursor.block), head);

    // Offers: the native one was repriced, renamed, paused, resumed, delisted.
    let row = client
        .query_one(
            "SELECT owner, price::text, asset, uri, title, tags, status, purchases, \
             open_purchases, revenue::text, bond_released, bond::text \
             FROM offers WHERE id = $1",
            &[&(story.native_offer as i64)],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(0), hex(story.owner.as_ref()));
    assert_eq!(row.get::<_, String>(1), PRICE.to_string());
    assert_eq!(row.get::<_, Vec<u8>>(2), Vec::<u8>::new());
    assert_eq!(row.get::<_, String>(3), "file:///blobs/1b.dmseal");
    assert_eq!(row.get::<_, String>(4), "Daily step counts, 2025, cleaned");
    assert_eq!(row.get::<_, Vec<String>>(5), ["health", "steps", "fitness"]);
    assert_eq!(row.get::<_, String>(6), "delisted");
    assert_eq!(row.get::<_, i64>(7), 3);
    assert_eq!(row.get::<_, i64>(8), 0);
    assert_eq!(row.get::<_, String>(9), PRICE.to_string());
    assert!(row.get::<_, bool>(10));
    // The dispute's penalty came out of the bond.
    assert_eq!(row.get::<_, String>(11), (BOND - PENALTY).to_string());
    // No Postgres search vector is kept (V5): the web API ranks with tantivy.
    let search_columns: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'offers' AND column_name = 'search'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(search_columns, 0);

    // The data union's offer, in the token, with its 50/30/20 split.
    let row = client
        .query_one(
            "SELECT asset, status, purchases, revenue::text FROM offers WHERE id = $1",
            &[&(story.union_offer as i64)],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(0), hex(m.token.address.as_ref()));
    assert_eq!(row.get::<_, String>(1), "active");
    assert_eq!(row.get::<_, i64>(2), 1);
    assert_eq!(row.get::<_, String>(3), TOKEN_PRICE.to_string());
    let payees: Vec<(i16, Vec<u8>, i32)> = client
        .query(
            "SELECT position, account, bps FROM payees WHERE offer_id = $1 ORDER BY position",
            &[&(story.union_offer as i64)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        payees,
        vec![
            (0, hex(story.union[0].as_ref()), 5_000),
            (1, hex(story.union[1].as_ref()), 3_000),
            (2, hex(story.union[2].as_ref()), 2_000),
        ]
    );

    // Purchases: each step and its block.
    let purchase = |id: u64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT status, envelope, buyer, amount::text, created_block, \
                     delivered_block, settled_block, refunded_block, dispute_deadline \
                     FROM purchases WHERE id = $1",
                    &[&(id as i64)],
                )
                .await
                .unwrap()
        }
    };
    let settled = purchase(story.settled_native).await;
    assert_eq!(settled.get::<_, String>(0), "settled");
    assert_eq!(settled.get::<_, Option<Vec<u8>>>(1), Some(vec![9u8; 80]));
    assert_eq!(settled.get::<_, Vec<u8>>(2), hex(story.buyer.as_ref()));
    assert_eq!(settled.get::<_, String>(3), PRICE.to_string());
    let created: i64 = settled.get(4);
    let delivered: i64 = settled.get::<_, Option<i64>>(5).unwrap();
    let settled_at: i64 = settled.get::<_, Option<i64>>(6).unwrap();
    assert!(created < delivered && delivered < settled_at);
    assert_eq!(
        settled.get::<_, Option<i64>>(8),
        Some(delivered + i64::from(DISPUTE_WINDOW))
    );
    let refunded = purchase(story.refunded).await;
    assert_eq!(refunded.get::<_, String>(0), "refunded");
    assert_eq!(refunded.get::<_, Option<Vec<u8>>>(1), None);
    assert!(refunded.get::<_, Option<i64>>(7).is_some());
    assert_eq!(
        purchase(story.settled_token).await.get::<_, String>(0),
        "settled"
    );

    // Settlements and payouts sum to the payment; the fee is 2.5%.
    let (fee, paid): (String, String) = {
        let r = client
            .query_one(
                "SELECT s.fee::text, sum(p.amount)::text FROM settlements s \
                 JOIN payouts p USING (purchase_id) WHERE s.purchase_id = $1 GROUP BY s.fee",
                &[&(story.settled_token as i64)],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let fee: u128 = fee.parse().unwrap();
    let paid: u128 = paid.parse().unwrap();
    assert_eq!(fee, TOKEN_PRICE * u128::from(FEE_BPS) / 10_000);
    assert_eq!(fee + paid, TOKEN_PRICE);
    let refund: String = client
        .query_one(
            "SELECT amount::text FROM refunds WHERE purchase_id = $1",
            &[&(story.refunded as i64)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(refund, PRICE.to_string());

    // Balances: what the contract owes each account equals its own books.
    let rows = client
        .query(
            "SELECT account, asset, (credited - withdrawn)::text FROM balances",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 6, "{} balance rows", rows.len());
    let mut owed_rows = Vec::new();
    for row in &rows {
        let account =
            chain::AccountId::from(<[u8; 32]>::try_from(row.get::<_, Vec<u8>>(0)).unwrap());
        let asset: Vec<u8> = row.get(1);
        let asset = if asset.is_empty() {
            chain::market_types::Asset::Native
        } else {
            chain::market_types::Asset::Psp22(chain::AccountId::from(
                <[u8; 32]>::try_from(asset).unwrap(),
            ))
        };
        let owed: u128 = row.get::<_, String>(2).parse().unwrap();
        // The contract's own books agree.
        let on_chain: u128 = {
            let mut guard = chain.lock().unwrap();
            m.market
                .query(guard.as_mut(), &account, "credit_of", &(account, asset))
                .unwrap()
        };
        assert_eq!(owed, on_chain, "owed to {account:?} in {asset:?}");
        owed_rows.push((account, asset, owed));
    }
    // The owner withdrew its sales, then delisted: the released bond, less the dispute's
    // penalty, is what it is owed.
    assert!(owed_rows.iter().any(|(a, asset, owed)| *a == story.owner
        && *asset == chain::market_types::Asset::Native
        && *owed == BOND - PENALTY));
    // The constructor and the admin's two setters each announced the settings.
    let configs: i64 = client
        .query_one(
            "SELECT count(*) FROM raw_events WHERE name = 'ConfigChanged'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(configs, 3);
    let withdrawals: i64 = client
        .query_one("SELECT count(*) FROM withdrawals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(withdrawals, 2);

    // Token balances mirror the token's own.
    let buyer_tokens: String = client
        .query_one(
            "SELECT balance::text FROM token_balances WHERE token = $1 AND account = $2",
            &[&hex(m.token.address.as_ref()), &hex(story.buyer.as_ref())],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(buyer_tokens, (10 * TOKEN_PRICE - TOKEN_PRICE).to_string());

    // Every mirrored token balance equals the token's own.
    let rows = client
        .query("SELECT account, balance::text FROM token_balances", &[])
        .await
        .unwrap();
    assert!(rows.len() >= 4, "{} token balance rows", rows.len());
    for row in rows {
        let account =
            chain::AccountId::from(<[u8; 32]>::try_from(row.get::<_, Vec<u8>>(0)).unwrap());
        let mirrored: u128 = row.get::<_, String>(1).parse().unwrap();
        let mut guard = chain.lock().unwrap();
        let on_chain: u128 = m
            .token
            .query(guard.as_mut(), &account, "PSP22::balance_of", &account)
            .unwrap();
        assert_eq!(mirrored, on_chain, "token balance of {account:?}");
    }

    // Config: the admin moved, the code was "upgraded", not paused.
    let row = client
        .query_one(
            "SELECT admin, paused, code_hash IS NOT NULL, config->>'fee_bps' FROM market_config",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(0), hex(story.new_admin.as_ref()));
    assert!(!row.get::<_, bool>(1));
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, String>(3), FEE_BPS.to_string());

    // Every account in every payload sits under a key of PAYLOAD_ACCOUNT_KEYS, with
    // PAYLOAD_SS58_PREFIX, and nothing else does: what a reader re-encoding them for
    // another network relies on.
    fn strings<'a>(value: &'a serde_json::Value, key: &str, out: &mut Vec<(String, &'a str)>) {
        match value {
            serde_json::Value::String(text) => out.push((key.to_owned(), text)),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, key, out)),
            serde_json::Value::Object(fields) => {
                fields.iter().for_each(|(k, v)| strings(v, k, out))
            }
            _ => {}
        }
    }
    let payloads: Vec<serde_json::Value> =
        first_column(&client, "SELECT payload FROM raw_events").await;
    let mut accounts = 0;
    for payload in &payloads {
        let mut found = Vec::new();
        strings(payload, "", &mut found);
        for (key, text) in found {
            use sp_core::crypto::{AccountId32, Ss58Codec};
            let parsed = AccountId32::from_ss58check_with_version(text);
            let listed = indexer::decode::PAYLOAD_ACCOUNT_KEYS.contains(&key.as_str());
            assert_eq!(parsed.is_ok(), listed, "{key}: {text} in {payload}");
            if let Ok((_, format)) = parsed {
                assert_eq!(u16::from(format), indexer::decode::PAYLOAD_SS58_PREFIX);
                accounts += 1;
            }
        }
    }
    assert!(accounts > payloads.len(), "{accounts} accounts");
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_blocks_again_changes_nothing_and_rebuild_matches_the_live_run() {
    let (m, _, blocks) = every_event_blocks().await;
    let (database, mut client) = fresh("dm_idx_replay").await;
    let watched = m.watched();
    for batch in blocks.chunks(3) {
        apply_blocks(&mut client, &watched, batch).await.unwrap();
    }
    let live = full_digest(&client).await;
    // Every batch again, and overlapping ranges: nothing changes.
    for batch in blocks.chunks(3).chain(blocks.chunks(7)) {
        let applied = apply_blocks(&mut client, &watched, batch).await.unwrap();
        assert_eq!(applied.blocks, 0);
    }
    assert_eq!(full_digest(&client).await, live);

    // The rebuild replays the raw log in other batches and ends in the same rows.
    let replayed = indexer::rebuild(&mut client).await.unwrap();
    let raw: i64 = client
        .query_one("SELECT count(*) FROM raw_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(replayed as i64, raw);
    let emitted: usize = blocks.iter().map(|b| b.events.len()).sum();
    assert_eq!(raw as usize, emitted);
    assert_eq!(full_digest(&client).await, live);
    // ... and the same as indexing everything in one batch.
    let (other, mut other_client) = fresh("dm_idx_onebatch").await;
    apply_blocks(&mut other_client, &watched, &blocks)
        .await
        .unwrap();
    assert_eq!(full_digest(&other_client).await, live);
    drop((client, other_client));
    database.drop_now().await.unwrap();
    other.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_ends_at_the_block_that_reaches_its_event_cap() {
    let (m, source, blocks) = every_event_blocks().await;
    let head = blocks.last().unwrap().header.number;
    let first = blocks[0].header.number;

    // Each cap: the batch is the shortest run of blocks from the first whose events
    // reach it, or every block when none does.
    for cap in [1, 2, 5, 17, usize::MAX] {
        let batch = source.fetch_batch(first..=head, cap).await.unwrap();
        let (mut expected, mut events) = (0, 0);
        while expected < blocks.len() && events < cap {
            events += blocks[expected].events.len();
            expected += 1;
        }
        assert_eq!(batch[..], blocks[..expected], "cap {cap}");
    }
    // The caps above cut some batches short.
    let short = source.fetch_batch(first..=head, 2).await.unwrap();
    assert!(short.len() < blocks.len());

    // Following with a cap of two events a transaction ends in the same rows as one
    // batch of everything.
    let (database, mut client) = fresh("dm_idx_capped").await;
    let watched = m.watched();
    let options = indexer::Options {
        batch_size: 1_000,
        batch_events: 2,
        stop_at: Some(head),
        ..indexer::Options::default()
    };
    indexer::follow(&mut client, &source, &watched, &options)
        .await
        .unwrap();
    let (other, mut other_client) = fresh("dm_idx_uncapped").await;
    apply_blocks(&mut other_client, &watched, &blocks)
        .await
        .unwrap();
    assert_eq!(full_digest(&client).await, full_digest(&other_client).await);
    drop((client, other_client));
    database.drop_now().await.unwrap();
    other.drop_now().await.unwrap();
}

/// Chain B shares chain A's first blocks, then diverges.
fn diverging_chains() -> (InProcessChain, InProcessChain, Market) {
    let mut a = InProcessChain::new();
    let mut b = InProcessChain::new();
    let ma = deploy(&mut a);
    let mb = deploy(&mut b);
    assert_eq!(
        ma.market.address, mb.market.address,
        "deterministic deployments"
    );
    let owner = chain::Signer::bob();
    for (chain, m, price) in [(&mut a, &ma, 10u128), (&mut b, &mb, 20u128)] {
        call::<_, chain::market_types::Result<u64>>(
            chain,
            &m.market,
            &owner,
            "create_offer",
            &new_offer(
                1,
                price,
                chain::market_types::Asset::Native,
                &[(owner.account_id(), 10_000)],
            ),
            BOND,
        )
        .unwrap();
    }
    let b_head = b.finalized_head().unwrap().number;
    b.advance_to(b_head + 3);
    (a, b, ma)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_or_gap_stops_the_indexer_with_nothing_written_past_it() {
    let (mut a, b, m) = diverging_chains();
    let a_head = a.finalized_head().unwrap();
    let (database, mut client) = fresh("dm_idx_fork").await;
    index_all(shared(a), &database.url, &m.watched(), 2).await;
    let before = full_digest(&client).await;

    let b = shared(b);
    let b_source = BlockSource::shared(Arc::clone(&b));
    let err = indexer::follow(
        &mut client,
        &b_source,
        &m.watched(),
        &indexer::Options {
            stop_at: Some(b_source.finalized_head().await.unwrap().number),
            ..indexer::Options::default()
        },
    )
    .await
    .expect_err("chain B does not extend the index");
    let b_next = b
        .lock()
        .unwrap()
        .header_by_number(a_head.number + 1)
        .unwrap()
        .unwrap();
    match &err {
        IndexerError::Fork {
            cursor,
            block,
            parent,
        } => {
            assert_eq!(*cursor, a_head);
            assert_eq!(block.number, a_head.number + 1);
            assert_eq!(block.hash, b_next.hash);
            assert_eq!(*parent, b_next.parent_hash);
        }
        other => panic!("expected a fork, got {other}"),
    }
    let message = err.to_string();
    for needle in [
        format!("block {} ({})", a_head.number + 1, b_next.hash),
        format!("block {} is {}", a_head.number, a_head.hash),
        format!("nothing was written past block {}", a_head.number),
    ] {
        assert!(message.contains(&needle), "{message} lacks {needle}");
    }
    assert_eq!(err.exit_code(), 3);
    assert_eq!(full_digest(&client).await, before);

    // A gap: a block that is not the cursor's child by number.
    let later = b_source
        .fetch(a_head.number + 2..=a_head.number + 2)
        .await
        .unwrap();
    let err = apply_blocks(&mut client, &m.watched(), &later)
        .await
        .unwrap_err();
    assert!(matches!(err, IndexerError::Gap { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("expected block {}", a_head.number + 1)),
        "{err}"
    );
    assert_eq!(full_digest(&client).await, before);
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_event_bytes_go_to_the_undecodable_table() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let owner = chain::Signer::bob();
    call::<_, chain::market_types::Result<u64>>(
        &mut chain,
        &m.market,
        &owner,
        "create_offer",
        &new_offer(
            1,
            10,
            chain::market_types::Asset::Native,
            &[(owner.account_id(), 10_000)],
        ),
        BOND,
    )
    .unwrap();
    let source = BlockSource::shared(shared(chain));
    let mut blocks = all_blocks(&source).await;
    // Into the last block (the offer's), beside its real event: the same event cut
    // short, an unknown signature, an anonymous event, and a token event of garbage.
    let last = blocks.last_mut().unwrap();
    let real = last.events[0].clone();
    assert!(matches!(
        real.decode_market(),
        Some(Ok(MarketEvent::OfferCreated(_)))
    ));
    let mut next_index = real.event_index + 100;
    let mut forged = |contract, topics: Vec<[u8; 32]>, data: Vec<u8>| {
        next_index += 1;
        ContractEvent {
            event_index: next_index,
            extrinsic_index: real.extrinsic_index,
            contract,
            topics,
            data,
        }
    };
    let cut = forged(
        m.market.address,
        real.topics.clone(),
        real.data[..real.data.len() - 3].to_vec(),
    );
    let unknown = forged(m.market.address, vec![[0xab; 32]], vec![1, 2, 3]);
    let anonymous = forged(m.market.address, vec![], vec![]);
    let token_garbage = forged(m.token.address, real.topics.clone(), vec![0xff; 5]);
    let foreign = forged(chain::AccountId::from([0x77; 32]), vec![[0xab; 32]], vec![]);
    last.events
        .extend([cut, unknown, anonymous, token_garbage, foreign]);

    let (database, mut client) = fresh("dm_idx_undecodable").await;
    let applied = apply_blocks(&mut client, &m.watched(), &blocks)
        .await
        .unwrap();
    assert_eq!(applied.undecodable, 4);
    let rows: Vec<(i32, Vec<u8>, String)> = client
        .query(
            "SELECT event_index, data, reason FROM undecodable_events ORDER BY event_index",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].1, real.data[..real.data.len() - 3].to_vec());
    assert!(rows[0].2.contains("do not decode"), "{}", rows[0].2);
    assert!(
        rows[1]
            .2
            .contains("no marketplace event has the signature topic 0xabab"),
        "{}",
        rows[1].2
    );
    assert!(rows[2].2.contains("without topics"), "{}", rows[2].2);
    assert!(rows[3].2.contains("no PSP22 event"), "{}", rows[3].2);
    // The real event beside them was applied, and the cursor moved on.
    let offers: i64 = client
        .query_one("SELECT count(*) FROM offers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(offers, 1);
    assert_eq!(
        indexer::block_ref(db::cursor(&client, false).await.unwrap().unwrap().block),
        blocks.last().unwrap().reference()
    );
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_with_nul_characters_are_stored_and_do_not_stop_the_index() {
    use chain::market_types::events::{OfferCreated, OfferMetadataUpdated};
    use chain::market_types::{Asset, OfferMetadata, Result as MarketResult};
    use ink::env::Event as _;
    use scale::{Decode, Encode};
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let owner = chain::Signer::bob();
    let offer = new_offer(1, 10, Asset::Native, &[(owner.account_id(), 10_000)]);
    let id =
        call::<_, MarketResult<u64>>(&mut chain, &m.market, &owner, "create_offer", &offer, BOND)
            .unwrap();
    call::<_, MarketResult<()>>(
        &mut chain,
        &m.market,
        &owner,
        "update_metadata",
        &(
            id,
            String::from("file:///blobs/b.dmseal"),
            offer.metadata.clone(),
        ),
        0,
    )
    .unwrap();
    let source = BlockSource::shared(shared(chain));
    let mut blocks = all_blocks(&source).await;
    // This marketplace refuses control characters (`ControlCharacter`), but the index
    // must not depend on it: another build or another contract at the watched address
    // may emit any UTF-8, NUL included, and Postgres text and jsonb take no NUL. The
    // real events, their texts given NULs, as such a contract would emit them.
    let with_nuls = |uri: &mut String, metadata: &mut OfferMetadata, name: &str, title: &str| {
        *uri = format!("file:///blobs/\0{name}.dmseal");
        metadata.title = title.into();
        metadata.description = "\0".into();
        metadata.tags = vec!["a\0b".into()];
        metadata.schema = "date\0steps".into();
    };
    let mut patched = 0;
    for e in blocks.iter_mut().flat_map(|b| b.events.iter_mut()) {
        if e.topics.first() == OfferCreated::SIGNATURE_TOPIC.as_ref() {
            let mut created = OfferCreated::decode(&mut &e.data[..]).unwrap();
            with_nuls(
                &mut created.uri,
                &mut created.metadata,
                "",
                "Steps\0 and more",
            );
            e.data = created.encode();
            patched += 1;
        } else if e.topics.first() == OfferMetadataUpdated::SIGNATURE_TOPIC.as_ref() {
            let mut updated = OfferMetadataUpdated::decode(&mut &e.data[..]).unwrap();
            with_nuls(&mut updated.uri, &mut updated.metadata, "b", "Updated\0");
            e.data = updated.encode();
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let (database, mut client) = fresh("dm_idx_nul").await;
    let watched = m.watched();
    apply_blocks(&mut client, &watched, &blocks).await.unwrap();

    let row = client
        .query_one(
            "SELECT uri, title, description, tags, schema FROM offers WHERE id = $1",
            &[&(id as i64)],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "file:///blobs/\u{FFFD}b.dmseal");
    assert_eq!(row.get::<_, String>(1), "Updated\u{FFFD}");
    assert_eq!(row.get::<_, String>(2), "\u{FFFD}");
    assert_eq!(row.get::<_, Vec<String>>(3), vec!["a\u{FFFD}b".to_string()]);
    assert_eq!(row.get::<_, String>(4), "date\u{FFFD}steps");
    // Both events are in the raw log as decoded (not undecodable), their bytes as emitted.
    let raw: Vec<(String, Vec<u8>)> = client
        .query(
            "SELECT name, data FROM raw_events WHERE name LIKE 'Offer%' ORDER BY block_number, event_index",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<&str> = raw.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["OfferCreated", "OfferMetadataUpdated"]);
    assert!(raw[0].1.windows(7).any(|w| w == b"Steps\0 "));
    let undecodable: i64 = client
        .query_one("SELECT count(*) FROM undecodable_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(undecodable, 0);
    // A rebuild from the raw log ends the same.
    let live = full_digest(&client).await;
    indexer::rebuild(&mut client).await.unwrap();
    assert_eq!(full_digest(&client).await, live);
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_indexed_without_its_mint_stops_with_a_message_that_says_so() {
    let (m, _, blocks) = every_event_blocks().await;
    // From the block after the token's first event (its mint): its holders spend what
    // this index never saw them receive.
    let minted = blocks
        .iter()
        .position(|b| b.events.iter().any(|e| e.contract == m.token.address))
        .unwrap();
    let (database, mut client) = fresh("dm_idx_nomint").await;
    let err = apply_blocks(&mut client, &m.watched(), &blocks[minted + 1..])
        .await
        .unwrap_err();
    assert!(matches!(err, IndexerError::Inconsistent(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("below zero"), "{message}");
    assert!(message.contains("deployment block"), "{message}");
    // Nothing of the batch was written.
    assert!(db::cursor(&client, false).await.unwrap().is_none());
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_indexer_waits_on_the_lock_and_takes_over() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let chain = shared(chain);
    let (database, _client) = fresh("dm_idx_lock").await;
    let watched = m.watched();
    let options = indexer::Options {
        poll: std::time::Duration::from_millis(50),
        standby_poll: std::time::Duration::from_millis(50),
        ..indexer::Options::default()
    };
    // The first takes the lock and follows the head (forever).
    let first = {
        let (url, source, watched, options) = (
            database.url.clone(),
            BlockSource::shared(Arc::clone(&chain)),
            watched.clone(),
            options.clone(),
        );
        tokio::spawn(async move {
            let mut client = db::connect(&url).await.unwrap();
            indexer::follow(&mut client, &source, &watched, &options).await
        })
    };
    let observer = db::connect(&database.url).await.unwrap();
    wait_for(|| async { db::writer_active(&observer).await.unwrap() }).await;
    let head = chain.lock().unwrap().finalized_head().unwrap();
    wait_for(|| async { cursor_at(&observer).await >= head.number }).await;
    // The lock is this database's: another database has no writer.
    let (elsewhere, elsewhere_client) = fresh("dm_idx_lock_other").await;
    assert!(!db::writer_active(&elsewhere_client).await.unwrap());
    drop(elsewhere_client);
    elsewhere.drop_now().await.unwrap();

    // The second waits: it never moves the cursor while the first holds the lock.
    let standby_stops_at = head.number + 2;
    let second = {
        let (url, source, watched, mut options) = (
            database.url.clone(),
            BlockSource::shared(Arc::clone(&chain)),
            watched.clone(),
            options.clone(),
        );
        options.stop_at = Some(standby_stops_at);
        tokio::spawn(async move {
            let mut client = db::connect(&url).await.unwrap();
            indexer::follow(&mut client, &source, &watched, &options).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "the standby must wait, not exit");

    // The first dies (its connection closes with it); the second takes over and indexes
    // the blocks made since.
    first.abort();
    let _ = first.await;
    {
        let mut guard = chain.lock().unwrap();
        let chain_any: &mut dyn Chain = guard.as_mut();
        // Two more blocks for the second to index.
        let owner = chain::Signer::bob();
        for n in 0..2 {
            call::<_, chain::market_types::Result<u64>>(
                chain_any,
                &m.market,
                &owner,
                "create_offer",
                &new_offer(
                    n,
                    10,
                    chain::market_types::Asset::Native,
                    &[(owner.account_id(), 10_000)],
                ),
                BOND,
            )
            .unwrap();
        }
    }
    tokio::time::timeout(std::time::Duration::from_secs(30), second)
        .await
        .expect("the standby took over and reached the new head")
        .unwrap()
        .unwrap();
    assert_eq!(cursor_at(&observer).await, standby_stops_at);
    let offers: i64 = observer
        .query_one("SELECT count(*) FROM offers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(offers, 2);
    drop(observer);
    database.drop_now().await.unwrap();
}

async fn cursor_at(client: &Client) -> u32 {
    db::cursor(client, false)
        .await
        .unwrap()
        .map_or(0, |c| c.block.number)
}

async fn wait_for<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
