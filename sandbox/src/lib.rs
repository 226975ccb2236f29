//! The compute sandbox (DESIGN §8): a buyer's job goes to the data, not the data to the
//! buyer. A job is a WebAssembly module (wasm32-wasip1) named by the SHA-256 of its
//! bytes; it reads the dataset's plaintext as a stream on stdin and its arguments from
//! argv, and writes its result to stdout. Nothing else reaches it: no files, no network,
//! no environment, clocks that read zero, and a random stream seeded from the purchase,
//! so that the same job on the same data gives the same result bytes, bit for bit.
//!
//! [`Sandbox`] runs it under wasmtime with the offer's caps: fuel (deterministic
//! instruction metering), memory, wall-clock time (epoch interruption) and result size.
//! Each cap that trips ends the job with its own [`JobError`], as does every way a
//! module can be refused before it runs (not wasm, not the module that was bought, an
//! import beyond the allowed WASI calls). Compiled modules are cached by job hash in
//! wasmtime's serialized form, so a job that has run once starts in milliseconds.
//!
//! The random stream is reproducible, not secret: anyone who knows the purchase can
//! derive it, which is what lets anyone holding the dataset re-run a job and check its
//! result. A job must not make keys from it.
//!
//! The crate knows nothing of the chain: the caller derives the seed ([`seed_for`]) and
//! feeds the plaintext (a decrypting reader, so it never touches disk).

mod error;
pub mod examples;
mod feed;
mod imports;
mod job;
mod run;
mod streams;

pub use error::{FailureKind, JobError};
pub use feed::Feed;
pub use imports::{check_imports, ALLOWED_WASI_CALLS};
pub use job::{seed_for, Args, JobHash, JobModule, Limits, MAX_ARGS, MAX_ARGS_BYTES};
pub use run::{Outcome, Prepared, Sandbox};
