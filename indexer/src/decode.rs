//! Which events the indexer keeps, and what they say.
//!
//! Only events of the watched contracts (the marketplace and the configured PSP22 tokens)
//! are kept. Each is decoded by its ink! 5 signature topic (the first topic): the
//! marketplace's with [`market_types::decode::MarketEvent`], the tokens' as the `psp22`
//! crate's own `Transfer` and `Approval`. An event of a watched contract that does not
//! decode (unknown signature, no topics, or bytes that do not fit) is
//! [`Classified::Undecodable`]: stored whole, never skipped silently.

use chain::{AccountId, ContractEvent};
use ink::env::Event as _;
use market_types::decode::MarketEvent;
use market_types::OfferStatus;
use scale::Decode;
use serde_json::{json, Value};

/// The contracts the indexer follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// The marketplace.
    pub marketplace: AccountId,
    /// PSP22 tokens whose transfers are mirrored into `token_balances`.
    pub tokens: Vec<AccountId>,
}

/// A PSP22 event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenEvent {
    /// Tokens moved (minted when `from` is `None`, burnt when `to` is).
    Transfer {
        /// The sender.
        from: Option<AccountId>,
        /// The recipient.
        to: Option<AccountId>,
        /// The amount.
        value: u128,
    },
    /// An allowance was set.
    Approval {
        /// Who allows.
        owner: AccountId,
        /// Who may spend.
        spender: AccountId,
        /// How much.
        amount: u128,
    },
}

/// A decoded event of a watched contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The marketplace's.
    Market(Box<MarketEvent>),
    /// A watched token's.
    Token {
        /// Which token.
        token: AccountId,
        /// What happened.
        event: TokenEvent,
    },
}

impl Decoded {
    /// The name stored in `raw_events.name`: the marketplace's event names as in its
    /// metadata, `psp22.Transfer` and `psp22.Approval` for tokens.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Market(event) => event.name(),
            Self::Token {
                event: TokenEvent::Transfer { .. },
                ..
            } => "psp22.Transfer",
            Self::Token {
                event: TokenEvent::Approval { .. },
                ..
            } => "psp22.Approval",
        }
    }
}

/// What the indexer makes of one contract event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// Decoded.
    Decoded(Decoded),
    /// From a watched contract but not decodable; the reason says why.
    Undecodable(String),
    /// From a contract the indexer does not follow.
    Foreign,
}

impl Watched {
    /// Classifies `event`.
    pub fn classify(&self, event: &ContractEvent) -> Classified {
        let is_market = event.contract == self.marketplace;
        let is_token = self.tokens.contains(&event.contract);
        if !is_market && !is_token {
            return Classified::Foreign;
        }
        let Some(signature) = event.topics.first() else {
            return Classified::Undecodable("an event without topics (anonymous)".into());
        };
        let decoded = if is_market {
            match MarketEvent::decode(signature, &event.data) {
                Some(Ok(mut market)) => {
                    storable_text(&mut market);
                    Ok(Decoded::Market(Box::new(market)))
                }
                Some(Err(e)) => Err(format!("the bytes do not decode as its event: {e}")),
                None => Err(format!(
                    "no marketplace event has the signature topic 0x{}",
                    hex::encode(signature)
                )),
            }
        } else {
            decode_token(signature, &event.data).map(|token_event| Decoded::Token {
                token: event.contract,
                event: token_event,
            })
        };
        match decoded {
            Ok(decoded) => Classified::Decoded(decoded),
            Err(reason) => Classified::Undecodable(reason),
        }
    }
}

/// Makes an event's texts storable in Postgres. The contract accepts any UTF-8, and
/// U+0000 is UTF-8, but Postgres text and jsonb cannot hold it: one offer with a NUL in
/// its title would fail its batch on every restart and stop the index for everyone. Each
/// NUL becomes U+FFFD (the replacement character); `raw_events.data` keeps the bytes as
/// emitted, and a rebuild decodes them through here again, so it ends the same.
fn storable_text(event: &mut MarketEvent) {
    fn clean(text: &mut String) {
        if text.contains('\0') {
            *text = text.replace('\0', "\u{FFFD}");
        }
    }
    let (uri, metadata) = match event {
        MarketEvent::OfferCreated(e) => (&mut e.uri, &mut e.metadata),
        MarketEvent::OfferMetadataUpdated(e) => (&mut e.uri, &mut e.metadata),
        _ => return,
    };
    clean(uri);
    clean(&mut metadata.title);
    clean(&mut metadata.description);
    clean(&mut metadata.schema);
    metadata.tags.iter_mut().for_each(clean);
}

fn decode_token(signature: &[u8; 32], data: &[u8]) -> Result<TokenEvent, String> {
    fn whole<T: Decode>(mut data: &[u8]) -> Result<T, String> {
        let value = T::decode(&mut data).map_err(|e| format!("the bytes do not decode: {e}"))?;
        if data.is_empty() {
            Ok(value)
        } else {
            Err("trailing bytes after the event".into())
        }
    }
    if psp22::Transfer::SIGNATURE_TOPIC.as_ref() == Some(signature) {
        let e: psp22::Transfer = whole(data)?;
        Ok(TokenEvent::Transfer {
            from: e.from,
            to: e.to,
            value: e.value,
        })
    } else if psp22::Approval::SIGNATURE_TOPIC.as_ref() == Some(signature) {
        let e: psp22::Approval = whole(data)?;
        Ok(TokenEvent::Approval {
            owner: e.owner,
            spender: e.spender,
            amount: e.amount,
        })
    } else {
        Err(format!(
            "no PSP22 event has the signature topic 0x{}",
            hex::encode(signature)
        ))
    }
}

pub use index_db::payload::{PAYLOAD_ACCOUNT_KEYS, PAYLOAD_SS58_PREFIX};

/// An account as SS58 ([`PAYLOAD_SS58_PREFIX`]), as people read it.
///
/// The SS58 checksum is a BLAKE2b-512 hash, which was the largest single cost of writing
/// a batch; the same accounts recur across events, so encodings are remembered (per
/// thread, at most [`SS58_CACHE`] of them).
pub fn ss58(account: &AccountId) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<[u8; 32], String>> = RefCell::new(HashMap::new());
    }
    let bytes = *AsRef::<[u8; 32]>::as_ref(account);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(known) = cache.get(&bytes) {
            return known.clone();
        }
        if cache.len() >= SS58_CACHE {
            cache.clear();
        }
        let encoded = index_db::ss58::encode(&bytes, PAYLOAD_SS58_PREFIX);
        cache.insert(bytes, encoded.clone());
        encoded
    })
}

/// The `offers.status` text of a status.
pub fn offer_status(status: OfferStatus) -> &'static str {
    match status {
        OfferStatus::Active => "active",
        OfferStatus::Paused => "paused",
        OfferStatus::Delisted => "delisted",
    }
}

/// How many SS58 encodings [`ss58`] remembers per thread.
pub const SS58_CACHE: usize = 65_536;

/// Bytes as `0x…` hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The event as JSON for `raw_events.payload`: accounts in SS58, bytes in hex, amounts as
/// decimal strings (they are u128).
pub fn payload(decoded: &Decoded) -> Value {
    use market_types::{Asset, OfferMetadata};
    fn asset(a: &Asset) -> Value {
        match a {
            Asset::Native => json!("native"),
            Asset::Psp22(token) => json!({ "psp22": ss58(token) }),
        }
    }
    fn metadata(m: &OfferMetadata) -> Value {
        json!({
            "title": m.title, "description": m.description, "tags": m.tags,
            "schema": m.schema, "size": m.size,
        })
    }
    fn status(s: &OfferStatus) -> &'static str {
        offer_status(*s)
    }
    let market = match decoded {
        Decoded::Token { token, event } => {
            return match event {
                TokenEvent::Transfer { from, to, value } => json!({
                    "token": ss58(token),
                    "from": from.as_ref().map(ss58),
                    "to": to.as_ref().map(ss58),
                    "value": value.to_string(),
                }),
                TokenEvent::Approval {
                    owner,
                    spender,
                    amount,
                } => json!({
                    "token": ss58(token),
                    "owner": ss58(owner),
                    "spender": ss58(spender),
                    "amount": amount.to_string(),
                }),
            }
        }
        Decoded::Market(market) => market.as_ref(),
    };
    match market {
        MarketEvent::OfferCreated(e) => json!({
            "offer_id": e.offer_id, "owner": ss58(&e.owner),
            "content_root": hex0x(&e.content_root), "header": hex0x(&e.header),
            "key_commitment": hex0x(&e.key_commitment), "price": e.price.to_string(),
            "asset": asset(&e.asset), "uri": e.uri, "metadata": metadata(&e.metadata),
            "payees": e.payees.iter().map(|p| json!({"account": ss58(&p.account), "bps": p.bps})).collect::<Vec<_>>(),
            "bond": e.bond.to_string(), "max_purchases": e.max_purchases,
        }),
        MarketEvent::OfferPriceUpdated(e) => json!({
            "offer_id": e.offer_id, "price": e.price.to_string(),
        }),
        MarketEvent::OfferMetadataUpdated(e) => json!({
            "offer_id": e.offer_id, "uri": e.uri, "metadata": metadata(&e.metadata),
        }),
        MarketEvent::OfferStatusChanged(e) => json!({
            "offer_id": e.offer_id, "status": status(&e.status),
        }),
        MarketEvent::BondReleased(e) => json!({
            "offer_id": e.offer_id, "owner": ss58(&e.owner), "amount": e.amount.to_string(),
        }),
        MarketEvent::PurchaseCreated(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "buyer": ss58(&e.buyer),
            "buyer_pk": hex0x(&e.buyer_pk), "amount": e.amount.to_string(),
            "asset": asset(&e.asset), "fee_bps": e.fee_bps,
            "delivery_deadline": e.delivery_deadline,
        }),
        MarketEvent::KeyDelivered(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id,
            "envelope": hex0x(&e.envelope), "dispute_deadline": e.dispute_deadline,
        }),
        MarketEvent::PurchaseSettled(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "asset": asset(&e.asset),
            "fee": e.fee.to_string(),
            "payouts": e.payouts.iter().map(|(a, v)| json!({"account": ss58(a), "amount": v.to_string()})).collect::<Vec<_>>(),
        }),
        MarketEvent::PurchaseRefunded(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "buyer": ss58(&e.buyer),
            "amount": e.amount.to_string(), "asset": asset(&e.asset),
        }),
        MarketEvent::Withdrawn(e) => json!({
            "account": ss58(&e.account), "asset": asset(&e.asset), "amount": e.amount.to_string(),
        }),
        MarketEvent::ConfigChanged(e) => config_json(&e.config),
        MarketEvent::MarketPauseChanged(e) => json!({ "paused": e.paused }),
        MarketEvent::AdminTransferred(e) => json!({
            "from": ss58(&e.from), "to": ss58(&e.to),
        }),
        MarketEvent::CodeUpgraded(e) => json!({ "code_hash": hex0x(&e.code_hash) }),
        MarketEvent::PurchaseDisputed(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "buyer": ss58(&e.buyer),
            "owner": ss58(&e.owner), "kind": dispute_kind(&e.kind),
            "chunk_index": match e.kind { market_types::DisputeKind::Chunk { index } => Some(index), market_types::DisputeKind::Envelope => None },
            "buyer_won": e.buyer_won, "asset": asset(&e.asset), "refund": e.refund.to_string(),
            "penalty": e.penalty.to_string(), "bond": e.bond.to_string(),
            "revealed_key": e.revealed_key.as_ref().map(|k| hex0x(k)),
        }),
        MarketEvent::DisputePenaltyChanged(e) => json!({ "penalty": e.penalty.to_string() }),
        MarketEvent::ComputeTermsSet(e) => json!({
            "offer_id": e.offer_id,
            "terms": e.terms.as_ref().map(|t| json!({
                "price": t.price.to_string(), "sells_access": t.sells_access,
                "allowed_jobs": t.allowed_jobs.iter().map(|j| hex0x(j)).collect::<Vec<_>>(),
                "any_job": t.any_job, "result_cap": t.result_cap, "fuel_cap": t.fuel_cap,
                "memory_cap": t.memory_cap,
            })),
        }),
        MarketEvent::JobPurchased(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "job_hash": hex0x(&e.job_hash),
            "job_uri": e.job_uri, "args_hash": hex0x(&e.args_hash),
        }),
        MarketEvent::JobCompleted(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id,
            "dataset_root": hex0x(&e.dataset_root), "job_hash": hex0x(&e.job_hash),
            "args_hash": hex0x(&e.args_hash), "result_sha256": hex0x(&e.result_sha256),
            "result_root": hex0x(&e.result_root), "result_uri": e.result_uri,
            "fuel_used": e.fuel_used,
        }),
        MarketEvent::JobFailed(e) => json!({
            "purchase_id": e.purchase_id, "offer_id": e.offer_id, "kind": e.kind,
        }),
    }
}

/// `disputes.kind`: `envelope` or `chunk`.
pub fn dispute_kind(kind: &market_types::DisputeKind) -> &'static str {
    match kind {
        market_types::DisputeKind::Envelope => "envelope",
        market_types::DisputeKind::Chunk { .. } => "chunk",
    }
}

/// The marketplace's settings as JSON (also `market_config.config`).
pub fn config_json(c: &market_types::Config) -> Value {
    json!({
        "admin": ss58(&c.admin), "fee_bps": c.fee_bps, "fee_recipient": ss58(&c.fee_recipient),
        "delivery_period": c.delivery_period, "dispute_window": c.dispute_window,
        "min_bond": c.min_bond.to_string(), "dispute_bond": c.dispute_bond.to_string(),
        "paused": c.paused,
    })
}
