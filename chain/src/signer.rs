//! sr25519 signing keys: the dev accounts (`//Alice`, ...), a mnemonic, or a key file.
//! Secret material is zeroized after use and never printed.

use std::{fmt, path::Path};

use sp_core::{crypto::Pair as _, sr25519};
use zeroize::Zeroizing;

use crate::AccountId;

/// Why a key could not be loaded. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read the key file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Others than its owner may read the key file.
    #[error("the key file {path} is readable by others (mode {mode:o}); chmod 600 it")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The secret is not a mnemonic, a `0x` seed or a derivation path.
    #[error("{source_name} does not hold a valid sr25519 secret (a BIP-39 mnemonic with an optional //derivation, a 0x-prefixed 32-byte seed, or //Name for a dev account)")]
    Invalid {
        /// Where the secret came from (never the secret).
        source_name: String,
    },
}

/// An sr25519 key pair that signs transactions.
#[derive(Clone)]
pub struct Signer {
    pair: sr25519::Pair,
    label: String,
}

impl Signer {
    /// A dev account: `name` is `"Alice"`, `"Bob"`, ... (the key of `//Alice`, funded on
    /// `--dev` chains and in the in-process runtime).
    ///
    /// # Panics
    /// Never for a name made of letters and digits.
    pub fn dev(name: &str) -> Self {
        Self::from_secret_uri(&format!("//{name}"), &format!("dev account //{name}"))
            .expect("a dev derivation path is always valid")
    }

    /// Alice, the first dev account.
    pub fn alice() -> Self {
        Self::dev("Alice")
    }

    /// Bob, the second dev account.
    pub fn bob() -> Self {
        Self::dev("Bob")
    }

    /// From a secret URI: a BIP-39 mnemonic optionally followed by `//hard/soft` junctions
    /// and `///password`, a `0x` hex seed, or a bare path such as `//Alice`.
    pub fn from_secret_uri(secret: &str, label: &str) -> Result<Self, KeyError> {
        let (pair, seed) =
            sr25519::Pair::from_string_with_seed(secret, None).map_err(|_| KeyError::Invalid {
                source_name: label.to_owned(),
            })?;
        // The seed is a plain array; wipe it rather than leave it on the stack.
        drop(seed.map(Zeroizing::new));
        Ok(Self {
            pair,
            label: label.to_owned(),
        })
    }

    /// From a key file holding a secret URI (see [`Self::from_secret_uri`]) on its first
    /// line. On Unix the file must not be readable by group or others.
    pub fn from_keyfile(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let unreadable = |e: std::io::Error| KeyError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(unreadable)?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Exposed {
                    path: shown,
                    mode: mode & 0o777,
                });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(unreadable)?);
        let secret = text.lines().next().unwrap_or_default().trim();
        Self::from_secret_uri(secret, &format!("key file {shown}"))
    }

    /// The account this key signs for.
    pub fn account_id(&self) -> AccountId {
        AccountId::from(self.pair.public().0)
    }

    /// Where the key came from, for messages ("dev account //Alice", "key file ...").
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn pair(&self) -> &sr25519::Pair {
        &self.pair
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("account", &crate::account_hex(&self.account_id()))
            .field("from", &self.label)
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_are_the_well_known_keys() {
        // //Alice's public key, as every Substrate tool prints it.
        let alice = hex::encode(AsRef::<[u8; 32]>::as_ref(&Signer::alice().account_id()));
        assert_eq!(
            alice,
            "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        );
        assert_ne!(Signer::alice().account_id(), Signer::bob().account_id());
    }

    #[test]
    fn mnemonic_and_derivation() {
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        let root = Signer::from_secret_uri(phrase, "test").unwrap();
        let alice = Signer::from_secret_uri(&format!("{phrase}//Alice"), "test").unwrap();
        assert_eq!(alice.account_id(), Signer::alice().account_id());
        assert_ne!(root.account_id(), alice.account_id());
    }

    #[test]
    fn bad_secret_is_refused_without_echoing_it() {
        let error = Signer::from_secret_uri("not a mnemonic at all", "argument").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("argument"), "{message}");
        assert!(!message.contains("mnemonic at all"), "{message}");
    }

    #[test]
    fn keyfile_must_be_private_and_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owner.key");
        let secret = "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = Signer::from_keyfile(&path).unwrap_err();
            assert!(matches!(error, KeyError::Exposed { .. }), "{error}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let signer = Signer::from_keyfile(&path).unwrap();
        let seeded = Signer::from_secret_uri(secret, "seed").unwrap();
        assert_eq!(signer.account_id(), seeded.account_id());
        let printed = format!("{signer:?}");
        assert!(!printed.contains(&secret[2..]), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
