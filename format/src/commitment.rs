//! The key commitment an offer publishes: `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`.
//! The data key is uniformly random, so the commitment hides it and binds the owner to it.

use crate::merkle::Sha256;

/// Domain separator of the key commitment.
pub const KEY_COMMITMENT_DOMAIN: &[u8; 28] = b"datamarket/key-commitment/v1";

/// `"datamarket/key-commitment/v1" ‖ DEK`. It holds the key: wipe it after hashing.
pub fn key_commitment_preimage(dek: &[u8; 32]) -> zeroize::Zeroizing<[u8; 60]> {
    let mut p = zeroize::Zeroizing::new([0u8; 60]);
    p[..28].copy_from_slice(KEY_COMMITMENT_DOMAIN);
    p[28..].copy_from_slice(dek);
    p
}

/// `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`.
pub fn key_commitment<H: Sha256 + ?Sized>(h: &H, dek: &[u8; 32]) -> [u8; 32] {
    h.digest(&key_commitment_preimage(dek)[..])
}
