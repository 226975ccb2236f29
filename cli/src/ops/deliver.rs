//! The owner's delivery watcher: seals each paid purchase's data key to its buyer.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    time::{Duration, Instant},
};

use chain::{
    market_types::{Error as MarketError, OfferId, PurchaseId, PurchaseStatus},
    AccountId, Signer,
};
use sealer::{BuyerPublicKey, ContentRoot, EnvelopeContext, KeySealer};
use serde::Serialize;

use super::Settings;
use crate::{address, market::Market, Error, Result};

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
