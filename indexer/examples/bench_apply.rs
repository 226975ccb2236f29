//! Benchmark: events per second that the indexer applies into Postgres, beside a raw
//! COPY of the same raw-event rows in the same run (the baseline), on a database of its
//! own. Run it with `scripts/bench-indexer`.
//!
//! The events are SCALE-encoded with the marketplace's own event types (what the contract
//! emits, byte for byte), in the life cycle of a sale: OfferCreated, PurchaseCreated,
//! KeyDelivered, PurchaseSettled, a quarter each, 100 per block in chained synthetic
//! blocks. Nothing comes from a chain here (that is the node catch-up figure), so this
//! measures decoding, folding and writing alone.

use std::time::Instant;

use chain::market_types::events::{KeyDelivered, OfferCreated, PurchaseCreated, PurchaseSettled};
use chain::market_types::{Asset, OfferMetadata, Payee, FORMAT_VERSION, HEADER_LEN, HEADER_MAGIC};
use chain::{AccountId, BlockHash, ContractEvent, Header};
use indexer::db::{self, TempDatabase};
use indexer::{apply_blocks, Block, Watched};
use scale::Encode;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;

const EVENTS_PER_BLOCK: usize = 100;

fn event<E: ink::env::Event + Encode>(
    index: u32,
    contract: AccountId,
    e: &E,
    id: u64,
) -> ContractEvent {
    let mut id_topic = [0u8; 32];
    id_topic[..8].copy_from_slice(&id.to_le_bytes());
    ContractEvent {
        event_index: index,
        extrinsic_index: Some(index / 4),
        contract,
        topics: vec![E::SIGNATURE_TOPIC.expect("not anonymous"), id_topic],
        data: e.encode(),
    }
}

fn account(n: u64) -> AccountId {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[31] = 1;
    AccountId::from(bytes)
}

fn hash(n: u32) -> BlockHash {
    BlockHash(sp_core::blake2_256(&n.to_le_bytes()))
}

/// `count` events of sales, in blocks from 1.
fn blocks(market: AccountId, count: usize) -> Vec<Block> {
    let mut header = [0u8; HEADER_LEN];
    header[..6].copy_from_slice(&HEADER_MAGIC);
    header[6] = FORMAT_VERSION;
    header[7..11].copy_from_slice(&(64u32 * 1024).to_be_bytes());
    let mut all = Vec::with_capacity(count);
    let words = [
        "health",
        "steps",
        "sleep",
        "heart",
        "location",
        "purchases",
        "mood",
    ];
    for n in 0..count as u64 {
        let sale = n / 4 + 1;
        let owner = account(sale % 1_000);
        let buyer = account(1_000 + sale % 5_000);
        let index = (n as usize % EVENTS_PER_BLOCK) as u32;
        all.push(match n % 4 {
            0 => event(
                index,
                market,
                &OfferCreated {
                    offer_id: sale,
                    owner,
                    content_root: [sale as u8; 32],
                    header,
                    key_commitment: [7; 32],
                    price: 1_000_000 + u128::from(sale),
                    asset: Asset::Native,
                    uri: format!("s3://datamarket/blobs/{sale}.dmseal"),
                    metadata: OfferMetadata {
                        title: format!("{} data, batch {sale}", words[sale as usize % words.len()]),
                        description: "Daily readings from a phone, one row per day.".into(),
                        tags: vec![
                            words[sale as usize % 7].into(),
                            words[(sale as usize + 3) % 7].into(),
                        ],
                        schema: "date,value".into(),
                        size: 10_000 + sale,
                    },
                    payees: vec![Payee {
                        account: owner,
                        bps: 10_000,
                    }],
                    bond: 1_000,
                    max_purchases: None,
                },
                sale,
            ),
            1 => event(
                index,
                market,
                &PurchaseCreated {
                    purchase_id: sale,
                    offer_id: sale,
                    buyer,
                    buyer_pk: [9; 32],
                    amount: 1_000_000 + u128::from(sale),
                    asset: Asset::Native,
                    fee_bps: 250,
                    delivery_deadline: 1_000_000,
                },
                sale,
            ),
            2 => event(
                index,
                market,
                &KeyDelivered {
                    purchase_id: sale,
                    offer_id: sale,
                    envelope: [3; 80],
                    dispute_deadline: 1_000_000,
                },
                sale,
            ),
            _ => {
                let amount = 1_000_000 + u128::from(sale);
                let fee = amount * 250 / 10_000;
                event(
                    index,
                    market,
                    &PurchaseSettled {
                        purchase_id: sale,
                        offer_id: sale,
                        asset: Asset::Native,
                        fee,
                        payouts: vec![(owner, amount - fee)],
                    },
                    sale,
                )
            }
        });
    }
    all.chunks(EVENTS_PER_BLOCK)
        .enumerate()
        .map(|(i, events)| {
            let number = i as u32 + 1;
            Block {
                header: Header {
                    number,
                    hash: hash(number),
                    parent_hash: hash(number - 1),
                    state_root: BlockHash::default(),
                    extrinsics_root: BlockHash::default(),
                },
                events: events.to_vec(),
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG=indexer=debug shows where each batch's time goes.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let count: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let batch: usize = std::env::var("BENCH_BATCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let market = account(u64::MAX);
    let watched = Watched {
        marketplace: market,
        tokens: Vec::new(),
    };
    let blocks = blocks(market, count);
    let database = TempDatabase::create("dm_bench_apply").await?;
    let mut client = db::connect(&database.url).await?;
    db::migrate(&mut client).await?;

    // The baseline: the same raw-event rows, COPY'd into a copy of raw_events.
    client
        .batch_execute("CREATE TABLE raw_copy (LIKE raw_events INCLUDING ALL)")
        .await?;
    let rows: Vec<_> = blocks
        .iter()
        .flat_map(|b| b.events.iter().map(move |e| (b, e)))
        .map(|(b, e)| {
            let decoded = match watched.classify(e) {
                indexer::Classified::Decoded(d) => d,
                other => panic!("{other:?}"),
            };
            (
                i64::from(b.header.number),
                e.event_index as i32,
                b.header.hash.0.to_vec(),
                e.extrinsic_index.map(|i| i as i32),
                AsRef::<[u8]>::as_ref(&e.contract).to_vec(),
                decoded.name().to_owned(),
                e.topics.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
                e.data.clone(),
                indexer::decode::payload(&decoded),
            )
        })
        .collect();
    let started = Instant::now();
    let txn = client.transaction().await?;
    let sink = txn
        .copy_in(&format!(
            "COPY raw_copy ({}) FROM STDIN BINARY",
            indexer::RAW_COLUMNS
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, indexer::RAW_TYPES);
    futures::pin_mut!(writer);
    for r in &rows {
        let row: [&(dyn ToSql + Sync); 9] = [&r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6, &r.7, &r.8];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    txn.commit().await?;
    let copy = started.elapsed();

    // The indexer: decode, fold, write raw and derived rows, cursor, in batches.
    let started = Instant::now();
    for chunk in blocks.chunks(batch) {
        apply_blocks(&mut client, &watched, chunk).await?;
    }
    let applied = started.elapsed();
    let offers: i64 = client
        .query_one("SELECT count(*) FROM offers WHERE revenue > 0", &[])
        .await?
        .get(0);
    assert_eq!(
        offers as usize,
        count / 4,
        "every sale settled in the index"
    );

    let started = Instant::now();
    let replayed = indexer::rebuild(&mut client).await?;
    let rebuilt = started.elapsed();
    assert_eq!(replayed as usize, count);

    let rate = |d: std::time::Duration| count as f64 / d.as_secs_f64();
    println!(
        "indexer apply benchmark: {count} events, {} per block, {batch} blocks per transaction",
        EVENTS_PER_BLOCK
    );
    println!("| what | time | events/s | vs COPY |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| raw COPY of the same rows (baseline) | {:.2} s | {:.0} | 1.00x |",
        copy.as_secs_f64(),
        rate(copy)
    );
    println!(
        "| indexer apply_blocks (raw + derived + cursor) | {:.2} s | {:.0} | {:.2}x |",
        applied.as_secs_f64(),
        rate(applied),
        copy.as_secs_f64() / applied.as_secs_f64()
    );
    println!(
        "| indexer rebuild from raw_events | {:.2} s | {:.0} | {:.2}x |",
        rebuilt.as_secs_f64(),
        rate(rebuilt),
        copy.as_secs_f64() / rebuilt.as_secs_f64()
    );
    let ratio = copy.as_secs_f64() / applied.as_secs_f64();
    println!(
        "targets: apply >= 0.5x COPY: {} ({ratio:.2}x); >= 20 000 events/s: {} ({:.0})",
        if ratio >= 0.5 { "met" } else { "MISSED" },
        if rate(applied) >= 20_000.0 {
            "met"
        } else {
            "MISSED"
        },
        rate(applied)
    );
    drop(client);
    database.drop_now().await?;
    Ok(())
}
