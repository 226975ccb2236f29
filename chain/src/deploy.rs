//! Deploying the Datamarket contracts together: the PSP22 token and the marketplace, as
//! the demo and the tests start every chain.

use crate::error::{ChainError, Revert};
use crate::{AccountId, Balance, Bundle, Chain, Contract, Signer};

/// The token's supply, all of it minted to the deployer.
pub const TOKEN_SUPPLY: Balance = 1_000_000_000_000_000;

/// The marketplace's constructor arguments.
#[derive(Clone, Debug)]
pub struct MarketSettings {
    /// The marketplace's fee in basis points of each sale.
    pub fee_bps: u16,
    /// Who receives the fee.
    pub fee_recipient: AccountId,
    /// Blocks an owner has to deliver the key after a purchase.
    pub delivery_period: u32,
    /// Blocks a buyer has to dispute after a delivery.
    pub dispute_window: u32,
    /// The bond every offer locks, at least.
    pub min_bond: Balance,
}

/// The token and the marketplace, deployed by the same admin.
#[derive(Clone)]
pub struct Deployed {
    /// The PSP22 token ("Datamarket token", DMT, 12 decimals).
    pub token: Contract,
    /// The marketplace.
    pub market: Contract,
}

/// Deploys the token (its whole supply to `admin`) and the marketplace (`admin` its
/// admin) from the bundles of scripts/build-contracts. The contracts' salts are
/// `salt_prefix` followed by "token" and "market", so that one deployer can start several
/// markets on one chain.
pub fn deploy_market<C: Chain + ?Sized>(
    chain: &mut C,
    admin: &Signer,
    settings: &MarketSettings,
    salt_prefix: &[u8],
) -> Result<Deployed, ChainError> {
    let salt = |name: &[u8]| [salt_prefix, name].concat();
    let (token, _) = Contract::deploy::<_, ()>(
        chain,
        admin,
        &Bundle::load("token")?,
        "new",
        &(
            TOKEN_SUPPLY,
            Some(String::from("Datamarket token")),
            Some(String::from("DMT")),
            12u8,
        ),
        0,
        &salt(b"token"),
    )?;
    let (market, constructed) = Contract::deploy::<_, market_types::Result<()>>(
        chain,
        admin,
        &Bundle::load("marketplace")?,
        "new",
        &(
            settings.fee_bps,
            settings.fee_recipient,
            settings.delivery_period,
            settings.dispute_window,
            settings.min_bond,
        ),
        0,
        &salt(b"market"),
    )?;
    constructed.value.map_err(|error| ChainError::Reverted {
        contract: "marketplace".into(),
        message: "new".into(),
        revert: Revert::Market(error),
    })?;
    Ok(Deployed { token, market })
}
