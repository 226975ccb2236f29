//! Chain access for Datamarket: one interface, [`Chain`], to deploy, call and query the ink!
//! contracts and to read blocks and their contract events, with two backends:
//!
//! - [`RpcChain`]: any Substrate node with pallet-contracts over WebSocket JSON-RPC
//!   (substrate-api-client 1.21, with extrinsic parameters that match
//!   substrate-contracts-node 0.42's signed extensions, see [`rpc::ContractsNodeParams`]);
//! - [`InProcessChain`]: the real pallet-contracts runtime in this process (ink_sandbox's
//!   minimal runtime, [`chain_runtime`]), with dev accounts funded and a block sealed per batch of calls, so
//!   that blocks, hashes and events look like a chain's. It is the embedded default for
//!   the demo and CI.
//!
//! [`Chain`] is a trait at the level of bytes (SCALE-encoded call data, raw events) that
//! both backends implement and that stays dyn-compatible (`Box<dyn Chain>` lets a program
//! pick its backend at run time). The typed layer sits on top, once for both: a
//! [`Contract`] handle encodes arguments with the contracts' own Rust types, runs a dry run
//! to get the gas and the decoded result, and only then submits, so a call that would
//! revert comes back as [`ChainError::Reverted`] with the decoded marketplace
//! [`market_types::Error`] and costs nothing.
//!
//! The interface is synchronous: the in-process runtime is, and a node answers within
//! milliseconds; an async program runs it on a blocking thread.

#![warn(missing_docs)]

mod deploy;
pub mod dev_node;
mod error;
pub mod in_process;
pub mod rpc;
mod shared;
mod signer;
mod typed;

use scale::{Decode, Encode};

pub use contract_bundle::Bundle;
pub use deploy::{deploy_market, Deployed, MarketSettings, TOKEN_SUPPLY};
pub use error::{ChainError, DispatchFailure, Revert};
pub use in_process::InProcessChain;
pub use market_types;
pub use rpc::RpcChain;
pub use shared::{share, Locked, SharedChain};
pub use signer::{KeyError, Signer};
pub use typed::{Called, Contract};

/// An account, as the contracts see it (32 bytes).
pub type AccountId = ink::primitives::AccountId;
/// Native balances.
pub type Balance = u128;
/// Block numbers.
pub type BlockNumber = u32;

/// A 32-byte block hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, Default)]
pub struct BlockHash(pub [u8; 32]);

impl std::fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl std::fmt::Display for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Gas: computation time and proof size, as pallet-contracts counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Encode, Decode)]
pub struct Weight {
    /// Picoseconds of computation.
    #[codec(compact)]
    pub ref_time: u64,
    /// Bytes of storage proof.
    #[codec(compact)]
    pub proof_size: u64,
}

/// A block, by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    /// Its number.
    pub number: BlockNumber,
    /// Its hash.
    pub hash: BlockHash,
}

/// The parts of a block header that clients use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The block's number.
    pub number: BlockNumber,
    /// Its hash (the hash of this header).
    pub hash: BlockHash,
    /// The hash of its parent.
    pub parent_hash: BlockHash,
    /// The state root after the block.
    pub state_root: BlockHash,
    /// The root of its extrinsics.
    pub extrinsics_root: BlockHash,
}

/// One `Contracts::ContractEmitted` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractEvent {
    /// Position of the event among all the block's events.
    pub event_index: u32,
    /// The extrinsic that emitted it (`None` outside extrinsics).
    pub extrinsic_index: Option<u32>,
    /// The contract that emitted it.
    pub contract: AccountId,
    /// Its topics; for ink! 5 events the first is the event's signature topic.
    pub topics: Vec<[u8; 32]>,
    /// The SCALE-encoded event.
    pub data: Vec<u8>,
}

impl ContractEvent {
    /// Decodes it as a marketplace event: `None` when its signature topic is not one of
    /// the marketplace's events, `Some(Err)` when the bytes do not decode as that event.
    pub fn decode_market(&self) -> Option<Result<market_types::decode::MarketEvent, scale::Error>> {
        let signature = self.topics.first()?;
        market_types::decode::MarketEvent::decode(signature, &self.data)
    }
}

/// What a contract returned: its output bytes and whether it reverted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecReturn {
    /// True when the contract reverted (all its changes are rolled back).
    pub reverted: bool,
    /// The SCALE-encoded output (for ink!: `Result<T, LangError>`).
    pub data: Vec<u8>,
}

/// The outcome of a dry run: what the call would do on the current state.
#[derive(Clone, Debug)]
pub struct DryRun {
    /// Gas the call needs; submit with this as the limit.
    pub gas_required: Weight,
    /// Storage deposit the caller would pay (positive) or get back (negative).
    pub storage_deposit: i128,
    /// The contract's return, or why the runtime refused the call.
    pub result: Result<ExecReturn, DispatchFailure>,
}

/// The outcome of a dry-run instantiation.
#[derive(Clone, Debug)]
pub struct DryInstantiate {
    /// Gas the instantiation needs.
    pub gas_required: Weight,
    /// Storage deposit the caller would pay (positive) or get back (negative).
    pub storage_deposit: i128,
    /// The constructor's return and the new contract's account, or why it was refused.
    pub result: Result<(ExecReturn, AccountId), DispatchFailure>,
}

/// A transaction in a block.
#[derive(Clone, Debug)]
pub struct Included {
    /// The block it went into.
    pub block: BlockRef,
    /// Its index among the block's extrinsics.
    pub extrinsic_index: u32,
    /// The contract events it emitted.
    pub events: Vec<ContractEvent>,
}

/// Reading a chain's finalized blocks and their contract events: all that the indexer
/// needs, and all it gets (it holds no [`Signer`] and can submit nothing), by either
/// backend.
pub trait BlockReader {
    /// Where this chain is: a node's URL, or "in-process".
    fn endpoint(&self) -> String;

    /// The newest finalized block.
    fn finalized_head(&mut self) -> Result<BlockRef, ChainError>;

    /// The hash of block `number` on the best chain, if it exists yet.
    fn block_hash(&mut self, number: BlockNumber) -> Result<Option<BlockHash>, ChainError>;

    /// The header of the block with this hash, if known.
    fn header(&mut self, hash: BlockHash) -> Result<Option<Header>, ChainError>;

    /// The `ContractEmitted` events of the block with this hash, in order.
    fn contract_events(&mut self, hash: BlockHash) -> Result<Vec<ContractEvent>, ChainError>;

    /// The header of block `number` on the best chain, if it exists yet.
    fn header_by_number(&mut self, number: BlockNumber) -> Result<Option<Header>, ChainError> {
        match self.block_hash(number)? {
            Some(hash) => self.header(hash),
            None => Ok(None),
        }
    }
}

/// The chain, by either backend. Byte level; use [`Contract`] for typed calls.
///
/// Every state-changing method signs with a [`Signer`] and returns once the transaction is
/// in a block. Reads take the state of the best block.
pub trait Chain: BlockReader {
    /// Dry-runs uploading `code` and instantiating it with `data` (constructor selector
    /// and arguments), sending `value`.
    fn dry_run_instantiate(
        &mut self,
        origin: &AccountId,
        code: &[u8],
        data: &[u8],
        value: Balance,
        salt: &[u8],
    ) -> Result<DryInstantiate, ChainError>;

    /// Uploads `code` and instantiates it in one transaction, with `gas_limit` (from the
    /// dry run). Returns the block and the new contract's account.
    fn instantiate_with_code(
        &mut self,
        signer: &Signer,
        code: &[u8],
        data: &[u8],
        value: Balance,
        salt: &[u8],
        gas_limit: Weight,
    ) -> Result<(Included, AccountId), ChainError>;

    /// Runs a call on the current state and rolls it back: for queries and dry runs.
    fn dry_run_call(
        &mut self,
        origin: &AccountId,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
    ) -> Result<DryRun, ChainError>;

    /// Submits a signed call of `contract` with `gas_limit` (from the dry run).
    fn submit_call(
        &mut self,
        signer: &Signer,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
        gas_limit: Weight,
    ) -> Result<Included, ChainError>;

    /// Transfers `amount` native tokens from `signer` to `to`, keeping the sender alive.
    fn transfer(
        &mut self,
        signer: &Signer,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Included, ChainError>;

    /// The account's free native balance.
    fn free_balance(&mut self, account: &AccountId) -> Result<Balance, ChainError>;
}

/// What [`open`] calls the in-process chain.
pub const IN_PROCESS: &str = "in-process";

/// Opens the chain at `endpoint`: [`IN_PROCESS`] for a fresh [`InProcessChain`] (the
/// default of the demo and CI), otherwise a node's `ws://` URL.
pub fn open(endpoint: &str) -> Result<Box<dyn Chain + Send>, ChainError> {
    if endpoint == IN_PROCESS {
        Ok(Box::new(InProcessChain::new()))
    } else {
        Ok(Box::new(RpcChain::connect(endpoint)?))
    }
}

/// Opens the chain at `endpoint` for reading blocks only (see [`open`]).
pub fn open_reader(endpoint: &str) -> Result<Box<dyn BlockReader + Send>, ChainError> {
    if endpoint == IN_PROCESS {
        Ok(Box::new(InProcessChain::new()))
    } else {
        Ok(Box::new(RpcChain::connect(endpoint)?))
    }
}

/// An account as `0x` and 64 hex digits.
pub(crate) fn account_hex(account: &crate::AccountId) -> String {
    let bytes: &[u8; 32] = account.as_ref();
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    /// Both backends can move to another thread (an async program runs them on a
    /// blocking one).
    #[test]
    fn backends_are_send() {
        fn send<T: Send>() {}
        send::<crate::InProcessChain>();
        send::<crate::RpcChain>();
        send::<Box<dyn crate::Chain + Send>>();
    }
}
