//! A buyer whose owner never delivers gets a refund after the deadline, with the
//! `datamarket` binary on a real node.

use crate::common;

use common::{fails, json, ok, world};

#[test]
fn undelivered_purchase_is_refunded_after_the_deadline() {
    let Some(mut w) = world(3, 2) else { return };
    std::fs::write(w.path("data.csv"), b"a,b\n1,2\n").unwrap();
    let created = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("data.csv").to_str().unwrap(),
        "--price",
        "250000",
        "--title",
        "Tiny",
        "--json",
    ])));
    let offer_id = created["offer_id"].as_u64().unwrap();
    let bought = json(&ok(w.cli("buyer", "//Charlie").args([
        "buy",
        &offer_id.to_string(),
        "--json",
    ])));
    let purchase = bought["purchase_id"].as_u64().unwrap().to_string();

    // Too early: the deadline has not passed.
    let stderr = fails(w.cli("buyer", "//Charlie").args(["refund", &purchase]));
    assert!(
        stderr.contains("delivery deadline has not passed"),
        "{stderr}"
    );
    // No key comes: fetch gives up after its timeout.
    let stderr = fails(w.cli("buyer", "//Charlie").args([
        "fetch",
        &purchase,
        "-o",
        "never.csv",
        "--timeout",
        "1",
    ]));
    assert!(stderr.contains("no key delivered"), "{stderr}");

    w.blocks(4);
    // The owner wakes up too late: the watcher skips it.
    let late = ok(w.cli("owner", "//Bob").arg("deliver"));
    let stdout = String::from_utf8_lossy(&late.stdout);
    assert!(
        stdout.contains("deadline") && stdout.contains("nothing to deliver"),
        "{stdout}"
    );

    let refunded = json(&ok(w
        .cli("buyer", "//Charlie")
        .args(["refund", &purchase, "--json"])));
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["amount"], 250_000);
    let stderr = fails(
        w.cli("buyer", "//Charlie")
            .args(["fetch", &purchase, "-o", "x.csv"]),
    );
    assert!(stderr.contains("Refunded without a key"), "{stderr}");
}
