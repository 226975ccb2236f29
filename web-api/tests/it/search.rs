//! Ranked search: offers written by the real indexer (from the real contracts on the
//! in-process runtime) are found through the API's tantivy index, with filters inside
//! the search, within a second of their batch committing; delisting removes them; a
//! restart resumes from the change_seq committed with the index.

use crate::common;

use std::time::Duration;

use chain::market_types::{Asset, OfferId, Result as MarketResult};
use chain::{InProcessChain, Signer};
use common::workload::*;
use common::*;

fn offer(
    n: u64,
    price: u128,
    asset: Asset,
    owner: &Signer,
    title: &str,
    description: &str,
    tags: &[&str],
) -> chain::market_types::NewOffer {
    let mut offer = new_offer(n, price, asset, &[(owner.account_id(), 10_000)]);
    offer.metadata.title = title.into();
    offer.metadata.description = description.into();
    offer.metadata.tags = tags.iter().map(|t| t.to_string()).collect();
    offer
}

fn create(
    chain: &mut dyn chain::Chain,
    m: &Market,
    owner: &Signer,
    offer: &chain::market_types::NewOffer,
) -> OfferId {
    call::<_, MarketResult<OfferId>>(chain, &m.market, owner, "create_offer", offer, BOND).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_ranked_filtered_found_within_a_second_and_gone_when_delisted() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let bob = Signer::bob();
    let dave = Signer::dev("Dave");
    let token = Asset::Psp22(m.token.address);
    let heart = create(
        &mut chain,
        &m,
        &bob,
        &offer(
            1,
            100,
            Asset::Native,
            &bob,
            "Heart rate during sleep",
            "Per-minute readings from a chest strap.",
            &["health", "sleep"],
        ),
    );
    let groceries = create(
        &mut chain,
        &m,
        &bob,
        &offer(
            2,
            300,
            Asset::Native,
            &bob,
            "Grocery receipts",
            "Two years of receipts, some heart healthy food.",
            &["shopping"],
        ),
    );
    let diary = create(
        &mut chain,
        &m,
        &dave,
        &offer(
            3,
            200,
            token,
            &dave,
            "Sleep diary",
            "Bedtimes and wake times, by hand.",
            &["sleep"],
        ),
    );
    let (database, _) = database("dm_web_search").await;
    let mut indexed = Indexed::new(chain, &database.url, m.watched()).await;
    indexed.sync().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = web_api::Config::new(&database.url);
    config.search_index_dir = Some(dir.path().join("search"));
    // A long poll: only the notification can make the next step fast.
    config.search_poll_ms = 60_000;
    let api = Api::start(config.clone()).await;

    // Title weighs over description: both mention "heart", the title match ranks first.
    let page = api.ok("/v1/offers?q=heart").await;
    assert_eq!(ids(&page), [heart, groceries]);
    let scores: Vec<f64> = page["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["score"].as_f64().unwrap())
        .collect();
    assert!(scores[0] > scores[1], "{scores:?}");
    // Stemming: "sleeping" finds "sleep"; filters apply inside the search.
    assert_eq!(ids(&api.ok("/v1/offers?q=sleeping").await).len(), 2);
    assert_eq!(
        ids(&api.ok("/v1/offers?q=sleep&asset=native").await),
        [heart]
    );
    let token_ss58 = web_api::codec::account(m.token.address.as_ref(), 42);
    assert_eq!(
        ids(&api
            .ok(&format!("/v1/offers?q=sleep&asset={token_ss58}"))
            .await),
        [diary]
    );
    let dave_ss58 = web_api::codec::account(dave.account_id().as_ref(), 42);
    assert_eq!(
        ids(&api
            .ok(&format!("/v1/offers?q=sleep&owner={dave_ss58}"))
            .await),
        [diary]
    );
    assert_eq!(ids(&api.ok("/v1/offers?q=sleep&tag=health").await), [heart]);
    assert_eq!(
        ids(&api
            .ok("/v1/offers?q=sleep heart&sort=price_asc&min_price=150&max_price=300")
            .await),
        [diary, groceries]
    );
    // Sorted by price inside the search; a page of one with its cursor.
    let page = api.ok("/v1/offers?q=sleep heart&sort=price_asc").await;
    assert_eq!(ids(&page), [heart, diary, groceries]);
    let page = api
        .ok("/v1/offers?q=sleep heart&sort=price_desc&limit=1")
        .await;
    assert_eq!(ids(&page), [groceries]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let page = api
        .ok(&format!(
            "/v1/offers?q=sleep heart&sort=price_desc&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&page), [diary]);
    assert_eq!(
        ids(&api.ok("/v1/offers?q=sleep heart&sort=newest").await),
        [diary, groceries, heart]
    );

    // A new offer through the indexer's batch transaction: searchable within a second.
    let new = indexed.with_chain(|c| {
        create(
            c,
            &m,
            &bob,
            &offer(
                4,
                50,
                Asset::Native,
                &bob,
                "Heart rate variability",
                "Morning HRV.",
                &["health"],
            ),
        )
    });
    indexed.sync().await;
    let took = eventually(Duration::from_secs(1), || async {
        ids(&api.ok("/v1/offers?q=variability").await) == [new]
    })
    .await;
    println!("searchable {took:?} after the batch committed");

    // Delisting removes it from results (the default status is active) within a second:
    // once the index has the delisted row, only a search for delisted offers finds it.
    indexed.with_chain(|c| {
        call::<_, MarketResult<()>>(c, &m.market, &bob, "delist_offer", &heart, 0).unwrap()
    });
    indexed.sync().await;
    eventually(Duration::from_secs(1), || async {
        ids(&api.ok("/v1/offers?q=heart&status=delisted").await) == [heart]
    })
    .await;
    assert!(!ids(&api.ok("/v1/offers?q=heart").await).contains(&heart));
    let status = api.ok("/v1/status").await;
    assert_eq!(status["search"]["up_to_date"], true, "{status}");
    assert_eq!(status["search"]["lag"], 0);
    let applied = status["search"]["applied_change_seq"].as_i64().unwrap();
    api.stop().await;

    // While the API is down, another offer; the index on disk remembers what it applied.
    let late = indexed.with_chain(|c| {
        create(
            c,
            &m,
            &dave,
            &offer(
                5,
                70,
                Asset::Native,
                &dave,
                "Commute heart rate",
                "Cycling to work.",
                &[],
            ),
        )
    });
    indexed.sync().await;
    // (Opening waits for the old server's writer to let go of the directory's lock.)
    let reopened = web_api::search::SearchIndex::open(config.search_index_dir.as_deref()).unwrap();
    assert_eq!(
        reopened.applied(),
        applied,
        "the commit payload holds the last change_seq"
    );
    drop(reopened);
    let api = Api::start(config.clone()).await;
    let mut found = ids(&api.ok("/v1/offers?q=heart").await);
    found.sort();
    assert_eq!(found, [groceries, new, late]);
    api.stop().await;
    drop(indexed);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_stopped_between_commits_resumes_after_the_last_commit() {
    let (database, client) = database("dm_web_resume").await;
    insert_offers(&client, 250, &[1; 32], &[2; 32], &[3; 32]).await;
    let pool = web_api::pool(&database.url, 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    let index = web_api::search::SearchIndex::open(Some(&path)).unwrap();
    // One commit of 100 rows, then the process "stops".
    assert_eq!(index.catch_up_pages(&pool, 100, 1).await.unwrap(), 100);
    let hundredth: i64 = client
        .query_one(
            "SELECT change_seq FROM offers ORDER BY change_seq OFFSET 99 LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(index.applied(), hundredth);
    assert_eq!(index.len(), 100);
    drop(index);
    // Meanwhile an offer already in the index changes.
    client
        .execute(
            "UPDATE offers SET title = 'Renamed listing', \
             change_seq = nextval('offer_change_seq') WHERE id = 5",
            &[],
        )
        .await
        .unwrap();
    let index = web_api::search::SearchIndex::open(Some(&path)).unwrap();
    assert_eq!(index.applied(), hundredth, "resumes after the last commit");
    assert_eq!(index.catch_up(&pool).await.unwrap(), 151);
    assert_eq!(index.len(), 250, "every offer once");
    let hits = index
        .search(
            "renamed",
            &web_api::search::Filters::default(),
            web_api::search::SearchOrder::Relevance,
            web_api::search::PageStart::offset(0),
            10,
        )
        .unwrap()
        .hits;
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [5]);
    drop((index, pool, client));
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_catch_up_ends_merged_into_one_segment() {
    let (database, client) = database("dm_web_bulk").await;
    insert_offers(&client, 250, &[1; 32], &[2; 32], &[3; 32]).await;
    let pool = web_api::pool(&database.url, 2).unwrap();
    let index = web_api::search::SearchIndex::open(None).unwrap();
    // 25 pages behind: a bulk load, a commit (a segment) a page, then one merge.
    assert_eq!(
        index.catch_up_pages(&pool, 10, usize::MAX).await.unwrap(),
        250
    );
    let started = std::time::Instant::now();
    while index.segments() > 1 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "still {} segments",
            index.segments()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(index.segments(), 1);
    assert_eq!(index.len(), 250, "every offer once");
    let everything = web_api::search::Filters::default();
    let hits = index
        .search(
            "listing",
            &everything,
            web_api::search::SearchOrder::Newest,
            web_api::search::PageStart::offset(0),
            300,
        )
        .unwrap()
        .hits;
    assert_eq!(hits.len(), 250);
    assert_eq!(hits[0].id, 250);

    // Merging goes on as usual afterwards: small catch-ups commit a segment each, and
    // tantivy's merge policy, back in force, merges them along the way.
    for id in 1..=16i64 {
        client
            .execute(
                "UPDATE offers SET title = 'Renamed listing', \
                 change_seq = nextval('offer_change_seq') WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        assert_eq!(index.catch_up(&pool).await.unwrap(), 1);
    }
    let started = std::time::Instant::now();
    while index.segments() > 8 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "16 small commits left {} segments: nothing merges them",
            index.segments()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Merged segments are seen at the next commit's reload.
        client
            .execute(
                "UPDATE offers SET change_seq = nextval('offer_change_seq') WHERE id = 17",
                &[],
            )
            .await
            .unwrap();
        index.catch_up(&pool).await.unwrap();
    }
    assert_eq!(index.len(), 250);
    drop((index, pool, client));
    database.drop_now().await.unwrap();
}
