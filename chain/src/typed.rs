//! Typed calls over any [`Chain`]: arguments encoded with the contracts' own Rust types,
//! selectors from the bundle's metadata, a dry run before every transaction.

use scale::{Decode, Encode};

use crate::{
    error::{ChainError, Revert},
    AccountId, Balance, Bundle, Chain, ContractEvent, ExecReturn, Included, Signer, Weight,
};

/// A deployed contract: its account and the bundle it was built from.
#[derive(Clone)]
pub struct Contract {
    /// Its account.
    pub address: AccountId,
    bundle: Bundle,
}

/// A message that went into a block.
#[derive(Debug)]
pub struct Called<R> {
    /// The message's decoded return value (from the dry run, which the block confirmed).
    pub value: R,
    /// Where it went and what it emitted.
    pub included: Included,
    /// The gas limit it was submitted with (the dry run's requirement).
    pub gas_limit: Weight,
}

impl<R> Called<R> {
    /// The contract events the call emitted.
    pub fn events(&self) -> &[ContractEvent] {
        &self.included.events
    }
}

impl Contract {
    /// A handle on a contract already deployed at `address` from `bundle`.
    pub fn at(address: AccountId, bundle: Bundle) -> Self {
        Self { address, bundle }
    }

    /// The contract's name (from its bundle).
    pub fn name(&self) -> &str {
        &self.bundle.name
    }

    /// The call data of `message(args)`: its selector and SCALE-encoded arguments (for
    /// batches, see [`crate::RpcChain::submit_batch_calls`]).
    pub fn call_data(&self, message: &str, args: &impl Encode) -> Result<Vec<u8>, ChainError> {
        encode_call(&self.bundle, message, args)
    }

    /// Uploads `bundle`'s code and instantiates it with `constructor(args)`, sending
    /// `value`, after a dry run. `R` is the constructor's return type: `()`, or
    /// `market_types::Result<()>` for a fallible one (an `Err` comes back as
    /// [`ChainError::Reverted`]).
    #[allow(clippy::too_many_arguments)]
    pub fn deploy<C: Chain + ?Sized, R: Decode>(
        chain: &mut C,
        signer: &Signer,
        bundle: &Bundle,
        constructor: &str,
        args: &impl Encode,
        value: Balance,
        salt: &[u8],
    ) -> Result<(Self, Called<R>), ChainError> {
        let data = encode_call(bundle, constructor, args)?;
        let origin = signer.account_id();
        let what = format!("{}.{constructor}", bundle.name);
        let dry = chain.dry_run_instantiate(&origin, &bundle.wasm, &data, value, salt)?;
        let (output, _) = dry
            .result
            .map_err(|failure| ChainError::dispatch(&what, &origin, failure))?;
        let value_out = decode_output::<R>(&bundle.name, constructor, &output)?;
        let (included, address) = chain.instantiate_with_code(
            signer,
            &bundle.wasm,
            &data,
            value,
            salt,
            dry.gas_required,
        )?;
        let contract = Self {
            address,
            bundle: bundle.clone(),
        };
        let called = Called {
            value: value_out,
            included,
            gas_limit: dry.gas_required,
        };
        Ok((contract, called))
    }

    /// Calls `message(args)` signed by `signer`, sending `value`: a dry run first (for the
    /// gas and the result; a revert is returned as [`ChainError::Reverted`] and never
    /// submitted), then the transaction, returned once it is in a block. `R` is the
    /// message's return type, e.g. `market_types::Result<u64>`.
    pub fn call<C: Chain + ?Sized, R: Decode>(
        &self,
        chain: &mut C,
        signer: &Signer,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> Result<Called<R>, ChainError> {
        let data = encode_call(&self.bundle, message, args)?;
        let origin = signer.account_id();
        let dry = chain.dry_run_call(&origin, &self.address, &data, value)?;
        let what = format!("{}.{message}", self.bundle.name);
        let output = dry
            .result
            .map_err(|failure| ChainError::dispatch(&what, &origin, failure))?;
        let value_out = decode_output::<R>(&self.bundle.name, message, &output)?;
        let included = chain
            .submit_call(signer, &self.address, &data, value, dry.gas_required)
            .map_err(|error| match error {
                ChainError::Reverted { .. } => ChainError::Reverted {
                    contract: self.bundle.name.clone(),
                    message: message.to_owned(),
                    revert: Revert::InBlock,
                },
                other => other,
            })?;
        Ok(Called {
            value: value_out,
            included,
            gas_limit: dry.gas_required,
        })
    }

    /// A read-only call as `origin` on the best block's state: nothing is submitted.
    pub fn query<C: Chain + ?Sized, R: Decode>(
        &self,
        chain: &mut C,
        origin: &AccountId,
        message: &str,
        args: &impl Encode,
    ) -> Result<R, ChainError> {
        let data = encode_call(&self.bundle, message, args)?;
        let dry = chain.dry_run_call(origin, &self.address, &data, 0)?;
        let what = format!("{}.{message}", self.bundle.name);
        let output = dry
            .result
            .map_err(|failure| ChainError::dispatch(&what, origin, failure))?;
        decode_output::<R>(&self.bundle.name, message, &output)
    }
}

fn encode_call(bundle: &Bundle, label: &str, args: &impl Encode) -> Result<Vec<u8>, ChainError> {
    let mut data = bundle.selector(label)?.to_vec();
    args.encode_to(&mut data);
    Ok(data)
}

/// Decodes an ink! message's output (`Result<R, LangError>`), or says why it reverted.
fn decode_output<R: Decode>(
    contract: &str,
    message: &str,
    output: &ExecReturn,
) -> Result<R, ChainError> {
    if output.reverted {
        return Err(ChainError::Reverted {
            contract: contract.to_owned(),
            message: message.to_owned(),
            revert: Revert::decode(contract, &output.data),
        });
    }
    let mut input = output.data.as_slice();
    let decoded = <Result<R, ink::LangError>>::decode(&mut input)
        .map_err(|e| ChainError::decode(format!("the output of {contract}.{message}"), e))?;
    decoded.map_err(|lang| ChainError::Reverted {
        contract: contract.to_owned(),
        message: message.to_owned(),
        revert: Revert::Lang(lang),
    })
}
