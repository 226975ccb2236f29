//! The real pallet-contracts runtime, in process ([`chain_runtime`]), with
//! typed calls to the contract bundles that `scripts/build-contracts` produces.
//!
//! Calls are SCALE-encoded with the same Rust types the contracts use (`market-types`)
//! and the selectors read from each bundle's metadata, so a test reads like the client
//! code will: `chain.call::<Result<OfferId>>(&market, "create_offer", &offer, bond, owner)`.
//! Balances are real: the runtime's `pallet_balances` moves every native token.

use chain_runtime::{MinimalSandbox, MinimalSandboxRuntime, RuntimeEvent};
use ink_sandbox::{
    api::prelude::*,
    frame_support::storage::{with_transaction, TransactionOutcome},
    pallet_contracts::{self, CollectEvents, DebugInfo, Determinism},
    AccountId32, DispatchError, Sandbox, Weight,
};
use scale::{Decode, Encode};

pub use contract_bundle::{bundle_path, bundles_dir, Bundle, BundleError};
pub use market_types;

pub mod market;

/// Every native balance in this runtime.
pub type Balance = u128;

/// What can go wrong loading a bundle or calling a contract.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The bundle could not be loaded or has no such message.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The runtime refused the call (trap, out of gas, not enough funds, ...).
    #[error("the runtime refused {name}: {error}")]
    Dispatch {
        /// Message or constructor.
        name: String,
        /// The runtime's error, printed.
        error: String,
    },
    /// The contract's output did not decode as the type asked for.
    #[error("cannot decode the output of {name}: {error}")]
    Decode {
        /// Message or constructor.
        name: String,
        /// The codec error.
        error: scale::Error,
    },
}

/// A deployed contract.
#[derive(Clone)]
pub struct Contract {
    /// Its account.
    pub address: AccountId32,
    bundle: Bundle,
}

impl Contract {
    /// Its account as the contracts see it.
    pub fn account_id(&self) -> ink::primitives::AccountId {
        to_ink(&self.address)
    }
}

/// One `ContractEmitted` event: the emitting contract, the topics, the SCALE data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedEvent {
    /// The contract that emitted it.
    pub contract: AccountId32,
    /// Its topics; for ink! 5 events the first is the signature topic.
    pub topics: Vec<[u8; 32]>,
    /// The SCALE-encoded event fields.
    pub data: Vec<u8>,
}

impl EmittedEvent {
    /// Decodes it as a marketplace event: `None` if its signature is not one of them.
    pub fn decode_market(&self) -> Option<Result<market_types::decode::MarketEvent, scale::Error>> {
        let signature = self.topics.first()?;
        market_types::decode::MarketEvent::decode(signature, &self.data)
    }
}

/// The result of a call that the runtime executed.
#[derive(Debug)]
pub struct Outcome<R> {
    /// The decoded return value of the message.
    pub value: R,
    /// True if the contract reverted (its changes were rolled back).
    pub reverted: bool,
    /// ref_time and proof_size used.
    pub gas_consumed: Weight,
    /// Storage deposit the origin paid (positive) or got back (negative).
    pub storage_deposit: i128,
    /// The events the call emitted (none when it reverted).
    pub events: Vec<EmittedEvent>,
}

/// The runtime: pallet-contracts with real balances, blocks and events.
pub struct LocalChain {
    sandbox: MinimalSandbox,
    gas_limit: Weight,
}

impl Default for LocalChain {
    fn default() -> Self {
        Self::new()
    }
}

/// The most ref_time one call may use on substrate-contracts-node 0.42: the normal
/// dispatch class's `max_extrinsic`, read from the running node's metadata
/// (`System.BlockWeights` of `--dev`, 2026-11-24): max block 2e12; normal `max_total`
/// 1.5e12 (the 75% normal ratio); normal `max_extrinsic` 1.5e12 - 2e11 (10% reserved for
/// block initialization) - 107_074_000 (base extrinsic) = 1_299_892_926_000. Its
/// proof_size limits (about 1.2e19) are far above anything here.
pub const NODE_MAX_EXTRINSIC_REF_TIME: u64 = 1_299_892_926_000;

/// Native tokens minted to every account that `account` names.
pub const ENDOWMENT: Balance = 1_000_000_000_000_000;

impl LocalChain {
    /// A fresh chain at block 1.
    pub fn new() -> Self {
        Self {
            sandbox: MinimalSandbox::default(),
            gas_limit: MinimalSandbox::default_gas_limit(),
        }
    }

    /// A deterministic account named `name`, funded with [`ENDOWMENT`] on first use.
    pub fn account(&mut self, name: &str) -> AccountId32 {
        let mut bytes = [0u8; 32];
        let name = name.as_bytes();
        let len = name.len().min(31);
        bytes[..len].copy_from_slice(&name[..len]);
        bytes[31] = 0xAC;
        let account = AccountId32::new(bytes);
        if self.free_balance(&account) == 0 {
            self.sandbox
                .mint_into(&account, ENDOWMENT)
                .expect("minting into a fresh account cannot fail");
        }
        account
    }

    /// The account's free native balance.
    pub fn free_balance(&mut self, account: &AccountId32) -> Balance {
        self.sandbox.free_balance(account)
    }

    /// The gas limit of every call from now on (ink_sandbox's default: 1e11 ref_time,
    /// 3 MiB proof size). A node allows a single call much more, up to its normal
    /// dispatch class's `max_extrinsic`.
    pub fn set_gas_limit(&mut self, limit: Weight) {
        self.gas_limit = limit;
    }

    /// The current block number.
    pub fn block_number(&mut self) -> u32 {
        self.sandbox.block_number()
    }

    /// Finalizes the current block and starts the next.
    pub fn build_blocks(&mut self, n: u32) -> u32 {
        self.sandbox.build_blocks(n)
    }

    /// Uploads and instantiates `bundle` with `constructor(args)`, sending `value`.
    /// The constructor's return type `R` is `()` or `Result<(), E>` for a fallible one.
    pub fn deploy<A: Encode, R: Decode>(
        &mut self,
        bundle: &Bundle,
        constructor: &str,
        args: &A,
        value: Balance,
        origin: &AccountId32,
        salt: &[u8],
    ) -> Result<(Contract, R), HarnessError> {
        let mut data = bundle.selector(constructor)?.to_vec();
        args.encode_to(&mut data);
        let result = self.sandbox.deploy_contract(
            bundle.wasm.clone(),
            value,
            data,
            salt.to_vec(),
            origin.clone(),
            self.gas_limit,
            None,
        );
        let dispatch = |error: String| HarnessError::Dispatch {
            name: constructor.to_owned(),
            error,
        };
        let ok = result.result.map_err(|e| dispatch(format!("{e:?}")))?;
        let value = decode_message_result::<R>(constructor, &ok.result.data)?;
        if ok.result.did_revert() {
            return Err(dispatch(format!(
                "constructor reverted: {:?}",
                ok.result.data
            )));
        }
        Ok((
            Contract {
                address: ok.account_id,
                bundle: bundle.clone(),
            },
            value,
        ))
    }

    /// Calls `message(args)` on `contract` as `origin`, sending `value`, and commits the
    /// result (a revert rolls back the contract's changes, as on chain). `R` is the
    /// message's return type, e.g. `market_types::Result<u64>`.
    pub fn call<R: Decode>(
        &mut self,
        contract: &Contract,
        message: &str,
        args: &impl Encode,
        value: Balance,
        origin: &AccountId32,
    ) -> Result<Outcome<R>, HarnessError> {
        let mut data = contract.bundle.selector(message)?.to_vec();
        args.encode_to(&mut data);
        let events_before = self.sandbox.events().len();
        let result = self.sandbox.call_contract(
            contract.address.clone(),
            value,
            data,
            origin.clone(),
            self.gas_limit,
            None,
            Determinism::Enforced,
        );
        let storage_deposit = match result.storage_deposit {
            pallet_contracts::StorageDeposit::Charge(x) => i128::try_from(x).unwrap_or(i128::MAX),
            pallet_contracts::StorageDeposit::Refund(x) => -i128::try_from(x).unwrap_or(i128::MAX),
        };
        let ok = result.result.map_err(|e| HarnessError::Dispatch {
            name: message.to_owned(),
            error: format!("{e:?}"),
        })?;
        let value = decode_message_result::<R>(message, &ok.data)?;
        let events = self.sandbox.events()[events_before..]
            .iter()
            .filter_map(|record| match &record.event {
                RuntimeEvent::Contracts(pallet_contracts::Event::ContractEmitted {
                    contract,
                    data,
                }) => Some(EmittedEvent {
                    contract: contract.clone(),
                    topics: record.topics.iter().map(|t| t.0).collect(),
                    data: data.clone(),
                }),
                _ => None,
            })
            .collect();
        Ok(Outcome {
            value,
            reverted: ok.did_revert(),
            gas_consumed: result.gas_consumed,
            storage_deposit,
            events,
        })
    }

    /// Like [`Self::call`] but changes nothing: a query or a dry run. The call runs in a
    /// storage transaction that is rolled back, as an RPC dry run is.
    pub fn query<R: Decode>(
        &mut self,
        contract: &Contract,
        message: &str,
        args: &impl Encode,
        origin: &AccountId32,
    ) -> Result<R, HarnessError> {
        let mut data = contract.bundle.selector(message)?.to_vec();
        args.encode_to(&mut data);
        let (address, origin, gas_limit) =
            (contract.address.clone(), origin.clone(), self.gas_limit);
        let result = self.sandbox.execute_with(|| {
            with_transaction(|| {
                let result = pallet_contracts::Pallet::<MinimalSandboxRuntime>::bare_call(
                    origin,
                    address,
                    0,
                    gas_limit,
                    None,
                    data,
                    DebugInfo::Skip,
                    CollectEvents::Skip,
                    Determinism::Enforced,
                );
                TransactionOutcome::Rollback(Ok::<_, DispatchError>(result.result))
            })
        });
        let ok = result.and_then(|r| r).map_err(|e| HarnessError::Dispatch {
            name: message.to_owned(),
            error: format!("{e:?}"),
        })?;
        decode_message_result::<R>(message, &ok.data)
    }

    /// Uploads code without instantiating it; returns its code hash (for upgrades).
    pub fn upload(
        &mut self,
        bundle: &Bundle,
        origin: &AccountId32,
    ) -> Result<[u8; 32], HarnessError> {
        let result = self.sandbox.upload_contract(
            bundle.wasm.clone(),
            origin.clone(),
            None,
            Determinism::Enforced,
        );
        result
            .map(|r| r.code_hash.0)
            .map_err(|e| HarnessError::Dispatch {
                name: "upload".into(),
                error: format!("{e:?}"),
            })
    }
}

/// ink! wraps every message's output in `Result<_, LangError>`.
fn decode_message_result<R: Decode>(name: &str, mut data: &[u8]) -> Result<R, HarnessError> {
    let decoded =
        <Result<R, ink::LangError>>::decode(&mut data).map_err(|error| HarnessError::Decode {
            name: name.to_owned(),
            error,
        })?;
    decoded.map_err(|e| HarnessError::Dispatch {
        name: name.to_owned(),
        error: format!("{e:?}"),
    })
}

/// The same 32 bytes as the contracts' account type.
pub fn to_ink(account: &AccountId32) -> ink::primitives::AccountId {
    let bytes: [u8; 32] = *account.as_ref();
    ink::primitives::AccountId::from(bytes)
}
