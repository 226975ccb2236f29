//! The marketplace flow on the in-process pallet-contracts runtime, step by step, with
//! the balances at the end: two owners list datasets (one a data union of three
//! contributors paid in the PSP22 token), two buyers pay, the owners deliver sealed keys,
//! the purchases settle after the dispute window, and every payee withdraws.
//!
//! The envelopes here are placeholder bytes: sealing real keys is the sealer's job and
//! joins this flow with the user CLI.

use anyhow::{ensure, Context, Result};
use contract_harness::{
    market::{sample_offer, Market, Settings},
    market_types::{Asset, OfferId, PurchaseId},
    Balance,
};
use drink::AccountId32;

fn main() -> Result<()> {
    let settings = Settings::default();
    println!("1. deploy the PSP22 token and the marketplace (fee {} bps, delivery within {} blocks, dispute window {} blocks, min bond {})",
        settings.fee_bps, settings.delivery_period, settings.dispute_window, settings.min_bond);
    let mut m = Market::deploy(&settings).context("deploying; did scripts/build-contracts run?")?;
    println!("   token       {}", m.token.address);
    println!("   marketplace {}", m.market.address);

    let ada = m.chain.account("ada");
    let union = [
        m.chain.account("union-kim"),
        m.chain.account("union-lee"),
        m.chain.account("union-max"),
    ];
    let ben = m.chain.account("ben");
    let cleo = m.chain.account("cleo");
    let token = m.token_asset();
    let bond = settings.min_bond;

    println!("2. ada lists her sleep diary for 50 000 native units");
    let mut sleep = sample_offer(50_000, Asset::Native, &[(&ada, 10_000)]);
    sleep.metadata.title = "Sleep diary 2024-2025".into();
    sleep.metadata.tags = vec!["health".into(), "sleep".into()];
    let sleep_id: OfferId = m.must(&ada, "create_offer", &sleep, bond);
    println!("   offer {sleep_id}");

    println!(
        "3. a data union of three cyclists lists its pooled rides for 90 001 DMT, split 50/30/20"
    );
    let mut rides = sample_offer(
        90_001,
        token,
        &[(&union[0], 5_000), (&union[1], 3_000), (&union[2], 2_000)],
    );
    rides.metadata.title = "Riverside cycling union: rides".into();
    rides.metadata.tags = vec!["mobility".into(), "gps".into()];
    let rides_id: OfferId = m.must(&union[0], "create_offer", &rides, bond);
    println!("   offer {rides_id}");

    println!("4. ben buys the sleep diary, paying 50 000 native units into escrow");
    let ben_purchase: PurchaseId = m.must(&ben, "purchase", &(sleep_id, [0xb0u8; 32]), 50_000);
    println!("   purchase {ben_purchase}");
    println!("5. cleo gets 90 001 DMT, approves the marketplace and buys the rides");
    m.fund_tokens(&cleo, 90_001);
    m.approve_market(&cleo, 90_001);
    let cleo_purchase: PurchaseId = m.must(&cleo, "purchase", &(rides_id, [0xc0u8; 32]), 0);
    println!("   purchase {cleo_purchase}");
    m.check_solvency().map_err(anyhow::Error::msg)?;

    println!("6. the owners deliver the data keys sealed to each buyer's key");
    m.must::<()>(&ada, "deliver", &(ben_purchase, [0xaau8; 80]), 0);
    m.must::<()>(&union[0], "deliver", &(cleo_purchase, [0xabu8; 80]), 0);

    let blocks = settings.dispute_window + 1;
    println!("7. {blocks} blocks pass; the dispute window closes; anyone settles");
    m.chain.build_blocks(blocks);
    m.must::<()>(&ben, "settle", &ben_purchase, 0);
    m.must::<()>(&cleo, "settle", &cleo_purchase, 0);
    m.check_solvency().map_err(anyhow::Error::msg)?;

    println!("8. every payee and the fee recipient withdraws");
    let fee_recipient = m.fee_recipient.clone();
    let mut payees: Vec<(&str, AccountId32)> = vec![("ada", ada.clone())];
    for (name, account) in ["union-kim", "union-lee", "union-max"].iter().zip(&union) {
        payees.push((name, account.clone()));
    }
    payees.push(("fee-recipient", fee_recipient));
    for (name, account) in &payees {
        for asset in [Asset::Native, token] {
            if m.credit_of(account, asset) > 0 {
                let paid: Balance = m.must(account, "withdraw", &asset, 0);
                let unit = if asset == Asset::Native {
                    "native"
                } else {
                    "DMT"
                };
                println!("   {name:<14} withdrew {paid:>7} {unit}");
            }
        }
    }
    m.check_solvency().map_err(anyhow::Error::msg)?;
    let owed = m.liabilities(Asset::Native);
    ensure!(
        owed.escrow == 0 && owed.credited == 0,
        "native still owed: {owed:?}"
    );

    println!("9. final balances (native: free balance; each account started with {}, and bonds and storage deposits moved some)",
        contract_harness::ENDOWMENT);
    println!("   {:<14} {:>20} {:>10}", "account", "native", "DMT");
    let mut everyone = payees.clone();
    everyone.push(("ben", ben));
    everyone.push(("cleo", cleo));
    let market = m.market.address.clone();
    everyone.push(("marketplace", market));
    for (name, account) in &everyone {
        let native = m.chain.free_balance(account);
        let dmt = m.token_balance(account);
        println!("   {name:<14} {native:>20} {dmt:>10}");
    }
    println!(
        "   the marketplace holds the two owners' bonds: {}",
        m.liabilities(Asset::Native).bonds
    );
    Ok(())
}
