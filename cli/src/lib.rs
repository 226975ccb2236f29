//! The owner's and buyer's Datamarket tool, as a library: a keystore of account, data
//! and purchase keys; offers encrypted with the sealer and listed on chain; purchases
//! paid with a fresh X25519 key each; the owner's delivery watcher; fetch, verify and
//! decrypt; refunds, settlement and payouts; and, through the web API, finding offers. The `datamarket` binary is a thin layer
//! over [`ops`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod api;
pub mod blobs;
mod error;
pub mod keystore;
pub mod market;
pub mod ops;
pub mod progress;
pub mod selectors;

pub use error::{Error, Result};
pub use keystore::Keystore;
pub use market::Market;
pub use ops::Settings;
