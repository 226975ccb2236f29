//! `datamarket dispute` on a real node: a key that does not open is disputed and the
//! buyer wins (payment, bond and penalty credited, exact); a good key is refused locally
//! without `--force`, and with it the dispute fails on chain and the bond goes to the
//! owner.

use crate::common;

use chain::market_types::{Asset, Result as MarketResult};
use chain::{Bundle, Contract, Signer};
use common::{fails, json, ok, world};

const PRICE: u128 = 5_000_000;
const DISPUTE_BOND: u128 = 700;
const PENALTY: u128 = 300;

#[test]
fn a_bad_key_is_disputed_and_won_a_good_one_is_refused_unless_forced() {
    let Some(mut w) = world(50, 20) else { return };
    let market = Contract::at(w.market, Bundle::load("marketplace").unwrap());
    let admin = Signer::alice();
    market
        .call::<_, MarketResult<()>>(
            &mut w.chain,
            &admin,
            "set_bonds",
            &(1_000u128, DISPUTE_BOND),
            0,
        )
        .unwrap()
        .value
        .unwrap();
    market
        .call::<_, MarketResult<()>>(&mut w.chain, &admin, "set_dispute_penalty", &PENALTY, 0)
        .unwrap()
        .value
        .unwrap();

    std::fs::write(w.path("data.csv"), b"day,steps\n1,4000\n2,5000\n").unwrap();
    let offer = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("data.csv").to_str().unwrap(),
        "--price",
        &PRICE.to_string(),
        "--title",
        "Steps",
        "--json",
    ])))["offer_id"]
        .as_u64()
        .unwrap();
    let buy = |w: &common::World| {
        json(&ok(w.cli("buyer", "//Charlie").args([
            "buy",
            &offer.to_string(),
            "--json",
        ])))["purchase_id"]
            .as_u64()
            .unwrap()
    };
    let credit = |w: &mut common::World| -> u128 {
        let charlie = Signer::dev("Charlie").account_id();
        market
            .query(
                &mut w.chain,
                &charlie,
                "credit_of",
                &(charlie, Asset::Native),
            )
            .unwrap()
    };

    // A dishonest owner delivers 80 bytes that open nothing.
    let bad = buy(&w);
    market
        .call::<_, MarketResult<()>>(
            &mut w.chain,
            &Signer::bob(),
            "deliver",
            &(bad, [7u8; 80]),
            0,
        )
        .unwrap()
        .value
        .unwrap();
    let before = credit(&mut w);
    let won = json(&ok(w.cli("buyer", "//Charlie").args([
        "dispute",
        &bad.to_string(),
        "--json",
    ])));
    assert_eq!(won["buyer_won"], true, "{won}");
    assert_eq!(won["status"], "resolved");
    assert_eq!(credit(&mut w), before + PRICE + DISPUTE_BOND + PENALTY);

    // An honest delivery: the CLI refuses to dispute it, then --force loses the bond.
    let good = buy(&w);
    ok(w.cli("owner", "//Bob").arg("deliver"));
    let refused = fails(
        w.cli("buyer", "//Charlie")
            .args(["dispute", &good.to_string()]),
    );
    assert!(
        refused.contains("opens and matches the offer's key commitment"),
        "{refused}"
    );
    let bob = Signer::bob().account_id();
    let owner_before: u128 = market
        .query(&mut w.chain, &bob, "credit_of", &(bob, Asset::Native))
        .unwrap();
    let lost = json(&ok(w.cli("buyer", "//Charlie").args([
        "dispute",
        &good.to_string(),
        "--force",
        "--json",
    ])));
    assert_eq!(lost["buyer_won"], false, "{lost}");
    assert_eq!(lost["status"], "disputed");
    let owner_after: u128 = market
        .query(&mut w.chain, &bob, "credit_of", &(bob, Asset::Native))
        .unwrap();
    assert_eq!(owner_after, owner_before + DISPUTE_BOND);

    // A purchase without a key, or someone else's: clear refusals.
    let pending = buy(&w);
    let none = fails(
        w.cli("buyer", "//Charlie")
            .args(["dispute", &pending.to_string()]),
    );
    assert!(none.contains("has no key delivered"), "{none}");
    let stranger = fails(
        w.cli("stranger", "//Dave")
            .args(["dispute", &bad.to_string()]),
    );
    assert!(
        stranger.contains("only its buyer can dispute") || stranger.contains("no key"),
        "{stranger}"
    );
}
