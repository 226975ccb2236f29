//! `dispute`: the buyer's local check, then the on-chain dispute that risks its bond.

use std::fmt;

use chain::{market_types::PurchaseId, Balance, Signer};
use sealer::{BuyerPublicKey, EnvelopeContext, KeyCommitment, KeyOpener, SealedEnvelope};
use serde::Serialize;

use super::Settings;
use crate::{market::Market, Error, Result};

/// The outcome of `dispute`.
#[derive(Debug, Clone, Serialize)]
pub struct Disputed {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// True if the contract found the delivery bad: payment, bond and penalty credited
    /// to the buyer.
    pub buyer_won: bool,
    /// The dispute bond sent (native).
    pub bond: Balance,
    /// The purchase's status now.
    pub status: String,
}

impl fmt::Display for Disputed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.buyer_won {
            write!(
                f,
                "purchase {}: the contract found the key delivery bad; the payment, the bond of {} and the penalty are credited to you (`datamarket withdraw`)",
                self.purchase_id, self.bond
            )
        } else {
            write!(
                f,
                "purchase {}: the envelope opened to the committed key; the dispute failed and the bond of {} went to the owner",
                self.purchase_id, self.bond
            )
        }
    }
}

/// Disputes a delivered purchase's key: reveals this purchase's X25519 secret (from the
/// keystore) to the marketplace, which opens the envelope as the sealer does and compares
/// the key with the offer's commitment, sending the admin's dispute bond. It first does
/// the same check locally and refuses to dispute an envelope that opens to the committed
/// key (the bond would be lost) unless `force`.
///
/// # Errors
/// An unknown or undelivered purchase, no key in the keystore, a good envelope without
/// `force`, or the marketplace's refusal (not the buyer, window closed, ...).
pub fn dispute(
    settings: &Settings,
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
    force: bool,
) -> Result<Disputed> {
    let purchase = market.purchase(purchase_id)?;
    let envelope = purchase.envelope.ok_or_else(|| {
        Error::invalid(format!(
            "purchase {purchase_id} has no key delivered; nothing to dispute (after block {} `datamarket refund {purchase_id}` returns the payment)",
            purchase.delivery_deadline
        ))
    })?;
    let public = BuyerPublicKey(purchase.buyer_pk);
    let key = settings.keystore.purchase_key(&public)?.ok_or_else(|| {
        Error::invalid(format!(
            "the keystore {} has no key for purchase {purchase_id}: only its buyer can dispute",
            settings.keystore.root().display()
        ))
    })?;
    let offer = market.offer(purchase.offer_id)?;
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id: purchase.offer_id,
        purchase_id,
    };
    let good = key
        .open(&SealedEnvelope(envelope), &context)
        .is_ok_and(|dek| {
            dek.check_commitment(&KeyCommitment(offer.key_commitment))
                .is_ok()
        });
    if good && !force {
        return Err(Error::invalid(format!(
            "the key delivered for purchase {purchase_id} opens and matches the offer's key commitment: a dispute would fail and cost the dispute bond; `--force` disputes anyway"
        )));
    }
    let bond = market.config()?.dispute_bond;
    let buyer_won: bool = market.call(
        signer,
        format!("dispute purchase {purchase_id}"),
        "dispute",
        &(purchase_id, *key.expose_secret()),
        bond,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(Disputed {
        purchase_id,
        buyer_won,
        bond,
        status: format!("{:?}", purchase.status).to_lowercase(),
    })
}
