//! The real pallet-contracts runtime in this process (ink_sandbox's minimal runtime, see
//! [`chain_runtime`]), behind [`Chain`].
//!
//! Blocks look like a chain's: every transaction is applied as an extrinsic of the current
//! block (its events carry `ApplyExtrinsic(i)` and an `ExtrinsicSuccess`), and the block is
//! sealed after each transaction, or once after a [`InProcessChain::batch`] of them, the
//! way a dev node seals a block per transaction. Sealing reads the block's events, then
//! finalizes it (real header, state root, parent hash) and starts the next; sealed blocks
//! count as finalized. Dev accounts (`//Alice` ... `//Ferdie`) are funded at genesis.

use std::collections::HashMap;

use ink_sandbox::{
    api::prelude::*,
    frame_support::{
        dispatch::{DispatchClass, DispatchInfo, Pays},
        sp_runtime::{traits::Dispatchable, DispatchErrorWithPostInfo},
        storage::{with_transaction, TransactionOutcome},
        traits::{Hooks, PalletInfo as _},
    },
    frame_system::{self, Phase},
    macros::BlockBuilder,
    pallet_balances, pallet_contracts,
    pallet_contracts::{Code, CollectEvents, DebugInfo, Determinism},
    pallet_timestamp, AccountId32, DispatchError, Sandbox,
};

use crate::{
    AccountId, Balance, BlockHash, BlockNumber, BlockReader, BlockRef, Chain, ChainError,
    ContractEvent, DispatchFailure, DryInstantiate, DryRun, ExecReturn, Header, Included, Signer,
    Weight,
};
use chain_runtime::{
    MinimalSandbox, MinimalSandboxRuntime as Runtime, PalletInfo, RuntimeCall, RuntimeEvent,
    RuntimeOrigin,
};

/// Native tokens each dev account starts with.
pub const DEV_ENDOWMENT: Balance = 1_000_000_000_000_000_000;

/// The dev accounts funded at genesis, as on a `--dev` node.
pub const DEV_ACCOUNTS: [&str; 6] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];

type System = frame_system::Pallet<Runtime>;
type Contracts = pallet_contracts::Pallet<Runtime>;

struct SealedBlock {
    header: Header,
    events: Vec<ContractEvent>,
}

/// The in-process chain. See the module documentation.
pub struct InProcessChain {
    sandbox: MinimalSandbox,
    /// Sealed blocks by number; all of them are final.
    blocks: Vec<SealedBlock>,
    by_hash: HashMap<BlockHash, BlockNumber>,
    /// The number of the first sealed block (blocks below it never existed here).
    first: BlockNumber,
    /// Inside [`Self::batch`], sealing waits for its end.
    batching: bool,
    gas_limit: ink_sandbox::Weight,
}

impl Default for InProcessChain {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessChain {
    /// A fresh chain: the dev accounts funded in block 1, which is sealed; the next
    /// transaction goes into block 2.
    pub fn new() -> Self {
        let mut sandbox = MinimalSandbox::default();
        for name in DEV_ACCOUNTS {
            let account = to_runtime(&Signer::dev(name).account_id());
            sandbox
                .mint_into(&account, DEV_ENDOWMENT)
                .expect("minting into a fresh account cannot fail");
        }
        let first = sandbox.block_number();
        let mut chain = Self {
            sandbox,
            blocks: Vec::new(),
            by_hash: HashMap::new(),
            first,
            batching: false,
            gas_limit: MinimalSandbox::default_gas_limit(),
        };
        chain.seal();
        chain
    }

    /// Runs `f` with every transaction it submits going into one block, sealed at the
    /// end (even when `f` fails, so that what it did is not lost). Inside, each
    /// [`Included`] carries the block's number and an all-zero hash: the block gets its
    /// hash when it is sealed; read it then with [`Chain::block_hash`].
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.batching, true);
        let result = f(self);
        self.batching = outer;
        if !outer {
            self.seal();
        }
        result
    }

    /// Seals empty blocks until the best block is `number` (deadlines count blocks).
    pub fn advance_to(&mut self, number: BlockNumber) {
        while self.best_number() < number {
            self.seal();
        }
    }

    /// Gives `account` `amount` native tokens out of thin air (test set-up).
    pub fn mint(&mut self, account: &AccountId, amount: Balance) {
        self.sandbox
            .mint_into(&to_runtime(account), amount)
            .expect("minting cannot overflow in tests");
    }

    fn best_number(&self) -> BlockNumber {
        self.first + self.blocks.len() as BlockNumber - 1
    }

    /// Reads the current block's events, finalizes it and starts the next.
    fn seal(&mut self) {
        let (header, events) = self.sandbox.execute_with(|| {
            let number = System::block_number();
            let events = System::events()
                .into_iter()
                .enumerate()
                .filter_map(|(index, record)| contract_event(index, record))
                .collect::<Vec<_>>();
            // BlockBuilder::finalize_block, keeping the whole header rather than its hash.
            Contracts::on_finalize(number);
            pallet_timestamp::Pallet::<Runtime>::on_finalize(number);
            pallet_balances::Pallet::<Runtime>::on_finalize(number);
            let header = System::finalize();
            let hash = header.hash();
            BlockBuilder::<Runtime>::initialize_block(number + 1, hash);
            let header = Header {
                number,
                hash: BlockHash(hash.0),
                parent_hash: BlockHash(header.parent_hash.0),
                state_root: BlockHash(header.state_root.0),
                extrinsics_root: BlockHash(header.extrinsics_root.0),
            };
            (header, events)
        });
        self.by_hash.insert(header.hash, header.number);
        self.blocks.push(SealedBlock { header, events });
    }

    /// Applies `f` as the next extrinsic of the current block: `outcome` says what it
    /// weighed and whether it failed, as the block records it (`ExtrinsicSuccess` or
    /// `ExtrinsicFailed`). Returns `f`'s result, the extrinsic's index and its contract
    /// events.
    fn apply<T>(
        &mut self,
        f: impl FnOnce() -> T,
        outcome: impl FnOnce(&T) -> (Weight, Result<(), DispatchError>),
    ) -> (T, u32, Vec<ContractEvent>) {
        self.sandbox.execute_with(|| {
            let index = System::extrinsic_index().unwrap_or_default();
            let before = System::event_count() as usize;
            let result = f();
            let (used, dispatched) = outcome(&result);
            let info = DispatchInfo {
                weight: ink_sandbox::Weight::from_parts(used.ref_time, used.proof_size),
                class: DispatchClass::Normal,
                pays_fee: Pays::Yes,
            };
            let dispatched =
                dispatched
                    .map(|()| ().into())
                    .map_err(|error| DispatchErrorWithPostInfo {
                        post_info: Default::default(),
                        error,
                    });
            System::note_applied_extrinsic(&dispatched, info);
            let events = System::events()
                .into_iter()
                .enumerate()
                .skip(before)
                .filter_map(|(i, record)| contract_event(i, record))
                .filter(|event| event.extrinsic_index == Some(index))
                .collect::<Vec<_>>();
            (result, index, events)
        })
    }

    /// Runs `f` in a storage transaction that is rolled back, as a node's dry run is.
    fn rolled_back<T>(&mut self, f: impl FnOnce() -> T) -> Result<T, ChainError> {
        self.sandbox
            .execute_with(|| {
                with_transaction(|| TransactionOutcome::Rollback(Ok::<_, DispatchError>(f())))
            })
            .map_err(|e| ChainError::Dispatch {
                what: "a dry run".into(),
                failure: failure(e),
            })
    }

    /// The block the current transactions go into, sealing it unless batching.
    fn included(&mut self, extrinsic_index: u32, events: Vec<ContractEvent>) -> Included {
        let number = self.sandbox.block_number();
        if !self.batching {
            self.seal();
        }
        let hash = self
            .blocks
            .get((number - self.first) as usize)
            .map(|b| b.header.hash)
            // Inside a batch the block is not sealed yet: its hash is not known.
            .unwrap_or_default();
        Included {
            block: BlockRef { number, hash },
            extrinsic_index,
            events,
        }
    }
}

/// A `ContractEmitted` event record, as the chain's [`ContractEvent`].
fn contract_event(
    index: usize,
    record: ink_sandbox::EventRecordOf<Runtime>,
) -> Option<ContractEvent> {
    match record.event {
        RuntimeEvent::Contracts(pallet_contracts::Event::ContractEmitted { contract, data }) => {
            Some(ContractEvent {
                event_index: index as u32,
                extrinsic_index: match record.phase {
                    Phase::ApplyExtrinsic(i) => Some(i),
                    _ => None,
                },
                contract: from_runtime(&contract),
                topics: record.topics.iter().map(|t| t.0).collect(),
                data,
            })
        }
        _ => None,
    }
}

/// `Contracts::bare_call`, as both the dry run and the transaction run it.
fn bare_call(
    origin: &AccountId,
    contract: &AccountId,
    data: &[u8],
    value: Balance,
    gas_limit: ink_sandbox::Weight,
) -> pallet_contracts::ContractExecResult<Balance, ink_sandbox::EventRecordOf<Runtime>> {
    Contracts::bare_call(
        to_runtime(origin),
        to_runtime(contract),
        value,
        gas_limit,
        None,
        data.to_vec(),
        DebugInfo::Skip,
        CollectEvents::Skip,
        Determinism::Enforced,
    )
}

/// `Contracts::bare_instantiate` of new code, as both the dry run and the transaction run it.
fn bare_instantiate(
    origin: &AccountId,
    code: &[u8],
    data: &[u8],
    value: Balance,
    salt: &[u8],
    gas_limit: ink_sandbox::Weight,
) -> pallet_contracts::ContractInstantiateResult<
    AccountId32,
    Balance,
    ink_sandbox::EventRecordOf<Runtime>,
> {
    Contracts::bare_instantiate(
        to_runtime(origin),
        value,
        gas_limit,
        None,
        Code::Upload(code.to_vec()),
        data.to_vec(),
        salt.to_vec(),
        DebugInfo::Skip,
        CollectEvents::Skip,
    )
}

/// What a block records of a contract call or instantiation: its weight and outcome.
fn recorded<R, E>(
    result: &pallet_contracts::ContractResult<Result<R, DispatchError>, Balance, E>,
) -> (Weight, Result<(), DispatchError>) {
    (
        weight(result.gas_consumed),
        result.result.as_ref().map(|_| ()).map_err(|e| *e),
    )
}

fn to_runtime(account: &AccountId) -> AccountId32 {
    let bytes: [u8; 32] = *account.as_ref();
    AccountId32::new(bytes)
}

fn from_runtime(account: &AccountId32) -> AccountId {
    let bytes: [u8; 32] = *account.as_ref();
    AccountId::from(bytes)
}

fn weight(w: ink_sandbox::Weight) -> Weight {
    Weight {
        ref_time: w.ref_time(),
        proof_size: w.proof_size(),
    }
}

fn deposit(d: &pallet_contracts::StorageDeposit<Balance>) -> i128 {
    match d {
        pallet_contracts::StorageDeposit::Charge(x) => i128::try_from(*x).unwrap_or(i128::MAX),
        pallet_contracts::StorageDeposit::Refund(x) => -i128::try_from(*x).unwrap_or(i128::MAX),
    }
}

/// Names a runtime error the way the RPC backend does from the node's metadata.
fn failure(error: DispatchError) -> DispatchFailure {
    match error {
        DispatchError::Module(module) => {
            let index = usize::from(module.index);
            let pallet = [
                (PalletInfo::index::<System>(), "System"),
                (
                    PalletInfo::index::<pallet_balances::Pallet<Runtime>>(),
                    "Balances",
                ),
                (
                    PalletInfo::index::<pallet_timestamp::Pallet<Runtime>>(),
                    "Timestamp",
                ),
                (PalletInfo::index::<Contracts>(), "Contracts"),
            ]
            .into_iter()
            .find(|(i, _)| *i == Some(index))
            .map_or_else(|| format!("pallet {index}"), |(_, name)| name.to_owned());
            DispatchFailure::module(&pallet, module.message.unwrap_or("unknown module error"))
        }
        other => DispatchFailure::other(format!("{other:?}")),
    }
}

impl BlockReader for InProcessChain {
    fn endpoint(&self) -> String {
        crate::IN_PROCESS.into()
    }

    fn finalized_head(&mut self) -> Result<BlockRef, ChainError> {
        let last = &self.blocks[self.blocks.len() - 1].header;
        Ok(BlockRef {
            number: last.number,
            hash: last.hash,
        })
    }

    fn block_hash(&mut self, number: BlockNumber) -> Result<Option<BlockHash>, ChainError> {
        Ok(number
            .checked_sub(self.first)
            .and_then(|i| self.blocks.get(i as usize))
            .map(|b| b.header.hash))
    }

    fn header(&mut self, hash: BlockHash) -> Result<Option<Header>, ChainError> {
        Ok(self
            .by_hash
            .get(&hash)
            .map(|n| self.blocks[(n - self.first) as usize].header.clone()))
    }

    fn contract_events(&mut self, hash: BlockHash) -> Result<Vec<ContractEvent>, ChainError> {
        Ok(self
            .by_hash
            .get(&hash)
            .map(|n| self.blocks[(n - self.first) as usize].events.clone())
            .unwrap_or_default())
    }
}

impl Chain for InProcessChain {
    fn dry_run_instantiate(
        &mut self,
        origin: &AccountId,
        code: &[u8],
        data: &[u8],
        value: Balance,
        salt: &[u8],
    ) -> Result<DryInstantiate, ChainError> {
        let gas_limit = self.gas_limit;
        let result =
            self.rolled_back(|| bare_instantiate(origin, code, data, value, salt, gas_limit))?;
        Ok(DryInstantiate {
            gas_required: weight(result.gas_required),
            storage_deposit: deposit(&result.storage_deposit),
            result: result
                .result
                .map(|ok| {
                    (
                        ExecReturn {
                            reverted: ok.result.did_revert(),
                            data: ok.result.data,
                        },
                        from_runtime(&ok.account_id),
                    )
                })
                .map_err(failure),
        })
    }

    fn instantiate_with_code(
        &mut self,
        signer: &Signer,
        code: &[u8],
        data: &[u8],
        value: Balance,
        salt: &[u8],
        gas_limit: Weight,
    ) -> Result<(Included, AccountId), ChainError> {
        let origin = signer.account_id();
        let limit = ink_sandbox::Weight::from_parts(gas_limit.ref_time, gas_limit.proof_size);
        let (result, index, events) = self.apply(
            || bare_instantiate(&origin, code, data, value, salt, limit),
            recorded,
        );
        let included = self.included(index, events);
        let ok = result
            .result
            .map_err(|e| ChainError::dispatch("an instantiation", &origin, failure(e)))?;
        if ok.result.did_revert() {
            return Err(ChainError::Reverted {
                contract: "the new contract".into(),
                message: "constructor".into(),
                revert: crate::Revert::InBlock,
            });
        }
        Ok((included, from_runtime(&ok.account_id)))
    }

    fn dry_run_call(
        &mut self,
        origin: &AccountId,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
    ) -> Result<DryRun, ChainError> {
        let gas_limit = self.gas_limit;
        let result = self.rolled_back(|| bare_call(origin, contract, data, value, gas_limit))?;
        Ok(DryRun {
            gas_required: weight(result.gas_required),
            storage_deposit: deposit(&result.storage_deposit),
            result: result
                .result
                .map(|ok| ExecReturn {
                    reverted: ok.did_revert(),
                    data: ok.data,
                })
                .map_err(failure),
        })
    }

    fn submit_call(
        &mut self,
        signer: &Signer,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
        gas_limit: Weight,
    ) -> Result<Included, ChainError> {
        let origin = signer.account_id();
        let limit = ink_sandbox::Weight::from_parts(gas_limit.ref_time, gas_limit.proof_size);
        let (result, index, events) = self.apply(
            || bare_call(&origin, contract, data, value, limit),
            recorded,
        );
        let included = self.included(index, events);
        let ok = result
            .result
            .map_err(|e| ChainError::dispatch("a contract call", &origin, failure(e)))?;
        if ok.did_revert() {
            return Err(ChainError::Reverted {
                contract: crate::account_hex(contract),
                message: "call".into(),
                revert: crate::Revert::InBlock,
            });
        }
        Ok(included)
    }

    fn transfer(
        &mut self,
        signer: &Signer,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Included, ChainError> {
        let origin = signer.account_id();
        let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
            dest: to_runtime(to).into(),
            value: amount,
        });
        let who = RuntimeOrigin::signed(to_runtime(&origin));
        let (result, index, events) = self.apply(
            || call.dispatch(who),
            |r| (Weight::default(), r.map(|_| ()).map_err(|e| e.error)),
        );
        let included = self.included(index, events);
        result.map_err(|e| ChainError::dispatch("a transfer", &origin, failure(e.error)))?;
        Ok(included)
    }

    fn free_balance(&mut self, account: &AccountId) -> Result<Balance, ChainError> {
        Ok(self.sandbox.free_balance(&to_runtime(account)))
    }
}
