//! The selectors of the contract messages the CLI calls, computed at compile time as ink!
//! does (the first 4 bytes of BLAKE2b-256 of the message's name, `Trait::message` for
//! trait messages), so that a user needs no contract bundle files. `tests/selectors.rs`
//! checks each one against the built bundles' metadata.

use chain::Bundle;

/// The marketplace's messages that the CLI calls.
pub const MARKETPLACE: &[(&str, [u8; 4])] = &[
    ("config", ink::selector_bytes!("config")),
    ("last_ids", ink::selector_bytes!("last_ids")),
    ("offer", ink::selector_bytes!("offer")),
    ("offer_metadata", ink::selector_bytes!("offer_metadata")),
    ("purchase_info", ink::selector_bytes!("purchase_info")),
    ("credit_of", ink::selector_bytes!("credit_of")),
    ("create_offer", ink::selector_bytes!("create_offer")),
    ("pause_offer", ink::selector_bytes!("pause_offer")),
    ("resume_offer", ink::selector_bytes!("resume_offer")),
    ("delist_offer", ink::selector_bytes!("delist_offer")),
    ("update_price", ink::selector_bytes!("update_price")),
    ("purchase", ink::selector_bytes!("purchase")),
    ("deliver", ink::selector_bytes!("deliver")),
    ("dispute", ink::selector_bytes!("dispute")),
    ("settle", ink::selector_bytes!("settle")),
    ("refund", ink::selector_bytes!("refund")),
    ("withdraw", ink::selector_bytes!("withdraw")),
    (
        "set_compute_terms",
        ink::selector_bytes!("set_compute_terms"),
    ),
    ("compute_terms", ink::selector_bytes!("compute_terms")),
    ("purchase_job", ink::selector_bytes!("purchase_job")),
    ("job_of", ink::selector_bytes!("job_of")),
    ("deliver_result", ink::selector_bytes!("deliver_result")),
    ("fail_job", ink::selector_bytes!("fail_job")),
];

/// The PSP22 messages that the CLI calls on a token.
pub const PSP22: &[(&str, [u8; 4])] = &[
    (
        "PSP22::balance_of",
        ink::selector_bytes!("PSP22::balance_of"),
    ),
    ("PSP22::approve", ink::selector_bytes!("PSP22::approve")),
];

/// The marketplace's call handle.
pub fn marketplace() -> Bundle {
    Bundle::from_selectors("marketplace", MARKETPLACE)
}

/// A PSP22 token's call handle.
pub fn psp22() -> Bundle {
    Bundle::from_selectors("token", PSP22)
}
