//! Types and events shared by the marketplace contract and everything off-chain that
//! reads it (the chain client, the indexer, the CLI).
//!
//! The contract compiles this crate `no_std`; decoders use it with `std`. Keeping the
//! events here means an event emitted by the contract and the struct a decoder reads
//! are the same Rust type, so they cannot drift apart.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// cargo-contract lints with `-D clippy::cast_possible_truncation`, which fires inside the
// SCALE derive's code for enums (discriminant casts), not on anything written here.
#![allow(clippy::cast_possible_truncation)]

extern crate alloc;

use alloc::{string::String, vec::Vec};
use datamarket_format as format;
use ink::primitives::AccountId;

/// Identifies an offer. Offer ids count up from 1 and are never reused.
pub type OfferId = u64;
/// Identifies a purchase. Purchase ids count up from 1 and are never reused.
pub type PurchaseId = u64;
/// Amounts of the native token and of PSP22 tokens.
pub type Balance = u128;
/// Block numbers: every deadline and window counts blocks (DESIGN §4).
pub type BlockNumber = u32;
/// A SHA-256 digest.
pub type Hash32 = [u8; 32];
/// An X25519 public key (the buyer's per-purchase key).
pub type X25519PublicKey = [u8; 32];

/// Basis points in a whole: a revenue split sums to this.
pub const BPS_DENOMINATOR: u16 = 10_000;
/// The marketplace fee can never be set above this (10%).
pub const MAX_FEE_BPS: u16 = 1_000;
/// At most this many payees share an offer's revenue (a data union).
pub const MAX_PAYEES: usize = 16;
/// Length of the sealed key envelope (format v1, DESIGN §3).
pub const ENVELOPE_LEN: usize = format::ENVELOPE_LEN;
/// Length of the ciphertext header of format v1.
pub const HEADER_LEN: usize = format::HEADER_LEN;
/// Magic bytes that open every ciphertext header.
pub const HEADER_MAGIC: [u8; 6] = *format::MAGIC;
/// The ciphertext format version this contract accepts.
pub const FORMAT_VERSION: u8 = format::VERSION;
/// Smallest chunk size the format allows.
pub const MIN_CHUNK_SIZE: u32 = format::ChunkSize::MIN;
/// Largest chunk size: one chunk and its proof must fit in a single dispute call.
pub const MAX_CHUNK_SIZE: u32 = format::ChunkSize::MAX;
/// Longest and shortest deadline or window the admin may set, in blocks.
pub const MAX_PERIOD_BLOCKS: BlockNumber = 5_256_000; // about a year of 6 s blocks

/// Bounds on offer metadata, so that every offer fits one storage cell and one call.
pub mod limits {
    /// Longest title, in bytes of UTF-8.
    pub const TITLE: usize = 128;
    /// Longest description, in bytes of UTF-8.
    pub const DESCRIPTION: usize = 2_048;
    /// Most tags on an offer.
    pub const TAGS: usize = 16;
    /// Longest tag, in bytes of UTF-8.
    pub const TAG: usize = 32;
    /// Longest schema description, in bytes of UTF-8.
    pub const SCHEMA: usize = 512;
    /// Longest ciphertext URI, in bytes of UTF-8.
    pub const URI: usize = 512;
}

/// The 80-byte sealed key envelope: an ephemeral X25519 public key and the DEK
/// encrypted to the buyer (DESIGN §3).
pub type Envelope = [u8; ENVELOPE_LEN];
/// The 26-byte ciphertext header of format v1.
pub type CiphertextHeader = [u8; HEADER_LEN];

/// What a purchase is paid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Asset {
    /// The chain's native token, sent with the call.
    Native,
    /// A PSP22 token contract; the buyer approves the marketplace first.
    Psp22(AccountId),
}

/// Whether an offer can be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum OfferStatus {
    /// Open for purchases.
    Active,
    /// Temporarily closed by its owner; can be reactivated.
    Paused,
    /// Closed for good. The bond is released once no purchase is open.
    Delisted,
}

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum PurchaseStatus {
    /// Paid and waiting for the owner's key delivery.
    Pending,
    /// The envelope is on chain; the dispute window runs.
    Delivered,
    /// The window passed; the payment was credited to the payees and the fee.
    Settled,
    /// Nothing was delivered by the deadline; the payment was credited back to the buyer.
    Refunded,
    /// The buyer disputed the delivery and lost (the envelope opened to the committed
    /// key): the dispute bond went to the owner, and the purchase settles after the
    /// dispute window like a delivered one. A purchase is disputed at most once.
    Disputed,
    /// The buyer disputed and won (a bad envelope or a bad chunk was proven): the payment
    /// and the dispute bond were credited back to the buyer with a penalty from the
    /// owner's bond. Closed.
    Resolved,
}

impl PurchaseStatus {
    /// Open purchases still hold escrow and keep the offer's bond locked.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Delivered | Self::Disputed)
    }
}

/// One share of an offer's revenue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Payee {
    /// Who is credited.
    pub account: AccountId,
    /// The share in basis points; all shares of an offer sum to 10 000.
    pub bps: u16,
}

/// What a buyer sees before buying; bounded by [`limits`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct OfferMetadata {
    /// A short title; must not be empty.
    pub title: String,
    /// A longer description.
    pub description: String,
    /// Search tags.
    pub tags: Vec<String>,
    /// What the rows or records look like (free text or a schema URL).
    pub schema: String,
    /// Plaintext size in bytes, as the owner declares it.
    pub size: u64,
}

/// Everything the owner supplies to list a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct NewOffer {
    /// Commitment to the ciphertext: SHA-256(0x02 ‖ header ‖ Merkle root of the chunks).
    pub content_root: Hash32,
    /// The ciphertext's 26-byte header (format v1).
    pub header: CiphertextHeader,
    /// SHA-256("datamarket/key-commitment/v1" ‖ DEK).
    pub key_commitment: Hash32,
    /// Price per purchase; must be above zero.
    pub price: Balance,
    /// What the price is paid in.
    pub asset: Asset,
    /// Where the ciphertext can be downloaded.
    pub uri: String,
    /// Title, description, tags, schema, size.
    pub metadata: OfferMetadata,
    /// Revenue split, 1..=16 payees summing to 10 000 basis points.
    pub payees: Vec<Payee>,
    /// Stop selling after this many purchases, if set.
    pub max_purchases: Option<u32>,
}

/// An offer as stored (its metadata and URI are stored apart, see [`OfferMetadata`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Offer {
    /// Who listed the offer, delivers keys and holds the bond.
    pub owner: AccountId,
    /// See [`NewOffer::content_root`].
    pub content_root: Hash32,
    /// See [`NewOffer::header`].
    pub header: CiphertextHeader,
    /// See [`NewOffer::key_commitment`].
    pub key_commitment: Hash32,
    /// Current price; a purchase keeps the price it paid.
    pub price: Balance,
    /// What the price is paid in.
    pub asset: Asset,
    /// Revenue split.
    pub payees: Vec<Payee>,
    /// Active, paused or delisted.
    pub status: OfferStatus,
    /// Native bond locked by the owner while the offer lives.
    pub bond: Balance,
    /// Purchase cap, if any.
    pub max_purchases: Option<u32>,
    /// Purchases made so far.
    pub purchases: u32,
    /// Purchases not yet settled or refunded (they keep the bond locked).
    pub open_purchases: u32,
    /// Block of creation.
    pub created_at: BlockNumber,
}

/// A purchase as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Purchase {
    /// The offer bought.
    pub offer_id: OfferId,
    /// Who paid.
    pub buyer: AccountId,
    /// The buyer's X25519 public key for this purchase only.
    pub buyer_pk: X25519PublicKey,
    /// The price paid (the offer's price at purchase time), held in escrow.
    pub amount: Balance,
    /// What it was paid in.
    pub asset: Asset,
    /// The marketplace fee in force at purchase time, in basis points.
    pub fee_bps: u16,
    /// Block of the purchase.
    pub created_at: BlockNumber,
    /// Last block in which the owner may deliver.
    pub delivery_deadline: BlockNumber,
    /// The sealed key, once delivered.
    pub envelope: Option<Envelope>,
    /// Block of delivery.
    pub delivered_at: Option<BlockNumber>,
    /// Last block of the dispute window; settlement is possible after it.
    pub dispute_deadline: Option<BlockNumber>,
    /// Where the purchase stands.
    pub status: PurchaseStatus,
}

/// Bytes before a stored chunk in its Merkle leaf: 0x00 ‖ chunk index (u64).
pub const LEAF_PREFIX_LEN: usize = format::merkle::LEAF_PREFIX_LEN;

/// A stored chunk (ciphertext ‖ tag), as `dispute_chunk` takes it. It encodes exactly
/// as a `Vec<u8>` (and says so in the metadata), but decodes with [`LEAF_PREFIX_LEN`]
/// bytes of room in front, so that the contract hashes the Merkle leaf
/// `0x00 ‖ index ‖ chunk` and decrypts the chunk in the same buffer: a second copy of a
/// 256 KiB chunk would not fit the contract's 1 MiB of memory beside ink!'s 288 KiB
/// input buffer. Longer than [`MAX_CHUNK_SIZE`] + 16 bytes does not decode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkBytes {
    buf: Vec<u8>,
}

impl ChunkBytes {
    /// Longest stored chunk: the largest chunk and its tag.
    pub const MAX_LEN: usize = MAX_CHUNK_SIZE as usize + 16;

    /// Wraps a copy of `chunk`.
    pub fn new(chunk: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(chunk.len().saturating_add(LEAF_PREFIX_LEN));
        buf.extend_from_slice(&[0u8; LEAF_PREFIX_LEN]);
        buf.extend_from_slice(chunk);
        Self { buf }
    }

    /// The stored chunk.
    pub fn chunk(&self) -> &[u8] {
        self.buf.get(LEAF_PREFIX_LEN..).unwrap_or_default()
    }

    /// The stored chunk, to decrypt in place.
    pub fn chunk_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(LEAF_PREFIX_LEN..).unwrap_or_default()
    }

    /// `0x00 ‖ index (u64, big-endian) ‖ chunk`: the preimage of the Merkle leaf.
    pub fn leaf_preimage(&mut self, index: u64) -> &[u8] {
        if let Some(prefix) = self.buf.get_mut(..LEAF_PREFIX_LEN) {
            prefix.copy_from_slice(&format::merkle::leaf_prefix(index));
        }
        &self.buf
    }
}

impl scale::Encode for ChunkBytes {
    fn size_hint(&self) -> usize {
        self.chunk().size_hint()
    }

    fn encode_to<T: scale::Output + ?Sized>(&self, dest: &mut T) {
        self.chunk().encode_to(dest)
    }
}

impl scale::Decode for ChunkBytes {
    fn decode<I: scale::Input>(input: &mut I) -> core::result::Result<Self, scale::Error> {
        let len = <scale::Compact<u32> as scale::Decode>::decode(input)?.0;
        let len = usize::try_from(len).map_err(|_| "chunk too long")?;
        if len > Self::MAX_LEN {
            return Err("chunk longer than the largest chunk".into());
        }
        if input
            .remaining_len()?
            .is_some_and(|remaining| remaining < len)
        {
            return Err("not enough data for the chunk".into());
        }
        let mut buf = alloc::vec![0u8; len.saturating_add(LEAF_PREFIX_LEN)];
        input.read(buf.get_mut(LEAF_PREFIX_LEN..).unwrap_or_default())?;
        Ok(Self { buf })
    }
}

impl scale_info::TypeInfo for ChunkBytes {
    type Identity = Vec<u8>;

    fn type_info() -> scale_info::Type {
        <Vec<u8> as scale_info::TypeInfo>::type_info()
    }
}

/// What a dispute contested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum DisputeKind {
    /// The sealed envelope: the buyer revealed its per-purchase X25519 secret and the
    /// contract checked whether the envelope opens to a key matching the key commitment.
    Envelope,
    /// One chunk of the ciphertext: the buyer revealed the data key (matching the key
    /// commitment) and proved that this chunk, under the content root, does not
    /// authenticate.
    Chunk {
        /// The chunk's index in the ciphertext.
        index: u64,
    },
}

/// The record of a purchase's dispute, stored under the purchase id (one per purchase).
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Dispute {
    /// Who disputed.
    pub buyer: AccountId,
    /// The dispute bond the buyer locked.
    pub bond: Balance,
    /// Block of the dispute.
    pub opened_at: BlockNumber,
    /// `Some(true)` if the buyer won. Disputes are decided in the call that opens
    /// them, so this is always `Some`.
    pub buyer_won: Option<bool>,
}

/// The marketplace's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Config {
    /// Who may change these settings.
    pub admin: AccountId,
    /// Fee on each settled purchase, in basis points, at most [`MAX_FEE_BPS`].
    pub fee_bps: u16,
    /// Who is credited the fee.
    pub fee_recipient: AccountId,
    /// Blocks a owner has to deliver after a purchase.
    pub delivery_period: BlockNumber,
    /// Blocks a buyer has to dispute after a delivery.
    pub dispute_window: BlockNumber,
    /// Smallest bond an owner must lock per offer (native token).
    pub min_bond: Balance,
    /// Bond a buyer sends with a dispute (native, exactly this amount): back to the buyer
    /// if the dispute succeeds, to the offer's owner if it fails. The penalty a
    /// successful dispute takes from the owner's bond is set apart
    /// (`set_dispute_penalty`), so that this struct keeps its layout.
    pub dispute_bond: Balance,
    /// While true every state-changing message except the admin's is refused.
    pub paused: bool,
}

/// What the contract owes, per asset: the contract's holdings of that asset equal
/// `escrow + bonds + credited` (bonds are native only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Liabilities {
    /// Payments of open purchases.
    pub escrow: Balance,
    /// Owners' bonds. (A dispute bond is credited to the buyer or the owner in the
    /// call that brings it, so it is never held as a bond.)
    pub bonds: Balance,
    /// Credited to accounts and not yet withdrawn.
    pub credited: Balance,
}

impl Liabilities {
    /// The sum, or `None` on overflow.
    pub fn total(&self) -> Option<Balance> {
        self.escrow
            .checked_add(self.bonds)?
            .checked_add(self.credited)
    }
}

/// Why a marketplace message refused to act. Nothing changes when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum Error {
    /// The caller is not the admin.
    NotAdmin,
    /// The marketplace is paused.
    MarketPaused,
    /// The fee is above [`MAX_FEE_BPS`].
    FeeTooHigh,
    /// A deadline or window is zero or above [`MAX_PERIOD_BLOCKS`].
    InvalidPeriod,
    /// No offer has this id.
    OfferNotFound,
    /// No purchase has this id.
    PurchaseNotFound,
    /// Only the offer's owner may do this.
    NotOfferOwner,
    /// The offer is paused.
    OfferPaused,
    /// The offer is delisted.
    OfferDelisted,
    /// The offer reached its purchase cap.
    SoldOut,
    /// Prices must be above zero.
    ZeroPrice,
    /// The transferred value is not what the call requires (the exact price, the bond,
    /// or nothing).
    WrongPayment,
    /// The transferred bond is below the minimum.
    BondTooLow,
    /// The ciphertext header is not a valid format v1 header.
    InvalidHeader,
    /// The header's chunk size is above [`MAX_CHUNK_SIZE`], so chunks could not be disputed.
    ChunkSizeTooLarge,
    /// The title is empty.
    EmptyTitle,
    /// The title is longer than [`limits::TITLE`].
    TitleTooLong,
    /// The description is longer than [`limits::DESCRIPTION`].
    DescriptionTooLong,
    /// More than [`limits::TAGS`] tags.
    TooManyTags,
    /// A tag is empty or longer than [`limits::TAG`].
    InvalidTag,
    /// The schema is longer than [`limits::SCHEMA`].
    SchemaTooLong,
    /// The URI is empty or longer than [`limits::URI`].
    InvalidUri,
    /// The split has no payee.
    NoPayees,
    /// The split has more than [`MAX_PAYEES`] payees.
    TooManyPayees,
    /// The same account appears twice in the split.
    DuplicatePayee,
    /// A payee's share is zero.
    ZeroShare,
    /// The shares do not sum to 10 000 basis points.
    SplitNotTotal,
    /// The purchase cap is zero.
    InvalidMaxPurchases,
    /// The PSP22 asset is not a contract.
    NotAContract,
    /// The buyer's X25519 key is all zeros.
    InvalidBuyerKey,
    /// The purchase is not waiting for delivery (delivered twice, refunded, ...).
    NotPending,
    /// The delivery deadline has passed.
    DeliveryDeadlinePassed,
    /// The delivery deadline has not passed yet, so no refund.
    DeliveryDeadlineNotReached,
    /// The purchase is not in the delivered state.
    NotDelivered,
    /// The dispute window is still open.
    DisputeWindowOpen,
    /// The offer cannot move to that status (for example out of delisted).
    InvalidStatusChange,
    /// Nothing is credited to the caller in that asset.
    NothingToWithdraw,
    /// The native transfer failed.
    TransferFailed,
    /// The PSP22 token refused the transfer (allowance or balance too low).
    TokenTransferFailed,
    /// An amount would overflow.
    Overflow,
    /// The code hash could not be set (unknown code).
    UpgradeFailed,
    // Disputes. New variants go at the end: the index is the encoding.
    /// Only the purchase's buyer may dispute it.
    NotBuyer,
    /// The purchase was disputed already (a purchase is disputed at most once).
    AlreadyDisputed,
    /// The dispute window has passed.
    DisputeWindowClosed,
    /// X25519(buyer secret, G) is not the buyer key recorded at purchase.
    WrongBuyerSecret,
    /// The data key does not match the offer's key commitment.
    WrongDataKey,
    /// The chunk proof does not hold: index out of range, a chunk of the wrong length,
    /// or a sibling path that does not lead to the content root.
    InvalidChunkProof,
    /// The proven chunk authenticates under the data key: nothing to dispute.
    ChunkAuthenticates,
    /// A title, tag or URI holds a control character, or a description or schema one
    /// other than a line break or a tab. Offer texts reach terminals, pages and
    /// databases as they are: an escape sequence could rewrite a buyer's terminal, and a
    /// NUL is refused by Postgres text.
    ControlCharacter,
    // Compute jobs (DESIGN §8).
    /// The offer sells no jobs (it has no compute terms).
    NotComputeOffer,
    /// The offer's compute terms do not allow this job hash.
    JobNotAllowed,
    /// Compute terms with a zero cap, an empty allowlist without "any job", or a job
    /// hash listed twice.
    InvalidComputeTerms,
    /// More than [`compute::MAX_ALLOWED_JOBS`] job hashes.
    TooManyJobs,
    /// "Any job" needs an empty allowlist and a result cap of at most
    /// [`compute::ANY_JOB_MAX_RESULT`].
    AnyJobNeedsSmallResultCap,
    /// The offer's price is above the most the buyer said it would pay.
    PriceAboveMax,
    /// The purchase is not a job (`deliver_result`, `fail_job`).
    NotAJob,
    /// The purchase is a job: it is answered with `deliver_result` or `fail_job`.
    IsAJob,
    /// The offer sells jobs only, not the dataset.
    AccessNotForSale,
    /// The result is larger than the offer's result cap, or burned more than its fuel
    /// cap.
    ResultOverCap,
}

/// The marketplace's result type.
pub type Result<T> = core::result::Result<T, Error>;

pub mod compute;
pub mod events;

/// Decoding of emitted events by their signature topic (off-chain only).
#[cfg(feature = "std")]
pub mod decode;
mod rules;
#[cfg(test)]
mod tests;

pub use compute::{check_compute_terms, ComputeTerms, Job, JobResult};
pub use rules::{
    check_config, check_header, check_metadata, check_split, check_uri, split_payment,
};
