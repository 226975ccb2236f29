//! `buy`: pay for an offer with a fresh X25519 key for the purchase.

use std::fmt;

use chain::{
    market_types::{Asset, OfferId, OfferStatus, PurchaseId},
    Balance, Signer,
};
use sealer::BuyerSecretKey;
use serde::Serialize;

use super::{asset_name, Settings};
use crate::{address, market::Market, Error, Result};

/// A purchase made.
#[derive(Debug, Clone, Serialize)]
pub struct Bought {
    /// Its id.
    pub purchase_id: PurchaseId,
    /// The offer.
    pub offer_id: OfferId,
    /// What was paid into escrow.
    pub amount: Balance,
    /// "native" or "token ADDR".
    pub asset: String,
    /// The owner must deliver by this block, else `refund`.
    pub delivery_deadline: u32,
}

impl fmt::Display for Bought {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "purchase {} of offer {}: paid {} ({}) into escrow",
            self.purchase_id, self.offer_id, self.amount, self.asset
        )?;
        write!(
            f,
            "  the key is due by block {}; then `datamarket fetch {} -o FILE`",
            self.delivery_deadline, self.purchase_id
        )
    }
}

/// Buys an offer with a fresh X25519 key (kept in the keystore) and pays its price.
///
/// # Errors
/// An unknown or closed offer, insufficient funds, or the marketplace's refusal.
pub fn buy(
    settings: &Settings,
    market: &mut Market,
    buyer: &Signer,
    offer_id: OfferId,
) -> Result<Bought> {
    let offer = market.offer(offer_id)?;
    match offer.status {
        OfferStatus::Active => {}
        OfferStatus::Paused => return Err(Error::invalid(format!("offer {offer_id} is paused"))),
        OfferStatus::Delisted => {
            return Err(Error::invalid(format!("offer {offer_id} is delisted")))
        }
    }
    let who = address::show(&buyer.account_id());
    let value = match offer.asset {
        Asset::Native => {
            let free = market.chain().free_balance(&buyer.account_id())?;
            if free <= offer.price {
                return Err(Error::invalid(format!(
                    "insufficient funds: {who} has {free} native units, offer {offer_id} costs {} plus fees",
                    offer.price
                )));
            }
            offer.price
        }
        Asset::Psp22(token) => {
            let held = market.token_balance(token, buyer.account_id())?;
            if held < offer.price {
                return Err(Error::invalid(format!(
                    "insufficient funds: {who} has {held} of token {}, offer {offer_id} costs {}",
                    address::show(&token),
                    offer.price
                )));
            }
            0
        }
    };
    // The key is on disk before any money moves: a crash after paying loses nothing.
    let key = BuyerSecretKey::generate()?;
    settings.keystore.save_purchase_key(&key)?;
    if let Asset::Psp22(token) = offer.asset {
        market.approve(buyer, token, offer.price)?;
    }
    let purchase_id = market.call::<PurchaseId>(
        buyer,
        format!("buy offer {offer_id}"),
        "purchase",
        &(offer_id, key.public_key().0),
        value,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(Bought {
        purchase_id,
        offer_id,
        amount: purchase.amount,
        asset: asset_name(&purchase.asset),
        delivery_deadline: purchase.delivery_deadline,
    })
}
