//! The CLI library's one error type: each variant says what a user can do about it.

use std::path::PathBuf;

use chain::market_types::Error as MarketError;

/// Everything a command can fail with. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain or a contract call failed (unreachable node, insufficient funds, ...).
    #[error(transparent)]
    Chain(#[from] chain::ChainError),
    /// The marketplace refused a call.
    #[error("the marketplace refused to {action}: {}", explain(*.error))]
    Refused {
        /// What was tried ("buy offer 7").
        action: String,
        /// The marketplace's error.
        error: MarketError,
    },
    /// Encryption, decryption or a key check failed.
    #[error(transparent)]
    Sealer(#[from] sealer::Error),
    /// A signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] chain::KeyError),
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("cannot read").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No offer with this id.
    #[error("offer {0} does not exist on this marketplace")]
    UnknownOffer(u64),
    /// No purchase with this id.
    #[error("purchase {0} does not exist on this marketplace")]
    UnknownPurchase(u64),
    /// Bad input or a state the command cannot work with; the message says which.
    #[error("{0}")]
    Invalid(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] with this message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// An [`Error::Io`].
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// Turns a marketplace revert of a call into [`Error::Refused`] for `action`.
    pub fn from_call(action: impl Into<String>, error: chain::ChainError) -> Self {
        match error.market_error() {
            Some(market) => Self::Refused {
                action: action.into(),
                error: market,
            },
            None => Self::Chain(error),
        }
    }
}

/// A marketplace error in words, with its name for searching.
fn explain(error: MarketError) -> String {
    let words = match error {
        MarketError::MarketPaused => "the marketplace is paused by its admin",
        MarketError::OfferNotFound => "no such offer",
        MarketError::PurchaseNotFound => "no such purchase",
        MarketError::NotOfferOwner => "the signing account does not own this offer",
        MarketError::OfferPaused => "the offer is paused",
        MarketError::OfferDelisted => "the offer is delisted",
        MarketError::SoldOut => "the offer is sold out",
        MarketError::ZeroPrice => "the price must be above zero",
        MarketError::WrongPayment => "the payment does not match the price",
        MarketError::BondTooLow => "the bond is below the marketplace's minimum",
        MarketError::EmptyTitle => "the title is empty",
        MarketError::TitleTooLong => "the title is too long (128 bytes at most)",
        MarketError::DescriptionTooLong => "the description is too long (2048 bytes at most)",
        MarketError::TooManyTags => "too many tags (16 at most)",
        MarketError::InvalidTag => "a tag is empty or too long (32 bytes at most)",
        MarketError::InvalidUri => "the ciphertext URI is empty or too long",
        MarketError::ControlCharacter => {
            "the title, tags, URI, description or schema hold a control character (only the description and schema may have line breaks and tabs)"
        }
        MarketError::SplitNotTotal => "the payees' shares must sum to 10000 basis points",
        MarketError::DuplicatePayee => "a payee appears twice",
        MarketError::ZeroShare => "a payee has a zero share",
        MarketError::TooManyPayees => "too many payees (16 at most)",
        MarketError::NotAContract => "the token address is not a contract",
        MarketError::NotPending => "the purchase is no longer waiting for its key",
        MarketError::DeliveryDeadlinePassed => "the delivery deadline has passed",
        MarketError::DeliveryDeadlineNotReached => {
            "the delivery deadline has not passed yet; try again after it"
        }
        MarketError::NotDelivered => "no key has been delivered for this purchase",
        MarketError::DisputeWindowOpen => {
            "the dispute window is still open; settle after it closes"
        }
        MarketError::InvalidStatusChange => "the offer is already in that state",
        MarketError::NothingToWithdraw => "nothing to withdraw",
        MarketError::TokenTransferFailed => {
            "the token transfer failed (not enough tokens or allowance)"
        }
        MarketError::TransferFailed => "the transfer failed",
        MarketError::NotBuyer => "the signing account is not this purchase's buyer",
        _ => "see the marketplace's documentation",
    };
    format!("{words} ({error:?})")
}
