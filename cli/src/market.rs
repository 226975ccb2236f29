//! The marketplace (and its optional PSP22 token) on a node, with typed calls whose
//! refusals come back as [`Error::Refused`].

use chain::{
    market_types::{self, Asset, Config as MarketConfig, Offer, OfferId, Purchase, PurchaseId},
    AccountId, Balance, Chain, Contract, Signer,
};
use scale::{Decode, Encode};

use crate::{selectors, Error, Result};

/// The account that read-only queries run as: it needs no funds and no key.
const QUERY_ORIGIN: [u8; 32] = [0; 32];

/// The token's error, from the PSP22 crate it is built on.
pub use psp22::PSP22Error as TokenError;

/// A connection to a node and the marketplace on it.
pub struct Market {
    chain: Box<dyn Chain + Send>,
    contract: Contract,
}

impl Market {
    /// Connects to `node` (a `ws://` URL) and the marketplace at `address`. The message
    /// selectors are built in ([`crate::selectors`]): no bundle file is read.
    ///
    /// # Errors
    /// An unreachable node, or no marketplace at `address`.
    pub fn connect(node: &str, address: AccountId) -> Result<Self> {
        let chain = chain::open(node)?;
        Self::on(chain, address, node)
    }

    /// The marketplace at `address` on an open chain (the demo's in-process runtime, for
    /// one); `endpoint` names the chain in errors.
    ///
    /// # Errors
    /// No marketplace at `address`.
    pub fn on(chain: Box<dyn Chain + Send>, address: AccountId, endpoint: &str) -> Result<Self> {
        let mut market = Self {
            chain,
            contract: Contract::at(address, selectors::marketplace()),
        };
        // Fails early, with a clear message, when the address is not the marketplace.
        market.config().map_err(|e| match e {
            Error::Chain(chain::ChainError::Dispatch { .. })
            | Error::Chain(chain::ChainError::Decode { .. })
            | Error::Chain(chain::ChainError::Reverted { .. }) => Error::invalid(format!(
                "no marketplace contract at {} on {endpoint}: {e}",
                crate::address::show(&address)
            )),
            other => other,
        })?;
        Ok(market)
    }

    /// The marketplace contract's account.
    pub fn address(&self) -> AccountId {
        self.contract.address
    }

    /// The chain, for balances and transfers.
    pub fn chain(&mut self) -> &mut dyn Chain {
        &mut *self.chain
    }

    /// Queries a marketplace message.
    pub fn query<R: Decode>(&mut self, message: &str, args: &impl Encode) -> Result<R> {
        Ok(self.contract.query(
            &mut *self.chain,
            &AccountId::from(QUERY_ORIGIN),
            message,
            args,
        )?)
    }

    /// Calls a marketplace message returning `market_types::Result<T>`; `action` names it
    /// in a refusal ("buy offer 7").
    pub fn call<T: Decode>(
        &mut self,
        signer: &Signer,
        action: impl Into<String>,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> Result<T> {
        let action = action.into();
        let called = self
            .contract
            .call::<_, market_types::Result<T>>(&mut *self.chain, signer, message, args, value)
            .map_err(|e| Error::from_call(action.clone(), e))?;
        called
            .value
            .map_err(|error| Error::Refused { action, error })
    }

    /// The marketplace's configuration (fee, periods, bonds).
    pub fn config(&mut self) -> Result<MarketConfig> {
        self.query("config", &())
    }

    /// The last offer id and the last purchase id handed out.
    pub fn last_ids(&mut self) -> Result<(OfferId, PurchaseId)> {
        self.query("last_ids", &())
    }

    /// An offer.
    ///
    /// # Errors
    /// [`Error::UnknownOffer`] when there is none.
    pub fn offer(&mut self, offer_id: OfferId) -> Result<Offer> {
        self.query::<Option<Offer>>("offer", &offer_id)?
            .ok_or(Error::UnknownOffer(offer_id))
    }

    /// An offer's ciphertext URI and metadata.
    ///
    /// # Errors
    /// [`Error::UnknownOffer`] when there is none.
    pub fn offer_metadata(
        &mut self,
        offer_id: OfferId,
    ) -> Result<(String, market_types::OfferMetadata)> {
        self.query::<Option<(String, market_types::OfferMetadata)>>("offer_metadata", &offer_id)?
            .ok_or(Error::UnknownOffer(offer_id))
    }

    /// A purchase.
    ///
    /// # Errors
    /// [`Error::UnknownPurchase`] when there is none.
    pub fn purchase(&mut self, purchase_id: PurchaseId) -> Result<Purchase> {
        self.query::<Option<Purchase>>("purchase_info", &purchase_id)?
            .ok_or(Error::UnknownPurchase(purchase_id))
    }

    /// An offer's compute terms, if it sells jobs.
    pub fn compute_terms(
        &mut self,
        offer_id: OfferId,
    ) -> Result<Option<market_types::ComputeTerms>> {
        self.query("compute_terms", &offer_id)
    }

    /// The job of a job purchase (`None` for a purchase of the dataset).
    pub fn job_of(&mut self, purchase_id: PurchaseId) -> Result<Option<market_types::Job>> {
        self.query("job_of", &purchase_id)
    }

    /// What `account` may withdraw in `asset`.
    pub fn credit_of(&mut self, account: AccountId, asset: Asset) -> Result<Balance> {
        self.query("credit_of", &(account, asset))
    }

    /// A PSP22 token's handle (built-in selectors).
    pub fn token(&self, address: AccountId) -> Result<Contract> {
        Ok(Contract::at(address, selectors::psp22()))
    }

    /// `account`'s balance of the PSP22 token at `token`.
    pub fn token_balance(&mut self, token: AccountId, account: AccountId) -> Result<Balance> {
        let contract = self.token(token)?;
        Ok(contract.query(
            &mut *self.chain,
            &AccountId::from(QUERY_ORIGIN),
            "PSP22::balance_of",
            &account,
        )?)
    }

    /// Lets the marketplace spend `amount` of `signer`'s tokens at `token`.
    pub fn approve(&mut self, signer: &Signer, token: AccountId, amount: Balance) -> Result<()> {
        let contract = self.token(token)?;
        let spender = self.contract.address;
        let called = contract
            .call::<_, std::result::Result<(), TokenError>>(
                &mut *self.chain,
                signer,
                "PSP22::approve",
                &(spender, amount),
                0,
            )
            .map_err(Error::Chain)?;
        called
            .value
            .map_err(|e| Error::invalid(format!("the token refused the approval: {e:?}")))
    }
}
