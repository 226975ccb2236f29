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

/// Decrypts through the stream path and the file path (positional I/O on the workers)
/// and requires the same outcome: the same plaintext, or the same error.
pub fn decrypt_both<'a>(
    ct: &[u8],
    make: impl Fn() -> sealer::Decryptor<'a>,
) -> Result<(sealer::Opened, Vec<u8>), sealer::Error> {
    let mut out = Vec::new();
    let streamed = make().decrypt(ct, &mut out).map(|o| (o, out));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ct"), ct).unwrap();
    let input = std::fs::File::open(dir.path().join("ct")).unwrap();
    let output = std::fs::File::create(dir.path().join("pt")).unwrap();
    let filed = make()
        .decrypt_file(&input, &output)
        .map(|o| (o, std::fs::read(dir.path().join("pt")).unwrap()));
    let mut out = Vec::new();
    let from_file = make().decrypt_from_file(&input, &mut out).map(|o| (o, out));
    match (&streamed, &from_file) {
        (Ok(a), Ok(b)) => assert!(a == b, "from-file and stream paths disagree"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!(
            "stream {:?} vs from-file {:?}",
            a.as_ref().err(),
            b.as_ref().err()
        ),
    }
    match (&streamed, &filed) {
        (Ok(a), Ok(b)) => assert!(a == b, "file and stream paths disagree"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!(
            "stream {:?} vs file {:?}",
            a.as_ref().err(),
            b.as_ref().err()
        ),
    }
    streamed
}

/// Encrypts through the file path.
pub fn encrypt_file(
    dek: &DataKey,
    pt: &[u8],
    chunk: ChunkSize,
    threads: usize,
) -> (Vec<u8>, Sealed) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pt"), pt).unwrap();
    let input = std::fs::File::open(dir.path().join("pt")).unwrap();
    let output = std::fs::File::create(dir.path().join("ct")).unwrap();
    let sealed = Encryptor::with_nonce_prefix(dek, pt.len() as u64, chunk, PREFIX)
        .unwrap()
        .threads(threads)
        .encrypt_file(&input, &output)
        .unwrap();
    let mut streamed = Vec::new();
    let sealed2 = Encryptor::with_nonce_prefix(dek, pt.len() as u64, chunk, PREFIX)
        .unwrap()
        .threads(threads)
        .encrypt_from_file(&input, &mut streamed)
        .unwrap();
    let ct = std::fs::read(dir.path().join("ct")).unwrap();
    assert!(
        ct == streamed && sealed == sealed2,
        "encrypt_file and encrypt_from_file disagree"
    );
    (ct, sealed)
}
