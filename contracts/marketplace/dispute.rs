//! The dispute verifier: format v1's envelope opening, key commitment, Merkle chunk
//! proof and chunk AEAD (DESIGN §3), run inside the contract so that a buyer can prove a
//! bad delivery on chain.
//!
//! Every construction is `datamarket-format`'s, the one definition the sealer also
//! uses; the runtime tests in `contracts/harness/tests/disputes.rs` feed it envelopes,
//! chunks and proofs made by the sealer library. SHA-256 of anything but the HKDF runs
//! through the host's hash function, which is far cheaper than hashing in wasm.

use datamarket_format::{
    chunk, commitment,
    envelope::{self, EnvelopeContext},
    merkle, Header, Sha256,
};
use ink::env::hash::{HashOutput, Sha2x256};
use market_types::{ChunkBytes, CiphertextHeader, Envelope, Hash32};

/// SHA-256 through the host.
pub struct HostSha256;

impl Sha256 for HostSha256 {
    fn digest(&self, input: &[u8]) -> [u8; 32] {
        let mut out = <Sha2x256 as HashOutput>::Type::default();
        ink::env::hash_bytes::<Sha2x256>(input, &mut out);
        out
    }
}

/// `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`.
pub fn key_commitment(dek: &[u8; 32]) -> Hash32 {
    commitment::key_commitment(&HostSha256, dek)
}

/// X25519(secret, basepoint): the public key of a buyer's per-purchase secret.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    envelope::x25519_public(secret)
}

/// Opens `envelope` with the buyer's secret, whose public key the caller has checked
/// against the purchase. `None` when it does not open.
pub fn open_envelope(
    envelope: &Envelope,
    buyer_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Option<[u8; 32]> {
    envelope::open_with_public(envelope, buyer_secret, buyer_pk, ctx)
        .ok()
        .map(|dek| *dek)
}

/// Why a chunk dispute carries no valid proof.
#[derive(Debug, PartialEq, Eq)]
pub struct BadProof;

/// Checks that `stored_chunk` (ciphertext ‖ tag) is chunk `index` of the ciphertext
/// committed to by `content_root` (the sealer's `ChunkProof::verify`), then whether it
/// authenticates under `dek` (STREAM nonce, AAD = SHA-256(header)). `Ok(true)`: a good
/// chunk; `Ok(false)`: the proven chunk does not decrypt, so the owner committed to a
/// ciphertext its key cannot open.
///
/// # Errors
/// [`BadProof`] for a header no sealer could have written (the contract checked it at
/// listing), an index out of range, a chunk of the wrong length, a sibling path of the
/// wrong length or one that does not lead to `content_root`.
pub fn check_chunk(
    header: &CiphertextHeader,
    content_root: &Hash32,
    dek: &[u8; 32],
    index: u64,
    mut stored_chunk: ChunkBytes,
    siblings: &[Hash32],
) -> Result<bool, BadProof> {
    let layout = Header::from_bytes(header).map_err(|_| BadProof)?;
    let stored_len = stored_chunk.chunk().len();
    // The leaf through the host in one call, in the buffer the chunk was decoded into
    // (no second copy of up to 256 KiB).
    let leaf = HostSha256.digest(stored_chunk.leaf_preimage(index));
    let proven = merkle::proven_root(&HostSha256, &layout, index, stored_len, leaf, siblings)
        .map_err(|_| BadProof)?;
    if proven != *content_root {
        return Err(BadProof);
    }
    let aad = HostSha256.digest(header);
    match chunk::open_in_place(dek, &layout, &aad, index, stored_chunk.chunk_mut()) {
        Ok(()) => Ok(true),
        Err(chunk::ChunkError::Authentication) => Ok(false),
        Err(chunk::ChunkError::WrongLength) => Err(BadProof),
    }
}

/// Known answers from the sealer's `sealer/tests/vectors.json` (copied here: the contract
/// cannot depend on the std sealer). The runtime tests check the same agreement on
/// fresh sealer output.
#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small known values
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v = hex_vec(s);
        v.try_into().expect("length")
    }

    fn hex_vec(s: &str) -> ink::prelude::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    struct EnvelopeVector {
        buyer_secret: &'static str,
        buyer_public: &'static str,
        contract: &'static str,
        offer_id: u64,
        purchase_id: u64,
        envelope: &'static str,
        dek: &'static str,
    }

    const ENVELOPES: &[EnvelopeVector] = &[
        EnvelopeVector {
            buyer_secret: "1111111111111111111111111111111111111111111111111111111111111111",
            buyer_public: "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13",
            contract: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
            offer_id: 7,
            purchase_id: 1234,
            envelope: "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20c5d9243a5d987accf2339e624974c393177ab3e0b93cad29602051fd17e7fe76c4751b063e613d5ab51ecd727d2a4070",
            dek: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        },
        EnvelopeVector {
            buyer_secret: "000306090c0f1215181b1e2124272a2d303336393c3f4245484b4e5154575a5d",
            buyer_public: "d06a9f82b0d8d3cf74c8f68dee92fd99064de174d8a30cfe63aa19ce304c345a",
            contract: "0000000000000000000000000000000000000000000000000000000000000000",
            offer_id: 18446744073709551615,
            purchase_id: 0,
            envelope: "3ebcb692149344dc54e58160cf90bed9eea1dd14e81c8e91de557af7d7afd91578a0321eb6a3f85fb44018b810a372c62d3a9b3e8cdd0c58786dd85b031fd96974f7266ae5506833202a19fce5812312",
            dek: "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        },
    ];

    #[test]
    fn opens_the_sealer_envelopes() {
        for v in ENVELOPES {
            let secret = hex::<32>(v.buyer_secret);
            let buyer_pk = hex::<32>(v.buyer_public);
            assert_eq!(x25519_public(&secret), buyer_pk);
            let ctx = EnvelopeContext {
                contract: hex(v.contract),
                offer_id: v.offer_id,
                purchase_id: v.purchase_id,
            };
            let envelope = hex::<80>(v.envelope);
            assert_eq!(
                open_envelope(&envelope, &secret, &buyer_pk, &ctx),
                Some(hex::<32>(v.dek))
            );
            // Any flipped byte, or another purchase, and it does not open.
            for i in [0, 40, 79] {
                let mut bad = envelope;
                bad[i] ^= 1;
                assert_eq!(open_envelope(&bad, &secret, &buyer_pk, &ctx), None);
            }
            let other = EnvelopeContext {
                purchase_id: v.purchase_id ^ 1,
                ..ctx
            };
            assert_eq!(open_envelope(&envelope, &secret, &buyer_pk, &other), None);
        }
        // A low-order ephemeral key (all zero) gives an all-zero shared secret.
        let v = &ENVELOPES[0];
        let mut low = hex::<80>(v.envelope);
        low[..32].copy_from_slice(&[0; 32]);
        let ctx = EnvelopeContext {
            contract: hex(v.contract),
            offer_id: v.offer_id,
            purchase_id: v.purchase_id,
        };
        let (secret, pk) = (hex(v.buyer_secret), hex(v.buyer_public));
        assert_eq!(open_envelope(&low, &secret, &pk, &ctx), None);
    }

    #[test]
    fn key_commitment_and_chunk_proofs_match_the_sealer() {
        // One byte of plaintext: one chunk, its own root.
        let dek = hex::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        assert_eq!(
            key_commitment(&dek),
            hex::<32>("3981d7b00f83129453be601e335442eba7ee8e6f6f517d944156bc02d24cafde")
        );
        let header = hex::<26>("444d5345414c01000010000000000000000001a0a1a2a3a4a5a6");
        let root = hex::<32>("c06a40b3174f1f2b1b22650af324b4e6a24413c5a7f0f2e1d74ba1e06e0ff70e");
        let stored = hex_vec("74a9735e3f007f3f6ef8df57199f704ea1");
        let chunk = |bytes: &[u8]| ChunkBytes::new(bytes);
        assert_eq!(
            check_chunk(&header, &root, &dek, 0, chunk(&stored), &[]),
            Ok(true)
        );
        assert_eq!(
            check_chunk(&header, &root, &dek, 1, chunk(&stored), &[]),
            Err(BadProof)
        );
        assert_eq!(
            check_chunk(&header, &root, &dek, 0, chunk(&stored), &[[0; 32]]),
            Err(BadProof)
        );
        let mut flipped = stored.clone();
        flipped[0] ^= 1;
        assert_eq!(
            check_chunk(&header, &root, &dek, 0, chunk(&flipped), &[]),
            Err(BadProof)
        );
        // Under another key the proven chunk does not authenticate.
        assert_eq!(
            check_chunk(&header, &root, &[9; 32], 0, chunk(&stored), &[]),
            Ok(false)
        );

        // 4097 bytes: two chunks; the last (1 byte, last flag set) is proven by leaf 0.
        let dek = hex::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let header = hex::<26>("444d5345414c01000010000000000000001001a0a1a2a3a4a5a6");
        let root = hex::<32>("c53d2bcdef3564daf7474f7cb510ee931f1c1e93d1492c7119a828f68fb52a7a");
        let leaf0 = hex::<32>("3e19f8baa8a7a134ada8c31883a4c7608e2342dce35e9c74ed7d02e83049b8f8");
        let stored = hex_vec("ea06503f5689c905da0559687bcaca3c2f");
        assert_eq!(
            check_chunk(&header, &root, &dek, 1, chunk(&stored), &[leaf0]),
            Ok(true)
        );
        assert_eq!(
            check_chunk(&header, &root, &dek, 1, chunk(&stored), &[]),
            Err(BadProof)
        );
        assert_eq!(
            check_chunk(&header, &root, &dek, 0, chunk(&stored), &[leaf0]),
            Err(BadProof)
        );
    }
}
