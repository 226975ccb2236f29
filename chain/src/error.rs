//! What can go wrong talking to a chain, said so that a person knows what happened.

use std::{fmt, time::Duration};

use scale::Decode;

/// Why the runtime refused a call or a transaction: a pallet's error by name
/// (`Contracts::ContractTrapped`) or a general one (`Token(FundsUnavailable)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchFailure {
    /// The pallet, for a module error.
    pub pallet: Option<String>,
    /// The error's name.
    pub error: String,
}

impl DispatchFailure {
    /// A pallet's error.
    pub fn module(pallet: &str, error: &str) -> Self {
        Self {
            pallet: Some(pallet.to_owned()),
            error: error.to_owned(),
        }
    }

    /// A general dispatch error.
    pub fn other(error: impl Into<String>) -> Self {
        Self {
            pallet: None,
            error: error.into(),
        }
    }

    /// True when it means the account could not pay (a transfer, a deposit or fees).
    pub fn is_insufficient_funds(&self) -> bool {
        match self.pallet.as_deref() {
            Some("Balances") => matches!(
                self.error.as_str(),
                "InsufficientBalance"
                    | "FundsUnavailable"
                    | "Expendability"
                    | "LiquidityRestrictions"
            ),
            Some("Contracts") => matches!(
                self.error.as_str(),
                "TransferFailed" | "StorageDepositNotEnoughFunds"
            ),
            Some(_) => false,
            None => {
                self.error.starts_with("Token(FundsUnavailable")
                    || self.error.starts_with("Token(BelowMinimum")
                    || self.error.starts_with("Token(CannotCreate")
            }
        }
    }
}

impl fmt::Display for DispatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pallet {
            Some(pallet) => write!(f, "{pallet}::{}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// What a reverted contract said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revert {
    /// The marketplace refused with this error.
    Market(market_types::Error),
    /// ink! could not dispatch the message (unknown selector, undecodable input).
    Lang(ink::LangError),
    /// Another contract's error, as its raw output (for ink!, `Ok(Err(error))` encoded).
    Other(Vec<u8>),
    /// The transaction reverted in its block: submitted without a dry run, or the state
    /// changed after it; dry-run the call to see why.
    InBlock,
}

impl Revert {
    /// Decodes the output of a reverted ink! message of the contract named `contract`.
    pub fn decode(contract: &str, data: &[u8]) -> Self {
        match data {
            // Err(LangError)
            [1, rest @ ..] => match ink::LangError::decode(&mut &rest[..]) {
                Ok(lang) => Self::Lang(lang),
                Err(_) => Self::Other(data.to_vec()),
            },
            // Ok(Err(market_types::Error)): the marketplace's messages all return
            // `Result<_, Error>`, and ink! 5 reverts exactly when they return `Err`.
            [0, 1, rest @ ..] if contract == MARKETPLACE => {
                let mut input = rest;
                match market_types::Error::decode(&mut input) {
                    Ok(error) if input.is_empty() => Self::Market(error),
                    _ => Self::Other(data.to_vec()),
                }
            }
            _ => Self::Other(data.to_vec()),
        }
    }
}

/// The marketplace bundle's contract name.
pub(crate) const MARKETPLACE: &str = "marketplace";

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Market(error) => write!(f, "{error:?}"),
            Self::Lang(error) => write!(f, "ink! could not dispatch it ({error:?})"),
            Self::Other(data) => write!(f, "output 0x{}", hex::encode(data)),
            Self::InBlock => f.write_str("in its block (dry-run it to see why)"),
        }
    }
}

/// Everything [`crate::Chain`] and [`crate::Contract`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// No node answered at the URL, after retrying with backoff.
    #[error(
        "no Substrate node answers at {url} ({attempts} attempts over {waited:.1?}): {reason}"
    )]
    Unreachable {
        /// The URL tried.
        url: String,
        /// How many connection attempts were made.
        attempts: u32,
        /// How long they took.
        waited: Duration,
        /// The last attempt's error.
        reason: String,
    },
    /// The URL is not a WebSocket URL.
    #[error("{url} is not a WebSocket URL (ws://host:port): {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection broke and could not be made again.
    #[error("lost the connection to {url}: {reason}")]
    ConnectionLost {
        /// The node's URL.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The node answered a request with a JSON-RPC error.
    #[error("{url} refused {method}: {message} (JSON-RPC error {code})")]
    Rpc {
        /// The node's URL.
        url: String,
        /// The RPC method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message, with its details.
        message: String,
    },
    /// The contract reverted; nothing changed (a dry run revert is never submitted).
    #[error("{contract}.{message} reverted: {revert}")]
    Reverted {
        /// The contract's name.
        contract: String,
        /// The message or constructor.
        message: String,
        /// What it said.
        revert: Revert,
    },
    /// The account cannot pay: the value sent, the storage deposit or the fees.
    #[error("{account} has not enough funds for {what}: {detail}")]
    InsufficientFunds {
        /// The paying account (hex).
        account: String,
        /// What it tried.
        what: String,
        /// The runtime's or the pool's reason.
        detail: String,
    },
    /// The transaction's nonce was already used, or is too far ahead.
    #[error("the transaction of {account} has a bad nonce: {detail}")]
    Nonce {
        /// The signing account (hex).
        account: String,
        /// The pool's reason.
        detail: String,
    },
    /// The transaction's mortality era is over, or its birth block is unknown.
    #[error("the transaction of {account} is outside its mortality era: {detail}")]
    Era {
        /// The signing account (hex).
        account: String,
        /// The pool's reason.
        detail: String,
    },
    /// The transaction pool refused the transaction for another reason.
    #[error("the node refused the transaction for {what}: {detail}")]
    InvalidTransaction {
        /// What it was.
        what: String,
        /// The pool's reason.
        detail: String,
    },
    /// The runtime refused the call (trapped, out of gas, bad origin, ...).
    #[error("the runtime refused {what}: {failure}")]
    Dispatch {
        /// What it was.
        what: String,
        /// The runtime's error.
        failure: DispatchFailure,
    },
    /// The transaction left the pool without being included (dropped, usurped, invalid).
    #[error("the transaction for {what} was not included: {status}")]
    NotIncluded {
        /// What it was.
        what: String,
        /// Its last status.
        status: String,
    },
    /// Bytes from the chain or a contract did not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was decoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The contract's bundle has no such message or constructor, or cannot be loaded.
    #[error(transparent)]
    Bundle(#[from] contract_bundle::BundleError),
    /// A signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::signer::KeyError),
    /// substrate-api-client failed otherwise (its errors are not `std::error::Error`).
    #[error("substrate-api-client failed {what}: {detail}")]
    Client {
        /// What it was doing.
        what: String,
        /// Its error, printed.
        detail: String,
    },
}

impl ChainError {
    /// The marketplace's error, when this is a revert of the marketplace.
    pub fn market_error(&self) -> Option<market_types::Error> {
        match self {
            Self::Reverted {
                revert: Revert::Market(error),
                ..
            } => Some(*error),
            _ => None,
        }
    }

    /// Maps a runtime refusal of `what`, paid by `account`, to the clearest error.
    pub(crate) fn dispatch(
        what: &str,
        account: &crate::AccountId,
        failure: DispatchFailure,
    ) -> Self {
        if failure.is_insufficient_funds() {
            Self::InsufficientFunds {
                account: crate::account_hex(account),
                what: what.to_owned(),
                detail: failure.to_string(),
            }
        } else {
            Self::Dispatch {
                what: what.to_owned(),
                failure,
            }
        }
    }

    pub(crate) fn decode(what: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::Decode {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// `sp_runtime::DispatchError` as both runtime generations encode it, decoded without
/// either's types. Module errors are named by the caller from its runtime's metadata.
// The payloads are read through `Debug`, which names the error.
#[allow(dead_code)]
#[derive(Debug, Decode)]
pub(crate) enum RawDispatchError {
    Other,
    CannotLookup,
    BadOrigin,
    Module { index: u8, error: [u8; 4] },
    ConsumerRemaining,
    NoProviders,
    TooManyConsumers,
    Token(RawTokenError),
    Arithmetic(RawArithmeticError),
    Transactional(RawTransactionalError),
    Exhausted,
    Corruption,
    Unavailable,
    RootNotAllowed,
    Trie(RawTrieError),
}

#[derive(Debug, Decode)]
pub(crate) enum RawTrieError {
    InvalidStateRoot,
    IncompleteDatabase,
    ValueAtIncompleteKey,
    DecoderError,
    InvalidHash,
    DuplicateKey,
    ExtraneousNode,
    ExtraneousValue,
    ExtraneousHashReference,
    InvalidChildReference,
    ValueMismatch,
    IncompleteProof,
    RootMismatch,
    DecodeError,
}

#[derive(Debug, Decode)]
pub(crate) enum RawTokenError {
    FundsUnavailable,
    OnlyProvider,
    BelowMinimum,
    CannotCreate,
    UnknownAsset,
    Frozen,
    Unsupported,
    CannotCreateHold,
    NotExpendable,
    Blocked,
}

#[derive(Debug, Decode)]
pub(crate) enum RawArithmeticError {
    Underflow,
    Overflow,
    DivisionByZero,
}

#[derive(Debug, Decode)]
pub(crate) enum RawTransactionalError {
    LimitReached,
    NoLayer,
}

impl RawDispatchError {
    /// Names it; `module_name(pallet index, error index)` names module errors.
    pub(crate) fn name(
        &self,
        module_name: impl FnOnce(u8, u8) -> Option<(String, String)>,
    ) -> DispatchFailure {
        match self {
            Self::Module { index, error } => match module_name(*index, error[0]) {
                Some((pallet, error)) => DispatchFailure {
                    pallet: Some(pallet),
                    error,
                },
                None => {
                    DispatchFailure::other(format!("module error {} of pallet {index}", error[0]))
                }
            },
            other => DispatchFailure::other(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scale::Encode;

    #[test]
    fn reverts_decode_by_contract() {
        // What ink! 5 returns for a marketplace message that returned Err(SoldOut).
        let sold_out = Ok::<Result<u64, _>, ink::LangError>(Err(market_types::Error::SoldOut));
        let bytes = sold_out.encode();
        assert_eq!(
            Revert::decode(MARKETPLACE, &bytes),
            Revert::Market(market_types::Error::SoldOut)
        );
        // The same bytes from another contract are not the marketplace's error.
        assert_eq!(
            Revert::decode("token", &bytes),
            Revert::Other(bytes.clone())
        );
        // An unknown selector.
        let lang = Err::<(), _>(ink::LangError::CouldNotReadInput).encode();
        assert_eq!(
            Revert::decode(MARKETPLACE, &lang),
            Revert::Lang(ink::LangError::CouldNotReadInput)
        );
        // Trailing bytes are not silently accepted.
        let mut long = bytes;
        long.push(0);
        assert!(matches!(
            Revert::decode(MARKETPLACE, &long),
            Revert::Other(_)
        ));
    }

    #[test]
    fn funds_failures_are_recognised() {
        assert!(DispatchFailure::module("Contracts", "TransferFailed").is_insufficient_funds());
        assert!(DispatchFailure::other("Token(FundsUnavailable)").is_insufficient_funds());
        assert!(!DispatchFailure::module("Contracts", "ContractTrapped").is_insufficient_funds());
        assert!(!DispatchFailure::other("BadOrigin").is_insufficient_funds());
    }
}
