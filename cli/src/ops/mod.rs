//! The commands, as library calls that return what they did (serializable for `--json`,
//! printable for people).

mod buy;
mod deliver;
mod dispute;
mod fetch;
mod jobs;
mod offer;
mod payouts;

pub use buy::{buy, Bought};
pub use deliver::{Deliverer, DeliveryLog, JobLog};
pub use dispute::{dispute, Disputed};
pub use fetch::{fetch, Fetched};
pub use jobs::{
    cache_dir as job_cache_dir, failure_name, run_job, set_compute, Answered, ComputeSet,
    ComputeSpec, JobRan, JobRequest,
};
pub use offer::{change_offer, create_offer, OfferChange, OfferChanged, OfferCreated, OfferSpec};
pub use payouts::{balance, refund, settle, withdraw, Balances, PurchaseClosed, Withdrawn};

use chain::{market_types::Asset, AccountId};

use crate::{address, keystore::Keystore, market::Market, progress::Progress, Error, Result};

/// Where things are: the node, the contracts, the keystore and the blob store.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The node's WebSocket URL.
    pub node: String,
    /// The marketplace contract.
    pub marketplace: Option<AccountId>,
    /// The default PSP22 token (prices of new offers, withdrawals, balances).
    pub token: Option<AccountId>,
    /// The keystore.
    pub keystore: Keystore,
    /// Where `offer create` puts ciphertexts: a directory or a store URL (see
    /// [`crate::blobs`]).
    pub blobs: String,
    /// Whether progress bars are drawn.
    pub progress: Progress,
}

impl Settings {
    /// Connects to the node and the marketplace.
    ///
    /// # Errors
    /// No marketplace address, an unreachable node, or no marketplace there.
    pub fn connect(&self) -> Result<Market> {
        let address = self.marketplace.ok_or_else(|| {
            Error::invalid(
                "no marketplace address: pass --marketplace ADDR or set DATAMARKET_MARKETPLACE",
            )
        })?;
        Market::connect(&self.node, address)
    }
}

pub(crate) fn asset_name(asset: &Asset) -> String {
    match asset {
        Asset::Native => "native".into(),
        Asset::Psp22(token) => format!("token {}", address::show(token)),
    }
}
