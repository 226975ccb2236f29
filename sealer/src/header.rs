//! The 26-byte ciphertext header and the chunk layout, as format v1 defines them
//! (`datamarket-format`, the one definition the contract shares).

pub use datamarket_format::header::{
    chunk_count, chunk_nonce, ChunkSize, Header, HeaderError, HEADER_LEN, MAGIC, MAX_CHUNKS,
    NONCE_PREFIX_LEN, TAG_LEN, VERSION,
};
