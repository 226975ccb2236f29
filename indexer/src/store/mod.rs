//! Applying events to the derived tables, a batch at a time.
//!
//! A batch's events are folded, in chain order, into a [`Changes`] set in memory: new
//! rows, patches of existing offers and purchases (fields to set, counters to add), and
//! additive balance changes. It is then written with a handful of set-based statements,
//! whatever the batch's size: new rows by binary COPY, changes of existing rows by one
//! UPDATE per table over `unnest`ed arrays. The fold only ever sets fields or adds
//! to counters, so the final tables do not depend on where batch boundaries fall: the live
//! run and `indexer rebuild` (which replays `raw_events` in different batches) end in the
//! same rows.

mod fold;
mod write;

pub use write::{NewRows, Numeric};

use std::collections::BTreeMap;

use chain::AccountId;
use market_types::{Asset, OfferMetadata};
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::IndexerError;

/// The `asset` column of an asset: empty for native, else the token's address.
pub fn asset_key(asset: &Asset) -> Vec<u8> {
    match asset {
        Asset::Native => Vec::new(),
        Asset::Psp22(token) => bytes(token).to_vec(),
    }
}

fn bytes(account: &AccountId) -> [u8; 32] {
    *AsRef::<[u8; 32]>::as_ref(account)
}

struct NewOffer {
    owner: [u8; 32],
    content_root: [u8; 32],
    header: Vec<u8>,
    key_commitment: [u8; 32],
    price: u128,
    asset: Vec<u8>,
    uri: String,
    metadata: OfferMetadata,
    bond: u128,
    max_purchases: Option<u32>,
    status: &'static str,
    created_block: u32,
}

/// What a batch changes in an offer that already exists.
#[derive(Default)]
struct OfferPatch {
    price: Option<u128>,
    listing: Option<(String, OfferMetadata)>,
    status: Option<&'static str>,
    purchases: i64,
    open_purchases: i64,
    revenue: u128,
    /// Taken from the bond by successful disputes.
    bond_spent: u128,
    bond_released: bool,
    updated_block: u32,
}

struct NewPurchase {
    offer_id: u64,
    buyer: [u8; 32],
    buyer_pk: [u8; 32],
    amount: u128,
    asset: Vec<u8>,
    fee_bps: u16,
    delivery_deadline: u32,
    created_block: u32,
}

#[derive(Default)]
struct PurchasePatch {
    status: Option<&'static str>,
    envelope: Option<Vec<u8>>,
    dispute_deadline: Option<u32>,
    delivered_block: Option<u32>,
    settled_block: Option<u32>,
    refunded_block: Option<u32>,
    disputed_block: Option<u32>,
    updated_block: u32,
}

#[derive(Default)]
struct ConfigPatch {
    config: Option<Value>,
    paused: Option<bool>,
    admin: Option<[u8; 32]>,
    code_hash: Option<[u8; 32]>,
    dispute_penalty: Option<u128>,
    updated_block: u32,
}

/// Credits and withdrawals of one account in one asset.
#[derive(Default)]
struct BalanceChange {
    credited: u128,
    withdrawn: u128,
    updated_block: u32,
}

/// Tokens in and out of one account.
#[derive(Default)]
struct TokenChange {
    received: u128,
    sent: u128,
    updated_block: u32,
}

/// An offer's split: (account, basis points), in order.
type Payees = Vec<([u8; 32], u16)>;
/// (purchase, offer, asset, fee, block, payouts).
type Settlement = (u64, u64, Vec<u8>, u128, u32, Vec<([u8; 32], u128)>);
/// (purchase, buyer, asset, amount, block).
type Refund = (u64, [u8; 32], Vec<u8>, u128, u32);
/// (block, event index, account, asset, amount).
type Withdrawal = (u32, u32, [u8; 32], Vec<u8>, u128);

/// Everything a batch of events changes in the derived tables.
#[derive(Default)]
pub struct Changes {
    new_offers: BTreeMap<u64, (NewOffer, Payees)>,
    offer_patches: BTreeMap<u64, OfferPatch>,
    new_purchases: BTreeMap<u64, NewPurchase>,
    purchase_patches: BTreeMap<u64, PurchasePatch>,
    settlements: Vec<Settlement>,
    refunds: Vec<Refund>,
    withdrawals: Vec<Withdrawal>,
    disputes: Vec<DisputeRow>,
    balances: BTreeMap<([u8; 32], Vec<u8>), BalanceChange>,
    token_balances: BTreeMap<([u8; 32], [u8; 32]), TokenChange>,
    config: Option<ConfigPatch>,
    /// The fee recipient in force, as far as the events have told (settlements credit
    /// the fee to it).
    fee_recipient: Option<[u8; 32]>,
    events: usize,
}

/// The fee recipient in force in the index (settlements credit the fee to it).
pub async fn fee_recipient(client: &impl GenericClient) -> Result<Option<[u8; 32]>, IndexerError> {
    let row = client
        .query_opt(
            "SELECT config ->> 'fee_recipient_hex' FROM market_config",
            &[],
        )
        .await?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .and_then(|h| hex::decode(h).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok()))
}

fn add(a: u128, b: u128) -> Result<u128, IndexerError> {
    a.checked_add(b)
        .ok_or_else(|| IndexerError::Inconsistent("an amount overflows u128".into()))
}

struct DisputeRow {
    purchase_id: u64,
    offer_id: u64,
    buyer: [u8; 32],
    kind: &'static str,
    chunk_index: Option<u64>,
    buyer_won: bool,
    asset: Vec<u8>,
    refund: u128,
    penalty: u128,
    bond: u128,
    revealed_key: Option<[u8; 32]>,
    block: u32,
}
