//! A dev node with the token and the marketplace deployed, and the `datamarket` binary
//! run as a user would, one keystore per person.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chain::{dev_node::DevNode, AccountId, Bundle, Chain, Contract, RpcChain, Signer};

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
    let admin = Signer::alice();
    let (token, _) = Contract::deploy::<_, ()>(
        &mut chain,
        &admin,
        &Bundle::load("token").expect("token bundle (scripts/build-contracts)"),
        "new",
        &(
            1_000_000_000_000_000u128,
            Some(String::from("Datamarket token")),
            Some(String::from("DMT")),
            12u8,
        ),
        0,
        b"token",
    )
    .expect("deploy the token");
    let (market, _) = Contract::deploy::<_, chain::market_types::Result<()>>(
        &mut chain,
        &admin,
        &Bundle::load("marketplace").expect("marketplace bundle"),
        "new",
        &(
            250u16,
            Signer::dev("Ferdie").account_id(),
            delivery_period,
            dispute_window,
            1_000u128,
        ),
        0,
        b"market",
    )
    .expect("deploy the marketplace");
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
            .env(
                "DATAMARKET_BUNDLES",
                std::env::var_os("DATAMARKET_BUNDLES")
                    .map(PathBuf::from)
                    .unwrap_or_else(contract_bundles_dir),
            )
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

fn contract_bundles_dir() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(".cache/datamarket/bundles")
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
