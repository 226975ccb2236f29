//! Envelope opening: arbitrary envelopes, keys and contexts never panic; sealing to any
//! key then opening gives the key back unless the shared secret is zero.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealer::envelope::{open_envelope, seal_with_ephemeral};
use sealer::{BuyerSecretKey, DataKey, EnvelopeContext, Error, SealedEnvelope};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = SealedEnvelope::from_hex(s);
    }
    if data.len() < 160 {
        return;
    }
    let env = SealedEnvelope::from_slice(&data[..80]).unwrap();
    let secret: [u8; 32] = data[80..112].try_into().unwrap();
    let ctx = EnvelopeContext {
        contract: data[112..144].try_into().unwrap(),
        offer_id: u64::from_be_bytes(data[144..152].try_into().unwrap()),
        purchase_id: u64::from_be_bytes(data[152..160].try_into().unwrap()),
    };
    let _ = open_envelope(&env, &secret, &ctx);

    let dek = DataKey::from_bytes(env.0[32..64].try_into().unwrap());
    let buyer_pk = BuyerSecretKey::from_bytes(secret).public_key();
    let ephemeral: [u8; 32] = env.0[..32].try_into().unwrap();
    match seal_with_ephemeral(&dek, &ephemeral, &buyer_pk.0, &ctx) {
        Ok(sealed) => {
            assert_eq!(open_envelope(&sealed, &secret, &ctx).unwrap(), dek);
            let mut other = ctx;
            other.purchase_id ^= 1;
            assert!(matches!(
                open_envelope(&sealed, &secret, &other),
                Err(Error::EnvelopeDoesNotOpen)
            ));
        }
        Err(Error::ZeroSharedSecret) => {}
        Err(e) => panic!("unexpected {e}"),
    }
});
