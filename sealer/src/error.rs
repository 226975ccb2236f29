//! The one error type of the library: each variant names the check that failed.

use std::path::PathBuf;

/// Everything that can go wrong while sealing, opening or verifying.
///
/// Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with `DMSEAL`.
    #[error("bad magic: not a Datamarket ciphertext")]
    BadMagic,
    /// The header names a format version this library does not implement.
    #[error("unsupported format version {0} (this sealer reads version 1)")]
    UnsupportedVersion(u8),
    /// The input ended inside the 26-byte header.
    #[error("truncated header: {0} of 26 bytes")]
    TruncatedHeader(usize),
    /// The chunk size is not a power of two from 4 KiB to 256 KiB.
    #[error("chunk size {0} refused: it must be a power of two from 4096 to 262144 bytes")]
    InvalidChunkSize(u64),
    /// The plaintext needs more chunks than the 32-bit chunk counter can number.
    #[error("plaintext of {len} bytes needs more than 2^32 chunks of {chunk_size} bytes")]
    TooLong {
        /// Plaintext length in bytes.
        len: u64,
        /// Chunk size in bytes.
        chunk_size: u32,
    },
    /// The header differs from the one the offer committed to.
    #[error("header tampered: it differs from the expected header")]
    HeaderTampered,
    /// A chunk's AES-256-GCM tag did not verify (wrong key, tampered chunk or header).
    #[error("chunk {0} failed authentication")]
    ChunkAuthentication(u64),
    /// The ciphertext ended before its last chunk.
    #[error("truncated after chunk {complete} of {expected}: the ciphertext ended early")]
    Truncated {
        /// Number of complete chunks read.
        complete: u64,
        /// Number of chunks the header announces.
        expected: u64,
    },
    /// Bytes follow the final chunk.
    #[error("trailing data after the final chunk")]
    TrailingData,
    /// The plaintext read was not as long as announced.
    #[error("plaintext length mismatch: expected {expected} bytes, read {actual}")]
    LengthMismatch {
        /// Length announced when the encryption started.
        expected: u64,
        /// Length actually read (a lower bound when the input was longer).
        actual: u64,
    },
    /// A positional input that is not a regular file (a device, a FIFO, a directory):
    /// its reported length says nothing about what it holds.
    #[error("not a regular file: read it as a stream")]
    NotARegularFile,
    /// The content root of the ciphertext is not the expected one.
    #[error("content root mismatch: the ciphertext is not the one committed to")]
    RootMismatch,
    /// A chunk inclusion proof does not lead to the expected content root.
    #[error("chunk proof for chunk {0} does not match the content root")]
    ProofMismatch(u64),
    /// A chunk proof is malformed.
    #[error("malformed chunk proof: {0}")]
    MalformedProof(&'static str),
    /// The data key does not hash to the expected key commitment.
    #[error("wrong key commitment: the data key does not match the offer")]
    WrongKeyCommitment,
    /// The sealed envelope did not authenticate under the derived key.
    #[error("envelope does not open (wrong buyer key or wrong context)")]
    EnvelopeDoesNotOpen,
    /// A buyer public key that nothing can be sealed to: not canonical, or of small
    /// order (format v1's buyer-key rule; the contract refuses the same keys).
    #[error("buyer public key refused: {0}")]
    BadBuyerKey(datamarket_format::BuyerKeyError),
    /// X25519 produced the all-zero shared secret (a low-order public key).
    #[error("all-zero X25519 shared secret rejected (low-order public key)")]
    ZeroSharedSecret,
    /// An envelope, key or hash had the wrong length or encoding.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A secret key file can be read by group or others.
    #[error("refusing to read secret key file {}: mode {mode:o} lets group or others read it (chmod 600)", path.display())]
    InsecureKeyFile {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file could not be parsed (its content is never echoed).
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The OS random number generator failed.
    #[error("OS random number generator failed")]
    Rng,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<datamarket_format::HeaderError> for Error {
    fn from(e: datamarket_format::HeaderError) -> Self {
        use datamarket_format::HeaderError as H;
        match e {
            H::BadMagic => Error::BadMagic,
            H::Truncated(n) => Error::TruncatedHeader(n),
            H::UnsupportedVersion(v) => Error::UnsupportedVersion(v),
            H::InvalidChunkSize(n) => Error::InvalidChunkSize(n),
            H::TooLong { len, chunk_size } => Error::TooLong { len, chunk_size },
        }
    }
}

impl From<datamarket_format::EnvelopeError> for Error {
    fn from(e: datamarket_format::EnvelopeError) -> Self {
        match e {
            datamarket_format::EnvelopeError::ZeroSharedSecret => Error::ZeroSharedSecret,
            datamarket_format::EnvelopeError::DoesNotOpen => Error::EnvelopeDoesNotOpen,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
