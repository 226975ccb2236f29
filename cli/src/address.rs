//! Accounts as people write them: SS58 (`5Grw…`) or `0x` and 64 hex digits.

use chain::AccountId;
use sp_core::crypto::{AccountId32, Ss58Codec};

use crate::{Error, Result};

/// Parses an SS58 address or `0x` + 64 hex digits.
///
/// # Errors
/// [`Error::Invalid`] naming `what` when it is neither.
pub fn parse(text: &str, what: &str) -> Result<AccountId> {
    let text = text.trim();
    if let Some(hex_part) = text.strip_prefix("0x") {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| {
            Error::invalid(format!(
                "{what} {text:?} is not an account (0x and 64 hex digits, or SS58)"
            ))
        })?;
        return Ok(AccountId::from(bytes));
    }
    let account = AccountId32::from_ss58check(text).map_err(|e| {
        Error::invalid(format!(
            "{what} {text:?} is not an SS58 address or 0x account ({e})"
        ))
    })?;
    Ok(AccountId::from(*AsRef::<[u8; 32]>::as_ref(&account)))
}

/// The account in SS58 with the generic Substrate prefix (42).
pub fn show(account: &AccountId) -> String {
    let bytes: &[u8; 32] = account.as_ref();
    AccountId32::from(*bytes).to_ss58check()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss58_and_hex_round_trip() {
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let account = parse(alice, "account").unwrap();
        assert_eq!(show(&account), alice);
        let hex = format!("0x{}", hex::encode(AsRef::<[u8; 32]>::as_ref(&account)));
        assert_eq!(parse(&hex, "account").unwrap(), account);
        assert!(parse("nope", "payee")
            .unwrap_err()
            .to_string()
            .contains("payee"));
    }
}
