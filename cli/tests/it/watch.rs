//! `deliver --watch` as a running process delivers a PSP22-paid purchase (approve +
//! purchase) made while it watches; the buyer decrypts it.

use crate::common;

use std::time::Duration;

use chain::{Bundle, Contract, Signer};
use common::{hex, json, ok, watcher, world};
use datamarket_cli::market::TokenError;

#[test]
fn watcher_delivers_a_token_purchase_made_while_it_runs() {
    let Some(mut w) = world(50, 2) else { return };
    let token = hex(&w.token);
    // Charlie gets tokens from Alice, who holds the supply.
    let contract = Contract::at(w.token, Bundle::load("token").unwrap());
    let sent = contract
        .call::<_, Result<(), TokenError>>(
            &mut w.chain,
            &Signer::alice(),
            "PSP22::transfer",
            &(
                Signer::dev("Charlie").account_id(),
                10_000_000u128,
                Vec::<u8>::new(),
            ),
            0,
        )
        .unwrap();
    assert_eq!(sent.value, Ok(()));

    let plaintext = b"when,where\nmonday,home\ntuesday,work\n".repeat(5_000);
    std::fs::write(w.path("places.csv"), &plaintext).unwrap();
    let created = json(&ok(w.cli("owner", "//Bob").args([
        "--token",
        &token,
        "offer",
        "create",
        w.path("places.csv").to_str().unwrap(),
        "--price",
        "3000000",
        "--title",
        "Places",
        "--json",
    ])));
    assert!(created["asset"].as_str().unwrap().starts_with("token "));
    let offer_id = created["offer_id"].as_u64().unwrap();

    // The watcher runs in the background.
    let (mut child, received) = watcher(&w);

    let bought = json(&ok(w.cli("buyer", "//Charlie").args([
        "--token",
        &token,
        "buy",
        &offer_id.to_string(),
        "--json",
    ])));
    let purchase_id = bought["purchase_id"].as_u64().unwrap();
    assert!(bought["asset"].as_str().unwrap().starts_with("token "));

    let line = received
        .recv_timeout(Duration::from_secs(60))
        .expect("the watcher logs the delivery");
    let _ = child.kill();
    let _ = child.wait();
    let logged: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(logged["purchase_id"], purchase_id, "{line}");
    assert_eq!(logged["delivered"], true, "{line}");

    let out = w.path("places-bought.csv");
    ok(w.cli("buyer", "//Charlie").args([
        "fetch",
        &purchase_id.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), plaintext);
    let balance = json(&ok(w
        .cli("buyer", "//Charlie")
        .args(["--token", &token, "balance", "--json"])));
    assert_eq!(balance["token_balance"], 7_000_000);
    // A restarted watcher finds nothing to do.
    let again = ok(w.cli("owner", "//Bob").arg("deliver"));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "nothing to deliver"
    );
}
