//! `datamarket`: the owner's and buyer's command line. Parses arguments, loads keys and
//! settings, calls the library, prints the result (or JSON with `--json`), and maps
//! errors to a message on stderr and exit code 1.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use datamarket_cli::{
    address,
    keystore::Keystore,
    ops::{self, Deliverer, OfferChange, OfferSpec, Settings},
    progress::Progress,
    Market,
};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "datamarket",
    version,
    about = "Sell and buy encrypted datasets on a Datamarket marketplace",
    long_about = "Sell and buy encrypted datasets on a Datamarket marketplace.\n\nOwners: `keys new`, `offer create`, then `deliver --watch`, later `withdraw`.\nBuyers: `buy`, `fetch`; `refund` when no key came by the deadline."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// The node's WebSocket URL.
    #[arg(
        long,
        global = true,
        env = "DATAMARKET_NODE_URL",
        default_value = "ws://127.0.0.1:9944"
    )]
    node: String,
    /// The marketplace contract (SS58 or 0x hex).
    #[arg(long, global = true, env = "DATAMARKET_MARKETPLACE")]
    marketplace: Option<String>,
    /// A PSP22 token: new offers are priced in it, `withdraw` and `balance` include it.
    #[arg(long, global = true, env = "DATAMARKET_TOKEN")]
    token: Option<String>,
    /// The signing account: a keystore account name, or a dev URI such as //Alice.
    #[arg(long, short, global = true, env = "DATAMARKET_ACCOUNT")]
    account: Option<String>,
    /// The keystore directory [default: ~/.config/datamarket/keys].
    #[arg(long, global = true, env = "DATAMARKET_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// Where `offer create` puts ciphertexts: a directory, or a store URL (file://...,
    /// s3://BUCKET/PREFIX with the AWS_* environment variables, https://... WebDAV)
    /// [default: ~/.local/share/datamarket/blobs].
    #[arg(long, global = true, env = "DATAMARKET_BLOBS")]
    blobs: Option<String>,
    /// The web API: read by `offer list` and `offer show` [default:
    /// http://127.0.0.1:8080]; when given, `deliver --watch` follows its live event feed.
    #[arg(long, global = true, env = "DATAMARKET_API_URL")]
    api: Option<String>,
    /// Print JSON for scripts (and draw no progress bars).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Manage account keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// List and manage offers (owners).
    #[command(subcommand)]
    Offer(OfferCommand),
    /// Compute jobs: buy a job on an offer's dataset and get only its result.
    #[command(subcommand)]
    Job(JobCommand),
    /// Buy an offer: pays into escrow with a fresh key for this purchase.
    Buy {
        /// The offer id.
        offer: u64,
    },
    /// Deliver the data key to every paid, undelivered purchase of your offers, and run
    /// every bought job beside your data, answering with its sealed result (or its
    /// failure, which refunds the buyer).
    Deliver {
        /// Keep watching for new purchases until killed: with --api, new purchases come
        /// from the API's live event feed at once and the chain is scanned every
        /// --interval as a fallback; without, the chain is scanned every --interval.
        #[arg(long)]
        watch: bool,
        /// Seconds between chain scans with --watch [default: 3; 60 with --api].
        #[arg(long)]
        interval: Option<u64>,
    },
    /// Wait for a purchase's key, then download, verify and decrypt the dataset.
    Fetch {
        /// The purchase id.
        purchase: u64,
        /// Where to write the plaintext.
        #[arg(short, long)]
        output: PathBuf,
        /// Seconds to wait for the key.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Settle a delivered purchase after its dispute window: credits the payees.
    Settle {
        /// The purchase id.
        purchase: u64,
    },
    /// Get the payment back for a purchase whose key never came by the deadline.
    Refund {
        /// The purchase id.
        purchase: u64,
    },
    /// Dispute a delivered key that does not open or does not match the offer (buyer,
    /// within the dispute window): reveals this purchase's key to the marketplace, which
    /// decides on chain, and sends the dispute bond. Checks locally first.
    Dispute {
        /// The purchase id.
        purchase: u64,
        /// Dispute even when the key opens and matches (the bond goes to the owner).
        #[arg(long)]
        force: bool,
    },
    /// Withdraw your credits from the marketplace (native, and --token's).
    Withdraw,
    /// Free balances and marketplace credits of an account (default: --account).
    Balance {
        /// An address (SS58 or 0x hex), a keystore account name or a dev URI.
        account: Option<String>,
    },
}

#[derive(Subcommand)]
enum JobCommand {
    /// Upload a job (a wasm32-wasip1 module), buy it on OFFER, wait for the owner's
    /// answer, then download, verify (content root, key commitment, the result's hash in
    /// its on-chain provenance record) and decrypt the result: printed, or written to -o.
    Run {
        /// The offer id.
        offer: u64,
        /// The job module.
        #[arg(long)]
        wasm: PathBuf,
        /// Where to upload the module for the owner: a directory or a store URL the
        /// owner can read [default: --blobs].
        #[arg(long)]
        upload_to: Option<String>,
        /// The most you pay [default: the offer's job price].
        #[arg(long)]
        max_price: Option<u128>,
        /// Seconds to wait for the owner's answer.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Write the result here instead of printing it.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The job's arguments (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an account key in the keystore (the secret is never printed).
    New {
        /// Its name.
        name: String,
    },
    /// List the keystore's accounts.
    List,
}

#[derive(Subcommand)]
enum OfferCommand {
    /// List or search the offers in the index (through the web API).
    List {
        /// Words to search for, ranked by relevance.
        #[arg(long)]
        q: Option<String>,
        /// A tag every offer must have, repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Only this owner's offers (SS58).
        #[arg(long)]
        owner: Option<String>,
        /// active, paused, delisted or any [default: active].
        #[arg(long)]
        status: Option<String>,
        /// At most this many (up to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one offer from the index: listing, split, purchases, revenue.
    Show {
        /// The offer id.
        offer: u64,
    },
    /// Encrypt a file, put it into the blob store (--blobs) and list it.
    Create {
        /// The dataset.
        file: PathBuf,
        /// Price per purchase (smallest units).
        #[arg(long)]
        price: u128,
        /// Price in the native token even when --token / DATAMARKET_TOKEN is set.
        #[arg(long)]
        native: bool,
        /// A payee and its share in basis points (ADDR:BPS), repeatable; default: you, 10000.
        #[arg(long = "payee", value_name = "ADDR:BPS")]
        payees: Vec<String>,
        /// Title.
        #[arg(long)]
        title: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// A tag, repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Schema (e.g. CSV columns).
        #[arg(long, default_value = "")]
        schema: String,
        /// Stop selling after this many purchases.
        #[arg(long)]
        max_purchases: Option<u32>,
    },
    /// Stop sales for a while.
    Pause {
        /// The offer id.
        offer: u64,
    },
    /// Reopen sales.
    Resume {
        /// The offer id.
        offer: u64,
    },
    /// Stop sales for good; the bond returns once no purchase is open.
    Delist {
        /// The offer id.
        offer: u64,
    },
    /// Sell compute jobs on an offer's dataset (DESIGN §8): jobs run on your machine
    /// beside the data, and only their results leave. Name each job you allow by its
    /// module (--job FILE.wasm, repeatable); --any-job allows every job and needs a
    /// --result-cap of at most 4096 bytes, since the cap bounds what a hostile job can
    /// copy out of your data.
    Compute {
        /// The offer id.
        offer: u64,
        /// Price per job (smallest units of the offer's asset).
        #[arg(long)]
        price: u128,
        /// A job module you allow, repeatable.
        #[arg(long = "job", value_name = "FILE.wasm")]
        jobs: Vec<PathBuf>,
        /// Allow any job (with --result-cap of at most 4096).
        #[arg(long)]
        any_job: bool,
        /// Sell jobs only: the dataset itself is no longer for sale.
        #[arg(long)]
        jobs_only: bool,
        /// Most bytes of result a job may return.
        #[arg(long, default_value_t = 1 << 20)]
        result_cap: u64,
        /// Most fuel (about one per WebAssembly instruction) a job may burn.
        #[arg(long, default_value_t = 20_000_000_000)]
        fuel_cap: u64,
        /// Most memory a job may have, in MiB.
        #[arg(long, default_value_t = 256)]
        memory_mib: u64,
    },
    /// Set the price of future purchases.
    UpdatePrice {
        /// The offer id.
        offer: u64,
        /// The new price.
        price: u128,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `sub` in the home directory. Without `HOME` there is no default: a keystore or blob
/// directory relative to wherever the command runs would be lost track of.
fn home_dir(sub: &str, flag: &str) -> anyhow::Result<PathBuf> {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(sub)),
        None => anyhow::bail!("HOME is not set: give {flag} (or its environment variable)"),
    }
}

/// The web API when none is given.
const DEFAULT_API: &str = "http://127.0.0.1:8080";

struct Ctx {
    settings: Settings,
    account: Option<String>,
    api: Option<String>,
    json: bool,
}

impl Ctx {
    fn signer(&self) -> Result<chain::Signer> {
        let spec = self
            .account
            .as_deref()
            .context("no account: pass --account NAME (or //Alice on a dev chain), or set DATAMARKET_ACCOUNT")?;
        Ok(self.settings.keystore.signer(spec)?)
    }

    fn connect(&self) -> Result<Market> {
        Ok(self.settings.connect()?)
    }

    fn print<T: Serialize + std::fmt::Display>(&self, value: &T) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else {
            println!("{value}");
        }
        Ok(())
    }
}

fn run(cli: Cli) -> Result<()> {
    let g = cli.global;
    let parse = |text: &Option<String>, what: &str| -> Result<Option<chain::AccountId>> {
        Ok(match text {
            Some(t) => Some(address::parse(t, what)?),
            None => None,
        })
    };
    let settings = Settings {
        node: g.node.clone(),
        marketplace: parse(&g.marketplace, "--marketplace")?,
        token: parse(&g.token, "--token")?,
        keystore: Keystore::new(match &g.keystore {
            Some(dir) => dir.clone(),
            None => home_dir(".config/datamarket/keys", "--keystore")?,
        }),
        // Without HOME, none: only the commands that store blobs need one, and they say so.
        blobs: match &g.blobs {
            Some(blobs) => blobs.clone(),
            None => home_dir(".local/share/datamarket/blobs", "--blobs")
                .map(|dir| dir.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
        // Bars only for a person watching: never into pipes, logs or JSON.
        progress: Progress::new(!g.json && std::io::stderr().is_terminal()),
    };
    let cx = Ctx {
        settings,
        account: g.account.clone(),
        api: g.api.clone(),
        json: g.json,
    };
    match cli.command {
        Command::Keys(KeysCommand::New { name }) => {
            let made = cx.settings.keystore.new_account(&name)?;
            if cx.json {
                println!("{}", serde_json::to_string(&made)?);
            } else {
                println!("created account {} {}", made.name, made.address);
            }
        }
        Command::Keys(KeysCommand::List) => {
            let accounts = cx.settings.keystore.accounts()?;
            if cx.json {
                println!("{}", serde_json::to_string(&accounts)?);
            } else {
                for account in accounts {
                    println!("{:<20} {}", account.name, account.address);
                }
            }
        }
        Command::Offer(command) => offer(&cx, command)?,
        Command::Job(JobCommand::Run {
            offer,
            wasm,
            upload_to,
            max_price,
            timeout,
            output,
            args,
        }) => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            let request = ops::JobRequest {
                offer_id: offer,
                wasm,
                args,
                upload_to: upload_to.unwrap_or_else(|| cx.settings.blobs.clone()),
                max_price,
                wait: Duration::from_secs(timeout),
            };
            let ran = ops::run_job(&cx.settings, &mut market, &signer, &request)?;
            match &output {
                Some(path) => {
                    cx.settings.keystore.check_outside(path)?;
                    sealer::write_atomically(path, |file| {
                        use std::io::Write;
                        file.write_all(&ran.result).map_err(sealer::Error::from)
                    })?;
                    cx.print(&ran)?;
                }
                None if cx.json => {
                    let mut value = serde_json::to_value(&ran)?;
                    value["result"] = serde_json::Value::String(
                        String::from_utf8_lossy(&ran.result).into_owned(),
                    );
                    println!("{value}");
                }
                None => {
                    eprintln!("{ran}");
                    use std::io::Write;
                    std::io::stdout().write_all(&ran.result)?;
                }
            }
        }
        Command::Buy { offer } => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            let bought = ops::buy(&cx.settings, &mut market, &signer, offer)?;
            cx.print(&bought)?;
        }
        Command::Deliver { watch, interval } => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            let mut deliverer = Deliverer::new(signer);
            let json = cx.json;
            let mut log = |entry: &ops::DeliveryLog| {
                if json {
                    println!("{}", serde_json::to_string(entry).unwrap_or_default());
                } else {
                    println!("{entry}");
                }
            };
            if watch {
                let feed = cx.api.as_deref();
                let interval = interval.unwrap_or(if feed.is_some() { 60 } else { 3 });
                if !json {
                    eprintln!("watching for purchases, scanning the chain every {interval}s (Ctrl-C to stop)");
                }
                let mut notice = |text: &str| eprintln!("{text}");
                match deliverer.watch(
                    &cx.settings,
                    &mut market,
                    feed,
                    Duration::from_secs(interval.max(1)),
                    &mut log,
                    &mut notice,
                )? {}
            }
            let total = deliverer.poll(&cx.settings, &mut market, &mut log)?;
            if json {
                println!("{}", serde_json::json!({ "delivered": total }));
            } else if total == 0 {
                println!("nothing to deliver");
            } else {
                println!("delivered {total} key(s)");
            }
        }
        Command::Fetch {
            purchase,
            output,
            timeout,
        } => {
            let mut market = cx.connect()?;
            let fetched = ops::fetch(
                &cx.settings,
                &mut market,
                purchase,
                &output,
                Duration::from_secs(timeout),
            )?;
            cx.print(&fetched)?;
        }
        Command::Settle { purchase } => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            cx.print(&ops::settle(&mut market, &signer, purchase)?)?;
        }
        Command::Refund { purchase } => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            cx.print(&ops::refund(&mut market, &signer, purchase)?)?;
        }
        Command::Dispute { purchase, force } => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            cx.print(&ops::dispute(
                &cx.settings,
                &mut market,
                &signer,
                purchase,
                force,
            )?)?;
        }
        Command::Withdraw => {
            let signer = cx.signer()?;
            let mut market = cx.connect()?;
            cx.print(&ops::withdraw(&mut market, &signer, cx.settings.token)?)?;
        }
        Command::Balance { account } => {
            let account = match account.or_else(|| cx.account.clone()) {
                None => anyhow::bail!("which account? pass ACCOUNT or --account"),
                Some(spec)
                    if spec.starts_with("//") || address::parse(&spec, "account").is_err() =>
                {
                    cx.settings.keystore.signer(&spec)?.account_id()
                }
                Some(spec) => address::parse(&spec, "account")?,
            };
            let mut market = cx.connect()?;
            cx.print(&ops::balance(&mut market, account, cx.settings.token)?)?;
        }
    }
    Ok(())
}

fn offer(cx: &Ctx, command: OfferCommand) -> Result<()> {
    // Reading the index needs no key.
    match command {
        OfferCommand::List {
            q,
            tags,
            owner,
            status,
            limit,
        } => {
            let api = datamarket_cli::api::Api::new(cx.api.as_deref().unwrap_or(DEFAULT_API))?;
            let filter = datamarket_cli::api::OfferFilter {
                q,
                tags,
                owner,
                status,
                limit,
            };
            let page = api.offers(&filter)?;
            if cx.json {
                println!("{page}");
            } else {
                let lines = datamarket_cli::api::offer_lines(&page);
                if lines.is_empty() {
                    println!("no offers match");
                }
                for line in lines {
                    println!("{line}");
                }
            }
            return Ok(());
        }
        OfferCommand::Show { offer } => {
            let shown = datamarket_cli::api::Api::new(cx.api.as_deref().unwrap_or(DEFAULT_API))?
                .offer(offer)?;
            if cx.json {
                println!("{shown}");
            } else {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            }
            return Ok(());
        }
        _ => {}
    }
    let signer = cx.signer()?;
    let (offer_id, change) = match command {
        OfferCommand::List { .. } | OfferCommand::Show { .. } => unreachable!("read above"),
        OfferCommand::Create {
            file,
            price,
            native,
            payees,
            title,
            description,
            tags,
            schema,
            max_purchases,
        } => {
            let payees = payees
                .iter()
                .map(|p| parse_payee(p))
                .collect::<Result<Vec<_>>>()?;
            let asset = match cx.settings.token {
                Some(token) if !native => chain::market_types::Asset::Psp22(token),
                _ => chain::market_types::Asset::Native,
            };
            let spec = OfferSpec {
                file,
                price,
                asset,
                payees,
                title,
                description,
                tags,
                schema,
                max_purchases,
            };
            let mut market = cx.connect()?;
            let created = ops::create_offer(&cx.settings, &mut market, &signer, &spec)?;
            if created.uri.starts_with("file://") {
                eprintln!(
                    "note: the ciphertext's URI is a local file: only buyers on this machine \
                     can fetch it. For buyers elsewhere, list with --blobs set to a shared \
                     store (s3://..., https://...)."
                );
            }
            return cx.print(&created);
        }
        OfferCommand::Pause { offer } => (offer, OfferChange::Pause),
        OfferCommand::Resume { offer } => (offer, OfferChange::Resume),
        OfferCommand::Delist { offer } => (offer, OfferChange::Delist),
        OfferCommand::UpdatePrice { offer, price } => (offer, OfferChange::Price(price)),
        OfferCommand::Compute {
            offer,
            price,
            jobs,
            any_job,
            jobs_only,
            result_cap,
            fuel_cap,
            memory_mib,
        } => {
            let spec = ops::ComputeSpec {
                jobs,
                any_job,
                price,
                jobs_only,
                result_cap,
                fuel_cap,
                memory_cap: memory_mib.saturating_mul(1 << 20),
            };
            let mut market = cx.connect()?;
            return cx.print(&ops::set_compute(&mut market, &signer, offer, &spec)?);
        }
    };
    let mut market = cx.connect()?;
    cx.print(&ops::change_offer(&mut market, &signer, offer_id, change)?)
}

/// `ADDR:BPS`.
fn parse_payee(text: &str) -> Result<(chain::AccountId, u16)> {
    let (account, bps) = text
        .rsplit_once(':')
        .with_context(|| format!("--payee {text:?}: expected ADDR:BPS"))?;
    let bps: u16 = bps
        .parse()
        .with_context(|| format!("--payee {text:?}: {bps:?} is not basis points (1..=10000)"))?;
    Ok((address::parse(account, "--payee")?, bps))
}
