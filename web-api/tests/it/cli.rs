//! The `web-api` binary from the outside: it serves on the address it is given, says
//! where, stops cleanly on SIGTERM, and fails with a message (not a panic) when it
//! cannot start.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_then_stops_cleanly_on_sigterm() {
    let (database, _client) = common::database("dm_web_cli").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_web-api"))
        .args(["--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("web-api says where it listens")
            .unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_owned();
        }
    };
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let code = loop {
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(waited < Duration::from_secs(10), "web-api did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    };
    assert!(code.success(), "{code:?}");
    database.drop_now().await.unwrap();
}

#[test]
fn a_database_it_cannot_reach_is_an_error_message_and_exit_code_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_web-api"))
        .args([
            "--database-url",
            "postgres://postgres:secret-password@127.0.0.1:5432/dm_web_no_such_database",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("web-api: "), "{stderr}");
    assert!(stderr.contains("dm_web_no_such_database"), "{stderr}");
    assert!(!stderr.contains("secret-password"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
