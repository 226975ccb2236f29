//! A long randomized sequence of calls by many accounts, native and PSP22, with the
//! solvency invariant checked after every step: what the marketplace holds of each asset
//! equals escrow + bonds + credited-but-not-withdrawn.
//!
//! The seed is printed; rerun one with `SOLVENCY_SEED=<n>`, and lengthen the walk with
//! `SOLVENCY_STEPS=<n>`.

use std::rc::Rc;

use contract_harness::{
    market::{Market, SealedDataset, Settings},
    market_types::{Asset, OfferId, PurchaseId, PurchaseStatus},
    to_ink, Balance,
};
use ink_sandbox::AccountId32;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use sealer::BuyerSecretKey;

const DISPUTE_BOND: Balance = 700;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn marketplace_stays_solvent_through_a_random_walk() {
    let seed = env_u64("SOLVENCY_SEED").unwrap_or(0x5eed_da7a);
    let steps = env_u64("SOLVENCY_STEPS").unwrap_or(400);
    println!("seed {seed}, {steps} steps");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = Market::deploy(&Settings {
        delivery_period: 4,
        dispute_window: 3,
        ..Settings::default()
    })
    .expect("deploy");
    let admin = m.admin.clone();
    let owners: Vec<AccountId32> = (0..3)
        .map(|i| m.chain.account(&format!("owner{i}")))
        .collect();
    let buyers: Vec<AccountId32> = (0..3)
        .map(|i| m.chain.account(&format!("buyer{i}")))
        .collect();
    let payees: Vec<AccountId32> = (0..5)
        .map(|i| m.chain.account(&format!("payee{i}")))
        .collect();
    // Disputes: each buyer has one X25519 key for all its purchases (enough here), each
    // offer a real dataset sealed by the sealer (some with a chunk its key does not
    // open), and owners deliver good and bad envelopes.
    let secrets: Vec<BuyerSecretKey> = (0..buyers.len())
        .map(|_| BuyerSecretKey::generate().unwrap())
        .collect();
    m.must::<()>(&admin, "set_bonds", &(1_000u128, DISPUTE_BOND), 0);
    m.must::<()>(&admin, "set_dispute_penalty", &1_500u128, 0);
    let token = m.token_asset();
    for buyer in &buyers {
        m.fund_tokens(buyer, 100_000_000);
        m.approve_market(buyer, u128::MAX);
    }
    let mut everyone: Vec<AccountId32> = owners
        .iter()
        .chain(&buyers)
        .chain(&payees)
        .cloned()
        .collect();
    everyone.push(m.fee_recipient.clone());

    // Each offer, its owner, its dataset and whether chunk 0 of it is bad.
    let mut offers: Vec<(OfferId, AccountId32, Rc<SealedDataset>, bool)> = Vec::new();
    // Each purchase and the index of its buyer.
    let mut purchases: Vec<(PurchaseId, usize)> = Vec::new();
    let mut succeeded = std::collections::BTreeMap::<&str, u32>::new();

    for step in 0..steps {
        let action = rng.gen_range(0..100);
        let (name, ok) = match action {
            0..=11 => {
                let owner = owners.choose(&mut rng).unwrap().clone();
                let n = rng.gen_range(1..=4);
                let chosen: Vec<_> = payees.choose_multiple(&mut rng, n).collect();
                let mut split: Vec<(&AccountId32, u16)> =
                    chosen.iter().map(|p| (*p, 10_000 / n as u16)).collect();
                split[0].1 += 10_000 - (10_000 / n as u16) * n as u16;
                let asset = if rng.gen_bool(0.5) {
                    Asset::Native
                } else {
                    token
                };
                let price: Balance = rng.gen_range(1..1_000_000);
                let mut data = SealedDataset::new(&[step as u8; 5_000], 4096);
                let tampered = rng.gen_bool(0.3);
                if tampered {
                    data = data.tamper_chunk(0);
                }
                let mut offer = data.offer(price, asset, &split);
                if rng.gen_bool(0.2) {
                    offer.max_purchases = Some(rng.gen_range(1..4));
                }
                let bond = rng.gen_range(1_000..3_000);
                let outcome = m
                    .call::<OfferId>(&owner, "create_offer", &offer, bond)
                    .unwrap();
                if let Ok(id) = outcome.value {
                    offers.push((id, owner, Rc::new(data), tampered));
                }
                ("create_offer", outcome.value.is_ok())
            }
            12..=36 if !offers.is_empty() => {
                let offer_id = offers.choose(&mut rng).unwrap().0;
                let buyer_index = rng.gen_range(0..buyers.len());
                let buyer = buyers[buyer_index].clone();
                let buyer_pk = secrets[buyer_index].public_key().0;
                let offer = m.offer(offer_id).unwrap();
                // Mostly the right payment, sometimes a wrong one that must be refused.
                let mut value = if offer.asset == Asset::Native {
                    offer.price
                } else {
                    0
                };
                if rng.gen_bool(0.1) {
                    value += 1;
                }
                let outcome = m
                    .call::<PurchaseId>(&buyer, "purchase", &(offer_id, buyer_pk), value)
                    .unwrap();
                if let Ok(id) = outcome.value {
                    purchases.push((id, buyer_index));
                }
                ("purchase", outcome.value.is_ok())
            }
            37..=54 if !purchases.is_empty() => {
                let id = purchases.choose(&mut rng).unwrap().0;
                let offer_id = m.purchase(id).unwrap().offer_id;
                let (_, owner, data, _) = offers.iter().find(|o| o.0 == offer_id).unwrap();
                // Usually the owner, sometimes an impostor; mostly a good envelope.
                let caller = if rng.gen_bool(0.9) {
                    owner.clone()
                } else {
                    buyers[0].clone()
                };
                let envelope = if rng.gen_bool(0.7) {
                    m.seal_for(id, &data.dek)
                } else {
                    [9u8; 80]
                };
                let outcome = m
                    .call::<()>(&caller, "deliver", &(id, envelope), 0)
                    .unwrap();
                ("deliver", outcome.value.is_ok())
            }
            55..=66 if !purchases.is_empty() => {
                let id = purchases.choose(&mut rng).unwrap().0;
                let caller = everyone.choose(&mut rng).unwrap().clone();
                let outcome = m.call::<()>(&caller, "settle", &id, 0).unwrap();
                ("settle", outcome.value.is_ok())
            }
            67..=74 if !purchases.is_empty() => {
                let id = purchases.choose(&mut rng).unwrap().0;
                let caller = everyone.choose(&mut rng).unwrap().clone();
                let outcome = m.call::<()>(&caller, "refund", &id, 0).unwrap();
                ("refund", outcome.value.is_ok())
            }
            75..=84 => {
                let caller = everyone.choose(&mut rng).unwrap().clone();
                let asset = if rng.gen_bool(0.5) {
                    Asset::Native
                } else {
                    token
                };
                let credit = m.credit_of(&caller, asset);
                let outcome = m.call::<Balance>(&caller, "withdraw", &asset, 0).unwrap();
                assert_eq!(outcome.value.is_ok(), credit > 0, "step {step}: withdraw");
                ("withdraw", outcome.value.is_ok())
            }
            85..=89 if !offers.is_empty() => {
                let (offer_id, owner, _, _) = offers.choose(&mut rng).unwrap().clone();
                let message = ["pause_offer", "resume_offer", "delist_offer"]
                    .choose(&mut rng)
                    .unwrap();
                let outcome = m.call::<()>(&owner, message, &offer_id, 0).unwrap();
                ("offer status", outcome.value.is_ok())
            }
            90..=92 => {
                let fee: u16 = rng.gen_range(0..=1_100); // above the cap sometimes
                let recipient = to_ink(&m.fee_recipient);
                let outcome = m
                    .call::<()>(&admin, "set_fee", &(fee, recipient), 0)
                    .unwrap();
                assert_eq!(outcome.value.is_ok(), fee <= 1_000, "step {step}: set_fee");
                ("set_fee", outcome.value.is_ok())
            }
            93..=96 if !purchases.is_empty() => {
                // Mostly a delivered purchase, sometimes any (to be refused).
                let delivered: Vec<_> = purchases
                    .iter()
                    .filter(|(id, _)| m.purchase(*id).unwrap().status == PurchaseStatus::Delivered)
                    .copied()
                    .collect();
                let (id, buyer_index) = if !delivered.is_empty() && rng.gen_bool(0.9) {
                    *delivered.choose(&mut rng).unwrap()
                } else {
                    *purchases.choose(&mut rng).unwrap()
                };
                let buyer = buyers[buyer_index].clone();
                let offer_id = m.purchase(id).unwrap().offer_id;
                let (_, _, data, tampered) = offers.iter().find(|o| o.0 == offer_id).unwrap();
                if *tampered && rng.gen_bool(0.5) {
                    let (chunk, siblings) = data.proof(0);
                    let args = (id, *data.dek.expose_secret(), 0u64, chunk, siblings);
                    let outcome = m
                        .call::<()>(&buyer, "dispute_chunk", &args, DISPUTE_BOND)
                        .unwrap();
                    ("dispute_chunk", outcome.value.is_ok())
                } else {
                    let secret = *secrets[buyer_index].expose_secret();
                    let outcome = m
                        .call::<bool>(&buyer, "dispute", &(id, secret), DISPUTE_BOND)
                        .unwrap();
                    ("dispute", outcome.value.is_ok())
                }
            }
            _ => {
                m.chain.build_blocks(rng.gen_range(1..=3));
                ("blocks", true)
            }
        };
        if ok {
            *succeeded.entry(name).or_default() += 1;
        }
        if let Err(broken) = m.check_solvency() {
            panic!("step {step} ({name}): {broken} (seed {seed})");
        }
    }

    // Drain: deliver or refund everything, settle, and let everyone withdraw; the
    // marketplace must then owe nothing but the bonds of offers still listed.
    m.chain.build_blocks(10);
    for &(id, _) in &purchases {
        let purchase = m.purchase(id).unwrap();
        let caller = everyone[0].clone();
        match purchase.status {
            PurchaseStatus::Pending => m.must::<()>(&caller, "refund", &id, 0),
            PurchaseStatus::Delivered | PurchaseStatus::Disputed => {
                m.must::<()>(&caller, "settle", &id, 0)
            }
            _ => {}
        }
    }
    for account in &everyone {
        for asset in [Asset::Native, token] {
            if m.credit_of(account, asset) > 0 {
                m.must::<Balance>(account, "withdraw", &asset, 0);
            }
        }
    }
    m.check_solvency().unwrap();
    for asset in [Asset::Native, token] {
        let owed = m.liabilities(asset);
        assert_eq!((owed.escrow, owed.credited), (0, 0), "{asset:?}");
    }
    println!("successful calls: {succeeded:?}");
    // The walk must have exercised every path, not just refusals.
    for name in [
        "create_offer",
        "purchase",
        "deliver",
        "settle",
        "refund",
        "withdraw",
        "dispute",
    ] {
        assert!(
            succeeded.get(name).copied().unwrap_or(0) > 0,
            "no successful {name}"
        );
    }
}
