//! Ciphertexts in an S3 bucket: `offer create --blobs s3://...` uploads (in parts: the
//! dataset is above the part size), a buyer fetches from the s3:// URI on chain and
//! decrypts to the original, a tampered object fails the fetch with no output, a refused
//! offer leaves no object, and an unreachable store fails clearly.
//!
//! The S3 server is moto's (`moto[server]` from PyPI), an S3 emulator, because real S3 is
//! not reachable here; `scripts/setup` installs it into $DATAMARKET_CACHE/moto-venv and
//! this test installs it there itself when it is missing. The CLI talks to it exactly as
//! to S3, through the standard AWS_* variables.

use crate::common;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{fails, json, ok, world, World};
use sha2::{Digest, Sha256};

const BUCKET: &str = "dm-blobs";

/// A moto S3 server on a free port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    let cache = std::env::var_os("DATAMARKET_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/datamarket")
        });
    let venv = cache.join("moto-venv");
    let server = venv.join("bin/moto_server");
    if server.exists() {
        return Some(server);
    }
    // As scripts/setup does.
    let installed = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "moto[server]"])
            .status()
            .is_ok_and(|s| s.success());
    installed.then_some(server)
}

/// Starts moto and makes the bucket, or returns `None` after a loud SKIPPED.
fn start_moto() -> Option<Moto> {
    let Some(server) = moto_server() else {
        println!(
            "SKIPPED: *** moto[server] (the S3 emulator) could not be installed with pip; the S3 blob store is NOT tested ***"
        );
        eprintln!("SKIPPED: moto[server] could not be installed; the S3 blob store is NOT tested");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // moto takes unsigned requests: enough to make the bucket.
    loop {
        if let Ok(response) = http.put(format!("{}/{BUCKET}", moto.endpoint)).send() {
            assert!(response.status().is_success(), "{:?}", response.text());
            break;
        }
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(moto)
}

/// `datamarket` as `person` with S3 credentials for `endpoint`.
fn s3_cli(w: &World, person: &str, account: &str, endpoint: &str) -> assert_cmd::Command {
    let mut cmd = w.cli(person, account);
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "datamarket-test")
        .env("AWS_SECRET_ACCESS_KEY", "datamarket-test-secret");
    cmd
}

/// The keys of the bucket's objects under `prefix`.
fn objects(moto: &Moto, prefix: &str) -> Vec<String> {
    let listing = reqwest::blocking::get(format!(
        "{}/{BUCKET}?list-type=2&prefix={prefix}",
        moto.endpoint
    ))
    .unwrap()
    .text()
    .unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .map(|part| part.split("</Key>").next().unwrap().to_owned())
        .collect()
}

#[test]
fn offers_in_s3_are_fetched_verified_and_cleaned_up() {
    let Some(w) = world(50, 2) else { return };
    let Some(moto) = start_moto() else { return };
    let owner = |w: &World| s3_cli(w, "owner", "//Bob", &moto.endpoint);
    let buyer = |w: &World| s3_cli(w, "buyer", "//Charlie", &moto.endpoint);

    // Above the 10 MiB part size: a multipart upload.
    let plaintext: Vec<u8> = (0..11u32 * 1024 * 1024 / 16)
        .flat_map(|i| format!("{:>15}\n", i * 7).into_bytes())
        .collect();
    std::fs::write(w.path("big.csv"), &plaintext).unwrap();
    let started = Instant::now();
    let created = json(&ok(owner(&w).args([
        "--blobs",
        &format!("s3://{BUCKET}/offers"),
        "offer",
        "create",
        w.path("big.csv").to_str().unwrap(),
        "--price",
        "7000",
        "--title",
        "Counts",
        "--json",
    ])));
    println!(
        "offer create of {} bytes into S3 (moto) took {:?}",
        plaintext.len(),
        started.elapsed()
    );
    let root = created["content_root"].as_str().unwrap();
    let key = format!("offers/{root}.dmseal");
    assert_eq!(created["uri"], format!("s3://{BUCKET}/{key}"), "{created}");
    assert_eq!(objects(&moto, "offers/"), std::slice::from_ref(&key));
    // Nothing was staged in the default local blob directory.
    assert!(!w.path("blobs").exists());

    let offer = created["offer_id"].as_u64().unwrap().to_string();
    let purchase = json(&ok(buyer(&w).args(["buy", &offer, "--json"])))["purchase_id"]
        .as_u64()
        .unwrap()
        .to_string();
    assert_eq!(
        json(&ok(owner(&w).args(["deliver", "--json"])))["delivered"],
        1
    );
    let out = w.path("bought.csv");
    let fetched = json(&ok(buyer(&w).args([
        "fetch",
        &purchase,
        "-o",
        out.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(fetched["size"], plaintext.len() as u64);
    assert_eq!(
        Sha256::digest(std::fs::read(&out).unwrap()),
        Sha256::digest(&plaintext)
    );

    // Without --json and with stderr not a terminal (a pipe here, as in CI): the same,
    // with no progress bar drawn.
    let again = w.path("again.csv");
    let output = ok(buyer(&w).args(["fetch", &purchase, "-o", again.to_str().unwrap()]));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("verified"),
        "{output:?}"
    );
    assert!(output.stderr.is_empty(), "{output:?}");
    assert_eq!(std::fs::read(&again).unwrap(), plaintext);

    // One flipped bit in the stored object: fetch fails and writes nothing.
    let url = format!("{}/{BUCKET}/{key}", moto.endpoint);
    let mut bytes = reqwest::blocking::get(&url)
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let put = reqwest::blocking::Client::new()
        .put(&url)
        .body(bytes)
        .send()
        .unwrap();
    assert!(put.status().is_success());
    let tampered = w.path("tampered.csv");
    let stderr = fails(buyer(&w).args(["fetch", &purchase, "-o", tampered.to_str().unwrap()]));
    assert!(
        stderr.contains(&format!("does not match offer {offer}"))
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!tampered.exists());
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An offer the marketplace refuses after the upload (its token is not a contract):
    // the object is deleted again.
    std::fs::write(w.path("small.csv"), b"a,b\n1,2\n").unwrap();
    let not_a_token = common::hex(&chain::Signer::dev("Ferdie").account_id());
    let stderr = fails(owner(&w).args([
        "--blobs",
        &format!("s3://{BUCKET}/refused"),
        "--token",
        &not_a_token,
        "offer",
        "create",
        w.path("small.csv").to_str().unwrap(),
        "--price",
        "10",
        "--title",
        "Refused",
    ]));
    assert!(stderr.contains("the marketplace refused"), "{stderr}");
    assert!(objects(&moto, "refused/").is_empty());

    // An unreachable store: clear errors, exit code 1, nothing written.
    let dead = "http://127.0.0.1:1";
    let stderr = fails(s3_cli(&w, "owner", "//Bob", dead).args([
        "--blobs",
        &format!("s3://{BUCKET}/offers"),
        "offer",
        "create",
        w.path("small.csv").to_str().unwrap(),
        "--price",
        "10",
        "--title",
        "Nowhere",
    ]));
    assert!(
        stderr.contains(&format!(
            "cannot upload the ciphertext to s3://{BUCKET}/offers/"
        )),
        "{stderr}"
    );
    let nowhere = w.path("nowhere.csv");
    let stderr = fails(s3_cli(&w, "buyer", "//Charlie", dead).args([
        "fetch",
        &purchase,
        "-o",
        nowhere.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains(&format!(
            "cannot download the ciphertext from s3://{BUCKET}/{key}"
        )),
        "{stderr}"
    );
    assert!(!nowhere.exists());
}
