//! The sandbox: one wasmtime engine configured for deterministic, capped runs, a cache of
//! compiled modules, and the run of one job.

use crate::streams::{Plaintext, ResultSink};
use crate::{check_imports, Args, JobError, JobHash, JobModule, Limits};
use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, InstancePre, Linker, Module, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, I32Exit, WasiCtxBuilder};
use zeroize::Zeroizing;

/// How often the wall-clock ticker advances the engine's epoch; a job's wall-clock cap
/// is counted in these ticks.
const TICK: Duration = Duration::from_millis(10);

/// Runs jobs. Holds the engine (and its ticker thread) and the linker; make one and run
/// many jobs on it, one at a time or from several threads.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<Host>,
    cache: Option<PathBuf>,
    _ticker: Ticker,
}

/// A job checked, compiled and linked, ready to start.
pub struct Prepared {
    pre: InstancePre<Host>,
    hash: JobHash,
    from_cache: bool,
}

impl Prepared {
    pub fn hash(&self) -> JobHash {
        self.hash
    }

    /// Whether the compiled module came from the cache (no compile this time).
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }
}

/// A finished job: its result (wiped on drop: it is derived from personal data), the
/// result's SHA-256 for the provenance record, and the fuel it used.
pub struct Outcome {
    pub result: Zeroizing<Vec<u8>>,
    pub result_sha256: [u8; 32],
    pub fuel_used: u64,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("result_len", &self.result.len())
            .field("result_sha256", &hex::encode(self.result_sha256))
            .field("fuel_used", &self.fuel_used)
            .finish()
    }
}

struct Host {
    wasi: WasiP1Ctx,
    memory: MemoryCap,
}

/// The memory cap, remembering that it tripped.
struct MemoryCap {
    limit: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            wasmtime::bail!("the job's memory cap");
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table element is a pointer or two; a million of them is far more than a
        // compiled program has, and keeps tables out of reach of a memory bomb.
        Ok(desired <= 1 << 20)
    }
}

/// Clocks that read zero: a job cannot tell when it runs, so a re-run is identical.
struct Zero;

impl HostWallClock for Zero {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for Zero {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Advances the engine's epoch every [`TICK`] until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Result<Self, JobError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sandbox-ticker".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| JobError::Host(format!("cannot start the ticker thread: {e}")))?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn host(e: impl fmt::Display) -> JobError {
    JobError::Host(e.to_string())
}

impl Sandbox {
    /// A sandbox whose compiled modules are cached in `cache` (made 0700 if missing), or
    /// compiled on every prepare without one.
    pub fn new(cache: Option<&Path>) -> Result<Self, JobError> {
        let mut config = Config::new();
        config
            // Deterministic instruction metering: a job's cost is the same everywhere.
            .consume_fuel(true)
            // The wall-clock cap, without a check on every instruction.
            .epoch_interruption(true)
            // The rest makes a run reproducible bit for bit: one canonical NaN and
            // relaxed SIMD with its deterministic lowering (threads are not compiled
            // into this wasmtime at all: its `threads` feature is off).
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .wasm_memory64(false);
        let engine = Engine::new(&config).map_err(host)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)
            .map_err(host)?;
        if let Some(dir) = cache {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| host(format!("cannot make the job cache {}: {e}", dir.display())))?;
        }
        Ok(Sandbox {
            _ticker: Ticker::start(engine.clone())?,
            engine,
            linker,
            cache: cache.map(Path::to_path_buf),
        })
    }

    /// Checks the module (wasm, imports only allowed WASI calls, a command), compiles it
    /// or loads it from the cache, and links it.
    pub fn prepare(&self, module: &JobModule) -> Result<Prepared, JobError> {
        check_imports(module.bytes())?;
        let (compiled, from_cache) = self.load_or_compile(module)?;
        let pre = self.linker.instantiate_pre(&compiled).map_err(host)?;
        Ok(Prepared {
            pre,
            hash: module.hash(),
            from_cache,
        })
    }

    fn cache_path(&self, hash: JobHash) -> Option<PathBuf> {
        self.cache
            .as_ref()
            .map(|dir| dir.join(format!("{hash}.cwasm")))
    }

    fn load_or_compile(&self, module: &JobModule) -> Result<(Module, bool), JobError> {
        let path = self.cache_path(module.hash());
        if let Some(path) = &path {
            if let Some(cached) = self.load(path) {
                return Ok((cached, true));
            }
        }
        let compiled = Module::new(&self.engine, module.bytes())
            .map_err(|e| JobError::NotWasm(format!("{e:#}")))?;
        if let Some(path) = &path {
            let bytes = compiled.serialize().map_err(host)?;
            store_atomically(path, &bytes)
                .map_err(|e| host(format!("cannot cache the job in {}: {e}", path.display())))?;
        }
        Ok((compiled, false))
    }

    /// A cached module, if there is one this engine can use. Anything else (missing,
    /// written by another wasmtime or with other settings, damaged) is compiled anew.
    #[allow(unsafe_code)]
    fn load(&self, path: &Path) -> Option<Module> {
        let metadata = fs::symlink_metadata(path).ok()?;
        // Only a file this crate wrote: a regular file nobody else may write.
        if !metadata.is_file() || metadata.permissions().mode() & 0o022 != 0 {
            return None;
        }
        // SAFETY: deserializing runs machine code from the file, so the file must be one
        // that wasmtime serialized. It is: the cache directory is the owner's own (made
        // 0700 above), its files are written only by `store_atomically` from a module
        // this engine compiled, and wasmtime refuses a file from another version or
        // configuration.
        unsafe { Module::deserialize_file(&self.engine, path) }.ok()
    }

    /// Runs a prepared job on `input` (the plaintext), with `args` after the program
    /// name `job` in argv, its random stream seeded by `seed`, under `limits`.
    pub fn run(
        &self,
        prepared: &Prepared,
        input: impl Read + Send + 'static,
        args: &Args,
        seed: [u8; 32],
        limits: &Limits,
    ) -> Result<Outcome, JobError> {
        let stdin = Plaintext::new(input);
        let stdout = ResultSink::new(limits.result_bytes);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdin(stdin.clone())
            .stdout(stdout.clone())
            .arg("job")
            .args(args.as_slice())
            .wall_clock(Zero)
            .monotonic_clock(Zero)
            .secure_random(ChaCha20Rng::from_seed(seed))
            .insecure_random(ChaCha20Rng::from_seed(Sha256::digest(seed).into()))
            .insecure_random_seed(u128::from_le_bytes(seed[..16].try_into().unwrap()))
            .allow_blocking_current_thread(true);
        let memory = MemoryCap {
            limit: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            hit: false,
        };
        let mut store = Store::new(
            &self.engine,
            Host {
                wasi: wasi.build_p1(),
                memory,
            },
        );
        store.limiter(|host| &mut host.memory);
        store.set_fuel(limits.fuel).map_err(host)?;
        let ticks = limits.wall_time.as_nanos().div_ceil(TICK.as_nanos()) + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();

        let ran = prepared
            .pre
            .instantiate(&mut store)
            .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|start| start.call(&mut store, ()));
        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
        let ended = match ran {
            Ok(()) => Ok(()),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                Some(I32Exit(0)) => Ok(()),
                _ => Err(classify(&error, &stdin, &stdout, &store, limits)),
            },
        };
        ended?;
        let result = stdout.take();
        Ok(Outcome {
            result_sha256: Sha256::digest(&result[..]).into(),
            result,
            fuel_used,
        })
    }
}

/// Names why a job ended in an error. The streams and the memory cap remember their own
/// trips, so they come first: their traps are only the messenger.
fn classify(
    error: &wasmtime::Error,
    stdin: &Plaintext,
    stdout: &ResultSink,
    store: &Store<Host>,
    limits: &Limits,
) -> JobError {
    if let Some(failure) = stdin.failure() {
        return JobError::Input(failure);
    }
    if stdout.overflowed() {
        return JobError::ResultTooLarge {
            limit: limits.result_bytes,
        };
    }
    if store.data().memory.hit {
        return JobError::MemoryCap {
            limit: limits.memory_bytes,
        };
    }
    if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        return JobError::Exit(*code);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => JobError::OutOfFuel { limit: limits.fuel },
        Some(Trap::Interrupt) => JobError::WallClock {
            limit: limits.wall_time,
        },
        Some(trap) => JobError::Trap(trap.to_string()),
        None => JobError::Trap(format!("{error:#}")),
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it (0600),
/// synced, then renamed over it.
fn store_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("cwasm.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}
