//! `deliver --watch --api URL` follows the web API's live event feed: a purchase made
//! while it watches is delivered within seconds although its chain scan runs only every
//! 10 minutes; when the API goes away and comes back it reconnects and delivers what
//! was paid meanwhile; and a watcher killed and restarted (a purchase made while it was
//! down) catches up and never delivers a purchase twice. A real node, the real indexer
//! and web API over HTTP.

use crate::common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::{json, ok, world, IndexAndApi, World};

/// The chain scan's interval: far longer than the test, so only the feed can be fast.
const SCAN_INTERVAL: &str = "600";

struct Watcher {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Watcher {
    /// Starts `deliver --watch` following `api`, and waits until it follows the feed.
    fn start(w: &World, api: &str) -> Self {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("datamarket"));
        for (key, value) in w.cli("owner", "//Bob").get_envs() {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        let mut child = command
            .args([
                "--api",
                api,
                "deliver",
                "--watch",
                "--interval",
                SCAN_INTERVAL,
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(serde_json::from_str(&line).unwrap());
            }
        });
        let (send, notices) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        loop {
            let notice = notices
                .recv_timeout(Duration::from_secs(30))
                .expect("the watcher says it follows the event feed");
            if notice.starts_with("following purchases in the event feed of") {
                break;
            }
        }
        Self { child, lines }
    }

    /// The next delivery it logs, within `limit`.
    fn next(&self, limit: Duration) -> Option<serde_json::Value> {
        self.lines.recv_timeout(limit).ok()
    }

    fn kill(mut self) -> Vec<serde_json::Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lines.try_iter().collect()
    }
}

fn buy(w: &World, offer: &str) -> u64 {
    json(&ok(w
        .cli("buyer", "//Charlie")
        .args(["buy", offer, "--json"])))["purchase_id"]
        .as_u64()
        .unwrap()
}

#[test]
fn watcher_follows_the_event_feed_and_never_delivers_twice() {
    let Some(w) = world(200, 2) else { return };
    let mut index = IndexAndApi::start(&w, "dm_cli_watch_api");
    std::fs::write(
        w.path("moods.csv"),
        b"day,mood\n1,good\n2,fine\n".repeat(100),
    )
    .unwrap();
    let offer = json(&ok(w.cli("owner", "//Bob").args([
        "offer",
        "create",
        w.path("moods.csv").to_str().unwrap(),
        "--price",
        "2500",
        "--title",
        "Moods",
        "--json",
    ])))["offer_id"]
        .as_u64()
        .unwrap()
        .to_string();

    let watcher = Watcher::start(&w, &index.url);
    let first = buy(&w, &offer);
    let bought = Instant::now();
    let logged = watcher
        .next(Duration::from_secs(60))
        .expect("the watcher delivers the purchase");
    let latency = bought.elapsed();
    println!("purchase {first} delivered through the event feed {latency:?} after it was paid");
    assert_eq!(logged["purchase_id"], first, "{logged}");
    assert_eq!(logged["delivered"], true, "{logged}");
    assert!(
        latency < Duration::from_secs(30),
        "the feed, not the {SCAN_INTERVAL}s scan, must bring it: {latency:?}"
    );
    let mut delivered = vec![logged];

    // The API goes away and comes back: the watcher reconnects and misses nothing paid
    // in between (still well before its chain scan).
    index.stop_api();
    let during_outage = buy(&w, &offer);
    std::thread::sleep(Duration::from_secs(1));
    index.start_api();
    let restarted = Instant::now();
    let logged = watcher
        .next(Duration::from_secs(60))
        .expect("the watcher delivers what was paid while the API was down");
    println!(
        "purchase {during_outage} delivered {:?} after the API came back",
        restarted.elapsed()
    );
    assert_eq!(logged["purchase_id"], during_outage, "{logged}");
    assert!(restarted.elapsed() < Duration::from_secs(30));
    delivered.push(logged);
    delivered.extend(watcher.kill());

    // Down: a purchase waits. Restarted: it catches up, then follows the feed again.
    let second = buy(&w, &offer);
    let watcher = Watcher::start(&w, &index.url);
    let caught_up = watcher
        .next(Duration::from_secs(60))
        .expect("the restarted watcher delivers what came while it was down");
    assert_eq!(caught_up["purchase_id"], second, "{caught_up}");
    delivered.push(caught_up);
    let third = buy(&w, &offer);
    let followed = watcher
        .next(Duration::from_secs(60))
        .expect("the restarted watcher follows the feed");
    assert_eq!(followed["purchase_id"], third, "{followed}");
    delivered.push(followed);
    // Give it the time to (wrongly) deliver anything again; the feed replays nothing
    // it should act on, so nothing more is logged.
    assert!(
        watcher.next(Duration::from_secs(5)).is_none(),
        "nothing more to deliver"
    );
    delivered.extend(watcher.kill());

    let ids: Vec<u64> = delivered
        .iter()
        .map(|entry| {
            assert_eq!(entry["delivered"], true, "{entry}");
            entry["purchase_id"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        [first, during_outage, second, third],
        "each purchase delivered once"
    );
    // The chain agrees: a second delivery would have been refused and logged as skipped.
    let again = ok(w.cli("owner", "//Bob").arg("deliver"));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "nothing to deliver"
    );
}
