//! `indexer`: mirrors the marketplace's contract events into Postgres. See the library.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use index_db as db;
use indexer::{BlockSource, IndexerError, Options, Watched};

#[derive(Parser)]
#[command(
    version,
    about = "Follows finalized blocks and mirrors the Datamarket marketplace's \
    and tokens' contract events into Postgres (one transaction per batch with its cursor: \
    resumable, idempotent, crash-safe)."
)]
struct Cli {
    /// Postgres URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/datamarket"
    )]
    database_url: String,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The node's WebSocket URL. (The in-process runtime has blocks only inside the
    /// program that drives it; the demo runs the indexer library on it.)
    #[arg(
        long,
        env = "DATAMARKET_NODE_URL",
        default_value = "ws://127.0.0.1:9944"
    )]
    node: String,
    /// The marketplace contract's address (SS58 or 0x-hex).
    #[arg(long, env = "DATAMARKET_MARKETPLACE")]
    marketplace: Option<String>,
    /// A PSP22 token whose transfers to mirror (repeatable).
    #[arg(long = "token", env = "DATAMARKET_TOKENS", value_delimiter = ',')]
    tokens: Vec<String>,
    /// First block to index when the database is empty: the marketplace's deployment
    /// block or earlier.
    #[arg(long, env = "DATAMARKET_START_BLOCK", default_value_t = 1)]
    start_block: u32,
    /// Blocks per database transaction.
    #[arg(long, env = "DATAMARKET_BATCH_SIZE", default_value_t = 500)]
    batch_size: u32,
    /// Events per database transaction, at most: a batch ends early at the block that
    /// reaches this many, which bounds the indexer's memory on busy chains (a batch is
    /// written while the next one is fetched and prepared, so two are held at once).
    #[arg(long, env = "DATAMARKET_BATCH_EVENTS", default_value_t = 20_000)]
    batch_events: usize,
    /// Blocks fetched at once (node connections).
    #[arg(long, env = "DATAMARKET_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// Where to serve Prometheus metrics (/metrics); empty to serve none.
    #[arg(
        long,
        env = "DATAMARKET_METRICS_ADDR",
        default_value = "127.0.0.1:9616"
    )]
    metrics_addr: String,
    /// Stop once this block is applied (one-off catch-ups).
    #[arg(long)]
    stop_at: Option<u32>,
}

#[derive(Subcommand)]
enum Command {
    /// Follow the chain (the default).
    Run,
    /// Apply the migrations and exit.
    Migrate,
    /// Empty the derived tables and replay them from raw_events (stop the live indexer
    /// first, or this waits for its lock).
    Rebuild,
    /// Print a digest of every derived table (to compare two databases).
    Digest,
}

fn account(text: &str) -> Result<chain::AccountId, IndexerError> {
    let bytes: [u8; 32] = if let Some(hex) = text.strip_prefix("0x") {
        hex::decode(hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| IndexerError::Config(format!("{text} is not a 32-byte hex address")))?
    } else {
        index_db::ss58::decode(text)
            .map_err(|e| IndexerError::Config(format!("{text} is not an SS58 address: {e:?}")))?
            .0
    };
    Ok(chain::AccountId::from(bytes))
}

async fn run(cli: Cli) -> Result<(), IndexerError> {
    let mut client = db::connect(&cli.database_url).await?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Migrate => Ok(db::migrate(&mut client).await?),
        Command::Rebuild => {
            db::migrate(&mut client).await?;
            let replayed = indexer::rebuild(&mut client).await?;
            tracing::info!("rebuild done: {replayed} events replayed");
            Ok(())
        }
        Command::Digest => {
            for (table, digest) in db::derived_digest(&client).await? {
                println!("{table} {digest}");
            }
            Ok(())
        }
        Command::Run => {
            let args = cli.run;
            let marketplace = args.marketplace.as_deref().ok_or_else(|| {
                IndexerError::Config(
                    "--marketplace (or DATAMARKET_MARKETPLACE) is required: the address of \
                     the marketplace contract to index"
                        .into(),
                )
            })?;
            let watched = Watched {
                marketplace: account(marketplace)?,
                tokens: args
                    .tokens
                    .iter()
                    .map(|t| account(t))
                    .collect::<Result<_, _>>()?,
            };
            if !args.metrics_addr.is_empty() {
                let addr: SocketAddr = args.metrics_addr.parse().map_err(|e| {
                    IndexerError::Config(format!("bad --metrics-addr {}: {e}", args.metrics_addr))
                })?;
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .with_http_listener(addr)
                    .install()
                    .map_err(|e| IndexerError::Config(format!("metrics on {addr}: {e}")))?;
                tracing::info!("metrics on http://{addr}/metrics");
            }
            let source = BlockSource::connect(&args.node, args.concurrency).await?;
            tracing::info!(node = %args.node, concurrency = args.concurrency, "following finalized blocks");
            let options = Options {
                start_block: args.start_block,
                batch_size: args.batch_size,
                batch_events: args.batch_events,
                stop_at: args.stop_at,
                standby_poll: Duration::from_millis(500),
                ..Options::default()
            };
            indexer::follow(&mut client, &source, &watched, &options).await
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("indexer: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
