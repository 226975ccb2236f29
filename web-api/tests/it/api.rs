//! Every route against a real Postgres (a database of its own per test) over real HTTP:
//! the marketplace's whole story indexed by the real indexer, bulk offers inserted in the
//! indexer's tables for paging, and every error case.

use crate::common;

use chain::InProcessChain;
use common::workload::*;
use common::*;
use serde_json::Value;

fn ss58(account: &chain::AccountId) -> String {
    web_api::codec::account(account.as_ref(), 42)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_over_the_indexed_marketplace() {
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let story = every_event(&mut chain, &m);
    let (database, client) = database("dm_web_routes").await;
    let mut indexed = Indexed::new(chain, &database.url, m.watched()).await;
    indexed.sync().await;
    let head = db_head(&client).await;
    let api = Api::on(&database.url).await;
    let token = ss58(&m.token.address);
    let (native, union) = (story.native_offer, story.union_offer);

    // Listing: active offers by default; the native offer was delisted.
    let page = api.ok("/v1/offers").await;
    assert_eq!(ids(&page), [union]);
    assert_eq!(page["next_cursor"], Value::Null);
    let offer = &page["offers"][0];
    assert_eq!(offer["asset"], token);
    assert_eq!(offer["price"], TOKEN_PRICE.to_string());
    assert_eq!(offer["owner"], ss58(&story.union[0]));
    assert!(offer["content_root"]
        .as_str()
        .unwrap()
        .starts_with("0x02020202"));
    assert_eq!(offer["header"].as_str().unwrap().len(), 2 + 2 * 26);
    assert_eq!(ids(&api.ok("/v1/offers?status=any").await), [union, native]);
    assert_eq!(ids(&api.ok("/v1/offers?status=delisted").await), [native]);
    assert_eq!(
        ids(&api.ok("/v1/offers?status=any&asset=native").await),
        [native]
    );
    assert_eq!(
        ids(&api
            .ok(&format!("/v1/offers?status=any&asset={token}"))
            .await),
        [union]
    );
    assert_eq!(
        ids(&api.ok("/v1/offers?status=any&tag=fitness&tag=health").await),
        [native]
    );
    assert_eq!(
        ids(&api
            .ok(&format!("/v1/offers?status=any&max_price={TOKEN_PRICE}"))
            .await),
        [union]
    );
    assert_eq!(
        ids(&api.ok("/v1/offers?status=any&sort=price_desc").await),
        [native, union]
    );

    // One offer: payees, purchase counts, revenue.
    let detail = api.ok(&format!("/v1/offers/{native}")).await;
    assert_eq!(detail["status"], "delisted");
    assert_eq!(detail["revenue"], PRICE.to_string());
    // (What the story did is read from the index, the truth the API must show: the
    // indexer's shared workload grows as the contract does.)
    let native_key = native as i64;
    let purchases_of_native = sql_ids(
        &client,
        "SELECT id FROM purchases WHERE offer_id = $1 ORDER BY id DESC",
        native_key,
    )
    .await;
    assert_eq!(detail["purchases"], purchases_of_native.len());
    assert_eq!(detail["bond_released"], true);
    assert_eq!(detail["title"], "Daily step counts, 2025, cleaned");
    assert_eq!(detail["payees"][0]["account"], ss58(&story.owner));
    assert_eq!(detail["payees"][0]["bps"], 10_000);
    for row in client
        .query(
            "SELECT s, (SELECT count(*) FROM purchases WHERE offer_id = $1 AND status = s) \
             FROM unnest(ARRAY['paid', 'delivered', 'settled', 'refunded', 'disputed', \
             'resolved']) s",
            &[&native_key],
        )
        .await
        .unwrap()
    {
        let (state, n): (String, i64) = (row.get(0), row.get(1));
        assert_eq!(detail["purchase_counts"][&state], n, "{state}");
    }
    assert_eq!(detail["purchase_counts"]["settled"], 1);
    assert_eq!(detail["purchase_counts"]["refunded"], 1);
    let detail = api.ok(&format!("/v1/offers/{union}")).await;
    let bps: Vec<u64> = detail["payees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bps"].as_u64().unwrap())
        .collect();
    assert_eq!(bps, [5_000, 3_000, 2_000]);

    // An offer's purchases, newest first, filtered by status.
    let purchase_ids = |page: &Value| -> Vec<u64> {
        page["purchases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        purchase_ids(&api.ok(&format!("/v1/offers/{native}/purchases")).await),
        purchases_of_native
    );
    assert_eq!(
        purchase_ids(
            &api.ok(&format!("/v1/offers/{native}/purchases?status=refunded"))
                .await
        ),
        [story.refunded]
    );
    assert_eq!(
        purchase_ids(&api.ok(&format!("/v1/offers/{union}/purchases")).await),
        [story.settled_token]
    );

    // One purchase: state, deadlines, envelope once delivered, each step's block, final.
    let p = api
        .ok(&format!("/v1/purchases/{}", story.settled_native))
        .await;
    assert_eq!(p["status"], "settled");
    assert_eq!(p["buyer"], ss58(&story.buyer));
    assert_eq!(p["amount"], PRICE.to_string());
    assert_eq!(p["asset"], "native");
    assert_eq!(p["fee_bps"], FEE_BPS);
    assert_eq!(p["buyer_pk"], format!("0x{}", "07".repeat(32)));
    assert_eq!(p["envelope"], format!("0x{}", "09".repeat(80)));
    let delivered = p["steps"]["delivered"]["block"].as_u64().unwrap();
    assert_eq!(
        p["dispute_deadline"].as_u64().unwrap(),
        delivered + u64::from(DISPUTE_WINDOW)
    );
    for step in ["created", "delivered", "settled"] {
        let block = p["steps"][step]["block"].as_u64().unwrap();
        assert!(block <= head, "{step}");
        assert_eq!(p["steps"][step]["finalized"], true, "{step}");
    }
    assert_eq!(p["steps"]["refunded"], Value::Null);
    let p = api.ok(&format!("/v1/purchases/{}", story.refunded)).await;
    assert_eq!(p["status"], "refunded");
    assert_eq!(p["envelope"], Value::Null);
    assert_eq!(p["steps"]["delivered"], Value::Null);
    assert_eq!(p["steps"]["refunded"]["finalized"], true);
    let p = api
        .ok(&format!("/v1/purchases/{}", story.settled_token))
        .await;
    assert_eq!(p["asset"], token);
    assert_eq!(p["dispute"], Value::Null);

    // A disputed purchase: the buyer opened its garbage envelope's dispute and won.
    let p = api.ok(&format!("/v1/purchases/{}", story.disputed)).await;
    assert_eq!(p["status"], "resolved");
    let dispute = &p["dispute"];
    assert_eq!(dispute["kind"], "envelope", "{p}");
    assert_eq!(dispute["chunk_index"], Value::Null);
    assert_eq!(dispute["buyer_won"], true);
    assert_eq!(dispute["refund"], PRICE.to_string());
    assert_eq!(dispute["penalty"], PENALTY.to_string());
    assert_eq!(dispute["bond"], DISPUTE_BOND.to_string());
    assert_eq!(dispute["asset"], "native");
    // A bad envelope reveals no key.
    assert_eq!(dispute["revealed_key"], Value::Null);
    assert_eq!(dispute["block"], p["steps"]["disputed"]["block"]);
    assert!(dispute["block"].as_u64().unwrap() <= head);
    assert_eq!(dispute["finalized"], true);
    // Lists carry the same object.
    let listed = api
        .ok(&format!("/v1/offers/{native}/purchases?status=resolved"))
        .await;
    assert_eq!(listed["purchases"][0]["id"], story.disputed);
    assert_eq!(&listed["purchases"][0]["dispute"], dispute);

    // Accounts: offers owned, purchases made (paged), balances.
    assert_eq!(
        ids(&api
            .ok(&format!("/v1/accounts/{}/offers", ss58(&story.owner)))
            .await),
        [native]
    );
    assert_eq!(
        ids(&api
            .ok(&format!(
                "/v1/accounts/{}/offers?status=active",
                ss58(&story.owner)
            ))
            .await),
        Vec::<u64>::new()
    );
    let buyer = ss58(&story.buyer);
    let mut bought = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = api
            .ok(&format!(
                "/v1/accounts/{buyer}/purchases?limit=2{}",
                cursor
                    .as_ref()
                    .map(|c| format!("&cursor={c}"))
                    .unwrap_or_default()
            ))
            .await;
        let ids = purchase_ids(&page);
        assert!(ids.len() <= 2);
        bought.extend(ids);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected = sql_ids(
        &client,
        "SELECT id FROM purchases WHERE buyer = $1 ORDER BY id DESC",
        AsRef::<[u8]>::as_ref(&story.buyer).to_vec(),
    )
    .await;
    assert!(expected.len() >= 3);
    assert_eq!(bought, expected);

    // The owner withdrew its native revenue, then was credited again (its bond on
    // delisting); the union's second payee has not withdrawn.
    let owner = api
        .ok(&format!("/v1/accounts/{}/balances", ss58(&story.owner)))
        .await;
    let native_balance = owner["marketplace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "native")
        .unwrap();
    let available: String = client
        .query_one(
            "SELECT (credited - withdrawn)::text FROM balances WHERE account = $1 \
             AND asset = ''::bytea",
            &[&AsRef::<[u8]>::as_ref(&story.owner)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(native_balance["available"], available);
    let credited: u128 = native_balance["credited"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let withdrawn: u128 = native_balance["withdrawn"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(withdrawn > 0);
    assert_eq!((credited - withdrawn).to_string(), available);
    let eve = api
        .ok(&format!("/v1/accounts/{}/balances", ss58(&story.union[1])))
        .await;
    let in_token = &eve["marketplace"][0];
    assert_eq!(in_token["asset"], token);
    assert_eq!(in_token["withdrawn"], "0");
    assert_eq!(in_token["available"], in_token["credited"]);
    let expected: String = client
        .query_one(
            "SELECT (credited - withdrawn)::text FROM balances WHERE account = $1",
            &[&AsRef::<[u8]>::as_ref(&story.union[1])],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_token["available"], expected);
    let buyer_balances = api.ok(&format!("/v1/accounts/{buyer}/balances")).await;
    assert_eq!(buyer_balances["account"], buyer);
    assert_eq!(buyer_balances["tokens"][0]["token"], token);
    assert_eq!(
        buyer_balances["tokens"][0]["balance"],
        (9 * TOKEN_PRICE).to_string()
    );
    // An account the index never saw: empty, not an error.
    let nobody = ss58(&chain::AccountId::from([0x55; 32]));
    let empty = api.ok(&format!("/v1/accounts/{nobody}/balances")).await;
    assert_eq!(empty["marketplace"], Value::Array(vec![]));

    // Status: the indexed head, the marketplace, whether an indexer runs, search.
    let status = api.ok("/v1/status").await;
    assert_eq!(status["indexed_head"]["block_number"].as_u64(), Some(head));
    assert!(status["indexed_head"]["applied_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(status["marketplace"], ss58(&m.market.address));
    // An indexer of another database on the same server is not ours.
    let (other, other_client) = common::database("dm_web_other").await;
    other_client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&index_db::WRITER_LOCK])
        .await
        .unwrap();
    assert_eq!(api.ok("/v1/status").await["indexer_running"], false);
    drop(other_client);
    other.drop_now().await.unwrap();
    assert_eq!(status["search"]["up_to_date"], true);
    // An indexer holding the writer lock shows as running.
    client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&index_db::WRITER_LOCK])
        .await
        .unwrap();
    assert_eq!(api.ok("/v1/status").await["indexer_running"], true);

    // Stats: counts and volume per asset.
    let stats = api.ok("/v1/stats").await;
    assert_eq!(stats["offers"]["total"], 2);
    assert_eq!(stats["offers"]["active"], 1);
    assert_eq!(stats["offers"]["delisted"], 1);
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'settled'), \
             count(*) FILTER (WHERE asset = ''::bytea), \
             sum(amount) FILTER (WHERE asset = ''::bytea)::text FROM purchases",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(stats["purchases"], row.get::<_, i64>(0));
    assert_eq!(stats["settled_purchases"], row.get::<_, i64>(1));
    assert_eq!(stats["settled_purchases"], 2);
    assert_eq!(stats["volume"][0]["asset"], "native");
    assert_eq!(stats["volume"][0]["purchases"], row.get::<_, i64>(2));
    assert_eq!(stats["volume"][0]["paid"], row.get::<_, String>(3));
    assert_eq!(stats["volume"][0]["settled"], PRICE.to_string());
    assert_eq!(stats["volume"][1]["asset"], token);
    assert_eq!(stats["volume"][1]["purchases"], 1);
    assert_eq!(stats["volume"][1]["settled"], TOKEN_PRICE.to_string());
    // The figures are computed once per indexed block: a change the cursor does not
    // show is not seen; once the cursor moves, it is.
    let active: i64 = client
        .query_one("SELECT id FROM offers WHERE status = 'active'", &[])
        .await
        .unwrap()
        .get(0);
    let set_status = "UPDATE offers SET status = $2 WHERE id = $1";
    client
        .execute(set_status, &[&active, &"delisted"])
        .await
        .unwrap();
    assert_eq!(api.ok("/v1/stats").await, stats);
    let step = "UPDATE indexer_cursor SET block_number = block_number + $1";
    client.execute(step, &[&1i64]).await.unwrap();
    let moved = api.ok("/v1/stats").await;
    assert_eq!(moved["offers"]["active"], 0);
    assert_eq!(moved["offers"]["delisted"], 2);
    client.execute(step, &[&-1i64]).await.unwrap();
    client
        .execute(set_status, &[&active, &"active"])
        .await
        .unwrap();

    // Health, metrics, the OpenAPI document and its page.
    assert_eq!(api.ok("/healthz").await["status"], "ok");
    let (status, metrics) = api.get("/metrics").await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("web_api_requests_total{route=\"/v1/offers\",status=\"200\"}"),
        "{metrics}"
    );
    let document = api.ok("/openapi.json").await;
    let generated: Value = serde_json::from_str(&web_api::openapi::json()).unwrap();
    assert_eq!(document, generated);
    let (status, page) = api.get("/docs").await;
    assert_eq!(status, 200);
    let page = page.as_str().unwrap();
    assert!(page.contains("/openapi.json"));
    // Swagger UI comes from the API itself, not from another origin.
    assert!(!page.contains("https://"), "{page}");
    for (asset, content_type, starts) in [
        (
            "/docs/swagger-ui-bundle.js",
            "text/javascript; charset=utf-8",
            "/*!",
        ),
        (
            "/docs/swagger-ui.css",
            "text/css; charset=utf-8",
            ".swagger-ui",
        ),
    ] {
        assert!(page.contains(asset), "{asset} in {page}");
        let response = reqwest::get(format!("{}{asset}", api.base)).await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(response.headers()["content-type"], content_type, "{asset}");
        let body = response.text().await.unwrap();
        let head: String = body.chars().take(80).collect();
        assert!(body.trim_start().starts_with(starts), "{asset}: {head}");
    }
    // The read-only web page.
    let (status, page) = api.get("/").await;
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("/v1/offers?"));

    api.stop().await;
    drop((client, indexed));
    database.drop_now().await.unwrap();
}

/// The ids a query returns (one bigint column), as the API shows them.
async fn sql_ids(
    client: &tokio_postgres::Client,
    query: &str,
    key: impl tokio_postgres::types::ToSql + Sync,
) -> Vec<u64> {
    client
        .query(query, &[&key])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect()
}

async fn db_head(client: &tokio_postgres::Client) -> u64 {
    u64::from(
        index_db::cursor(client, false)
            .await
            .unwrap()
            .unwrap()
            .block
            .number,
    )
}

/// Bulk offers straight into the indexer's tables: id i has owner A (i % 3 == 0) or B,
/// price (i * 7919) % 50 (many ties), the token (i % 4 == 0) or native, tag `even` or
/// `odd` and `all`, status delisted (i % 10 == 0), paused (i % 10 == 1) or active.
const OFFERS: i64 = 250;
const OWNER_A: [u8; 32] = [0xa1; 32];
const OWNER_B: [u8; 32] = [0xb2; 32];
const TOKEN: [u8; 32] = [0x70; 32];

struct Row {
    id: u64,
    owner: [u8; 32],
    price: u128,
    token: bool,
    even: bool,
    status: &'static str,
}

fn rows() -> Vec<Row> {
    (1..=OFFERS as u64)
        .map(|i| Row {
            id: i,
            owner: if i % 3 == 0 { OWNER_A } else { OWNER_B },
            price: u128::from((i * 7919) % 50),
            token: i % 4 == 0,
            even: i % 2 == 0,
            status: match i % 10 {
                0 => "delisted",
                1 => "paused",
                _ => "active",
            },
        })
        .collect()
}

/// Walks every page of `path` (which has a `?`) with `limit`; returns the ids in order.
async fn walk(api: &Api, path: &str, limit: usize) -> Vec<u64> {
    walk_changing(api, path, limit, async || {}).await
}

/// [`walk`], running `between` after each page that has a next one.
async fn walk_changing(
    api: &Api,
    path: &str,
    limit: usize,
    mut between: impl AsyncFnMut(),
) -> Vec<u64> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let page = api.ok(&url).await;
        let got = ids(&page);
        assert!(got.len() <= limit);
        all.extend(got);
        assert!(all.len() < 10_000, "{path}: the pages never end");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
        between().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_never_skip_or_repeat_in_any_order_and_with_any_filter() {
    let (database, client) = database("dm_web_pages").await;
    insert_offers(&client, OFFERS, &OWNER_A, &OWNER_B, &TOKEN).await;
    let api = Api::on(&database.url).await;
    let all = rows();
    let owner_a = web_api::codec::account(&OWNER_A, 42);
    let token = web_api::codec::account(&TOKEN, 42);
    type Filter = Box<dyn Fn(&Row) -> bool>;
    let cases: Vec<(String, Filter)> = vec![
        (
            "status=active".into(),
            Box::new(|r: &Row| r.status == "active"),
        ),
        ("status=any".into(), Box::new(|_: &Row| true)),
        (
            "status=paused&tag=odd".into(),
            Box::new(|r: &Row| r.status == "paused" && !r.even),
        ),
        (
            format!("status=any&owner={owner_a}&tag=even&tag=all"),
            Box::new(|r: &Row| r.owner == OWNER_A && r.even),
        ),
        (
            format!("asset={token}&min_price=10&max_price=30"),
            Box::new(|r: &Row| r.status == "active" && r.token && (10..=30).contains(&r.price)),
        ),
        (
            "asset=native&min_price=49".into(),
            Box::new(|r: &Row| r.status == "active" && !r.token && r.price >= 49),
        ),
    ];
    for (query, keep) in &cases {
        let kept: Vec<&Row> = all.iter().filter(|r| keep(r)).collect();
        let mut newest: Vec<u64> = kept.iter().map(|r| r.id).collect();
        newest.sort_by(|a, b| b.cmp(a));
        let mut by_price: Vec<(u128, u64)> = kept.iter().map(|r| (r.price, r.id)).collect();
        by_price.sort();
        let price_asc: Vec<u64> = by_price.iter().map(|(_, id)| *id).collect();
        let price_desc: Vec<u64> = price_asc.iter().rev().copied().collect();
        for limit in [100, 7] {
            assert_eq!(
                walk(&api, &format!("/v1/offers?{query}"), limit).await,
                newest,
                "{query} newest {limit}"
            );
            assert_eq!(
                walk(&api, &format!("/v1/offers?{query}&sort=price_asc"), limit).await,
                price_asc,
                "{query} price_asc {limit}"
            );
            assert_eq!(
                walk(&api, &format!("/v1/offers?{query}&sort=price_desc"), limit).await,
                price_desc,
                "{query} price_desc {limit}"
            );
        }
    }
    // The default page is 20; the cap is 100.
    assert_eq!(ids(&api.ok("/v1/offers?status=any").await).len(), 20);
    assert_eq!(
        ids(&api.ok("/v1/offers?status=any&limit=100").await).len(),
        100
    );

    // Search pages (offsets) cover every match once; filters apply inside the search,
    // so pages are full.
    let mut found = walk(&api, "/v1/offers?q=offer&status=any", 100).await;
    assert_eq!(found.len(), OFFERS as usize);
    found.sort();
    found.dedup();
    assert_eq!(found.len(), OFFERS as usize);
    let page = api.ok("/v1/offers?q=synthetic&tag=even&limit=50").await;
    assert_eq!(ids(&page).len(), 50);
    let active_even = all
        .iter()
        .filter(|r| r.even && r.status == "active")
        .count();
    assert_eq!(
        walk(&api, "/v1/offers?q=synthetic&tag=even", 30)
            .await
            .len(),
        active_even
    );
    // Owner's offers, paged.
    let owned = walk(
        &api,
        &format!("/v1/accounts/{owner_a}/offers?status=any"),
        9,
    )
    .await;
    let mut expected: Vec<u64> = all
        .iter()
        .filter(|r| r.owner == OWNER_A)
        .map(|r| r.id)
        .collect();
    expected.reverse();
    assert_eq!(owned, expected);

    api.stop().await;
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_end_at_the_depth_limit_without_a_cursor_past_it() {
    let (database, client) = database("dm_web_depth").await;
    insert_offers(&client, 1_100, &OWNER_A, &OWNER_B, &TOKEN).await;
    let api = Api::on(&database.url).await;
    // 1 100 offers match; the pages stop at the first 1 000, the last without a cursor.
    let found = walk(&api, "/v1/offers?q=offer&status=any", 30).await;
    assert_eq!(found.len(), 1_000);
    let mut unique = found.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1_000);
    // A page that would cross the limit ends at it.
    let at = |offset: u64| {
        web_api::codec::encode_cursor(&serde_json::json!({"sort": "relevance", "offset": offset}))
    };
    let last = api
        .ok(&format!(
            "/v1/offers?q=offer&status=any&limit=20&cursor={}",
            at(990)
        ))
        .await;
    assert_eq!(ids(&last), found[990..]);
    assert!(last["next_cursor"].is_null());
    api.stop().await;
    drop(client);
    database.drop_now().await.unwrap();
}

/// Adds offer `id`, which ranks first for "offer", is the newest and costs nothing, and
/// rewrites an older one's title (so the index deletes its document and adds another);
/// returns once the API's search finds the new offer.
async fn add_offer_between_pages(client: &tokio_postgres::Client, api: &Api, id: i64) {
    client
        .batch_execute(&format!(
            "INSERT INTO offers (id, owner, content_root, header, key_commitment, price, asset, \
             uri, title, description, tags, schema, size, bond, status, created_block, \
             updated_block) \
             SELECT {id}, owner, sha256('{id}'::bytea), header, key_commitment, 0, asset, uri, \
             'Offer offer offer fresh{id}', description, tags, schema, size, bond, 'active', \
             created_block, updated_block FROM offers WHERE id = 2; \
             UPDATE offers SET title = title || ' offer', \
             change_seq = nextval('offer_change_seq') WHERE id = {}; \
             NOTIFY {}",
            id % OFFERS + 1,
            index_db::OFFERS_CHANNEL
        ))
        .await
        .unwrap();
    let found = format!("/v1/offers?q=fresh{id}");
    eventually(std::time::Duration::from_secs(5), || async {
        ids(&api.ok(&found).await) == [id as u64]
    })
    .await;
}

/// A client paging through a search while offers are added and rewritten sees each
/// offer once and none pushed off: ranked pages read the first page's snapshot of the
/// index, sorted pages resume after the last offer's sort key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_neither_skip_nor_repeat_while_offers_change() {
    let (database, client) = database("dm_web_stable").await;
    insert_offers(&client, OFFERS, &OWNER_A, &OWNER_B, &TOKEN).await;
    let api = Api::on(&database.url).await;
    let mut next_id = OFFERS + 1;
    // price_asc: the first page holds every offer at price 0, so the added ones (price 0,
    // a higher id) sort before the cursor, as the newest do in `newest`.
    for (sort, limit) in [("relevance", 30), ("newest", 40), ("price_asc", 40)] {
        let path = format!("/v1/offers?q=offer&status=any&sort={sort}");
        if sort == "price_asc" {
            // The added offers are free: they sort before the cursor only if the first
            // page already ends past price 0.
            let free: i64 = client
                .query_one("SELECT count(*) FROM offers WHERE price = 0", &[])
                .await
                .unwrap()
                .get(0);
            assert!(
                free < limit as i64,
                "the first page must hold every free offer"
            );
        }
        let before = walk(&api, &path, 100).await;
        assert_eq!(before.len() as i64, next_id - 1, "{sort}");
        let walked = walk_changing(&api, &path, limit, async || {
            add_offer_between_pages(&client, &api, next_id).await;
            next_id += 1;
        })
        .await;
        assert_eq!(walked, before, "{sort}");
        // The added offers are there for the next search.
        let now = walk(&api, &path, 100).await;
        assert_eq!(now.len() as i64, next_id - 1, "{sort}");
        if sort == "relevance" {
            assert_ne!(now[..5], before[..5], "the added offers rank first now");
        }
    }
    api.stop().await;
    drop(client);
    database.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400_unknown_ids_404_and_nothing_is_a_500() {
    let (database, client) = database("dm_web_errors").await;
    insert_offers(&client, OFFERS, &OWNER_A, &OWNER_B, &TOKEN).await;
    let mut config = web_api::Config::new(&database.url);
    config.cors_origins = vec!["https://app.example".into()];
    let api = Api::start(config).await;
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    // Alice on Polkadot (prefix 0).
    let alice_dot = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5";
    let sort_newest = api.ok("/v1/offers?limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let search_cursor = api.ok("/v1/offers?q=offer&limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let sorted_search_cursor = api.ok("/v1/offers?q=offer&sort=newest&limit=1").await
        ["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let crafted = |position: Value| web_api::codec::encode_cursor(&position);
    let too_many_tags: String = (0..17).map(|i| format!("&tag=t{i}")).collect();
    let long_tag = "x".repeat(33);
    let deep = crafted(serde_json::json!({"sort": "relevance", "offset": 1000}));
    let cases: Vec<(String, &str)> = vec![
        ("/v1/offers?owner=nope".into(), "not an SS58 address"),
        (format!("/v1/offers?owner={alice_dot}"), "prefix 0"),
        ("/v1/offers?asset=gold".into(), "not an SS58 address"),
        ("/v1/offers?limit=101".into(), "between 1 and 100"),
        ("/v1/offers?limit=0".into(), "between 1 and 100"),
        ("/v1/offers?limit=ten".into(), "between 1 and 100"),
        ("/v1/offers?limit=".into(), "between 1 and 100"),
        ("/v1/offers?tag=a%00b".into(), "a tag is 1 to 32 bytes"),
        ("/v1/offers?cursor=%%%".into(), "malformed cursor"),
        ("/v1/offers?cursor=bm9wZQ".into(), "malformed cursor"),
        (
            format!("/v1/offers?sort=price_asc&cursor={sort_newest}"),
            "sort=newest",
        ),
        (
            format!("/v1/offers?cursor={search_cursor}"),
            "malformed cursor",
        ),
        (
            format!("/v1/offers?q=offer&cursor={sort_newest}"),
            "malformed cursor",
        ),
        (format!("/v1/offers?q=offer&cursor={deep}"), "depth of 1000"),
        // A sorted search's cursor is not a listing's, nor one without a key a search's.
        (
            format!("/v1/offers?sort=newest&cursor={sorted_search_cursor}"),
            "malformed cursor",
        ),
        (
            format!(
                "/v1/offers?q=offer&sort=newest&cursor={}",
                crafted(serde_json::json!({"sort": "newest"}))
            ),
            "malformed cursor",
        ),
        (
            format!(
                "/v1/offers?q=offer&cursor={}",
                crafted(serde_json::json!({"sort": "relevance", "after": [1, 0, 1]}))
            ),
            "malformed cursor",
        ),
        (
            format!(
                "/v1/offers?q=offer&sort=newest&cursor={}",
                crafted(serde_json::json!({
                    "sort": "newest", "after": [1, 0, 1],
                    "snapshot": {"instance": 1, "generation": 0}
                }))
            ),
            "malformed cursor",
        ),
        (
            "/v1/offers?min_price=10&max_price=9".into(),
            "above max_price",
        ),
        // Query syntax that reads far more than words do.
        (
            "/v1/offers?q=description:%5Ba%20TO%20z%5D".into(),
            "not ranges",
        ),
        ("/v1/offers?q=offer%20OR%20*".into(), "not *"),
        ("/v1/offers?q=title:%20IN%20%5Ba%20b%5D".into(), "not sets"),
        (
            "/v1/offers?q=status:delisted".into(),
            "not the field status:",
        ),
        ("/v1/offers?q=id:%5B1%20TO%209%5D".into(), "not ranges"),
        ("/v1/offers?min_price=-1".into(), "non-negative integer"),
        ("/v1/offers?max_price=1.5".into(), "non-negative integer"),
        (
            "/v1/offers?max_price=340282366920938463463374607431768211456".into(),
            "128 bits",
        ),
        ("/v1/offers?tag=".into(), "a tag is 1 to 32 bytes"),
        (
            format!("/v1/offers?tag={long_tag}"),
            "a tag is 1 to 32 bytes",
        ),
        (format!("/v1/offers?{too_many_tags}"), "at most 16 tags"),
        ("/v1/offers?sort=cheapest".into(), "sort must be"),
        (
            format!("/v1/offers?q={}", "a".repeat(1025)),
            "at most 1024 bytes",
        ),
        ("/v1/offers?sort=relevance".into(), "needs a text query"),
        ("/v1/offers?status=sold".into(), "status must be"),
        ("/v1/offers/abc".into(), "positive integer"),
        ("/v1/offers/-1".into(), "positive integer"),
        (
            "/v1/offers/99999999999999999999999".into(),
            "positive integer",
        ),
        (
            "/v1/offers/1/purchases?status=lost".into(),
            "status must be",
        ),
        (
            "/v1/offers/1/purchases?limit=500".into(),
            "between 1 and 100",
        ),
        (
            "/v1/offers/1/purchases?cursor=AAAA".into(),
            "malformed cursor",
        ),
        ("/v1/purchases/x".into(), "positive integer"),
        ("/v1/purchases/%FF".into(), "bad path"),
        (
            format!(
                "/v1/offers?q=offer&cursor={}",
                crafted(serde_json::json!({"sort": "relevance", "offset": u64::MAX}))
            ),
            "depth of 1000",
        ),
        ("/v1/accounts/bob/offers".into(), "not an SS58 address"),
        (
            format!("/v1/accounts/{alice}/offers?status=gone"),
            "status must be",
        ),
        ("/v1/accounts/bob/purchases".into(), "not an SS58 address"),
        (format!("/v1/accounts/{alice_dot}/balances"), "prefix 0"),
    ];
    for (path, needle) in &cases {
        let message = api.fails(path, 400).await;
        assert!(message.contains(needle), "GET {path}: {message}");
    }
    // The rest of the syntax stays: phrases, required and excluded words, text fields,
    // phrase prefixes.
    for q in [
        "%22offer%20number%22",
        "%2Boffer%20-odd",
        "title:offer",
        "tags_text:even",
        "%22offer%20numb%22*",
    ] {
        let page = api.ok(&format!("/v1/offers?q={q}&status=any")).await;
        assert!(!ids(&page).is_empty(), "q={q}");
    }
    let not_found = [
        "/v1/offers/999",
        "/v1/offers/18446744073709551615",
        "/v1/offers/999/purchases",
        "/v1/purchases/1",
        "/v1/purchases/9223372036854775808",
        "/v1/nothing",
        "/v1",
    ];
    for path in not_found {
        api.fails(path, 404).await;
    }
    // A method a route does not have: 405 with the JSON body.
    let response = api
        .http
        .post(format!("{}/v1/offers", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    // CORS for the configured origin.
    let response = api
        .http
        .get(format!("{}/v1/offers", api.base))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    // An empty index answers, rather than failing: no purchases of an existing offer.
    assert_eq!(
        api.ok("/v1/offers/1/purchases").await["purchases"],
        Value::Array(vec![])
    );
    assert_eq!(api.ok("/v1/status").await["indexed_head"], Value::Null);

    // The database goes away: 503 with no database detail in the body.
    drop(client);
    let name = database.name().to_owned();
    database.drop_now().await.unwrap();
    for path in ["/v1/offers", "/v1/offers/1", "/v1/status", "/healthz"] {
        let (status, body) = api.get(path).await;
        assert!(
            status == 503 || status == 500,
            "GET {path}: {status} {body}"
        );
        let text = body.to_string();
        assert!(
            !text.contains(&name) && !text.contains("postgres"),
            "{text}"
        );
        assert_eq!(status, 503, "GET {path}: {body}");
    }
    api.stop().await;
}
