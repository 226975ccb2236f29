//! A Substrate node with pallet-contracts over WebSocket JSON-RPC, through
//! substrate-api-client 1.21, behind [`Chain`].
//!
//! Transactions are signed with extrinsic parameters that match
//! substrate-contracts-node 0.42's signed extensions ([`ContractsNodeParams`]), mortal for
//! [`MORTALITY_PERIOD`] blocks, with the nonce from the node's pool; each is dry-run first
//! by the typed layer and then watched until it is in a block.

mod transport;

use scale::{Compact, Decode, Encode};
pub use sp_runtime::generic::Era;
use substrate_api_client::{
    ac_compose_macros::{compose_call, compose_extrinsic_offline},
    ac_node_api::{self, Phase, RawEventDetails},
    ac_primitives::{
        extrinsic_params::ExtrinsicParams,
        extrinsic_params_without_hash_check::{
            ImplicitWithoutHashCheck, TxExtensionWithoutHashCheck,
        },
        AccountId32, DefaultRuntimeConfig, ExtrinsicSigner, MultiAddress, PlainTip,
        WithExtrinsicParams, H256,
    },
    runtime_api::RuntimeApi,
    Api, GetAccountInformation, GetChainInfo, SubmitAndWatch, XtStatus,
};

pub use transport::{Retry, WsTransport};

use crate::{
    account_hex, error::RawDispatchError, AccountId, Balance, BlockHash, BlockNumber, BlockReader,
    BlockRef, Chain, ChainError, ContractEvent, DispatchFailure, DryInstantiate, DryRun,
    ExecReturn, Header, Included, Signer, Weight,
};

/// Blocks a transaction stays valid after the best block it was signed at.
pub const MORTALITY_PERIOD: u64 = 64;

/// The mortality and tip of one transaction (substrate-api-client's "additional params").
#[derive(Clone, Copy, Debug)]
pub struct Mortality {
    /// The era: immortal, or mortal from a birth block.
    pub era: Era,
    /// The hash of the era's birth block (the genesis hash when immortal).
    pub checkpoint: Option<H256>,
    /// Tip to the block author.
    pub tip: u128,
}

impl Default for Mortality {
    fn default() -> Self {
        Self {
            era: Era::Immortal,
            checkpoint: None,
            tip: 0,
        }
    }
}

/// Overrides for one transaction; by default the nonce comes from the node's pool and the
/// era starts at the best block.
#[derive(Clone, Copy, Debug, Default)]
pub struct TxOptions {
    /// The nonce to sign with.
    pub nonce: Option<u32>,
    /// The era and tip to sign with.
    pub mortality: Option<Mortality>,
}

/// Extrinsic parameters for substrate-contracts-node 0.42, whose signed extensions
/// (runtime/src/lib.rs, `SignedExtra`) are CheckNonZeroSender, CheckSpecVersion,
/// CheckTxVersion, CheckGenesis, CheckEra, CheckNonce, CheckWeight and
/// ChargeTransactionPayment, without CheckMetadataHash. substrate-api-client's ready-made
/// params add that extension's mode byte, which the node rejects as a codec error; these
/// send (era, compact nonce, compact tip) and sign (spec version, transaction version,
/// genesis hash, era checkpoint).
#[derive(Clone, Debug)]
pub struct ContractsNodeParams {
    era: Era,
    nonce: u32,
    tip: u128,
    spec_version: u32,
    transaction_version: u32,
    genesis_hash: H256,
    mortality_checkpoint: H256,
}

impl ExtrinsicParams<u32, H256> for ContractsNodeParams {
    type AdditionalParams = Mortality;
    type TxExtension = TxExtensionWithoutHashCheck<PlainTip<u128>, u32>;
    type Implicit = ImplicitWithoutHashCheck<H256>;

    fn new(
        spec_version: u32,
        transaction_version: u32,
        nonce: u32,
        genesis_hash: H256,
        additional: Mortality,
    ) -> Self {
        Self {
            era: additional.era,
            nonce,
            tip: additional.tip,
            spec_version,
            transaction_version,
            genesis_hash,
            mortality_checkpoint: additional.checkpoint.unwrap_or(genesis_hash),
        }
    }

    fn transaction_extension(&self) -> Self::TxExtension {
        TxExtensionWithoutHashCheck::new(self.era, self.nonce, PlainTip::new(self.tip))
    }

    fn implicit(&self) -> Self::Implicit {
        (
            (),
            self.spec_version,
            self.transaction_version,
            self.genesis_hash,
            self.mortality_checkpoint,
            (),
            (),
            (),
        )
    }
}

/// substrate-api-client's config for substrate-contracts-node 0.42.
pub type ContractsNodeConfig = WithExtrinsicParams<DefaultRuntimeConfig, ContractsNodeParams>;

type NodeApi = Api<ContractsNodeConfig, WsTransport>;

/// A node, over JSON-RPC. See the module documentation.
pub struct RpcChain {
    api: NodeApi,
}

impl RpcChain {
    /// Connects to the node at `url` (`ws://127.0.0.1:9944`), retrying with backoff while
    /// it starts, and reads its metadata and runtime version.
    pub fn connect(url: &str) -> Result<Self, ChainError> {
        Self::connect_with(url, Retry::default())
    }

    /// [`Self::connect`] with its own retry policy.
    pub fn connect_with(url: &str, retry: Retry) -> Result<Self, ChainError> {
        let transport = WsTransport::connect(url, retry)?;
        let api = NodeApi::new(transport)
            .map_err(|e| client_error("reading the node's metadata", None, e))?;
        Ok(Self { api })
    }

    /// The node's spec name and version ("substrate-contracts-node", 100).
    pub fn runtime(&self) -> (String, u32) {
        let version = self.api.runtime_version();
        (version.spec_name.to_string(), version.spec_version)
    }

    fn url(&self) -> &str {
        self.api.client().url()
    }

    fn runtime_call(&self, method: &str, args: Vec<u8>) -> Result<Vec<u8>, ChainError> {
        self.api
            .runtime_api()
            .opaque_runtime_call(method, vec![args], None)
            .map(|bytes| bytes.0)
            .map_err(|e| client_error(&format!("the runtime call {method}"), None, e))
    }

    fn name_failure(&self, error: &RawDispatchError) -> DispatchFailure {
        let metadata = self.api.metadata();
        error.name(|pallet, error| {
            let pallet = metadata.pallet_by_index(pallet)?;
            let variant = pallet.error_variant_by_index(error)?;
            Some((pallet.name().to_owned(), variant.name.clone()))
        })
    }

    /// The mortality of a transaction signed now: [`MORTALITY_PERIOD`] blocks from the
    /// best block.
    pub fn mortality_from_best(&self) -> Result<Mortality, ChainError> {
        let fail = |e| client_error("reading the best block", None, e);
        let best = self
            .api
            .get_header(None)
            .map_err(fail)?
            .ok_or_else(|| ChainError::decode("the best header", "the node has none"))?;
        let best_hash = self
            .api
            .get_block_hash(Some(best.number))
            .map_err(fail)?
            .ok_or_else(|| ChainError::decode("the best block hash", "the node has none"))?;
        Ok(Mortality {
            era: Era::mortal(MORTALITY_PERIOD, u64::from(best.number)),
            checkpoint: Some(best_hash),
            tip: 0,
        })
    }

    /// [`Chain::submit_call`] with a chosen nonce or era (to send several transactions
    /// without waiting, or to test the node's refusals).
    pub fn submit_call_with(
        &mut self,
        signer: &Signer,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
        gas_limit: Weight,
        options: TxOptions,
    ) -> Result<Included, ChainError> {
        let dest = MultiAddress::<AccountId32, u32>::Id(to_node(contract));
        let call = self.compose("Contracts", "call", |index| {
            (
                index,
                dest,
                Compact(value),
                gas_limit,
                None::<Compact<Balance>>,
                data.to_vec(),
            )
        })?;
        let (block, extrinsic_index, raw) = self
            .submit(signer, call, "a contract call", options)
            .map_err(|error| match error {
            // The call reverted in its block although the dry run had not.
            ChainError::Dispatch { failure, .. }
                if failure.pallet.as_deref() == Some("Contracts")
                    && failure.error == "ContractReverted" =>
            {
                ChainError::Reverted {
                    contract: account_hex(contract),
                    message: "call".into(),
                    revert: crate::Revert::InBlock,
                }
            }
            other => other,
        })?;
        let events = raw
            .iter()
            .filter_map(contract_event)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Included {
            block,
            extrinsic_index,
            events,
        })
    }

    /// Submits several contract calls as one `Utility::batch_all` transaction (all or
    /// nothing, one block): `(contract, call data, value, gas limit)` each, the gas from a
    /// dry run of the same message. For loads and tests that need many events quickly;
    /// the batch's weight must fit in one block.
    pub fn submit_batch_calls(
        &mut self,
        signer: &Signer,
        calls: &[(AccountId, Vec<u8>, Balance, Weight)],
    ) -> Result<Included, ChainError> {
        let mut inner = Vec::with_capacity(calls.len());
        for (contract, data, value, gas_limit) in calls {
            inner.push(self.compose("Contracts", "call", |index| {
                (
                    index,
                    MultiAddress::<AccountId32, u32>::Id(to_node(contract)),
                    Compact(*value),
                    *gas_limit,
                    None::<Compact<Balance>>,
                    data.clone(),
                )
            })?);
        }
        let call = self.compose("Utility", "batch_all", |index| (index, inner))?;
        let (block, extrinsic_index, raw) = self.submit(
            signer,
            call,
            "a batch of contract calls",
            TxOptions::default(),
        )?;
        let events = raw
            .iter()
            .filter_map(contract_event)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Included {
            block,
            extrinsic_index,
            events,
        })
    }

    /// Signs `call` for `signer` (by default: nonce from the pool, mortal from the best
    /// block) and watches it into a block; returns the block and the extrinsic's events.
    fn submit<Call: Encode + Clone>(
        &self,
        signer: &Signer,
        call: Call,
        what: &str,
        options: TxOptions,
    ) -> Result<(BlockRef, u32, Vec<RawEventDetails<H256>>), ChainError> {
        let account = signer.account_id();
        let fail = |e| client_error(what, Some(&account), e);
        let nonce = match options.nonce {
            Some(nonce) => nonce,
            None => self
                .api
                .get_system_account_next_index(to_node(&account))
                .map_err(fail)?,
        };
        let mortality = match options.mortality {
            Some(mortality) => mortality,
            None => self.mortality_from_best()?,
        };
        let runtime = self.api.runtime_version();
        let params = ContractsNodeParams::new(
            runtime.spec_version,
            runtime.transaction_version,
            nonce,
            self.api.genesis_hash(),
            mortality,
        );
        let key = ExtrinsicSigner::<ContractsNodeConfig>::new(signer.pair().clone());
        let xt = compose_extrinsic_offline!(&key, call, params);
        let report = self
            .api
            .submit_and_watch_extrinsic_until(xt, XtStatus::InBlock)
            .map_err(fail)?;
        let hash = report
            .block_hash
            .ok_or_else(|| ChainError::decode("the transaction's report", "no block hash"))?;
        let header = self
            .api
            .get_header(Some(hash))
            .map_err(fail)?
            .ok_or_else(|| ChainError::decode("the transaction's block", "unknown block"))?;
        let events = report.events.unwrap_or_default();
        let index = events
            .iter()
            .find_map(|e| match e.phase() {
                Phase::ApplyExtrinsic(i) => Some(i),
                _ => None,
            })
            .unwrap_or_default();
        let block = BlockRef {
            number: header.number,
            hash: BlockHash(hash.0),
        };
        Ok((block, index, events))
    }

    fn compose<Call>(
        &self,
        pallet: &str,
        call: &str,
        make: impl FnOnce([u8; 2]) -> Call,
    ) -> Result<Call, ChainError> {
        let metadata = self.api.metadata();
        let index = compose_call!(metadata, pallet, call).ok_or_else(|| {
            ChainError::decode("the node's metadata", format!("it has no {pallet}::{call}"))
        })?;
        Ok(make(index))
    }
}

fn to_node(account: &AccountId) -> AccountId32 {
    let bytes: [u8; 32] = *account.as_ref();
    AccountId32::new(bytes)
}

fn contract_event(event: &RawEventDetails<H256>) -> Option<Result<ContractEvent, ChainError>> {
    if event.pallet_name() != "Contracts" || event.variant_name() != "ContractEmitted" {
        return None;
    }
    Some(contract_emitted(
        event.index(),
        event.phase(),
        event.field_bytes(),
        event.topics(),
    ))
}

/// A `ContractEmitted` event from its place, phase, field bytes (contract, data) and topics.
fn contract_emitted(
    event_index: u32,
    phase: Phase,
    mut fields: &[u8],
    topics: &[H256],
) -> Result<ContractEvent, ChainError> {
    let (contract, data) = <([u8; 32], Vec<u8>)>::decode(&mut fields)
        .map_err(|e| ChainError::decode("a ContractEmitted event", e))?;
    Ok(ContractEvent {
        event_index,
        extrinsic_index: match phase {
            Phase::ApplyExtrinsic(i) => Some(i),
            _ => None,
        },
        contract: AccountId::from(contract),
        topics: topics.iter().map(|t| t.0).collect(),
        data,
    })
}

/// The `ContractEmitted` events among a block's `System.Events` bytes, each other event
/// skipped by its type from the node's metadata. substrate-api-client's `Events` would do
/// the same, but it copies the whole metadata for every event, which made reading events
/// the indexer's bottleneck on a node; this borrows it.
fn contract_events_in(
    metadata: &ac_node_api::Metadata,
    bytes: &[u8],
) -> Result<Vec<ContractEvent>, ChainError> {
    let bad = |e: &dyn std::fmt::Display| ChainError::decode("a block's events", e.to_string());
    let input = &mut &bytes[..];
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let count = Compact::<u32>::decode(input).map_err(|e| bad(&e))?.0;
    let mut found = Vec::new();
    for index in 0..count {
        let phase = Phase::decode(input).map_err(|e| bad(&e))?;
        let pallet_index = u8::decode(input).map_err(|e| bad(&e))?;
        let variant_index = u8::decode(input).map_err(|e| bad(&e))?;
        let pallet = metadata
            .pallet_by_index(pallet_index)
            .ok_or_else(|| bad(&format!("no pallet {pallet_index} in the metadata")))?;
        let variant = pallet
            .event_variant_by_index(variant_index)
            .ok_or_else(|| {
                bad(&format!(
                    "no event {variant_index} of {} in the metadata",
                    pallet.name()
                ))
            })?;
        let fields: &[u8] = input;
        for field in &variant.fields {
            scale_decode::visitor::decode_with_visitor(
                input,
                field.ty.id,
                metadata.types(),
                scale_decode::visitor::IgnoreVisitor::new(),
            )
            .map_err(|e| bad(&e))?;
        }
        let field_bytes = &fields[..fields.len() - input.len()];
        let topics = Vec::<H256>::decode(input).map_err(|e| bad(&e))?;
        if pallet.name() == "Contracts" && variant.name == "ContractEmitted" {
            found.push(contract_emitted(index, phase, field_bytes, &topics)?);
        }
    }
    Ok(found)
}

/// Maps substrate-api-client's error (not a `std::error::Error`) to what happened.
fn client_error(
    what: &str,
    account: Option<&AccountId>,
    error: substrate_api_client::Error,
) -> ChainError {
    use substrate_api_client::{rpc::Error as Rpc, Error};
    let shown = account.map(account_hex).unwrap_or_default();
    match error {
        Error::RpcClient(Rpc::Client(boxed)) => match boxed.downcast::<ChainError>() {
            Ok(error) => pool_error(*error, what, &shown),
            Err(other) => ChainError::Client {
                what: what.to_owned(),
                detail: other.to_string(),
            },
        },
        Error::FailedExtrinsic(failed) => {
            let failure = match failed.dispatch_error() {
                ac_node_api::error::DispatchError::Module(module) => {
                    DispatchFailure::module(&module.pallet, &module.error)
                }
                other => DispatchFailure::other(format!("{other:?}")),
            };
            match account {
                Some(account) => ChainError::dispatch(what, account, failure),
                None => ChainError::Dispatch {
                    what: what.to_owned(),
                    failure,
                },
            }
        }
        Error::UnexpectedTxStatus(status) => ChainError::NotIncluded {
            what: what.to_owned(),
            status: format!("{status:?}"),
        },
        other => ChainError::Client {
            what: what.to_owned(),
            detail: format!("{other:?}"),
        },
    }
}

/// Names the transaction pool's refusals (JSON-RPC errors 1010-1014 with the runtime's
/// `InvalidTransaction` text).
fn pool_error(error: ChainError, what: &str, account: &str) -> ChainError {
    let ChainError::Rpc { code, message, .. } = &error else {
        return error;
    };
    if !(1010..=1014).contains(code) {
        return error;
    }
    let lower = message.to_lowercase();
    let detail = message.clone();
    let account = account.to_owned();
    if lower.contains("inability to pay") || lower.contains("balance too low") {
        ChainError::InsufficientFunds {
            account,
            what: what.to_owned(),
            detail,
        }
    } else if lower.contains("outdated")
        || lower.contains("stale")
        || lower.contains("future")
        || lower.contains("priority is too low")
        || lower.contains("already imported")
    {
        ChainError::Nonce { account, detail }
    } else if lower.contains("ancient birth block") || lower.contains("era") {
        ChainError::Era { account, detail }
    } else {
        ChainError::InvalidTransaction {
            what: what.to_owned(),
            detail,
        }
    }
}

/// `pallet_contracts::ContractResult` up to its `result` (the events after it are skipped).
#[derive(Decode)]
struct RawContractResult<R> {
    _gas_consumed: Weight,
    gas_required: Weight,
    storage_deposit: RawStorageDeposit,
    _debug_message: Vec<u8>,
    result: R,
}

#[derive(Decode)]
enum RawStorageDeposit {
    Refund(u128),
    Charge(u128),
}

impl RawStorageDeposit {
    fn signed(&self) -> i128 {
        match self {
            Self::Refund(x) => -i128::try_from(*x).unwrap_or(i128::MAX),
            Self::Charge(x) => i128::try_from(*x).unwrap_or(i128::MAX),
        }
    }
}

#[derive(Decode)]
struct RawExecReturn {
    flags: u32,
    data: Vec<u8>,
}

impl From<RawExecReturn> for ExecReturn {
    fn from(raw: RawExecReturn) -> Self {
        // pallet-contracts' ReturnFlags::REVERT.
        Self {
            reverted: raw.flags & 1 != 0,
            data: raw.data,
        }
    }
}

impl BlockReader for RpcChain {
    fn endpoint(&self) -> String {
        self.url().to_owned()
    }

    fn finalized_head(&mut self) -> Result<BlockRef, ChainError> {
        let fail = |e| client_error("reading the finalized head", None, e);
        let hash = self
            .api
            .get_finalized_head()
            .map_err(fail)?
            .ok_or_else(|| ChainError::decode("the finalized head", "the node has none"))?;
        let header = self
            .api
            .get_header(Some(hash))
            .map_err(fail)?
            .ok_or_else(|| ChainError::decode("the finalized header", "unknown block"))?;
        Ok(BlockRef {
            number: header.number,
            hash: BlockHash(hash.0),
        })
    }

    fn block_hash(&mut self, number: BlockNumber) -> Result<Option<BlockHash>, ChainError> {
        let hash = self
            .api
            .get_block_hash(Some(number))
            .map_err(|e| client_error("reading a block hash", None, e))?;
        Ok(hash.map(|h| BlockHash(h.0)))
    }

    fn header(&mut self, hash: BlockHash) -> Result<Option<Header>, ChainError> {
        let header = self
            .api
            .get_header(Some(H256(hash.0)))
            .map_err(|e| client_error("reading a header", None, e))?;
        Ok(header.map(|h| Header {
            number: h.number,
            hash,
            parent_hash: BlockHash(h.parent_hash.0),
            state_root: BlockHash(h.state_root.0),
            extrinsics_root: BlockHash(h.extrinsics_root.0),
        }))
    }

    fn contract_events(&mut self, hash: BlockHash) -> Result<Vec<ContractEvent>, ChainError> {
        use substrate_api_client::GetStorage;
        let key = substrate_api_client::storage_key("System", "Events");
        let bytes = self
            .api
            .get_opaque_storage_by_key(key, Some(H256(hash.0)))
            .map_err(|e| client_error("reading a block's events", None, e))?
            .unwrap_or_default();
        contract_events_in(self.api.metadata(), &bytes)
    }
}

impl Chain for RpcChain {
    fn dry_run_instantiate(
        &mut self,
        origin: &AccountId,
        code: &[u8],
        data: &[u8],
        value: Balance,
        salt: &[u8],
    ) -> Result<DryInstantiate, ChainError> {
        // ContractsApi::instantiate(origin, value, gas_limit, storage_deposit_limit,
        // Code::Upload(code), data, salt)
        let args = (
            *origin,
            value,
            None::<Weight>,
            None::<Balance>,
            (0u8, code),
            data,
            salt,
        )
            .encode();
        let bytes = self.runtime_call("ContractsApi_instantiate", args)?;
        let raw = RawContractResult::<Result<(RawExecReturn, [u8; 32]), RawDispatchError>>::decode(
            &mut bytes.as_slice(),
        )
        .map_err(|e| ChainError::decode("ContractsApi_instantiate's result", e))?;
        Ok(DryInstantiate {
            gas_required: raw.gas_required,
            storage_deposit: raw.storage_deposit.signed(),
            result: raw
                .result
                .map(|(output, account)| (output.into(), AccountId::from(account)))
                .map_err(|e| self.name_failure(&e)),
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
        let call = self.compose("Contracts", "instantiate_with_code", |index| {
            (
                index,
                Compact(value),
                gas_limit,
                None::<Compact<Balance>>,
                code.to_vec(),
                data.to_vec(),
                salt.to_vec(),
            )
        })?;
        let (block, extrinsic_index, raw) =
            self.submit(signer, call, "an instantiation", TxOptions::default())?;
        let mut address = None;
        let mut events = Vec::new();
        for event in &raw {
            if event.pallet_name() == "Contracts" && event.variant_name() == "Instantiated" {
                // Instantiated { deployer, contract }
                let (_, contract) = <([u8; 32], [u8; 32])>::decode(&mut event.field_bytes())
                    .map_err(|e| ChainError::decode("an Instantiated event", e))?;
                address = Some(AccountId::from(contract));
            }
            if let Some(event) = contract_event(event) {
                events.push(event?);
            }
        }
        let address = address.ok_or_else(|| {
            ChainError::decode("the instantiation's events", "no Contracts::Instantiated")
        })?;
        let included = Included {
            block,
            extrinsic_index,
            events,
        };
        Ok((included, address))
    }

    fn dry_run_call(
        &mut self,
        origin: &AccountId,
        contract: &AccountId,
        data: &[u8],
        value: Balance,
    ) -> Result<DryRun, ChainError> {
        // ContractsApi::call(origin, dest, value, gas_limit, storage_deposit_limit, input)
        let args = (
            *origin,
            *contract,
            value,
            None::<Weight>,
            None::<Balance>,
            data,
        )
            .encode();
        let bytes = self.runtime_call("ContractsApi_call", args)?;
        let raw = RawContractResult::<Result<RawExecReturn, RawDispatchError>>::decode(
            &mut bytes.as_slice(),
        )
        .map_err(|e| ChainError::decode("ContractsApi_call's result", e))?;
        Ok(DryRun {
            gas_required: raw.gas_required,
            storage_deposit: raw.storage_deposit.signed(),
            result: raw
                .result
                .map(Into::into)
                .map_err(|e| self.name_failure(&e)),
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
        self.submit_call_with(
            signer,
            contract,
            data,
            value,
            gas_limit,
            TxOptions::default(),
        )
    }

    fn transfer(
        &mut self,
        signer: &Signer,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Included, ChainError> {
        let dest = MultiAddress::<AccountId32, u32>::Id(to_node(to));
        let call = self.compose("Balances", "transfer_keep_alive", |index| {
            (index, dest, Compact(amount))
        })?;
        let (block, extrinsic_index, _) =
            self.submit(signer, call, "a transfer", TxOptions::default())?;
        Ok(Included {
            block,
            extrinsic_index,
            events: Vec::new(),
        })
    }

    fn free_balance(&mut self, account: &AccountId) -> Result<Balance, ChainError> {
        let data = self
            .api
            .get_account_data(&to_node(account))
            .map_err(|e| client_error("reading a balance", None, e))?;
        Ok(data.map(|d| d.free).unwrap_or_default())
    }
}
