//! Workloads that make the real contracts emit events, on either chain backend.
#![allow(dead_code)]

use chain::market_types::{
    Asset, NewOffer, OfferId, PurchaseId, Result as MarketResult, HEADER_LEN,
};
use chain::{
    AccountId, BlockReader, Bundle, Chain, Contract, Deployed, InProcessChain, MarketSettings,
    Signer,
};
use contract_harness::market::TokenError;

pub const BOND: u128 = 1_000;
pub const FEE_BPS: u16 = 250;
pub const DELIVERY_PERIOD: u32 = 5;
pub const DISPUTE_WINDOW: u32 = 2;

pub struct Market {
    pub token: Contract,
    pub market: Contract,
}

impl Market {
    pub fn watched(&self) -> indexer::Watched {
        indexer::Watched {
            marketplace: self.market.address,
            tokens: vec![self.token.address],
        }
    }
}

pub fn admin() -> Signer {
    Signer::alice()
}
pub fn fee_recipient() -> Signer {
    Signer::dev("Ferdie")
}

/// Deploys the token (all supply to Alice) and the marketplace (Alice admin).
pub fn deploy<C: Chain + ?Sized>(chain: &mut C) -> Market {
    let settings = MarketSettings {
        fee_bps: FEE_BPS,
        fee_recipient: fee_recipient().account_id(),
        delivery_period: DELIVERY_PERIOD,
        dispute_window: DISPUTE_WINDOW,
        min_bond: BOND,
    };
    let Deployed { token, market } = chain::deploy_market(chain, &admin(), &settings, b"")
        .expect("deploy the token and the marketplace (scripts/build-contracts)");
    Market { token, market }
}

pub fn header() -> [u8; HEADER_LEN] {
    datamarket_fixtures::header(datamarket_fixtures::CHUNK_SIZE)
}

/// The fixture kit's `n`th offer, at `price` in `asset`, split among `payees`.
pub fn new_offer(n: u64, price: u128, asset: Asset, payees: &[(AccountId, u16)]) -> NewOffer {
    datamarket_fixtures::OfferBuilder::numbered(n)
        .price(price)
        .asset(asset)
        .payees(payees)
        .build()
}

pub fn call<C: Chain + ?Sized, R: scale::Decode>(
    chain: &mut C,
    contract: &Contract,
    signer: &Signer,
    message: &str,
    args: &impl scale::Encode,
    value: u128,
) -> R {
    contract
        .call::<_, R>(chain, signer, message, args, value)
        .unwrap_or_else(|e| panic!("{message}: {e}"))
        .value
}

/// What [`every_event`] did, for assertions.
pub struct Story {
    pub native_offer: OfferId,
    pub union_offer: OfferId,
    pub settled_native: PurchaseId,
    pub settled_token: PurchaseId,
    pub refunded: PurchaseId,
    pub disputed: PurchaseId,
    pub union: [AccountId; 3],
    pub owner: AccountId,
    pub buyer: AccountId,
    pub new_admin: AccountId,
}

pub const PRICE: u128 = 5_000_000;
pub const DISPUTE_BOND: u128 = 700;
pub const PENALTY: u128 = 300;
/// The disputing buyer's per-purchase X25519 secret.
pub const BUYER_SECRET: [u8; 32] = [5; 32];
pub const TOKEN_PRICE: u128 = 2_000_001;

/// Makes the marketplace and the token emit every event they have.
pub fn every_event(chain: &mut InProcessChain, m: &Market) -> Story {
    let admin = admin();
    let owner = Signer::bob();
    let buyer = Signer::dev("Charlie");
    let union = [Signer::dev("Dave"), Signer::dev("Eve"), Signer::bob()];
    let union_ids = [
        union[0].account_id(),
        union[1].account_id(),
        union[2].account_id(),
    ];
    // ConfigChanged (names the fee recipient), MarketPauseChanged x2.
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &admin,
        "set_fee",
        &(FEE_BPS, fee_recipient().account_id()),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &admin, "set_paused", &true, 0).unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &admin, "set_paused", &false, 0).unwrap();
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &admin,
        "set_bonds",
        &(BOND, DISPUTE_BOND),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &admin, "set_dispute_penalty", &PENALTY, 0)
        .unwrap();

    let native_offer: OfferId = call::<_, MarketResult<OfferId>>(
        chain,
        &m.market,
        &owner,
        "create_offer",
        &new_offer(1, PRICE, Asset::Native, &[(owner.account_id(), 10_000)]),
        BOND,
    )
    .unwrap();
    let union_offer: OfferId = call::<_, MarketResult<OfferId>>(
        chain,
        &m.market,
        &union[0],
        "create_offer",
        &new_offer(
            2,
            TOKEN_PRICE,
            Asset::Psp22(m.token.address),
            &[
                (union_ids[0], 5_000),
                (union_ids[1], 3_000),
                (union_ids[2], 2_000),
            ],
        ),
        BOND,
    )
    .unwrap();
    // OfferPriceUpdated, OfferMetadataUpdated, OfferStatusChanged (pause, resume).
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &owner,
        "update_price",
        &(native_offer, PRICE + 1),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &owner,
        "update_price",
        &(native_offer, PRICE),
        0,
    )
    .unwrap();
    let mut metadata = new_offer(1, 0, Asset::Native, &[]).metadata;
    metadata.title = "Daily step counts, 2025, cleaned".into();
    metadata.tags.push("fitness".into());
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &owner,
        "update_metadata",
        &(
            native_offer,
            String::from("file:///blobs/1b.dmseal"),
            metadata,
        ),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &owner, "pause_offer", &native_offer, 0).unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &owner, "resume_offer", &native_offer, 0)
        .unwrap();

    // A native purchase, delivered and settled.
    let settled_native: PurchaseId = call::<_, MarketResult<PurchaseId>>(
        chain,
        &m.market,
        &buyer,
        "purchase",
        &(native_offer, [7u8; 32]),
        PRICE,
    )
    .unwrap();
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &owner,
        "deliver",
        &(settled_native, [9u8; 80]),
        0,
    )
    .unwrap();
    // A token purchase (Transfer + Approval from the token), delivered and settled.
    call::<_, Result<(), TokenError>>(
        chain,
        &m.token,
        &admin,
        "PSP22::transfer",
        &(buyer.account_id(), 10 * TOKEN_PRICE, Vec::<u8>::new()),
        0,
    )
    .unwrap();
    call::<_, Result<(), TokenError>>(
        chain,
        &m.token,
        &buyer,
        "PSP22::approve",
        &(m.market.address, TOKEN_PRICE),
        0,
    )
    .unwrap();
    let settled_token: PurchaseId = call::<_, MarketResult<PurchaseId>>(
        chain,
        &m.market,
        &buyer,
        "purchase",
        &(union_offer, [8u8; 32]),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &union[0],
        "deliver",
        &(settled_token, [10u8; 80]),
        0,
    )
    .unwrap();
    // A purchase never delivered.
    let refunded: PurchaseId = call::<_, MarketResult<PurchaseId>>(
        chain,
        &m.market,
        &buyer,
        "purchase",
        &(native_offer, [11u8; 32]),
        PRICE,
    )
    .unwrap();
    // A purchase delivered with an envelope that does not open: the buyer disputes and wins.
    let buyer_pk =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(BUYER_SECRET)).to_bytes();
    let disputed: PurchaseId = call::<_, MarketResult<PurchaseId>>(
        chain,
        &m.market,
        &buyer,
        "purchase",
        &(native_offer, buyer_pk),
        PRICE,
    )
    .unwrap();
    call::<_, MarketResult<()>>(
        chain,
        &m.market,
        &owner,
        "deliver",
        &(disputed, [12u8; 80]),
        0,
    )
    .unwrap();
    let won = call::<_, MarketResult<bool>>(
        chain,
        &m.market,
        &buyer,
        "dispute",
        &(disputed, BUYER_SECRET),
        DISPUTE_BOND,
    )
    .unwrap();
    assert!(won, "a garbage envelope loses the dispute for the owner");
    let now = chain.finalized_head().unwrap().number;
    chain.advance_to(now + DELIVERY_PERIOD + DISPUTE_WINDOW + 2);
    call::<_, MarketResult<()>>(chain, &m.market, &buyer, "settle", &settled_native, 0).unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &buyer, "settle", &settled_token, 0).unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &buyer, "refund", &refunded, 0).unwrap();
    // Withdrawals in both assets; delisting releases the bond; the admin moves on.
    call::<_, MarketResult<u128>>(chain, &m.market, &owner, "withdraw", &Asset::Native, 0).unwrap();
    call::<_, MarketResult<u128>>(
        chain,
        &m.market,
        &union[0],
        "withdraw",
        &Asset::Psp22(m.token.address),
        0,
    )
    .unwrap();
    call::<_, MarketResult<()>>(chain, &m.market, &owner, "delist_offer", &native_offer, 0)
        .unwrap();
    // CodeUpgraded: to the code it already runs (its hash is the wasm's BLAKE2-256).
    let code_hash = sp_core::blake2_256(&Bundle::load("marketplace").unwrap().wasm);
    call::<_, MarketResult<()>>(chain, &m.market, &admin, "set_code", &code_hash, 0).unwrap();
    let new_admin = Signer::dev("Dave").account_id();
    call::<_, MarketResult<()>>(chain, &m.market, &admin, "transfer_admin", &new_admin, 0).unwrap();
    Story {
        native_offer,
        union_offer,
        settled_native,
        settled_token,
        refunded,
        disputed,
        union: union_ids,
        owner: owner.account_id(),
        buyer: buyer.account_id(),
        new_admin,
    }
}

/// Indexes everything `chain` has, up to its finalized head, into `url`.
pub async fn index_all(
    chain: chain::SharedChain,
    url: &str,
    watched: &indexer::Watched,
    batch_size: u32,
) -> chain::BlockRef {
    let source = indexer::BlockSource::shared(chain);
    let head = source.finalized_head().await.unwrap();
    let mut client = index_db::connect(url).await.unwrap();
    let options = indexer::Options {
        batch_size,
        stop_at: Some(head.number),
        ..indexer::Options::default()
    };
    indexer::follow(&mut client, &source, watched, &options)
        .await
        .expect("the indexer follows the chain");
    head
}

/// Every table's digest, raw ones and the cursor included (not `applied_at`).
pub async fn full_digest(client: &tokio_postgres::Client) -> Vec<(String, String)> {
    use index_db as db;
    let mut all = db::derived_digest(client).await.unwrap();
    for table in ["raw_events", "undecodable_events"] {
        all.push((
            table.into(),
            db::table_digest(client, table, &[]).await.unwrap(),
        ));
    }
    all.push((
        "indexer_cursor".into(),
        db::table_digest(client, "indexer_cursor", &["applied_at"])
            .await
            .unwrap(),
    ));
    all
}
