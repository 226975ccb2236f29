//! The sealed envelope: a data key sealed to one purchase's X25519 key (80 bytes, on
//! chain).
//!
//! Owner: ephemeral secret e, E = X25519(e, G); s = X25519(e, buyer_pk), refused if all
//! zero; k = HKDF-SHA256(ikm = s, salt = E ‖ buyer_pk, info = "datamarket/envelope/v1" ‖
//! contract (32) ‖ purchase id (u64)); envelope = E ‖ AES-256-GCM(k, nonce = 0^12, DEK,
//! aad = offer id (u64) ‖ purchase id (u64)). k is used once, so the fixed nonce is safe.

use core::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Envelope length: E (32) ‖ encrypted DEK (32) ‖ tag (16).
pub const ENVELOPE_LEN: usize = 80;
/// HKDF info prefix.
pub const ENVELOPE_INFO: &[u8; 22] = b"datamarket/envelope/v1";

/// Why an envelope cannot be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    /// X25519 gave the all-zero shared secret: a low-order public key (the buyer's when
    /// sealing, the envelope's E when opening).
    ZeroSharedSecret,
    /// The tag does not verify under the derived key: another buyer key or context, or
    /// a tampered envelope.
    DoesNotOpen,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroSharedSecret => {
                "all-zero X25519 shared secret rejected (low-order public key)"
            }
            Self::DoesNotOpen => "envelope does not open (wrong buyer key or wrong context)",
        })
    }
}

impl core::error::Error for EnvelopeError {}

/// What an envelope is bound to: the marketplace contract, the offer and the purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeContext {
    /// The marketplace contract's account id (32 bytes).
    pub contract: [u8; 32],
    /// Offer id.
    pub offer_id: u64,
    /// Purchase id.
    pub purchase_id: u64,
}

impl EnvelopeContext {
    /// HKDF info: `"datamarket/envelope/v1" ‖ contract (32) ‖ purchase id (u64)`.
    pub fn hkdf_info(&self) -> [u8; 62] {
        let mut info = [0u8; 62];
        info[..22].copy_from_slice(ENVELOPE_INFO);
        info[22..54].copy_from_slice(&self.contract);
        info[54..].copy_from_slice(&self.purchase_id.to_be_bytes());
        info
    }

    /// AES-GCM AAD: `offer id (u64) ‖ purchase id (u64)`.
    pub fn aad(&self) -> [u8; 16] {
        let mut aad = [0u8; 16];
        aad[..8].copy_from_slice(&self.offer_id.to_be_bytes());
        aad[8..].copy_from_slice(&self.purchase_id.to_be_bytes());
        aad
    }
}

/// X25519(secret, G): the public key of an X25519 secret.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*secret)).to_bytes()
}

/// k = HKDF-SHA256(ikm = s, salt = E ‖ buyer_pk, info = "datamarket/envelope/v1" ‖
/// contract ‖ purchase id). Refuses the all-zero shared secret.
///
/// # Errors
/// [`EnvelopeError::ZeroSharedSecret`] when `shared` is all zero.
pub fn derive_key(
    shared: &[u8; 32],
    ephemeral_pk: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    // The OR does not branch on individual bytes.
    if shared.iter().fold(0u8, |acc, b| acc | b) == 0 {
        return Err(EnvelopeError::ZeroSharedSecret);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_pk);
    salt[32..].copy_from_slice(buyer_pk);
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<sha2::Sha256>::new(Some(&salt), shared)
        .expand(&ctx.hkdf_info(), &mut k[..])
        .map_err(|_| EnvelopeError::DoesNotOpen)?; // 32 bytes is always a valid length
    Ok(k)
}

/// Seals `dek` to `buyer_pk` with the ephemeral secret `ephemeral_secret`. The caller
/// draws a fresh ephemeral secret from the OS for every envelope; reusing one for two
/// envelopes to the same buyer key and purchase reuses the envelope key.
///
/// # Errors
/// [`EnvelopeError::ZeroSharedSecret`] for a low-order buyer key.
pub fn seal(
    dek: &[u8; 32],
    ephemeral_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<[u8; ENVELOPE_LEN], EnvelopeError> {
    let e = StaticSecret::from(*ephemeral_secret);
    let ephemeral_pk = PublicKey::from(&e).to_bytes();
    let shared = Zeroizing::new(e.diffie_hellman(&PublicKey::from(*buyer_pk)).to_bytes());
    let k = derive_key(&shared, &ephemeral_pk, buyer_pk, ctx)?;
    let mut out = [0u8; ENVELOPE_LEN];
    out[..32].copy_from_slice(&ephemeral_pk);
    out[32..64].copy_from_slice(dek);
    let tag = Aes256Gcm::new((&*k).into())
        .encrypt_in_place_detached(&Nonce::default(), &ctx.aad(), &mut out[32..64])
        .map_err(|_| EnvelopeError::DoesNotOpen)?; // a 32-byte message always seals
    out[64..].copy_from_slice(&tag);
    Ok(out)
}

/// Opens `envelope` with the buyer's secret, whose public key `buyer_pk` the caller
/// already holds (the contract has checked it against the purchase; [`open`] computes
/// it).
///
/// # Errors
/// [`EnvelopeError::ZeroSharedSecret`] when E is a low-order point (a bad envelope),
/// [`EnvelopeError::DoesNotOpen`] when the tag does not verify.
pub fn open_with_public(
    envelope: &[u8; ENVELOPE_LEN],
    buyer_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    let mut ephemeral_pk = [0u8; 32];
    ephemeral_pk.copy_from_slice(&envelope[..32]);
    let shared = Zeroizing::new(
        StaticSecret::from(*buyer_secret)
            .diffie_hellman(&PublicKey::from(ephemeral_pk))
            .to_bytes(),
    );
    let k = derive_key(&shared, &ephemeral_pk, buyer_pk, ctx)?;
    let mut dek = Zeroizing::new([0u8; 32]);
    dek.copy_from_slice(&envelope[32..64]);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&envelope[64..]);
    Aes256Gcm::new((&*k).into())
        .decrypt_in_place_detached(&Nonce::default(), &ctx.aad(), &mut dek[..], &Tag::from(tag))
        .map_err(|_| EnvelopeError::DoesNotOpen)?;
    Ok(dek)
}

/// Opens `envelope` with the buyer's secret.
///
/// # Errors
/// As [`open_with_public`].
pub fn open(
    envelope: &[u8; ENVELOPE_LEN],
    buyer_secret: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    open_with_public(envelope, buyer_secret, &x25519_public(buyer_secret), ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let ctx = EnvelopeContext {
            contract: [3; 32],
            offer_id: 7,
            purchase_id: 9,
        };
        let secret = [0x11; 32];
        let pk = x25519_public(&secret);
        let env = seal(&[5; 32], &[0x22; 32], &pk, &ctx).unwrap();
        assert_eq!(*open(&env, &secret, &ctx).unwrap(), [5; 32]);
        let other = EnvelopeContext { offer_id: 8, ..ctx };
        assert_eq!(open(&env, &secret, &other), Err(EnvelopeError::DoesNotOpen));
        assert_eq!(
            seal(&[5; 32], &[0x22; 32], &[0; 32], &ctx),
            Err(EnvelopeError::ZeroSharedSecret)
        );
        let mut low = env;
        low[..32].fill(0);
        assert_eq!(
            open(&low, &secret, &ctx),
            Err(EnvelopeError::ZeroSharedSecret)
        );
    }
}
