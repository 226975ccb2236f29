//! Every tampering case fails with its own error.

mod common;

use std::io::{self, Read, Write};

use common::*;
use sealer::header::HEADER_LEN;
use sealer::{ContentRoot, DataKey, Decryptor, Encryptor, Error, Opened};

const CHUNK: u64 = 4096;
/// 200 chunks: several pipeline jobs, last chunk partial.
const LEN: usize = 4096 * 199 + 100;

fn setup() -> (Vec<u8>, sealer::Sealed) {
    encrypt(&dek(), &plaintext(LEN), cs(CHUNK), 2)
}

/// Through both the stream and the file path, which must agree.
fn decrypt(ct: &[u8]) -> Result<Opened, Error> {
    let dek = dek();
    decrypt_both(ct, || Decryptor::new(&dek).threads(2)).map(|(o, _)| o)
}

fn decrypt_rooted(ct: &[u8], root: ContentRoot) -> Result<Opened, Error> {
    let dek = dek();
    decrypt_both(ct, || Decryptor::new(&dek).threads(2).expect_root(root)).map(|(o, _)| o)
}

/// Keyless verification through both paths, which must agree.
fn verify(ct: &[u8], root: ContentRoot) -> Result<Opened, Error> {
    let streamed = Decryptor::verifier()
        .threads(2)
        .expect_root(root)
        .verify(ct);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ct"), ct).unwrap();
    let f = std::fs::File::open(dir.path().join("ct")).unwrap();
    let filed = Decryptor::verifier()
        .threads(2)
        .expect_root(root)
        .verify_file(&f);
    assert_eq!(format!("{streamed:?}"), format!("{filed:?}"));
    streamed
}

fn stride() -> usize {
    CHUNK as usize + 16
}

fn off(i: usize) -> usize {
    HEADER_LEN + i * stride()
}

#[test]
fn truncation_at_and_between_chunk_boundaries() {
    let (ct, s) = setup();
    let n = s.header.chunk_count();
    assert_eq!(n, 200);
    for k in [0usize, 1, 63, 64, 65, 130, 199] {
        // At a boundary: k complete chunks.
        let r = decrypt(&ct[..off(k)]);
        assert!(
            matches!(r, Err(Error::Truncated { complete, expected: 200 }) if complete == k as u64),
            "cut at chunk boundary {k}: {r:?}"
        );
        // Between boundaries: still k complete chunks.
        for inside in [1, 16, 4096, stride() - 1] {
            if off(k) + inside >= ct.len() {
                continue;
            }
            let r = decrypt_rooted(&ct[..off(k) + inside], s.content_root);
            assert!(
                matches!(r, Err(Error::Truncated { complete, .. }) if complete == k as u64),
                "cut {inside} bytes into chunk {k}: {r:?}"
            );
        }
    }
    // Inside the header.
    for cut in [0usize, 3, 6, 25] {
        let r = decrypt(&ct[..cut]);
        assert!(
            matches!(r, Err(Error::TruncatedHeader(n)) if n == cut),
            "{cut}: {r:?}"
        );
    }
    // One byte short of the end.
    let r = decrypt(&ct[..ct.len() - 1]);
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                complete: 199,
                expected: 200
            })
        ),
        "{r:?}"
    );
}

#[test]
fn dropping_the_last_chunk() {
    let (ct, s) = setup();
    let r = decrypt(&ct[..off(199)]);
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                complete: 199,
                expected: 200
            })
        ),
        "{r:?}"
    );
    // Even if the header is rewritten to the shorter length, the former chunk 198 lacks
    // the last flag (and the header is part of every chunk's AAD).
    let mut forged = ct[..off(199)].to_vec();
    forged[11..19].copy_from_slice(&(199u64 * 4096).to_be_bytes());
    assert!(matches!(
        decrypt(&forged),
        Err(Error::ChunkAuthentication(0))
    ));
    assert!(matches!(
        Decryptor::new(&dek())
            .expect_header(s.header.to_bytes())
            .decrypt(&forged[..], Vec::new()),
        Err(Error::HeaderTampered)
    ));
}

#[test]
fn swapping_chunks() {
    let (ct, s) = setup();
    for (a, b) in [(0usize, 1usize), (5, 70), (197, 198)] {
        let mut t = ct.clone();
        let (ca, cb) = (
            ct[off(a)..off(a + 1)].to_vec(),
            ct[off(b)..off(b + 1)].to_vec(),
        );
        t[off(a)..off(a + 1)].copy_from_slice(&cb);
        t[off(b)..off(b + 1)].copy_from_slice(&ca);
        let r = decrypt(&t);
        assert!(
            matches!(r, Err(Error::ChunkAuthentication(i)) if i == a as u64),
            "{a}<->{b}: {r:?}"
        );
        let r = decrypt_rooted(&t, s.content_root);
        assert!(matches!(r, Err(Error::ChunkAuthentication(i)) if i == a as u64));
        let r = verify(&t, s.content_root);
        assert!(matches!(r, Err(Error::RootMismatch)), "{r:?}");
    }
}

#[test]
fn appending_bytes() {
    let (ct, s) = setup();
    for extra in [&[0u8][..], b"more data", &ct[off(3)..off(4)]] {
        let mut t = ct.clone();
        t.extend_from_slice(extra);
        assert!(matches!(decrypt(&t), Err(Error::TrailingData)));
        assert!(matches!(
            decrypt_rooted(&t, s.content_root),
            Err(Error::TrailingData)
        ));
        assert!(matches!(
            verify(&t, s.content_root),
            Err(Error::TrailingData)
        ));
    }
    // A one-chunk file too.
    let (mut small, _) = encrypt(&dek(), b"tiny", cs(CHUNK), 1);
    small.push(0);
    assert!(matches!(decrypt(&small), Err(Error::TrailingData)));
}

#[test]
fn changing_the_header() {
    let (ct, s) = setup();
    let with_header = |t: &[u8]| {
        Decryptor::new(&dek())
            .expect_header(s.header.to_bytes())
            .decrypt(t, Vec::new())
    };
    let mut t = ct.clone();
    t[0] = b'X';
    assert!(matches!(decrypt(&t), Err(Error::BadMagic)));
    let mut t = ct.clone();
    t[6] = 2;
    assert!(matches!(decrypt(&t), Err(Error::UnsupportedVersion(2))));
    let mut t = ct.clone();
    t[7..11].copy_from_slice(&3000u32.to_be_bytes());
    assert!(matches!(decrypt(&t), Err(Error::InvalidChunkSize(3000))));
    let mut t = ct.clone();
    t[7..11].copy_from_slice(&(1u32 << 19).to_be_bytes());
    assert!(matches!(decrypt(&t), Err(Error::InvalidChunkSize(524288))));
    // Every bit of the length and the nonce prefix: without the expected header the
    // AAD catches it at chunk 0; with it, the header check does.
    for byte in 11..HEADER_LEN {
        for bit in 0..8 {
            let mut t = ct.clone();
            t[byte] ^= 1 << bit;
            let r = decrypt(&t);
            let new_len = u64::from_be_bytes(t[11..19].try_into().unwrap());
            let ok = if byte < 19 && new_len.div_ceil(CHUNK) > 1 << 32 {
                matches!(r, Err(Error::TooLong { len, .. }) if len == new_len)
            } else {
                matches!(r, Err(Error::ChunkAuthentication(0)))
            };
            assert!(ok, "byte {byte} bit {bit}: {r:?}");
            assert!(matches!(with_header(&t), Err(Error::HeaderTampered)));
        }
    }
}

#[test]
fn wrong_data_key() {
    let (ct, s) = setup();
    let wrong = DataKey::from_bytes([0x43; 32]);
    let r = Decryptor::new(&wrong).decrypt(&ct[..], Vec::new());
    assert!(matches!(r, Err(Error::ChunkAuthentication(0))));
    let r = Decryptor::new(&wrong)
        .expect_key_commitment(dek().commitment())
        .decrypt(&ct[..], Vec::new());
    assert!(matches!(r, Err(Error::WrongKeyCommitment)));
    let r = Decryptor::new(&wrong)
        .expect_root(s.content_root)
        .decrypt(&ct[..], Vec::new());
    assert!(matches!(r, Err(Error::ChunkAuthentication(0))));
}

#[test]
fn wrong_root() {
    let (ct, s) = setup();
    let mut other = s.content_root;
    other.0[31] ^= 1;
    assert!(matches!(
        decrypt_rooted(&ct, other),
        Err(Error::RootMismatch)
    ));
    assert!(matches!(verify(&ct, other), Err(Error::RootMismatch)));
    assert!(verify(&ct, s.content_root).is_ok());
}

#[test]
fn flipped_bit_in_a_middle_chunk_names_it() {
    let (ct, _) = setup();
    for i in [0usize, 1, 64, 150, 199] {
        let mut t = ct.clone();
        t[off(i) + 7] ^= 4;
        assert!(matches!(decrypt(&t), Err(Error::ChunkAuthentication(j)) if j == i as u64));
        // The tag too.
        let mut t = ct.clone();
        let end = if i == 199 { ct.len() } else { off(i + 1) };
        t[end - 1] ^= 1;
        assert!(matches!(decrypt(&t), Err(Error::ChunkAuthentication(j)) if j == i as u64));
    }
}

/// A reader that fails after `limit` bytes.
struct FailingReader<'a> {
    data: &'a [u8],
    limit: usize,
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.limit).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.limit -= n;
        Ok(n)
    }
}

/// A writer that fails after `limit` bytes.
struct FailingWriter {
    limit: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.limit);
        self.limit -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn is_io(r: &Result<impl std::fmt::Debug, Error>, msg: &str) -> bool {
    matches!(r, Err(Error::Io(e)) if e.to_string() == msg)
}

#[test]
fn failing_read_or_write_mid_stream_is_an_error() {
    let pt = plaintext(LEN);
    let (ct, s) = setup();
    for threads in [1, 2, 4] {
        for limit in [0usize, 10, 100_000, 500_000] {
            let r = Encryptor::with_nonce_prefix(&dek(), LEN as u64, cs(CHUNK), PREFIX)
                .unwrap()
                .threads(threads)
                .encrypt(FailingReader { data: &pt, limit }, Vec::new());
            assert!(is_io(&r, "disk on fire"), "{r:?}");
            let r = Encryptor::with_nonce_prefix(&dek(), LEN as u64, cs(CHUNK), PREFIX)
                .unwrap()
                .threads(threads)
                .encrypt(&pt[..], FailingWriter { limit });
            assert!(is_io(&r, "disk full"), "{r:?}");
            let r = Decryptor::new(&dek())
                .threads(threads)
                .decrypt(FailingReader { data: &ct, limit }, Vec::new());
            assert!(is_io(&r, "disk on fire"), "{r:?}");
            let r = Decryptor::new(&dek())
                .threads(threads)
                .expect_root(s.content_root)
                .decrypt(&ct[..], FailingWriter { limit });
            assert!(is_io(&r, "disk full"), "{r:?}");
        }
    }
}

#[test]
fn failed_atomic_writes_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain.csv");
    let (ct, s) = setup();
    let mut t = ct.clone();
    t[off(150) + 1] ^= 1; // after several jobs were already written
    let r = sealer::write_atomically(&out, |f| {
        Decryptor::new(&dek())
            .expect_root(s.content_root)
            .decrypt(&t[..], f)
    });
    assert!(matches!(r, Err(Error::ChunkAuthentication(150))));
    let r = sealer::write_atomically(&out, |f| {
        Decryptor::new(&dek()).decrypt(
            FailingReader {
                data: &ct,
                limit: 300_000,
            },
            f,
        )
    });
    assert!(is_io(&r, "disk on fire"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was left behind"
    );
    sealer::write_atomically(&out, |f| Decryptor::new(&dek()).decrypt(&ct[..], f)).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), plaintext(LEN));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
