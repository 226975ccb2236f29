//! Times one envelope seal and one open (used by `scripts/bench-sealer`).
//!
//! `cargo run --release -p sealer --example envelope_bench [ITERATIONS]` prints
//! `seal_us=<µs per op> open_us=<µs per op>`.

use std::time::Instant;

use sealer::{BuyerSecretKey, DataKey, EnvelopeContext, KeyOpener, KeySealer};

fn main() -> Result<(), sealer::Error> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let dek = DataKey::generate()?;
    let buyer = BuyerSecretKey::generate()?;
    let pk = buyer.public_key();
    let ctx = EnvelopeContext {
        contract: [0xC0; 32],
        offer_id: 7,
        purchase_id: 42,
    };
    // Warm up.
    let env = pk.seal(&dek, &ctx)?;
    assert_eq!(buyer.open(&env, &ctx)?, dek);

    let start = Instant::now();
    let mut last = env;
    for _ in 0..n {
        last = pk.seal(&dek, &ctx)?;
    }
    let seal = start.elapsed().as_secs_f64() / f64::from(n);
    let start = Instant::now();
    for _ in 0..n {
        assert_eq!(buyer.open(&last, &ctx)?, dek);
    }
    let open = start.elapsed().as_secs_f64() / f64::from(n);
    println!("seal_us={:.1} open_us={:.1}", seal * 1e6, open * 1e6);
    Ok(())
}
