//! Where the example jobs of the repository's `jobs/` crate are once `scripts/build-jobs`
//! has built them: `$DATAMARKET_JOBS`, by default `~/.cache/datamarket/jobs`.

use crate::JobModule;
use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    std::env::var_os("DATAMARKET_JOBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/datamarket/jobs")
        })
}

/// The built example `name` (`csv-stats`, `trainer`).
pub fn load(name: &str) -> std::io::Result<JobModule> {
    let path = dir().join(format!("{name}.wasm"));
    std::fs::read(&path).map(JobModule::new).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{}: {e}; run scripts/build-jobs", path.display()),
        )
    })
}
