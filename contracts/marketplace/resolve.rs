//! How a dispute is decided: who may open one, and what a won or a lost dispute moves.
//! Private to the contract; its messages (`dispute`, `dispute_chunk`) call these.

use ink::codegen::Env as _;
use market_types::{
    events::PurchaseDisputed, Asset, Balance, Dispute, DisputeKind, Error, Hash32, Offer, Purchase,
    PurchaseId, PurchaseStatus, Result,
};

use crate::marketplace::Marketplace;

impl Marketplace {
    /// The purchase, if the caller may dispute it now with the value sent: the
    /// market runs, the caller is the buyer, the purchase is delivered and not yet
    /// disputed, the window is open and the value is exactly the dispute bond.
    pub(crate) fn disputable(&self, purchase_id: PurchaseId) -> Result<Purchase> {
        self.ensure_running()?;
        let purchase = self.get_purchase(purchase_id)?;
        if self.env().caller() != purchase.buyer {
            return Err(Error::NotBuyer);
        }
        match purchase.status {
            PurchaseStatus::Delivered => {}
            PurchaseStatus::Disputed | PurchaseStatus::Resolved => {
                return Err(Error::AlreadyDisputed)
            }
            _ => return Err(Error::NotDelivered),
        }
        let window_end = purchase.dispute_deadline.ok_or(Error::NotDelivered)?;
        if self.env().block_number() > window_end {
            return Err(Error::DisputeWindowClosed);
        }
        if self.env().transferred_value() != self.config.dispute_bond {
            return Err(Error::WrongPayment);
        }
        Ok(purchase)
    }

    /// A proven bad delivery: the purchase is resolved for the buyer, who is credited
    /// the payment, its bond and the penalty from the owner's bond.
    pub(crate) fn buyer_wins(
        &mut self,
        purchase_id: PurchaseId,
        purchase: &mut Purchase,
        offer: &mut Offer,
        kind: DisputeKind,
        revealed_key: Option<Hash32>,
    ) -> Result<()> {
        let bond = self.env().transferred_value();
        let penalty = self.dispute_penalty().min(offer.bond);
        purchase.status = PurchaseStatus::Resolved;
        self.purchases.insert(purchase_id, purchase);
        self.record_dispute(purchase_id, purchase, bond, true);
        offer.bond = offer.bond.checked_sub(penalty).ok_or(Error::Overflow)?;
        self.change_liabilities(Asset::Native, |l| {
            l.bonds = l.bonds.checked_sub(penalty)?;
            Some(())
        })?;
        self.change_liabilities(purchase.asset, |l| {
            l.escrow = l.escrow.checked_sub(purchase.amount)?;
            Some(())
        })?;
        self.credit(purchase.buyer, purchase.asset, purchase.amount)?;
        let back = bond.checked_add(penalty).ok_or(Error::Overflow)?;
        if back > 0 {
            self.credit(purchase.buyer, Asset::Native, back)?;
        }
        self.env().emit_event(PurchaseDisputed {
            purchase_id,
            offer_id: purchase.offer_id,
            buyer: purchase.buyer,
            owner: offer.owner,
            kind,
            buyer_won: true,
            asset: purchase.asset,
            refund: purchase.amount,
            penalty,
            bond,
            revealed_key,
        });
        self.close_purchase(purchase.offer_id, offer)
    }

    /// A failed envelope dispute: the bond goes to the owner and the purchase stays
    /// open, to settle after the window.
    pub(crate) fn buyer_loses(
        &mut self,
        purchase_id: PurchaseId,
        purchase: &mut Purchase,
        offer: &Offer,
        dek: Hash32,
    ) -> Result<()> {
        let bond = self.env().transferred_value();
        purchase.status = PurchaseStatus::Disputed;
        self.purchases.insert(purchase_id, purchase);
        self.record_dispute(purchase_id, purchase, bond, false);
        if bond > 0 {
            self.credit(offer.owner, Asset::Native, bond)?;
        }
        self.env().emit_event(PurchaseDisputed {
            purchase_id,
            offer_id: purchase.offer_id,
            buyer: purchase.buyer,
            owner: offer.owner,
            kind: DisputeKind::Envelope,
            buyer_won: false,
            asset: purchase.asset,
            refund: 0,
            penalty: 0,
            bond,
            revealed_key: Some(dek),
        });
        Ok(())
    }

    pub(crate) fn record_dispute(
        &mut self,
        purchase_id: PurchaseId,
        purchase: &Purchase,
        bond: Balance,
        buyer_won: bool,
    ) {
        self.disputes.insert(
            purchase_id,
            &Dispute {
                buyer: purchase.buyer,
                bond,
                opened_at: self.env().block_number(),
                buyer_won: Some(buyer_won),
            },
        );
    }
}
