//! Compute jobs from the outside (DESIGN §8): the owner sells jobs on its dataset, its
//! watcher (`deliver --watch`) runs each bought job beside the data, and the buyer's
//! `job run` gets only the verified result; a job that fails is refunded at once.

use crate::common;

use std::time::Duration;

use common::{fails, json, ok, watcher, world};

#[test]
fn a_bought_job_runs_beside_the_data_and_only_its_result_reaches_the_buyer() {
    let Some(w) = world(50, 2) else { return };
    let stats = datamarket_sandbox::examples::dir().join("csv-stats.wasm");
    assert!(
        stats.exists(),
        "{}: run scripts/build-jobs",
        stats.display()
    );
    let mut csv = String::from("hours,caffeine_mg\n");
    for i in 0..2_000 {
        csv += &format!("{},{}\n", 4 + i % 6, i * 13 % 400);
    }
    std::fs::write(w.path("sleep.csv"), &csv).unwrap();
    let created = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("sleep.csv").to_str().unwrap(),
        "--price",
        "5000000",
        "--title",
        "Sleep diaries",
        "--native",
        "--json",
    ])));
    let offer = created["offer_id"].as_u64().unwrap().to_string();

    // "Any job" without a small result cap is refused before anything is sent.
    let refused = fails(w.cli("owner", "//Bob").args([
        "offer",
        "compute",
        &offer,
        "--price",
        "1000",
        "--any-job",
    ]));
    assert!(
        refused.contains("--result-cap of at most 4096"),
        "{refused}"
    );
    let set = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "compute",
        &offer,
        "--price",
        "2000000",
        "--job",
        stats.to_str().unwrap(),
        "--jobs-only",
        "--json",
    ])));
    assert_eq!(set["sells_access"], false);
    assert_eq!(set["job_hashes"].as_array().unwrap().len(), 1);
    // The dataset itself is no longer for sale.
    let refused = fails(w.cli("buyer", "//Charlie").args(["buy", &offer]));
    assert!(refused.contains("AccessNotForSale"), "{refused}");

    let (mut child, logged) = watcher(&w);
    let ran = json(&ok(w.cli("buyer", "//Charlie").args([
        "job",
        "run",
        &offer,
        "--wasm",
        stats.to_str().unwrap(),
        "--timeout",
        "120",
        "--json",
        "--",
        "4",
    ])));
    let result: serde_json::Value = serde_json::from_str(ran["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["rows"], 2_000);
    assert_eq!(
        result["columns"][0]["histogram"].as_array().unwrap().len(),
        4,
        "the argument reached the job"
    );
    assert_eq!(ran["amount"], 2_000_000);
    let line = logged
        .recv_timeout(Duration::from_secs(60))
        .expect("the watcher logs the job");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["purchase_id"], ran["purchase_id"], "{line}");
    assert_eq!(entry["delivered"], true, "{line}");
    assert_eq!(
        entry["job"]["result_sha256"], ran["result_sha256"],
        "{line}"
    );

    // A job that fails (csv-stats refuses 0 bins and exits 2) is refunded at once.
    let failed = fails(w.cli("buyer", "//Charlie").args([
        "job",
        "run",
        &offer,
        "--wasm",
        stats.to_str().unwrap(),
        "--timeout",
        "120",
        "--",
        "0",
    ]));
    assert!(
        failed.contains("failed on the owner's machine (exited with an error)"),
        "{failed}"
    );
    let line = logged
        .recv_timeout(Duration::from_secs(60))
        .expect("the watcher logs the failure");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["delivered"], false, "{line}");
    assert!(
        entry["skipped"]
            .as_str()
            .unwrap()
            .contains("exited with status 2"),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let balance = json(&ok(w.cli("buyer", "//Charlie").args(["balance", "--json"])));
    assert_eq!(balance["native_credit"], 2_000_000, "{balance}");
}
