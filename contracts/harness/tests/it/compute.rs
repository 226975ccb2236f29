//! Compute jobs on the real pallet-contracts runtime (DESIGN §8): a buyer pays for a job,
//! the owner runs it for real in the sandbox beside the data (the example `csv-stats`
//! job on a sealed dataset, decrypted only into the job's stdin), and only its result
//! leaves, sealed to the buyer, with its provenance on chain. Disputes cover results.

use contract_harness::{
    market::{Market, SealedDataset, Settings},
    market_types::{
        decode::MarketEvent, Asset, ComputeTerms, Error, Job, JobResult, OfferId, PurchaseId,
        PurchaseStatus,
    },
    Balance, Outcome,
};
use datamarket_sandbox::{examples, Args, Feed, JobHash, Limits, Sandbox};
use ink_sandbox::AccountId32;
use sealer::{BuyerSecretKey, ChunkSize, DataKey, Decryptor, Encryptor, KeyOpener, SealedEnvelope};
use sha2::{Digest, Sha256};

const ACCESS_PRICE: Balance = 10_000;
const JOB_PRICE: Balance = 2_500;
const JOB_URI: &str = "file:///jobs/csv-stats.wasm";

fn diary() -> Vec<u8> {
    let mut csv = String::from("hours,caffeine_mg,rested\n");
    for i in 0..3_000 {
        let hours = 4.0 + (i * 7 % 60) as f64 / 10.0;
        let caffeine = (i * 13 % 400) as f64;
        csv += &format!("{hours},{caffeine},{}\n", u8::from(hours > 7.0));
    }
    csv.into_bytes()
}

fn events(outcome: &Outcome<impl Sized>) -> Vec<MarketEvent> {
    outcome
        .events
        .iter()
        .filter_map(|e| e.decode_market())
        .map(|e| e.expect("decodes"))
        .collect()
}

fn names(outcome: &Outcome<impl Sized>) -> Vec<&'static str> {
    events(outcome).iter().map(MarketEvent::name).collect()
}

struct Case {
    m: Market,
    owner: AccountId32,
    buyer: AccountId32,
    data: SealedDataset,
    offer_id: OfferId,
    job: JobHash,
}

impl Case {
    /// A dataset listed by "owner" that sells jobs only: csv-stats, at JOB_PRICE.
    fn new() -> Self {
        let mut m =
            Market::deploy(&Settings::default()).expect("deploy; run scripts/build-contracts");
        let (owner, buyer) = (m.chain.account("owner"), m.chain.account("buyer"));
        let plaintext = diary();
        let data = SealedDataset::new(&plaintext, 4096);
        let bond = m.config().min_bond;
        let offer = data.offer(ACCESS_PRICE, Asset::Native, &[(&owner, 10_000)]);
        let offer_id: OfferId = m.must(&owner, "create_offer", &offer, bond);
        let job = examples::load("csv-stats")
            .expect("scripts/build-jobs")
            .hash();
        let outcome = m
            .call::<()>(
                &owner,
                "set_compute_terms",
                &(offer_id, Some(terms(job))),
                0,
            )
            .unwrap();
        assert_eq!(outcome.value, Ok(()));
        assert_eq!(names(&outcome), ["ComputeTermsSet"]);
        Case {
            m,
            owner,
            buyer,
            data,
            offer_id,
            job,
        }
    }

    fn buy_job(
        &mut self,
        job: JobHash,
        secret: &BuyerSecretKey,
        max: Balance,
        value: Balance,
    ) -> Outcome<Result<PurchaseId, Error>> {
        let buyer = self.buyer.clone();
        let args = (
            self.offer_id,
            job.0,
            JOB_URI.to_string(),
            Args::default().hash(),
            secret.public_key().0,
            max,
        );
        self.m
            .call::<PurchaseId>(&buyer, "purchase_job", &args, value)
            .unwrap()
    }

    /// What the owner's watcher does: runs the bought job in the sandbox on the dataset
    /// decrypted into its stdin, seals the result under a fresh key, and seals that key
    /// to the buyer. Returns the result, its ciphertext, and what goes on chain.
    fn run_job(&mut self, purchase_id: PurchaseId) -> (Vec<u8>, Vec<u8>, JobResult, DataKey) {
        let job: Job = self
            .m
            .query::<Option<Job>>("job_of", &purchase_id)
            .expect("a job");
        let module = examples::load("csv-stats").unwrap();
        assert_eq!(module.hash().0, job.job_hash, "the module bought");
        let sandbox = Sandbox::new(None).unwrap();
        let prepared = sandbox.prepare(&module).unwrap();
        let (ciphertext, key, root) = (
            self.data.ciphertext.clone(),
            self.data.dek.clone(),
            self.data.content_root,
        );
        let feed = Feed::spawn(move |pipe| {
            Decryptor::new(&key)
                .expect_root(sealer::ContentRoot(root))
                .decrypt(&ciphertext[..], pipe)
                .map(drop)
        })
        .unwrap();
        let outcome = sandbox
            .run(
                &prepared,
                feed,
                &Args::default(),
                [9; 32],
                &Limits::default(),
            )
            .unwrap();
        let result_key = DataKey::generate().unwrap();
        let mut sealed = Vec::new();
        let receipt = Encryptor::new(
            &result_key,
            outcome.result.len() as u64,
            ChunkSize::new(4096).unwrap(),
        )
        .unwrap()
        .encrypt(&outcome.result[..], &mut sealed)
        .unwrap();
        let result = JobResult {
            uri: format!("file:///results/{purchase_id}.dms"),
            content_root: receipt.content_root.0,
            header: receipt.header.to_bytes(),
            key_commitment: result_key.commitment().0,
            plaintext_sha256: outcome.result_sha256,
            fuel_used: outcome.fuel_used,
        };
        (outcome.result.to_vec(), sealed, result, result_key)
    }

    fn deliver_result(
        &mut self,
        purchase_id: PurchaseId,
        result: &JobResult,
        key: &DataKey,
    ) -> Outcome<Result<(), Error>> {
        let envelope = self.m.seal_for(purchase_id, key);
        let owner = self.owner.clone();
        self.m
            .call::<()>(
                &owner,
                "deliver_result",
                &(purchase_id, result.clone(), envelope),
                0,
            )
            .unwrap()
    }
}

fn terms(job: JobHash) -> ComputeTerms {
    ComputeTerms {
        price: JOB_PRICE,
        sells_access: false,
        allowed_jobs: vec![job.0],
        any_job: false,
        result_cap: 64 * 1024,
        fuel_cap: Limits::default().fuel,
        memory_cap: Limits::default().memory_bytes,
    }
}

#[test]
fn a_job_is_bought_run_beside_the_data_and_only_its_sealed_result_leaves() {
    let mut c = Case::new();
    let secret = BuyerSecretKey::generate().unwrap();
    let buyer = c.buyer.clone();

    // The dataset itself is not for sale; other jobs are not allowed; the price guard.
    let access =
        c.m.call::<PurchaseId>(
            &buyer,
            "purchase",
            &(c.offer_id, secret.public_key().0),
            ACCESS_PRICE,
        )
        .unwrap();
    assert_eq!(access.value, Err(Error::AccessNotForSale));
    let other = JobHash::of(b"a job the owner never allowed");
    assert_eq!(
        c.buy_job(other, &secret, JOB_PRICE, JOB_PRICE).value,
        Err(Error::JobNotAllowed)
    );
    assert_eq!(
        c.buy_job(c.job, &secret, JOB_PRICE - 1, JOB_PRICE).value,
        Err(Error::PriceAboveMax)
    );
    assert_eq!(
        c.buy_job(c.job, &secret, JOB_PRICE, ACCESS_PRICE).value,
        Err(Error::WrongPayment)
    );

    let bought = c.buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE);
    let purchase_id = bought.value.unwrap();
    assert_eq!(names(&bought), ["PurchaseCreated", "JobPurchased"]);
    assert_eq!(c.m.purchase(purchase_id).unwrap().amount, JOB_PRICE);
    c.m.check_solvency().unwrap();

    // The dataset key cannot be handed out for a job.
    let owner = c.owner.clone();
    let envelope = c.m.seal_for(purchase_id, &c.data.dek.clone());
    let outcome =
        c.m.call::<()>(&owner, "deliver", &(purchase_id, envelope), 0)
            .unwrap();
    assert_eq!(outcome.value, Err(Error::IsAJob));

    let (result_plaintext, result_ciphertext, result, result_key) = c.run_job(purchase_id);
    let delivered = c.deliver_result(purchase_id, &result, &result_key);
    assert_eq!(delivered.value, Ok(()));
    assert_eq!(names(&delivered), ["KeyDelivered", "JobCompleted"]);
    let completed = events(&delivered)
        .into_iter()
        .find_map(|e| match e {
            MarketEvent::JobCompleted(done) => Some(done),
            _ => None,
        })
        .unwrap();
    // The provenance record: which data, which job, which arguments, which result.
    assert_eq!(completed.dataset_root, c.data.content_root);
    assert_eq!(completed.job_hash, c.job.0);
    assert_eq!(completed.args_hash, Args::default().hash());
    assert_eq!(completed.result_root, result.content_root);
    assert_eq!(completed.result_uri, result.uri);
    assert_eq!(completed.result_sha256, result.plaintext_sha256);
    assert!(completed.fuel_used > 0);

    // The buyer opens the envelope, checks the result's key commitment and root, and
    // reads the statistics; the dataset's key never reached it.
    let envelope = c.m.purchase(purchase_id).unwrap().envelope.unwrap();
    let ctx = c.m.envelope_context(purchase_id);
    let key = secret.open(&SealedEnvelope(envelope), &ctx).unwrap();
    assert_eq!(key.commitment().0, result.key_commitment);
    assert_ne!(key.commitment().0, c.data.dek.commitment().0);
    let mut opened = Vec::new();
    Decryptor::new(&key)
        .expect_root(sealer::ContentRoot(result.content_root))
        .expect_key_commitment(sealer::KeyCommitment(result.key_commitment))
        .decrypt(&result_ciphertext[..], &mut opened)
        .unwrap();
    assert_eq!(opened, result_plaintext);
    assert_eq!(
        <[u8; 32]>::from(Sha256::digest(&opened)),
        completed.result_sha256
    );
    let stats: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(stats["rows"], 3_000);

    // Anyone holding the dataset re-runs the job and gets the same result hash.
    let (again, _, rerun, _) = c.run_job(purchase_id);
    assert_eq!(again, result_plaintext);
    assert_eq!(rerun.plaintext_sha256, completed.result_sha256);
    assert_eq!(rerun.fuel_used, completed.fuel_used);

    // After the window the owner is paid the job price (less the fee), as for a sale.
    c.m.chain
        .build_blocks(Settings::default().dispute_window + 1);
    let settled = c.m.call::<()>(&buyer, "settle", &purchase_id, 0).unwrap();
    assert_eq!(settled.value, Ok(()));
    assert_eq!(
        c.m.purchase(purchase_id).unwrap().status,
        PurchaseStatus::Settled
    );
    let fee = JOB_PRICE * u128::from(c.m.config().fee_bps) / 10_000;
    assert_eq!(c.m.credit_of(&owner, Asset::Native), JOB_PRICE - fee);
    c.m.check_solvency().unwrap();
}

#[test]
fn a_failed_job_is_refunded_at_once() {
    let mut c = Case::new();
    let secret = BuyerSecretKey::generate().unwrap();
    let purchase_id = c
        .buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE)
        .value
        .unwrap();
    let (owner, buyer) = (c.owner.clone(), c.buyer.clone());
    // Only the owner reports a failure.
    let outcome =
        c.m.call::<()>(&buyer, "fail_job", &(purchase_id, 2u8), 0)
            .unwrap();
    assert_eq!(outcome.value, Err(Error::NotOfferOwner));
    let failed =
        c.m.call::<()>(&owner, "fail_job", &(purchase_id, 2u8), 0)
            .unwrap();
    assert_eq!(failed.value, Ok(()));
    assert_eq!(names(&failed), ["JobFailed", "PurchaseRefunded"]);
    assert_eq!(
        c.m.purchase(purchase_id).unwrap().status,
        PurchaseStatus::Refunded
    );
    assert_eq!(
        c.m.query::<Option<Job>>("job_of", &purchase_id)
            .unwrap()
            .failure,
        Some(2)
    );
    assert_eq!(c.m.credit_of(&buyer, Asset::Native), JOB_PRICE);
    assert_eq!(c.m.liabilities(Asset::Native).escrow, 0);
    c.m.check_solvency().unwrap();
    // Answered once: neither a result nor a second failure after it.
    let (_, _, result, key) = c.run_job(purchase_id);
    assert_eq!(
        c.deliver_result(purchase_id, &result, &key).value,
        Err(Error::NotPending)
    );
    let again =
        c.m.call::<()>(&owner, "fail_job", &(purchase_id, 2u8), 0)
            .unwrap();
    assert_eq!(again.value, Err(Error::NotPending));
}

#[test]
fn a_result_over_the_cap_is_refused_and_an_access_purchase_is_not_a_job() {
    let mut c = Case::new();
    let owner = c.owner.clone();
    // Sell access too, with a result cap smaller than csv-stats' answer.
    let mut small = terms(c.job);
    small.sells_access = true;
    small.result_cap = 64;
    assert_eq!(
        c.m.call::<()>(&owner, "set_compute_terms", &(c.offer_id, Some(small)), 0)
            .unwrap()
            .value,
        Ok(())
    );
    let secret = BuyerSecretKey::generate().unwrap();
    let purchase_id = c
        .buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE)
        .value
        .unwrap();
    let (_, _, result, key) = c.run_job(purchase_id);
    assert_eq!(
        c.deliver_result(purchase_id, &result, &key).value,
        Err(Error::ResultOverCap)
    );

    let buyer = c.buyer.clone();
    let access: PurchaseId = c.m.must(
        &buyer,
        "purchase",
        &(c.offer_id, secret.public_key().0),
        ACCESS_PRICE,
    );
    assert_eq!(
        c.deliver_result(access, &result, &key).value,
        Err(Error::NotAJob)
    );
    let outcome =
        c.m.call::<()>(&owner, "fail_job", &(access, 1u8), 0)
            .unwrap();
    assert_eq!(outcome.value, Err(Error::NotAJob));

    // "Any job" only with a small result cap; the contract checks the terms too.
    let mut any = terms(c.job);
    any.any_job = true;
    any.allowed_jobs.clear();
    let outcome =
        c.m.call::<()>(&owner, "set_compute_terms", &(c.offer_id, Some(any)), 0)
            .unwrap();
    assert_eq!(outcome.value, Err(Error::AnyJobNeedsSmallResultCap));
    // Without terms the offer sells no jobs.
    assert_eq!(
        c.m.call::<()>(
            &owner,
            "set_compute_terms",
            &(c.offer_id, None::<ComputeTerms>),
            0
        )
        .unwrap()
        .value,
        Ok(())
    );
    assert_eq!(
        c.buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE).value,
        Err(Error::NotComputeOffer)
    );
}

#[test]
fn disputes_check_the_result_not_the_dataset() {
    let dispute_bond = 500;
    // A result sealed with the wrong key (the dataset's): the buyer wins the envelope
    // dispute against the result's commitment.
    let mut c = Case::new();
    let admin = c.m.admin.clone();
    let min_bond = c.m.config().min_bond;
    c.m.must::<()>(&admin, "set_bonds", &(min_bond, dispute_bond), 0);
    let secret = BuyerSecretKey::generate().unwrap();
    let purchase_id = c
        .buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE)
        .value
        .unwrap();
    let (_, _, result, _) = c.run_job(purchase_id);
    let dataset_key = c.data.dek.clone();
    assert_eq!(
        c.deliver_result(purchase_id, &result, &dataset_key).value,
        Ok(())
    );
    let buyer = c.buyer.clone();
    let won =
        c.m.call::<bool>(
            &buyer,
            "dispute",
            &(purchase_id, *secret.expose_secret()),
            dispute_bond,
        )
        .unwrap();
    assert_eq!(won.value, Ok(true));
    assert_eq!(
        c.m.purchase(purchase_id).unwrap().status,
        PurchaseStatus::Resolved
    );

    // The right key for the result: the same dispute fails.
    let secret = BuyerSecretKey::generate().unwrap();
    let purchase_id = c
        .buy_job(c.job, &secret, JOB_PRICE, JOB_PRICE)
        .value
        .unwrap();
    let (_, _, result, key) = c.run_job(purchase_id);
    assert_eq!(c.deliver_result(purchase_id, &result, &key).value, Ok(()));
    let lost =
        c.m.call::<bool>(
            &buyer,
            "dispute",
            &(purchase_id, *secret.expose_secret()),
            dispute_bond,
        )
        .unwrap();
    assert_eq!(lost.value, Ok(false));
    c.m.check_solvency().unwrap();
}
