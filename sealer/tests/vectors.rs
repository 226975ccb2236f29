//! Known-answer vectors in `tests/vectors.json`, for any other implementation (the
//! contract's no_std dispute verifier first) to check itself against.
//!
//! Each value is recomputed two ways: through the library, and straight from DESIGN §3
//! with the portable crates (`aes-gcm`, `sha2`, `hkdf`, `x25519-dalek`), which also
//! proves that `ring` and `aes-gcm` produce identical chunks.
//! `SEALER_WRITE_VECTORS=1 cargo test -p sealer --test vectors` rewrites the file.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

use sealer::envelope::{open_envelope, seal_with_ephemeral};
use sealer::{ChunkSize, DataKey, Decryptor, Encryptor, EnvelopeContext};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json");

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    parts.iter().for_each(|p| h.update(p));
    h.finalize().into()
}

/// The tree straight from its definition.
fn tree_root(leaves: Vec<[u8; 32]>) -> [u8; 32] {
    let mut level = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                if p.len() == 2 {
                    sha(&[&[1], &p[0], &p[1]])
                } else {
                    p[0]
                }
            })
            .collect();
    }
    level[0]
}

/// One stream vector, computed from DESIGN §3 with `aes-gcm` (not the library).
fn stream_case(dek: [u8; 32], prefix: [u8; 7], chunk_size: u32, len: usize) -> Value {
    let pt = pattern(len);
    let mut header = b"DMSEAL\x01".to_vec();
    header.extend_from_slice(&chunk_size.to_be_bytes());
    header.extend_from_slice(&(len as u64).to_be_bytes());
    header.extend_from_slice(&prefix);
    let aad = sha(&[&header]);
    let cipher = Aes256Gcm::new(&dek.into());
    let pieces: Vec<&[u8]> = if pt.is_empty() {
        vec![&[]]
    } else {
        pt.chunks(chunk_size as usize).collect()
    };
    let n = pieces.len();
    let mut chunks = Vec::new();
    let mut leaves = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let mut nonce = prefix.to_vec();
        nonce.extend_from_slice(&(i as u32).to_be_bytes());
        nonce.push((i + 1 == n) as u8);
        let mut stored = piece.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(nonce.as_slice().into(), &aad, &mut stored)
            .unwrap();
        stored.extend_from_slice(&tag);
        let leaf = sha(&[&[0], &(i as u64).to_be_bytes(), &stored]);
        chunks.push(json!({"index": i, "nonce": hex::encode(&nonce), "stored": hex::encode(&stored), "leaf": hex::encode(leaf)}));
        leaves.push(leaf);
    }
    let tree = tree_root(leaves);
    let root = sha(&[&[2], &header, &tree]);
    json!({
        "dek": hex::encode(dek),
        "nonce_prefix": hex::encode(prefix),
        "chunk_size": chunk_size,
        "plaintext": hex::encode(&pt),
        "header": hex::encode(&header),
        "aad": hex::encode(aad),
        "chunks": chunks,
        "tree_root": hex::encode(tree),
        "content_root": hex::encode(root),
        "key_commitment": hex::encode(sha(&[b"datamarket/key-commitment/v1", &dek])),
    })
}

/// One envelope vector, computed from DESIGN §3 with the portable crates.
fn envelope_case(
    dek: [u8; 32],
    buyer_secret: [u8; 32],
    eph_secret: [u8; 32],
    ctx: EnvelopeContext,
) -> Value {
    let buyer_pk = PublicKey::from(&StaticSecret::from(buyer_secret)).to_bytes();
    let e = StaticSecret::from(eph_secret);
    let eph_pk = PublicKey::from(&e).to_bytes();
    let shared = e.diffie_hellman(&PublicKey::from(buyer_pk)).to_bytes();
    let salt = [eph_pk, buyer_pk].concat();
    let info = [
        &b"datamarket/envelope/v1"[..],
        &ctx.contract,
        &ctx.purchase_id.to_be_bytes(),
    ]
    .concat();
    let mut k = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), &shared)
        .expand(&info, &mut k)
        .unwrap();
    let aad = [ctx.offer_id.to_be_bytes(), ctx.purchase_id.to_be_bytes()].concat();
    let mut body = dek.to_vec();
    let tag = Aes256Gcm::new(&k.into())
        .encrypt_in_place_detached(&[0u8; 12].into(), &aad, &mut body)
        .unwrap();
    let envelope = [&eph_pk[..], &body, &tag].concat();
    json!({
        "dek": hex::encode(dek),
        "buyer_secret": hex::encode(buyer_secret),
        "buyer_public": hex::encode(buyer_pk),
        "ephemeral_secret": hex::encode(eph_secret),
        "ephemeral_public": hex::encode(eph_pk),
        "contract": hex::encode(ctx.contract),
        "offer_id": ctx.offer_id,
        "purchase_id": ctx.purchase_id,
        "shared_secret": hex::encode(shared),
        "hkdf_salt": hex::encode(&salt),
        "hkdf_info": hex::encode(&info),
        "envelope_key": hex::encode(k),
        "aad": hex::encode(&aad),
        "envelope": hex::encode(&envelope),
    })
}

fn all_vectors() -> Value {
    let dek: [u8; 32] = core::array::from_fn(|i| i as u8);
    let prefix = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6];
    let c = 4096usize;
    let stream: Vec<Value> = [
        (4096u32, 0usize),
        (4096, 1),
        (4096, c - 1),
        (4096, c),
        (4096, c + 1),
        (4096, 5 * c + 3),
        (65536, 100),
    ]
    .iter()
    .map(|&(cs, len)| stream_case(dek, prefix, cs, len))
    .collect();
    let ctx = EnvelopeContext {
        contract: core::array::from_fn(|i| 0xC0 ^ i as u8),
        offer_id: 7,
        purchase_id: 1234,
    };
    let envelope = vec![
        envelope_case(dek, [0x11; 32], [0x22; 32], ctx),
        envelope_case(
            [0xFF; 32],
            core::array::from_fn(|i| (i * 3) as u8),
            core::array::from_fn(|i| 255 - i as u8),
            EnvelopeContext {
                contract: [0; 32],
                offer_id: u64::MAX,
                purchase_id: 0,
            },
        ),
    ];
    json!({
        "about": "Datamarket sealer format v1 known-answer vectors (DESIGN §3). Hex byte strings; integers big-endian in the encodings. plaintext[i] = (7*i + 3) mod 256.",
        "stream": stream,
        "envelope": envelope,
    })
}

fn h32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn vectors_file_matches_the_definition_and_the_library() {
    let expected = all_vectors();
    if std::env::var_os("SEALER_WRITE_VECTORS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&expected).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(PATH).expect("tests/vectors.json is committed"),
    )
    .unwrap();
    // 1. The committed bytes are what DESIGN §3 computes, with aes-gcm.
    assert_eq!(
        committed, expected,
        "tests/vectors.json differs from the definition"
    );

    // 2. The library (ring, pipeline) produces the same bytes, at any thread count.
    for case in committed["stream"].as_array().unwrap() {
        let dek = DataKey::from_bytes(h32(&case["dek"]));
        let prefix: [u8; 7] = hex::decode(case["nonce_prefix"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let pt = hex::decode(case["plaintext"].as_str().unwrap()).unwrap();
        let mut want = hex::decode(case["header"].as_str().unwrap()).unwrap();
        for c in case["chunks"].as_array().unwrap() {
            want.extend(hex::decode(c["stored"].as_str().unwrap()).unwrap());
        }
        let chunk = ChunkSize::new(case["chunk_size"].as_u64().unwrap()).unwrap();
        for threads in [1, 2] {
            let mut ct = Vec::new();
            let sealed = Encryptor::with_nonce_prefix(&dek, pt.len() as u64, chunk, prefix)
                .unwrap()
                .threads(threads)
                .encrypt(&pt[..], &mut ct)
                .unwrap();
            assert_eq!(
                hex::encode(&ct),
                hex::encode(&want),
                "ring and aes-gcm chunks differ"
            );
            assert_eq!(
                sealed.content_root.to_hex(),
                case["content_root"].as_str().unwrap()
            );
        }
        assert_eq!(
            hex::encode(sealed_header(&want)),
            case["header"].as_str().unwrap()
        );
        assert_eq!(
            dek.commitment().to_hex(),
            case["key_commitment"].as_str().unwrap()
        );
        let mut out = Vec::new();
        Decryptor::new(&dek)
            .expect_root(sealer::ContentRoot(h32(&case["content_root"])))
            .expect_key_commitment(sealer::KeyCommitment(h32(&case["key_commitment"])))
            .decrypt(&want[..], &mut out)
            .unwrap();
        assert_eq!(out, pt);
    }
    for case in committed["envelope"].as_array().unwrap() {
        let dek = DataKey::from_bytes(h32(&case["dek"]));
        let ctx = EnvelopeContext {
            contract: h32(&case["contract"]),
            offer_id: case["offer_id"].as_u64().unwrap(),
            purchase_id: case["purchase_id"].as_u64().unwrap(),
        };
        let env = seal_with_ephemeral(
            &dek,
            &h32(&case["ephemeral_secret"]),
            &h32(&case["buyer_public"]),
            &ctx,
        )
        .unwrap();
        assert_eq!(env.to_hex(), case["envelope"].as_str().unwrap());
        assert_eq!(
            open_envelope(&env, &h32(&case["buyer_secret"]), &ctx).unwrap(),
            dek
        );
        let k = sealer::envelope::derive_envelope_key(
            &h32(&case["shared_secret"]),
            &h32(&case["ephemeral_public"]),
            &h32(&case["buyer_public"]),
            &ctx,
        )
        .unwrap();
        assert_eq!(
            hex::encode(k.expose_secret()),
            case["envelope_key"].as_str().unwrap()
        );
    }
}

fn sealed_header(ct: &[u8]) -> [u8; 26] {
    sealer::Header::parse(&ct[..26]).unwrap().to_bytes()
}
