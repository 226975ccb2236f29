//! Every way a job ends other than with a result: one variant each, so that the owner's
//! watcher can report the kind on chain and a test can tell a memory bomb from a flood.

use crate::JobHash;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    // Refused before it runs.
    #[error("the module's SHA-256 is {actual}, not the job hash {expected} that was bought")]
    HashMismatch { expected: JobHash, actual: JobHash },
    #[error("not a job hash: {0}")]
    BadJobHash(String),
    #[error("not a WebAssembly module: {0}")]
    NotWasm(String),
    #[error("the module imports {module}::{name}, which a job may not use: {why}")]
    ForbiddenImport {
        module: String,
        name: String,
        why: &'static str,
    },
    #[error(
        "the module exports no `_start` function: a job is a WASI command (a wasm32-wasip1 binary)"
    )]
    NotACommand,
    #[error("bad job arguments: {0}")]
    BadArgs(String),

    // Stopped by a cap.
    #[error("the job ran out of fuel (its cap is {limit})")]
    OutOfFuel { limit: u64 },
    #[error("the job asked for more memory than its cap of {limit} bytes")]
    MemoryCap { limit: u64 },
    #[error("the job ran past its wall-clock cap of {limit:?}")]
    WallClock { limit: Duration },
    #[error("the job wrote more than its result cap of {limit} bytes")]
    ResultTooLarge { limit: u64 },

    // Failed on its own.
    #[error("the job exited with status {0}")]
    Exit(i32),
    #[error("the job trapped: {0}")]
    Trap(String),

    // Failed on the owner's side.
    #[error("the job's input failed: {0}")]
    Input(String),
    #[error("the sandbox failed: {0}")]
    Host(String),
}

/// The kind of a failure, as one byte for `fail_job` on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureKind {
    /// Refused before it ran: not the module bought, not wasm, a forbidden import, not a
    /// command, bad arguments.
    Refused = 1,
    OutOfFuel = 2,
    MemoryCap = 3,
    WallClock = 4,
    ResultTooLarge = 5,
    /// Exited with a nonzero status.
    Exit = 6,
    Trap = 7,
    /// The owner's side failed (input, cache, engine): not the job's fault.
    Owner = 8,
}

impl JobError {
    pub fn kind(&self) -> FailureKind {
        match self {
            JobError::HashMismatch { .. }
            | JobError::BadJobHash(_)
            | JobError::NotWasm(_)
            | JobError::ForbiddenImport { .. }
            | JobError::NotACommand
            | JobError::BadArgs(_) => FailureKind::Refused,
            JobError::OutOfFuel { .. } => FailureKind::OutOfFuel,
            JobError::MemoryCap { .. } => FailureKind::MemoryCap,
            JobError::WallClock { .. } => FailureKind::WallClock,
            JobError::ResultTooLarge { .. } => FailureKind::ResultTooLarge,
            JobError::Exit(_) => FailureKind::Exit,
            JobError::Trap(_) => FailureKind::Trap,
            JobError::Input(_) | JobError::Host(_) => FailureKind::Owner,
        }
    }
}
