//! The bulk path's AEAD against a wipeable one, on format v1's default 64 KiB chunks:
//! ring's AES-256-GCM (what the sealer uses; its key schedule cannot be wiped through
//! its API) and the aes-gcm crate built with `aes/zeroize` (its round keys are wiped on
//! drop). Prints each one's best of five passes over 256 MiB and their ratio, so that
//! the cost of a wipeable bulk path is a figure from one run.
//!
//! `cargo run --release -p sealer --example aead_bench`

use std::time::{Duration, Instant};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

const CHUNK: usize = 64 * 1024;
const TOTAL: usize = 256 << 20;
const PASSES: usize = 5;

fn nonce(i: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&i.to_be_bytes());
    n
}

fn best(mut pass: impl FnMut()) -> Duration {
    (0..PASSES)
        .map(|_| {
            let started = Instant::now();
            pass();
            started.elapsed()
        })
        .min()
        .expect("passes")
}

fn main() {
    let key = [7u8; 32];
    let aad = [9u8; 32];
    let mut buf = vec![0x5a_u8; CHUNK];
    let chunks = (TOTAL / CHUNK) as u64;

    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
    let ring = best(|| {
        for i in 0..chunks {
            let tag = ring_key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce(i)),
                    Aad::from(&aad[..]),
                    &mut buf,
                )
                .expect("seal");
            let _ = std::hint::black_box(tag);
        }
    });

    let wiped_key = Aes256Gcm::new(&key.into());
    let wipeable = best(|| {
        for i in 0..chunks {
            let tag = wiped_key
                .encrypt_in_place_detached(&nonce(i).into(), &aad, &mut buf)
                .expect("seal");
            let _ = std::hint::black_box(tag);
        }
    });

    let rate = |d: Duration| TOTAL as f64 / d.as_secs_f64() / 1e6;
    println!("ring AES-256-GCM:            {:8.0} MB/s", rate(ring));
    println!("aes-gcm (wipeable keys):     {:8.0} MB/s", rate(wipeable));
    println!(
        "wipeable / ring:             {:8.2}x",
        rate(wipeable) / rate(ring)
    );
}
