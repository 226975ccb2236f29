//! The dispute verifier: the sealer's envelope opening, key commitment, Merkle chunk
//! proof and chunk AEAD (DESIGN §3), redone inside the contract so that a buyer can prove
//! a bad delivery on chain.
//!
//! Every construction follows `sealer/src` line by line (`envelope.rs`, `keys.rs`,
//! `merkle.rs`, `header.rs`) with the same crates (x25519-dalek 2, hkdf 0.12, sha2 0.10,
//! aes-gcm 0.10, all `no_std`); the runtime tests in `contracts/harness/tests/disputes.rs`
//! feed it envelopes, chunks and proofs made by the sealer library itself. SHA-256 of
//! anything but the HKDF runs through the host's hash function, which is far cheaper
//! than hashing in wasm.

use aes_gcm::{
    aead::{AeadInPlace, KeyInit},
    Aes256Gcm, Nonce, Tag,
};
use hkdf::Hkdf;
use ink::env::hash::{HashOutput, Sha2x256};
use market_types::{ChunkBytes, CiphertextHeader, Envelope, Hash32, ENVELOPE_LEN, HEADER_LEN};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

/// HKDF info prefix of the envelope key (`sealer::envelope::ENVELOPE_INFO`).
pub const ENVELOPE_INFO: &[u8; 22] = b"datamarket/envelope/v1";
/// Domain separator of the key commitment (`sealer::KEY_COMMITMENT_DOMAIN`).
pub const KEY_COMMITMENT_DOMAIN: &[u8; 28] = b"datamarket/key-commitment/v1";
/// AES-256-GCM tag length, stored after each chunk's ciphertext.
const TAG_LEN: usize = 16;
/// The envelope's layout: E (32) ‖ encrypted DEK (32) ‖ tag (16).
const DEK_END: usize = 64;

/// SHA-256 through the host.
pub fn sha256(input: &[u8]) -> Hash32 {
    let mut out = <Sha2x256 as HashOutput>::Type::default();
    ink::env::hash_bytes::<Sha2x256>(input, &mut out);
    out
}

/// `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`.
pub fn key_commitment(dek: &[u8; 32]) -> Hash32 {
    let mut input = [0u8; 60];
    input[..28].copy_from_slice(KEY_COMMITMENT_DOMAIN);
    input[28..].copy_from_slice(dek);
    sha256(&input)
}

/// X25519(secret, basepoint): the public key of a buyer's per-purchase secret.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*secret)).to_bytes()
}

/// What an envelope is bound to (`sealer::EnvelopeContext`).
pub struct EnvelopeContext {
    /// The marketplace contract's account id.
    pub contract: [u8; 32],
    /// The offer id.
    pub offer_id: u64,
    /// The purchase id.
    pub purchase_id: u64,
}

/// Opens `envelope` with the buyer's secret, exactly as `sealer::envelope::open_envelope`:
/// s = X25519(b, E), rejected if all zero; k = HKDF-SHA256(ikm = s, salt = E ‖ buyer_pk,
/// info = "datamarket/envelope/v1" ‖ contract ‖ purchase id); DEK = AES-256-GCM-open(k,
/// nonce = 0^12, aad = offer id ‖ purchase id). `None` when it does not open.
pub fn open_envelope(
    envelope: &Envelope,
    buyer_secret: &[u8; 32],
    buyer_pk: &[u8; 32],
    ctx: &EnvelopeContext,
) -> Option<[u8; 32]> {
    let mut ephemeral_pk = [0u8; 32];
    ephemeral_pk.copy_from_slice(&envelope[..32]);
    let shared = StaticSecret::from(*buyer_secret)
        .diffie_hellman(&PublicKey::from(ephemeral_pk))
        .to_bytes();
    if shared.iter().fold(0u8, |acc, b| acc | b) == 0 {
        return None;
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&ephemeral_pk);
    salt[32..].copy_from_slice(buyer_pk);
    let mut info = [0u8; 62];
    info[..22].copy_from_slice(ENVELOPE_INFO);
    info[22..54].copy_from_slice(&ctx.contract);
    info[54..].copy_from_slice(&ctx.purchase_id.to_be_bytes());
    let mut k = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), &shared)
        .expand(&info, &mut k)
        .ok()?;
    let mut aad = [0u8; 16];
    aad[..8].copy_from_slice(&ctx.offer_id.to_be_bytes());
    aad[8..].copy_from_slice(&ctx.purchase_id.to_be_bytes());
    let mut dek = [0u8; 32];
    dek.copy_from_slice(&envelope[32..DEK_END]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&envelope[DEK_END..ENVELOPE_LEN]);
    Aes256Gcm::new(&k.into())
        .decrypt_in_place_detached(&Nonce::default(), &aad, &mut dek, &Tag::from(tag))
        .ok()?;
    Some(dek)
}

/// The fields of a format v1 header that a chunk proof needs (`sealer::Header`).
struct Layout {
    chunk_size: u64,
    plaintext_len: u64,
    nonce_prefix: [u8; 7],
    chunk_count: u64,
}

impl Layout {
    /// `None` for a header no sealer could have written (the contract checked magic,
    /// version and chunk size when the offer was listed).
    fn parse(header: &CiphertextHeader) -> Option<Self> {
        let mut size = [0u8; 4];
        size.copy_from_slice(&header[7..11]);
        let chunk_size = u64::from(u32::from_be_bytes(size));
        let mut len = [0u8; 8];
        len.copy_from_slice(&header[11..19]);
        let plaintext_len = u64::from_be_bytes(len);
        let mut nonce_prefix = [0u8; 7];
        nonce_prefix.copy_from_slice(&header[19..HEADER_LEN]);
        let chunk_count = chunk_count(chunk_size, plaintext_len)?;
        Some(Self {
            chunk_size,
            plaintext_len,
            nonce_prefix,
            chunk_count,
        })
    }

    /// Stored bytes (ciphertext ‖ tag) of chunk `index < chunk_count`.
    fn stored_chunk_len(&self, index: u64) -> Option<u64> {
        let last = self.chunk_count.checked_sub(1)?;
        let plain = if index < last {
            self.chunk_size
        } else {
            self.plaintext_len
                .checked_sub(last.checked_mul(self.chunk_size)?)?
        };
        plain.checked_add(TAG_LEN as u64)
    }
}

/// ceil(plaintext_len / chunk_size), at least 1 (an empty plaintext is one empty chunk),
/// at most 2^32 (the STREAM counter is a u32). `None` otherwise.
pub fn chunk_count(chunk_size: u64, plaintext_len: u64) -> Option<u64> {
    let whole = plaintext_len.checked_div(chunk_size)?;
    let partial = u64::from(plaintext_len.checked_rem(chunk_size)? != 0);
    let count = whole.checked_add(partial)?.max(1);
    (count <= 1u64 << 32).then_some(count)
}

/// Why a chunk dispute carries no valid proof.
#[derive(Debug, PartialEq, Eq)]
pub struct BadProof;

/// Checks that `stored_chunk` (ciphertext ‖ tag) is chunk `index` of the ciphertext
/// committed to by `content_root` (the sealer's `ChunkProof::verify`), then whether it
/// authenticates under `dek` with the STREAM nonce (prefix ‖ index (u32) ‖ last flag) and
/// AAD = SHA-256(header). `Ok(true)`: a good chunk; `Ok(false)`: the proven chunk does not
/// decrypt, so the owner committed to a ciphertext its key cannot open.
///
/// # Errors
/// [`BadProof`] for an index out of range, a chunk of the wrong length, a sibling path
/// of the wrong length or one that does not lead to `content_root`.
pub fn check_chunk(
    header: &CiphertextHeader,
    content_root: &Hash32,
    dek: &[u8; 32],
    index: u64,
    mut stored_chunk: ChunkBytes,
    siblings: &[Hash32],
) -> Result<bool, BadProof> {
    let layout = Layout::parse(header).ok_or(BadProof)?;
    let leaves = layout.chunk_count;
    if index >= leaves {
        return Err(BadProof);
    }
    let expected_len = layout.stored_chunk_len(index).ok_or(BadProof)?;
    if u64::try_from(stored_chunk.chunk().len()).ok() != Some(expected_len) {
        return Err(BadProof);
    }

    // leaf = SHA-256(0x00 ‖ index (u64) ‖ stored chunk), through the host in one call,
    // in the buffer the chunk was decoded into (no second copy).
    let mut node = sha256(stored_chunk.leaf_preimage(index));

    // Up the tree: at level k the sibling subtree starts at leaf ((index >> k) ^ 1) << k
    // and exists only if that leaf does (an odd node at the end of a level is promoted).
    let mut siblings = siblings.iter();
    let mut k = 0u32;
    while k < 64 && 1u64.checked_shl(k).ok_or(BadProof)? < leaves {
        let position = index.checked_shr(k).ok_or(BadProof)?;
        let sibling_start = (position ^ 1).checked_shl(k).ok_or(BadProof)?;
        if sibling_start < leaves {
            let sibling = siblings.next().ok_or(BadProof)?;
            let mut input = [0u8; 65];
            input[0] = 1;
            if position & 1 == 0 {
                input[1..33].copy_from_slice(&node);
                input[33..].copy_from_slice(sibling);
            } else {
                input[1..33].copy_from_slice(sibling);
                input[33..].copy_from_slice(&node);
            }
            node = sha256(&input);
        }
        k = k.checked_add(1).ok_or(BadProof)?;
    }
    if siblings.next().is_some() {
        return Err(BadProof);
    }
    // content_root = SHA-256(0x02 ‖ header ‖ tree_root).
    let mut input = [0u8; 1 + HEADER_LEN + 32];
    input[0] = 2;
    input[1..=HEADER_LEN].copy_from_slice(header);
    input[1 + HEADER_LEN..].copy_from_slice(&node);
    if sha256(&input) != *content_root {
        return Err(BadProof);
    }

    // The chunk is proven; does it authenticate?
    let mut nonce = [0u8; 12];
    nonce[..7].copy_from_slice(&layout.nonce_prefix);
    let counter = u32::try_from(index).map_err(|_| BadProof)?;
    nonce[7..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(index.checked_add(1) == Some(leaves));
    let aad = sha256(header);
    let stored_chunk = stored_chunk.chunk_mut();
    let body_len = stored_chunk.len().checked_sub(TAG_LEN).ok_or(BadProof)?;
    let (body, stored_tag) = stored_chunk.split_at_mut(body_len);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(stored_tag);
    Ok(Aes256Gcm::new(dek.into())
        .decrypt_in_place_detached(&Nonce::from(nonce), &aad, body, &Tag::from(tag))
        .is_ok())
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

    #[test]
    fn chunk_counts() {
        assert_eq!(chunk_count(4096, 0), Some(1));
        assert_eq!(chunk_count(4096, 4096), Some(1));
        assert_eq!(chunk_count(4096, 4097), Some(2));
        assert_eq!(chunk_count(4096, 4096 << 32), Some(1 << 32));
        assert_eq!(chunk_count(4096, (4096 << 32) + 1), None);
    }
}
