//! The local keystore: a directory (0700) of secret files (0600), never printed.
//!
//! - `accounts/NAME`: an sr25519 account as a secret URI on one line (a BIP-39 phrase),
//!   the format [`chain::Signer::from_keyfile`] reads;
//! - `data-keys/<content root>.dek`: an offer's data key (sealer key file), found again
//!   from the offer's on-chain content root;
//! - `purchase-keys/<buyer public key>.key`: a purchase's X25519 secret (sealer key
//!   file), found again from the purchase's on-chain buyer key.

use std::{
    fs,
    path::{Path, PathBuf},
};

use chain::{AccountId, Signer};
use sealer::{BuyerPublicKey, BuyerSecretKey, ContentRoot, DataKey};
use sp_core::{crypto::Pair as _, sr25519};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A keystore directory.
#[derive(Debug, Clone)]
pub struct Keystore {
    root: PathBuf,
}

/// One account of the keystore.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountEntry {
    /// Its name.
    pub name: String,
    /// Its address (SS58).
    pub address: String,
}

impl Keystore {
    /// The keystore at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Refuses `path` as somewhere to write anything but a secret: inside the keystore
    /// (by canonical path, symlinks followed), or another name of one of its files (a
    /// hard link). A plaintext written over a key file would lose that key for good.
    ///
    /// # Errors
    /// `path` is inside the keystore or is one of its files.
    pub fn check_outside(&self, path: &Path) -> Result<()> {
        let refuse = || {
            Err(Error::invalid(format!(
                "{} is in the keystore ({}); write it somewhere else",
                path.display(),
                self.root.display()
            )))
        };
        let Ok(root) = fs::canonicalize(&self.root) else {
            // No keystore yet: nothing in it to lose.
            return Ok(());
        };
        use sealer::identity::FileIdentity;
        let identity = FileIdentity::of(path).map_err(|e| Error::io("cannot inspect", path, e))?;
        let target = match &identity {
            FileIdentity::Planned(planned) => planned.clone(),
            FileIdentity::Inode { .. } => {
                fs::canonicalize(path).map_err(|e| Error::io("cannot inspect", path, e))?
            }
        };
        if target.starts_with(&root) {
            return refuse();
        }
        if let FileIdentity::Inode { .. } = identity {
            for sub in ["accounts", "data-keys", "purchase-keys"] {
                let Ok(entries) = fs::read_dir(root.join(sub)) else {
                    continue;
                };
                let mut files = entries.flatten().map(|entry| entry.path());
                if files.any(|file| FileIdentity::of(&file).ok().as_ref() == Some(&identity)) {
                    return refuse();
                }
            }
        }
        Ok(())
    }

    fn dir(&self, sub: &str) -> Result<PathBuf> {
        let dir = self.root.join(sub);
        for d in [&self.root, &dir] {
            if !d.is_dir() {
                let mut builder = fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::DirBuilderExt;
                    builder.mode(0o700);
                }
                builder
                    .create(d)
                    .map_err(|e| Error::io("cannot create the keystore directory", d, e))?;
                // So that the keys written into it survive a power loss with their names.
                sealer::sync_parent_dir(d)?;
            }
        }
        Ok(dir)
    }

    /// Creates account `name` from a fresh 12-word phrase and returns its address.
    ///
    /// # Errors
    /// A bad name, an existing account, or an I/O error.
    pub fn new_account(&self, name: &str) -> Result<AccountEntry> {
        check_name(name)?;
        let path = self.dir("accounts")?.join(name);
        let (pair, phrase, seed) = sr25519::Pair::generate_with_phrase(None);
        let phrase = Zeroizing::new(phrase);
        drop(Zeroizing::new(seed));
        let line = Zeroizing::new(format!("{}\n", phrase.as_str()));
        // Whole or not at all, also across a crash; 0600 from the first byte.
        sealer::write_new_private(&path, line.as_bytes()).map_err(|e| match e {
            sealer::Error::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Error::invalid(format!(
                    "account {name} already exists in {}",
                    self.root.display()
                ))
            }
            sealer::Error::Io(e) => Error::io("cannot write the key file", &path, e),
            other => other.into(),
        })?;
        Ok(AccountEntry {
            name: name.to_owned(),
            address: crate::address::show(&AccountId::from(pair.public().0)),
        })
    }

    /// The accounts, by name.
    ///
    /// # Errors
    /// An unreadable directory or key file.
    pub fn accounts(&self) -> Result<Vec<AccountEntry>> {
        let dir = self.root.join("accounts");
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io("cannot list", &dir, e))? {
            let entry = entry.map_err(|e| Error::io("cannot list", &dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                if check_name(name).is_ok() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let signer = Signer::from_keyfile(&dir.join(&name))?;
                Ok(AccountEntry {
                    address: crate::address::show(&signer.account_id()),
                    name,
                })
            })
            .collect()
    }

    /// The signer `spec` names: a secret URI starting with `//` (dev accounts such as
    /// `//Alice`, for tests and dev chains), or the name of a keystore account.
    ///
    /// # Errors
    /// An unknown account or an unreadable or exposed key file.
    pub fn signer(&self, spec: &str) -> Result<Signer> {
        if spec.starts_with("//") {
            return Ok(Signer::from_secret_uri(spec, &format!("account {spec}"))?);
        }
        check_name(spec)?;
        let path = self.root.join("accounts").join(spec);
        if !path.is_file() {
            return Err(Error::invalid(format!(
                "no account named {spec} in {} (create one with `datamarket keys new {spec}`)",
                self.root.display()
            )));
        }
        Ok(Signer::from_keyfile(&path)?)
    }

    /// Stores an offer's data key under its content root (never overwrites).
    ///
    /// # Errors
    /// An I/O error, also when a key for this root exists.
    pub fn save_data_key(&self, root: &ContentRoot, dek: &DataKey) -> Result<PathBuf> {
        let path = self
            .dir("data-keys")?
            .join(format!("{}.dek", root.to_hex()));
        sealer::keyfile::write_data_key(&path, dek)?;
        Ok(path)
    }

    /// The data key of the offer with this content root, if this keystore has it.
    ///
    /// # Errors
    /// An unreadable or exposed key file.
    pub fn data_key(&self, root: &ContentRoot) -> Result<Option<DataKey>> {
        let path = self
            .root
            .join("data-keys")
            .join(format!("{}.dek", root.to_hex()));
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(sealer::keyfile::read_data_key(&path)?))
    }

    /// Stores a purchase's X25519 secret under its public key (never overwrites).
    ///
    /// # Errors
    /// An I/O error.
    pub fn save_purchase_key(&self, key: &BuyerSecretKey) -> Result<PathBuf> {
        let path = self
            .dir("purchase-keys")?
            .join(format!("{}.key", key.public_key().to_hex()));
        sealer::keyfile::write_buyer_secret(&path, key)?;
        Ok(path)
    }

    /// The X25519 secret of this public key, if this keystore has it.
    ///
    /// # Errors
    /// An unreadable or exposed key file, or one that does not match its name.
    pub fn purchase_key(&self, public: &BuyerPublicKey) -> Result<Option<BuyerSecretKey>> {
        let path = self
            .root
            .join("purchase-keys")
            .join(format!("{}.key", public.to_hex()));
        if !path.is_file() {
            return Ok(None);
        }
        let key = sealer::keyfile::read_buyer_secret(&path)?;
        if key.public_key() != *public {
            return Err(Error::invalid(format!(
                "{} holds the key of another public key",
                path.display()
            )));
        }
        Ok(Some(key))
    }
}

/// Account names: letters, digits, `-`, `_` and `.`, not starting with a dot.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not an account name (letters, digits, '-', '_', '.'; or //Dev for a dev account)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_private_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path().join("keys"));
        let made = store.new_account("ada").unwrap();
        assert!(store.new_account("ada").is_err());
        assert!(store.new_account("../x").is_err());
        let listed = store.accounts().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].address, made.address);
        let signer = store.signer("ada").unwrap();
        assert_eq!(crate::address::show(&signer.account_id()), made.address);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("keys/accounts/ada")), 0o600);
            assert_eq!(mode(&dir.path().join("keys/accounts")), 0o700);
        }
        assert!(format!("{signer:?}").contains("[redacted]"));
    }

    #[test]
    fn nothing_is_written_into_the_keystore() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path().join("keys"));
        let elsewhere = dir.path().join("bought.csv");
        // No keystore yet: anywhere goes.
        store.check_outside(&elsewhere).unwrap();
        let key = BuyerSecretKey::generate().unwrap();
        store.save_purchase_key(&key).unwrap();
        let key_file = fs::read_dir(dir.path().join("keys/purchase-keys"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let hard = dir.path().join("hard-link");
        fs::hard_link(&key_file, &hard).unwrap();
        let soft = dir.path().join("soft-link");
        std::os::unix::fs::symlink(dir.path().join("keys"), &soft).unwrap();
        for inside in [
            key_file.clone(),
            dir.path().join("keys/new.csv"),
            dir.path().join("keys/../keys/purchase-keys/x"),
            soft.join("new.csv"),
            hard,
        ] {
            let e = store.check_outside(&inside).unwrap_err().to_string();
            assert!(
                e.contains("is in the keystore"),
                "{}: {e}",
                inside.display()
            );
        }
        store.check_outside(&elsewhere).unwrap();
        assert!(!fs::read(&key_file).unwrap().is_empty());
    }

    #[test]
    fn data_and_purchase_keys_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let dek = DataKey::generate().unwrap();
        let root = ContentRoot([7; 32]);
        store.save_data_key(&root, &dek).unwrap();
        assert!(store.save_data_key(&root, &dek).is_err());
        assert_eq!(store.data_key(&root).unwrap().unwrap(), dek);
        assert!(store.data_key(&ContentRoot([8; 32])).unwrap().is_none());
        let key = BuyerSecretKey::generate().unwrap();
        store.save_purchase_key(&key).unwrap();
        let back = store.purchase_key(&key.public_key()).unwrap().unwrap();
        assert_eq!(back.expose_secret(), key.expose_secret());
    }
}
