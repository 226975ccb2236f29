//! Which X25519 public keys a purchase may name.
//!
//! A buyer's per-purchase key is where the data key is sealed. Two kinds of 32-byte
//! strings can never be delivered to: points of small order, whose shared secret with
//! every scalar is the all-zero string the envelope refuses (so no owner can seal to
//! them and no buyer secret can match them in a dispute), and non-canonical encodings
//! (the top bit set, or a value of at least p = 2^255 - 19), which X25519 quietly
//! reduces, so that two different strings would name one key. The contract refuses
//! both at purchase and the sealer refuses to parse or seal to them.

use crate::Bytes32;

/// p = 2^255 - 19, little-endian.
const P: Bytes32 = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// The canonical encodings (u-coordinates below p) of Curve25519's points of small
/// order: 0 and 1, the two points of order 8, and p - 1 (order 2). The same list as
/// libsodium's `has_small_order`, less the non-canonical p and p + 1, which the
/// canonical check refuses already.
pub const LOW_ORDER_POINTS: [Bytes32; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Why a buyer key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuyerKeyError {
    /// Not the canonical encoding of a u-coordinate (top bit set, or at least p).
    NonCanonical,
    /// A point of small order: nothing can be sealed to it.
    LowOrder,
}

impl core::fmt::Display for BuyerKeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NonCanonical => {
                "not a canonical X25519 public key (top bit set or not below 2^255 - 19)"
            }
            Self::LowOrder => "an X25519 point of small order: nothing can be sealed to it",
        })
    }
}

/// Checks a buyer's X25519 public key: canonical, and not of small order.
///
/// # Errors
/// [`BuyerKeyError::NonCanonical`] first, then [`BuyerKeyError::LowOrder`].
pub fn check_buyer_key(key: &Bytes32) -> Result<(), BuyerKeyError> {
    if !below_p(key) {
        return Err(BuyerKeyError::NonCanonical);
    }
    if LOW_ORDER_POINTS.contains(key) {
        return Err(BuyerKeyError::LowOrder);
    }
    Ok(())
}

/// Whether the little-endian `key` is below p (which also means its top bit is clear).
fn below_p(key: &Bytes32) -> bool {
    for (k, p) in key.iter().rev().zip(P.iter().rev()) {
        if k != p {
            return k < p;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(mut value: Bytes32, add: u8) -> Bytes32 {
        // value + add, little-endian, for small `add` on values that do not overflow.
        let mut carry = u16::from(add);
        for byte in &mut value {
            let [low, high] = u16::from(*byte).wrapping_add(carry).to_le_bytes();
            *byte = low;
            carry = u16::from(high);
        }
        value
    }

    #[test]
    fn every_listed_point_has_small_order() {
        // A clamped scalar is a multiple of 8, so the shared secret with a point of
        // order dividing 8 is the identity, encoded as zero.
        for scalar in [[0x42u8; 32], [0x99; 32], [1; 32]] {
            let secret = x25519_dalek::StaticSecret::from(scalar);
            for point in LOW_ORDER_POINTS {
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(point));
                assert_eq!(shared.to_bytes(), [0; 32], "{point:02x?}");
            }
        }
    }

    #[test]
    fn canonical_keys_of_large_order_pass_and_the_rest_is_refused() {
        let real = crate::envelope::x25519_public(&[0x42; 32]);
        assert_eq!(check_buyer_key(&real), Ok(()));
        let p_minus_2 = {
            let mut v = P;
            v[0] = 0xeb;
            v
        };
        assert_eq!(check_buyer_key(&p_minus_2), Ok(()));
        for point in LOW_ORDER_POINTS {
            assert_eq!(check_buyer_key(&point), Err(BuyerKeyError::LowOrder));
        }
        let mut top_bit = real;
        top_bit[31] |= 0x80;
        for key in [P, le(P, 1), le(P, 18), [0xff; 32], top_bit] {
            assert_eq!(
                check_buyer_key(&key),
                Err(BuyerKeyError::NonCanonical),
                "{key:02x?}"
            );
        }
    }
}
