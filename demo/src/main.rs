//! `datamarket-demo`: the whole marketplace in one program. See the library.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "The Datamarket demo: contracts on the in-process runtime (or a node), \
    the indexer into the local Postgres, the web API and its page, two owners (one a data union) \
    listing encrypted datasets, a buyer searching the API, buying, receiving the sealed key and \
    decrypting, and every payee paid. Prints each step, the final balances and the web page's URL."
)]
struct Cli {
    /// `in-process` (the embedded runtime), or a substrate-contracts-node's ws:// URL.
    #[arg(long, env = "DATAMARKET_NODE_URL", default_value = "in-process")]
    node: String,
    /// A Postgres URL whose user may create databases; the demo (re)creates its own.
    #[arg(
        long,
        env = "DATAMARKET_ADMIN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    admin_database_url: String,
    /// The demo's database (dropped and made anew on each run).
    #[arg(long, default_value = "datamarket_demo")]
    database: String,
    /// Where the web API and page listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Blob directory for the ciphertexts (a temporary one by default).
    #[arg(long)]
    blobs: Option<std::path::PathBuf>,
    /// Exit at the end instead of serving the web page until Ctrl-C.
    #[arg(long)]
    exit: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let options = datamarket_demo::Options {
        node: cli.node,
        admin_database_url: cli.admin_database_url,
        database: cli.database,
        listen: cli.listen,
        blobs: cli.blobs,
    };
    let demo = match datamarket_demo::run(&options, |line| println!("{line}")).await {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("demo: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if !cli.exit {
        println!("serving {} until Ctrl-C", demo.url);
        let _ = tokio::signal::ctrl_c().await;
    }
    drop(demo);
    ExitCode::SUCCESS
}
