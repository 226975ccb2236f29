//! Every money path of the marketplace on the real pallet-contracts runtime, with the
//! built bundles and real native and PSP22 balances.

use contract_harness::{
    market::{sample_offer, Market, Settings},
    market_types::{decode::MarketEvent, Asset, OfferId, OfferStatus, PurchaseId, PurchaseStatus},
    to_ink, Balance, Outcome,
};
use ink_sandbox::AccountId32;

const BUYER_PK: [u8; 32] = [0x42; 32];
const ENVELOPE: [u8; 80] = [0x5a; 80];

fn market() -> Market {
    Market::deploy(&Settings::default()).expect("deploy; run scripts/build-contracts first")
}

/// Native balance change of `who` caused by a call, net of the storage deposit it paid
/// or got back, so that assertions are about the money the contract moved.
fn net_change<R>(before: Balance, after: Balance, outcome: &Outcome<R>) -> i128 {
    let delta = i128::try_from(after).unwrap() - i128::try_from(before).unwrap();
    delta + outcome.storage_deposit
}

fn names(outcome: &Outcome<impl Sized>) -> Vec<&'static str> {
    outcome
        .events
        .iter()
        .map(|e| {
            e.decode_market()
                .expect("a marketplace event")
                .expect("decodes")
                .name()
        })
        .collect()
}

struct Sale {
    offer_id: OfferId,
    purchase_id: PurchaseId,
}

/// Lists an offer split among three payees and buys it, checking escrow on the way.
fn list_and_buy(m: &mut Market, asset: Asset, price: Balance, payees: &[AccountId32; 3]) -> Sale {
    let owner = m.chain.account("owner");
    let buyer = m.chain.account("buyer");
    let offer = sample_offer(
        price,
        asset,
        &[
            (&payees[0], 5_000),
            (&payees[1], 3_000),
            (&payees[2], 2_000),
        ],
    );
    let bond = m.config().min_bond;
    let outcome = m
        .call::<OfferId>(&owner, "create_offer", &offer, bond)
        .unwrap();
    let offer_id = outcome.value.unwrap();
    assert_eq!(names(&outcome), ["OfferCreated"]);
    m.check_solvency().unwrap();

    let value = if asset == Asset::Native { price } else { 0 };
    let native_before = m.chain.free_balance(&buyer);
    let outcome = m
        .call::<PurchaseId>(&buyer, "purchase", &(offer_id, BUYER_PK), value)
        .unwrap();
    let purchase_id = outcome.value.unwrap();
    assert_eq!(
        net_change(native_before, m.chain.free_balance(&buyer), &outcome),
        -i128::try_from(value).unwrap()
    );
    let events: Vec<_> = outcome
        .events
        .iter()
        .filter_map(|e| e.decode_market())
        .map(|e| e.unwrap())
        .collect();
    match &events[..] {
        [MarketEvent::PurchaseCreated(e)] => {
            assert_eq!(
                (e.purchase_id, e.offer_id, e.amount),
                (purchase_id, offer_id, price)
            );
            assert_eq!(e.buyer, to_ink(&buyer));
            assert_eq!(e.buyer_pk, BUYER_PK);
        }
        other => panic!("unexpected events {other:?}"),
    }
    assert_eq!(m.liabilities(asset).escrow, price);
    m.check_solvency().unwrap();
    Sale {
        offer_id,
        purchase_id,
    }
}

/// Delivers, waits out the window, settles, and checks each credit to the unit.
/// `bond_released` is the bond that settling this last open purchase of a delisted offer
/// credits back to its owner.
fn deliver_and_settle(
    m: &mut Market,
    sale: &Sale,
    asset: Asset,
    price: Balance,
    payees: &[AccountId32; 3],
    bond_released: Balance,
) {
    let owner = m.chain.account("owner");
    let anyone = m.chain.account("anyone");
    let outcome = m
        .call::<()>(&owner, "deliver", &(sale.purchase_id, ENVELOPE), 0)
        .unwrap();
    assert_eq!(outcome.value, Ok(()));
    assert_eq!(names(&outcome), ["KeyDelivered"]);
    let purchase = m.purchase(sale.purchase_id).unwrap();
    assert_eq!(purchase.status, PurchaseStatus::Delivered);
    assert_eq!(purchase.envelope, Some(ENVELOPE));

    let window = m.config().dispute_window;
    m.chain.build_blocks(window);
    let early = m
        .call::<()>(&anyone, "settle", &sale.purchase_id, 0)
        .unwrap();
    assert_eq!(
        early.value,
        Err(contract_harness::market_types::Error::DisputeWindowOpen)
    );
    m.chain.build_blocks(1);
    let outcome = m
        .call::<()>(&anyone, "settle", &sale.purchase_id, 0)
        .unwrap();
    assert_eq!(outcome.value, Ok(()));

    // fee 2.5% rounded down, the rest split 50/30/20 rounded down, dust to the first.
    let fee = price * 250 / 10_000;
    let rest = price - fee;
    let shares = [
        rest * 5_000 / 10_000,
        rest * 3_000 / 10_000,
        rest * 2_000 / 10_000,
    ];
    let dust = rest - shares.iter().sum::<u128>();
    let expected = [shares[0] + dust, shares[1], shares[2]];
    match outcome.events[0].decode_market().unwrap().unwrap() {
        MarketEvent::PurchaseSettled(e) => {
            assert_eq!(e.fee, fee);
            let paid: Vec<_> = e.payouts.iter().map(|p| p.1).collect();
            assert_eq!(paid, expected);
        }
        other => panic!("unexpected {other:?}"),
    }
    for (payee, amount) in payees.iter().zip(expected) {
        assert_eq!(m.credit_of(payee, asset), amount);
    }
    let fee_recipient = m.fee_recipient.clone();
    assert_eq!(m.credit_of(&fee_recipient, asset), fee);
    assert_eq!(m.liabilities(asset).escrow, 0);
    assert_eq!(m.liabilities(asset).credited, price + bond_released);
    assert_eq!(
        m.purchase(sale.purchase_id).unwrap().status,
        PurchaseStatus::Settled
    );
    assert_eq!(m.offer(sale.offer_id).unwrap().open_purchases, 0);
    m.check_solvency().unwrap();
}

/// Every payee and the fee recipient withdraws; each receives exactly its credit.
fn everyone_withdraws(m: &mut Market, asset: Asset, accounts: &[AccountId32]) {
    for account in accounts {
        let credit = m.credit_of(account, asset);
        assert!(credit > 0);
        let native_before = m.chain.free_balance(account);
        let tokens_before = m.token_balance(account);
        let outcome = m.call::<Balance>(account, "withdraw", &asset, 0).unwrap();
        assert_eq!(outcome.value, Ok(credit));
        let native_change = net_change(native_before, m.chain.free_balance(account), &outcome);
        let token_change = m.token_balance(account) - tokens_before;
        match asset {
            Asset::Native => assert_eq!(
                (native_change, token_change),
                (i128::try_from(credit).unwrap(), 0)
            ),
            Asset::Psp22(_) => assert_eq!((native_change, token_change), (0, credit)),
        }
        assert_eq!(m.credit_of(account, asset), 0);
        m.check_solvency().unwrap();
    }
    assert_eq!(m.liabilities(asset).credited, 0);
}

fn payees(m: &mut Market) -> [AccountId32; 3] {
    [
        m.chain.account("alice"),
        m.chain.account("bob"),
        m.chain.account("carol"),
    ]
}

#[test]
fn native_purchase_deliver_settle_and_every_payee_withdraws() {
    let mut m = market();
    let payees = payees(&mut m);
    let price = 1_000_003; // not divisible: exercises rounding dust
    let sale = list_and_buy(&mut m, Asset::Native, price, &payees);
    deliver_and_settle(&mut m, &sale, Asset::Native, price, &payees, 0);
    let mut everyone = payees.to_vec();
    everyone.push(m.fee_recipient.clone());
    everyone_withdraws(&mut m, Asset::Native, &everyone);
}

#[test]
fn psp22_purchase_deliver_settle_and_every_payee_withdraws() {
    let mut m = market();
    let payees = payees(&mut m);
    let buyer = m.chain.account("buyer");
    let price = 777_777;
    m.fund_tokens(&buyer, price);
    m.approve_market(&buyer, price);
    let asset = m.token_asset();
    let sale = list_and_buy(&mut m, asset, price, &payees);
    assert_eq!(m.token_balance(&buyer), 0);
    let market = m.market.address.clone();
    assert_eq!(m.token_balance(&market), price);
    deliver_and_settle(&mut m, &sale, asset, price, &payees, 0);
    let mut everyone = payees.to_vec();
    everyone.push(m.fee_recipient.clone());
    everyone_withdraws(&mut m, asset, &everyone);
    assert_eq!(m.token_balance(&market), 0);
}

#[test]
fn refund_after_the_deadline_when_nothing_was_delivered() {
    let mut m = market();
    let payees = payees(&mut m);
    let buyer = m.chain.account("buyer");
    let price = 5_000;
    let sale = list_and_buy(&mut m, Asset::Native, price, &payees);
    let deadline = m.purchase(sale.purchase_id).unwrap().delivery_deadline;
    let now = m.chain.block_number();
    m.chain.build_blocks(deadline - now);
    let early = m
        .call::<()>(&buyer, "refund", &sale.purchase_id, 0)
        .unwrap();
    assert_eq!(
        early.value,
        Err(contract_harness::market_types::Error::DeliveryDeadlineNotReached)
    );
    m.chain.build_blocks(1);
    // The owner can no longer deliver, and anyone can trigger the refund.
    let owner = m.chain.account("owner");
    let late = m
        .call::<()>(&owner, "deliver", &(sale.purchase_id, ENVELOPE), 0)
        .unwrap();
    assert_eq!(
        late.value,
        Err(contract_harness::market_types::Error::DeliveryDeadlinePassed)
    );
    let anyone = m.chain.account("anyone");
    let outcome = m
        .call::<()>(&anyone, "refund", &sale.purchase_id, 0)
        .unwrap();
    assert_eq!(outcome.value, Ok(()));
    assert_eq!(names(&outcome), ["PurchaseRefunded"]);
    assert_eq!(
        m.purchase(sale.purchase_id).unwrap().status,
        PurchaseStatus::Refunded
    );
    assert_eq!(m.credit_of(&buyer, Asset::Native), price);
    for payee in &payees {
        assert_eq!(m.credit_of(payee, Asset::Native), 0);
    }
    m.check_solvency().unwrap();
    everyone_withdraws(&mut m, Asset::Native, &[buyer]);
}

#[test]
fn fee_is_fixed_at_purchase_time_and_dust_goes_to_the_first_payee() {
    let mut m = market();
    let admin = m.admin.clone();
    let fee_recipient = m.fee_recipient.clone();
    let payees = payees(&mut m);
    let owner = m.chain.account("owner");
    let buyer = m.chain.account("buyer");
    // 3 payees at 3333/3333/3334 bps of a price of 100: shares 33, 33, 33 (+1 dust).
    let offer = sample_offer(
        100,
        Asset::Native,
        &[
            (&payees[0], 3_333),
            (&payees[1], 3_333),
            (&payees[2], 3_334),
        ],
    );
    let offer_id: OfferId = m.must(&owner, "create_offer", &offer, 1_000);
    m.must::<()>(&admin, "set_fee", &(0u16, to_ink(&fee_recipient)), 0);
    let first: PurchaseId = m.must(&buyer, "purchase", &(offer_id, BUYER_PK), 100);
    m.must::<()>(&admin, "set_fee", &(1_000u16, to_ink(&fee_recipient)), 0);
    let second: PurchaseId = m.must(&buyer, "purchase", &(offer_id, BUYER_PK), 100);
    for id in [first, second] {
        m.must::<()>(&owner, "deliver", &(id, ENVELOPE), 0);
    }
    m.chain.build_blocks(6);
    for id in [first, second] {
        m.must::<()>(&buyer, "settle", &id, 0);
    }
    // First: no fee, 100 -> 33+1, 33, 33. Second: fee 10, 90 -> 29+2, 29, 30.
    assert_eq!(m.credit_of(&fee_recipient, Asset::Native), 10);
    assert_eq!(m.credit_of(&payees[0], Asset::Native), 34 + 31);
    assert_eq!(m.credit_of(&payees[1], Asset::Native), 33 + 29);
    assert_eq!(m.credit_of(&payees[2], Asset::Native), 33 + 30);
    m.check_solvency().unwrap();
}

#[test]
fn delisting_returns_the_bond_once_no_purchase_is_open() {
    let mut m = market();
    let payees = payees(&mut m);
    let owner = m.chain.account("owner");
    let sale = list_and_buy(&mut m, Asset::Native, 9_000, &payees);
    let outcome = m
        .call::<()>(&owner, "delist_offer", &sale.offer_id, 0)
        .unwrap();
    assert_eq!(outcome.value, Ok(()));
    assert_eq!(names(&outcome), ["OfferStatusChanged"]); // purchase open: bond stays
    assert_eq!(m.credit_of(&owner, Asset::Native), 0);
    assert_eq!(m.liabilities(Asset::Native).bonds, 1_000);
    assert_eq!(
        m.offer(sale.offer_id).unwrap().status,
        OfferStatus::Delisted
    );
    // Delisting does not cancel the open purchase: the owner still delivers.
    deliver_and_settle(&mut m, &sale, Asset::Native, 9_000, &payees, 1_000);
    assert_eq!(m.credit_of(&owner, Asset::Native), 1_000);
    assert_eq!(m.liabilities(Asset::Native).bonds, 0);
    m.check_solvency().unwrap();
    let mut everyone = payees.to_vec();
    everyone.push(m.fee_recipient.clone());
    everyone.push(owner);
    everyone_withdraws(&mut m, Asset::Native, &everyone);
}
