//! An owner's dataset and data key on the way to a buyer: a dataset from a pipe is read
//! whole, an empty one is refused, and the watcher delivers only a key that matches the
//! offer's key commitment; a key it cannot use holds up that purchase alone.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::{fails, json, ok, world};

/// The delivery lines (`--json`) `deliver` printed, and its final count.
fn deliveries(output: &std::process::Output) -> (Vec<serde_json::Value>, u64) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let total = lines.pop().expect("a final count")["delivered"]
        .as_u64()
        .unwrap();
    (lines, total)
}

#[test]
fn only_the_committed_key_is_delivered_and_a_bad_one_holds_up_nothing_else() {
    let Some(w) = world(50, 2) else { return };

    // A dataset from a pipe: its length is only known once it is read.
    let plaintext = b"day,steps\n2025-01-01,8012\n".repeat(3_000);
    let created = json(&ok(w
        .cli("owner", "//Bob")
        .args([
            "offer",
            "create",
            "/dev/stdin",
            "--price",
            "1000",
            "--title",
            "Steps",
            "--json",
        ])
        .write_stdin(plaintext.clone())));
    assert_eq!(created["size"], plaintext.len());
    let offer_id = created["offer_id"].as_u64().unwrap().to_string();
    std::fs::write(w.path("empty.csv"), b"").unwrap();
    let refused = fails(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("empty.csv").to_str().unwrap(),
        "--price",
        "1000",
        "--title",
        "Nothing",
    ]));
    assert!(refused.contains("is empty"), "{refused}");

    // The owner's keystore holds a key that is not the offer's.
    let root = created["content_root"].as_str().unwrap();
    let key_path = w
        .keystore("owner")
        .join("data-keys")
        .join(format!("{root}.dek"));
    let right = std::fs::read(&key_path).unwrap();
    std::fs::remove_file(&key_path).unwrap();
    sealer::keyfile::write_data_key(&key_path, &sealer::DataKey::generate().unwrap()).unwrap();

    let bought = json(&ok(w
        .cli("buyer", "//Charlie")
        .args(["buy", &offer_id, "--json"])));
    let purchase_id = bought["purchase_id"].as_u64().unwrap();

    let (lines, total) = deliveries(&ok(w.cli("owner", "//Bob").args(["deliver", "--json"])));
    assert_eq!(total, 0);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["purchase_id"], purchase_id);
    assert_eq!(lines[0]["delivered"], false);
    let skipped = lines[0]["skipped"].as_str().unwrap();
    assert!(
        skipped.contains("does not match the offer's key commitment"),
        "{skipped}"
    );

    // The right key, but readable by others: refused, and still not fatal.
    std::fs::remove_file(&key_path).unwrap();
    std::fs::write(&key_path, &right).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (lines, total) = deliveries(&ok(w.cli("owner", "//Bob").args(["deliver", "--json"])));
    assert_eq!(total, 0);
    let skipped = lines[0]["skipped"].as_str().unwrap();
    assert!(skipped.contains("cannot use the data key"), "{skipped}");

    // Put right, it is delivered, and the buyer decrypts the dataset from the pipe.
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (lines, total) = deliveries(&ok(w.cli("owner", "//Bob").args(["deliver", "--json"])));
    assert_eq!(total, 1, "{lines:?}");
    assert_eq!(lines[0]["delivered"], true);
    // A missing output directory is found before any waiting or downloading.
    let nowhere = w.path("no-such-dir").join("steps.csv");
    let refused = fails(w.cli("buyer", "//Charlie").args([
        "fetch",
        &purchase_id.to_string(),
        "-o",
        nowhere.to_str().unwrap(),
    ]));
    assert!(refused.contains("is not a directory"), "{refused}");
    let out = w.path("steps.csv");
    ok(w.cli("buyer", "//Charlie").args([
        "fetch",
        &purchase_id.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), plaintext);
}
