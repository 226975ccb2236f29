//! The owner's and the buyer's flow with the `datamarket` binary on a real node: keys,
//! an offer from a file, a purchase, delivery (once), fetch and decrypt, a tampered
//! blob, an unknown offer, settlement and payout.

use crate::common;

use common::{fails, json, ok, world};
use sha2::{Digest, Sha256};

fn dataset(rows: u32) -> Vec<u8> {
    let mut csv = String::from("date,steps\n");
    for day in 0..rows {
        csv += &format!("2025-day-{day:04},{}\n", 3_000 + (day * 7_919) % 9_000);
    }
    csv.into_bytes()
}

#[test]
fn owner_lists_buyer_buys_owner_delivers_buyer_decrypts() {
    let Some(mut w) = world(50, 2) else { return };

    // The owner makes an account in its own keystore; Alice funds it.
    let made = json(&ok(w
        .cli("owner", "unused")
        .args(["keys", "new", "owner", "--json"])));
    let owner_address = made["address"].as_str().unwrap().to_owned();
    let owner_account = datamarket_cli::address::parse(&owner_address, "owner").unwrap();
    chain::Chain::transfer(
        &mut w.chain,
        &chain::Signer::alice(),
        &owner_account,
        1_000_000_000_000_000,
    )
    .unwrap();
    let listed = ok(w.cli("owner", "unused").args(["keys", "list"]));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("owner") && listed.contains(&owner_address),
        "{listed}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.keystore("owner").join("accounts/owner"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The owner lists a dataset (more than one chunk).
    let plaintext = dataset(20_000);
    std::fs::write(w.path("steps.csv"), &plaintext).unwrap();
    let created = json(&ok(w.cli("owner", "owner").args([
        "offer",
        "create",
        w.path("steps.csv").to_str().unwrap(),
        "--price",
        "5000000",
        "--title",
        "Daily steps 2025",
        "--tag",
        "health",
        "--json",
    ])));
    let offer_id = created["offer_id"].as_u64().unwrap();
    assert_eq!(created["bond"], 1000);
    assert!(created["uri"].as_str().unwrap().starts_with("file://"));
    // The data key is in the owner's keystore, private.
    let keys: Vec<_> = std::fs::read_dir(w.keystore("owner").join("data-keys"))
        .unwrap()
        .collect();
    assert_eq!(keys.len(), 1);

    // The buyer buys with its own keystore.
    let bought = json(&ok(w.cli("buyer", "//Charlie").args([
        "buy",
        &offer_id.to_string(),
        "--json",
    ])));
    let purchase_id = bought["purchase_id"].as_u64().unwrap();
    assert_eq!(bought["amount"], 5_000_000);

    // The owner delivers, once.
    let delivered = ok(w.cli("owner", "owner").args(["deliver", "--json"]));
    let stdout = String::from_utf8_lossy(&delivered.stdout);
    assert!(
        stdout.contains(&format!("\"purchase_id\":{purchase_id}")),
        "{stdout}"
    );
    assert_eq!(json(&delivered)["delivered"], 1, "{stdout}");
    let again = ok(w.cli("owner", "owner").arg("deliver"));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "nothing to deliver"
    );

    // The buyer fetches and decrypts; the plaintext is the original.
    let out = w.path("bought.csv");
    let fetched = json(&ok(w.cli("buyer", "//Charlie").args([
        "fetch",
        &purchase_id.to_string(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(fetched["size"], plaintext.len() as u64);
    assert_eq!(
        Sha256::digest(std::fs::read(&out).unwrap()),
        Sha256::digest(&plaintext)
    );

    // A second offer whose blob is tampered with after delivery: fetch fails clearly
    // and writes nothing.
    std::fs::write(w.path("other.csv"), dataset(3_000)).unwrap();
    let created = json(&ok(w.cli("owner", "owner").args([
        "offer",
        "create",
        w.path("other.csv").to_str().unwrap(),
        "--price",
        "1000",
        "--title",
        "Other steps",
        "--json",
    ])));
    let second = created["offer_id"].as_u64().unwrap();
    let blob = created["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .to_owned();
    let bought = json(&ok(w.cli("buyer", "//Charlie").args([
        "buy",
        &second.to_string(),
        "--json",
    ])));
    let second_purchase = bought["purchase_id"].as_u64().unwrap();
    assert_eq!(
        json(&ok(w.cli("owner", "owner").args(["deliver", "--json"])))["delivered"],
        1
    );
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&blob, bytes).unwrap();
    let out2 = w.path("tampered.csv");
    let stderr = fails(w.cli("buyer", "//Charlie").args([
        "fetch",
        &second_purchase.to_string(),
        "-o",
        out2.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains(&format!("does not match offer {second}"))
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!out2.exists());
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());

    // An envelope that does not open (sealed for another purchase): fetch says so, with
    // the dispute deadline, and writes nothing.
    let bought = json(&ok(w.cli("buyer", "//Charlie").args([
        "buy",
        &second.to_string(),
        "--json",
    ])));
    let third_purchase = bought["purchase_id"].as_u64().unwrap();
    let owner_signer =
        chain::Signer::from_keyfile(&w.keystore("owner").join("accounts/owner")).unwrap();
    let market = chain::Contract::at(w.market, chain::Bundle::load("marketplace").unwrap());
    let info: Option<chain::market_types::Purchase> = market
        .query(
            &mut w.chain,
            &owner_account,
            "purchase_info",
            &third_purchase,
        )
        .unwrap();
    let wrong_context = sealer::EnvelopeContext {
        contract: *w.market.as_ref(),
        offer_id: second,
        purchase_id: third_purchase + 1,
    };
    let bad = sealer::KeySealer::seal(
        &sealer::BuyerPublicKey(info.unwrap().buyer_pk),
        &sealer::DataKey::generate().unwrap(),
        &wrong_context,
    )
    .unwrap();
    market
        .call::<_, chain::market_types::Result<()>>(
            &mut w.chain,
            &owner_signer,
            "deliver",
            &(third_purchase, bad.0),
            0,
        )
        .unwrap();
    let out3 = w.path("bad-envelope.csv");
    let stderr = fails(w.cli("buyer", "//Charlie").args([
        "fetch",
        &third_purchase.to_string(),
        "-o",
        out3.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains("does not open") && stderr.contains("you can dispute it until block"),
        "{stderr}"
    );
    assert!(!out3.exists());

    // Unknown offer and purchase.
    let stderr = fails(w.cli("buyer", "//Charlie").args(["buy", "999"]));
    assert!(stderr.contains("offer 999 does not exist"), "{stderr}");
    let stderr = fails(
        w.cli("buyer", "//Charlie")
            .args(["fetch", "999", "-o", "x"]),
    );
    assert!(stderr.contains("purchase 999 does not exist"), "{stderr}");
    // Not enough money.
    let stderr = fails(
        w.cli("poor", "//NoMoney")
            .args(["buy", &offer_id.to_string()]),
    );
    assert!(stderr.contains("insufficient funds"), "{stderr}");

    // After the dispute window, anyone settles; the owner withdraws its share.
    w.blocks(3);
    let settled = json(&ok(w.cli("buyer", "//Charlie").args([
        "settle",
        &purchase_id.to_string(),
        "--json",
    ])));
    assert_eq!(settled["status"], "settled");
    let balance = json(&ok(w.cli("owner", "owner").args(["balance", "--json"])));
    // 2.5% fee to Ferdie, the rest to the owner.
    assert_eq!(balance["native_credit"], 4_875_000);
    let withdrawn = json(&ok(w.cli("owner", "owner").args(["withdraw", "--json"])));
    assert_eq!(withdrawn["payouts"][0][1], 4_875_000);
    let balance = json(&ok(w.cli("owner", "owner").args(["balance", "--json"])));
    assert_eq!(balance["native_credit"], 0);

    // Owner's offer management.
    let paused = json(&ok(w.cli("owner", "owner").args([
        "offer",
        "pause",
        &offer_id.to_string(),
        "--json",
    ])));
    assert_eq!(paused["status"], "paused");
    let stderr = fails(
        w.cli("buyer", "//Charlie")
            .args(["buy", &offer_id.to_string()]),
    );
    assert!(stderr.contains("paused"), "{stderr}");
    let stderr =
        fails(
            w.cli("buyer", "//Charlie")
                .args(["offer", "resume", &offer_id.to_string()]),
        );
    assert!(stderr.contains("does not own"), "{stderr}");
    ok(w.cli("owner", "owner")
        .args(["offer", "resume", &offer_id.to_string()]));
    let priced = json(&ok(w.cli("owner", "owner").args([
        "offer",
        "update-price",
        &offer_id.to_string(),
        "7000000",
        "--json",
    ])));
    assert_eq!(priced["price"], 7_000_000);
    assert_eq!(priced["status"], "active");
}
