//! Compute jobs (DESIGN §8): buying a job on an offer's dataset, the owner's answer (a
//! result sealed like a dataset key, or a failure refunded at once), and which
//! ciphertext a dispute is about. Private to the contract; its messages call these.

use ink::codegen::Env as _;
use ink::prelude::string::String;
use market_types::{
    check_compute_terms, check_header, check_uri,
    events::{ComputeTermsSet, JobCompleted, JobFailed, JobPurchased},
    Balance, CiphertextHeader, ComputeTerms, Envelope, Error, Hash32, Job, JobResult, Offer,
    OfferId, PurchaseId, PurchaseStatus, Result, X25519PublicKey,
};

use crate::marketplace::Marketplace;

/// What a purchase bought, as a dispute checks it: the offer's ciphertext, or the job
/// result's.
pub(crate) struct SoldCiphertext {
    pub content_root: Hash32,
    pub header: CiphertextHeader,
    pub key_commitment: Hash32,
}

impl Marketplace {
    pub(crate) fn sold_ciphertext(&self, purchase_id: PurchaseId, offer: &Offer) -> SoldCiphertext {
        match self.jobs.get(purchase_id).and_then(|job| job.result) {
            Some(result) => SoldCiphertext {
                content_root: result.content_root,
                header: result.header,
                key_commitment: result.key_commitment,
            },
            None => SoldCiphertext {
                content_root: offer.content_root,
                header: offer.header,
                key_commitment: offer.key_commitment,
            },
        }
    }

    pub(crate) fn set_terms(
        &mut self,
        offer_id: OfferId,
        terms: Option<ComputeTerms>,
    ) -> Result<()> {
        self.ensure_running()?;
        let offer = self.owned_offer(offer_id)?;
        if offer.status == market_types::OfferStatus::Delisted {
            return Err(Error::OfferDelisted);
        }
        match &terms {
            Some(terms) => {
                check_compute_terms(terms)?;
                self.compute_terms.insert(offer_id, terms);
            }
            None => self.compute_terms.remove(offer_id),
        }
        self.env().emit_event(ComputeTermsSet { offer_id, terms });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn buy_job(
        &mut self,
        offer_id: OfferId,
        job_hash: Hash32,
        job_uri: String,
        args_hash: Hash32,
        buyer_pk: X25519PublicKey,
        max_price: Balance,
    ) -> Result<PurchaseId> {
        self.ensure_running()?;
        let mut offer = self.buyable_offer(offer_id)?;
        let terms = self
            .compute_terms
            .get(offer_id)
            .ok_or(Error::NotComputeOffer)?;
        if !terms.allows(&job_hash) {
            return Err(Error::JobNotAllowed);
        }
        if terms.price > max_price {
            return Err(Error::PriceAboveMax);
        }
        check_uri(&job_uri)?;
        let purchase_id = self.escrow(offer_id, &mut offer, buyer_pk, terms.price)?;
        self.jobs.insert(
            purchase_id,
            &Job {
                job_hash,
                job_uri: job_uri.clone(),
                args_hash,
                result: None,
                failure: None,
            },
        );
        self.env().emit_event(JobPurchased {
            purchase_id,
            offer_id,
            job_hash,
            job_uri,
            args_hash,
        });
        // State is written; only now call out (a failure reverts all of the above).
        self.pull_tokens(offer.asset, terms.price)?;
        Ok(purchase_id)
    }

    /// The job purchase, if the caller owns its offer and may still answer it.
    fn answerable_job(
        &self,
        purchase_id: PurchaseId,
    ) -> Result<(market_types::Purchase, Offer, Job)> {
        self.ensure_running()?;
        let purchase = self.get_purchase(purchase_id)?;
        let offer = self.get_offer(purchase.offer_id)?;
        if self.env().caller() != offer.owner {
            return Err(Error::NotOfferOwner);
        }
        let job = self.jobs.get(purchase_id).ok_or(Error::NotAJob)?;
        if purchase.status != PurchaseStatus::Pending {
            return Err(Error::NotPending);
        }
        if self.env().block_number() > purchase.delivery_deadline {
            return Err(Error::DeliveryDeadlinePassed);
        }
        Ok((purchase, offer, job))
    }

    pub(crate) fn answer_job(
        &mut self,
        purchase_id: PurchaseId,
        result: JobResult,
        envelope: Envelope,
    ) -> Result<()> {
        let (mut purchase, offer, mut job) = self.answerable_job(purchase_id)?;
        check_header(&result.header)?;
        check_uri(&result.uri)?;
        let header = datamarket_format::Header::from_bytes(&result.header)
            .map_err(|_| Error::InvalidHeader)?;
        // The caps in force now: they protect the owner's data (a result cap bounds what
        // a job can copy out), and only the owner may change them.
        let terms = self
            .compute_terms
            .get(purchase.offer_id)
            .ok_or(Error::NotComputeOffer)?;
        if header.plaintext_len() > terms.result_cap || result.fuel_used > terms.fuel_cap {
            return Err(Error::ResultOverCap);
        }
        let completed = JobCompleted {
            purchase_id,
            offer_id: purchase.offer_id,
            dataset_root: offer.content_root,
            job_hash: job.job_hash,
            args_hash: job.args_hash,
            result_sha256: result.plaintext_sha256,
            result_root: result.content_root,
            result_uri: result.uri.clone(),
            fuel_used: result.fuel_used,
        };
        job.result = Some(result);
        self.jobs.insert(purchase_id, &job);
        self.mark_delivered(purchase_id, &mut purchase, envelope)?;
        self.env().emit_event(completed);
        Ok(())
    }

    pub(crate) fn refund_failed_job(&mut self, purchase_id: PurchaseId, kind: u8) -> Result<()> {
        let (mut purchase, mut offer, mut job) = self.answerable_job(purchase_id)?;
        job.failure = Some(kind);
        self.jobs.insert(purchase_id, &job);
        self.env().emit_event(JobFailed {
            purchase_id,
            offer_id: purchase.offer_id,
            kind,
        });
        self.refund_to_buyer(purchase_id, &mut purchase, &mut offer)
    }
}
