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

mod common;

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
    let (header, stored) = seal_by_definition(dek, prefix, chunk_size, &pt, |i, n| i + 1 == n);
    let n = stored.len();
    let chunks: Vec<Value> = stored
        .iter()
        .enumerate()
        .map(|(i, stored)| {
            let mut nonce = prefix.to_vec();
            nonce.extend_from_slice(&(i as u32).to_be_bytes());
            nonce.push(u8::from(i + 1 == n));
            json!({"index": i, "nonce": hex::encode(&nonce), "stored": hex::encode(stored), "leaf": hex::encode(leaf(i, stored))})
        })
        .collect();
    let (tree, root) = roots(&header, &stored);
    json!({
        "dek": hex::encode(dek),
        "nonce_prefix": hex::encode(prefix),
        "chunk_size": chunk_size,
        "plaintext": hex::encode(&pt),
        "header": hex::encode(&header),
        "aad": hex::encode(sha(&[&header])),
        "chunks": chunks,
        "tree_root": hex::encode(tree),
        "content_root": hex::encode(root),
        "key_commitment": hex::encode(sha(&[b"datamarket/key-commitment/v1", &dek])),
    })
}

/// `leaf_i` by its definition.
fn leaf(i: usize, stored: &[u8]) -> [u8; 32] {
    sha(&[&[0], &(i as u64).to_be_bytes(), stored])
}

/// The tree root and the content root of `header` and its stored chunks.
fn roots(header: &[u8], stored: &[Vec<u8>]) -> ([u8; 32], [u8; 32]) {
    let tree = tree_root(stored.iter().enumerate().map(|(i, s)| leaf(i, s)).collect());
    (tree, sha(&[&[2], header, &tree]))
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

/// A ciphertext straight from the definition, with the last flag of chunk `i` taken
/// from `last_flag(i, n)` (the definition's is `i + 1 == n`): the raw bytes of the
/// refusal vectors.
fn seal_by_definition(
    dek: [u8; 32],
    prefix: [u8; 7],
    chunk_size: u32,
    pt: &[u8],
    last_flag: impl Fn(usize, usize) -> bool,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut header = b"DMSEAL\x01".to_vec();
    header.extend_from_slice(&chunk_size.to_be_bytes());
    header.extend_from_slice(&(pt.len() as u64).to_be_bytes());
    header.extend_from_slice(&prefix);
    let aad = sha(&[&header]);
    let cipher = Aes256Gcm::new(&dek.into());
    let pieces: Vec<&[u8]> = if pt.is_empty() {
        vec![&[]]
    } else {
        pt.chunks(chunk_size as usize).collect()
    };
    let n = pieces.len();
    let stored = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut nonce = prefix.to_vec();
            nonce.extend_from_slice(&(i as u32).to_be_bytes());
            nonce.push(u8::from(last_flag(i, n)));
            let mut stored = piece.to_vec();
            let tag = cipher
                .encrypt_in_place_detached(nonce.as_slice().into(), &aad, &mut stored)
                .unwrap();
            stored.extend_from_slice(&tag);
            stored
        })
        .collect();
    (header, stored)
}

/// Ciphertexts a reader must refuse, each with the error it must report first (the
/// names of FORMAT.md §1.1 and §1.2), and two it must accept.
fn refusal_cases(dek: [u8; 32], prefix: [u8; 7]) -> Vec<Value> {
    let c = 4096usize;
    let pt = pattern(2 * c + 100);
    let honest = |i: usize, n: usize| i + 1 == n;
    let (header, chunks) = seal_by_definition(dek, prefix, c as u32, &pt, honest);
    let whole = |header: &[u8], chunks: &[Vec<u8>]| {
        let mut ct = header.to_vec();
        chunks.iter().for_each(|c| ct.extend_from_slice(c));
        ct
    };
    let good = whole(&header, &chunks);
    let (_, root) = roots(&header, &chunks);
    let with_header = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut h = header.clone();
        f(&mut h);
        whole(&h, &chunks)
    };
    let mut cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        ("valid", good.clone(), true, "ok"),
        (
            "bad magic",
            with_header(&|h| h[0] = b'X'),
            false,
            "BadMagic",
        ),
        (
            "version 2",
            with_header(&|h| h[6] = 2),
            false,
            "UnsupportedVersion(2)",
        ),
        (
            "chunk size 3000",
            with_header(&|h| h[7..11].copy_from_slice(&3000u32.to_be_bytes())),
            false,
            "InvalidChunkSize(3000)",
        ),
        (
            "chunk size 8192, a valid size other than the sealed one",
            with_header(&|h| h[7..11].copy_from_slice(&8192u32.to_be_bytes())),
            false,
            "ChunkAuthentication(0)",
        ),
        (
            "plaintext length one more than the chunks hold",
            with_header(&|h| h[11..19].copy_from_slice(&((2 * c + 101) as u64).to_be_bytes())),
            false,
            "ChunkAuthentication(0)",
        ),
        (
            "plaintext length one chunk shorter than the chunks hold",
            with_header(&|h| h[11..19].copy_from_slice(&((c + 100) as u64).to_be_bytes())),
            false,
            "ChunkAuthentication(0)",
        ),
        (
            "nonce prefix tampered",
            with_header(&|h| h[25] ^= 1),
            false,
            "ChunkAuthentication(0)",
        ),
        (
            "header cut at 20 bytes",
            good[..20].to_vec(),
            false,
            "TruncatedHeader(20)",
        ),
        (
            "nothing after the header",
            good[..26].to_vec(),
            false,
            "Truncated(0)",
        ),
        (
            "cut inside chunk 0",
            good[..26 + 100].to_vec(),
            false,
            "Truncated(0)",
        ),
        (
            "cut at the boundary after chunk 0",
            whole(&header, &chunks[..1]),
            false,
            "Truncated(1)",
        ),
        (
            "cut inside chunk 1",
            good[..26 + c + 16 + 10].to_vec(),
            false,
            "Truncated(1)",
        ),
        (
            "cut at the boundary before the last chunk",
            whole(&header, &chunks[..2]),
            false,
            "Truncated(2)",
        ),
        (
            "cut inside the last chunk",
            good[..good.len() - 1].to_vec(),
            false,
            "Truncated(2)",
        ),
        (
            "one trailing byte",
            [good.clone(), vec![0]].concat(),
            false,
            "TrailingData",
        ),
        (
            "chunks 0 and 1 swapped",
            whole(
                &header,
                &[chunks[1].clone(), chunks[0].clone(), chunks[2].clone()],
            ),
            false,
            "ChunkAuthentication(0)",
        ),
        (
            "the last chunk sealed without the last flag",
            whole(
                &header,
                &seal_by_definition(dek, prefix, c as u32, &pt, |_, _| false).1,
            ),
            false,
            "ChunkAuthentication(2)",
        ),
        (
            "chunk 1 sealed with the last flag",
            whole(
                &header,
                &seal_by_definition(dek, prefix, c as u32, &pt, |i, n| i == 1 || i + 1 == n).1,
            ),
            false,
            "ChunkAuthentication(1)",
        ),
        (
            "the tag of chunk 1 flipped",
            {
                let mut ct = good.clone();
                ct[26 + 2 * (c + 16) - 1] ^= 0x80;
                ct
            },
            false,
            "ChunkAuthentication(1)",
        ),
    ];
    // The empty plaintext: one empty chunk, and nothing without it.
    let (eh, ec) = seal_by_definition(dek, prefix, c as u32, &[], honest);
    let empty = whole(&eh, &ec);
    let mut values: Vec<Value> = cases
        .drain(..)
        .map(|(name, ct, with_root, error)| {
            json!({"name": name, "ciphertext": hex::encode(ct), "content_root": if with_root { Value::String(hex::encode(root)) } else { Value::Null }, "error": error})
        })
        .collect();
    let other_root = sha(&[b"another ciphertext"]);
    values.push(json!({"name": "valid, checked against another content root", "ciphertext": hex::encode(&good), "content_root": hex::encode(other_root), "error": "RootMismatch"}));
    values.push(json!({"name": "empty plaintext", "ciphertext": hex::encode(&empty), "content_root": Value::Null, "error": "ok"}));
    values.push(json!({"name": "empty plaintext without its one chunk", "ciphertext": hex::encode(&eh), "content_root": Value::Null, "error": "Truncated(0)"}));
    values
}

/// Chunk proofs a verifier must refuse (FORMAT.md §2.1), and two it must accept, over
/// the three-chunk ciphertext of [`refusal_cases`].
fn proof_cases(dek: [u8; 32], prefix: [u8; 7]) -> Vec<Value> {
    let c = 4096u32;
    let pt = pattern(2 * c as usize + 100);
    let (header, chunks) = seal_by_definition(dek, prefix, c, &pt, |i, n| i + 1 == n);
    let leaf = |i: usize| leaf(i, &chunks[i]);
    let node01 = sha(&[&[1], &leaf(0), &leaf(1)]);
    let (_, root) = roots(&header, &chunks);
    let mut other_header = header.clone();
    other_header[25] ^= 1;
    let case = |name: &str,
                header: &[u8],
                index: u64,
                chunk: &[u8],
                siblings: &[[u8; 32]],
                error: &str| {
        json!({
            "name": name,
            "header": hex::encode(header),
            "index": index,
            "chunk": hex::encode(chunk),
            "siblings": siblings.iter().map(hex::encode).collect::<Vec<_>>(),
            "content_root": hex::encode(root),
            "error": error,
        })
    };
    let short = &chunks[1][..chunks[1].len() - 1];
    vec![
        case("chunk 1", &header, 1, &chunks[1], &[leaf(0), leaf(2)], "ok"),
        case(
            "chunk 2, promoted at the leaf level",
            &header,
            2,
            &chunks[2],
            &[node01],
            "ok",
        ),
        case(
            "chunk 1's proof as index 0",
            &header,
            0,
            &chunks[1],
            &[leaf(0), leaf(2)],
            "ProofMismatch",
        ),
        case(
            "index past the end",
            &header,
            3,
            &chunks[2],
            &[node01],
            "IndexOutOfRange",
        ),
        case(
            "path too short",
            &header,
            1,
            &chunks[1],
            &[leaf(0)],
            "WrongPathLength",
        ),
        case(
            "path too long",
            &header,
            1,
            &chunks[1],
            &[leaf(0), leaf(2), leaf(2)],
            "WrongPathLength",
        ),
        case(
            "chunk one byte short",
            &header,
            1,
            short,
            &[leaf(0), leaf(2)],
            "WrongChunkLength",
        ),
        case(
            "another header",
            &other_header,
            1,
            &chunks[1],
            &[leaf(0), leaf(2)],
            "ProofMismatch",
        ),
    ]
}

/// Envelopes a buyer must fail to open, and buyer keys nothing may be sealed to
/// (FORMAT.md §4, §5), from the first envelope case.
fn envelope_refusal_cases(dek: [u8; 32], ctx: EnvelopeContext) -> Value {
    let good = envelope_case(dek, [0x11; 32], [0x22; 32], ctx);
    let envelope = hex::decode(good["envelope"].as_str().unwrap()).unwrap();
    let case = |name: &str, envelope: &[u8], ctx: EnvelopeContext, error: &str| {
        json!({
            "name": name,
            "envelope": hex::encode(envelope),
            "buyer_secret": hex::encode([0x11u8; 32]),
            "contract": hex::encode(ctx.contract),
            "offer_id": ctx.offer_id,
            "purchase_id": ctx.purchase_id,
            "error": error,
        })
    };
    let flipped = |at: usize| {
        let mut e = envelope.clone();
        e[at] ^= 1;
        e
    };
    let mut zero_e = envelope.clone();
    zero_e[..32].fill(0);
    let mut other_contract = ctx;
    other_contract.contract[0] ^= 1;
    let opens = vec![
        case("valid", &envelope, ctx, "ok"),
        case("another contract", &envelope, other_contract, "DoesNotOpen"),
        case(
            "another offer",
            &envelope,
            EnvelopeContext {
                offer_id: ctx.offer_id + 1,
                ..ctx
            },
            "DoesNotOpen",
        ),
        case(
            "another purchase",
            &envelope,
            EnvelopeContext {
                purchase_id: ctx.purchase_id + 1,
                ..ctx
            },
            "DoesNotOpen",
        ),
        case("encrypted key tampered", &flipped(40), ctx, "DoesNotOpen"),
        case("tag tampered", &flipped(79), ctx, "DoesNotOpen"),
        case(
            "ephemeral key of small order",
            &zero_e,
            ctx,
            "ZeroSharedSecret",
        ),
    ];
    let buyer_public = hex::decode(good["buyer_public"].as_str().unwrap()).unwrap();
    let mut top_bit = buyer_public.clone();
    top_bit[31] |= 0x80;
    let mut p = vec![0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut keys: Vec<Value> = datamarket_format::buyer_key::LOW_ORDER_POINTS
        .iter()
        .map(|k| json!({"key": hex::encode(k), "error": "LowOrder"}))
        .collect();
    keys.push(json!({"key": hex::encode(&top_bit), "error": "NonCanonical"}));
    keys.push(json!({"key": hex::encode(&p), "error": "NonCanonical"}));
    keys.push(json!({"key": hex::encode([0xffu8; 32]), "error": "NonCanonical"}));
    keys.push(json!({"key": hex::encode(&buyer_public), "error": "ok"}));
    json!({"open": opens, "buyer_keys": keys})
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
        "about": "Datamarket sealer format v1 known-answer vectors (sealer/FORMAT.md). Hex byte strings; integers big-endian in the encodings. plaintext[i] = (7*i + 3) mod 256. `refusals`: ciphertexts of 4 KiB chunks under the first stream case's key, each with the first error a reader reports (FORMAT.md §1.1-1.2; Truncated(n) counts the complete chunks), checked against `content_root` when one is given. `proof_refusals` (FORMAT.md §2.1) and `envelope_refusals` (§4, §5) likewise.",
        "stream": stream,
        "envelope": envelope,
        "refusals": refusal_cases(dek, prefix),
        "proof_refusals": proof_cases(dek, prefix),
        "envelope_refusals": envelope_refusal_cases(dek, ctx),
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

/// The error a reader reports, by FORMAT.md's names.
fn error_name(e: &sealer::Error) -> String {
    use sealer::Error as E;
    match e {
        E::BadMagic => "BadMagic".into(),
        E::UnsupportedVersion(v) => format!("UnsupportedVersion({v})"),
        E::TruncatedHeader(n) => format!("TruncatedHeader({n})"),
        E::InvalidChunkSize(n) => format!("InvalidChunkSize({n})"),
        E::ChunkAuthentication(i) => format!("ChunkAuthentication({i})"),
        E::Truncated { complete, .. } => format!("Truncated({complete})"),
        E::TrailingData => "TrailingData".into(),
        E::RootMismatch => "RootMismatch".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn every_refusal_vector_is_refused_with_its_error_on_every_path() {
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let dek = DataKey::from_bytes(h32(&committed["stream"][0]["dek"]));
    let cases = committed["refusals"].as_array().unwrap();
    assert!(cases.len() >= 20, "{} refusal cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ct = hex::decode(case["ciphertext"].as_str().unwrap()).unwrap();
        let root = case["content_root"]
            .as_str()
            .map(|r| sealer::ContentRoot(h32(&Value::String(r.into()))));
        for threads in [1, 3] {
            let make = || {
                let d = Decryptor::new(&dek).threads(threads);
                match root {
                    Some(r) => d.expect_root(r),
                    None => d,
                }
            };
            // The stream, file and file-to-writer paths must agree (decrypt_both checks).
            let got = match common::decrypt_both(&ct, make) {
                Ok(_) => "ok".to_string(),
                Err(e) => error_name(&e),
            };
            assert_eq!(
                got,
                case["error"].as_str().unwrap(),
                "{name} ({threads} threads)"
            );
        }
    }
}

fn proof_error_name(e: &sealer::Error) -> String {
    match e {
        sealer::Error::ProofMismatch(_) => "ProofMismatch".into(),
        sealer::Error::MalformedProof("chunk index out of range") => "IndexOutOfRange".into(),
        sealer::Error::MalformedProof("chunk has the wrong length") => "WrongChunkLength".into(),
        sealer::Error::MalformedProof("sibling path has the wrong length") => {
            "WrongPathLength".into()
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn every_proof_and_envelope_refusal_is_refused_with_its_error() {
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    for case in committed["proof_refusals"].as_array().unwrap() {
        let hexed = |k: &str| hex::decode(case[k].as_str().unwrap()).unwrap();
        let proof = sealer::ChunkProof {
            header: hexed("header"),
            index: case["index"].as_u64().unwrap(),
            siblings: case["siblings"]
                .as_array()
                .unwrap()
                .iter()
                .map(h32)
                .collect(),
        };
        let got = match proof.verify(
            &hexed("chunk"),
            &sealer::ContentRoot(h32(&case["content_root"])),
        ) {
            Ok(()) => "ok".to_string(),
            Err(e) => proof_error_name(&e),
        };
        assert_eq!(got, case["error"].as_str().unwrap(), "{}", case["name"]);
    }
    let envelopes = &committed["envelope_refusals"];
    for case in envelopes["open"].as_array().unwrap() {
        let ctx = EnvelopeContext {
            contract: h32(&case["contract"]),
            offer_id: case["offer_id"].as_u64().unwrap(),
            purchase_id: case["purchase_id"].as_u64().unwrap(),
        };
        let envelope =
            sealer::SealedEnvelope::from_hex(case["envelope"].as_str().unwrap()).unwrap();
        let got = match open_envelope(&envelope, &h32(&case["buyer_secret"]), &ctx) {
            Ok(_) => "ok".to_string(),
            Err(sealer::Error::EnvelopeDoesNotOpen) => "DoesNotOpen".into(),
            Err(sealer::Error::ZeroSharedSecret) => "ZeroSharedSecret".into(),
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(got, case["error"].as_str().unwrap(), "{}", case["name"]);
    }
    for case in envelopes["buyer_keys"].as_array().unwrap() {
        let key = h32(&case["key"]);
        let got = match sealer::BuyerPublicKey::new(key) {
            Ok(_) => "ok".to_string(),
            Err(sealer::Error::BadBuyerKey(datamarket_format::BuyerKeyError::LowOrder)) => {
                "LowOrder".into()
            }
            Err(sealer::Error::BadBuyerKey(datamarket_format::BuyerKeyError::NonCanonical)) => {
                "NonCanonical".into()
            }
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(got, case["error"].as_str().unwrap(), "{}", case["key"]);
    }
}
