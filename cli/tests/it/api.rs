//! `datamarket offer list` and `offer show` read the index through the web API: a real
//! node, the real indexer following it into a database of this test's own, the real API
//! over HTTP.

use crate::common;

use common::{fails, json, ok, world, IndexAndApi};

#[test]
fn offers_are_found_through_the_api() {
    let Some(w) = world(50, 2) else { return };
    std::fs::write(w.path("steps.csv"), b"day,steps\n1,4000\n").unwrap();
    let offer = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("steps.csv").to_str().unwrap(),
        "--price",
        "4200",
        "--title",
        "Walking diary",
        "--tag",
        "health",
        "--json",
    ])))["offer_id"]
        .as_u64()
        .unwrap();

    let served = IndexAndApi::start(&w, "dm_cli_api");
    let url = served.url.clone();

    // The node finalizes a block behind its best, and the indexer follows finalized
    // blocks: wait until the offer is searchable.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let found = loop {
        let out = ok(w
            .cli("buyer", "//Charlie")
            .args(["--api", &url, "offer", "list", "--q", "walking", "--json"]));
        let page = json(&out);
        if let Some(first) = page["offers"].as_array().and_then(|o| o.first().cloned()) {
            break first;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never indexed: {page}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert_eq!(found["id"], offer);
    assert_eq!(found["title"], "Walking diary");
    assert_eq!(found["price"], "4200");

    let listed = ok(w
        .cli("buyer", "//Charlie")
        .args(["--api", &url, "offer", "list", "--tag", "health"]));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("Walking diary") && listed.contains("4200"),
        "{listed}"
    );
    let shown = json(&ok(w.cli("buyer", "//Charlie").args([
        "--api",
        &url,
        "offer",
        "show",
        &offer.to_string(),
        "--json",
    ])));
    assert_eq!(shown["title"], "Walking diary");
    assert_eq!(shown["payees"].as_array().unwrap().len(), 1, "{shown}");

    // An unknown offer, a bad parameter and an unreachable API fail clearly.
    let unknown = fails(
        w.cli("buyer", "//Charlie")
            .args(["--api", &url, "offer", "show", "999"]),
    );
    assert!(unknown.contains("not in the index"), "{unknown}");
    let bad = fails(
        w.cli("buyer", "//Charlie")
            .args(["--api", &url, "offer", "list", "--owner", "nobody"]),
    );
    assert!(bad.contains("the API refused (400"), "{bad}");
    let down =
        fails(
            w.cli("buyer", "//Charlie")
                .args(["--api", "http://127.0.0.1:1", "offer", "list"]),
        );
    assert!(
        down.contains("no Datamarket API answers at http://127.0.0.1:1"),
        "{down}"
    );
}
