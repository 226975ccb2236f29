//! Prints the weight (ref_time, proof_size) of the marketplace's main messages beside a
//! PSP22 transfer measured in the same run, on the in-process pallet-contracts runtime.
//! Figures are what pallet-contracts charges (its benchmarked weights), not wall time,
//! so they repeat exactly from run to run.

use anyhow::{ensure, Context, Result};
use contract_harness::{
    market::{sample_offer, Market, Settings},
    market_types::{Asset, OfferId, PurchaseId},
    to_ink, Outcome,
};
use drink::Weight;
use scale::Decode;

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

    println!("weights on the in-process pallet-contracts runtime (ink_sandbox 5.1.1), same run");
    println!(
        "{:<28} {:>16} {:>12} {:>10} {:>10}",
        "message", "ref_time", "proof_size", "x ref", "x proof"
    );
    for (name, weight) in &rows {
        println!(
            "{:<28} {:>16} {:>12} {:>10.2} {:>10.2}",
            name,
            weight.ref_time(),
            weight.proof_size(),
            weight.ref_time() as f64 / baseline.ref_time() as f64,
            weight.proof_size() as f64 / baseline.proof_size() as f64,
        );
    }
    Ok(())
}
