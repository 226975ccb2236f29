//! The marketplace's books: opening a purchase into escrow, pulling a PSP22 payment,
//! marking a delivery, credits, liabilities and closing purchases. Private to the
//! contract; its messages call these.

use ink::codegen::{Env as _, TraitCallBuilder};
use ink::prelude::vec::Vec;
use ink::primitives::AccountId;
use market_types::{
    events::{BondReleased, KeyDelivered, PurchaseCreated, PurchaseRefunded},
    Asset, Balance, Envelope, Error, Liabilities, Offer, OfferId, OfferStatus, Purchase,
    PurchaseId, PurchaseStatus, Result, X25519PublicKey,
};
use psp22::PSP22;

use crate::marketplace::{token_outcome, Marketplace};

impl Marketplace {
    /// The offer, if it can be bought now (active).
    pub(crate) fn buyable_offer(&self, offer_id: OfferId) -> Result<Offer> {
        let offer = self.get_offer(offer_id)?;
        match offer.status {
            OfferStatus::Active => Ok(offer),
            OfferStatus::Paused => Err(Error::OfferPaused),
            OfferStatus::Delisted => Err(Error::OfferDelisted),
        }
    }

    /// Opens a purchase of `offer` for `price` into escrow, for a dataset or a job alike:
    /// checks the buyer key and the value sent, stores the purchase and the offer, and
    /// emits `PurchaseCreated`. The caller then pulls a PSP22 payment ([`Self::pull_tokens`]),
    /// last, after every write.
    pub(crate) fn escrow(
        &mut self,
        offer_id: OfferId,
        offer: &mut Offer,
        buyer_pk: X25519PublicKey,
        price: Balance,
    ) -> Result<PurchaseId> {
        // Canonical and not of small order: a key nothing can be sealed to could be
        // neither delivered nor disputed (format v1's buyer-key rule).
        if datamarket_format::check_buyer_key(&buyer_pk).is_err() {
            return Err(Error::InvalidBuyerKey);
        }
        let expected_value = match offer.asset {
            Asset::Native => price,
            Asset::Psp22(_) => 0,
        };
        if self.env().transferred_value() != expected_value {
            return Err(Error::WrongPayment);
        }
        let now = self.env().block_number();
        let delivery_deadline = now
            .checked_add(self.config.delivery_period)
            .ok_or(Error::Overflow)?;
        let purchase_id = self
            .last_purchase_id
            .checked_add(1)
            .ok_or(Error::Overflow)?;
        self.last_purchase_id = purchase_id;
        offer.open_purchases = offer.open_purchases.checked_add(1).ok_or(Error::Overflow)?;
        self.offers.insert(offer_id, &*offer);
        let buyer = self.env().caller();
        let purchase = Purchase {
            offer_id,
            buyer,
            buyer_pk,
            amount: price,
            asset: offer.asset,
            fee_bps: self.config.fee_bps,
            created_at: now,
            delivery_deadline,
            envelope: None,
            delivered_at: None,
            dispute_deadline: None,
            status: PurchaseStatus::Pending,
        };
        self.purchases.insert(purchase_id, &purchase);
        self.change_liabilities(offer.asset, |l| {
            l.escrow = l.escrow.checked_add(price)?;
            Some(())
        })?;
        self.env().emit_event(PurchaseCreated {
            purchase_id,
            offer_id,
            buyer,
            buyer_pk,
            amount: price,
            asset: offer.asset,
            fee_bps: self.config.fee_bps,
            delivery_deadline,
        });
        Ok(purchase_id)
    }

    /// Pulls a PSP22 payment of `amount` from the caller (nothing for the native asset,
    /// which came with the call). A refusal reverts the whole call.
    pub(crate) fn pull_tokens(&mut self, asset: Asset, amount: Balance) -> Result<()> {
        if let Asset::Psp22(token) = asset {
            let buyer = self.env().caller();
            let this = self.env().account_id();
            let mut token: ink::contract_ref!(PSP22, ink::env::DefaultEnvironment) = token.into();
            token_outcome(
                token
                    .call_mut()
                    .transfer_from(buyer, this, amount, Vec::new())
                    .try_invoke(),
            )?;
        }
        Ok(())
    }

    /// Records a delivery (a dataset key or a job result's): the envelope, and the
    /// dispute window from now; emits `KeyDelivered`. The caller has checked that the
    /// owner calls, the purchase is pending and the deadline has not passed.
    pub(crate) fn mark_delivered(
        &mut self,
        purchase_id: PurchaseId,
        purchase: &mut Purchase,
        envelope: Envelope,
    ) -> Result<()> {
        let now = self.env().block_number();
        let dispute_deadline = now
            .checked_add(self.config.dispute_window)
            .ok_or(Error::Overflow)?;
        purchase.envelope = Some(envelope);
        purchase.delivered_at = Some(now);
        purchase.dispute_deadline = Some(dispute_deadline);
        purchase.status = PurchaseStatus::Delivered;
        self.purchases.insert(purchase_id, &*purchase);
        self.env().emit_event(KeyDelivered {
            purchase_id,
            offer_id: purchase.offer_id,
            envelope,
            dispute_deadline,
        });
        Ok(())
    }

    /// Refunds a pending purchase in full: credits the payment back to the buyer,
    /// releases its escrow, emits `PurchaseRefunded` and closes the purchase. For a
    /// delivery that never came (`refund`) and a job that failed (`fail_job`) alike.
    pub(crate) fn refund_to_buyer(
        &mut self,
        purchase_id: PurchaseId,
        purchase: &mut Purchase,
        offer: &mut Offer,
    ) -> Result<()> {
        purchase.status = PurchaseStatus::Refunded;
        self.purchases.insert(purchase_id, &*purchase);
        self.credit(purchase.buyer, purchase.asset, purchase.amount)?;
        self.change_liabilities(purchase.asset, |l| {
            l.escrow = l.escrow.checked_sub(purchase.amount)?;
            Some(())
        })?;
        self.env().emit_event(PurchaseRefunded {
            purchase_id,
            offer_id: purchase.offer_id,
            buyer: purchase.buyer,
            amount: purchase.amount,
            asset: purchase.asset,
        });
        self.close_purchase(purchase.offer_id, offer)
    }

    pub(crate) fn credit(
        &mut self,
        account: AccountId,
        asset: Asset,
        amount: Balance,
    ) -> Result<()> {
        let balance = self.credits.get((account, asset)).unwrap_or(0);
        let balance = balance.checked_add(amount).ok_or(Error::Overflow)?;
        self.credits.insert((account, asset), &balance);
        self.change_liabilities(asset, |l| {
            l.credited = l.credited.checked_add(amount)?;
            Some(())
        })
    }

    pub(crate) fn change_liabilities(
        &mut self,
        asset: Asset,
        change: impl FnOnce(&mut Liabilities) -> Option<()>,
    ) -> Result<()> {
        let mut liabilities = self.liabilities.get(asset).unwrap_or_default();
        change(&mut liabilities).ok_or(Error::Overflow)?;
        self.liabilities.insert(asset, &liabilities);
        Ok(())
    }

    /// A purchase of this offer was settled, refunded or resolved by a dispute.
    pub(crate) fn close_purchase(&mut self, offer_id: OfferId, offer: &mut Offer) -> Result<()> {
        offer.open_purchases = offer.open_purchases.checked_sub(1).ok_or(Error::Overflow)?;
        self.release_bond_if_closed(offer_id, offer)?;
        self.offers.insert(offer_id, offer);
        Ok(())
    }

    /// Credits the bond back once the offer is delisted and nothing is open.
    /// The caller stores the offer.
    pub(crate) fn release_bond_if_closed(
        &mut self,
        offer_id: OfferId,
        offer: &mut Offer,
    ) -> Result<()> {
        if offer.status != OfferStatus::Delisted || offer.open_purchases > 0 || offer.bond == 0 {
            return Ok(());
        }
        let amount = offer.bond;
        offer.bond = 0;
        self.change_liabilities(Asset::Native, |l| {
            l.bonds = l.bonds.checked_sub(amount)?;
            Some(())
        })?;
        self.credit(offer.owner, Asset::Native, amount)?;
        self.env().emit_event(BondReleased {
            offer_id,
            owner: offer.owner,
            amount,
        });
        Ok(())
    }
}
