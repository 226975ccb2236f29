//! The JSON manifest written next to a ciphertext: what the owner puts in the offer.

use serde::{Deserialize, Serialize};

use crate::header::{Header, HEADER_LEN};
use crate::keys::{ContentRoot, KeyCommitment};
use crate::stream::Sealed;
use crate::{Error, Result};

/// Public facts about one ciphertext. Contains no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub format: u8,
    /// The 26-byte header, hex.
    pub header: String,
    /// Content root, hex.
    pub content_root: String,
    /// Key commitment, hex.
    pub key_commitment: String,
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Plaintext length in bytes.
    pub plaintext_len: u64,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Ciphertext file length in bytes.
    pub ciphertext_len: u64,
}

impl Manifest {
    /// The manifest of an encryption.
    pub fn new(sealed: &Sealed, key_commitment: &KeyCommitment) -> Self {
        Manifest {
            format: crate::header::VERSION,
            header: hex::encode(sealed.header.to_bytes()),
            content_root: sealed.content_root.to_hex(),
            key_commitment: key_commitment.to_hex(),
            chunk_size: sealed.header.chunk_size().get(),
            plaintext_len: sealed.header.plaintext_len(),
            chunk_count: sealed.header.chunk_count(),
            ciphertext_len: sealed.ciphertext_len,
        }
    }

    /// The content root.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn content_root(&self) -> Result<ContentRoot> {
        ContentRoot::from_hex(&self.content_root)
    }

    /// The key commitment.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn key_commitment(&self) -> Result<KeyCommitment> {
        KeyCommitment::from_hex(&self.key_commitment)
    }

    /// The header bytes, checked to parse.
    ///
    /// # Errors
    /// [`Error::Malformed`] or a header check.
    pub fn header(&self) -> Result<[u8; HEADER_LEN]> {
        let mut out = [0u8; HEADER_LEN];
        hex::decode_to_slice(&self.header, &mut out).map_err(|_| Error::Malformed {
            what: "manifest header",
            reason: "expected 52 hex digits".into(),
        })?;
        Header::parse(&out)?;
        Ok(out)
    }
}
