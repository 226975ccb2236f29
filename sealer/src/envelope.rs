//! Sealed key envelopes: the DEK sealed to one purchase's X25519 key (DESIGN §3).
//!
//! The derivation and the opening are small pure functions over byte arrays, so that
//! the marketplace contract's dispute check (no_std wasm, same crates) can follow them
//! line by line; `tests/vectors.json` pins the bytes.

use std::fmt;

use datamarket_format::envelope as format;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keys::{parse_hex32, redacted_fmt};
use crate::{DataKey, Error, Result};

pub use format::{EnvelopeContext, ENVELOPE_INFO, ENVELOPE_LEN};

/// The 32-byte envelope key k. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct EnvelopeKey([u8; 32]);

redacted_fmt!(EnvelopeKey);

impl EnvelopeKey {
    /// The raw key.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

/// k = HKDF-SHA256(ikm = s, salt = E ‖ buyer_pk, info = "datamarket/envelope/v1" ‖
/// contract ‖ purchase id). Rejects the all-zero shared secret.
///
/// # Errors
/// [`Error::ZeroSharedSecret`] when `shared` is all zero.
pub fn derive_envelope_key(
    shared: &[u8; 32],
    ephemeral_pk: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<EnvelopeKey> {
    Ok(EnvelopeKey(*format::derive_key(
        shared,
        ephemeral_pk,
        buyer_pk,
        ctx,
    )?))
}

/// Seals `dek` with a given ephemeral secret, for test vectors and fuzzing only (feature
/// `deterministic`): an ephemeral key used twice makes two envelopes share their
/// envelope key. [`KeySealer::seal`] draws a fresh one.
///
/// # Errors
/// [`Error::ZeroSharedSecret`] for a low-order buyer key.
#[cfg(feature = "deterministic")]
pub fn seal_with_ephemeral(
    dek: &DataKey,
    ephemeral_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<SealedEnvelope> {
    seal_with(dek, ephemeral_secret, buyer_pk, ctx)
}

fn seal_with(
    dek: &DataKey,
    ephemeral_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<SealedEnvelope> {
    Ok(SealedEnvelope(format::seal(
        dek.expose_secret(),
        ephemeral_secret,
        buyer_pk,
        ctx,
    )?))
}

/// Opens an envelope with the buyer's secret key.
///
/// # Errors
/// [`Error::ZeroSharedSecret`] when E is a low-order point (a bad envelope),
/// [`Error::EnvelopeDoesNotOpen`] when the tag does not verify.
pub fn open_envelope(
    envelope: &SealedEnvelope,
    buyer_secret: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<DataKey> {
    let dek: Zeroizing<[u8; 32]> = format::open(&envelope.0, buyer_secret, ctx)?;
    Ok(DataKey::from_bytes(*dek))
}

/// An 80-byte sealed envelope (public: it is stored on-chain).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealedEnvelope(pub [u8; ENVELOPE_LEN]);

impl SealedEnvelope {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 160 hex digits.
    ///
    /// # Errors
    /// [`Error::Malformed`] on bad hex or length.
    pub fn from_hex(s: &str) -> Result<Self> {
        let mut out = [0u8; ENVELOPE_LEN];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|_| Error::Malformed {
            what: "envelope",
            reason: "expected 160 hex digits".into(),
        })?;
        Ok(SealedEnvelope(out))
    }

    /// Parses 80 raw bytes.
    ///
    /// # Errors
    /// [`Error::Malformed`] on a wrong length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        bytes
            .try_into()
            .map(SealedEnvelope)
            .map_err(|_| Error::Malformed {
                what: "envelope",
                reason: format!("expected 80 bytes, got {}", bytes.len()),
            })
    }
}

impl fmt::Debug for SealedEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedEnvelope({})", self.to_hex())
    }
}

/// Seals a data key to someone (the role of age's `Recipient`).
pub trait KeySealer {
    /// Seals `dek` for the purchase described by `ctx`.
    ///
    /// # Errors
    /// [`Error::ZeroSharedSecret`], [`Error::Rng`].
    fn seal(&self, dek: &DataKey, ctx: &EnvelopeContext) -> Result<SealedEnvelope>;
}

/// Opens sealed data keys (the role of age's `Identity`).
pub trait KeyOpener {
    /// Opens `envelope` for the purchase described by `ctx`.
    ///
    /// # Errors
    /// [`Error::EnvelopeDoesNotOpen`], [`Error::ZeroSharedSecret`].
    fn open(&self, envelope: &SealedEnvelope, ctx: &EnvelopeContext) -> Result<DataKey>;
}

/// A buyer's per-purchase X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BuyerPublicKey(pub [u8; 32]);

impl BuyerPublicKey {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A buyer key from its 32 bytes, if a purchase may name it (canonical, not of
    /// small order: see [`datamarket_format::buyer_key`]).
    ///
    /// # Errors
    /// [`Error::BadBuyerKey`].
    pub fn new(bytes: [u8; 32]) -> Result<Self> {
        datamarket_format::check_buyer_key(&bytes).map_err(Error::BadBuyerKey)?;
        Ok(BuyerPublicKey(bytes))
    }

    /// Parses 64 hex digits of a key a purchase may name.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::BadBuyerKey`].
    pub fn from_hex(s: &str) -> Result<Self> {
        parse_hex32(s.trim(), "buyer public key").and_then(Self::new)
    }
}

impl fmt::Debug for BuyerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuyerPublicKey({})", self.to_hex())
    }
}

impl fmt::Display for BuyerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl KeySealer for BuyerPublicKey {
    fn seal(&self, dek: &DataKey, ctx: &EnvelopeContext) -> Result<SealedEnvelope> {
        // The field is public (keys read from chain): checked here as well as in `new`.
        datamarket_format::check_buyer_key(&self.0).map_err(Error::BadBuyerKey)?;
        let mut e = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut e[..]).map_err(|_| Error::Rng)?;
        seal_with(dek, &e, &self.0, ctx)
    }
}

/// A buyer's per-purchase X25519 secret key. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BuyerSecretKey([u8; 32]);

redacted_fmt!(BuyerSecretKey);

impl BuyerSecretKey {
    /// A fresh key pair's secret half from the OS RNG.
    ///
    /// # Errors
    /// [`Error::Rng`].
    pub fn generate() -> Result<Self> {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).map_err(|_| Error::Rng)?;
        Ok(BuyerSecretKey(k))
    }

    /// Wraps known secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        BuyerSecretKey(bytes)
    }

    /// The raw secret (for key files and a dispute).
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// The matching public key.
    pub fn public_key(&self) -> BuyerPublicKey {
        BuyerPublicKey(format::x25519_public(&self.0))
    }
}

impl KeyOpener for BuyerSecretKey {
    fn open(&self, envelope: &SealedEnvelope, ctx: &EnvelopeContext) -> Result<DataKey> {
        open_envelope(envelope, &self.0, ctx)
    }
}
