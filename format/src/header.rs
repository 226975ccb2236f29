//! The 26-byte ciphertext header and the chunk layout it implies.
//!
//! `DMSEAL` (6) ‖ version 1 (u8) ‖ chunk size (u32) ‖ plaintext length (u64) ‖ nonce
//! prefix (7), integers big-endian. The plaintext is cut into chunk-size pieces; the
//! final piece holds 1..=chunk size bytes, or 0 only when the whole plaintext is empty
//! (then there is exactly one chunk). Each chunk is stored as ciphertext ‖ 16-byte tag.

use core::fmt;

use sha2::Digest;

/// `DMSEAL`.
pub const MAGIC: &[u8; 6] = b"DMSEAL";
/// The format version defined here.
pub const VERSION: u8 = 1;
/// Encoded header length.
pub const HEADER_LEN: usize = 26;
/// AES-256-GCM tag length, stored after each chunk's ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of the random nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Most chunks a ciphertext may have: the STREAM counter is a u32.
pub const MAX_CHUNKS: u64 = 1 << 32;

/// Why a header or a layout is refused. Checks run in the order of the variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The bytes do not start with `DMSEAL` (checked on what there is, so a short
    /// non-sealer file says this rather than "truncated").
    BadMagic,
    /// Fewer than 26 bytes, all of them a prefix of a header.
    Truncated(usize),
    /// A version other than 1.
    UnsupportedVersion(u8),
    /// A chunk size that is not a power of two from 4 KiB to 256 KiB.
    InvalidChunkSize(u64),
    /// More than 2^32 chunks of the chunk size.
    TooLong {
        /// Plaintext length in bytes.
        len: u64,
        /// Chunk size in bytes.
        chunk_size: u32,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("bad magic: not a Datamarket ciphertext"),
            Self::Truncated(n) => write!(f, "truncated header: {n} of {HEADER_LEN} bytes"),
            Self::UnsupportedVersion(v) => {
                write!(
                    f,
                    "unsupported format version {v} (this sealer reads version 1)"
                )
            }
            Self::InvalidChunkSize(n) => write!(
                f,
                "chunk size {n} refused: it must be a power of two from 4096 to 262144 bytes"
            ),
            Self::TooLong { len, chunk_size } => write!(
                f,
                "plaintext of {len} bytes needs more than 2^32 chunks of {chunk_size} bytes"
            ),
        }
    }
}

impl core::error::Error for HeaderError {}

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
    /// [`HeaderError::InvalidChunkSize`] unless it is a power of two in `4096..=262144`.
    pub fn new(bytes: u64) -> Result<Self, HeaderError> {
        match u32::try_from(bytes) {
            Ok(b) if b.is_power_of_two() && (Self::MIN..=Self::MAX).contains(&b) => {
                Ok(ChunkSize(b))
            }
            _ => Err(HeaderError::InvalidChunkSize(bytes)),
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

/// ceil(plaintext_len / chunk_size), at least 1 (an empty plaintext is one empty chunk).
///
/// # Errors
/// [`HeaderError::TooLong`] past [`MAX_CHUNKS`].
pub fn chunk_count(chunk_size: ChunkSize, plaintext_len: u64) -> Result<u64, HeaderError> {
    let count = plaintext_len.div_ceil(u64::from(chunk_size.get())).max(1);
    if count > MAX_CHUNKS {
        return Err(HeaderError::TooLong {
            len: plaintext_len,
            chunk_size: chunk_size.get(),
        });
    }
    Ok(count)
}

/// The parsed header: chunk size, plaintext length and nonce prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    chunk_size: ChunkSize,
    plaintext_len: u64,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    chunk_count: u64,
}

// Every length below is bounded by construction: chunk_count <= 2^32, chunk size <= 2^18,
// so chunk_count * (chunk size + 16) < 2^51, and an index is checked against the count.
#[allow(clippy::arithmetic_side_effects)]
impl Header {
    /// A header for `plaintext_len` bytes.
    ///
    /// # Errors
    /// [`HeaderError::TooLong`] if the chunk counter (u32) cannot number every chunk.
    pub fn new(
        chunk_size: ChunkSize,
        plaintext_len: u64,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, HeaderError> {
        Ok(Header {
            chunk_size,
            plaintext_len,
            nonce_prefix,
            chunk_count: chunk_count(chunk_size, plaintext_len)?,
        })
    }

    /// Parses a header: the first failed check, in order, is the error:
    /// [`HeaderError::BadMagic`] (on the bytes there are), [`HeaderError::Truncated`],
    /// [`HeaderError::UnsupportedVersion`], [`HeaderError::InvalidChunkSize`],
    /// [`HeaderError::TooLong`]. Bytes past the 26th are ignored.
    ///
    /// # Errors
    /// As above.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let Some(bytes) = bytes.get(..HEADER_LEN) else {
            let n = bytes.len().min(MAGIC.len());
            if bytes.get(..n) != MAGIC.get(..n) {
                return Err(HeaderError::BadMagic);
            }
            return Err(HeaderError::Truncated(bytes.len()));
        };
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(bytes);
        Self::from_bytes(&h)
    }

    /// Parses exactly 26 bytes (see [`Header::parse`]).
    ///
    /// # Errors
    /// As [`Header::parse`].
    pub fn from_bytes(h: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        if h[..6] != MAGIC[..] {
            return Err(HeaderError::BadMagic);
        }
        if h[6] != VERSION {
            return Err(HeaderError::UnsupportedVersion(h[6]));
        }
        let chunk_size = ChunkSize::new(u64::from(u32::from_be_bytes([h[7], h[8], h[9], h[10]])))?;
        let mut len = [0u8; 8];
        len.copy_from_slice(&h[11..19]);
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(&h[19..26]);
        Header::new(chunk_size, u64::from_be_bytes(len), nonce_prefix)
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

    /// `SHA-256(header)`: the AAD of every chunk (in software; the contract hashes
    /// [`Header::to_bytes`] through its host instead).
    pub fn aad(&self) -> [u8; 32] {
        sha2::Sha256::digest(self.to_bytes()).into()
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

    /// True for the final chunk's index.
    pub fn is_last(&self, index: u64) -> bool {
        index.checked_add(1) == Some(self.chunk_count)
    }

    /// Plaintext bytes in chunk `index` (`index < chunk_count`).
    // At most the chunk size (2^18): no cast truncates.
    #[allow(clippy::cast_possible_truncation)]
    pub fn plaintext_chunk_len(&self, index: u64) -> usize {
        debug_assert!(index < self.chunk_count);
        let c = u64::from(self.chunk_size.get());
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
        HEADER_LEN as u64 + index * (u64::from(self.chunk_size.get()) + TAG_LEN as u64)
    }

    /// Total ciphertext file length.
    pub fn ciphertext_len(&self) -> u64 {
        let last = self.chunk_count - 1;
        self.chunk_offset(last) + self.stored_chunk_len(last) as u64
    }

    /// The 12-byte nonce of chunk `index`: prefix ‖ index (u32) ‖ last flag.
    pub fn chunk_nonce(&self, index: u64) -> [u8; 12] {
        chunk_nonce(&self.nonce_prefix, index, self.is_last(index))
    }
}

/// STREAM nonce: prefix (7) ‖ index (u32, big-endian) ‖ last flag (1 on the final chunk).
/// An index past u32 (which no valid header has) is cut to its low 32 bits.
#[allow(clippy::cast_possible_truncation)]
pub fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u64, last: bool) -> [u8; 12] {
    debug_assert!(index <= u64::from(u32::MAX));
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&(index as u32).to_be_bytes());
    n[11] = u8::from(last);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(chunk_size: u32, len: u64) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..6].copy_from_slice(MAGIC);
        h[6] = VERSION;
        h[7..11].copy_from_slice(&chunk_size.to_be_bytes());
        h[11..19].copy_from_slice(&len.to_be_bytes());
        h
    }

    #[test]
    fn parse_checks_in_order() {
        assert_eq!(Header::parse(b"DMS"), Err(HeaderError::Truncated(3)));
        assert_eq!(Header::parse(b"XMS"), Err(HeaderError::BadMagic));
        assert_eq!(Header::parse(b""), Err(HeaderError::Truncated(0)));
        let mut h = header_bytes(3000, 1);
        h[6] = 2;
        assert_eq!(Header::parse(&h), Err(HeaderError::UnsupportedVersion(2)));
        h[0] = b'X';
        assert_eq!(Header::parse(&h), Err(HeaderError::BadMagic));
        for bad in [0u32, 2048, 5000, 512 * 1024, u32::MAX] {
            assert_eq!(
                Header::parse(&header_bytes(bad, 1)),
                Err(HeaderError::InvalidChunkSize(u64::from(bad)))
            );
        }
        assert_eq!(
            Header::parse(&header_bytes(4096, (4096 << 32) + 1)),
            Err(HeaderError::TooLong {
                len: (4096 << 32) + 1,
                chunk_size: 4096
            })
        );
        let h = Header::parse(&header_bytes(4096, 4096 << 32)).unwrap();
        assert_eq!(h.chunk_count(), 1 << 32);
        assert_eq!(h.plaintext_chunk_len((1 << 32) - 1), 4096);
    }

    #[test]
    fn layout() {
        let cs = ChunkSize::new(4096).unwrap();
        let empty = Header::new(cs, 0, [0; 7]).unwrap();
        assert_eq!(empty.chunk_count(), 1);
        assert_eq!(empty.stored_chunk_len(0), TAG_LEN);
        assert_eq!(empty.ciphertext_len(), (HEADER_LEN + TAG_LEN) as u64);
        let h = Header::new(cs, 4097, [9; 7]).unwrap();
        assert_eq!(h.chunk_count(), 2);
        assert_eq!(h.plaintext_chunk_len(0), 4096);
        assert_eq!(h.plaintext_chunk_len(1), 1);
        assert_eq!(h.chunk_offset(1), (HEADER_LEN + 4096 + TAG_LEN) as u64);
        assert_eq!(
            h.ciphertext_len(),
            (HEADER_LEN + 4096 + 1 + 2 * TAG_LEN) as u64
        );
        assert_eq!(h.chunk_nonce(0), [9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0]);
        assert_eq!(h.chunk_nonce(1), [9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 1, 1]);
        assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
    }
}
