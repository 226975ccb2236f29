//! Prints the weight (ref_time, proof_size) of the marketplace's main messages beside a
//! PSP22 transfer measured in the same run, on the in-process pallet-contracts runtime.
//! Figures are what pallet-contracts charges (its benchmarked weights), not wall time,
//! so they repeat exactly from run to run.

use anyhow::{ensure, Context, Result};
use contract_harness::{
    market::{sample_offer, Market, SealedDataset, Settings},
    market_types::{Asset, OfferId, PurchaseId},
    to_ink, Bundle, Outcome, NODE_MAX_EXTRINSIC_REF_TIME,
};
use ink_sandbox::{AccountId32, Weight};
use scale::Decode;
use sealer::{BuyerSecretKey, DataKey};

/// substrate-contracts-node 0.42's block: 2e12 ref_time, 75% of it for normal calls.
const NODE_MAX_BLOCK_REF_TIME: u64 = 2_000_000_000_000;

/// Lists `data` as `owner`, buys it as `buyer` with a fresh X25519 key and delivers an
/// envelope of `sealed_key` (the offer's key, or a wrong one), all through the sealer.
fn delivered(
    m: &mut Market,
    owner: &AccountId32,
    buyer: &AccountId32,
    data: &SealedDataset,
    sealed_key: &DataKey,
) -> Result<(PurchaseId, BuyerSecretKey)> {
    let offer = data.offer(10_000, Asset::Native, &[(owner, 10_000)]);
    let offer_id: OfferId = m.must(owner, "create_offer", &offer, 1_000);
    let secret = BuyerSecretKey::generate()?;
    let purchase_id: PurchaseId = m.must(
        buyer,
        "purchase",
        &(offer_id, secret.public_key().0),
        10_000,
    );
    let envelope = m.seal_for(purchase_id, sealed_key);
    m.must::<()>(owner, "deliver", &(purchase_id, envelope), 0);
    Ok((purchase_id, secret))
}

/// Records the weight of a call that must have succeeded, and returns its value.
fn measured<R: Decode, E: std::fmt::Debug>(
    rows: &mut Vec<(String, Weight)>,
    name: &str,
    outcome: Outcome<std::result::Result<R, E>>,
) -> Result<R> {
    ensure!(!outcome.reverted, "{name} reverted");
    rows.push((name.to_owned(), outcome.gas_consumed));
    outcome
        .value
        .map_err(|e| anyhow::anyhow!("{name} failed: {e:?}"))
}

fn main() -> Result<()> {
    let mut m = Market::deploy(&Settings::default())
        .context("deploying; did scripts/build-contracts run?")?;
    let owner = m.chain.account("owner");
    let buyer = m.chain.account("buyer");
    let payees: Vec<_> = (0..3)
        .map(|i| m.chain.account(&format!("payee{i}")))
        .collect();
    let token = m.token_asset();
    let mut rows = Vec::new();

    // The baseline: one PSP22 transfer between two accounts that already hold tokens.
    m.fund_tokens(&buyer, 1_000_000);
    let admin = m.admin.clone();
    let outcome = m.token_call(
        &admin,
        "PSP22::transfer",
        &(to_ink(&buyer), 1_000u128, Vec::<u8>::new()),
    )?;
    let baseline = outcome.gas_consumed;
    measured(&mut rows, "PSP22::transfer (baseline)", outcome)?;

    let split = [
        (&payees[0], 5_000),
        (&payees[1], 3_000),
        (&payees[2], 2_000),
    ];
    let outcome = m.call::<OfferId>(
        &owner,
        "create_offer",
        &sample_offer(10_000, Asset::Native, &split),
        1_000,
    )?;
    let native_offer = measured(&mut rows, "create_offer (3 payees)", outcome)?;
    let token_offer: OfferId = m.must(
        &owner,
        "create_offer",
        &sample_offer(10_000, token, &split),
        1_000,
    );

    let outcome = m.call::<PurchaseId>(&buyer, "purchase", &(native_offer, [1u8; 32]), 10_000)?;
    let native_purchase = measured(&mut rows, "purchase (native)", outcome)?;
    m.approve_market(&buyer, 10_000);
    let outcome = m.call::<PurchaseId>(&buyer, "purchase", &(token_offer, [1u8; 32]), 0)?;
    let token_purchase = measured(&mut rows, "purchase (PSP22)", outcome)?;

    let outcome = m.call::<()>(&owner, "deliver", &(native_purchase, [2u8; 80]), 0)?;
    measured(&mut rows, "deliver", outcome)?;
    m.must::<()>(&owner, "deliver", &(token_purchase, [2u8; 80]), 0);
    m.chain.build_blocks(Settings::default().dispute_window + 1);
    let outcome = m.call::<()>(&buyer, "settle", &native_purchase, 0)?;
    measured(&mut rows, "settle (3 payees + fee)", outcome)?;
    m.must::<()>(&buyer, "settle", &token_purchase, 0);
    let outcome = m.call::<u128>(&payees[0], "withdraw", &Asset::Native, 0)?;
    measured(&mut rows, "withdraw (native)", outcome)?;
    let outcome = m.call::<u128>(&payees[0], "withdraw", &token, 0)?;
    measured(&mut rows, "withdraw (PSP22)", outcome)?;

    // Disputes (DESIGN §3), on envelopes, chunks and proofs made by the sealer, with the
    // gas limit a node gives one call.
    m.chain
        .set_gas_limit(Weight::from_parts(NODE_MAX_EXTRINSIC_REF_TIME, 8 << 20));
    m.must::<()>(&admin, "set_bonds", &(1_000u128, 500u128), 0);
    m.must::<()>(&admin, "set_dispute_penalty", &300u128, 0);
    let data = SealedDataset::new(&[1u8; 3 * 4096], 4096);
    let (purchase, secret) = delivered(&mut m, &owner, &buyer, &data, &data.dek)?;
    let outcome = m.call::<bool>(&buyer, "dispute", &(purchase, *secret.expose_secret()), 500)?;
    let won = measured(&mut rows, "dispute (good envelope: lost)", outcome)?;
    ensure!(!won, "a good envelope must not win");
    let (purchase, secret) = delivered(&mut m, &owner, &buyer, &data, &DataKey::generate()?)?;
    let outcome = m.call::<bool>(&buyer, "dispute", &(purchase, *secret.expose_secret()), 500)?;
    let won = measured(&mut rows, "dispute (bad envelope: won)", outcome)?;
    ensure!(won, "a bad envelope must win");
    for kib in [4u32, 64, 256] {
        let size = kib * 1024;
        let plaintext = vec![2u8; 2 * size as usize];
        let data = SealedDataset::new(&plaintext, size).tamper_chunk(0);
        let (purchase, _) = delivered(&mut m, &owner, &buyer, &data, &data.dek)?;
        let (chunk, siblings) = data.proof(0);
        let args = (purchase, *data.dek.expose_secret(), 0u64, chunk, siblings);
        let outcome = m.call::<()>(&buyer, "dispute_chunk", &args, 500)?;
        measured(
            &mut rows,
            &format!("dispute_chunk ({kib} KiB: won)"),
            outcome,
        )?;
    }

    println!("weights on the in-process pallet-contracts runtime (ink_sandbox 5.1.1), same run");
    println!(
        "{:<32} {:>16} {:>12} {:>10} {:>10} {:>9}",
        "message", "ref_time", "proof_size", "x ref", "x proof", "% block"
    );
    for (name, weight) in &rows {
        println!(
            "{:<32} {:>16} {:>12} {:>10.2} {:>10.2} {:>8.2}%",
            name,
            weight.ref_time(),
            weight.proof_size(),
            weight.ref_time() as f64 / baseline.ref_time() as f64,
            weight.proof_size() as f64 / baseline.proof_size() as f64,
            100.0 * weight.ref_time() as f64 / NODE_MAX_BLOCK_REF_TIME as f64,
        );
    }
    let heaviest = rows.iter().map(|(_, w)| w.ref_time()).max().unwrap_or(0);
    println!(
        "% block: of substrate-contracts-node 0.42's 2e12 ref_time block; one call may use \
         up to {NODE_MAX_EXTRINSIC_REF_TIME} (the normal class's max_extrinsic)"
    );
    ensure!(
        heaviest <= NODE_MAX_EXTRINSIC_REF_TIME,
        "a call needs {heaviest} ref_time, more than one node call may use"
    );
    for name in ["marketplace", "token"] {
        println!(
            "{name}.wasm: {} bytes (the node's limit: 262144)",
            Bundle::load(name)?.wasm.len()
        );
    }
    Ok(())
}
