//! Every event the marketplace emits. Ids and accounts are topics so that the indexer
//! and apps can filter on them.

use super::*;

/// An offer was listed.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferCreated {
    /// The new offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// Its owner.
    #[ink(topic)]
    pub owner: AccountId,
    /// See [`NewOffer`].
    pub content_root: Hash32,
    /// See [`NewOffer`].
    pub header: CiphertextHeader,
    /// See [`NewOffer`].
    pub key_commitment: Hash32,
    /// See [`NewOffer`].
    pub price: Balance,
    /// See [`NewOffer`].
    pub asset: Asset,
    /// See [`NewOffer`].
    pub uri: String,
    /// See [`NewOffer`].
    pub metadata: OfferMetadata,
    /// See [`NewOffer`].
    pub payees: Vec<Payee>,
    /// The bond locked.
    pub bond: Balance,
    /// See [`NewOffer`].
    pub max_purchases: Option<u32>,
}

/// An offer's price changed (purchases made before keep their price).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferPriceUpdated {
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The new price.
    pub price: Balance,
}

/// An offer's metadata or URI changed.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferMetadataUpdated {
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The new ciphertext URI.
    pub uri: String,
    /// The new metadata.
    pub metadata: OfferMetadata,
}

/// An offer was paused, reactivated or delisted.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferStatusChanged {
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The new status.
    pub status: OfferStatus,
}

/// An offer's bond was credited back to its owner (delisted, nothing open).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondReleased {
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// Its owner, credited with the bond.
    #[ink(topic)]
    pub owner: AccountId,
    /// The bond.
    pub amount: Balance,
}

/// A buyer paid for an offer; the payment is in escrow.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseCreated {
    /// The new purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// The offer bought.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// Who paid.
    #[ink(topic)]
    pub buyer: AccountId,
    /// The buyer's per-purchase X25519 key, to seal the DEK to.
    pub buyer_pk: X25519PublicKey,
    /// The price paid.
    pub amount: Balance,
    /// What it was paid in.
    pub asset: Asset,
    /// The fee in force, in basis points.
    pub fee_bps: u16,
    /// Last block for delivery.
    pub delivery_deadline: BlockNumber,
}

/// The owner delivered the sealed key.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDelivered {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// Its offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The sealed DEK.
    pub envelope: Envelope,
    /// Last block of the dispute window.
    pub dispute_deadline: BlockNumber,
}

/// A purchase was settled: the payment was credited to the payees and the fee.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseSettled {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// Its offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The asset credited.
    pub asset: Asset,
    /// The fee credited to the fee recipient.
    pub fee: Balance,
    /// Who was credited, and how much; with the fee it sums to the payment.
    pub payouts: Vec<(AccountId, Balance)>,
}

/// A purchase was refunded: nothing was delivered by the deadline.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRefunded {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// Its offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The buyer, credited with the payment.
    #[ink(topic)]
    pub buyer: AccountId,
    /// The amount credited.
    pub amount: Balance,
    /// Its asset.
    pub asset: Asset,
}

/// A buyer disputed a delivered purchase; the contract decided it in the same call.
///
/// Buyer won (`buyer_won`; the purchase is now `Resolved` and closed): `refund` (the
/// payment, in `asset`) and `bond` are credited to the buyer, and `penalty` (native)
/// moved from the offer's bond to the buyer's credit. Buyer lost (only an envelope
/// dispute can be lost; the purchase is now `Disputed` and settles after the window):
/// `refund` and `penalty` are zero and `bond` is credited to `owner`.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseDisputed {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// Its offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The buyer, who disputed.
    #[ink(topic)]
    pub buyer: AccountId,
    /// The offer's owner.
    pub owner: AccountId,
    /// Envelope or chunk (with its index).
    pub kind: DisputeKind,
    /// True if the buyer proved a bad delivery.
    pub buyer_won: bool,
    /// The payment's asset.
    pub asset: Asset,
    /// The payment credited back to the buyer (zero if the buyer lost).
    pub refund: Balance,
    /// Native amount moved from the owner's bond to the buyer (zero if the buyer lost).
    pub penalty: Balance,
    /// The buyer's dispute bond (native): back to the buyer if it won, else to the owner.
    pub bond: Balance,
    /// The offer's data key when this dispute made it public: the DEK of a chunk
    /// dispute, or the key a good envelope opened to in a failed envelope dispute
    /// (both match the offer's key commitment). `None` when the envelope was bad.
    pub revealed_key: Option<Hash32>,
}

/// The admin set the penalty that a successful dispute takes from the owner's bond.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputePenaltyChanged {
    /// The penalty (native), capped at what is left of the offer's bond.
    pub penalty: Balance,
}

/// An account withdrew what was credited to it.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawn {
    /// Who withdrew.
    #[ink(topic)]
    pub account: AccountId,
    /// The asset.
    pub asset: Asset,
    /// The amount paid out.
    pub amount: Balance,
}

/// The admin changed the settings (fee, recipient, periods, bonds).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChanged {
    /// The settings now in force.
    pub config: Config,
}

/// The admin paused or unpaused the marketplace.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketPauseChanged {
    /// True when paused.
    pub paused: bool,
}

/// The admin role moved to another account.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTransferred {
    /// The previous admin.
    #[ink(topic)]
    pub from: AccountId,
    /// The new admin.
    #[ink(topic)]
    pub to: AccountId,
}

/// The contract's code was replaced.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUpgraded {
    /// The new code hash.
    pub code_hash: Hash32,
}

/// An offer's compute terms were set (`None`: it sells no jobs any more).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeTermsSet {
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The new terms.
    pub terms: Option<ComputeTerms>,
}

/// A buyer paid for a job (beside the purchase's own `PurchaseCreated`).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPurchased {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// The offer whose dataset the job runs on.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// SHA-256 of the job module.
    #[ink(topic)]
    pub job_hash: Hash32,
    /// Where the module is.
    pub job_uri: String,
    /// SHA-256 of the job's arguments.
    pub args_hash: Hash32,
}

/// A job's result was delivered (beside its `KeyDelivered`): the provenance record of
/// the result and of the data it came from.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCompleted {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The dataset the job ran on (the offer's content root).
    pub dataset_root: Hash32,
    /// The job.
    #[ink(topic)]
    pub job_hash: Hash32,
    /// Its arguments' hash.
    pub args_hash: Hash32,
    /// SHA-256 of the result's plaintext.
    pub result_sha256: Hash32,
    /// The result ciphertext's content root.
    pub result_root: Hash32,
    /// Where the result ciphertext is.
    pub result_uri: String,
    /// The fuel the job burned.
    pub fuel_used: u64,
}

/// A job failed on the owner's machine; the buyer is refunded at once (beside the
/// purchase's `PurchaseRefunded`).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailed {
    /// The purchase.
    #[ink(topic)]
    pub purchase_id: PurchaseId,
    /// The offer.
    #[ink(topic)]
    pub offer_id: OfferId,
    /// The failure kind (the sandbox's `FailureKind`: 1 refused, 2 out of fuel, 3 memory
    /// cap, 4 wall clock, 5 result cap, 6 nonzero exit, 7 trap, 8 the owner's side).
    pub kind: u8,
}
