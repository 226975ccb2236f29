//! SS58 addresses (Substrate's account text form): base58 of prefix ‖ account (32) ‖
//! the first two bytes of BLAKE2b-512("SS58PRE" ‖ prefix ‖ account). One- and two-byte
//! prefixes (0..=16383), the reserved prefixes 46 and 47 refused, as `sp-core` does
//! (the tests compare the two); no signing stack needed to read or show an address.

use blake2::{Blake2b512, Digest};

/// Why a text is not an SS58 address. The variant names are `sp-core`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    /// Not base58.
    #[error("not base58")]
    BadBase58,
    /// Not the length of a 32-byte account with its prefix and checksum.
    #[error("wrong length")]
    BadLength,
    /// A prefix byte no SS58 address starts with.
    #[error("invalid prefix")]
    InvalidPrefix,
    /// A reserved prefix (46, 47).
    #[error("reserved prefix")]
    FormatNotAllowed,
    /// The checksum does not match.
    #[error("bad checksum")]
    InvalidChecksum,
}

const CHECKSUM_LEN: usize = 2;

fn checksum(data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(data);
    let hash = h.finalize();
    [hash[0], hash[1]]
}

fn is_reserved(prefix: u16) -> bool {
    prefix == 46 || prefix == 47
}

/// Encodes a 32-byte account with `prefix` (its upper two bits are ignored: SS58
/// prefixes have 14 bits).
pub fn encode(account: &[u8; 32], prefix: u16) -> String {
    let ident = prefix & 0b0011_1111_1111_1111;
    let mut v = Vec::with_capacity(2 + 32 + CHECKSUM_LEN);
    if ident < 64 {
        v.push(ident as u8);
    } else {
        // 01aaaaaa bbcccccc for the little-endian aaaaaabb 00cccccc.
        let first = ((ident & 0b0000_0000_1111_1100) as u8) >> 2;
        let second = ((ident >> 8) as u8) | (((ident & 0b11) as u8) << 6);
        v.push(first | 0b0100_0000);
        v.push(second);
    }
    v.extend_from_slice(account);
    let sum = checksum(&v);
    v.extend_from_slice(&sum);
    bs58::encode(v).into_string()
}

/// Decodes an SS58 address into its account and prefix.
///
/// # Errors
/// [`Ss58Error`].
pub fn decode(text: &str) -> Result<([u8; 32], u16), Ss58Error> {
    let data = bs58::decode(text)
        .into_vec()
        .map_err(|_| Ss58Error::BadBase58)?;
    if data.len() < 2 {
        return Err(Ss58Error::BadLength);
    }
    let (prefix_len, prefix) = match data[0] {
        0..=63 => (1, u16::from(data[0])),
        64..=127 => {
            let lower = (data[0] << 2) | (data[1] >> 6);
            let upper = data[1] & 0b0011_1111;
            (2, u16::from(lower) | (u16::from(upper) << 8))
        }
        _ => return Err(Ss58Error::InvalidPrefix),
    };
    if data.len() != prefix_len + 32 + CHECKSUM_LEN {
        return Err(Ss58Error::BadLength);
    }
    if is_reserved(prefix) {
        return Err(Ss58Error::FormatNotAllowed);
    }
    let (body, sum) = data.split_at(prefix_len + 32);
    if checksum(body) != sum {
        return Err(Ss58Error::InvalidChecksum);
    }
    let mut account = [0u8; 32];
    account.copy_from_slice(&body[prefix_len..]);
    Ok((account, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_core::crypto::{AccountId32, Ss58AddressFormat, Ss58Codec};

    #[test]
    fn matches_sp_core_both_ways() {
        let prefixes = [0u16, 2, 42, 63, 64, 255, 256, 1000, 4242, 16383];
        for _ in 0..200 {
            let account: [u8; 32] = rand::random();
            for &prefix in &prefixes {
                let ours = encode(&account, prefix);
                let theirs = AccountId32::from(account)
                    .to_ss58check_with_version(Ss58AddressFormat::custom(prefix));
                assert_eq!(ours, theirs, "prefix {prefix}");
                assert_eq!(decode(&ours), Ok((account, prefix)));
            }
        }
        // Alice, the dev account, as everyone writes her.
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let (id, _) = AccountId32::from_ss58check_with_version(alice).unwrap();
        assert_eq!(decode(alice), Ok((id.into(), 42)));
    }

    #[test]
    fn refuses_what_sp_core_refuses() {
        let good = encode(&[7; 32], 42);
        let mut bad_sum = bs58::decode(&good).into_vec().unwrap();
        *bad_sum.last_mut().unwrap() ^= 1;
        let cases = [
            ("0OIl".to_owned(), Ss58Error::BadBase58),
            (bs58::encode([1u8]).into_string(), Ss58Error::BadLength),
            (bs58::encode([42u8; 20]).into_string(), Ss58Error::BadLength),
            (
                bs58::encode([200u8; 35]).into_string(),
                Ss58Error::InvalidPrefix,
            ),
            (encode(&[7; 32], 46), Ss58Error::FormatNotAllowed),
            (
                bs58::encode(bad_sum).into_string(),
                Ss58Error::InvalidChecksum,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(decode(&text).map(|_| ()), Err(expected), "{text}");
            assert!(
                AccountId32::from_ss58check_with_version(&text).is_err(),
                "{text}"
            );
        }
    }
}
