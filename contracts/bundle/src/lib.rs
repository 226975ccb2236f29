//! The contract bundles that `scripts/build-contracts` produces (cargo-contract's
//! `.contract` files): their wasm code and the selectors of their messages and
//! constructors, read from the bundle's metadata. The chain client and the runtime test
//! harness both deploy and call contracts through this.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

/// What can go wrong loading a bundle or looking up a message in it.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle file is missing: the contracts have not been built.
    #[error("contract bundle {path} not found; run scripts/build-contracts first")]
    BundleMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The bundle is not a cargo-contract bundle.
    #[error("contract bundle {path} is malformed: {reason}")]
    BundleMalformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The bundle has no message or constructor of that name.
    #[error("contract {contract} has no message or constructor named {name}")]
    UnknownMessage {
        /// Contract name.
        contract: String,
        /// The missing label.
        name: String,
    },
}

/// A compiled contract: its wasm code and its selectors (from `<name>.contract`).
#[derive(Clone)]
pub struct Bundle {
    /// The contract's name.
    pub name: String,
    /// The optimized wasm code.
    pub wasm: Vec<u8>,
    selectors: HashMap<String, [u8; 4]>,
}

impl Bundle {
    /// Loads the bundle that `scripts/build-contracts` built (see [`bundle_path`]).
    pub fn load(name: &str) -> Result<Self, BundleError> {
        Self::load_from(&bundle_path(name))
    }

    /// Loads a `.contract` bundle file.
    pub fn load_from(path: &Path) -> Result<Self, BundleError> {
        let malformed = |reason: &str| BundleError::BundleMalformed {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let text = std::fs::read_to_string(path).map_err(|_| BundleError::BundleMissing {
            path: path.to_owned(),
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| malformed(&e.to_string()))?;
        let name = json["contract"]["name"]
            .as_str()
            .ok_or_else(|| malformed("no contract.name"))?
            .to_owned();
        let wasm_hex = json["source"]["wasm"]
            .as_str()
            .ok_or_else(|| malformed("no source.wasm"))?;
        let wasm = hex::decode(wasm_hex.trim_start_matches("0x"))
            .map_err(|_| malformed("source.wasm is not hex"))?;
        let mut selectors = HashMap::new();
        for kind in ["constructors", "messages"] {
            let entries = json["spec"][kind]
                .as_array()
                .ok_or_else(|| malformed("no spec"))?;
            for entry in entries {
                let label = entry["label"].as_str().ok_or_else(|| malformed("label"))?;
                let selector = entry["selector"]
                    .as_str()
                    .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
                    .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                    .ok_or_else(|| malformed("selector"))?;
                selectors.insert(label.to_owned(), selector);
            }
        }
        Ok(Self {
            name,
            wasm,
            selectors,
        })
    }

    /// A handle for calling a contract already deployed, from selectors known at
    /// compile time (no bundle file and no code: it cannot deploy). Tools that only call
    /// contracts, such as the `datamarket` CLI, need no bundle files this way.
    pub fn from_selectors(name: &str, selectors: &[(&str, [u8; 4])]) -> Self {
        Self {
            name: name.to_owned(),
            wasm: Vec::new(),
            selectors: selectors
                .iter()
                .map(|(label, selector)| ((*label).to_owned(), *selector))
                .collect(),
        }
    }

    /// The selector of a message or constructor (`"PSP22::transfer"` for trait messages).
    pub fn selector(&self, label: &str) -> Result<[u8; 4], BundleError> {
        self.selectors
            .get(label)
            .copied()
            .ok_or_else(|| BundleError::UnknownMessage {
                contract: self.name.clone(),
                name: label.to_owned(),
            })
    }
}

/// Where `scripts/build-contracts` leaves the bundle of contract `name`:
/// `$DATAMARKET_BUNDLES/<name>.contract`, by default `$HOME/.cache/datamarket/bundles`
/// (see `scripts/common.sh`).
pub fn bundle_path(name: &str) -> PathBuf {
    bundles_dir().join(format!("{name}.contract"))
}

/// The directory of the built bundles (see [`bundle_path`]).
pub fn bundles_dir() -> PathBuf {
    std::env::var_os("DATAMARKET_BUNDLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/datamarket/bundles")
        })
}
