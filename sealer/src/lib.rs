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
