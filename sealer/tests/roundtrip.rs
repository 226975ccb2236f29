//! Round trips over lengths, chunk sizes and thread counts.

mod common;

use common::*;
use sealer::header::{HEADER_LEN, TAG_LEN};
use sealer::{ChunkSize, Decryptor, Encryptor, Error};

fn lengths(c: usize) -> Vec<usize> {
    // 0, 1, chunk-1, chunk, chunk+1, then many chunks (several pipeline jobs per
    // worker), ending on a boundary and past one.
    let many = (1_200_000 / c).max(9);
    vec![0, 1, c - 1, c, c + 1, many * c, many * c + 7]
}

#[test]
fn round_trips_identical_for_every_thread_count() {
    let dek = dek();
    for chunk in [4096u64, 65536, 262144] {
        let c = chunk as usize;
        for len in lengths(c) {
            let pt = plaintext(len);
            let (reference, sealed) = encrypt(&dek, &pt, cs(chunk), 1);
            let h = sealed.header;
            assert_eq!(reference.len() as u64, sealed.ciphertext_len);
            assert_eq!(h.chunk_count(), (len as u64).div_ceil(chunk).max(1));
            assert_eq!(
                reference.len(),
                HEADER_LEN + len + TAG_LEN * h.chunk_count() as usize,
                "len {len} chunk {chunk}"
            );
            for threads in [2, 3, 8] {
                let (ct, s2) = encrypt(&dek, &pt, cs(chunk), threads);
                assert!(
                    ct == reference,
                    "threads {threads} changed the bytes (len {len}, chunk {chunk})"
                );
                assert_eq!(s2, sealed);
            }
            for threads in [1, 2, 3] {
                let (ct, s2) = encrypt_file(&dek, &pt, cs(chunk), threads);
                assert!(
                    ct == reference,
                    "file path, threads {threads} (len {len}, chunk {chunk})"
                );
                assert_eq!(s2, sealed);
            }
            for threads in [1, 2, 5] {
                let (opened, out) = decrypt_both(&reference, || {
                    Decryptor::new(&dek)
                        .threads(threads)
                        .expect_root(sealed.content_root)
                        .expect_key_commitment(dek.commitment())
                        .expect_header(h.to_bytes())
                })
                .unwrap();
                assert!(out == pt, "len {len} chunk {chunk} threads {threads}");
                assert_eq!(opened.content_root, Some(sealed.content_root));
                let (opened, out) =
                    decrypt_both(&reference, || Decryptor::new(&dek).threads(threads)).unwrap();
                assert!(out == pt);
                assert_eq!(opened.content_root, None);
                let v = Decryptor::verifier()
                    .threads(threads)
                    .expect_root(sealed.content_root)
                    .verify(&reference[..])
                    .unwrap();
                assert_eq!(v.header, h);
            }
        }
    }
}

#[test]
fn random_nonce_prefixes_differ() {
    let dek = dek();
    let mut a = Vec::new();
    let mut b = Vec::new();
    Encryptor::new(&dek, 5, ChunkSize::DEFAULT)
        .unwrap()
        .encrypt(&b"hello"[..], &mut a)
        .unwrap();
    Encryptor::new(&dek, 5, ChunkSize::DEFAULT)
        .unwrap()
        .encrypt(&b"hello"[..], &mut b)
        .unwrap();
    assert_ne!(a[19..26], b[19..26]);
    assert_ne!(a, b);
}

#[test]
fn chunk_sizes_outside_the_range_are_refused() {
    for bad in [0u64, 1, 2048, 4095, 4097, 6144, 65535, 524288, 1 << 40] {
        assert!(
            matches!(ChunkSize::new(bad).map_err(Error::from), Err(Error::InvalidChunkSize(n)) if n == bad)
        );
    }
    for good in [4096u64, 8192, 16384, 32768, 65536, 131072, 262144] {
        assert_eq!(ChunkSize::new(good).unwrap().get() as u64, good);
    }
    assert_eq!(ChunkSize::default().get(), 65536);
}

#[test]
fn input_length_must_match_the_header() {
    let dek = dek();
    let pt = plaintext(10_000);
    let short = Encryptor::with_nonce_prefix(&dek, 10_001, cs(4096), PREFIX)
        .unwrap()
        .encrypt(&pt[..], Vec::new());
    assert!(matches!(
        short,
        Err(Error::LengthMismatch {
            expected: 10_001,
            actual: 10_000
        })
    ));
    let long = Encryptor::with_nonce_prefix(&dek, 9_999, cs(4096), PREFIX)
        .unwrap()
        .encrypt(&pt[..], Vec::new());
    assert!(matches!(
        long,
        Err(Error::LengthMismatch {
            expected: 9_999,
            ..
        })
    ));
}

#[test]
fn too_many_chunks_are_refused() {
    let r = Encryptor::with_nonce_prefix(&dek(), (1u64 << 32) * 4096 + 1, cs(4096), PREFIX);
    assert!(matches!(r, Err(Error::TooLong { .. })));
    assert!(Encryptor::with_nonce_prefix(&dek(), (1u64 << 32) * 4096, cs(4096), PREFIX).is_ok());
}

#[test]
fn proofs_for_every_chunk_of_a_real_ciphertext() {
    let dek = dek();
    for len in [0usize, 5000, 4096 * 5, 4096 * 70 + 3] {
        let pt = plaintext(len);
        let (ct, sealed) = encrypt(&dek, &pt, cs(4096), 2);
        let n = sealed.header.chunk_count();
        for i in (0..n).step_by(((n / 7) as usize).max(1)).chain([n - 1]) {
            let (proof, chunk, root) = Decryptor::verifier().threads(2).prove(&ct[..], i).unwrap();
            assert_eq!(root, sealed.content_root);
            let off = sealed.header.chunk_offset(i) as usize;
            assert_eq!(chunk, ct[off..off + sealed.header.stored_chunk_len(i)]);
            proof.verify(&chunk, &sealed.content_root).unwrap();
            let mut bad = chunk.clone();
            *bad.last_mut().unwrap() ^= 0x80;
            assert!(
                matches!(proof.verify(&bad, &sealed.content_root), Err(Error::ProofMismatch(j)) if j == i)
            );
            // JSON round trip: what the CLI and a dispute carry.
            let json = serde_json::to_string(&proof).unwrap();
            assert_eq!(
                serde_json::from_str::<sealer::ChunkProof>(&json).unwrap(),
                proof
            );
        }
        assert!(matches!(
            Decryptor::verifier().prove(&ct[..], n),
            Err(Error::MalformedProof(_))
        ));
    }
}

/// The file paths write from offset 0 into the file they are given: one that already
/// holds something longer is cut to what was written, with no old tail left behind.
#[test]
fn file_paths_into_a_longer_file_leave_no_old_tail() {
    let dek = dek();
    let dir = tempfile::tempdir().unwrap();
    let pt = plaintext(10_000);
    std::fs::write(dir.path().join("pt"), &pt).unwrap();
    let stale = vec![0xEE; 100_000];
    std::fs::write(dir.path().join("ct"), &stale).unwrap();
    let input = std::fs::File::open(dir.path().join("pt")).unwrap();
    let output = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("ct"))
        .unwrap();
    let sealed = Encryptor::new(&dek, pt.len() as u64, cs(4096))
        .unwrap()
        .encrypt_file(&input, &output)
        .unwrap();
    drop(output);
    let ct = std::fs::read(dir.path().join("ct")).unwrap();
    assert_eq!(ct.len() as u64, sealed.ciphertext_len);

    std::fs::write(dir.path().join("out"), &stale).unwrap();
    let input = std::fs::File::open(dir.path().join("ct")).unwrap();
    let output = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("out"))
        .unwrap();
    Decryptor::new(&dek)
        .expect_root(sealed.content_root)
        .decrypt_file(&input, &output)
        .unwrap();
    drop(output);
    assert!(std::fs::read(dir.path().join("out")).unwrap() == pt);
}

/// The positional paths read only what a regular file of the announced length holds: a
/// file that grows while it is encrypted (or reports fewer bytes than it has, as `/proc`
/// files report 0) is refused rather than cut, as a longer stream is; a device or a
/// FIFO is refused as a positional input.
#[test]
fn positional_inputs_are_regular_files_read_to_their_end() {
    use std::io::Write as _;
    let dek = dek();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pt");
    std::fs::write(&path, plaintext(20_000)).unwrap();
    let input = std::fs::File::open(&path).unwrap();
    let appender = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let grown = Encryptor::new(&dek, 20_000, cs(4096))
        .unwrap()
        .threads(1)
        .progress(|_| (&appender).write_all(b"more").unwrap())
        .encrypt_from_file(&input, Vec::new());
    assert!(
        matches!(
            grown,
            Err(Error::LengthMismatch {
                expected: 20_000,
                ..
            })
        ),
        "{grown:?}"
    );

    let dev_null = std::fs::File::open("/dev/null").unwrap();
    let r = Decryptor::new(&dek).decrypt_from_file(&dev_null, Vec::new());
    assert!(matches!(r, Err(Error::NotARegularFile)), "{r:?}");
    let r = Encryptor::new(&dek, 0, cs(4096))
        .unwrap()
        .encrypt_from_file(&dev_null, Vec::new());
    assert!(matches!(r, Err(Error::NotARegularFile)), "{r:?}");
}
