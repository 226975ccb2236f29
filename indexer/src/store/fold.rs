//! Folding a batch's events into [`Changes`], in chain order, with no database.

use market_types::decode::MarketEvent;
use serde_json::json;
use tokio_postgres::GenericClient;

use crate::decode::{config_json, Decoded, TokenEvent};
use crate::IndexerError;

use super::{
    add, asset_key, bytes, fee_recipient, Changes, ConfigPatch, DisputeRow, NewOffer, NewPurchase,
    OfferPatch, PurchasePatch,
};

impl Changes {
    /// Starts a batch on the current tables (it needs the fee recipient in force).
    pub async fn begin(client: &impl GenericClient) -> Result<Self, IndexerError> {
        Ok(Self::with_fee_recipient(fee_recipient(client).await?))
    }

    /// Starts a batch that follows one whose fold ended with this fee recipient in force
    /// (see [`fee_recipient`](Self::fee_recipient)), without asking the database.
    pub fn with_fee_recipient(fee_recipient: Option<[u8; 32]>) -> Self {
        Self {
            fee_recipient,
            ..Self::default()
        }
    }

    /// The fee recipient in force after the events folded so far.
    pub fn fee_recipient(&self) -> Option<[u8; 32]> {
        self.fee_recipient
    }

    /// How many events were folded in.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Whether any offer row changes (the search index's change feed is woken then).
    pub fn touches_offers(&self) -> bool {
        !self.new_offers.is_empty() || !self.offer_patches.is_empty()
    }

    fn offer(&mut self, id: u64, block: u32) -> OfferEdit<'_> {
        if let Some((offer, _)) = self.new_offers.get_mut(&id) {
            return OfferEdit::New(offer, self.offer_patches.entry(id).or_default(), block);
        }
        OfferEdit::Existing(self.offer_patches.entry(id).or_default(), block)
    }

    fn purchase(&mut self, id: u64, block: u32) -> &mut PurchasePatch {
        let patch = self.purchase_patches.entry(id).or_default();
        patch.updated_block = block;
        patch
    }

    fn credit(
        &mut self,
        account: [u8; 32],
        asset: Vec<u8>,
        amount: u128,
        block: u32,
    ) -> Result<(), IndexerError> {
        let change = self.balances.entry((account, asset)).or_default();
        change.credited = add(change.credited, amount)?;
        change.updated_block = block;
        Ok(())
    }

    fn config_patch(&mut self, block: u32) -> &mut ConfigPatch {
        let patch = self.config.get_or_insert_with(ConfigPatch::default);
        patch.updated_block = block;
        patch
    }

    /// Folds one decoded event, emitted at `(block, event_index)`.
    pub fn apply(
        &mut self,
        block: u32,
        event_index: u32,
        decoded: &Decoded,
    ) -> Result<(), IndexerError> {
        self.events += 1;
        let market = match decoded {
            Decoded::Token { token, event } => {
                if let TokenEvent::Transfer { from, to, value } = event {
                    let token = bytes(token);
                    if let Some(from) = from {
                        let change = self.token_balances.entry((token, bytes(from))).or_default();
                        change.sent = add(change.sent, *value)?;
                        change.updated_block = block;
                    }
                    if let Some(to) = to {
                        let change = self.token_balances.entry((token, bytes(to))).or_default();
                        change.received = add(change.received, *value)?;
                        change.updated_block = block;
                    }
                }
                return Ok(());
            }
            Decoded::Market(market) => market.as_ref(),
        };
        match market {
            MarketEvent::OfferCreated(e) => {
                let offer = NewOffer {
                    owner: bytes(&e.owner),
                    content_root: e.content_root,
                    header: e.header.to_vec(),
                    key_commitment: e.key_commitment,
                    price: e.price,
                    asset: asset_key(&e.asset),
                    uri: e.uri.clone(),
                    metadata: e.metadata.clone(),
                    bond: e.bond,
                    max_purchases: e.max_purchases,
                    status: "active",
                    created_block: block,
                };
                let payees = e
                    .payees
                    .iter()
                    .map(|p| (bytes(&p.account), p.bps))
                    .collect();
                self.new_offers.insert(e.offer_id, (offer, payees));
                // Nothing of an earlier life of this id can be pending.
                self.offer_patches.remove(&e.offer_id);
            }
            MarketEvent::OfferPriceUpdated(e) => self
                .offer(e.offer_id, block)
                .set(|o| o.price = e.price, |p| p.price = Some(e.price)),
            MarketEvent::OfferMetadataUpdated(e) => self.offer(e.offer_id, block).set(
                |o| {
                    o.uri = e.uri.clone();
                    o.metadata = e.metadata.clone();
                },
                |p| p.listing = Some((e.uri.clone(), e.metadata.clone())),
            ),
            MarketEvent::OfferStatusChanged(e) => {
                let status = crate::decode::offer_status(e.status);
                self.offer(e.offer_id, block)
                    .set(|o| o.status = status, |p| p.status = Some(status))
            }
            MarketEvent::BondReleased(e) => {
                self.offer(e.offer_id, block).patch().bond_released = true;
                self.credit(bytes(&e.owner), Vec::new(), e.amount, block)?;
            }
            MarketEvent::PurchaseCreated(e) => {
                self.new_purchases.insert(
                    e.purchase_id,
                    NewPurchase {
                        offer_id: e.offer_id,
                        buyer: bytes(&e.buyer),
                        buyer_pk: e.buyer_pk,
                        amount: e.amount,
                        asset: asset_key(&e.asset),
                        fee_bps: e.fee_bps,
                        delivery_deadline: e.delivery_deadline,
                        created_block: block,
                    },
                );
                self.purchase_patches.remove(&e.purchase_id);
                let patch = self.offer(e.offer_id, block).patch();
                patch.purchases += 1;
                patch.open_purchases += 1;
            }
            MarketEvent::KeyDelivered(e) => {
                let patch = self.purchase(e.purchase_id, block);
                patch.status = Some("delivered");
                patch.envelope = Some(e.envelope.to_vec());
                patch.dispute_deadline = Some(e.dispute_deadline);
                patch.delivered_block = Some(block);
            }
            MarketEvent::PurchaseSettled(e) => {
                let patch = self.purchase(e.purchase_id, block);
                patch.status = Some("settled");
                patch.settled_block = Some(block);
                let asset = asset_key(&e.asset);
                let mut total = e.fee;
                for (account, amount) in &e.payouts {
                    total = add(total, *amount)?;
                    self.credit(bytes(account), asset.clone(), *amount, block)?;
                }
                if e.fee > 0 {
                    match self.fee_recipient {
                        Some(recipient) => self.credit(recipient, asset.clone(), e.fee, block)?,
                        None => tracing::warn!(
                            purchase = e.purchase_id,
                            "a settlement's fee is not credited in balances: no ConfigChanged \
                             event has named the fee recipient yet"
                        ),
                    }
                }
                let offer = self.offer(e.offer_id, block).patch();
                offer.open_purchases -= 1;
                offer.revenue = add(offer.revenue, total)?;
                let payouts = e.payouts.iter().map(|(a, v)| (bytes(a), *v)).collect();
                self.settlements
                    .push((e.purchase_id, e.offer_id, asset, e.fee, block, payouts));
            }
            MarketEvent::PurchaseRefunded(e) => {
                let patch = self.purchase(e.purchase_id, block);
                patch.status = Some("refunded");
                patch.refunded_block = Some(block);
                let asset = asset_key(&e.asset);
                self.credit(bytes(&e.buyer), asset.clone(), e.amount, block)?;
                self.offer(e.offer_id, block).patch().open_purchases -= 1;
                self.refunds
                    .push((e.purchase_id, bytes(&e.buyer), asset, e.amount, block));
            }
            MarketEvent::Withdrawn(e) => {
                let asset = asset_key(&e.asset);
                let change = self
                    .balances
                    .entry((bytes(&e.account), asset.clone()))
                    .or_default();
                change.withdrawn = add(change.withdrawn, e.amount)?;
                change.updated_block = block;
                self.withdrawals
                    .push((block, event_index, bytes(&e.account), asset, e.amount));
            }
            MarketEvent::ConfigChanged(e) => {
                self.fee_recipient = Some(bytes(&e.config.fee_recipient));
                let mut config = config_json(&e.config);
                // Kept beside the SS58 form so that settlements can credit the fee
                // without an SS58 decoder in SQL.
                config["fee_recipient_hex"] = json!(hex::encode(bytes(&e.config.fee_recipient)));
                let patch = self.config_patch(block);
                patch.config = Some(config);
                patch.paused = Some(e.config.paused);
                patch.admin = Some(bytes(&e.config.admin));
            }
            MarketEvent::MarketPauseChanged(e) => self.config_patch(block).paused = Some(e.paused),
            MarketEvent::AdminTransferred(e) => self.config_patch(block).admin = Some(bytes(&e.to)),
            MarketEvent::CodeUpgraded(e) => self.config_patch(block).code_hash = Some(e.code_hash),
            MarketEvent::DisputePenaltyChanged(e) => {
                self.config_patch(block).dispute_penalty = Some(e.penalty)
            }
            // A job's purchase opened with its `PurchaseCreated` (counted above), but jobs
            // do not count toward the offer's purchases (its cap on copies sold).
            MarketEvent::JobPurchased(e) => self.offer(e.offer_id, block).patch().purchases -= 1,
            // The rest of a job's life is in the purchase's own events (`KeyDelivered`,
            // `PurchaseRefunded`); terms, jobs and provenance stay in the event log.
            MarketEvent::ComputeTermsSet(_)
            | MarketEvent::JobCompleted(_)
            | MarketEvent::JobFailed(_) => {}
            MarketEvent::PurchaseDisputed(e) => {
                let patch = self.purchase(e.purchase_id, block);
                patch.status = Some(if e.buyer_won { "resolved" } else { "disputed" });
                patch.disputed_block = Some(block);
                if e.buyer_won {
                    let buyer = bytes(&e.buyer);
                    self.credit(buyer, asset_key(&e.asset), e.refund, block)?;
                    self.credit(buyer, Vec::new(), add(e.bond, e.penalty)?, block)?;
                    let offer = self.offer(e.offer_id, block).patch();
                    offer.open_purchases -= 1;
                    offer.bond_spent = add(offer.bond_spent, e.penalty)?;
                } else {
                    self.credit(bytes(&e.owner), Vec::new(), e.bond, block)?;
                }
                self.disputes.push(DisputeRow {
                    purchase_id: e.purchase_id,
                    offer_id: e.offer_id,
                    buyer: bytes(&e.buyer),
                    kind: crate::decode::dispute_kind(&e.kind),
                    chunk_index: match e.kind {
                        market_types::DisputeKind::Chunk { index } => Some(index),
                        market_types::DisputeKind::Envelope => None,
                    },
                    buyer_won: e.buyer_won,
                    asset: asset_key(&e.asset),
                    refund: e.refund,
                    penalty: e.penalty,
                    bond: e.bond,
                    revealed_key: e.revealed_key,
                    block,
                });
            }
        }
        Ok(())
    }
}

/// An offer being changed by the batch: created in it (fields set on the new row) or
/// already in the table (fields set on its patch). Counters always go to the patch.
enum OfferEdit<'a> {
    New(&'a mut NewOffer, &'a mut OfferPatch, u32),
    Existing(&'a mut OfferPatch, u32),
}

impl<'a> OfferEdit<'a> {
    fn set(self, on_new: impl FnOnce(&mut NewOffer), on_patch: impl FnOnce(&mut OfferPatch)) {
        match self {
            Self::New(offer, patch, block) => {
                on_new(offer);
                patch.updated_block = block;
            }
            Self::Existing(patch, block) => {
                on_patch(patch);
                patch.updated_block = block;
            }
        }
    }

    fn patch(self) -> &'a mut OfferPatch {
        let (patch, block) = match self {
            Self::New(_, patch, block) | Self::Existing(patch, block) => (patch, block),
        };
        patch.updated_block = block;
        patch
    }
}
