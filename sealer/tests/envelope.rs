//! Sealed envelopes: round trip, context binding, wrong keys, low-order points.

use sealer::envelope::{derive_envelope_key, open_envelope, seal_with_ephemeral, ENVELOPE_LEN};
use sealer::{
    BuyerPublicKey, BuyerSecretKey, DataKey, EnvelopeContext, Error, KeyOpener, KeySealer,
    SealedEnvelope,
};

fn ctx() -> EnvelopeContext {
    EnvelopeContext {
        contract: [0xC0; 32],
        offer_id: 7,
        purchase_id: 1234,
    }
}

#[test]
fn seal_then_open() {
    let dek = DataKey::generate().unwrap();
    let buyer = BuyerSecretKey::generate().unwrap();
    let env = buyer.public_key().seal(&dek, &ctx()).unwrap();
    assert_eq!(env.0.len(), ENVELOPE_LEN);
    assert_eq!(buyer.open(&env, &ctx()).unwrap(), dek);
    // Fresh ephemeral key each time.
    let env2 = buyer.public_key().seal(&dek, &ctx()).unwrap();
    assert_ne!(env, env2);
    assert_eq!(buyer.open(&env2, &ctx()).unwrap(), dek);
}

#[test]
fn wrong_context_does_not_open() {
    let dek = DataKey::generate().unwrap();
    let buyer = BuyerSecretKey::generate().unwrap();
    let env = buyer.public_key().seal(&dek, &ctx()).unwrap();
    let mut c = ctx();
    c.contract[31] ^= 1;
    assert!(matches!(
        buyer.open(&env, &c),
        Err(Error::EnvelopeDoesNotOpen)
    ));
    let c = EnvelopeContext {
        offer_id: 8,
        ..ctx()
    };
    assert!(matches!(
        buyer.open(&env, &c),
        Err(Error::EnvelopeDoesNotOpen)
    ));
    let c = EnvelopeContext {
        purchase_id: 1235,
        ..ctx()
    };
    assert!(matches!(
        buyer.open(&env, &c),
        Err(Error::EnvelopeDoesNotOpen)
    ));
}

#[test]
fn wrong_buyer_key_does_not_open() {
    let dek = DataKey::generate().unwrap();
    let buyer = BuyerSecretKey::generate().unwrap();
    let other = BuyerSecretKey::generate().unwrap();
    let env = buyer.public_key().seal(&dek, &ctx()).unwrap();
    assert!(matches!(
        other.open(&env, &ctx()),
        Err(Error::EnvelopeDoesNotOpen)
    ));
}

#[test]
fn every_bit_of_the_envelope_matters() {
    let dek = DataKey::from_bytes([9; 32]);
    let buyer = BuyerSecretKey::from_bytes([5; 32]);
    let env = seal_with_ephemeral(&dek, &[6; 32], &buyer.public_key().0, &ctx()).unwrap();
    // One bit per byte (x25519 is slow in debug builds); the bit moves along.
    for byte in 0..ENVELOPE_LEN {
        {
            let bit = byte % 8;
            let mut t = env;
            t.0[byte] ^= 1 << bit;
            let r = buyer.open(&t, &ctx());
            assert!(
                matches!(
                    r,
                    Err(Error::EnvelopeDoesNotOpen) | Err(Error::ZeroSharedSecret)
                ),
                "byte {byte} bit {bit}: {r:?}"
            );
        }
    }
}

/// Points of small order on Curve25519 (u-coordinates), for which X25519 gives zero.
fn low_order_points() -> Vec<[u8; 32]> {
    let mut one = [0u8; 32];
    one[0] = 1;
    let order8 =
        hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800").unwrap();
    let p =
        hex::decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f").unwrap();
    vec![
        [0u8; 32],
        one,
        order8.try_into().unwrap(),
        p.try_into().unwrap(),
    ]
}

#[test]
fn all_zero_shared_secrets_are_rejected() {
    let dek = DataKey::from_bytes([9; 32]);
    for point in low_order_points() {
        // Sealing to a low-order buyer key: refused before any X25519 as a key no
        // purchase may name, and by the all-zero shared secret below that.
        let r = BuyerPublicKey(point).seal(&dek, &ctx());
        assert!(
            matches!(r, Err(Error::BadBuyerKey(_))),
            "{}: {r:?}",
            hex::encode(point)
        );
        assert!(BuyerPublicKey::from_hex(&hex::encode(point)).is_err());
        let r = seal_with_ephemeral(&dek, &[5; 32], &point, &ctx());
        assert!(
            matches!(r, Err(Error::ZeroSharedSecret)),
            "{}: {r:?}",
            hex::encode(point)
        );
        // Opening an envelope whose ephemeral key is low-order.
        let mut env = [0u8; ENVELOPE_LEN];
        env[..32].copy_from_slice(&point);
        let r = open_envelope(&SealedEnvelope(env), &[5; 32], &ctx());
        assert!(matches!(r, Err(Error::ZeroSharedSecret)));
    }
    assert!(matches!(
        derive_envelope_key(&[0; 32], &[1; 32], &[2; 32], &ctx()),
        Err(Error::ZeroSharedSecret)
    ));
}

#[test]
fn secrets_are_redacted() {
    let dek = DataKey::from_bytes([0xAB; 32]);
    let buyer = BuyerSecretKey::from_bytes([0xCD; 32]);
    let k = derive_envelope_key(&[1; 32], &[2; 32], &[3; 32], &ctx()).unwrap();
    for s in [
        format!("{dek:?}"),
        format!("{dek}"),
        format!("{buyer:?}"),
        format!("{buyer}"),
        format!("{k:?}"),
        format!("{k}"),
    ] {
        assert_eq!(s, "[redacted]");
    }
    let enc = sealer::Encryptor::new(&dek, 1, sealer::ChunkSize::DEFAULT).unwrap();
    let dbg = format!("{enc:?} {:?}", sealer::Decryptor::new(&dek));
    assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
    assert!(dbg.contains("[redacted]"));
}

#[test]
fn envelope_hex_round_trip() {
    let buyer = BuyerSecretKey::from_bytes([5; 32]);
    let env = seal_with_ephemeral(
        &DataKey::from_bytes([1; 32]),
        &[6; 32],
        &buyer.public_key().0,
        &ctx(),
    )
    .unwrap();
    assert_eq!(SealedEnvelope::from_hex(&env.to_hex()).unwrap(), env);
    assert!(matches!(
        SealedEnvelope::from_hex("abcd"),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        SealedEnvelope::from_slice(&[0; 79]),
        Err(Error::Malformed { .. })
    ));
}
