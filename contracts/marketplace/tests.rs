//! Logic tests on ink!'s off-chain environment. Anything about balances runs on the
//! real pallet-contracts runtime in `contracts/harness/tests` (the off-chain
//! environment moves no funds).
// Test arithmetic on small known values.
#![allow(clippy::arithmetic_side_effects)]

use crate::marketplace::Marketplace;
use datamarket_fixtures::OfferBuilder;
use ink::env::{test, DefaultEnvironment};
use ink::primitives::AccountId;
use market_types::{Asset, Error, NewOffer, OfferStatus, MAX_FEE_BPS};

fn accounts() -> test::DefaultAccounts<DefaultEnvironment> {
    test::default_accounts::<DefaultEnvironment>()
}

fn set_caller(account: AccountId) {
    test::set_caller::<DefaultEnvironment>(account);
}

fn advance(blocks: u32) {
    for _ in 0..blocks {
        test::advance_block::<DefaultEnvironment>();
    }
}

fn new_offer() -> NewOffer {
    OfferBuilder::new()
        .price(1_000)
        .sole_payee(accounts().bob)
        .build()
}

fn market() -> Marketplace {
    set_caller(accounts().alice);
    Marketplace::new(250, accounts().eve, 10, 5, 0).unwrap()
}

#[ink::test]
fn constructor_refuses_bad_config() {
    set_caller(accounts().alice);
    assert_eq!(
        Marketplace::new(MAX_FEE_BPS + 1, accounts().eve, 10, 5, 0).err(),
        Some(Error::FeeTooHigh)
    );
    assert_eq!(
        Marketplace::new(0, accounts().eve, 0, 5, 0).err(),
        Some(Error::InvalidPeriod)
    );
}

#[ink::test]
fn offer_lifecycle_and_owner_checks() {
    let mut m = market();
    set_caller(accounts().bob);
    let id = m.create_offer(new_offer()).unwrap();
    assert_eq!(id, 1);
    set_caller(accounts().charlie);
    assert_eq!(m.update_price(id, 5), Err(Error::NotOfferOwner));
    assert_eq!(m.pause_offer(id), Err(Error::NotOfferOwner));
    set_caller(accounts().bob);
    assert_eq!(m.update_price(id, 0), Err(Error::ZeroPrice));
    m.update_price(id, 5).unwrap();
    assert_eq!(m.resume_offer(id), Err(Error::InvalidStatusChange));
    m.pause_offer(id).unwrap();
    m.resume_offer(id).unwrap();
    m.delist_offer(id).unwrap();
    assert_eq!(m.delist_offer(id), Err(Error::InvalidStatusChange));
    assert_eq!(m.update_price(id, 6), Err(Error::OfferDelisted));
    assert_eq!(m.offer(id).unwrap().price, 5);
    assert_eq!(m.offer(id).unwrap().status, OfferStatus::Delisted);
}

#[ink::test]
fn delivery_deadline_and_dispute_window_count_blocks() {
    let mut m = market();
    set_caller(accounts().bob);
    let offer_id = m.create_offer(new_offer()).unwrap();
    set_caller(accounts().charlie);
    test::set_value_transferred::<DefaultEnvironment>(1_000);
    let purchase_id = m.purchase(offer_id, [9; 32]).unwrap();
    test::set_value_transferred::<DefaultEnvironment>(0);
    let purchase = m.purchase_info(purchase_id).unwrap();
    assert_eq!(purchase.delivery_deadline, purchase.created_at + 10);
    assert_eq!(
        m.refund(purchase_id),
        Err(Error::DeliveryDeadlineNotReached)
    );
    assert_eq!(m.deliver(purchase_id, [1; 80]), Err(Error::NotOfferOwner));
    set_caller(accounts().bob);
    m.deliver(purchase_id, [1; 80]).unwrap();
    assert_eq!(m.deliver(purchase_id, [1; 80]), Err(Error::NotPending));
    assert_eq!(m.settle(purchase_id), Err(Error::DisputeWindowOpen));
    advance(5);
    assert_eq!(m.settle(purchase_id), Err(Error::DisputeWindowOpen));
    advance(1);
    m.settle(purchase_id).unwrap();
    assert_eq!(m.credit_of(accounts().eve, Asset::Native), 25);
    assert_eq!(m.credit_of(accounts().bob, Asset::Native), 975);
    assert_eq!(m.liabilities(Asset::Native).escrow, 0);
    assert_eq!(m.liabilities(Asset::Native).credited, 1_000);
}

#[ink::test]
fn admin_calls_need_the_admin() {
    let mut m = market();
    set_caller(accounts().bob);
    assert_eq!(m.set_fee(10, accounts().bob), Err(Error::NotAdmin));
    assert_eq!(m.set_paused(true), Err(Error::NotAdmin));
    assert_eq!(m.transfer_admin(accounts().bob), Err(Error::NotAdmin));
    set_caller(accounts().alice);
    assert_eq!(
        m.set_fee(MAX_FEE_BPS + 1, accounts().bob),
        Err(Error::FeeTooHigh)
    );
    m.transfer_admin(accounts().bob).unwrap();
    assert_eq!(m.set_paused(true), Err(Error::NotAdmin));
    set_caller(accounts().bob);
    m.set_paused(true).unwrap();
    assert_eq!(m.create_offer(new_offer()), Err(Error::MarketPaused));
}
