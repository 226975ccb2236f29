//! The commands, as library calls that return what they did (serializable for `--json`,
//! printable for people).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    fs::File,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chain::{
    market_types::{
        Asset, Error as MarketError, NewOffer, OfferId, OfferMetadata, OfferStatus, Payee,
        PurchaseId, PurchaseStatus,
    },
    AccountId, Balance, Signer,
};
use sealer::{
    BuyerPublicKey, BuyerSecretKey, ChunkSize, ContentRoot, DataKey, Decryptor, Encryptor,
    EnvelopeContext, KeyCommitment, KeyOpener, KeySealer, SealedEnvelope,
};
use serde::Serialize;

use crate::{
    address, blobs::BlobStore, keystore::Keystore, market::Market, progress::Progress, Error,
    Result,
};

/// Where things are: the node, the contracts, the keystore and the blob store.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The node's WebSocket URL.
    pub node: String,
    /// The marketplace contract.
    pub marketplace: Option<AccountId>,
    /// The default PSP22 token (prices of new offers, withdrawals, balances).
    pub token: Option<AccountId>,
    /// The keystore.
    pub keystore: Keystore,
    /// Where `offer create` puts ciphertexts: a directory or a store URL (see
    /// [`crate::blobs`]).
    pub blobs: String,
    /// Whether progress bars are drawn.
    pub progress: Progress,
}

impl Settings {
    /// Connects to the node and the marketplace.
    ///
    /// # Errors
    /// No marketplace address, an unreachable node, or no marketplace there.
    pub fn connect(&self) -> Result<Market> {
        let address = self.marketplace.ok_or_else(|| {
            Error::invalid(
                "no marketplace address: pass --marketplace ADDR or set DATAMARKET_MARKETPLACE",
            )
        })?;
        Market::connect(&self.node, address)
    }
}

fn asset_name(asset: &Asset) -> String {
    match asset {
        Asset::Native => "native".into(),
        Asset::Psp22(token) => format!("token {}", address::show(token)),
    }
}

// ---- offer create ------------------------------------------------------------------

/// What `offer create` lists.
#[derive(Debug, Clone)]
pub struct OfferSpec {
    /// The plaintext file.
    pub file: PathBuf,
    /// Price per purchase.
    pub price: Balance,
    /// Payment asset.
    pub asset: Asset,
    /// Revenue split in basis points; empty for the owner 100%.
    pub payees: Vec<(AccountId, u16)>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Schema (free text, e.g. CSV columns).
    pub schema: String,
    /// At most this many purchases.
    pub max_purchases: Option<u32>,
}

/// A listed offer.
#[derive(Debug, Clone, Serialize)]
pub struct OfferCreated {
    /// Its id.
    pub offer_id: OfferId,
    /// The ciphertext's location.
    pub uri: String,
    /// Its content root (hex).
    pub content_root: String,
    /// Its key commitment (hex).
    pub key_commitment: String,
    /// Plaintext bytes.
    pub size: u64,
    /// Price and asset.
    pub price: Balance,
    /// "native" or "token ADDR".
    pub asset: String,
    /// The bond locked.
    pub bond: Balance,
}

impl fmt::Display for OfferCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "offer {} created", self.offer_id)?;
        writeln!(f, "  price           {} ({})", self.price, self.asset)?;
        writeln!(f, "  ciphertext      {}", self.uri)?;
        writeln!(f, "  content root    {}", self.content_root)?;
        writeln!(f, "  key commitment  {}", self.key_commitment)?;
        write!(f, "  bond            {}", self.bond)
    }
}

/// Encrypts `spec.file` to a local temporary file, puts it into the blob store as
/// `<content root>.dmseal`, keeps its data key in the keystore and lists it on the
/// marketplace with the minimum bond, the URI being the object's URL in the store.
///
/// # Errors
/// Bad metadata or split, an unreadable file, or a refused call.
pub fn create_offer(
    settings: &Settings,
    market: &mut Market,
    owner: &Signer,
    spec: &OfferSpec,
) -> Result<OfferCreated> {
    let payees: Vec<Payee> = if spec.payees.is_empty() {
        vec![Payee {
            account: owner.account_id(),
            bps: 10_000,
        }]
    } else {
        spec.payees
            .iter()
            .map(|(account, bps)| Payee {
                account: *account,
                bps: *bps,
            })
            .collect()
    };
    let input = File::open(&spec.file).map_err(|e| Error::io("cannot read", &spec.file, e))?;
    // A pipe reports no length: it is read to its end first.
    let (input, size) = sealer::file_of_known_length(input).map_err(|e| match e {
        sealer::Error::Io(e) => Error::io("cannot read", &spec.file, e),
        other => other.into(),
    })?;
    if size == 0 {
        return Err(Error::invalid(format!(
            "{} is empty: there is nothing to sell",
            spec.file.display()
        )));
    }
    let metadata = OfferMetadata {
        title: spec.title.clone(),
        description: spec.description.clone(),
        tags: spec.tags.clone(),
        schema: spec.schema.clone(),
        size,
    };
    let store = BlobStore::open(&settings.blobs)?;
    // Refuse bad input before any work: same checks as the contract, on a URI as long
    // as the real one.
    let placeholder_uri = format!("{}/{}.dmseal", store.describe(), "0".repeat(64));
    let action = format!("list {}", spec.file.display());
    let local = |error| Error::Refused {
        action: action.clone(),
        error,
    };
    chain::market_types::check_metadata(&placeholder_uri, &metadata).map_err(local)?;
    chain::market_types::check_split(&payees).map_err(local)?;
    if spec.price == 0 {
        return Err(local(MarketError::ZeroPrice));
    }
    let bond = market.config()?.min_bond;

    let (dek, sealed, staged) = encrypt_to_staging(&store, &input, size, &settings.progress)?;
    let upload = settings
        .progress
        .bytes("uploading", sealed.header.ciphertext_len());
    let uri = store.put(
        staged,
        &format!("{}.dmseal", sealed.content_root.to_hex()),
        &upload,
    )?;
    upload.finish_and_clear();
    let key_path = match settings.keystore.save_data_key(&sealed.content_root, &dek) {
        Ok(path) => path,
        Err(error) => {
            // Without its key the ciphertext is useless to anyone: take it back.
            let _ = store.delete(&uri);
            return Err(error);
        }
    };
    let offer = NewOffer {
        content_root: sealed.content_root.0,
        header: sealed.header.to_bytes(),
        key_commitment: dek.commitment().0,
        price: spec.price,
        asset: spec.asset,
        uri: uri.clone(),
        metadata,
        payees,
        max_purchases: spec.max_purchases,
    };
    let offer_id = match market.call::<OfferId>(owner, action, "create_offer", &offer, bond) {
        Ok(id) => id,
        Err(error) => {
            // Refused before submission: nothing refers to the blob or the key.
            if matches!(
                error,
                Error::Refused { .. } | Error::Chain(chain::ChainError::InsufficientFunds { .. })
            ) {
                let _ = store.delete(&uri);
                let _ = std::fs::remove_file(&key_path);
            }
            return Err(error);
        }
    };
    Ok(OfferCreated {
        offer_id,
        uri,
        content_root: sealed.content_root.to_hex(),
        key_commitment: dek.commitment().to_hex(),
        size,
        price: spec.price,
        asset: asset_name(&spec.asset),
        bond,
    })
}

/// Encrypts under a fresh data key into the store's staging file.
fn encrypt_to_staging(
    store: &BlobStore,
    input: &File,
    size: u64,
    progress: &Progress,
) -> Result<(DataKey, sealer::Sealed, tempfile::NamedTempFile)> {
    let dek = DataKey::generate()?;
    let staged = store.staging_file()?;
    let encryptor = Encryptor::new(&dek, size, ChunkSize::DEFAULT)?;
    let bar = progress.bytes("encrypting", encryptor.header().ciphertext_len());
    let sealed = encryptor
        .progress(|bytes| bar.inc(bytes))
        .encrypt_file(input, staged.as_file())?;
    bar.finish_and_clear();
    Ok((dek, sealed, staged))
}

// ---- offer management --------------------------------------------------------------

/// What an owner can do to an offer.
#[derive(Debug, Clone, Copy)]
pub enum OfferChange {
    /// Stop sales for a while.
    Pause,
    /// Reopen sales.
    Resume,
    /// Stop sales for good (the bond comes back once no purchase is open).
    Delist,
    /// A new price for future purchases.
    Price(Balance),
}

/// An offer after a change.
#[derive(Debug, Clone, Serialize)]
pub struct OfferChanged {
    /// The offer.
    pub offer_id: OfferId,
    /// Its status now.
    pub status: String,
    /// Its price now.
    pub price: Balance,
}

impl fmt::Display for OfferChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offer {}: {}, price {}",
            self.offer_id, self.status, self.price
        )
    }
}

/// Pauses, resumes, delists or re-prices an offer.
///
/// # Errors
/// An unknown offer, or the marketplace's refusal.
pub fn change_offer(
    market: &mut Market,
    owner: &Signer,
    offer_id: OfferId,
    change: OfferChange,
) -> Result<OfferChanged> {
    market.offer(offer_id)?;
    match change {
        OfferChange::Pause => market.call::<()>(
            owner,
            format!("pause offer {offer_id}"),
            "pause_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Resume => market.call::<()>(
            owner,
            format!("resume offer {offer_id}"),
            "resume_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Delist => market.call::<()>(
            owner,
            format!("delist offer {offer_id}"),
            "delist_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Price(price) => market.call::<()>(
            owner,
            format!("change the price of offer {offer_id}"),
            "update_price",
            &(offer_id, price),
            0,
        )?,
    }
    let offer = market.offer(offer_id)?;
    Ok(OfferChanged {
        offer_id,
        status: format!("{:?}", offer.status).to_lowercase(),
        price: offer.price,
    })
}

// ---- buy ---------------------------------------------------------------------------

/// A purchase made.
#[derive(Debug, Clone, Serialize)]
pub struct Bought {
    /// Its id.
    pub purchase_id: PurchaseId,
    /// The offer.
    pub offer_id: OfferId,
    /// What was paid into escrow.
    pub amount: Balance,
    /// "native" or "token ADDR".
    pub asset: String,
    /// The owner must deliver by this block, else `refund`.
    pub delivery_deadline: u32,
}

impl fmt::Display for Bought {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "purchase {} of offer {}: paid {} ({}) into escrow",
            self.purchase_id, self.offer_id, self.amount, self.asset
        )?;
        write!(
            f,
            "  the key is due by block {}; then `datamarket fetch {} -o FILE`",
            self.delivery_deadline, self.purchase_id
        )
    }
}

/// Buys an offer with a fresh X25519 key (kept in the keystore) and pays its price.
///
/// # Errors
/// An unknown or closed offer, insufficient funds, or the marketplace's refusal.
pub fn buy(
    settings: &Settings,
    market: &mut Market,
    buyer: &Signer,
    offer_id: OfferId,
) -> Result<Bought> {
    let offer = market.offer(offer_id)?;
    match offer.status {
        OfferStatus::Active => {}
        OfferStatus::Paused => return Err(Error::invalid(format!("offer {offer_id} is paused"))),
        OfferStatus::Delisted => {
            return Err(Error::invalid(format!("offer {offer_id} is delisted")))
        }
    }
    let who = address::show(&buyer.account_id());
    let value = match offer.asset {
        Asset::Native => {
            let free = market.chain().free_balance(&buyer.account_id())?;
            if free <= offer.price {
                return Err(Error::invalid(format!(
                    "insufficient funds: {who} has {free} native units, offer {offer_id} costs {} plus fees",
                    offer.price
                )));
            }
            offer.price
        }
        Asset::Psp22(token) => {
            let held = market.token_balance(token, buyer.account_id())?;
            if held < offer.price {
                return Err(Error::invalid(format!(
                    "insufficient funds: {who} has {held} of token {}, offer {offer_id} costs {}",
                    address::show(&token),
                    offer.price
                )));
            }
            0
        }
    };
    // The key is on disk before any money moves: a crash after paying loses nothing.
    let key = BuyerSecretKey::generate()?;
    settings.keystore.save_purchase_key(&key)?;
    if let Asset::Psp22(token) = offer.asset {
        market.approve(buyer, token, offer.price)?;
    }
    let purchase_id = market.call::<PurchaseId>(
        buyer,
        format!("buy offer {offer_id}"),
        "purchase",
        &(offer_id, key.public_key().0),
        value,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(Bought {
        purchase_id,
        offer_id,
        amount: purchase.amount,
        asset: asset_name(&purchase.asset),
        delivery_deadline: purchase.delivery_deadline,
    })
}

// ---- deliver -----------------------------------------------------------------------

/// One delivery, or why a purchase was left alone.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryLog {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Its offer.
    pub offer_id: OfferId,
    /// The buyer.
    pub buyer: String,
    /// True when the key was delivered now.
    pub delivered: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The block the delivery went into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u32>,
}

impl fmt::Display for DeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.skipped, self.block) {
            (None, Some(block)) => write!(
                f,
                "delivered the key of offer {} to purchase {} (buyer {}) in block {block}",
                self.offer_id, self.purchase_id, self.buyer
            ),
            (reason, _) => write!(
                f,
                "skipped purchase {} of offer {}: {}",
                self.purchase_id,
                self.offer_id,
                reason.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// The owner's watcher: finds paid, undelivered purchases of the owner's offers by
/// reading the contract, and delivers each one's sealed key once.
pub struct Deliverer {
    owner: Signer,
    /// The first purchase id not looked at yet.
    next: PurchaseId,
    /// Purchases that could not be delivered yet (no usable data key, or the chain
    /// failed while they were tried): tried again on every scan.
    retry: BTreeSet<PurchaseId>,
    /// Owners, content roots and key commitments of offers seen (none ever changes).
    offers: BTreeMap<OfferId, KnownOffer>,
}

impl Deliverer {
    /// A watcher for `owner`'s offers, starting from the first purchase.
    pub fn new(owner: Signer) -> Self {
        Self {
            owner,
            next: 1,
            retry: BTreeSet::new(),
            offers: BTreeMap::new(),
        }
    }

    /// The owner whose offers this watcher serves.
    pub fn owner(&self) -> AccountId {
        self.owner.account_id()
    }

    /// One scan of the chain: delivers every deliverable purchase made since the last
    /// scan (and those waiting to be tried again), calling `log` for each delivery and
    /// each purchase skipped (once per purchase). Returns how many were delivered.
    ///
    /// # Errors
    /// The chain failing. A purchase it failed on is tried again on the next scan, and
    /// the scan goes on with the others first; a refused delivery is logged and skipped.
    pub fn poll(
        &mut self,
        settings: &Settings,
        market: &mut Market,
        log: &mut dyn FnMut(&DeliveryLog),
    ) -> Result<usize> {
        let (_, last) = market.last_ids()?;
        let mut ids: Vec<PurchaseId> = self.retry.iter().copied().collect();
        ids.extend(self.next..=last);
        if last >= self.next {
            self.next = last + 1;
        }
        let mut delivered = 0;
        let mut failed = None;
        for purchase_id in ids {
            match self.deliver(settings, market, purchase_id, log) {
                Ok(true) => delivered += 1,
                Ok(false) => {}
                Err(error) => {
                    failed.get_or_insert(error);
                }
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(delivered),
        }
    }

    /// Delivers `purchase_id`'s key if it is a paid, undelivered purchase of the owner's
    /// offers (read again from the chain right before, so that a purchase is never
    /// delivered twice, whoever told of it). Returns true when it delivered now.
    ///
    /// # Errors
    /// The chain failing (the purchase is then tried again at the next scan); a refused
    /// delivery is logged and skipped.
    pub fn deliver(
        &mut self,
        settings: &Settings,
        market: &mut Market,
        purchase_id: PurchaseId,
        log: &mut dyn FnMut(&DeliveryLog),
    ) -> Result<bool> {
        let retrying = self.retry.remove(&purchase_id);
        self.try_deliver(settings, market, purchase_id, retrying, log)
            .inspect_err(|_| {
                self.retry.insert(purchase_id);
            })
    }

    fn try_deliver(
        &mut self,
        settings: &Settings,
        market: &mut Market,
        purchase_id: PurchaseId,
        retrying: bool,
        log: &mut dyn FnMut(&DeliveryLog),
    ) -> Result<bool> {
        // Re-read right before delivering: another watcher may have delivered it.
        let purchase = match market.purchase(purchase_id) {
            Ok(p) => p,
            Err(Error::UnknownPurchase(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if purchase.status != PurchaseStatus::Pending || purchase.envelope.is_some() {
            return Ok(false);
        }
        let offer_id = purchase.offer_id;
        let known = match self.offers.get(&offer_id) {
            Some(known) => *known,
            None => {
                let offer = market.offer(offer_id)?;
                let known = KnownOffer {
                    owner: offer.owner,
                    content_root: offer.content_root,
                    key_commitment: offer.key_commitment,
                };
                self.offers.insert(offer_id, known);
                known
            }
        };
        if known.owner != self.owner.account_id() {
            return Ok(false);
        }
        let root = known.content_root;
        let mut entry = DeliveryLog {
            purchase_id,
            offer_id,
            buyer: address::show(&purchase.buyer),
            delivered: false,
            skipped: None,
            block: None,
        };
        // A key this watcher cannot use now may be put right (copied in, its mode
        // fixed) while it runs: such purchases wait in `retry`, logged once.
        let mut wait = |entry: &mut DeliveryLog, why: String| {
            self.retry.insert(purchase_id);
            if !retrying {
                entry.skipped = Some(why);
                log(entry);
            }
            Ok(false)
        };
        let dek = match settings.keystore.data_key(&ContentRoot(root)) {
            Ok(Some(dek)) => dek,
            Ok(None) => {
                let why = format!(
                    "the keystore {} has no data key for content root {} (listed from another machine?)",
                    settings.keystore.root().display(),
                    hex::encode(root)
                );
                return wait(&mut entry, why);
            }
            Err(e) => {
                return wait(&mut entry, format!("cannot use the data key: {e}"));
            }
        };
        // A wrong key would be delivered for good, and the buyer's dispute would win.
        if dek.commitment().0 != known.key_commitment {
            let why = format!(
                "the keystore's data key for content root {} does not match the offer's key \
                 commitment; not delivered",
                hex::encode(root)
            );
            return wait(&mut entry, why);
        }
        let context = EnvelopeContext {
            contract: *market.address().as_ref(),
            offer_id,
            purchase_id,
        };
        let envelope = match BuyerPublicKey(purchase.buyer_pk).seal(&dek, &context) {
            Ok(envelope) => envelope,
            Err(e) => {
                entry.skipped = Some(format!("cannot seal to the buyer's key: {e}"));
                log(&entry);
                return Ok(false);
            }
        };
        match market.call::<()>(
            &self.owner,
            format!("deliver purchase {purchase_id}"),
            "deliver",
            &(purchase_id, envelope.0),
            0,
        ) {
            Ok(()) => {
                let block = market.purchase(purchase_id)?.delivered_at;
                entry.delivered = true;
                entry.block = block;
                log(&entry);
                Ok(true)
            }
            Err(Error::Refused { error, .. }) => {
                entry.skipped = Some(match error {
                    MarketError::NotPending => "already delivered or closed".into(),
                    MarketError::DeliveryDeadlinePassed => format!(
                        "the delivery deadline (block {}) has passed; the buyer can refund",
                        purchase.delivery_deadline
                    ),
                    other => format!("the marketplace refused: {other:?}"),
                });
                log(&entry);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Watches until killed: a scan now, then one every `scan_every`; with `feed` (the
    /// web API's URL), also each purchase the API's live event feed announces for the
    /// owner, at once. The feed is connected before the first scan, so nothing paid in
    /// between is missed; when it drops it reconnects from the last event seen, and the
    /// scans go on meanwhile. After the first scan, a chain that fails is retried (each
    /// wait twice the last, up to a minute) and the purchases it failed on are tried
    /// again. `notice` hears about the feed and the retries (for stderr).
    ///
    /// # Errors
    /// The first scan failing (a wrong node or marketplace, say), or the feed's thread
    /// not starting.
    pub fn watch(
        &mut self,
        settings: &Settings,
        market: &mut Market,
        feed: Option<&str>,
        scan_every: Duration,
        log: &mut dyn FnMut(&DeliveryLog),
        notice: &mut dyn FnMut(&str),
    ) -> Result<std::convert::Infallible> {
        let (sender, events) = std::sync::mpsc::channel();
        if let Some(base) = feed {
            crate::api::follow_purchases(base, &self.owner(), sender)?;
            // Wait (briefly) for the feed, so that the scan below covers what came before.
            match events.recv_timeout(Duration::from_secs(10)) {
                Ok(crate::api::FeedEvent::Connected) => {
                    notice(&format!("following purchases in the event feed of {base}"))
                }
                Ok(crate::api::FeedEvent::Dropped(why)) => notice(&format!(
                    "{why}; scanning the chain every {}s until it answers",
                    scan_every.as_secs()
                )),
                _ => notice("the event feed is slow to answer; scanning the chain meanwhile"),
            }
        } else {
            drop(sender);
        }
        self.poll(settings, market, log)?;
        let mut next_scan = Instant::now() + scan_every;
        let mut backoff = Backoff::default();
        loop {
            let wait = next_scan.saturating_duration_since(Instant::now());
            let event = if feed.is_some() {
                events.recv_timeout(wait)
            } else {
                std::thread::sleep(wait);
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            };
            let outcome = match event {
                Ok(crate::api::FeedEvent::Purchased(id)) => self.deliver(settings, market, id, log),
                Ok(crate::api::FeedEvent::Connected) => {
                    notice("the event feed is back");
                    // Whatever the feed missed while it was down, the scan finds.
                    self.poll(settings, market, log).map(|_| true)
                }
                Ok(crate::api::FeedEvent::Dropped(why)) => {
                    notice(&format!("{why}; reconnecting"));
                    Ok(false)
                }
                Err(timeout_or_gone) => {
                    if timeout_or_gone == std::sync::mpsc::RecvTimeoutError::Disconnected {
                        // The feed's thread is gone: scans only, at their pace.
                        std::thread::sleep(wait);
                    }
                    next_scan = Instant::now() + scan_every;
                    self.poll(settings, market, log).map(|_| true)
                }
            };
            match outcome {
                Ok(_) => backoff = Backoff::default(),
                Err(error) => {
                    let pause = backoff.pause();
                    notice(&format!(
                        "{error}; trying again in {}s (the purchases it failed on too)",
                        pause.as_secs()
                    ));
                    std::thread::sleep(pause);
                    // The retries go first at the next scan.
                    next_scan = Instant::now();
                }
            }
        }
    }
}

/// What the watcher keeps of an offer (none of it ever changes).
#[derive(Debug, Clone, Copy)]
struct KnownOffer {
    owner: AccountId,
    content_root: [u8; 32],
    key_commitment: [u8; 32],
}

/// Waits between retries of a failing chain: 1 s, then twice the last, up to a minute.
#[derive(Debug, Default)]
struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    fn pause(&mut self) -> Duration {
        let pause = self.last.map_or(Duration::from_secs(1), |d| {
            (d * 2).min(Duration::from_secs(60))
        });
        self.last = Some(pause);
        pause
    }
}

// ---- fetch -------------------------------------------------------------------------

/// A fetched and decrypted dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Its offer.
    pub offer_id: OfferId,
    /// Where the plaintext is.
    pub output: PathBuf,
    /// Plaintext bytes.
    pub size: u64,
    /// The content root the ciphertext matched (hex).
    pub content_root: String,
}

impl fmt::Display for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decrypted offer {} (purchase {}) to {}: {} bytes, content root {} verified",
            self.offer_id,
            self.purchase_id,
            self.output.display(),
            self.size,
            self.content_root
        )
    }
}

/// Waits up to `timeout` for the purchase's key, opens the envelope with the purchase's
/// key from the keystore, checks it against the offer's key commitment, and decrypts the
/// offer's ciphertext to `output`, checked chunk by chunk against the content root. The
/// output appears only when all of it is verified.
///
/// # Errors
/// An unknown purchase, no key in time, a refunded purchase, an envelope that does not
/// open, a wrong key, or a ciphertext that does not match the offer.
pub fn fetch(
    settings: &Settings,
    market: &mut Market,
    purchase_id: PurchaseId,
    output: &Path,
    timeout: Duration,
) -> Result<Fetched> {
    // Found now, not after waiting for the key and downloading everything.
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::invalid(format!(
            "{} is not a directory: nowhere to write {}",
            dir.display(),
            output.display()
        )));
    }
    let started = Instant::now();
    let waiting = settings
        .progress
        .spinner(format!("waiting for the key of purchase {purchase_id}"));
    let purchase = loop {
        let purchase = market.purchase(purchase_id)?;
        if purchase.envelope.is_some() {
            break purchase;
        }
        if purchase.status != PurchaseStatus::Pending {
            return Err(Error::invalid(format!(
                "purchase {purchase_id} is {:?} without a key; none will come",
                purchase.status
            )));
        }
        if started.elapsed() >= timeout {
            return Err(Error::invalid(format!(
                "no key delivered for purchase {purchase_id} within {}s; the owner must deliver by block {}, after which `datamarket refund {purchase_id}` returns the payment",
                timeout.as_secs(),
                purchase.delivery_deadline
            )));
        }
        std::thread::sleep(
            Duration::from_secs(2)
                .min(timeout.saturating_sub(started.elapsed()))
                .max(Duration::from_millis(100)),
        );
    };
    waiting.finish_and_clear();
    let offer_id = purchase.offer_id;
    let offer = market.offer(offer_id)?;
    let public = BuyerPublicKey(purchase.buyer_pk);
    let key = settings.keystore.purchase_key(&public)?.ok_or_else(|| {
        Error::invalid(format!(
            "the keystore {} has no key for purchase {purchase_id} (public key {}): was it bought from another machine?",
            settings.keystore.root().display(),
            public.to_hex()
        ))
    })?;
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id,
        purchase_id,
    };
    let envelope = SealedEnvelope(purchase.envelope.expect("checked above"));
    let dispute_hint = purchase
        .dispute_deadline
        .map(|block| format!("; you can dispute it until block {block}"))
        .unwrap_or_default();
    let dek = key.open(&envelope, &context).map_err(|e| {
        Error::invalid(format!(
            "the key delivered for purchase {purchase_id} does not open with this purchase's key ({e}){dispute_hint}"
        ))
    })?;
    dek.check_commitment(&KeyCommitment(offer.key_commitment))
        .map_err(|_| {
            Error::invalid(format!(
                "the key delivered for purchase {purchase_id} does not match offer {offer_id}'s key commitment{dispute_hint}"
            ))
        })?;
    let (uri, _) = market.offer_metadata(offer_id)?;
    // The header on chain says how long the ciphertext is: no more is downloaded.
    let expected_len = sealer::Header::parse(&offer.header)
        .map_err(sealer::Error::from)?
        .ciphertext_len();
    let download = settings.progress.bytes("downloading", expected_len);
    let input = crate::blobs::open_ciphertext(&uri, expected_len, &download)?;
    download.finish_and_clear();
    let ciphertext_len = input
        .metadata()
        .map_err(|e| Error::io("cannot read the ciphertext", &uri, e))?
        .len();
    let bar = settings.progress.bytes("decrypting", ciphertext_len);
    let opened = sealer::write_atomically(output, |out| {
        Decryptor::new(&dek)
            .expect_root(ContentRoot(offer.content_root))
            .expect_header(offer.header)
            .expect_key_commitment(KeyCommitment(offer.key_commitment))
            .progress(|bytes| bar.inc(bytes))
            .decrypt_file(&input, out)
    })
    .map_err(|e| match e {
        sealer::Error::Io(io) => Error::io("cannot write", output, io),
        other => Error::invalid(format!(
            "the ciphertext at {} does not match offer {offer_id}: {other}; nothing was written",
            uri
        )),
    })?;
    bar.finish_and_clear();
    Ok(Fetched {
        purchase_id,
        offer_id,
        output: output.to_owned(),
        size: opened.header.plaintext_len(),
        content_root: hex::encode(offer.content_root),
    })
}

// ---- dispute -----------------------------------------------------------------------

/// The outcome of `dispute`.
#[derive(Debug, Clone, Serialize)]
pub struct Disputed {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// True if the contract found the delivery bad: payment, bond and penalty credited
    /// to the buyer.
    pub buyer_won: bool,
    /// The dispute bond sent (native).
    pub bond: Balance,
    /// The purchase's status now.
    pub status: String,
}

impl fmt::Display for Disputed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.buyer_won {
            write!(
                f,
                "purchase {}: the contract found the key delivery bad; the payment, the bond of {} and the penalty are credited to you (`datamarket withdraw`)",
                self.purchase_id, self.bond
            )
        } else {
            write!(
                f,
                "purchase {}: the envelope opened to the committed key; the dispute failed and the bond of {} went to the owner",
                self.purchase_id, self.bond
            )
        }
    }
}

/// Disputes a delivered purchase's key: reveals this purchase's X25519 secret (from the
/// keystore) to the marketplace, which opens the envelope as the sealer does and compares
/// the key with the offer's commitment, sending the admin's dispute bond. It first does
/// the same check locally and refuses to dispute an envelope that opens to the committed
/// key (the bond would be lost) unless `force`.
///
/// # Errors
/// An unknown or undelivered purchase, no key in the keystore, a good envelope without
/// `force`, or the marketplace's refusal (not the buyer, window closed, ...).
pub fn dispute(
    settings: &Settings,
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
    force: bool,
) -> Result<Disputed> {
    let purchase = market.purchase(purchase_id)?;
    let envelope = purchase.envelope.ok_or_else(|| {
        Error::invalid(format!(
            "purchase {purchase_id} has no key delivered; nothing to dispute (after block {} `datamarket refund {purchase_id}` returns the payment)",
            purchase.delivery_deadline
        ))
    })?;
    let public = BuyerPublicKey(purchase.buyer_pk);
    let key = settings.keystore.purchase_key(&public)?.ok_or_else(|| {
        Error::invalid(format!(
            "the keystore {} has no key for purchase {purchase_id}: only its buyer can dispute",
            settings.keystore.root().display()
        ))
    })?;
    let offer = market.offer(purchase.offer_id)?;
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id: purchase.offer_id,
        purchase_id,
    };
    let good = key
        .open(&SealedEnvelope(envelope), &context)
        .is_ok_and(|dek| {
            dek.check_commitment(&KeyCommitment(offer.key_commitment))
                .is_ok()
        });
    if good && !force {
        return Err(Error::invalid(format!(
            "the key delivered for purchase {purchase_id} opens and matches the offer's key commitment: a dispute would fail and cost the dispute bond; `--force` disputes anyway"
        )));
    }
    let bond = market.config()?.dispute_bond;
    let buyer_won: bool = market.call(
        signer,
        format!("dispute purchase {purchase_id}"),
        "dispute",
        &(purchase_id, *key.expose_secret()),
        bond,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(Disputed {
        purchase_id,
        buyer_won,
        bond,
        status: format!("{:?}", purchase.status).to_lowercase(),
    })
}

// ---- settle, refund, withdraw, balance ---------------------------------------------

/// A purchase after `settle` or `refund`.
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseClosed {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Its status now.
    pub status: String,
    /// The amount it held.
    pub amount: Balance,
}

impl fmt::Display for PurchaseClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "purchase {} {} ({})",
            self.purchase_id, self.status, self.amount
        )
    }
}

/// Settles a delivered purchase after its dispute window (anyone may).
///
/// # Errors
/// An unknown purchase, or the marketplace's refusal.
pub fn settle(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
) -> Result<PurchaseClosed> {
    close(market, signer, purchase_id, "settle")
}

/// Refunds an undelivered purchase after its delivery deadline.
///
/// # Errors
/// An unknown purchase, or the marketplace's refusal.
pub fn refund(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
) -> Result<PurchaseClosed> {
    close(market, signer, purchase_id, "refund")
}

fn close(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
    message: &str,
) -> Result<PurchaseClosed> {
    market.purchase(purchase_id)?;
    market.call::<()>(
        signer,
        format!("{message} purchase {purchase_id}"),
        message,
        &purchase_id,
        0,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(PurchaseClosed {
        purchase_id,
        status: format!("{:?}", purchase.status).to_lowercase(),
        amount: purchase.amount,
    })
}

/// Payouts made by `withdraw`.
#[derive(Debug, Clone, Serialize)]
pub struct Withdrawn {
    /// The account paid.
    pub account: String,
    /// Asset and amount, per asset withdrawn.
    pub payouts: Vec<(String, Balance)>,
}

impl fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.payouts.is_empty() {
            return write!(f, "nothing to withdraw for {}", self.account);
        }
        let parts: Vec<String> = self
            .payouts
            .iter()
            .map(|(asset, amount)| format!("{amount} ({asset})"))
            .collect();
        write!(f, "withdrew {} to {}", parts.join(", "), self.account)
    }
}

/// Withdraws the signer's credits in the native asset and in `token`, if given.
///
/// # Errors
/// The marketplace's refusal.
pub fn withdraw(
    market: &mut Market,
    signer: &Signer,
    token: Option<AccountId>,
) -> Result<Withdrawn> {
    let me = signer.account_id();
    let mut payouts = Vec::new();
    for asset in std::iter::once(Asset::Native).chain(token.map(Asset::Psp22)) {
        if market.credit_of(me, asset)? == 0 {
            continue;
        }
        let amount = market.call::<Balance>(
            signer,
            format!("withdraw {}", asset_name(&asset)),
            "withdraw",
            &asset,
            0,
        )?;
        payouts.push((asset_name(&asset), amount));
    }
    Ok(Withdrawn {
        account: address::show(&me),
        payouts,
    })
}

/// An account's money.
#[derive(Debug, Clone, Serialize)]
pub struct Balances {
    /// The account.
    pub account: String,
    /// Free native balance.
    pub native: Balance,
    /// Native credits in the marketplace (withdrawable).
    pub native_credit: Balance,
    /// The token, if one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Token balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_balance: Option<Balance>,
    /// Token credits in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_credit: Option<Balance>,
}

impl fmt::Display for Balances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.account)?;
        write!(
            f,
            "  native  {} free, {} to withdraw",
            self.native, self.native_credit
        )?;
        if let (Some(token), Some(held), Some(credit)) =
            (&self.token, self.token_balance, self.token_credit)
        {
            write!(f, "\n  token   {held} held, {credit} to withdraw ({token})")?;
        }
        Ok(())
    }
}

/// `account`'s free balance and credits.
///
/// # Errors
/// The chain failing.
pub fn balance(
    market: &mut Market,
    account: AccountId,
    token: Option<AccountId>,
) -> Result<Balances> {
    let native = market.chain().free_balance(&account)?;
    let native_credit = market.credit_of(account, Asset::Native)?;
    let (token_balance, token_credit) = match token {
        Some(token) => (
            Some(market.token_balance(token, account)?),
            Some(market.credit_of(account, Asset::Psp22(token))?),
        ),
        None => (None, None),
    };
    Ok(Balances {
        account: address::show(&account),
        native,
        native_credit,
        token: token.map(|t| address::show(&t)),
        token_balance,
        token_credit,
    })
}
