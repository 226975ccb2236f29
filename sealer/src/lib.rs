//! Datamarket's dataset encryption (format v1, DESIGN §3).
//!
//! - [`Encryptor`] / [`Decryptor`]: a 26-byte [`Header`] then chunks, each sealed with
//!   AES-256-GCM under the data key using the STREAM nonce (prefix ‖ counter ‖ last
//!   flag) and `SHA-256(header)` as AAD. Chunks are sealed and hashed in parallel in a
//!   bounded, ordered pipeline; the [`ContentRoot`] (a Merkle root over the stored
//!   chunks, bound to the header) comes out of the same pass.
//! - [`ChunkProof`]: one chunk's inclusion proof, what a chunk dispute carries.
//! - [`DataKey::commitment`]: the [`KeyCommitment`] an offer publishes.
//! - [`envelope`]: the 80-byte [`SealedEnvelope`] that delivers the data key to one
//!   purchase's X25519 key, bound to the contract, offer and purchase.
//!
//! ```
//! use sealer::{ChunkSize, DataKey, Decryptor, Encryptor};
//! let dek = DataKey::generate()?;
//! let plaintext = b"name,age\nada,36\n";
//! let mut ciphertext = Vec::new();
//! let sealed = Encryptor::new(&dek, plaintext.len() as u64, ChunkSize::DEFAULT)?
//!     .encrypt(&plaintext[..], &mut ciphertext)?;
//! let mut out = Vec::new();
//! Decryptor::new(&dek)
//!     .expect_root(sealed.content_root)
//!     .expect_key_commitment(dek.commitment())
//!     .decrypt(&ciphertext[..], &mut out)?;
//! assert_eq!(out, plaintext);
//! # Ok::<(), sealer::Error>(())
//! ```

//! # Secrets in memory
//!
//! Data keys, buyer secrets, envelope keys and the key-file text are zeroized on drop;
//! the portable AES-GCM used for single chunks and envelopes (the `aes-gcm` crate, via
//! `datamarket-format`'s `wipe-keys` feature) wipes its round keys on drop; the
//! pipeline wipes its chunk buffers (plaintext at some stage of every run) when they
//! are dropped or move to a larger allocation; data keys compare in constant time.
//! Not wiped: the bulk path's AES-256-GCM key schedule, which `ring` keeps in its
//! `LessSafeKey` and offers no way to clear, and the HKDF-SHA256 state inside
//! `hkdf` 0.12 (neither it nor `sha2` 0.10 implements `Zeroize`). Moving the bulk path
//! to the wipeable `aes-gcm` would cost most of its speed: on 64 KiB chunks,
//! `examples/aead_bench.rs` measured ring at 4 903 MB/s and `aes-gcm` at 623 MB/s
//! (0.13x) on this project's 2-core machines, with OpenSSL at 4 152 MB/s in the same
//! run. The key schedule lives only as long as one `encrypt`/`decrypt` call.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod atomic;
pub mod envelope;
mod error;
pub mod header;
pub mod identity;
mod input;
pub mod keyfile;
mod keys;
mod manifest;
pub mod merkle;
mod pipeline;
mod stream;

pub use atomic::{sync_parent_dir, write_atomically, write_new_private};
pub use envelope::{
    BuyerPublicKey, BuyerSecretKey, EnvelopeContext, KeyOpener, KeySealer, SealedEnvelope,
};
pub use error::{Error, Result};
pub use header::{ChunkSize, Header};
pub use input::file_of_known_length;
pub use keys::{ContentRoot, DataKey, KeyCommitment, KEY_COMMITMENT_DOMAIN};
pub use manifest::Manifest;
pub use merkle::ChunkProof;
pub use stream::{default_threads, Decryptor, Encryptor, Opened, Progress, Sealed};
