//! One contract-level scenario, run unchanged on both backends: deploy the token and the
//! marketplace, list an offer, buy it, deliver the key, settle, withdraw; read every
//! block's header and events back and decode them; refuse a bad call with the
//! marketplace's own error. Needs the bundles from scripts/build-contracts; the node test
//! needs substrate-contracts-node (scripts/setup installs it).

use std::time::{Duration, Instant};

use chain::{
    dev_node::DevNode,
    market_types::{
        decode::MarketEvent, Asset, Error as MarketError, NewOffer, OfferId, Purchase, PurchaseId,
        PurchaseStatus,
    },
    rpc::{Era, Retry, TxOptions},
    AccountId, BlockReader, Bundle, Chain, ChainError, Contract, InProcessChain, Included,
    RpcChain, Signer,
};

const PRICE: u128 = 5_000_000_000;
const BOND: u128 = 1_000;

fn offer(owner: AccountId) -> NewOffer {
    datamarket_fixtures::OfferBuilder::new()
        .price(PRICE)
        .sole_payee(owner)
        .build()
}

/// Checks a transaction's block: its header and events read back by hash and number, and
/// returns its decoded marketplace events.
fn block_events<C: Chain + ?Sized>(chain: &mut C, included: &Included) -> Vec<MarketEvent> {
    let block = included.block;
    assert_eq!(chain.block_hash(block.number).unwrap(), Some(block.hash));
    let header = chain
        .header(block.hash)
        .unwrap()
        .expect("header of a known block");
    assert_eq!(header.number, block.number);
    assert_eq!(header.hash, block.hash);
    let parent = chain.block_hash(block.number - 1).unwrap();
    assert_eq!(
        Some(header.parent_hash),
        parent,
        "parent of block {}",
        block.number
    );
    let events = chain.contract_events(block.hash).unwrap();
    // The transaction's own events are the block's (one transaction per block here).
    assert_eq!(events, included.events, "events of block {}", block.number);
    events
        .iter()
        .filter_map(|e| e.decode_market())
        .map(|e| e.expect("a marketplace event decodes"))
        .collect()
}

fn names(events: &[MarketEvent]) -> Vec<&'static str> {
    events.iter().map(MarketEvent::name).collect()
}

/// The scenario. Returns the last block it made and the marketplace.
fn marketplace_flow<C: Chain + ?Sized>(chain: &mut C) -> (chain::BlockRef, Contract) {
    let admin = Signer::alice();
    let owner = Signer::bob();
    let buyer = Signer::dev("Charlie");
    let token_bundle = Bundle::load("token").expect("token bundle");
    let market_bundle = Bundle::load("marketplace").expect("marketplace bundle");

    let (token, deployed) = Contract::deploy::<_, ()>(
        chain,
        &admin,
        &token_bundle,
        "new",
        &(
            1_000_000_000_000u128,
            Some(String::from("Datamarket token")),
            Some(String::from("DMT")),
            12u8,
        ),
        0,
        b"token",
    )
    .expect("deploy the token");
    assert!(deployed.included.block.number > 0);
    let (market, deployed) = Contract::deploy::<_, chain::market_types::Result<()>>(
        chain,
        &admin,
        &market_bundle,
        "new",
        &(250u16, admin.account_id(), 10u32, 1u32, BOND),
        0,
        b"market",
    )
    .expect("deploy the marketplace");
    assert_eq!(deployed.value, Ok(()));
    assert_ne!(market.address, token.address);
    assert_eq!(market.name(), "marketplace");

    // List.
    let created = market
        .call::<_, chain::market_types::Result<OfferId>>(
            chain,
            &owner,
            "create_offer",
            &offer(owner.account_id()),
            BOND,
        )
        .expect("create_offer");
    let offer_id = created.value.expect("an offer id");
    assert!(created.gas_limit.ref_time > 0);
    let events = block_events(chain, &created.included);
    assert_eq!(names(&events), ["OfferCreated"]);
    // Its topics, for filtering: the signature, then the offer id and the owner as ink! 5
    // writes them (values of up to 32 bytes are their encoding, zero-padded).
    let topics = &created.events()[0].topics;
    assert_eq!(topics.len(), 3, "{topics:?}");
    let mut offer_topic = [0u8; 32];
    offer_topic[..8].copy_from_slice(&offer_id.to_le_bytes());
    assert_eq!(topics[1], offer_topic);
    assert_eq!(&topics[2], AsRef::<[u8; 32]>::as_ref(&owner.account_id()));
    assert_eq!(created.events()[0].contract, market.address);
    let MarketEvent::OfferCreated(event) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (event.offer_id, event.owner, event.price),
        (offer_id, owner.account_id(), PRICE)
    );

    // A wrong payment is refused with the marketplace's error, before anything is sent.
    let buyer_before = chain.free_balance(&buyer.account_id()).unwrap();
    let refused = market
        .call::<_, chain::market_types::Result<PurchaseId>>(
            chain,
            &buyer,
            "purchase",
            &(offer_id, [7u8; 32]),
            PRICE - 1,
        )
        .expect_err("a wrong payment must revert");
    assert_eq!(
        refused.market_error(),
        Some(MarketError::WrongPayment),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .contains("marketplace.purchase reverted: WrongPayment"),
        "{refused}"
    );
    assert_eq!(
        chain.free_balance(&buyer.account_id()).unwrap(),
        buyer_before
    );

    // Buy.
    let bought = market
        .call::<_, chain::market_types::Result<PurchaseId>>(
            chain,
            &buyer,
            "purchase",
            &(offer_id, [7u8; 32]),
            PRICE,
        )
        .expect("purchase");
    let purchase_id = bought.value.expect("a purchase id");
    let events = block_events(chain, &bought.included);
    assert_eq!(names(&events), ["PurchaseCreated"]);
    assert!(bought.included.block.number > created.included.block.number);
    assert!(chain.free_balance(&buyer.account_id()).unwrap() <= buyer_before - PRICE);

    // Deliver.
    let envelope = [9u8; 80];
    let delivered = market
        .call::<_, chain::market_types::Result<()>>(
            chain,
            &owner,
            "deliver",
            &(purchase_id, envelope),
            0,
        )
        .expect("deliver");
    assert_eq!(delivered.value, Ok(()));
    let events = block_events(chain, &delivered.included);
    assert_eq!(names(&events), ["KeyDelivered"]);
    let purchase: Option<Purchase> = market
        .query(chain, &buyer.account_id(), "purchase_info", &purchase_id)
        .expect("purchase_info");
    let purchase = purchase.expect("the purchase exists");
    assert_eq!(purchase.status, PurchaseStatus::Delivered);
    assert_eq!(purchase.envelope, Some(envelope));

    // Delivering twice is refused.
    let twice = market
        .call::<_, chain::market_types::Result<()>>(
            chain,
            &owner,
            "deliver",
            &(purchase_id, envelope),
            0,
        )
        .expect_err("a second delivery must revert");
    assert_eq!(
        twice.market_error(),
        Some(MarketError::NotPending),
        "{twice}"
    );

    // Settle once the dispute window is over; token transfers make the blocks.
    let mut settled = None;
    for _ in 0..10 {
        match market.call::<_, chain::market_types::Result<()>>(
            chain,
            &admin,
            "settle",
            &purchase_id,
            0,
        ) {
            Ok(called) => {
                settled = Some(called);
                break;
            }
            Err(e) if e.market_error() == Some(MarketError::DisputeWindowOpen) => {
                let moved = token
                    .call::<_, Result<(), contract_harness::market::TokenError>>(
                        chain,
                        &admin,
                        "PSP22::transfer",
                        &(owner.account_id(), 1u128, Vec::<u8>::new()),
                        0,
                    )
                    .expect("a token transfer");
                assert_eq!(moved.value, Ok(()));
                assert_eq!(moved.events().len(), 1, "a PSP22 Transfer event");
                assert!(moved.events()[0].decode_market().is_none());
            }
            Err(e) => panic!("settle: {e}"),
        }
    }
    let settled = settled.expect("the dispute window closes within 10 blocks");
    let events = block_events(chain, &settled.included);
    assert_eq!(names(&events), ["PurchaseSettled"]);

    // Withdraw.
    let owner_before = chain.free_balance(&owner.account_id()).unwrap();
    let withdrawn = market
        .call::<_, chain::market_types::Result<u128>>(chain, &owner, "withdraw", &Asset::Native, 0)
        .expect("withdraw");
    let paid = withdrawn.value.expect("an amount");
    assert_eq!(paid, PRICE - PRICE * 250 / 10_000);
    let events = block_events(chain, &withdrawn.included);
    assert_eq!(names(&events), ["Withdrawn"]);
    let owner_after = chain.free_balance(&owner.account_id()).unwrap();
    assert!(owner_after > owner_before, "the owner was paid");

    // Nothing left to withdraw.
    let again = market
        .call::<_, chain::market_types::Result<u128>>(chain, &owner, "withdraw", &Asset::Native, 0)
        .expect_err("nothing to withdraw");
    assert_eq!(again.market_error(), Some(MarketError::NothingToWithdraw));

    // An account without funds cannot lock a bond.
    let poor = Signer::from_secret_uri("//DatamarketNobody", "test").unwrap();
    let error = market
        .call::<_, chain::market_types::Result<OfferId>>(
            chain,
            &poor,
            "create_offer",
            &offer(poor.account_id()),
            BOND,
        )
        .expect_err("no funds");
    assert!(
        matches!(error, ChainError::InsufficientFunds { .. }),
        "{error}"
    );
    eprintln!("refused: {error}");
    eprintln!("refused: {again}");

    // Funded by Alice, it can pay; it cannot send more than it has.
    let funding = 10 * PRICE;
    let sent = chain
        .transfer(&admin, &poor.account_id(), funding)
        .expect("a transfer");
    assert!(sent.block.number > withdrawn.included.block.number);
    assert_eq!(chain.free_balance(&poor.account_id()).unwrap(), funding);
    let error = chain
        .transfer(&poor, &admin.account_id(), 2 * funding)
        .expect_err("more than it has");
    assert!(
        matches!(error, ChainError::InsufficientFunds { .. }),
        "{error}"
    );
    eprintln!("refused: {error}");

    let last = chain
        .finalized_head()
        .unwrap()
        .number
        .max(sent.block.number);
    let last = chain::BlockRef {
        number: last,
        hash: chain.block_hash(last).unwrap().expect("the last block"),
    };
    (last, market)
}

#[test]
fn marketplace_flow_in_process() {
    // Through `open`, as a program that picks its backend at run time would.
    let mut chain = chain::open(chain::IN_PROCESS).unwrap();
    assert_eq!(chain.endpoint(), "in-process");
    let started = Instant::now();
    let (last, _) = marketplace_flow(&mut *chain);
    assert_eq!(chain.finalized_head().unwrap(), last);
    let header = chain.header_by_number(last.number).unwrap().unwrap();
    assert_eq!(header.hash, last.hash);
    assert_eq!(chain.header_by_number(last.number + 1).unwrap(), None);
    eprintln!("in-process scenario: {:?}", started.elapsed());
}

#[test]
fn in_process_batch_puts_calls_in_one_block() {
    let mut chain = InProcessChain::new();
    let admin = Signer::alice();
    let bundle = Bundle::load("token").expect("token bundle");
    let (token, _) = Contract::deploy::<_, ()>(
        &mut chain,
        &admin,
        &bundle,
        "new",
        &(1_000u128, None::<String>, None::<String>, 0u8),
        0,
        b"t",
    )
    .unwrap();
    let head = chain.finalized_head().unwrap();
    let (first, second) = chain.batch(|chain| {
        let transfer = |chain: &mut InProcessChain, to: AccountId| {
            token
                .call::<_, Result<(), contract_harness::market::TokenError>>(
                    chain,
                    &admin,
                    "PSP22::transfer",
                    &(to, 1u128, Vec::<u8>::new()),
                    0,
                )
                .unwrap()
        };
        (
            transfer(chain, Signer::bob().account_id()),
            transfer(chain, Signer::dev("Dave").account_id()),
        )
    });
    let sealed = chain.finalized_head().unwrap();
    assert_eq!(sealed.number, head.number + 1);
    assert_eq!(first.included.block.number, sealed.number);
    assert_eq!(
        (
            first.included.extrinsic_index,
            second.included.extrinsic_index
        ),
        (0, 1)
    );
    let events = chain.contract_events(sealed.hash).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].extrinsic_index, Some(0));
    assert_eq!(events[1].extrinsic_index, Some(1));
    // Empty blocks chain up too.
    chain.advance_to(sealed.number + 3);
    let head = chain.finalized_head().unwrap();
    assert_eq!(head.number, sealed.number + 3);
    let header = chain.header(head.hash).unwrap().unwrap();
    assert_eq!(
        Some(header.parent_hash),
        chain.block_hash(head.number - 1).unwrap()
    );
    assert_ne!(header.state_root, chain::BlockHash::default());
}

#[test]
fn marketplace_flow_on_a_dev_node() {
    let node = DevNode::start().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut chain = node.connect().expect("connect to the dev node");
    assert_eq!(chain.runtime().0, "substrate-contracts-node");
    let (last, market) = marketplace_flow(&mut chain);

    // The node finalizes with a lag: wait until it has caught up with the scenario.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let finalized = chain.finalized_head().unwrap();
        if finalized.number + 1 >= last.number {
            assert_eq!(
                chain.block_hash(finalized.number).unwrap(),
                Some(finalized.hash)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "finality stalled at {finalized:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The pool refuses a transaction whose fees the account cannot pay; the dry run (free)
    // had passed.
    let poor = Signer::from_secret_uri("//DatamarketNobody", "test").unwrap();
    let error = market
        .call::<_, chain::market_types::Result<()>>(&mut chain, &poor, "settle", &0u64, 0)
        .expect_err("an empty account pays no fees");
    // settle(0) reverts on the dry run (no such purchase) before any fee matters...
    assert_eq!(
        error.market_error(),
        Some(MarketError::PurchaseNotFound),
        "{error}"
    );
    // ...so submit directly, as a client that skipped the dry run would: an account with
    // nothing cannot pay the fees...
    let empty = Signer::from_secret_uri("//DatamarketEmpty", "test").unwrap();
    let gas = chain::Weight {
        ref_time: 1_000_000_000,
        proof_size: 100_000,
    };
    let error = chain
        .submit_call(&empty, &market.address, &[0u8; 4], 0, gas)
        .expect_err("an empty account pays no fees");
    assert!(
        matches!(error, ChainError::InsufficientFunds { .. }),
        "expected InsufficientFunds, got {error}"
    );
    eprintln!("refused: {error}");
    // ...and a funded one pays for a call that reverts in its block (unknown selector).
    let error = chain
        .submit_call(&poor, &market.address, &[0u8; 4], 0, gas)
        .expect_err("no message has selector 0x00000000");
    assert!(
        matches!(
            error,
            ChainError::Reverted {
                revert: chain::Revert::InBlock,
                ..
            }
        ),
        "expected an in-block revert, got {error}"
    );
    eprintln!("refused: {error}");

    // The pool's refusals of a well-formed, well-paid transaction, by what is wrong.
    let alice = Signer::alice();
    let config = Bundle::load("marketplace")
        .unwrap()
        .selector("config")
        .unwrap();
    let gas = chain
        .dry_run_call(&alice.account_id(), &market.address, &config, 0)
        .unwrap()
        .gas_required;
    // Alice has signed several transactions: nonce 0 is spent.
    let stale = TxOptions {
        nonce: Some(0),
        mortality: None,
    };
    let error = chain
        .submit_call_with(&alice, &market.address, &config, 0, gas, stale)
        .expect_err("a spent nonce");
    assert!(
        matches!(error, ChainError::Nonce { .. }),
        "expected Nonce, got {error}"
    );
    eprintln!("refused: {error}");
    // An era born after the best block.
    let mut mortality = chain.mortality_from_best().unwrap();
    mortality.era = Era::mortal(65_536, u64::from(last.number) + 1_000);
    let unborn = TxOptions {
        nonce: None,
        mortality: Some(mortality),
    };
    let error = chain
        .submit_call_with(&alice, &market.address, &config, 0, gas, unborn)
        .expect_err("an era that has not begun");
    assert!(
        matches!(error, ChainError::Era { .. }),
        "expected Era, got {error}"
    );
    eprintln!("refused: {error}");
    // With the defaults the same transaction goes in.
    let included = chain
        .submit_call_with(
            &alice,
            &market.address,
            &config,
            0,
            gas,
            TxOptions::default(),
        )
        .expect("a good transaction");
    assert!(included.block.number > last.number);
    // A node that goes away mid-session: the next request says so, with the URL.
    let quick = Retry {
        attempts: 2,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(50),
    };
    let mut second = RpcChain::connect_with(node.url(), quick).expect("a second client");
    let url = node.url().to_owned();
    drop(node);
    let error = second.finalized_head().expect_err("the node is gone");
    assert!(
        matches!(&error, ChainError::Unreachable { url: u, .. } if *u == url),
        "expected Unreachable, got {error}"
    );
    eprintln!("refused: {error}");
    eprintln!("node scenario: {:?}", started.elapsed());
}

#[test]
fn unreachable_node_names_its_url() {
    let started = Instant::now();
    let retry = Retry {
        attempts: 3,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(40),
    };
    // Port 1 on loopback: nothing listens there.
    let error = RpcChain::connect_with("ws://127.0.0.1:1", retry)
        .err()
        .expect("nothing answers on port 1");
    match &error {
        ChainError::Unreachable { url, attempts, .. } => {
            assert_eq!(url, "ws://127.0.0.1:1");
            assert_eq!(*attempts, 3);
        }
        other => panic!("expected Unreachable, got {other}"),
    }
    assert!(error.to_string().contains("ws://127.0.0.1:1"), "{error}");
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "it backed off"
    );

    let error = RpcChain::connect_with("http://127.0.0.1:9944", retry)
        .err()
        .expect("not a WebSocket URL");
    assert!(matches!(error, ChainError::BadUrl { .. }), "{error}");
    eprintln!("refused: {error}");
}
