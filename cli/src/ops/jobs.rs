//! Compute jobs (DESIGN §8) from the command line: the owner's compute terms, the
//! owner's watcher answering a bought job beside the data, and the buyer's `job run`.
//!
//! A job's arguments travel beside its module: the module at the job URI, the arguments
//! (a JSON array of strings) at the same URI with `.args` appended, absent when there
//! are none. The owner checks both against the hashes on chain before anything runs.

use std::{fmt, path::PathBuf, time::Duration};

use chain::{
    market_types::{
        check_compute_terms, compute::ANY_JOB_MAX_RESULT, Asset, ComputeTerms, Job, JobResult,
        Offer, OfferId, Purchase, PurchaseId, PurchaseStatus,
    },
    Balance, Signer,
};
use datamarket_sandbox::{
    check_imports, seed_for, Args, Feed, JobError, JobHash, JobModule, Limits, Sandbox,
};
use sealer::{
    BuyerPublicKey, ChunkSize, ContentRoot, DataKey, Decryptor, Encryptor, EnvelopeContext,
    KeyCommitment, KeyOpener, KeySealer, SealedEnvelope,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{asset_name, Settings};
use crate::{blobs, market::Market, Error, Result};

/// The largest job module the owner downloads (CPython for WASI is about 100 MB).
pub const MAX_MODULE_BYTES: u64 = 256 << 20;
/// How long a job may run on the owner's machine.
pub const WALL_TIME: Duration = Duration::from_secs(600);

/// Where compiled job modules are cached: `$DATAMARKET_JOB_CACHE`, else
/// `~/.cache/datamarket/job-cache`; none without a home.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("DATAMARKET_JOB_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/datamarket/job-cache"))
        })
}

/// What `offer compute` sets.
#[derive(Debug, Clone)]
pub struct ComputeSpec {
    /// The job modules the owner allows (their hashes go on chain).
    pub jobs: Vec<PathBuf>,
    /// Any job, explicitly: only with a result cap of at most 4 KiB.
    pub any_job: bool,
    /// Price per job, in the offer's asset.
    pub price: Balance,
    /// Stop selling the dataset itself.
    pub jobs_only: bool,
    /// Most bytes of result.
    pub result_cap: u64,
    /// Most fuel per job.
    pub fuel_cap: u64,
    /// Most memory per job, in bytes.
    pub memory_cap: u64,
}

/// Compute terms set on an offer.
#[derive(Debug, Clone, Serialize)]
pub struct ComputeSet {
    /// The offer.
    pub offer_id: OfferId,
    /// The allowed job hashes (hex).
    pub job_hashes: Vec<String>,
    /// Any job allowed.
    pub any_job: bool,
    /// Price per job.
    pub price: Balance,
    /// Whether the dataset itself stays for sale.
    pub sells_access: bool,
}

impl fmt::Display for ComputeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offer {} sells jobs at {} each",
            self.offer_id, self.price
        )?;
        if self.any_job {
            write!(f, ", any job")?;
        }
        for hash in &self.job_hashes {
            write!(f, "\n  allowed job {hash}")?;
        }
        if !self.sells_access {
            write!(f, "\n  the dataset itself is no longer for sale")?;
        }
        Ok(())
    }
}

/// Sets an offer's compute terms, after the checks the contract makes and one more: each
/// allowed module must be a job the sandbox would run.
///
/// # Errors
/// Bad terms, an unreadable or refused module, or the marketplace's refusal.
pub fn set_compute(
    market: &mut Market,
    owner: &Signer,
    offer_id: OfferId,
    spec: &ComputeSpec,
) -> Result<ComputeSet> {
    if spec.any_job && !spec.jobs.is_empty() {
        return Err(Error::invalid("--any-job and --job exclude each other"));
    }
    if spec.any_job && spec.result_cap > ANY_JOB_MAX_RESULT {
        return Err(Error::invalid(format!(
            "--any-job needs --result-cap of at most {ANY_JOB_MAX_RESULT} bytes: the cap bounds \
             what a hostile job can copy out of your data"
        )));
    }
    if !spec.any_job && spec.jobs.is_empty() {
        return Err(Error::invalid(
            "name the jobs you allow with --job FILE.wasm (or --any-job with a small --result-cap)",
        ));
    }
    let mut hashes = Vec::new();
    for path in &spec.jobs {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        check_imports(&bytes).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        hashes.push(JobHash::of(&bytes).0);
    }
    let terms = ComputeTerms {
        price: spec.price,
        sells_access: !spec.jobs_only,
        allowed_jobs: hashes.clone(),
        any_job: spec.any_job,
        result_cap: spec.result_cap,
        fuel_cap: spec.fuel_cap,
        memory_cap: spec.memory_cap,
    };
    check_compute_terms(&terms).map_err(|e| Error::invalid(format!("bad compute terms: {e:?}")))?;
    market.call::<()>(
        owner,
        format!("set the compute terms of offer {offer_id}"),
        "set_compute_terms",
        &(offer_id, Some(terms)),
        0,
    )?;
    Ok(ComputeSet {
        offer_id,
        job_hashes: hashes.iter().map(hex::encode).collect(),
        any_job: spec.any_job,
        price: spec.price,
        sells_access: !spec.jobs_only,
    })
}

/// How the owner's watcher answered a job.
#[derive(Debug, Clone)]
pub enum Answered {
    /// The result went on chain, sealed to the buyer.
    Completed {
        /// Where the result ciphertext is.
        result_uri: String,
        /// SHA-256 of the result's plaintext.
        result_sha256: [u8; 32],
        /// Fuel burned.
        fuel_used: u64,
    },
    /// The job failed and the buyer was refunded.
    Failed {
        /// Why.
        error: String,
    },
}

/// The arguments at `<job_uri>.args`, or none when there is no such object.
fn fetch_args(job_uri: &str) -> std::result::Result<Args, JobError> {
    let uri = format!("{job_uri}.args");
    let text = match blobs::fetch_small(&uri, 64 * 1024) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(Args::default()),
        Err(e) => return Err(JobError::BadArgs(e.to_string())),
    };
    let args: Vec<String> = serde_json::from_slice(&text)
        .map_err(|e| JobError::BadArgs(format!("{uri} is not a JSON array of strings: {e}")))?;
    Args::new(args)
}

/// Runs a bought job on the owner's dataset and answers it on chain: the result sealed
/// under a fresh key into the owner's blob store and to the buyer, or the failure, which
/// refunds the buyer. The caller has checked that the purchase is the owner's, pending.
///
/// # Errors
/// The chain or the blob store failing (nothing was answered; try again).
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer(
    settings: &Settings,
    market: &mut Market,
    owner: &Signer,
    purchase_id: PurchaseId,
    purchase: &Purchase,
    offer: &Offer,
    job: &Job,
    dek: &DataKey,
) -> Result<Answered> {
    let terms = market.compute_terms(purchase.offer_id)?;
    let (uri, _) = market.offer_metadata(purchase.offer_id)?;
    let ran = run_on_dataset(
        settings,
        market,
        purchase_id,
        &uri,
        offer,
        job,
        dek,
        terms.as_ref(),
    );
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(error) => {
            market.call::<()>(
                owner,
                format!("report the failure of job purchase {purchase_id}"),
                "fail_job",
                &(purchase_id, error.kind() as u8),
                0,
            )?;
            return Ok(Answered::Failed {
                error: error.to_string(),
            });
        }
    };
    let result_key = DataKey::generate()?;
    let store = blobs::BlobStore::open(&settings.blobs)?;
    let staged = store.staging_file()?;
    let sealed = Encryptor::new(&result_key, outcome.result.len() as u64, ChunkSize::DEFAULT)?
        .encrypt(&outcome.result[..], staged.as_file())?;
    staged
        .as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot write", staged.path(), e))?;
    let name = format!(
        "result-{purchase_id}-{}.dms",
        hex::encode(&sealed.content_root.0[..8])
    );
    let upload = settings
        .progress
        .bytes("uploading the result", sealed.header.ciphertext_len());
    let result_uri = store.put(staged, &name, &upload)?;
    upload.finish_and_clear();
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id: purchase.offer_id,
        purchase_id,
    };
    let envelope = BuyerPublicKey(purchase.buyer_pk).seal(&result_key, &context)?;
    let result = JobResult {
        uri: result_uri.clone(),
        content_root: sealed.content_root.0,
        header: sealed.header.to_bytes(),
        key_commitment: result_key.commitment().0,
        plaintext_sha256: outcome.result_sha256,
        fuel_used: outcome.fuel_used,
    };
    market.call::<()>(
        owner,
        format!("deliver the result of job purchase {purchase_id}"),
        "deliver_result",
        &(purchase_id, result, envelope.0),
        0,
    )?;
    Ok(Answered::Completed {
        result_uri,
        result_sha256: outcome.result_sha256,
        fuel_used: outcome.fuel_used,
    })
}

/// The job's run: the module bought (by hash), its arguments (by hash), the dataset
/// decrypted only into the job's stdin, under the offer's caps.
#[allow(clippy::too_many_arguments)]
fn run_on_dataset(
    settings: &Settings,
    market: &Market,
    purchase_id: PurchaseId,
    uri: &str,
    offer: &Offer,
    job: &Job,
    dek: &DataKey,
    terms: Option<&ComputeTerms>,
) -> std::result::Result<datamarket_sandbox::Outcome, JobError> {
    let terms =
        terms.ok_or_else(|| JobError::BadArgs("the offer sells no jobs any more".into()))?;
    let bytes = match blobs::fetch_small(&job.job_uri, MAX_MODULE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(JobError::NotWasm(format!("nothing at {}", job.job_uri))),
        Err(e) => return Err(JobError::NotWasm(e.to_string())),
    };
    let module = JobModule::bought(bytes, JobHash(job.job_hash))?;
    let args = fetch_args(&job.job_uri)?;
    if args.hash() != job.args_hash {
        return Err(JobError::BadArgs(
            "the arguments beside the module are not the ones bought (their hash differs)".into(),
        ));
    }
    let sandbox = Sandbox::new(cache_dir().as_deref())?;
    let prepared = sandbox.prepare(&module)?;
    let header = sealer::Header::parse(&offer.header).map_err(|e| JobError::Host(e.to_string()))?;
    let download = settings
        .progress
        .bytes("downloading the dataset", header.ciphertext_len());
    let file = blobs::open_ciphertext(uri, header.ciphertext_len(), &download)
        .map_err(|e| JobError::Input(e.to_string()))?;
    download.finish_and_clear();
    let (dek, root, offer_header) = (dek.clone(), offer.content_root, offer.header);
    let feed = Feed::spawn(move |pipe| {
        Decryptor::new(&dek)
            .expect_root(ContentRoot(root))
            .expect_header(offer_header)
            .decrypt_from_file(&file, pipe)
            .map(drop)
    })
    .map_err(|e| JobError::Host(e.to_string()))?;
    let limits = Limits {
        fuel: terms.fuel_cap,
        memory_bytes: terms.memory_cap,
        wall_time: WALL_TIME,
        result_bytes: terms.result_cap,
    };
    let contract: [u8; 32] = *market.address().as_ref();
    let seed = seed_for(&contract, purchase_id);
    sandbox.run(&prepared, feed, &args, seed, &limits)
}

/// What `job run` asks for.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// The offer whose dataset the job runs on.
    pub offer_id: OfferId,
    /// The job module.
    pub wasm: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where to put the module (and its arguments) for the owner to download: a
    /// directory or a store URL the owner can read.
    pub upload_to: String,
    /// The most the buyer pays (the offer's job price when `None`).
    pub max_price: Option<Balance>,
    /// How long to wait for the owner's answer.
    pub wait: Duration,
}

/// A job run for the buyer: its purchase, provenance and the verified result.
#[derive(Clone, Serialize)]
pub struct JobRan {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// The offer.
    pub offer_id: OfferId,
    /// The job hash (hex).
    pub job_hash: String,
    /// What was paid.
    pub amount: Balance,
    /// "native" or "token ADDR".
    pub asset: String,
    /// SHA-256 of the result plaintext (hex), as on chain.
    pub result_sha256: String,
    /// The fuel the job burned.
    pub fuel_used: u64,
    /// The result, checked against its root, key commitment and hash.
    #[serde(skip)]
    pub result: zeroize::Zeroizing<Vec<u8>>,
}

/// Uploads the job, buys it with a fresh X25519 key, waits for the owner's answer, then
/// fetches the result and checks it (its content root, the key commitment, and the
/// plaintext hash in the provenance record) before handing it over.
///
/// # Errors
/// A job the offer does not allow, a price above `max_price`, the job failing on the
/// owner's machine (refunded at once), no answer in time, or a result that does not
/// check out.
pub fn run_job(
    settings: &Settings,
    market: &mut Market,
    buyer: &Signer,
    request: &JobRequest,
) -> Result<JobRan> {
    let offer_id = request.offer_id;
    let terms = market
        .compute_terms(offer_id)?
        .ok_or_else(|| Error::invalid(format!("offer {offer_id} sells no jobs")))?;
    let offer = market.offer(offer_id)?;
    let bytes =
        std::fs::read(&request.wasm).map_err(|e| Error::io("cannot read", &request.wasm, e))?;
    check_imports(&bytes)
        .map_err(|e| Error::invalid(format!("{}: {e}", request.wasm.display())))?;
    let job = JobHash::of(&bytes);
    if !terms.allows(&job.0) {
        return Err(Error::invalid(format!(
            "offer {offer_id} does not allow the job {job}; it allows {}",
            terms
                .allowed_jobs
                .iter()
                .map(hex::encode)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let max_price = request.max_price.unwrap_or(terms.price);
    if terms.price > max_price {
        return Err(Error::invalid(format!(
            "offer {offer_id} asks {} per job, above --max-price {max_price}",
            terms.price
        )));
    }
    let args = Args::new(request.args.clone()).map_err(|e| Error::invalid(e.to_string()))?;
    // Named by module and arguments, so that two buyers of one module never overwrite
    // each other's arguments.
    let name = format!(
        "job-{}-{}.wasm",
        &job.to_hex()[..16],
        &hex::encode(args.hash())[..16]
    );
    let store = blobs::BlobStore::open(&request.upload_to)?;
    let job_uri = put_bytes(settings, &store, &name, &bytes)?;
    if !args.as_slice().is_empty() {
        let json =
            serde_json::to_vec(args.as_slice()).map_err(|e| Error::invalid(e.to_string()))?;
        put_bytes(settings, &store, &format!("{name}.args"), &json)?;
    }
    let key = sealer::BuyerSecretKey::generate()?;
    settings.keystore.save_purchase_key(&key)?;
    let value = match offer.asset {
        Asset::Native => terms.price,
        Asset::Psp22(token) => {
            market.approve(buyer, token, terms.price)?;
            0
        }
    };
    let purchase_id = market.call::<PurchaseId>(
        buyer,
        format!("buy job {job} on offer {offer_id}"),
        "purchase_job",
        &(
            offer_id,
            job.0,
            job_uri,
            args.hash(),
            key.public_key().0,
            max_price,
        ),
        value,
    )?;
    let purchase = wait_for_answer(market, purchase_id, request.wait)?;
    let answered = market
        .job_of(purchase_id)?
        .ok_or(Error::UnknownPurchase(purchase_id))?;
    let result = match (purchase.status, answered.result) {
        (PurchaseStatus::Refunded, _) => {
            return Err(Error::invalid(format!(
                "job purchase {purchase_id} failed on the owner's machine ({}); the payment is \
                 credited back: `datamarket withdraw`",
                failure_name(answered.failure.unwrap_or(0))
            )))
        }
        (_, Some(result)) => result,
        (status, None) => {
            return Err(Error::invalid(format!(
                "job purchase {purchase_id} is {status:?} without a result"
            )))
        }
    };
    let envelope = purchase
        .envelope
        .ok_or(Error::UnknownPurchase(purchase_id))?;
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id,
        purchase_id,
    };
    let result_key = key.open(&SealedEnvelope(envelope), &context)?;
    let header = sealer::Header::parse(&result.header).map_err(sealer::Error::from)?;
    let download = settings
        .progress
        .bytes("downloading the result", header.ciphertext_len());
    let file = blobs::open_ciphertext(&result.uri, header.ciphertext_len(), &download)?;
    download.finish_and_clear();
    let mut plaintext = zeroize::Zeroizing::new(Vec::new());
    Decryptor::new(&result_key)
        .expect_root(ContentRoot(result.content_root))
        .expect_header(result.header)
        .expect_key_commitment(KeyCommitment(result.key_commitment))
        .decrypt_from_file(&file, &mut *plaintext)?;
    if <[u8; 32]>::from(Sha256::digest(&plaintext[..])) != result.plaintext_sha256 {
        return Err(Error::invalid(format!(
            "the result of job purchase {purchase_id} does not match the hash in its provenance \
             record; dispute it"
        )));
    }
    Ok(JobRan {
        purchase_id,
        offer_id,
        job_hash: job.to_hex(),
        amount: purchase.amount,
        asset: asset_name(&purchase.asset),
        result_sha256: hex::encode(result.plaintext_sha256),
        fuel_used: result.fuel_used,
        result: plaintext,
    })
}

fn put_bytes(
    settings: &Settings,
    store: &blobs::BlobStore,
    name: &str,
    bytes: &[u8],
) -> Result<String> {
    use std::io::Write;
    let mut staged = store.staging_file()?;
    staged
        .write_all(bytes)
        .and_then(|()| staged.as_file().sync_all())
        .map_err(|e| Error::io("cannot write", staged.path(), e))?;
    let upload = settings
        .progress
        .bytes("uploading the job", bytes.len() as u64);
    let uri = store.put(staged, name, &upload)?;
    upload.finish_and_clear();
    Ok(uri)
}

/// Polls until the purchase is answered (delivered or refunded) or `wait` has passed.
fn wait_for_answer(
    market: &mut Market,
    purchase_id: PurchaseId,
    wait: Duration,
) -> Result<Purchase> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let purchase = market.purchase(purchase_id)?;
        if purchase.status != PurchaseStatus::Pending {
            return Ok(purchase);
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::invalid(format!(
                "no answer to job purchase {purchase_id} within {}s; it stays open: the owner \
                 may still answer by block {}, else `datamarket refund {purchase_id}`",
                wait.as_secs(),
                purchase.delivery_deadline
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The sandbox's failure kinds by their byte on chain.
pub fn failure_name(kind: u8) -> &'static str {
    match kind {
        1 => "refused before it ran",
        2 => "out of fuel",
        3 => "over its memory cap",
        4 => "over its wall-clock cap",
        5 => "over its result cap",
        6 => "exited with an error",
        7 => "trapped",
        8 => "failed on the owner's side",
        _ => "failed",
    }
}

impl fmt::Display for JobRan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job purchase {} on offer {}: paid {} ({}); result {} bytes, SHA-256 {}, {} fuel",
            self.purchase_id,
            self.offer_id,
            self.amount,
            self.asset,
            self.result.len(),
            self.result_sha256,
            self.fuel_used
        )
    }
}
