//! `trainer [--label NAME] [--epochs N] [--rate R]`: a logistic-regression model of the
//! CSV on stdin, as JSON.

use datamarket_jobs::trainer::{train, Options};
use std::process::ExitCode;

const USAGE: &str = "usage: trainer [--label NAME] [--epochs N] [--rate R]";

fn options() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--label" => options.label = Some(value),
            "--epochs" => {
                options.epochs = value.parse().map_err(|_| format!("--epochs {value}"))?
            }
            "--rate" => {
                options.learning_rate = value.parse().map_err(|_| format!("--rate {value}"))?
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("trainer: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let model = datamarket_jobs::table::read(std::io::stdin().lock())
        .map_err(|e| e.to_string())
        .and_then(|table| train(&table, &options));
    match model {
        Ok(model) => {
            println!("{}", serde_json::to_string(&model).unwrap());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trainer: {e}");
            ExitCode::FAILURE
        }
    }
}
