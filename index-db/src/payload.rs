//! Conventions of what the writer stores that readers rely on: how a raw event's JSON
//! payload names accounts, and the bounds every offer row keeps.

/// The SS58 prefix of the accounts in a raw event's payload (the generic Substrate one),
/// whatever the network's own.
pub const PAYLOAD_SS58_PREFIX: u16 = 42;

/// The keys under which a payload holds accounts, at any depth: buyers, owners, payees
/// and payouts, admins, token addresses. A reader that shows accounts in another prefix
/// re-encodes the strings under these keys (the web API's event feed does).
pub const PAYLOAD_ACCOUNT_KEYS: &[&str] = &[
    "account",
    "admin",
    "buyer",
    "fee_recipient",
    "from",
    "owner",
    "psp22",
    "spender",
    "to",
    "token",
];

/// Bounds on what an offer row holds: the marketplace's own limits
/// (`market_types::limits`, which the indexer checks these against at compile time), so
/// that a reader can refuse a query no row could match without linking the contract's
/// types.
pub mod offer_limits {
    /// Most tags on an offer.
    pub const TAGS: usize = 16;
    /// Longest tag, in bytes of UTF-8.
    pub const TAG: usize = 32;
}
