//! The demo as an automated test: the whole flow on the embedded runtime (always), and
//! the same on a real substrate-contracts-node when one is installed (scripts/setup
//! installs it; without it the test says SKIPPED). Each run has a database of its own.

use chain::dev_node::DevNode;
use datamarket_demo::{run, Options};

/// Each payee's withdrawal, exact to the unit: sleep diary 50 000 000 native, rides
/// 90 000 001 DMT and one compute job on them 10 000 000 DMT, 2.5% fee, the union's
/// 87 750 001 + 9 750 000 split 50/30/20 with the rounding dust to the first payee.
const WITHDRAWN: [(&str, u128, u128); 5] = [
    ("ada", 48_750_000, 0),
    ("union-dave", 0, 43_875_001 + 4_875_000),
    ("union-eve", 0, 26_325_000 + 2_925_000),
    ("union-ferdie", 0, 17_550_000 + 1_950_000),
    ("fee-recipient", 1_250_000, 2_250_000 + 250_000),
];

async fn check(node: &str) {
    let options = Options {
        node: node.into(),
        database: format!(
            "dm_demo_test_{:08x}",
            std::process::id() ^ (node.len() as u32 * 7919)
        ),
        listen: ([127, 0, 0, 1], 0).into(),
        ..Options::default()
    };
    let demo = run(&options, |line| eprintln!("{line}"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let report = &demo.report;
    assert_eq!(report.decrypted.len(), 2);
    for (_, offer, original, decrypted) in &report.decrypted {
        assert_eq!(original, decrypted, "offer {offer}");
    }
    let withdrawn: Vec<(&str, u128, u128)> = report
        .withdrawn
        .iter()
        .map(|(n, a, b)| (n.as_str(), *a, *b))
        .collect();
    assert_eq!(withdrawn, WITHDRAWN);
    // The compute job's result: csv-stats of the rides, with the buyer's argument (5
    // bins), verified against its provenance record.
    let (_, result, sha256) = report.job.as_ref().expect("the demo ran a job");
    let stats: serde_json::Value = serde_json::from_slice(result).unwrap();
    assert!(stats["rows"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(
        stats["columns"][0]["histogram"].as_array().unwrap().len(),
        5
    );
    assert_eq!(sha256.len(), 64);
    // Nothing is left owed: the marketplace holds only what the bonds left.
    let (_, _, market_tokens) = report
        .balances
        .iter()
        .find(|(n, _, _)| n == "marketplace")
        .unwrap();
    assert_eq!(*market_tokens, 0);
    // The web page and the API answer.
    let page = reqwest::get(format!("{}/", demo.url)).await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains("<html"));
    let status: serde_json::Value = reqwest::get(format!("{}/v1/status", demo.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status["indexed_head"]["block_number"].as_u64().unwrap() > 0,
        "{status}"
    );
    let admin = index_db::connect(&options.admin_database_url)
        .await
        .unwrap();
    drop(demo);
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            options.database
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_marketplace_on_the_embedded_runtime() {
    check(chain::IN_PROCESS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_marketplace_on_a_node() {
    if let Err(e) = DevNode::binary() {
        eprintln!(
            "SKIPPED: substrate-contracts-node is not installed ({e}); scripts/setup installs it"
        );
        return;
    }
    let node = DevNode::start().unwrap_or_else(|e| panic!("{e}"));
    check(node.url()).await;
}
