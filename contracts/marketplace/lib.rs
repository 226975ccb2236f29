//! Datamarket's marketplace: owners list encrypted datasets, buyers pay into escrow and
//! receive the data key sealed to their own per-purchase X25519 key, payments settle to
//! a revenue split after a dispute window, and every account withdraws what it is owed.
//!
//! Rules (DESIGN §4): storage in `Mapping`s keyed by monotonic ids; every message returns
//! `Result` and a returned `Err` reverts everything the call did; every state change emits
//! one event (defined in `market-types`, so off-chain decoders share them); all
//! arithmetic is checked; state is written before any transfer or cross-contract call;
//! money moves out only through `withdraw` (pull payments).
//!
//! While the marketplace is paused every state-changing message except the admin's is
//! refused, withdrawals included: a pause is for emergencies, when nothing should move.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![deny(clippy::arithmetic_side_effects)]
// ink!'s generated code for cross-contract trait calls uses `unsafe`; this crate writes none.
#![allow(unsafe_code)]

mod compute;
mod dispute;
mod ledger;
mod resolve;

#[ink::contract]
mod marketplace {
    use crate::dispute as verify;
    use datamarket_format::EnvelopeContext;
    use ink::{
        codegen::TraitCallBuilder,
        prelude::string::String,
        prelude::vec::Vec,
        storage::{Lazy, Mapping},
    };
    use market_types::{
        check_config, check_header, check_metadata, check_split, events::*, split_payment, Asset,
        ChunkBytes, ComputeTerms, Config, Dispute, DisputeKind, Envelope, Error, Hash32, Job,
        JobResult, Liabilities, NewOffer, Offer, OfferId, OfferMetadata, OfferStatus, Purchase,
        PurchaseId, PurchaseStatus, Result, X25519PublicKey,
    };
    use psp22::PSP22;

    /// Settings, counters and the mappings of offers, purchases and credits.
    #[ink(storage)]
    pub struct Marketplace {
        pub(crate) config: Config,
        /// The last offer id handed out (0: none yet).
        last_offer_id: OfferId,
        /// The last purchase id handed out (0: none yet).
        pub(crate) last_purchase_id: PurchaseId,
        pub(crate) offers: Mapping<OfferId, Offer>,
        /// URI and metadata live apart from the offer so that buying and settling do not
        /// read kilobytes of text.
        offer_metadata: Mapping<OfferId, (String, OfferMetadata)>,
        pub(crate) purchases: Mapping<PurchaseId, Purchase>,
        /// What each account may withdraw, per asset.
        pub(crate) credits: Mapping<(AccountId, Asset), Balance>,
        /// What the contract owes, per asset (escrow, bonds, credits).
        pub(crate) liabilities: Mapping<Asset, Liabilities>,
        /// The dispute of each disputed purchase (at most one per purchase).
        pub(crate) disputes: Mapping<PurchaseId, Dispute>,
        /// Native penalty a successful dispute moves from the owner's bond to the buyer
        /// (capped at what is left of that bond). A `Lazy` cell of its own, so that the
        /// root cell (and `Config`) keep the layout of the code before disputes: an
        /// upgrade by `set_code_hash` reads it as zero until the admin sets it.
        dispute_penalty: Lazy<Balance>,
        /// The compute terms of offers that sell jobs (DESIGN §8). Mappings of their own,
        /// like `dispute_penalty`, so that the root cell keeps its layout for upgrades.
        pub(crate) compute_terms: Mapping<OfferId, ComputeTerms>,
        /// The job of each job purchase.
        pub(crate) jobs: Mapping<PurchaseId, Job>,
    }

    impl Marketplace {
        /// Creates the marketplace with the caller as admin; emits `ConfigChanged`.
        ///
        /// # Errors
        /// `FeeTooHigh` above 10%, `InvalidPeriod` for a zero or over-long period.
        #[ink(constructor)]
        pub fn new(
            fee_bps: u16,
            fee_recipient: AccountId,
            delivery_period: BlockNumber,
            dispute_window: BlockNumber,
            min_bond: Balance,
        ) -> Result<Self> {
            let config = Config {
                admin: Self::env().caller(),
                fee_bps,
                fee_recipient,
                delivery_period,
                dispute_window,
                min_bond,
                dispute_bond: 0,
                paused: false,
            };
            check_config(&config)?;
            // The settings in force from the start, for off-chain readers: the indexer
            // learns the fee recipient (whom settlements credit) from this event.
            Self::env().emit_event(ConfigChanged {
                config: config.clone(),
            });
            Ok(Self {
                config,
                last_offer_id: 0,
                last_purchase_id: 0,
                offers: Mapping::default(),
                offer_metadata: Mapping::default(),
                purchases: Mapping::default(),
                credits: Mapping::default(),
                liabilities: Mapping::default(),
                disputes: Mapping::default(),
                dispute_penalty: Lazy::default(),
                compute_terms: Mapping::default(),
                jobs: Mapping::default(),
            })
        }

        // ---- Offers -------------------------------------------------------------------

        /// Lists a dataset. The transferred value is the owner's bond (native token), at
        /// least the admin's minimum. Returns the new offer's id.
        ///
        /// # Errors
        /// `MarketPaused`; `BondTooLow`; `ZeroPrice`; `InvalidHeader`/`ChunkSizeTooLarge`;
        /// a metadata rule (`EmptyTitle`, `TitleTooLong`, ..., `ControlCharacter`); a split
        /// rule (`NoPayees`, `TooManyPayees`, `DuplicatePayee`, `ZeroShare`,
        /// `SplitNotTotal`);
        /// `InvalidMaxPurchases`; `NotAContract` for a PSP22 asset that is no contract.
        #[ink(message, payable)]
        pub fn create_offer(&mut self, offer: NewOffer) -> Result<OfferId> {
            self.ensure_running()?;
            let bond = self.env().transferred_value();
            if bond < self.config.min_bond {
                return Err(Error::BondTooLow);
            }
            if offer.price == 0 {
                return Err(Error::ZeroPrice);
            }
            check_header(&offer.header)?;
            check_metadata(&offer.uri, &offer.metadata)?;
            check_split(&offer.payees)?;
            if offer.max_purchases == Some(0) {
                return Err(Error::InvalidMaxPurchases);
            }
            if let Asset::Psp22(token) = offer.asset {
                if !self.env().is_contract(&token) {
                    return Err(Error::NotAContract);
                }
            }
            let offer_id = self.last_offer_id.checked_add(1).ok_or(Error::Overflow)?;
            self.last_offer_id = offer_id;
            self.change_liabilities(Asset::Native, |l| {
                l.bonds = l.bonds.checked_add(bond)?;
                Some(())
            })?;
            let owner = self.env().caller();
            self.offers.insert(
                offer_id,
                &Offer {
                    owner,
                    content_root: offer.content_root,
                    header: offer.header,
                    key_commitment: offer.key_commitment,
                    price: offer.price,
                    asset: offer.asset,
                    payees: offer.payees.clone(),
                    status: OfferStatus::Active,
                    bond,
                    max_purchases: offer.max_purchases,
                    purchases: 0,
                    open_purchases: 0,
                    created_at: self.env().block_number(),
                },
            );
            self.offer_metadata
                .insert(offer_id, &(offer.uri.clone(), offer.metadata.clone()));
            self.env().emit_event(OfferCreated {
                offer_id,
                owner,
                content_root: offer.content_root,
                header: offer.header,
                key_commitment: offer.key_commitment,
                price: offer.price,
                asset: offer.asset,
                uri: offer.uri,
                metadata: offer.metadata,
                payees: offer.payees,
                bond,
                max_purchases: offer.max_purchases,
            });
            Ok(offer_id)
        }

        /// Changes the price of future purchases.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `OfferDelisted`, `ZeroPrice`.
        #[ink(message)]
        pub fn update_price(&mut self, offer_id: OfferId, price: Balance) -> Result<()> {
            self.ensure_running()?;
            let mut offer = self.owned_offer(offer_id)?;
            if offer.status == OfferStatus::Delisted {
                return Err(Error::OfferDelisted);
            }
            if price == 0 {
                return Err(Error::ZeroPrice);
            }
            offer.price = price;
            self.offers.insert(offer_id, &offer);
            self.env().emit_event(OfferPriceUpdated { offer_id, price });
            Ok(())
        }

        /// Replaces the ciphertext URI and the metadata.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `OfferDelisted`, or a
        /// metadata rule (as for `create_offer`).
        #[ink(message)]
        pub fn update_metadata(
            &mut self,
            offer_id: OfferId,
            uri: String,
            metadata: OfferMetadata,
        ) -> Result<()> {
            self.ensure_running()?;
            let offer = self.owned_offer(offer_id)?;
            if offer.status == OfferStatus::Delisted {
                return Err(Error::OfferDelisted);
            }
            check_metadata(&uri, &metadata)?;
            self.offer_metadata
                .insert(offer_id, &(uri.clone(), metadata.clone()));
            self.env().emit_event(OfferMetadataUpdated {
                offer_id,
                uri,
                metadata,
            });
            Ok(())
        }

        /// Stops sales until `resume_offer`; open purchases go on.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `InvalidStatusChange` unless
        /// the offer is active.
        #[ink(message)]
        pub fn pause_offer(&mut self, offer_id: OfferId) -> Result<()> {
            self.change_offer_status(offer_id, OfferStatus::Active, OfferStatus::Paused)
        }

        /// Reopens a paused offer.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `InvalidStatusChange` unless
        /// the offer is paused.
        #[ink(message)]
        pub fn resume_offer(&mut self, offer_id: OfferId) -> Result<()> {
            self.change_offer_status(offer_id, OfferStatus::Paused, OfferStatus::Active)
        }

        /// Closes an offer for good. Its bond is credited back to the owner now if no
        /// purchase is open, else when the last open purchase settles or is refunded.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `InvalidStatusChange` if it
        /// is delisted already.
        #[ink(message)]
        pub fn delist_offer(&mut self, offer_id: OfferId) -> Result<()> {
            self.ensure_running()?;
            let mut offer = self.owned_offer(offer_id)?;
            if offer.status == OfferStatus::Delisted {
                return Err(Error::InvalidStatusChange);
            }
            offer.status = OfferStatus::Delisted;
            self.env().emit_event(OfferStatusChanged {
                offer_id,
                status: OfferStatus::Delisted,
            });
            self.release_bond_if_closed(offer_id, &mut offer)?;
            self.offers.insert(offer_id, &offer);
            Ok(())
        }

        // ---- Purchases ----------------------------------------------------------------

        /// Buys access to an offer at its current price. For a native offer the
        /// transferred value must be exactly the price; for a PSP22 offer nothing may be
        /// transferred and the buyer must have approved the marketplace for the price.
        /// `buyer_pk` is a fresh X25519 public key for this purchase only; the owner seals
        /// the data key to it. Returns the purchase id.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `OfferPaused`, `OfferDelisted`,
        /// `AccessNotForSale` (an offer that sells jobs only), `SoldOut`,
        /// `InvalidBuyerKey`, `WrongPayment`, `TokenTransferFailed`, `Overflow`.
        #[ink(message, payable)]
        pub fn purchase(
            &mut self,
            offer_id: OfferId,
            buyer_pk: X25519PublicKey,
        ) -> Result<PurchaseId> {
            self.ensure_running()?;
            let mut offer = self.buyable_offer(offer_id)?;
            if self
                .compute_terms
                .get(offer_id)
                .is_some_and(|terms| !terms.sells_access)
            {
                return Err(Error::AccessNotForSale);
            }
            if offer
                .max_purchases
                .is_some_and(|max| offer.purchases >= max)
            {
                return Err(Error::SoldOut);
            }
            offer.purchases = offer.purchases.checked_add(1).ok_or(Error::Overflow)?;
            let price = offer.price;
            let purchase_id = self.escrow(offer_id, &mut offer, buyer_pk, price)?;
            // State is written; only now call out (a failure reverts all of the above).
            self.pull_tokens(offer.asset, price)?;
            Ok(purchase_id)
        }

        /// Delivers the data key sealed to the buyer's key (the 80-byte envelope of DESIGN
        /// §3). Only the offer's owner, once, and no later than the delivery deadline.
        /// Starts the dispute window.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotOfferOwner`, `NotPending`,
        /// `DeliveryDeadlinePassed`, `IsAJob` (a job is answered by `deliver_result`).
        #[ink(message)]
        pub fn deliver(&mut self, purchase_id: PurchaseId, envelope: Envelope) -> Result<()> {
            self.ensure_running()?;
            let mut purchase = self.get_purchase(purchase_id)?;
            let offer = self.get_offer(purchase.offer_id)?;
            if self.env().caller() != offer.owner {
                return Err(Error::NotOfferOwner);
            }
            if purchase.status != PurchaseStatus::Pending {
                return Err(Error::NotPending);
            }
            if self.env().block_number() > purchase.delivery_deadline {
                return Err(Error::DeliveryDeadlinePassed);
            }
            if self.jobs.contains(purchase_id) {
                return Err(Error::IsAJob);
            }
            self.mark_delivered(purchase_id, &mut purchase, envelope)
        }

        // ---- Compute jobs (DESIGN §8) -------------------------------------------------

        /// Sets the offer's compute terms (`None`: it sells no jobs): price per job, the
        /// allowed job hashes or "any job" with a small result cap, result, fuel and
        /// memory caps, and whether the dataset itself stays for sale. Owner only.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `NotOfferOwner`, `OfferDelisted`, `ZeroPrice`,
        /// `InvalidComputeTerms`, `TooManyJobs`, `AnyJobNeedsSmallResultCap`.
        #[ink(message)]
        pub fn set_compute_terms(
            &mut self,
            offer_id: OfferId,
            terms: Option<ComputeTerms>,
        ) -> Result<()> {
            self.set_terms(offer_id, terms)
        }

        /// Buys a job on the offer's dataset: `job_hash` (SHA-256 of the wasm module at
        /// `job_uri`) run with the arguments whose hash is `args_hash`, its result sealed
        /// to `buyer_pk`. Escrows the job price as `purchase` does, if it is at most
        /// `max_price`. Emits `PurchaseCreated` and `JobPurchased`.
        ///
        /// # Errors
        /// `MarketPaused`, `OfferNotFound`, `OfferPaused`, `OfferDelisted`,
        /// `NotComputeOffer`, `JobNotAllowed`, `PriceAboveMax`, `InvalidUri`,
        /// `InvalidBuyerKey`, `WrongPayment`, `TokenTransferFailed`, `Overflow`.
        #[ink(message, payable)]
        pub fn purchase_job(
            &mut self,
            offer_id: OfferId,
            job_hash: Hash32,
            job_uri: String,
            args_hash: Hash32,
            buyer_pk: X25519PublicKey,
            max_price: Balance,
        ) -> Result<PurchaseId> {
            self.buy_job(offer_id, job_hash, job_uri, args_hash, buyer_pk, max_price)
        }

        /// The owner answers a job: the result is a format v1 ciphertext under a fresh
        /// key (its root, header and key commitment in `result`, with the SHA-256 of its
        /// plaintext and the fuel burned), and `envelope` seals that key to the buyer as
        /// a dataset key is, so the dispute window and both disputes apply to it. Emits
        /// `KeyDelivered` and `JobCompleted`, the provenance record.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotOfferOwner`, `NotAJob`, `NotPending`,
        /// `DeliveryDeadlinePassed`, `InvalidHeader`, `ChunkSizeTooLarge`,
        /// `NotComputeOffer`, `ResultOverCap`.
        #[ink(message)]
        pub fn deliver_result(
            &mut self,
            purchase_id: PurchaseId,
            result: JobResult,
            envelope: Envelope,
        ) -> Result<()> {
            self.answer_job(purchase_id, result, envelope)
        }

        /// The owner reports that a job failed (`kind`: the sandbox's failure kind); the
        /// buyer is refunded at once. Emits `JobFailed` and `PurchaseRefunded`.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotOfferOwner`, `NotAJob`, `NotPending`,
        /// `DeliveryDeadlinePassed`, `Overflow`.
        #[ink(message)]
        pub fn fail_job(&mut self, purchase_id: PurchaseId, kind: u8) -> Result<()> {
            self.refund_failed_job(purchase_id, kind)
        }

        /// The offer's compute terms, if it sells jobs.
        #[ink(message)]
        pub fn compute_terms(&self, offer_id: OfferId) -> Option<ComputeTerms> {
            self.compute_terms.get(offer_id)
        }

        /// The job of this purchase, if it is a job purchase.
        #[ink(message)]
        pub fn job_of(&self, purchase_id: PurchaseId) -> Option<Job> {
            self.jobs.get(purchase_id)
        }

        /// Settles a delivered purchase (or one whose dispute failed) once its dispute
        /// window has passed: credits the fee recipient and every payee (rounding dust
        /// to the first payee). Anyone may call it.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotDelivered`, `DisputeWindowOpen`,
        /// `Overflow`.
        #[ink(message)]
        pub fn settle(&mut self, purchase_id: PurchaseId) -> Result<()> {
            self.ensure_running()?;
            let mut purchase = self.get_purchase(purchase_id)?;
            // A purchase whose dispute failed settles like a delivered one.
            if !matches!(
                purchase.status,
                PurchaseStatus::Delivered | PurchaseStatus::Disputed
            ) {
                return Err(Error::NotDelivered);
            }
            let window_end = purchase.dispute_deadline.ok_or(Error::NotDelivered)?;
            if self.env().block_number() <= window_end {
                return Err(Error::DisputeWindowOpen);
            }
            let mut offer = self.get_offer(purchase.offer_id)?;
            let (fee, payouts) = split_payment(purchase.amount, purchase.fee_bps, &offer.payees)?;
            purchase.status = PurchaseStatus::Settled;
            self.purchases.insert(purchase_id, &purchase);
            if fee > 0 {
                self.credit(self.config.fee_recipient, purchase.asset, fee)?;
            }
            for (account, amount) in &payouts {
                self.credit(*account, purchase.asset, *amount)?;
            }
            self.change_liabilities(purchase.asset, |l| {
                l.escrow = l.escrow.checked_sub(purchase.amount)?;
                Some(())
            })?;
            self.env().emit_event(PurchaseSettled {
                purchase_id,
                offer_id: purchase.offer_id,
                asset: purchase.asset,
                fee,
                payouts,
            });
            self.close_purchase(purchase.offer_id, &mut offer)
        }

        /// Credits the payment back to the buyer when nothing was delivered by the
        /// deadline. Anyone may call it.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotPending` (delivered, settled or refunded
        /// already), `DeliveryDeadlineNotReached`.
        #[ink(message)]
        pub fn refund(&mut self, purchase_id: PurchaseId) -> Result<()> {
            self.ensure_running()?;
            let mut purchase = self.get_purchase(purchase_id)?;
            if purchase.status != PurchaseStatus::Pending {
                return Err(Error::NotPending);
            }
            if self.env().block_number() <= purchase.delivery_deadline {
                return Err(Error::DeliveryDeadlineNotReached);
            }
            let mut offer = self.get_offer(purchase.offer_id)?;
            self.refund_to_buyer(purchase_id, &mut purchase, &mut offer)
        }

        // ---- Disputes (DESIGN §3 "Dispute") -------------------------------------------

        /// The buyer disputes the delivered envelope by revealing its per-purchase X25519
        /// secret, within the dispute window, sending exactly the dispute bond (native).
        /// The contract checks X25519(secret, G) == the buyer key of the purchase, derives
        /// the envelope key as the sealer does, opens the envelope and compares SHA-256 of
        /// the result with the offer's key commitment.
        ///
        /// Bad envelope (it does not open, or opens to another key): the buyer wins and
        /// `Ok(true)` is returned; the payment and the bond are credited back to the buyer
        /// with the admin's penalty from the owner's bond, and the purchase is `Resolved`.
        /// Good envelope: the buyer loses and `Ok(false)` is returned; the bond is credited
        /// to the owner, and the purchase (`Disputed`) settles after the window. Either way
        /// `PurchaseDisputed` is emitted. A purchase is disputed at most once.
        ///
        /// # Errors
        /// `MarketPaused`, `PurchaseNotFound`, `NotBuyer`, `AlreadyDisputed`,
        /// `NotDelivered`, `DisputeWindowClosed`, `WrongPayment` (not the dispute bond),
        /// `WrongBuyerSecret`, `Overflow`.
        #[ink(message, payable)]
        pub fn dispute(&mut self, purchase_id: PurchaseId, buyer_secret: [u8; 32]) -> Result<bool> {
            let mut purchase = self.disputable(purchase_id)?;
            if verify::x25519_public(&buyer_secret) != purchase.buyer_pk {
                return Err(Error::WrongBuyerSecret);
            }
            let mut offer = self.get_offer(purchase.offer_id)?;
            let envelope = purchase.envelope.ok_or(Error::NotDelivered)?;
            let ctx = EnvelopeContext {
                contract: *self.env().account_id().as_ref(),
                offer_id: purchase.offer_id,
                purchase_id,
            };
            let sold = self.sold_ciphertext(purchase_id, &offer);
            let good_key =
                verify::open_envelope(&envelope, &buyer_secret, &purchase.buyer_pk, &ctx)
                    .filter(|dek| verify::key_commitment(dek) == sold.key_commitment);
            match good_key {
                None => {
                    self.buyer_wins(
                        purchase_id,
                        &mut purchase,
                        &mut offer,
                        DisputeKind::Envelope,
                        None,
                    )?;
                    Ok(true)
                }
                Some(dek) => {
                    self.buyer_loses(purchase_id, &mut purchase, &offer, dek)?;
                    Ok(false)
                }
            }
        }

        /// The buyer disputes the ciphertext: chunk `index` (stored bytes, ciphertext ‖
        /// tag) with its Merkle sibling path (from the leaf level up, as the sealer's
        /// `ChunkProof::siblings`) against the offer's content root and header, and the
        /// data key, which matches the key commitment but does not authenticate the
        /// chunk. Within the dispute window, sending exactly the dispute bond (native).
        /// The data key becomes public (it is in the call and the event).
        ///
        /// A proven bad chunk: the buyer wins as with a bad envelope (`PurchaseDisputed`,
        /// purchase `Resolved`). Anything else reverts and changes nothing.
        ///
        /// # Errors
        /// As [`Self::dispute`], and `WrongDataKey` (not the committed key),
        /// `InvalidChunkProof` (index out of range, wrong chunk length, wrong path),
        /// `ChunkAuthenticates` (a good chunk: nothing to dispute).
        #[ink(message, payable)]
        pub fn dispute_chunk(
            &mut self,
            purchase_id: PurchaseId,
            data_key: [u8; 32],
            index: u64,
            chunk: ChunkBytes,
            siblings: Vec<Hash32>,
        ) -> Result<()> {
            let mut purchase = self.disputable(purchase_id)?;
            let mut offer = self.get_offer(purchase.offer_id)?;
            let sold = self.sold_ciphertext(purchase_id, &offer);
            if verify::key_commitment(&data_key) != sold.key_commitment {
                return Err(Error::WrongDataKey);
            }
            let authenticates = verify::check_chunk(
                &sold.header,
                &sold.content_root,
                &data_key,
                index,
                chunk,
                &siblings,
            )
            .map_err(|_| Error::InvalidChunkProof)?;
            if authenticates {
                return Err(Error::ChunkAuthenticates);
            }
            self.buyer_wins(
                purchase_id,
                &mut purchase,
                &mut offer,
                DisputeKind::Chunk { index },
                Some(data_key),
            )
        }

        /// Pays out everything credited to the caller in `asset`. Returns the amount.
        ///
        /// # Errors
        /// `MarketPaused`, `NothingToWithdraw`, `TransferFailed`, `TokenTransferFailed`.
        #[ink(message)]
        pub fn withdraw(&mut self, asset: Asset) -> Result<Balance> {
            self.ensure_running()?;
            let account = self.env().caller();
            let amount = self.credits.get((account, asset)).unwrap_or(0);
            if amount == 0 {
                return Err(Error::NothingToWithdraw);
            }
            // Zero the credit before paying, so that a re-entrant call finds nothing.
            self.credits.remove((account, asset));
            self.change_liabilities(asset, |l| {
                l.credited = l.credited.checked_sub(amount)?;
                Some(())
            })?;
            self.env().emit_event(Withdrawn {
                account,
                asset,
                amount,
            });
            match asset {
                Asset::Native => self
                    .env()
                    .transfer(account, amount)
                    .map_err(|_| Error::TransferFailed)?,
                Asset::Psp22(token) => {
                    let mut token: ink::contract_ref!(PSP22) = token.into();
                    token_outcome(
                        token
                            .call_mut()
                            .transfer(account, amount, Vec::new())
                            .try_invoke(),
                    )?;
                }
            }
            Ok(amount)
        }

        // ---- Queries ------------------------------------------------------------------

        /// The offer with this id.
        #[ink(message)]
        pub fn offer(&self, offer_id: OfferId) -> Option<Offer> {
            self.offers.get(offer_id)
        }

        /// The ciphertext URI and metadata of this offer.
        #[ink(message)]
        pub fn offer_metadata(&self, offer_id: OfferId) -> Option<(String, OfferMetadata)> {
            self.offer_metadata.get(offer_id)
        }

        /// The purchase with this id.
        #[ink(message)]
        pub fn purchase_info(&self, purchase_id: PurchaseId) -> Option<Purchase> {
            self.purchases.get(purchase_id)
        }

        /// The last offer id and the last purchase id handed out.
        #[ink(message)]
        pub fn last_ids(&self) -> (OfferId, PurchaseId) {
            (self.last_offer_id, self.last_purchase_id)
        }

        /// What `account` may withdraw in `asset`.
        #[ink(message)]
        pub fn credit_of(&self, account: AccountId, asset: Asset) -> Balance {
            self.credits.get((account, asset)).unwrap_or(0)
        }

        /// What the contract owes in `asset`.
        #[ink(message)]
        pub fn liabilities(&self, asset: Asset) -> Liabilities {
            self.liabilities.get(asset).unwrap_or_default()
        }

        /// The settings in force.
        #[ink(message)]
        pub fn config(&self) -> Config {
            self.config.clone()
        }

        /// The native penalty a successful dispute takes from the owner's bond (capped at
        /// what is left of it).
        #[ink(message)]
        pub fn dispute_penalty(&self) -> Balance {
            self.dispute_penalty.get().unwrap_or(0)
        }

        /// The dispute of this purchase, if it was disputed.
        #[ink(message)]
        pub fn dispute_of(&self, purchase_id: PurchaseId) -> Option<Dispute> {
            self.disputes.get(purchase_id)
        }

        // ---- Admin --------------------------------------------------------------------

        /// Sets the fee (basis points, at most 10%) and who receives it. Purchases keep
        /// the fee in force when they were made.
        ///
        /// # Errors
        /// `NotAdmin`, `FeeTooHigh`.
        #[ink(message)]
        pub fn set_fee(&mut self, fee_bps: u16, fee_recipient: AccountId) -> Result<()> {
            self.update_config(|c| {
                c.fee_bps = fee_bps;
                c.fee_recipient = fee_recipient;
            })
        }

        /// Sets the delivery period and the dispute window, in blocks, for purchases and
        /// deliveries made from now on.
        ///
        /// # Errors
        /// `NotAdmin`, `InvalidPeriod`.
        #[ink(message)]
        pub fn set_periods(
            &mut self,
            delivery_period: BlockNumber,
            dispute_window: BlockNumber,
        ) -> Result<()> {
            self.update_config(|c| {
                c.delivery_period = delivery_period;
                c.dispute_window = dispute_window;
            })
        }

        /// Sets the minimum owner bond for new offers and the buyer's dispute bond.
        ///
        /// # Errors
        /// `NotAdmin`.
        #[ink(message)]
        pub fn set_bonds(&mut self, min_bond: Balance, dispute_bond: Balance) -> Result<()> {
            self.update_config(|c| {
                c.min_bond = min_bond;
                c.dispute_bond = dispute_bond;
            })
        }

        /// Sets the native penalty that a successful dispute moves from the offer's bond to
        /// the buyer (capped at what is left of the bond).
        ///
        /// # Errors
        /// `NotAdmin`.
        #[ink(message)]
        pub fn set_dispute_penalty(&mut self, penalty: Balance) -> Result<()> {
            self.ensure_admin()?;
            self.dispute_penalty.set(&penalty);
            self.env().emit_event(DisputePenaltyChanged { penalty });
            Ok(())
        }

        /// Pauses or unpauses every non-admin state change.
        ///
        /// # Errors
        /// `NotAdmin`.
        #[ink(message)]
        pub fn set_paused(&mut self, paused: bool) -> Result<()> {
            self.ensure_admin()?;
            self.config.paused = paused;
            self.env().emit_event(MarketPauseChanged { paused });
            Ok(())
        }

        /// Hands the admin role to another account.
        ///
        /// # Errors
        /// `NotAdmin`.
        #[ink(message)]
        pub fn transfer_admin(&mut self, new_admin: AccountId) -> Result<()> {
            self.ensure_admin()?;
            let from = self.config.admin;
            self.config.admin = new_admin;
            self.env().emit_event(AdminTransferred {
                from,
                to: new_admin,
            });
            Ok(())
        }

        /// Replaces the contract's code, keeping its storage (the new code must keep the
        /// storage layout).
        ///
        /// # Errors
        /// `NotAdmin`, `UpgradeFailed` if no code with this hash was uploaded.
        #[ink(message)]
        pub fn set_code(&mut self, code_hash: [u8; 32]) -> Result<()> {
            self.ensure_admin()?;
            self.env().emit_event(CodeUpgraded { code_hash });
            self.env()
                .set_code_hash(&Hash::from(code_hash))
                .map_err(|_| Error::UpgradeFailed)
        }

        // ---- Helpers ------------------------------------------------------------------

        pub(crate) fn ensure_running(&self) -> Result<()> {
            if self.config.paused {
                Err(Error::MarketPaused)
            } else {
                Ok(())
            }
        }

        fn ensure_admin(&self) -> Result<()> {
            if self.env().caller() == self.config.admin {
                Ok(())
            } else {
                Err(Error::NotAdmin)
            }
        }

        fn update_config(&mut self, change: impl FnOnce(&mut Config)) -> Result<()> {
            self.ensure_admin()?;
            let mut config = self.config.clone();
            change(&mut config);
            check_config(&config)?;
            self.config = config.clone();
            self.env().emit_event(ConfigChanged { config });
            Ok(())
        }

        pub(crate) fn get_offer(&self, offer_id: OfferId) -> Result<Offer> {
            self.offers.get(offer_id).ok_or(Error::OfferNotFound)
        }

        pub(crate) fn get_purchase(&self, purchase_id: PurchaseId) -> Result<Purchase> {
            self.purchases
                .get(purchase_id)
                .ok_or(Error::PurchaseNotFound)
        }

        /// The offer, if the caller owns it.
        pub(crate) fn owned_offer(&self, offer_id: OfferId) -> Result<Offer> {
            let offer = self.get_offer(offer_id)?;
            if offer.owner != self.env().caller() {
                return Err(Error::NotOfferOwner);
            }
            Ok(offer)
        }

        fn change_offer_status(
            &mut self,
            offer_id: OfferId,
            from: OfferStatus,
            to: OfferStatus,
        ) -> Result<()> {
            self.ensure_running()?;
            let mut offer = self.owned_offer(offer_id)?;
            if offer.status != from {
                return Err(Error::InvalidStatusChange);
            }
            offer.status = to;
            self.offers.insert(offer_id, &offer);
            self.env().emit_event(OfferStatusChanged {
                offer_id,
                status: to,
            });
            Ok(())
        }
    }

    /// A PSP22 call fails three ways (the call itself, ink!'s dispatch, the token's own
    /// error); to the marketplace they all mean the transfer did not happen.
    pub(crate) fn token_outcome(
        outcome: core::result::Result<
            ink::MessageResult<core::result::Result<(), psp22::PSP22Error>>,
            ink::env::Error,
        >,
    ) -> Result<()> {
        match outcome {
            Ok(Ok(Ok(()))) => Ok(()),
            _ => Err(Error::TokenTransferFailed),
        }
    }
}

#[cfg(test)]
mod tests;
