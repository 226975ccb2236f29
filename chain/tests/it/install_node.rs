//! scripts/install-node's cached paths (the build from source takes over an hour and is
//! not run here): an installed node is left alone, and a copy built earlier in the cache
//! is linked into place. Each run gets its own cache and bin directories.

use std::{path::Path, process::Command};

use chain::dev_node::DevNode;

fn install_node(cache: &Path, bin: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-node");
    let output = Command::new("bash")
        .arg(script)
        // A mistake here must not start an hour-long build.
        .arg("--no-build")
        .env("DATAMARKET_CACHE", cache)
        .env("DATAMARKET_BIN", bin)
        .output()
        .expect("run scripts/install-node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn an_installed_node_is_left_alone() {
    let node = DevNode::binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&node, bin.join("substrate-contracts-node")).unwrap();
    let (ok, log) = install_node(&dir.path().join("cache"), &bin);
    assert!(ok, "{log}");
    assert!(log.contains("0.42.0 already installed"), "{log}");
    assert!(!dir.path().join("cache/node-build").exists(), "{log}");
}

#[test]
fn a_node_built_earlier_is_linked() {
    let node = DevNode::binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let release = cache.join("node-build/contracts-node-0.42.0/target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::os::unix::fs::symlink(&node, release.join("substrate-contracts-node")).unwrap();
    let bin = dir.path().join("bin");
    let (ok, log) = install_node(&cache, &bin);
    assert!(ok, "{log}");
    assert!(log.contains("was built here before"), "{log}");
    let installed = bin.join("substrate-contracts-node");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("substrate-contracts-node 0.42.0"),
        "{version:?}"
    );
}
