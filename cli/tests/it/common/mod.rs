//! A dev node with the token and the marketplace deployed, and the `datamarket` binary
//! run as a user would, one keystore per person.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Stdio},
    sync::mpsc,
};

use assert_cmd::Command;
use chain::{dev_node::DevNode, AccountId, Chain, Deployed, MarketSettings, RpcChain, Signer};

pub struct World {
    pub node: DevNode,
    pub chain: RpcChain,
    pub market: AccountId,
    pub token: AccountId,
    pub dir: tempfile::TempDir,
}

/// Starts a node and deploys the contracts, or returns `None` (after printing SKIPPED)
/// when substrate-contracts-node is not installed.
pub fn world(delivery_period: u32, dispute_window: u32) -> Option<World> {
    let node = match DevNode::start() {
        Ok(node) => node,
        Err(chain::dev_node::DevNodeError::NotInstalled { looked_at }) => {
            println!("SKIPPED: substrate-contracts-node not installed (looked at {looked_at})");
            return None;
        }
        Err(e) => panic!("starting the dev node: {e}"),
    };
    let mut chain = node.connect().expect("connect to the dev node");
    let settings = MarketSettings {
        fee_bps: 250,
        fee_recipient: Signer::dev("Ferdie").account_id(),
        delivery_period,
        dispute_window,
        min_bond: 1_000,
    };
    let Deployed { token, market } =
        chain::deploy_market(&mut chain, &Signer::alice(), &settings, b"")
            .expect("deploy the token and the marketplace (scripts/build-contracts)");
    Some(World {
        node,
        chain,
        market: market.address,
        token: token.address,
        dir: tempfile::tempdir().unwrap(),
    })
}

pub fn hex(account: &AccountId) -> String {
    format!("0x{}", ::hex::encode(AsRef::<[u8; 32]>::as_ref(account)))
}

impl World {
    /// `datamarket` as `person` (own keystore), signing with `account`.
    pub fn cli(&self, person: &str, account: &str) -> Command {
        let mut cmd = Command::cargo_bin("datamarket").unwrap();
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            // The CLI's selectors are built in: it must run without any bundle file.
            .env("DATAMARKET_BUNDLES", self.dir.path().join("no-bundles"))
            .env("DATAMARKET_NODE_URL", self.node.url())
            .env("DATAMARKET_MARKETPLACE", hex(&self.market))
            .env("DATAMARKET_KEYSTORE", self.keystore(person))
            .env("DATAMARKET_BLOBS", self.dir.path().join("blobs"))
            .env("DATAMARKET_ACCOUNT", account);
        cmd
    }

    pub fn keystore(&self, person: &str) -> PathBuf {
        self.dir.path().join(format!("keys-{person}"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes `n` blocks (the dev node seals one per transaction).
    pub fn blocks(&mut self, n: u32) {
        for _ in 0..n {
            self.chain
                .transfer(&Signer::alice(), &Signer::dev("Ferdie").account_id(), 1)
                .expect("a transfer");
        }
    }
}

/// The JSON object a `--json` command printed on its last line.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Runs and requires success, returning the output.
pub fn ok(cmd: &mut Command) -> std::process::Output {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs and requires failure, returning stderr.
pub fn fails(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "succeeded unexpectedly\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
}

/// The real indexer following the node into a database of its own and the real web API
/// serving it over HTTP, both on `runtime`, as a user's would run. The API can be
/// stopped and started again on the same address.
pub struct IndexAndApi {
    pub url: String,
    pub runtime: tokio::runtime::Runtime,
    database: Option<index_db::TempDatabase>,
    address: std::net::SocketAddr,
    server: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
}

impl IndexAndApi {
    pub fn start(w: &World, name: &str) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (database, address) = runtime.block_on(async {
            let database = index_db::TempDatabase::create(name).await.unwrap();
            let mut client = index_db::connect(&database.url).await.unwrap();
            index_db::migrate(&mut client).await.unwrap();
            let source = indexer::BlockSource::connect(w.node.url(), 2)
                .await
                .unwrap();
            let watched = indexer::Watched {
                marketplace: w.market,
                tokens: vec![w.token],
            };
            tokio::spawn(async move {
                let options = indexer::Options {
                    poll: std::time::Duration::from_millis(100),
                    ..indexer::Options::default()
                };
                indexer::follow(&mut client, &source, &watched, &options).await
            });
            let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (database, free.local_addr().unwrap())
        });
        let mut started = Self {
            url: format!("http://{address}"),
            runtime,
            database: Some(database),
            address,
            server: None,
        };
        started.start_api();
        started
    }

    /// Serves the API on its address.
    pub fn start_api(&mut self) {
        let url = self.database.as_ref().unwrap().url.clone();
        let address = self.address;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (app, listener) = self.runtime.block_on(async move {
            let mut config = web_api::Config::new(url);
            config.search_poll_ms = 100;
            let app = web_api::build(&config).await.unwrap();
            (app, tokio::net::TcpListener::bind(address).await.unwrap())
        });
        let server = self
            .runtime
            .spawn(web_api::serve(app, listener, async move {
                let _ = stopped.await;
            }));
        self.server = Some((stop, server));
    }

    /// Stops the API (its event feeds end), as a restart or a crash of it would.
    pub fn stop_api(&mut self) {
        if let Some((stop, server)) = self.server.take() {
            let _ = stop.send(());
            self.runtime
                .block_on(async {
                    tokio::time::timeout(std::time::Duration::from_secs(20), server).await
                })
                .expect("the API stops")
                .unwrap()
                .unwrap();
        }
    }
}

impl Drop for IndexAndApi {
    fn drop(&mut self) {
        if let Some(database) = self.database.take() {
            let _ = self.runtime.block_on(database.drop_now());
        }
    }
}

/// `datamarket deliver --watch --interval 1 --json` as the owner //Bob, in the background:
/// the process, and its stdout line by line.
pub fn watcher(w: &World) -> (Child, mpsc::Receiver<String>) {
    let mut watcher = std::process::Command::new(assert_cmd::cargo::cargo_bin("datamarket"));
    let cmd = w.cli("owner", "//Bob");
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => watcher.env(key, v),
            None => watcher.env_remove(key),
        };
    }
    let mut child = watcher
        .args(["deliver", "--watch", "--interval", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    (child, received)
}
