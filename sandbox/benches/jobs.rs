//! `cargo bench -p datamarket-sandbox --bench jobs` (or scripts/bench-jobs): the example
//! jobs in the sandbox against the very same code compiled natively, on the same data,
//! and the sandbox's start-up, cached and cold. Prints one table; ratios are against the
//! native run measured in the same process, since these machines are noisy.

use datamarket_jobs::{stats, table, trainer};
use datamarket_sandbox::{examples, Args, JobModule, Limits, Sandbox};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn diary(rows: usize) -> Vec<u8> {
    let mut csv = String::from("hours,caffeine_mg,screen_min,steps,rested\n");
    for i in 0..rows {
        let hours = 4.0 + (i * 7 % 60) as f64 / 10.0;
        let caffeine = (i * 13 % 400) as f64;
        let screen = (i * 29 % 180) as f64;
        let steps = (i * 101 % 15_000) as f64;
        let rested = u8::from(hours - caffeine / 200.0 + steps / 30_000.0 > 6.0);
        csv += &format!("{hours},{caffeine},{screen},{steps},{rested}\n");
    }
    csv.into_bytes()
}

/// The best of `runs` timings (the least disturbed by the rest of the machine).
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50_000);
    let csv = diary(rows);
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Some(cache.path())).unwrap();
    let limits = Limits {
        fuel: u64::MAX / 2,
        ..Limits::default()
    };
    println!(
        "{rows} rows, {} KiB of CSV; best of 5 runs",
        csv.len() / 1024
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8}",
        "what", "sandbox", "native", "ratio"
    );

    let epochs = "50";
    let trainer_args = Args::new(vec!["--epochs".into(), epochs.into()]).unwrap();
    let options = trainer::Options {
        epochs: 50,
        ..trainer::Options::default()
    };
    for (name, args) in [("csv-stats", Args::default()), ("trainer", trainer_args)] {
        let module = examples::load(name).unwrap();
        let prepared = sandbox.prepare(&module).unwrap();
        let sandboxed = best(5, || {
            let input = std::io::Cursor::new(csv.clone());
            black_box(
                sandbox
                    .run(&prepared, input, &args, [0; 32], &limits)
                    .unwrap(),
            );
        });
        let native = best(5, || {
            let table = table::read(&csv[..]).unwrap();
            let json = if name == "trainer" {
                serde_json::to_vec(&trainer::train(&table, &options).unwrap())
            } else {
                serde_json::to_vec(&stats::of(&table, 10))
            };
            black_box(json.unwrap());
        });
        println!(
            "{:<44} {:>12} {:>12} {:>7.2}x",
            format!("{name} (speed: native time / sandbox time)"),
            ms(sandboxed),
            ms(native),
            native.as_secs_f64() / sandboxed.as_secs_f64()
        );
    }

    // Start-up: from bytes to a finished trivial run (an empty input), with the module
    // compiled before (cache) and not.
    let trainer = examples::load("trainer").unwrap();
    let cold = best(3, || {
        let fresh = Sandbox::new(None).unwrap();
        let prepared = fresh.prepare(&trainer).unwrap();
        black_box(prepared.from_cache());
    });
    let cached = best(10, || {
        let prepared = sandbox.prepare(&trainer).unwrap();
        assert!(prepared.from_cache());
        let _ = black_box(sandbox.run(
            &prepared,
            std::io::empty(),
            &Args::default(),
            [0; 32],
            &limits,
        ));
    });
    println!(
        "{:<44} {:>12}",
        "trainer: first compile (no cache)",
        ms(cold)
    );
    println!(
        "{:<44} {:>12}   (target under 20 ms)",
        "trainer: start from the cache and run empty",
        ms(cached)
    );
    let tiny = JobModule::new(
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#)
            .unwrap(),
    );
    sandbox.prepare(&tiny).unwrap();
    let bare = best(20, || {
        let prepared = sandbox.prepare(&tiny).unwrap();
        black_box(
            sandbox
                .run(
                    &prepared,
                    std::io::empty(),
                    &Args::default(),
                    [0; 32],
                    &limits,
                )
                .unwrap(),
        );
    });
    println!(
        "{:<44} {:>12}",
        "an empty job: start from the cache and run",
        ms(bare)
    );
}
