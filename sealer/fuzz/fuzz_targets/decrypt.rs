//! Decryption: arbitrary bytes never panic; and a real ciphertext of the input, changed
//! in one way chosen by the input (a byte, a cut, an insertion), is always rejected,
//! while the unchanged one decrypts to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealer::{ChunkSize, DataKey, Decryptor, Encryptor};

fuzz_target!(|data: &[u8]| {
    let dek = DataKey::from_bytes([7; 32]);
    let _ = Decryptor::new(&dek)
        .threads(1)
        .decrypt(data, std::io::sink());
    let _ = Decryptor::verifier().threads(1).verify(data);
    let _ = Decryptor::verifier()
        .threads(1)
        .prove(data, data.len() as u64 % 5);

    if data.len() < 4 {
        return;
    }
    let (ctl, pt) = data.split_at(4);
    let mut ct = Vec::new();
    let sealed =
        Encryptor::with_nonce_prefix(&dek, pt.len() as u64, ChunkSize::new(4096).unwrap(), [1; 7])
            .unwrap()
            .threads(1)
            .encrypt(pt, &mut ct)
            .unwrap();
    let pos = u16::from_le_bytes([ctl[1], ctl[2]]) as usize % ct.len();
    let op = ctl[0] % 4;
    match op {
        0 => {}
        1 => ct[pos] ^= ctl[3].max(1),
        2 => ct.truncate(pos),
        _ => ct.insert(pos, ctl[3]),
    }
    let mut out = Vec::new();
    let keyed = Decryptor::new(&dek).threads(1).decrypt(&ct[..], &mut out);
    let rooted = Decryptor::verifier()
        .threads(1)
        .expect_root(sealed.content_root)
        .verify(&ct[..]);
    if op == 0 {
        keyed.unwrap();
        rooted.unwrap();
        assert_eq!(out, pt);
    } else {
        assert!(
            keyed.is_err(),
            "changed ciphertext accepted (op {op} at {pos})"
        );
        assert!(
            rooted.is_err(),
            "changed ciphertext matched the root (op {op} at {pos})"
        );
    }
});
