//! The whole marketplace in one program, on embedded defaults (DESIGN §1):
//!
//! 1. the token and the marketplace are deployed on the in-process pallet-contracts
//!    runtime (or on a node with `--node ws://…`);
//! 2. the indexer follows that chain into a database of the local Postgres, and the web
//!    API serves it (search, offers, purchases, the web page);
//! 3. an owner lists an encrypted dataset for the native token, and a data union of
//!    three contributors lists one for the PSP22 token with a 50/30/20 split (the
//!    ciphertext goes to a local blob directory, commitments on chain);
//! 4. a buyer finds the union's dataset by searching the API, makes an X25519 key for
//!    this purchase, and pays into escrow;
//! 5. once the API shows the purchases paid, the owners' watcher (the CLI library's
//!    `Deliverer`, the same code as `datamarket deliver`) seals each data key to the
//!    buyer's key and delivers it on chain;
//! 6. the buyer reads the envelope from the API, opens it, checks the key commitment,
//!    verifies the ciphertext chunk by chunk against the content root and decrypts; the
//!    plaintext's SHA-256 matches the original;
//! 7. the union also sells compute jobs on its rides: the buyer runs the example
//!    `csv-stats` job (the CLI library's `run_job`, as `datamarket job run`), the
//!    union's watcher runs it in the sandbox beside the data, and only the result
//!    reaches the buyer, sealed to its key and checked against the provenance record;
//! 8. after the dispute window the purchases settle and every payee withdraws.
//!
//! [`run`] does it and returns what happened, for the binary to print and the tests to
//! check.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chain::market_types::{
    Asset, ComputeTerms, NewOffer, OfferId, OfferMetadata, Payee, PurchaseId,
    Result as MarketResult,
};
use chain::{AccountId, Chain, Contract, Deployed, InProcessChain, MarketSettings, Signer};
use chain::{Locked, SharedChain};
use indexer::{BlockSource, Watched};
use sealer::{
    BuyerSecretKey, ChunkSize, ContentRoot, DataKey, Decryptor, Encryptor, EnvelopeContext,
    KeyCommitment, KeyOpener, SealedEnvelope,
};
use sha2::{Digest, Sha256};

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// `in-process`, or a node's `ws://` URL.
    pub node: String,
    /// A Postgres URL whose user may create databases; the demo makes its own.
    pub admin_database_url: String,
    /// The name of the demo's database (dropped and made anew).
    pub database: String,
    /// Where the web API listens (port 0: any free port).
    pub listen: std::net::SocketAddr,
    /// The blob directory (a temporary one when `None`).
    pub blobs: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            node: chain::IN_PROCESS.into(),
            admin_database_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            database: "datamarket_demo".into(),
            listen: ([127, 0, 0, 1], 8080).into(),
            blobs: None,
        }
    }
}

/// A running demo, after the flow: the web API keeps serving until it is dropped.
pub struct Demo {
    /// The web page and API.
    pub url: String,
    /// The demo's database.
    pub database_url: String,
    /// What happened, step by step.
    pub report: Report,
    server: tokio::task::JoinHandle<()>,
    indexer: tokio::task::JoinHandle<()>,
    _blobs: Option<tempfile::TempDir>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.server.abort();
        self.indexer.abort();
    }
}

/// What the demo did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Each step, as printed.
    pub steps: Vec<String>,
    /// (buyer, offer, SHA-256 of the original, SHA-256 of what the buyer decrypted).
    pub decrypted: Vec<(String, OfferId, [u8; 32], [u8; 32])>,
    /// The compute job: (purchase, its result plaintext as the buyer verified it, its
    /// SHA-256 as in the JobCompleted provenance record).
    pub job: Option<(PurchaseId, Vec<u8>, String)>,
    /// What each payee withdrew: (who, native, token).
    pub withdrawn: Vec<(String, u128, u128)>,
    /// The final balances: (who, native free balance, token balance).
    pub balances: Vec<(String, u128, u128)>,
}

const FEE_BPS: u16 = 250;
const DELIVERY_PERIOD: u32 = 20;
const DISPUTE_WINDOW: u32 = 3;
const BOND: u128 = 1_000_000;
const SLEEP_PRICE: u128 = 50_000_000;
const RIDES_PRICE: u128 = 90_000_001;
/// The price of one compute job on the union's rides (DMT).
const JOB_PRICE: u128 = 10_000_000;

#[derive(Clone)]
struct Actors {
    admin: Signer,
    ada: Signer,
    union: [Signer; 3],
    ben: Signer,
}

struct Listed {
    dek: DataKey,
    content_root: ContentRoot,
    offer_id: OfferId,
    sha256: [u8; 32],
}

/// Runs the flow; see the crate documentation. `say` receives each line as it happens.
pub async fn run(options: &Options, mut say: impl FnMut(&str)) -> Result<Demo> {
    let mut report = Report::default();
    let mut step = |text: String, report: &mut Report| {
        say(&text);
        report.steps.push(text);
    };

    // The chain, shared by the flow and the indexer.
    let endpoint = options.node.clone();
    let chain: SharedChain = tokio::task::spawn_blocking(move || -> Result<SharedChain> {
        let chain: Box<dyn Chain + Send> = if endpoint == chain::IN_PROCESS {
            Box::new(InProcessChain::new())
        } else {
            chain::open(&endpoint).with_context(|| format!("connecting to {endpoint}"))?
        };
        Ok(chain::share(chain))
    })
    .await??;
    let actors = Actors {
        admin: Signer::alice(),
        ada: Signer::bob(),
        union: [
            Signer::dev("Dave"),
            Signer::dev("Eve"),
            Signer::dev("Ferdie"),
        ],
        ben: Signer::dev("Charlie"),
    };
    step(
        format!(
            "1. deploy the PSP22 token and the marketplace on {} (fee {FEE_BPS} bps, delivery within {DELIVERY_PERIOD} blocks, dispute window {DISPUTE_WINDOW} blocks, bond {BOND})",
            options.node
        ),
        &mut report,
    );
    let (token, market) = {
        let actors = actors.clone();
        with_chain(&chain, move |c| deploy(c, &actors)).await?
    };
    step(
        format!("   token       {}", indexer::decode::ss58(&token.address)),
        &mut report,
    );
    step(
        format!("   marketplace {}", indexer::decode::ss58(&market.address)),
        &mut report,
    );

    // The index and the API.
    let database_url = fresh_database(&options.admin_database_url, &options.database).await?;
    let watched = Watched {
        marketplace: market.address,
        tokens: vec![token.address],
    };
    let indexer = {
        let source = if options.node == chain::IN_PROCESS {
            BlockSource::shared(Arc::clone(&chain))
        } else {
            BlockSource::connect(&options.node, 4).await?
        };
        let url = database_url.clone();
        let watched = watched.clone();
        let mut client = index_db::connect(&url).await?;
        index_db::migrate(&mut client).await?;
        tokio::spawn(async move {
            let options = indexer::Options {
                poll: Duration::from_millis(100),
                ..indexer::Options::default()
            };
            if let Err(e) = indexer::follow(&mut client, &source, &watched, &options).await {
                eprintln!("demo: the indexer stopped: {e}");
            }
        })
    };
    let mut config = web_api::Config::new(database_url.clone());
    config.search_poll_ms = 200;
    let app = web_api::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = web_api::serve(app, listener, std::future::pending()).await;
    });
    step(
        format!(
            "2. the indexer follows the chain into {} and the web API serves it at {url}",
            redact(&database_url)
        ),
        &mut report,
    );

    // Two listings.
    let (blobs_dir, blobs_tmp) = match &options.blobs {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.clone(), None)
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("datamarket-blobs-")
                .tempdir()?;
            (tmp.path().to_owned(), Some(tmp))
        }
    };
    step(
        "3. ada encrypts her sleep diary into the blob store and lists it for the native token"
            .into(),
        &mut report,
    );
    let sleep = list(
        &chain,
        &market,
        &actors.ada,
        &blobs_dir,
        "sleep-diary",
        &sleep_diary(),
        "Sleep diary 2024-2025",
        &["health", "sleep"],
        SLEEP_PRICE,
        Asset::Native,
        &[(actors.ada.account_id(), 10_000)],
    )
    .await?;
    step(
        format!(
            "   offer {}: {} bytes of ciphertext in {}",
            sleep.offer_id,
            std::fs::metadata(blobs_dir.join("sleep-diary.dmseal"))?.len(),
            blobs_dir.display()
        ),
        &mut report,
    );
    step("   a data union of three cyclists pools its rides and lists them for the token, split 50/30/20".into(), &mut report);
    let union_ids = [
        actors.union[0].account_id(),
        actors.union[1].account_id(),
        actors.union[2].account_id(),
    ];
    let rides = list(
        &chain,
        &market,
        &actors.union[0],
        &blobs_dir,
        "rides",
        &rides(),
        "Riverside cycling union: GPS rides",
        &["mobility", "gps", "cycling"],
        RIDES_PRICE,
        Asset::Psp22(token.address),
        &[
            (union_ids[0], 5_000),
            (union_ids[1], 3_000),
            (union_ids[2], 2_000),
        ],
    )
    .await?;
    step(format!("   offer {}", rides.offer_id), &mut report);

    // The buyer searches through the API.
    let http = reqwest::Client::new();
    step(
        "4. ben searches the API for \"cycling gps\"".into(),
        &mut report,
    );
    let found = wait_for(Duration::from_secs(20), || {
        let http = http.clone();
        let url = format!("{url}/v1/offers?q=cycling%20gps&limit=5");
        async move {
            let page: web_api::offers::OfferPage =
                http.get(&url).send().await.ok()?.json().await.ok()?;
            page.offers.into_iter().next()
        }
    })
    .await
    .context("the offer never became searchable")?;
    ensure!(
        found.id == rides.offer_id,
        "search found offer {} first, not the rides",
        found.id
    );
    step(
        format!(
            "   found offer {}: \"{}\" for {} {}",
            found.id, found.title, found.price, found.asset
        ),
        &mut report,
    );

    // Two purchases: the rides in the token (after approving), the sleep diary natively.
    let ben_rides_key = BuyerSecretKey::generate()?;
    let ben_sleep_key = BuyerSecretKey::generate()?;
    step("5. ben gets tokens, approves the marketplace, and buys both offers, each with a fresh X25519 key".into(), &mut report);
    let (rides_purchase, sleep_purchase) = {
        let (token, market) = (token.clone(), market.clone());
        let (admin, ben) = (actors.admin.clone(), actors.ben.clone());
        let (rides_pk, sleep_pk) = (ben_rides_key.public_key().0, ben_sleep_key.public_key().0);
        let (rides_id, sleep_id) = (rides.offer_id, sleep.offer_id);
        with_chain(&chain, move |c| {
            token_call(
                c,
                &token,
                &admin,
                "PSP22::transfer",
                &(ben.account_id(), RIDES_PRICE, Vec::<u8>::new()),
            )?;
            token_call(
                c,
                &token,
                &ben,
                "PSP22::approve",
                &(market.address, RIDES_PRICE),
            )?;
            let rides: PurchaseId = must(c, &market, &ben, "purchase", &(rides_id, rides_pk), 0)?;
            let sleep: PurchaseId = must(
                c,
                &market,
                &ben,
                "purchase",
                &(sleep_id, sleep_pk),
                SLEEP_PRICE,
            )?;
            Ok((rides, sleep))
        })
        .await?
    };
    step(format!("   purchases {rides_purchase} (rides) and {sleep_purchase} (sleep diary) are paid into escrow"), &mut report);

    // The owners' watcher: purchases that the API shows as paid get their key.
    step("6. the owners' watcher (`datamarket deliver`'s code) sees the paid purchases, seals each data key to the buyer's key and delivers it".into(), &mut report);
    // It is the `datamarket deliver` watcher's own code (`Deliverer`): each owner's data
    // keys in a keystore, each purchase read again on chain right before delivering.
    let keystore_dir = tempfile::Builder::new()
        .prefix("datamarket-keys-")
        .tempdir()?;
    let keystore = datamarket_cli::Keystore::new(keystore_dir.path().to_owned());
    for listed in [&rides, &sleep] {
        keystore.save_data_key(&listed.content_root, &listed.dek)?;
    }
    let settings = datamarket_cli::Settings {
        node: options.node.clone(),
        marketplace: Some(market.address),
        token: Some(token.address),
        keystore,
        blobs: blobs_dir.to_string_lossy().into_owned(),
        progress: datamarket_cli::progress::Progress::hidden(),
    };
    for (purchase_id, owner) in [
        (rides_purchase, &actors.union[0]),
        (sleep_purchase, &actors.ada),
    ] {
        wait_purchase(&http, &url, purchase_id, |p| p.status == "paid").await?;
        let (chain, settings, address, owner) = (
            Arc::clone(&chain),
            settings.clone(),
            market.address,
            owner.clone(),
        );
        let logs = tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
            let endpoint = settings.node.clone();
            let mut market =
                datamarket_cli::Market::on(Box::new(Locked(chain)), address, &endpoint)?;
            let mut logs = Vec::new();
            datamarket_cli::ops::Deliverer::new(owner).poll(
                &settings,
                &mut market,
                &mut |entry: &datamarket_cli::ops::DeliveryLog| logs.push(format!("   {entry}")),
            )?;
            Ok(logs)
        })
        .await??;
        for line in logs {
            step(line, &mut report);
        }
    }

    // The buyer fetches and decrypts.
    step("7. ben reads each envelope from the API, opens it, checks the key commitment and the content root, and decrypts".into(), &mut report);
    for (purchase_id, listed, key, file, name) in [
        (
            rides_purchase,
            &rides,
            &ben_rides_key,
            "rides.dmseal",
            "rides",
        ),
        (
            sleep_purchase,
            &sleep,
            &ben_sleep_key,
            "sleep-diary.dmseal",
            "sleep diary",
        ),
    ] {
        let purchase = wait_purchase(&http, &url, purchase_id, |p| p.envelope.is_some()).await?;
        let offer: web_api::offers::Offer = http
            .get(format!("{url}/v1/offers/{}", listed.offer_id))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let envelope: [u8; 80] = hex::decode(
            purchase
                .envelope
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("0x"),
        )?
        .try_into()
        .map_err(|_| anyhow::anyhow!("an envelope is 80 bytes"))?;
        let ctx = EnvelopeContext {
            contract: *market.address.as_ref(),
            offer_id: listed.offer_id,
            purchase_id,
        };
        let dek = key.open(&SealedEnvelope(envelope), &ctx)?;
        dek.check_commitment(&KeyCommitment(bytes32(&offer.key_commitment)?))?;
        let uri_path = offer
            .uri
            .strip_prefix("file://")
            .context("a file:// blob")?;
        ensure!(
            Path::new(uri_path) == blobs_dir.join(file),
            "the blob is where the owner put it"
        );
        let mut plaintext = Vec::new();
        Decryptor::new(&dek)
            .expect_root(ContentRoot(bytes32(&offer.content_root)?))
            .decrypt(
                std::io::BufReader::new(std::fs::File::open(uri_path)?),
                &mut plaintext,
            )?;
        let digest: [u8; 32] = Sha256::digest(&plaintext).into();
        ensure!(
            digest == listed.sha256,
            "the {name}'s plaintext differs from the original"
        );
        step(
            format!(
                "   {name}: {} bytes, SHA-256 {}… matches the original",
                plaintext.len(),
                &hex::encode(digest)[..16]
            ),
            &mut report,
        );
        report
            .decrypted
            .push(("ben".into(), listed.offer_id, listed.sha256, digest));
    }

    // Compute-to-data (DESIGN §8): a job goes to the data; only its result leaves.
    step("8. compute-to-data: the union also sells jobs on its rides; ben buys the csv-stats job (`datamarket job run`'s code), the union's watcher runs it in the sandbox beside the data, and only the result leaves, sealed to ben".into(), &mut report);
    let stats = datamarket_sandbox::examples::load("csv-stats")
        .context("the example jobs (scripts/build-jobs builds them)")?;
    let stats_path = blobs_dir.join("csv-stats.wasm");
    std::fs::write(&stats_path, stats.bytes())?;
    {
        let (market, token) = (market.clone(), token.clone());
        let (admin, ben, owner) = (
            actors.admin.clone(),
            actors.ben.clone(),
            actors.union[0].clone(),
        );
        let terms = ComputeTerms {
            price: JOB_PRICE,
            sells_access: true,
            allowed_jobs: vec![stats.hash().0],
            any_job: false,
            result_cap: 64 * 1024,
            fuel_cap: 20_000_000_000,
            memory_cap: 256 << 20,
        };
        let rides_id = rides.offer_id;
        with_chain(&chain, move |c| {
            must::<()>(
                c,
                &market,
                &owner,
                "set_compute_terms",
                &(rides_id, Some(terms)),
                0,
            )?;
            token_call(
                c,
                &token,
                &admin,
                "PSP22::transfer",
                &(ben.account_id(), JOB_PRICE, Vec::<u8>::new()),
            )
        })
        .await?;
    }
    let ben_keys = tempfile::Builder::new()
        .prefix("datamarket-ben-keys-")
        .tempdir()?;
    let ben_settings = datamarket_cli::Settings {
        keystore: datamarket_cli::Keystore::new(ben_keys.path().to_owned()),
        ..settings.clone()
    };
    let request = datamarket_cli::ops::JobRequest {
        offer_id: rides.offer_id,
        wasm: stats_path,
        args: vec!["5".into()],
        upload_to: blobs_dir.to_string_lossy().into_owned(),
        max_price: Some(JOB_PRICE),
        wait: Duration::from_secs(120),
    };
    let buyer = {
        let (chain, address, ben) = (Arc::clone(&chain), market.address, actors.ben.clone());
        tokio::task::spawn_blocking(move || -> Result<datamarket_cli::ops::JobRan> {
            let endpoint = ben_settings.node.clone();
            let mut market =
                datamarket_cli::Market::on(Box::new(Locked(chain)), address, &endpoint)?;
            Ok(datamarket_cli::ops::run_job(
                &ben_settings,
                &mut market,
                &ben,
                &request,
            )?)
        })
    };
    // The union's watcher scans until it has answered the job.
    let watcher_logs = {
        let (chain, settings, address, owner) = (
            Arc::clone(&chain),
            settings.clone(),
            market.address,
            actors.union[0].clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
            let endpoint = settings.node.clone();
            let mut market =
                datamarket_cli::Market::on(Box::new(Locked(chain)), address, &endpoint)?;
            let mut deliverer = datamarket_cli::ops::Deliverer::new(owner);
            let mut logs = Vec::new();
            let started = Instant::now();
            while !logs.iter().any(|(job, _): &(bool, String)| *job) {
                ensure!(
                    started.elapsed() < Duration::from_secs(120),
                    "the watcher saw no job"
                );
                deliverer.poll(
                    &settings,
                    &mut market,
                    &mut |entry: &datamarket_cli::ops::DeliveryLog| {
                        logs.push((entry.job.is_some(), format!("   {entry}")))
                    },
                )?;
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(logs.into_iter().map(|(_, line)| line).collect())
        })
    };
    for line in watcher_logs.await?? {
        step(line, &mut report);
    }
    let ran = buyer.await??;
    let summary: serde_json::Value = serde_json::from_slice(&ran.result)?;
    step(
        format!(
            "   ben verified the result (content root, key commitment, and SHA-256 {}… as in the JobCompleted provenance record): statistics of {} rows in {} columns, {} fuel; the rides themselves never left the union",
            &ran.result_sha256[..16],
            summary["rows"],
            summary["columns"].as_array().map_or(0, Vec::len),
            ran.fuel_used
        ),
        &mut report,
    );
    let job_purchase = ran.purchase_id;
    report.job = Some((job_purchase, ran.result.to_vec(), ran.result_sha256.clone()));

    // Settlement and withdrawals.
    step(format!("9. the dispute window ({DISPUTE_WINDOW} blocks) passes; anyone settles; every payee withdraws"), &mut report);
    let payees: Vec<(String, Signer)> = vec![
        ("ada".into(), actors.ada.clone()),
        ("union-dave".into(), actors.union[0].clone()),
        ("union-eve".into(), actors.union[1].clone()),
        ("union-ferdie".into(), actors.union[2].clone()),
        ("fee-recipient".into(), actors.admin.clone()),
    ];
    let withdrawn = {
        let (market, token, ben, admin) = (
            market.clone(),
            token.clone(),
            actors.ben.clone(),
            actors.admin.clone(),
        );
        let payees = payees.clone();
        with_chain(&chain, move |c| {
            pass_blocks(c, &admin, DISPUTE_WINDOW + 1)?;
            must::<()>(c, &market, &ben, "settle", &rides_purchase, 0)?;
            must::<()>(c, &market, &ben, "settle", &sleep_purchase, 0)?;
            must::<()>(c, &market, &ben, "settle", &job_purchase, 0)?;
            let mut withdrawn = Vec::new();
            for (name, signer) in &payees {
                let mut got = (0u128, 0u128);
                for asset in [Asset::Native, Asset::Psp22(token.address)] {
                    let owed: u128 = market.query(
                        c,
                        &signer.account_id(),
                        "credit_of",
                        &(signer.account_id(), asset),
                    )?;
                    if owed > 0 {
                        let paid: u128 = must(c, &market, signer, "withdraw", &asset, 0)?;
                        match asset {
                            Asset::Native => got.0 = paid,
                            Asset::Psp22(_) => got.1 = paid,
                        }
                    }
                }
                withdrawn.push((name.clone(), got.0, got.1));
            }
            Ok(withdrawn)
        })
        .await?
    };
    for (name, native, tokens) in &withdrawn {
        step(
            format!("   {name:<14} withdrew {native:>12} native {tokens:>12} DMT"),
            &mut report,
        );
    }
    report.withdrawn = withdrawn;

    // The index has seen it all.
    let last = with_chain(&chain, |c| Ok(c.finalized_head()?)).await?;
    wait_for(Duration::from_secs(20), || {
        let http = http.clone();
        let url = format!("{url}/v1/status");
        async move {
            let status: serde_json::Value = http.get(&url).send().await.ok()?.json().await.ok()?;
            (status["indexed_head"]["block_number"].as_u64()? >= u64::from(last.number))
                .then_some(())
        }
    })
    .await
    .context("the indexer did not reach the chain's head")?;
    let settled = wait_purchase(&http, &url, rides_purchase, |p| p.status == "settled").await?;
    step(format!("10. the index shows purchase {rides_purchase} {} at block {}; final balances (native: free balance)", settled.status, last.number), &mut report);
    let mut everyone: Vec<(String, AccountId)> = payees
        .iter()
        .map(|(n, s)| (n.clone(), s.account_id()))
        .collect();
    everyone.push(("ben".into(), actors.ben.account_id()));
    everyone.push(("marketplace".into(), market.address));
    let balances = {
        let token = token.clone();
        with_chain(&chain, move |c| {
            let mut rows = Vec::new();
            for (name, account) in &everyone {
                let native = c.free_balance(account)?;
                let tokens: u128 = token.query(c, account, "PSP22::balance_of", account)?;
                rows.push((name.clone(), native, tokens));
            }
            Ok(rows)
        })
        .await?
    };
    step(
        format!("   {:<14} {:>24} {:>12}", "account", "native", "DMT"),
        &mut report,
    );
    for (name, native, tokens) in &balances {
        step(
            format!("   {name:<14} {native:>24} {tokens:>12}"),
            &mut report,
        );
    }
    report.balances = balances;
    step(
        format!("10. the web page: {url}/  (API docs: {url}/docs)"),
        &mut report,
    );
    Ok(Demo {
        url,
        database_url,
        report,
        server,
        indexer,
        _blobs: blobs_tmp,
    })
}

/// Runs `f` with the chain on a blocking thread.
async fn with_chain<T: Send + 'static>(
    chain: &SharedChain,
    f: impl FnOnce(&mut dyn Chain) -> Result<T> + Send + 'static,
) -> Result<T> {
    let chain = Arc::clone(chain);
    tokio::task::spawn_blocking(move || {
        let mut guard = chain
            .lock()
            .map_err(|_| anyhow::anyhow!("the chain panicked"))?;
        f(guard.as_mut())
    })
    .await?
}

fn must<R: scale::Decode>(
    chain: &mut dyn Chain,
    contract: &Contract,
    signer: &Signer,
    message: &str,
    args: &impl scale::Encode,
    value: u128,
) -> Result<R> {
    let called = contract
        .call::<_, MarketResult<R>>(chain, signer, message, args, value)
        .with_context(|| format!("{message} by {}", signer.label()))?;
    called
        .value
        .map_err(|e| anyhow::anyhow!("{message} by {}: {e:?}", signer.label()))
}

fn token_call(
    chain: &mut dyn Chain,
    token: &Contract,
    signer: &Signer,
    message: &str,
    args: &impl scale::Encode,
) -> Result<()> {
    token
        .call::<_, Result<(), psp22::PSP22Error>>(chain, signer, message, args, 0)
        .with_context(|| format!("{message} by {}", signer.label()))?
        .value
        .map_err(|e| anyhow::anyhow!("{message} by {}: {e:?}", signer.label()))
}

fn deploy(chain: &mut dyn Chain, actors: &Actors) -> Result<(Contract, Contract)> {
    let settings = MarketSettings {
        fee_bps: FEE_BPS,
        fee_recipient: actors.admin.account_id(),
        delivery_period: DELIVERY_PERIOD,
        dispute_window: DISPUTE_WINDOW,
        min_bond: BOND,
    };
    let Deployed { token, market } =
        chain::deploy_market(chain, &actors.admin, &settings, b"demo-").context(
            "deploying the token and the marketplace (bundles: scripts/build-contracts)",
        )?;
    Ok((token, market))
}

#[allow(clippy::too_many_arguments)]
async fn list(
    chain: &SharedChain,
    market: &Contract,
    owner: &Signer,
    blobs: &Path,
    name: &str,
    plaintext: &[u8],
    title: &str,
    tags: &[&str],
    price: u128,
    asset: Asset,
    payees: &[(AccountId, u16)],
) -> Result<Listed> {
    let dek = DataKey::generate()?;
    let path = blobs.join(format!("{name}.dmseal"));
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let sealed = Encryptor::new(&dek, plaintext.len() as u64, ChunkSize::DEFAULT)?
        .encrypt(plaintext, &mut file)?;
    let offer = NewOffer {
        content_root: sealed.content_root.0,
        header: sealed.header.to_bytes(),
        key_commitment: dek.commitment().0,
        price,
        asset,
        uri: format!("file://{}", path.display()),
        metadata: OfferMetadata {
            title: title.into(),
            description: format!(
                "{name}, exported from the owner's phone; CSV, one row per record."
            ),
            tags: tags.iter().map(|t| (*t).into()).collect(),
            schema: "csv".into(),
            size: plaintext.len() as u64,
        },
        payees: payees
            .iter()
            .map(|(account, bps)| Payee {
                account: *account,
                bps: *bps,
            })
            .collect(),
        max_purchases: None,
    };
    let (market, owner) = (market.clone(), owner.clone());
    let offer_id = with_chain(chain, move |c| {
        must(c, &market, &owner, "create_offer", &offer, BOND)
    })
    .await?;
    Ok(Listed {
        dek,
        content_root: sealed.content_root,
        offer_id,
        sha256: Sha256::digest(plaintext).into(),
    })
}

/// Lets `blocks` blocks pass: empty ones in process, small transfers on a node (which
/// seals a block per transaction).
fn pass_blocks(chain: &mut dyn Chain, signer: &Signer, blocks: u32) -> Result<()> {
    let start = chain.finalized_head()?.number;
    while chain.finalized_head()?.number < start + blocks {
        chain.transfer(signer, &Signer::dev("Bob").account_id(), 1)?;
    }
    Ok(())
}

async fn wait_purchase(
    http: &reqwest::Client,
    url: &str,
    id: PurchaseId,
    ready: impl Fn(&web_api::purchases::Purchase) -> bool,
) -> Result<web_api::purchases::Purchase> {
    let url = format!("{url}/v1/purchases/{id}");
    let ready = &ready;
    wait_for(Duration::from_secs(20), || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let p: web_api::purchases::Purchase =
                http.get(&url).send().await.ok()?.json().await.ok()?;
            ready(&p).then_some(p)
        }
    })
    .await
    .with_context(|| format!("purchase {id} did not reach the expected state in the API"))
}

async fn wait_for<T, F, Fut>(limit: Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = attempt().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn bytes32(hex0x: &str) -> Result<[u8; 32]> {
    hex::decode(hex0x.trim_start_matches("0x"))?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{hex0x} is not 32 bytes"))
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or(user);
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Drops and makes `name` on the server of `admin_url`; returns its URL.
async fn fresh_database(admin_url: &str, name: &str) -> Result<String> {
    ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "a database name of letters, digits and _"
    );
    let admin = index_db::connect(admin_url).await?;
    // Two statements: DROP DATABASE refuses to run in the implicit transaction of a
    // multi-statement query.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .with_context(|| format!("making the database {name}"))?;
    }
    Ok(index_db::url_of(admin_url, name))
}

fn sleep_diary() -> Vec<u8> {
    let mut csv = String::from("date,bed,wake,minutes_asleep\n");
    for day in 0..730u32 {
        let minutes = 380 + (day * 37) % 120;
        csv += &format!(
            "2024-day-{day:03},23:{:02},07:{:02},{minutes}\n",
            day % 60,
            (day * 7) % 60
        );
    }
    csv.into_bytes()
}

fn rides() -> Vec<u8> {
    let mut csv = String::from("rider,ride,lat,lon,seconds\n");
    for i in 0..20_000u32 {
        csv += &format!(
            "{},{},{:.5},{:.5},{}\n",
            i % 3,
            i / 50,
            52.0 + f64::from(i % 997) / 1e4,
            13.0 + f64::from(i % 991) / 1e4,
            i % 3600
        );
    }
    csv.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_the_password() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
