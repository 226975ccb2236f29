//! Header parsing, and the JSON that carries proofs and manifests: never a panic, and a
//! parsed header encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealer::header::HEADER_LEN;
use sealer::{ChunkProof, ContentRoot, Header, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..HEADER_LEN]);
        let n = h.chunk_count();
        assert!((1..=1u64 << 32).contains(&n));
        assert!(h.plaintext_chunk_len(n - 1) <= h.chunk_size().bytes());
        assert!(h.ciphertext_len() >= h.plaintext_len());
        // A proof for the last chunk of that header, with garbage siblings.
        let proof = ChunkProof {
            header: data[..HEADER_LEN].to_vec(),
            index: n - 1,
            siblings: data[HEADER_LEN..]
                .chunks_exact(32)
                .map(|c| c.try_into().unwrap())
                .collect(),
        };
        let chunk = vec![0u8; h.stored_chunk_len(n - 1).min(1 << 18)];
        assert!(proof.verify(&chunk, &ContentRoot([0; 32])).is_err());
    }
    if let Ok(p) = serde_json::from_slice::<ChunkProof>(data) {
        let _ = p.verify(data, &ContentRoot([0; 32]));
    }
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let _ = (m.header(), m.content_root(), m.key_commitment());
    }
});
