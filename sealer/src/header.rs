//! The 26-byte ciphertext header (DESIGN §3).

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// `DMSEAL`.
pub const MAGIC: &[u8; 6] = b"DMSEAL";
/// The format version this library writes and reads.
pub const VERSION: u8 = 1;
/// Encoded header length.
pub const HEADER_LEN: usize = 26;
/// AES-256-GCM tag length, stored after each chunk's ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of the random nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;

/// A chunk size: a power of two from 4 KiB to 256 KiB.
///
/// The cap keeps one chunk and its proof inside a single dispute call (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSize(u32);

impl ChunkSize {
    /// Smallest allowed chunk size (4 KiB).
    pub const MIN: u32 = 4 * 1024;
    /// Largest allowed chunk size (256 KiB).
    pub const MAX: u32 = 256 * 1024;
    /// The default (64 KiB).
    pub const DEFAULT: ChunkSize = ChunkSize(64 * 1024);

    /// Validates a chunk size.
    ///
    /// # Errors
    /// [`Error::InvalidChunkSize`] unless it is a power of two in `4096..=262144`.
    pub fn new(bytes: u64) -> Result<Self> {
        if bytes.is_power_of_two() && (Self::MIN as u64..=Self::MAX as u64).contains(&bytes) {
            Ok(ChunkSize(bytes as u32))
        } else {
            Err(Error::InvalidChunkSize(bytes))
        }
    }

    /// Bytes of plaintext per chunk.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Bytes of plaintext per chunk, as a `usize`.
    pub fn bytes(self) -> usize {
        self.0 as usize
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The parsed header: chunk size, plaintext length and nonce prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    chunk_size: ChunkSize,
    plaintext_len: u64,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    chunk_count: u64,
}

impl Header {
    /// A header for `plaintext_len` bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the chunk counter (u32) cannot number every chunk.
    pub fn new(
        chunk_size: ChunkSize,
        plaintext_len: u64,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self> {
        let chunk_count = plaintext_len.div_ceil(chunk_size.get() as u64).max(1);
        if chunk_count > 1 << 32 {
            return Err(Error::TooLong {
                len: plaintext_len,
                chunk_size: chunk_size.get(),
            });
        }
        Ok(Header {
            chunk_size,
            plaintext_len,
            nonce_prefix,
            chunk_count,
        })
    }

    /// Parses a header.
    ///
    /// # Errors
    /// The first failed check, in order: [`Error::TruncatedHeader`], [`Error::BadMagic`],
    /// [`Error::UnsupportedVersion`], [`Error::InvalidChunkSize`], [`Error::TooLong`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < HEADER_LEN {
            // Check what is there, so that a short non-sealer file says "bad magic".
            let n = bytes.len().min(MAGIC.len());
            if bytes[..n] != MAGIC[..n] {
                return Err(Error::BadMagic);
            }
            return Err(Error::TruncatedHeader(bytes.len()));
        }
        if &bytes[..6] != MAGIC {
            return Err(Error::BadMagic);
        }
        if bytes[6] != VERSION {
            return Err(Error::UnsupportedVersion(bytes[6]));
        }
        let chunk_size =
            ChunkSize::new(u32::from_be_bytes(bytes[7..11].try_into().unwrap()) as u64)?;
        let plaintext_len = u64::from_be_bytes(bytes[11..19].try_into().unwrap());
        let nonce_prefix = bytes[19..26].try_into().unwrap();
        Header::new(chunk_size, plaintext_len, nonce_prefix)
    }

    /// The 26 encoded bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..6].copy_from_slice(MAGIC);
        out[6] = VERSION;
        out[7..11].copy_from_slice(&self.chunk_size.get().to_be_bytes());
        out[11..19].copy_from_slice(&self.plaintext_len.to_be_bytes());
        out[19..26].copy_from_slice(&self.nonce_prefix);
        out
    }

    /// `SHA-256(header)`: the AAD of every chunk.
    pub fn aad(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Chunk size.
    pub fn chunk_size(&self) -> ChunkSize {
        self.chunk_size
    }

    /// Plaintext length in bytes.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// The random nonce prefix.
    pub fn nonce_prefix(&self) -> [u8; NONCE_PREFIX_LEN] {
        self.nonce_prefix
    }

    /// Number of chunks (at least one: an empty plaintext has one empty chunk).
    pub fn chunk_count(&self) -> u64 {
        self.chunk_count
    }

    /// Plaintext bytes in chunk `index`.
    pub fn plaintext_chunk_len(&self, index: u64) -> usize {
        let c = self.chunk_size.get() as u64;
        if index + 1 < self.chunk_count {
            c as usize
        } else {
            (self.plaintext_len - (self.chunk_count - 1) * c) as usize
        }
    }

    /// Stored bytes of chunk `index` (ciphertext and tag).
    pub fn stored_chunk_len(&self, index: u64) -> usize {
        self.plaintext_chunk_len(index) + TAG_LEN
    }

    /// Byte offset of chunk `index` in the ciphertext file.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        HEADER_LEN as u64 + index * (self.chunk_size.get() as u64 + TAG_LEN as u64)
    }

    /// Total ciphertext file length.
    pub fn ciphertext_len(&self) -> u64 {
        self.chunk_offset(self.chunk_count - 1) + self.stored_chunk_len(self.chunk_count - 1) as u64
    }

    /// The 12-byte nonce of chunk `index`: prefix ‖ index (u32) ‖ last flag.
    pub fn chunk_nonce(&self, index: u64) -> [u8; 12] {
        chunk_nonce(&self.nonce_prefix, index, index + 1 == self.chunk_count)
    }
}

/// STREAM nonce: prefix (7) ‖ index (u32, big-endian) ‖ last flag (1 on the final chunk).
pub fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u64, last: bool) -> [u8; 12] {
    debug_assert!(index <= u32::MAX as u64);
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&(index as u32).to_be_bytes());
    n[11] = last as u8;
    n
}
