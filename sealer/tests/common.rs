//! Helpers shared by the integration tests (no mocks: real files and real crypto).
#![allow(dead_code)]

use sealer::{ChunkSize, DataKey, Encryptor, Sealed};

pub const PREFIX: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];

pub fn dek() -> DataKey {
    DataKey::from_bytes([0x42; 32])
}

pub fn cs(n: u64) -> ChunkSize {
    ChunkSize::new(n).unwrap()
}

/// Deterministic, non-repeating-looking plaintext.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 ^ (i as u8))
        .collect()
}

pub fn encrypt(dek: &DataKey, pt: &[u8], chunk: ChunkSize, threads: usize) -> (Vec<u8>, Sealed) {
    let mut ct = Vec::new();
    let sealed = Encryptor::with_nonce_prefix(dek, pt.len() as u64, chunk, PREFIX)
        .unwrap()
        .threads(threads)
        .encrypt(pt, &mut ct)
        .unwrap();
    (ct, sealed)
}
