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
    /// For a job purchase: what ran and what came of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobLog>,
}

/// A job the watcher ran (DESIGN §8).
#[derive(Debug, Clone, Serialize)]
pub struct JobLog {
    /// The job hash (hex).
    pub job_hash: String,
    /// Where the sealed result went, when it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_uri: Option<String>,
    /// SHA-256 of the result plaintext (hex), when it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_sha256: Option<String>,
    /// Fuel burned, when it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel_used: Option<u64>,
}

impl fmt::Display for DeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.skipped, self.block) {
            (None, Some(block)) if self.job.is_some() => write!(
                f,
                "ran job {} on offer {} for purchase {} (buyer {}) and delivered its result in block {block}",
                self.job.as_ref().map_or("?", |j| j.job_hash.as_str()),
                self.offer_id,
                self.purchase_id,
                self.buyer
            ),
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
            job: None,
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
        if let Some(job) = market.job_of(purchase_id)? {
            return self.answer_job(
                settings,
                market,
                purchase_id,
                &purchase,
                job,
                &dek,
                entry,
                log,
            );
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

    /// Runs a bought job beside the data and answers it (its result, or its failure,
    /// which refunds the buyer). A refusal by the marketplace (answered meanwhile, the
    /// deadline passed) is logged and skipped.
    #[allow(clippy::too_many_arguments)]
    fn answer_job(
        &mut self,
        settings: &Settings,
        market: &mut Market,
        purchase_id: PurchaseId,
        purchase: &chain::market_types::Purchase,
        job: chain::market_types::Job,
        dek: &sealer::DataKey,
        mut entry: DeliveryLog,
        log: &mut dyn FnMut(&DeliveryLog),
    ) -> Result<bool> {
        let offer = market.offer(purchase.offer_id)?;
        let mut job_log = JobLog {
            job_hash: hex::encode(job.job_hash),
            result_uri: None,
            result_sha256: None,
            fuel_used: None,
        };
        let answered = super::jobs::answer(
            settings,
            market,
            &self.owner,
            purchase_id,
            purchase,
            &offer,
            &job,
            dek,
        );
        let completed = match answered {
            Ok(super::Answered::Completed {
                result_uri,
                result_sha256,
                fuel_used,
            }) => {
                job_log.result_uri = Some(result_uri);
                job_log.result_sha256 = Some(hex::encode(result_sha256));
                job_log.fuel_used = Some(fuel_used);
                entry.delivered = true;
                entry.block = market.purchase(purchase_id)?.delivered_at;
                true
            }
            Ok(super::Answered::Failed { error }) => {
                entry.skipped = Some(format!("the job failed ({error}); the buyer is refunded"));
                false
            }
            Err(Error::Refused { error, .. }) => {
                entry.skipped = Some(format!("the marketplace refused the answer: {error:?}"));
                false
            }
            Err(e) => return Err(e),
        };
        entry.job = Some(job_log);
        log(&entry);
        Ok(completed)
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
