//! Compute-to-data (DESIGN §8): an offer may sell jobs that run beside the data, on the
//! owner's machine, so that only their results leave. A job is a wasm32-wasip1 module
//! named by the SHA-256 of its bytes; its result is a format v1 ciphertext under a fresh
//! key, sealed to the buyer as a dataset key is, so disputes cover results unchanged.

use super::*;

/// At most this many job hashes in an offer's allowlist.
pub const MAX_ALLOWED_JOBS: usize = 32;
/// An offer that runs any job must cap results at this many bytes: the cap bounds what a
/// hostile job can copy out of the dataset.
pub const ANY_JOB_MAX_RESULT: u64 = 4_096;

/// An offer's compute terms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct ComputeTerms {
    /// Price per job, in the offer's asset; above zero.
    pub price: Balance,
    /// Whether the dataset itself is still for sale (`purchase`), beside jobs.
    pub sells_access: bool,
    /// The job hashes the owner allows (its "trusted algorithms"), at most
    /// [`MAX_ALLOWED_JOBS`], no repeats; empty only with `any_job`.
    pub allowed_jobs: Vec<Hash32>,
    /// Any job may be bought: only with an empty allowlist and a result cap of at most
    /// [`ANY_JOB_MAX_RESULT`].
    pub any_job: bool,
    /// The most bytes of result plaintext a job may return.
    pub result_cap: u64,
    /// The most fuel a job may burn.
    pub fuel_cap: u64,
    /// The most linear memory a job may have, in bytes.
    pub memory_cap: u64,
}

/// A job bought: what runs, on which arguments, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Job {
    /// SHA-256 of the module's bytes.
    pub job_hash: Hash32,
    /// Where the owner downloads the module from (its hash is checked before it runs).
    pub job_uri: String,
    /// SHA-256 of the arguments (the sandbox's `Args::hash`); the arguments themselves
    /// reach the owner off chain.
    pub args_hash: Hash32,
    /// The result, once delivered.
    pub result: Option<JobResult>,
    /// The failure kind reported by the owner (the sandbox's `FailureKind`), if it
    /// failed.
    pub failure: Option<u8>,
}

/// A job's result as delivered: a format v1 ciphertext like a dataset's, and its
/// provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct JobResult {
    /// Where the buyer downloads the result ciphertext (the owner's blob store).
    pub uri: String,
    /// The result ciphertext's content root.
    pub content_root: Hash32,
    /// Its header.
    pub header: CiphertextHeader,
    /// The commitment to the result's key.
    pub key_commitment: Hash32,
    /// SHA-256 of the result's plaintext: what a re-run of the job on the same dataset
    /// reproduces (the ciphertext differs, under a fresh key).
    pub plaintext_sha256: Hash32,
    /// The fuel the job burned.
    pub fuel_used: u64,
}

/// Checks compute terms: a price, an allowlist that is bounded and without repeats, or
/// "any job" with an empty list and a small result cap, and caps above zero.
pub fn check_compute_terms(terms: &ComputeTerms) -> Result<()> {
    if terms.price == 0 {
        return Err(Error::ZeroPrice);
    }
    if terms.result_cap == 0 || terms.fuel_cap == 0 || terms.memory_cap == 0 {
        return Err(Error::InvalidComputeTerms);
    }
    if terms.allowed_jobs.len() > MAX_ALLOWED_JOBS {
        return Err(Error::TooManyJobs);
    }
    if terms.any_job {
        if !terms.allowed_jobs.is_empty() || terms.result_cap > ANY_JOB_MAX_RESULT {
            return Err(Error::AnyJobNeedsSmallResultCap);
        }
        return Ok(());
    }
    if terms.allowed_jobs.is_empty() {
        return Err(Error::InvalidComputeTerms);
    }
    for (i, job) in terms.allowed_jobs.iter().enumerate() {
        if terms.allowed_jobs[..i].contains(job) {
            return Err(Error::InvalidComputeTerms);
        }
    }
    Ok(())
}

impl ComputeTerms {
    /// Whether these terms let `job_hash` run.
    pub fn allows(&self, job_hash: &Hash32) -> bool {
        self.any_job || self.allowed_jobs.contains(job_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> ComputeTerms {
        ComputeTerms {
            price: 10,
            sells_access: true,
            allowed_jobs: alloc::vec![[1; 32], [2; 32]],
            any_job: false,
            result_cap: 1 << 20,
            fuel_cap: 1 << 30,
            memory_cap: 64 << 20,
        }
    }

    #[test]
    fn good_terms_pass_and_each_bad_one_has_its_error() {
        assert_eq!(check_compute_terms(&terms()), Ok(()));
        let bad = |f: fn(&mut ComputeTerms)| {
            let mut t = terms();
            f(&mut t);
            check_compute_terms(&t)
        };
        assert_eq!(bad(|t| t.price = 0), Err(Error::ZeroPrice));
        assert_eq!(bad(|t| t.fuel_cap = 0), Err(Error::InvalidComputeTerms));
        assert_eq!(
            bad(|t| t.allowed_jobs.clear()),
            Err(Error::InvalidComputeTerms)
        );
        assert_eq!(
            bad(|t| t.allowed_jobs.push([1; 32])),
            Err(Error::InvalidComputeTerms)
        );
        assert_eq!(
            bad(|t| t.allowed_jobs = alloc::vec![[0; 32]; MAX_ALLOWED_JOBS + 1]),
            Err(Error::TooManyJobs)
        );
        // "Any job" only explicitly, with nothing listed and a small result cap.
        assert_eq!(
            bad(|t| t.any_job = true),
            Err(Error::AnyJobNeedsSmallResultCap)
        );
        assert_eq!(
            bad(|t| {
                t.any_job = true;
                t.allowed_jobs.clear();
            }),
            Err(Error::AnyJobNeedsSmallResultCap)
        );
        assert_eq!(
            bad(|t| {
                t.any_job = true;
                t.allowed_jobs.clear();
                t.result_cap = ANY_JOB_MAX_RESULT;
            }),
            Ok(())
        );
    }

    #[test]
    fn only_listed_jobs_are_allowed_unless_any_job() {
        let t = terms();
        assert!(t.allows(&[2; 32]) && !t.allows(&[3; 32]));
        let any = ComputeTerms {
            any_job: true,
            allowed_jobs: Vec::new(),
            ..t
        };
        assert!(any.allows(&[3; 32]));
    }
}
