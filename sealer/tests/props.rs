//! Property tests: round trip, and any single bit flip anywhere is rejected.

mod common;

use common::*;
use proptest::prelude::*;
use sealer::{Decryptor, Error};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(pt in proptest::collection::vec(any::<u8>(), 0..40_000), chunk_log in 12u32..=14, threads in 1usize..4) {
        let dek = dek();
        let (ct, sealed) = encrypt(&dek, &pt, cs(1 << chunk_log), threads);
        let mut out = Vec::new();
        Decryptor::new(&dek)
            .threads(threads)
            .expect_root(sealed.content_root)
            .decrypt(&ct[..], &mut out)
            .unwrap();
        prop_assert_eq!(out, pt);
    }

    #[test]
    fn any_single_bit_flip_is_rejected(len in 0usize..20_000, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let dek = dek();
        let pt = plaintext(len);
        let (mut ct, sealed) = encrypt(&dek, &pt, cs(4096), 2);
        let at = pos.index(ct.len());
        ct[at] ^= 1 << bit;
        let mut out = Vec::new();
        let keyed = Decryptor::new(&dek).threads(2).decrypt(&ct[..], &mut out);
        prop_assert!(keyed.is_err(), "flip at byte {} bit {} accepted", at, bit);
        let rooted = Decryptor::new(&dek).expect_root(sealed.content_root).decrypt(&ct[..], Vec::new());
        prop_assert!(rooted.is_err());
        let keyless = Decryptor::verifier().expect_root(sealed.content_root).verify(&ct[..]);
        prop_assert!(matches!(keyless, Err(e) if !matches!(e, Error::Io(_))));
    }
}
