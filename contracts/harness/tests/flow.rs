//! The README's main command runs this flow: it must succeed end to end, decrypting both
//! datasets to their original bytes and leaving nothing owed but the bonds.

use std::process::Command;

#[test]
fn the_marketplace_flow_runs_end_to_end() {
    let output = Command::new(env!("CARGO_BIN_EXE_marketplace-flow"))
        .output()
        .expect("run marketplace-flow");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "flow failed:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("matches the original").count(),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains("cleo's key does not open ben's envelope"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the marketplace holds the two owners' bonds: 2000"),
        "{stdout}"
    );
}
