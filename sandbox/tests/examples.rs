//! The repository's example jobs (jobs/, built to wasm32-wasip1 by scripts/build-jobs)
//! in the sandbox: the same answers as the same code run natively, the same bytes on a
//! re-run, and a plaintext that reaches the job only through a decrypting stream.

use datamarket_jobs::{stats, table, trainer};
use datamarket_sandbox::{examples, Args, Feed, JobError, Limits, Sandbox};
use sealer::{ChunkSize, DataKey, Decryptor, Encryptor};
use serde_json::Value;

/// A sleep diary: hours slept, caffeine, screen time, and whether the night felt rested.
fn diary(rows: usize) -> String {
    let mut csv = String::from("person,hours,caffeine_mg,screen_min,rested\n");
    for i in 0..rows {
        let hours = 4.0 + (i * 7 % 60) as f64 / 10.0;
        let caffeine = (i * 13 % 400) as f64;
        let screen = (i * 29 % 180) as f64;
        let rested = u8::from(hours - caffeine / 200.0 > 6.0);
        csv += &format!("p{i},{hours},{caffeine},{screen},{rested}\n");
    }
    csv
}

fn run(name: &str, input: Vec<u8>, args: &[&str]) -> Result<datamarket_sandbox::Outcome, JobError> {
    let sandbox = Sandbox::new(None).unwrap();
    let prepared = sandbox.prepare(&examples::load(name).unwrap()).unwrap();
    let args = Args::new(args.iter().map(|a| a.to_string()).collect()).unwrap();
    sandbox.run(
        &prepared,
        std::io::Cursor::new(input),
        &args,
        [3; 32],
        &Limits::default(),
    )
}

#[test]
fn csv_stats_in_the_sandbox_gives_what_the_native_code_gives() {
    let csv = diary(2_000);
    let outcome = run("csv-stats", csv.clone().into_bytes(), &["8"]).unwrap();
    let sandboxed: Value = serde_json::from_slice(&outcome.result).unwrap();
    let native = stats::of(&table::read(csv.as_bytes()).unwrap(), 8);
    // Sums, minima and maxima are exact IEEE arithmetic: the same bits on both.
    assert_eq!(sandboxed, serde_json::to_value(&native).unwrap());
    assert_eq!(
        sandboxed["columns"].as_array().unwrap().len(),
        4,
        "person is text"
    );
    assert!(outcome.fuel_used > 0);
}

#[test]
fn the_trainer_in_the_sandbox_learns_the_model_the_native_code_learns() {
    let csv = diary(2_000);
    let args = ["--label", "rested", "--epochs", "300"];
    let outcome = run("trainer", csv.clone().into_bytes(), &args).unwrap();
    let sandboxed: Value = serde_json::from_slice(&outcome.result).unwrap();
    let options = trainer::Options {
        label: Some("rested".into()),
        epochs: 300,
        ..trainer::Options::default()
    };
    let native = trainer::train(&table::read(csv.as_bytes()).unwrap(), &options).unwrap();
    assert_eq!(
        sandboxed["features"],
        serde_json::json!(["hours", "caffeine_mg", "screen_min"])
    );
    assert_eq!(sandboxed["rows"], 2_000);
    // exp() is the wasm libm's in the sandbox and the host's natively: the weights agree
    // to rounding, not always to the last bit.
    for (w, n) in sandboxed["weights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&native.weights)
    {
        let w = w.as_f64().unwrap();
        assert!((w - n).abs() <= 1e-9 * n.abs().max(1.0), "{w} vs {n}");
    }
    assert!(native.training_accuracy > 0.9, "{native:?}");

    // A re-run is the same result, bit for bit, for the same fuel.
    let again = run("trainer", csv.into_bytes(), &args).unwrap();
    assert_eq!(again.result_sha256, outcome.result_sha256);
    assert_eq!(again.fuel_used, outcome.fuel_used);
}

#[test]
fn bad_arguments_end_the_job_with_its_exit_status() {
    let err = run("csv-stats", diary(10).into_bytes(), &["many"]).unwrap_err();
    assert!(matches!(err, JobError::Exit(2)), "{err:?}");
}

#[test]
fn the_job_reads_the_dataset_through_the_decryptor() {
    // Sealed as an owner lists it; decrypted only into the job's stdin.
    let csv = diary(5_000).into_bytes();
    let key = DataKey::generate().unwrap();
    let mut sealed = Vec::new();
    let receipt = Encryptor::new(&key, csv.len() as u64, ChunkSize::new(4096).unwrap())
        .unwrap()
        .encrypt(&csv[..], &mut sealed)
        .unwrap();
    let sandbox = Sandbox::new(None).unwrap();
    let prepared = sandbox
        .prepare(&examples::load("csv-stats").unwrap())
        .unwrap();
    let decrypting = |ciphertext: Vec<u8>, key: DataKey| {
        Feed::spawn(move |pipe| {
            Decryptor::new(&key)
                .expect_root(receipt.content_root)
                .decrypt(&ciphertext[..], pipe)
                .map(drop)
        })
        .unwrap()
    };
    let args = Args::default();
    let outcome = sandbox
        .run(
            &prepared,
            decrypting(sealed.clone(), key.clone()),
            &args,
            [0; 32],
            &Limits::default(),
        )
        .unwrap();
    let native = stats::of(&table::read(&csv[..]).unwrap(), 10);
    assert_eq!(
        serde_json::from_slice::<Value>(&outcome.result).unwrap(),
        serde_json::to_value(&native).unwrap()
    );

    // One flipped bit in the last chunk: the job has read everything before it, and
    // still ends with an input error and no result.
    let mut tampered = sealed;
    let last = tampered.len() - 20;
    tampered[last] ^= 1;
    let err = sandbox
        .run(
            &prepared,
            decrypting(tampered, key),
            &args,
            [0; 32],
            &Limits::default(),
        )
        .unwrap_err();
    assert!(matches!(err, JobError::Input(_)), "{err:?}");
}
