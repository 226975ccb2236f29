//! `csv-stats [BINS]`: statistics of each numeric column of the CSV on stdin, as JSON.

use std::process::ExitCode;

fn main() -> ExitCode {
    let bins = match std::env::args().nth(1).map(|b| b.parse::<usize>()) {
        None => 10,
        Some(Ok(bins)) if (1..=1000).contains(&bins) => bins,
        Some(_) => {
            eprintln!("usage: csv-stats [BINS]  (1 to 1000 histogram bins, 10 by default)");
            return ExitCode::from(2);
        }
    };
    match datamarket_jobs::table::read(std::io::stdin().lock()) {
        Ok(table) => {
            println!(
                "{}",
                serde_json::to_string(&datamarket_jobs::stats::of(&table, bins)).unwrap()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("csv-stats: {e}");
            ExitCode::FAILURE
        }
    }
}
