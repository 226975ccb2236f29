//! A deployed marketplace and PSP22 token on a [`LocalChain`], with the typed calls and
//! the solvency invariant that the runtime tests, the gas report and the flow use.

use drink::AccountId32;
use market_types::{
    Asset, Config, Liabilities, NewOffer, Offer, OfferId, OfferMetadata, Payee, Purchase,
    PurchaseId, HEADER_LEN, HEADER_MAGIC,
};
use scale::{Decode, Encode};

use crate::{to_ink, Balance, Bundle, Contract, HarnessError, LocalChain, Outcome};

/// The settings a marketplace is deployed with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Marketplace fee in basis points.
    pub fee_bps: u16,
    /// Blocks the owner has to deliver.
    pub delivery_period: u32,
    /// Blocks the buyer has to dispute.
    pub dispute_window: u32,
    /// Minimum owner bond per offer.
    pub min_bond: Balance,
    /// PSP22 supply minted to the admin.
    pub token_supply: u128,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            fee_bps: 250,
            delivery_period: 10,
            dispute_window: 5,
            min_bond: 1_000,
            token_supply: 1_000_000_000_000,
        }
    }
}

/// The marketplace and the token, deployed by `admin`.
pub struct Market {
    /// The runtime.
    pub chain: LocalChain,
    /// The marketplace contract.
    pub market: Contract,
    /// The PSP22 token contract.
    pub token: Contract,
    /// Deployer and admin of both; holds the token supply.
    pub admin: AccountId32,
    /// Receives the marketplace fee.
    pub fee_recipient: AccountId32,
    /// The marketplace's free native balance right after deployment (its existential
    /// deposit): everything above it is owed to someone.
    base_native: Balance,
}

impl Market {
    /// Loads both bundles and deploys them on a fresh chain.
    pub fn deploy(settings: &Settings) -> Result<Self, HarnessError> {
        Self::deploy_on(LocalChain::new(), settings)
    }

    /// Deploys both contracts on `chain`.
    pub fn deploy_on(mut chain: LocalChain, settings: &Settings) -> Result<Self, HarnessError> {
        let admin = chain.account("admin");
        let fee_recipient = chain.account("fee-recipient");
        let token_bundle = Bundle::load("token")?;
        let market_bundle = Bundle::load("marketplace")?;
        let (token, ()) = chain.deploy(
            &token_bundle,
            "new",
            &(
                settings.token_supply,
                Some(String::from("Datamarket token")),
                Some(String::from("DMT")),
                12u8,
            ),
            0,
            &admin,
            b"token",
        )?;
        let (market, constructed) = chain.deploy::<_, market_types::Result<()>>(
            &market_bundle,
            "new",
            &(
                settings.fee_bps,
                to_ink(&fee_recipient),
                settings.delivery_period,
                settings.dispute_window,
                settings.min_bond,
            ),
            0,
            &admin,
            b"market",
        )?;
        constructed.map_err(|e| HarnessError::Dispatch {
            name: "new".into(),
            error: format!("{e:?}"),
        })?;
        let base_native = chain.free_balance(&market.address);
        Ok(Self {
            chain,
            market,
            token,
            admin,
            fee_recipient,
            base_native,
        })
    }

    /// Calls a marketplace message whose return type is `market_types::Result<R>`.
    pub fn call<R: Decode>(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> Result<Outcome<market_types::Result<R>>, HarnessError> {
        self.chain.call(&self.market, message, args, value, origin)
    }

    /// Calls a marketplace message that must succeed, returning its value.
    ///
    /// # Panics
    /// If the runtime refuses it or the contract returns an error (tests and demos only).
    pub fn must<R: Decode>(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> R {
        let outcome = self
            .call::<R>(origin, message, args, value)
            .unwrap_or_else(|e| panic!("{message}: {e}"));
        match outcome.value {
            Ok(value) => value,
            Err(error) => panic!("{message} returned {error:?}"),
        }
    }

    /// A read-only marketplace query.
    pub fn query<R: Decode>(&mut self, message: &str, args: &impl Encode) -> R {
        let origin = self.admin.clone();
        self.chain
            .query(&self.market, message, args, &origin)
            .unwrap_or_else(|e| panic!("{message}: {e}"))
    }

    /// Calls a token message (`"PSP22::transfer"`, ...), returning `Result<(), PSP22Error>`
    /// as its raw encoding's `Ok`/`Err` flag.
    pub fn token_call(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
    ) -> Result<Outcome<Result<(), TokenError>>, HarnessError> {
        self.chain.call(&self.token, message, args, 0, origin)
    }

    /// Gives `to` some tokens from the admin's supply.
    pub fn fund_tokens(&mut self, to: &AccountId32, amount: u128) {
        let admin = self.admin.clone();
        let outcome = self
            .token_call(
                &admin,
                "PSP22::transfer",
                &(to_ink(to), amount, Vec::<u8>::new()),
            )
            .expect("token transfer");
        assert_eq!(outcome.value, Ok(()), "token transfer refused");
    }

    /// Approves the marketplace to take `amount` tokens from `owner`.
    pub fn approve_market(&mut self, owner: &AccountId32, amount: u128) {
        let spender = self.market.account_id();
        let outcome = self
            .token_call(owner, "PSP22::approve", &(spender, amount))
            .expect("token approve");
        assert_eq!(outcome.value, Ok(()), "approve refused");
    }

    /// `who`'s token balance.
    pub fn token_balance(&mut self, who: &AccountId32) -> u128 {
        let origin = self.admin.clone();
        self.chain
            .query(&self.token, "PSP22::balance_of", &to_ink(who), &origin)
            .expect("balance_of")
    }

    /// The payment asset that is the deployed token.
    pub fn token_asset(&self) -> Asset {
        Asset::Psp22(self.token.account_id())
    }

    /// What `who` may withdraw in `asset`.
    pub fn credit_of(&mut self, who: &AccountId32, asset: Asset) -> Balance {
        self.query("credit_of", &(to_ink(who), asset))
    }

    /// What the marketplace owes in `asset`.
    pub fn liabilities(&mut self, asset: Asset) -> Liabilities {
        self.query("liabilities", &asset)
    }

    /// The offer with this id.
    pub fn offer(&mut self, id: OfferId) -> Option<Offer> {
        self.query("offer", &id)
    }

    /// The purchase with this id.
    pub fn purchase(&mut self, id: PurchaseId) -> Option<Purchase> {
        self.query("purchase_info", &id)
    }

    /// The settings in force.
    pub fn config(&mut self) -> Config {
        self.query("config", &())
    }

    /// The solvency invariant: what the contract holds of each asset equals what it owes
    /// (escrow + bonds + credited but not withdrawn).
    pub fn check_solvency(&mut self) -> Result<(), String> {
        let held_native = self
            .chain
            .free_balance(&self.market.address)
            .checked_sub(self.base_native)
            .ok_or("the marketplace holds less than its existential deposit")?;
        let owed_native = self.liabilities(Asset::Native).total().ok_or("overflow")?;
        if held_native != owed_native {
            return Err(format!("native: holds {held_native}, owes {owed_native}"));
        }
        let market = self.market.address.clone();
        let held_tokens = self.token_balance(&market);
        let asset = self.token_asset();
        let owed = self.liabilities(asset);
        if owed.bonds != 0 {
            return Err(format!("token bonds must be zero, found {}", owed.bonds));
        }
        let owed_tokens = owed.total().ok_or("overflow")?;
        if held_tokens != owed_tokens {
            return Err(format!("token: holds {held_tokens}, owes {owed_tokens}"));
        }
        Ok(())
    }
}

/// `PSP22Error` as the token encodes it; only the variant matters to these callers.
#[derive(Debug, Clone, PartialEq, Eq, Decode)]
pub enum TokenError {
    /// Implementation-specific error with a message.
    Custom(String),
    /// Not enough balance.
    InsufficientBalance,
    /// Not enough allowance.
    InsufficientAllowance,
    /// Deprecated in the standard.
    ZeroRecipientAddress,
    /// Deprecated in the standard.
    ZeroSenderAddress,
    /// Deprecated in the standard.
    SafeTransferCheckFailed(String),
}

/// A valid format v1 header with the given chunk size.
pub fn header(chunk_size: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..6].copy_from_slice(&HEADER_MAGIC);
    header[6] = market_types::FORMAT_VERSION;
    header[7..11].copy_from_slice(&chunk_size.to_be_bytes());
    header
}

/// An offer with sensible fields, paid in `asset` at `price`, split among `payees`
/// (account, basis points).
pub fn sample_offer(price: Balance, asset: Asset, payees: &[(&AccountId32, u16)]) -> NewOffer {
    NewOffer {
        content_root: [0x11; 32],
        header: header(64 * 1024),
        key_commitment: [0x22; 32],
        price,
        asset,
        uri: "file:///var/lib/datamarket/blobs/steps.dmseal".into(),
        metadata: OfferMetadata {
            title: "Daily step counts, 2025".into(),
            description: "One row per day from a phone's pedometer.".into(),
            tags: vec!["health".into(), "steps".into()],
            schema: "date,steps".into(),
            size: 12_345,
        },
        payees: payees
            .iter()
            .map(|(account, bps)| Payee {
                account: to_ink(account),
                bps: *bps,
            })
            .collect(),
        max_purchases: None,
    }
}
