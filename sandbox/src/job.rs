//! What a job is: a module named by its hash, its bounded arguments (named by their own
//! hash on chain), the caps an offer sets, and the seed of its random stream.

use crate::JobError;
use sha2::{Digest, Sha256};
use std::{fmt, time::Duration};

/// The SHA-256 of a job module's bytes: the name under which a buyer buys a job and an
/// owner allows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobHash(pub [u8; 32]);

impl JobHash {
    pub fn of(module: &[u8]) -> Self {
        JobHash(Sha256::digest(module).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits, with or without a `0x` prefix.
    pub fn from_hex(text: &str) -> Result<Self, JobError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut hash = [0u8; 32];
        hex::decode_to_slice(digits, &mut hash)
            .map_err(|_| JobError::BadJobHash(format!("{text:?} is not 64 hex digits")))?;
        Ok(JobHash(hash))
    }
}

impl fmt::Display for JobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for JobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobHash({})", self.to_hex())
    }
}

/// A job module's bytes with their hash.
#[derive(Clone)]
pub struct JobModule {
    bytes: Vec<u8>,
    hash: JobHash,
}

impl JobModule {
    pub fn new(bytes: Vec<u8>) -> Self {
        let hash = JobHash::of(&bytes);
        JobModule { bytes, hash }
    }

    /// The module a buyer paid for: refuses bytes whose hash is not `bought`, so that a
    /// swapped module at the job's URI never runs.
    pub fn bought(bytes: Vec<u8>, bought: JobHash) -> Result<Self, JobError> {
        let module = JobModule::new(bytes);
        if module.hash != bought {
            return Err(JobError::HashMismatch {
                expected: bought,
                actual: module.hash,
            });
        }
        Ok(module)
    }

    pub fn hash(&self) -> JobHash {
        self.hash
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// At most this many arguments...
pub const MAX_ARGS: usize = 64;
/// ...of at most this many bytes together, since their hash goes on chain and the owner
/// runs them.
pub const MAX_ARGS_BYTES: usize = 4096;

/// A job's arguments, as the job sees them in argv after its program name (`job`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args(Vec<String>);

impl Args {
    pub fn new(args: Vec<String>) -> Result<Self, JobError> {
        if args.len() > MAX_ARGS {
            return Err(JobError::BadArgs(format!(
                "{} arguments, at most {MAX_ARGS}",
                args.len()
            )));
        }
        let bytes: usize = args.iter().map(String::len).sum();
        if bytes > MAX_ARGS_BYTES {
            return Err(JobError::BadArgs(format!(
                "{bytes} bytes of arguments, at most {MAX_ARGS_BYTES}"
            )));
        }
        // WASI passes argv as C strings.
        if args.iter().any(|a| a.contains('\0')) {
            return Err(JobError::BadArgs("an argument contains a NUL byte".into()));
        }
        Ok(Args(args))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The arguments' hash, as `purchase_job` records it: SHA-256 over a domain tag, the
    /// count and each argument's length and bytes (little-endian u32s), so that no two
    /// argument lists share a hash.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"datamarket job args v1");
        hasher.update((self.0.len() as u32).to_le_bytes());
        for arg in &self.0 {
            hasher.update((arg.len() as u32).to_le_bytes());
            hasher.update(arg.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The caps a job runs under (the offer's compute terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel: roughly one unit per WebAssembly instruction, counted the same way on every
    /// machine, so a job that finishes here finishes on a re-run.
    pub fuel: u64,
    /// The most linear memory the job may have, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock time, checked at function entries and loop back-edges.
    pub wall_time: Duration,
    /// The most the job may write to stdout.
    pub result_bytes: u64,
}

impl Default for Limits {
    /// Caps for a job of a few seconds on a laptop: 20 billion fuel, 256 MiB of memory,
    /// five minutes, a 16 MiB result.
    fn default() -> Self {
        Limits {
            fuel: 20_000_000_000,
            memory_bytes: 256 << 20,
            wall_time: Duration::from_secs(300),
            result_bytes: 16 << 20,
        }
    }
}

/// The seed of a job's random stream, from the purchase it runs for: the same purchase
/// re-run gives the same random bytes, and two purchases never share them.
pub fn seed_for(contract: &[u8; 32], purchase: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"datamarket job seed v1");
    hasher.update(contract);
    hasher.update(purchase.to_le_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_that_is_not_the_one_bought_is_refused() {
        let bought = JobHash::of(b"the module the buyer paid for");
        let err = JobModule::bought(b"another module".to_vec(), bought)
            .err()
            .expect("refused");
        assert!(matches!(err, JobError::HashMismatch { expected, .. } if expected == bought));
        assert!(JobModule::bought(b"the module the buyer paid for".to_vec(), bought).is_ok());
    }

    #[test]
    fn job_hashes_round_trip_through_hex() {
        let hash = JobHash::of(b"x");
        assert_eq!(JobHash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert_eq!(JobHash::from_hex(&format!("0x{hash}")).unwrap(), hash);
        assert!(JobHash::from_hex("abc").is_err());
    }

    #[test]
    fn argument_lists_that_differ_have_different_hashes() {
        let a = Args::new(vec!["ab".into(), "c".into()]).unwrap();
        let b = Args::new(vec!["a".into(), "bc".into()]).unwrap();
        let c = Args::new(vec!["abc".into()]).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_ne!(
            Args::default().hash(),
            Args::new(vec![String::new()]).unwrap().hash()
        );
    }

    #[test]
    fn arguments_are_bounded() {
        assert!(Args::new(vec!["x".into(); MAX_ARGS + 1]).is_err());
        assert!(Args::new(vec!["x".repeat(MAX_ARGS_BYTES + 1)]).is_err());
        assert!(Args::new(vec!["a\0b".into()]).is_err());
        assert!(Args::new(vec!["x".into(); MAX_ARGS]).is_ok());
    }

    #[test]
    fn seeds_differ_by_purchase_and_contract() {
        let contract = [7u8; 32];
        assert_eq!(seed_for(&contract, 1), seed_for(&contract, 1));
        assert_ne!(seed_for(&contract, 1), seed_for(&contract, 2));
        assert_ne!(seed_for(&contract, 1), seed_for(&[8u8; 32], 1));
    }
}
