//! Failures that need no chain: an unreachable node, no marketplace, bad input.

use assert_cmd::Command;
use predicates::prelude::*;

fn cli() -> Command {
    let mut cmd = Command::cargo_bin("datamarket").unwrap();
    let dir = std::env::temp_dir();
    cmd.env_remove("DATAMARKET_MARKETPLACE")
        .env_remove("DATAMARKET_NODE_URL")
        .env("DATAMARKET_KEYSTORE", dir.join("datamarket-cli-test-none"));
    cmd
}

#[test]
fn unreachable_node_fails_clearly() {
    cli()
        .args([
            "--node",
            "ws://127.0.0.1:1",
            "--marketplace",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "balance",
            "//Alice",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no Substrate node answers at ws://127.0.0.1:1",
        ));
}

#[test]
fn missing_marketplace_and_bad_addresses_fail_clearly() {
    cli()
        .args(["balance", "//Alice"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no marketplace address"));
    cli()
        .args(["--marketplace", "nope", "balance", "//Alice"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--marketplace \"nope\" is not"));
    cli()
        .args(["--account", "ghost", "refund", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no account named ghost"));
}

#[test]
fn without_home_the_keystore_must_be_named() {
    let mut cmd = Command::cargo_bin("datamarket").unwrap();
    cmd.env_clear()
        .args(["keys", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HOME is not set: give --keystore"));
    // With the keystore named, what needs no blob store works.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("datamarket").unwrap();
    cmd.env_clear()
        .env("DATAMARKET_KEYSTORE", dir.path())
        .args(["keys", "list"])
        .assert()
        .success();
}
