//! Format v1 of Datamarket's sealed datasets (DESIGN §3), the one definition of it.
//!
//! The sealer (std, parallel, `ring` for the bulk AEAD), the contract types (`market-types`)
//! and the marketplace's dispute verifier (no_std wasm) all read the format from here, so
//! that a byte can change in one place only. Everything here is pure and allocation-free:
//!
//! - [`header`]: the 26-byte header, its parse and every rejection rule, chunk count,
//!   plaintext and stored chunk lengths, offsets, the STREAM chunk nonce.
//! - [`chunk`]: opening one stored chunk with the portable `aes-gcm` (the contract's
//!   path; the sealer's bulk path uses `ring`, which gives the same bytes).
//! - [`merkle`]: the leaf, node and content-root preimages and the walk of a chunk's
//!   sibling path, generic over SHA-256 ([`Sha256`]) so that the contract passes the
//!   host's hash function and everything else [`SoftSha256`].
//! - [`commitment`]: the key commitment's preimage.
//! - [`envelope`]: the 80-byte sealed envelope: context, key derivation, seal and open.
//! - [`buyer_key`]: which X25519 public keys a purchase may name (canonical, not of small
//!   order).
//!
//! Arithmetic is checked throughout (the contract denies `arithmetic_side_effects`).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]

pub mod buyer_key;
pub mod chunk;
pub mod commitment;
pub mod envelope;
pub mod header;
pub mod merkle;

pub use buyer_key::{check_buyer_key, BuyerKeyError};
pub use envelope::{EnvelopeContext, EnvelopeError, ENVELOPE_INFO, ENVELOPE_LEN};
pub use header::{
    ChunkSize, Header, HeaderError, HEADER_LEN, MAGIC, NONCE_PREFIX_LEN, TAG_LEN, VERSION,
};
pub use merkle::{Node, Sha256, SoftSha256};

/// A 32-byte digest, key or account id.
pub type Bytes32 = [u8; 32];
