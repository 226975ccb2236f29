//! The live event feed (SSE) over real HTTP: purchases and deliveries made on the
//! in-process chain and applied by the real indexer reach a subscribed buyer quickly,
//! other owners' feeds stay quiet, and a reconnect with Last-Event-ID misses nothing.

use crate::common;

use std::time::Duration;

use chain::market_types::{Asset, OfferId, PurchaseId, Result as MarketResult};
use chain::{InProcessChain, Signer};
use common::workload::*;
use common::*;
use serde_json::Value;

/// Reads SSE events from `response` until `count` arrived or `within` passed.
async fn read_events(
    response: &mut reqwest::Response,
    count: usize,
    within: Duration,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while events.len() < count {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(chunk) => chunk.unwrap().expect("the feed stays open"),
            Err(_) => break,
        };
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut kind = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim().into();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim());
                }
            }
            if !data.is_empty() {
                events.push((kind, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_and_deliveries_reach_subscribers_and_resume_after_the_last_id() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let bob = Signer::bob();
    let buyer = Signer::dev("Charlie");
    let offer: OfferId = call::<_, MarketResult<OfferId>>(
        &mut chain,
        &m.market,
        &bob,
        "create_offer",
        &new_offer(1, PRICE, Asset::Native, &[(bob.account_id(), 10_000)]),
        BOND,
    )
    .unwrap();
    let (database, _) = database("dm_web_events").await;
    let mut indexed = Indexed::new(chain, &database.url, m.watched()).await;
    indexed.sync().await;
    let mut config = web_api::Config::new(&database.url);
    // A long poll: only the notification can make the feed fast.
    config.search_poll_ms = 60_000;
    let api = Api::start(config).await;
    let ss58 = |a: &chain::AccountId| web_api::codec::account(a.as_ref(), 42);
    let subscribe = |query: String| {
        let http = api.http.clone();
        let url = format!("{}/v1/events?{query}", api.base);
        async move {
            let response = http.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(response.headers()["content-type"], "text/event-stream");
            response
        }
    };
    let mut buyers_feed = subscribe(format!("buyer={}", ss58(&buyer.account_id()))).await;
    let mut others_feed =
        subscribe(format!("owner={}", ss58(&Signer::dev("Dave").account_id()))).await;
    let mut owners_feed = subscribe(format!("owner={}", ss58(&bob.account_id()))).await;

    let purchase: PurchaseId = indexed.with_chain(|c| {
        call::<_, MarketResult<PurchaseId>>(
            c,
            &m.market,
            &buyer,
            "purchase",
            &(offer, [7u8; 32]),
            PRICE,
        )
        .unwrap()
    });
    indexed.sync().await;
    let started = std::time::Instant::now();
    let events = read_events(&mut buyers_feed, 1, Duration::from_secs(2)).await;
    println!(
        "the purchase reached its buyer's feed in {:?}",
        started.elapsed()
    );
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, created) = &events[0];
    assert_eq!(kind, "PurchaseCreated");
    assert_eq!(created["purchase_id"].as_u64(), Some(purchase));
    assert_eq!(created["offer_id"].as_u64(), Some(offer));
    assert_eq!(created["owner"], ss58(&bob.account_id()));
    assert_eq!(created["payload"]["amount"], PRICE.to_string());

    indexed.with_chain(|c| {
        call::<_, MarketResult<()>>(c, &m.market, &bob, "deliver", &(purchase, [9u8; 80]), 0)
            .unwrap()
    });
    indexed.sync().await;
    let events = read_events(&mut buyers_feed, 1, Duration::from_secs(2)).await;
    assert_eq!(events[0].0, "KeyDelivered");
    assert_eq!(
        events[0].1["payload"]["envelope"],
        format!("0x{}", "09".repeat(80))
    );
    let owners = read_events(&mut owners_feed, 2, Duration::from_secs(2)).await;
    let kinds: Vec<&str> = owners.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["PurchaseCreated", "KeyDelivered"]);
    // Another owner's feed saw nothing.
    assert!(read_events(&mut others_feed, 1, Duration::from_millis(300))
        .await
        .is_empty());

    // Reconnecting after the first event replays the second.
    let response = api
        .http
        .get(format!("{}/v1/events", api.base))
        .header("last-event-id", created["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut resumed = response;
    let events = read_events(&mut resumed, 1, Duration::from_secs(2)).await;
    assert_eq!(events[0].0, "KeyDelivered");

    // On a network with another SS58 prefix the payload's accounts follow it too (the
    // indexer stores them with prefix 42).
    let mut config = web_api::Config::new(&database.url);
    config.ss58_prefix = 0;
    let polkadot = Api::start(config).await;
    let mut replayed = polkadot
        .http
        .get(format!("{}/v1/events?after=0-0", polkadot.base))
        .send()
        .await
        .unwrap();
    let events = read_events(&mut replayed, 1, Duration::from_secs(2)).await;
    let created = &events[0].1;
    let buyer_dot = web_api::codec::account(buyer.account_id().as_ref(), 0);
    assert_eq!(created["buyer"], buyer_dot);
    assert_eq!(created["payload"]["buyer"], buyer_dot);
    drop(replayed);
    polkadot.stop().await;

    // Bad filters and ids are a 400.
    api.fails("/v1/events?buyer=nobody", 400).await;
    api.fails("/v1/events?after=12", 400).await;
    // Shutting down ends open feeds rather than waiting on them.
    tokio::time::timeout(Duration::from_secs(5), api.stop())
        .await
        .expect("the server stops with feeds open");
    drop((buyers_feed, others_feed, owners_feed, resumed));
    drop(indexed);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_past_the_limit_are_refused_until_one_closes() {
    let (database, _) = database("dm_web_feeds").await;
    let mut config = web_api::Config::new(&database.url);
    config.max_event_streams = 2;
    let api = Api::start(config).await;
    let open = || api.http.get(format!("{}/v1/events", api.base)).send();
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 200);
    let refused = open().await.unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("too many live event feeds"),
        "{body}"
    );
    // A client that goes gives its place back.
    drop(first);
    eventually(Duration::from_secs(5), || async {
        let again = open().await.unwrap();
        again.status().as_u16() == 200
    })
    .await;
    drop(second);
    api.stop().await;
    database.drop_now().await.unwrap();
}
