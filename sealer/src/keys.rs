//! The data key (DEK), its commitment and the 32-byte digests the chain stores.

use std::fmt;

use datamarket_format::merkle::SoftSha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result};

pub use datamarket_format::commitment::KEY_COMMITMENT_DOMAIN;

/// Prints `[redacted]` for secrets in Debug and Display.
macro_rules! redacted_fmt {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}
pub(crate) use redacted_fmt;

/// A dataset encryption key: 32 bytes, one per offer. Zeroized on drop, never printed,
/// and compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

redacted_fmt!(DataKey);

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

impl Eq for DataKey {}

impl DataKey {
    /// A fresh key from the OS random number generator.
    pub fn generate() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|_| Error::Rng)?;
        Ok(DataKey(key))
    }

    /// Wraps known key bytes (key files, test vectors, an opened envelope).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// The raw key bytes. Handle with care: copies are not zeroized.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`.
    pub fn commitment(&self) -> KeyCommitment {
        KeyCommitment(datamarket_format::commitment::key_commitment(
            &SoftSha256,
            &self.0,
        ))
    }

    /// Checks the key against a commitment.
    ///
    /// # Errors
    /// [`Error::WrongKeyCommitment`] when it does not match.
    pub fn check_commitment(&self, expected: &KeyCommitment) -> Result<()> {
        if self.commitment() == *expected {
            Ok(())
        } else {
            Err(Error::WrongKeyCommitment)
        }
    }
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex digits.
            ///
            /// # Errors
            /// [`Error::Malformed`] on bad hex or length.
            pub fn from_hex(s: &str) -> Result<Self> {
                parse_hex32(s.trim(), $what).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
    };
}

digest_type!(
    /// `SHA-256("datamarket/key-commitment/v1" ‖ DEK)`: public, stored in the offer.
    KeyCommitment,
    "key commitment"
);
digest_type!(
    /// `SHA-256(0x02 ‖ header ‖ tree_root)`: public, stored in the offer.
    ContentRoot,
    "content root"
);

/// Parses exactly 32 bytes of hex.
pub(crate) fn parse_hex32(s: &str, what: &'static str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    // The hex error is not echoed: it would quote a character of the input.
    hex::decode_to_slice(s, &mut out).map_err(|_| Error::Malformed {
        what,
        reason: "expected 64 hex digits".into(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_equal_exactly_when_every_byte_is() {
        let key = DataKey::from_bytes([7; 32]);
        assert!(key == DataKey::from_bytes([7; 32]));
        for i in [0, 15, 31] {
            let mut other = [7; 32];
            other[i] ^= 1;
            assert!(key != DataKey::from_bytes(other), "byte {i}");
        }
    }
}
