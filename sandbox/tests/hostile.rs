//! Jobs that try to hurt the host or get out: each is refused, or stopped by its own cap,
//! with its own error, and the same sandbox then runs an honest job as if nothing had
//! happened. The modules are written in WebAssembly text so that each does exactly one
//! bad thing.

use datamarket_sandbox::{Args, Feed, JobError, JobHash, JobModule, Limits, Sandbox};
use std::time::{Duration, Instant};

const WASI: &str = "wasi_snapshot_preview1";

/// `cat`: copies stdin to stdout, looping over short reads and short writes.
fn cat() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (import "{WASI}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "{WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $off i32) (local $left i32)
    (block $eof
      (loop $next
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
          (then unreachable))
        (br_if $eof (i32.eqz (i32.load (i32.const 16))))
        (local.set $off (i32.const 1024))
        (local.set $left (i32.load (i32.const 16)))
        (loop $write
          (i32.store (i32.const 32) (local.get $off))
          (i32.store (i32.const 36) (local.get $left))
          (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48))
            (then unreachable))
          (local.set $off (i32.add (local.get $off) (i32.load (i32.const 48))))
          (local.set $left (i32.sub (local.get $left) (i32.load (i32.const 48))))
          (br_if $write (local.get $left)))
        (br $next))))
)"#
    ))
    .unwrap()
}

fn command(body: &str, imports: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {imports} (memory (export "memory") 1) (func (export "_start") {body}))"#
    ))
    .unwrap()
}

fn limits() -> Limits {
    Limits {
        fuel: 2_000_000_000,
        memory_bytes: 16 << 20,
        wall_time: Duration::from_secs(60),
        result_bytes: 1 << 20,
    }
}

fn run(
    sandbox: &Sandbox,
    module: Vec<u8>,
    input: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, JobError> {
    let prepared = sandbox.prepare(&JobModule::new(module))?;
    let outcome = sandbox.run(
        &prepared,
        std::io::Cursor::new(input.to_vec()),
        &Args::default(),
        [1; 32],
        limits,
    )?;
    Ok(outcome.result.to_vec())
}

/// After each hostile job: the sandbox still runs an honest one, exactly.
fn still_works(sandbox: &Sandbox) {
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(run(sandbox, cat(), &input, &limits()).unwrap(), input);
}

#[test]
fn an_honest_job_streams_its_input_to_its_result() {
    let sandbox = Sandbox::new(None).unwrap();
    still_works(&sandbox);
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let sandbox = Sandbox::new(None).unwrap();
    let err = run(&sandbox, command("(loop (br 0))", ""), b"", &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            JobError::OutOfFuel {
                limit: 2_000_000_000
            }
        ),
        "{err:?}"
    );
    still_works(&sandbox);
}

#[test]
fn an_infinite_loop_with_fuel_to_spare_is_stopped_by_the_wall_clock() {
    let sandbox = Sandbox::new(None).unwrap();
    let caps = Limits {
        fuel: u64::MAX,
        wall_time: Duration::from_millis(300),
        ..limits()
    };
    let started = Instant::now();
    let err = run(&sandbox, command("(loop (br 0))", ""), b"", &caps).unwrap_err();
    assert!(matches!(err, JobError::WallClock { .. }), "{err:?}");
    // Stopped near its cap (a tick is 10 ms), not long after.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    still_works(&sandbox);
}

#[test]
fn a_memory_bomb_hits_the_memory_cap() {
    let sandbox = Sandbox::new(None).unwrap();
    // Grows by 1 MiB until refused, then keeps going: a well-behaved program would stop
    // at the -1, a bomb does not get the chance.
    let bomb = command("(loop (drop (memory.grow (i32.const 16))) (br 0))", "");
    let err = run(&sandbox, bomb, b"", &limits()).unwrap_err();
    assert!(
        matches!(err, JobError::MemoryCap { limit } if limit == 16 << 20),
        "{err:?}"
    );
    // Asking for it all up front is refused the same way.
    let greedy =
        wat::parse_str(r#"(module (memory (export "memory") 1024) (func (export "_start")))"#)
            .unwrap();
    let err = run(&sandbox, greedy, b"", &limits()).unwrap_err();
    assert!(matches!(err, JobError::MemoryCap { .. }), "{err:?}");
    still_works(&sandbox);
}

#[test]
fn an_output_flood_hits_the_result_cap() {
    let sandbox = Sandbox::new(None).unwrap();
    let flood = command(
        "(i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 32768))
         (loop (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))) (br 0))",
        &format!(r#"(import "{WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#),
    );
    let err = run(&sandbox, flood, b"", &limits()).unwrap_err();
    assert!(
        matches!(err, JobError::ResultTooLarge { limit } if limit == 1 << 20),
        "{err:?}"
    );
    still_works(&sandbox);
}

#[test]
fn opening_a_file_or_a_socket_is_refused_by_name() {
    let sandbox = Sandbox::new(None).unwrap();
    for (call, signature) in [
        (
            "path_open",
            "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
        ),
        ("fd_readdir", "(param i32 i32 i32 i64 i32) (result i32)"),
        ("sock_accept", "(param i32 i32 i32) (result i32)"),
        ("sock_recv", "(param i32 i32 i32 i32 i32 i32) (result i32)"),
        ("poll_oneoff", "(param i32 i32 i32 i32) (result i32)"),
    ] {
        let module = command(
            "",
            &format!(r#"(import "{WASI}" "{call}" (func {signature}))"#),
        );
        match run(&sandbox, module, b"", &limits()) {
            Err(JobError::ForbiddenImport { name, .. }) => assert_eq!(name, call),
            other => panic!("{call}: {other:?}"),
        }
    }
    still_works(&sandbox);
}

#[test]
fn there_is_no_file_to_find_even_by_guessing_descriptors() {
    // With only allowed calls: ask for a preopened directory at descriptor 3, and exit
    // with the errno that comes back (EBADF is 8 in WASI).
    let sandbox = Sandbox::new(None).unwrap();
    let module = command(
        "(call $exit (call $prestat (i32.const 3) (i32.const 0)))",
        &format!(
            r#"(import "{WASI}" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
               (import "{WASI}" "proc_exit" (func $exit (param i32)))"#
        ),
    );
    let err = run(&sandbox, module, b"", &limits()).unwrap_err();
    assert!(matches!(err, JobError::Exit(8)), "{err:?}");
}

#[test]
fn an_import_beyond_wasi_is_refused() {
    let sandbox = Sandbox::new(None).unwrap();
    let module = command(
        "",
        r#"(import "env" "read_host_memory" (func (param i32) (result i32)))"#,
    );
    match run(&sandbox, module, b"", &limits()) {
        Err(JobError::ForbiddenImport { module, name, .. }) => {
            assert_eq!(
                (module.as_str(), name.as_str()),
                ("env", "read_host_memory")
            )
        }
        other => panic!("{other:?}"),
    }
    still_works(&sandbox);
}

#[test]
fn a_module_that_is_not_wasm_is_refused() {
    let sandbox = Sandbox::new(None).unwrap();
    for bytes in [
        b"\x7fELF\x02\x01\x01".to_vec(),
        b"\0asm\x01\0\0\0\x01\xff".to_vec(),
        Vec::new(),
    ] {
        let err = run(&sandbox, bytes, b"", &limits()).unwrap_err();
        assert!(
            matches!(err, JobError::NotWasm(_) | JobError::NotACommand),
            "{err:?}"
        );
    }
    let err = run(&sandbox, b"\x7fELF\x02\x01\x01".to_vec(), b"", &limits()).unwrap_err();
    assert!(matches!(err, JobError::NotWasm(_)), "{err:?}");
    still_works(&sandbox);
}

#[test]
fn a_module_whose_hash_is_not_the_one_bought_never_runs() {
    let bought = JobHash::of(&cat());
    let swapped = command("unreachable", "");
    let err = JobModule::bought(swapped, bought).err().unwrap();
    assert!(
        matches!(err, JobError::HashMismatch { expected, .. } if expected == bought),
        "{err:?}"
    );
    assert!(JobModule::bought(cat(), bought).is_ok());
}

#[test]
fn a_trap_is_reported_as_a_trap() {
    let sandbox = Sandbox::new(None).unwrap();
    let err = run(&sandbox, command("unreachable", ""), b"", &limits()).unwrap_err();
    assert!(
        matches!(&err, JobError::Trap(message) if message.contains("unreachable")),
        "{err:?}"
    );
    still_works(&sandbox);
}

#[test]
fn a_failing_input_ends_the_job_with_an_input_error_and_no_result() {
    // The producer (a decryptor, in the CLI) writes a good first part, then finds a
    // chunk that does not authenticate: cat has already copied the first part to its
    // result, and still no result comes out.
    let sandbox = Sandbox::new(None).unwrap();
    let prepared = sandbox.prepare(&JobModule::new(cat())).unwrap();
    let feed = Feed::spawn(|pipe| {
        use std::io::Write;
        pipe.write_all(&[7u8; 100_000]).map_err(|e| e.to_string())?;
        Err::<(), _>("chunk 1 does not authenticate".to_string())
    })
    .unwrap();
    let err = sandbox
        .run(&prepared, feed, &Args::default(), [1; 32], &limits())
        .unwrap_err();
    assert!(
        matches!(&err, JobError::Input(why) if why.contains("chunk 1")),
        "{err:?}"
    );

    // The same feed that ends well is read to its end.
    let feed = Feed::spawn(|pipe| {
        use std::io::Write;
        pipe.write_all(&[7u8; 100_000])
    })
    .unwrap();
    let outcome = sandbox
        .run(&prepared, feed, &Args::default(), [1; 32], &limits())
        .unwrap();
    assert_eq!(&outcome.result[..], &[7u8; 100_000][..]);
}

#[test]
fn clocks_read_zero_and_randomness_follows_the_seed() {
    // Writes 8 bytes of clock_time_get (monotonic) and 8 of wall time, then 32 of
    // random_get.
    let module = command(
        "(drop (call $time (i32.const 1) (i64.const 1) (i32.const 104)))
         (drop (call $time (i32.const 0) (i64.const 1) (i32.const 112)))
         (drop (call $random (i32.const 120) (i32.const 32)))
         (i32.store (i32.const 0) (i32.const 104)) (i32.store (i32.const 4) (i32.const 48))
         (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))",
        &format!(
            r#"(import "{WASI}" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))
               (import "{WASI}" "random_get" (func $random (param i32 i32) (result i32)))
               (import "{WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#
        ),
    );
    let sandbox = Sandbox::new(None).unwrap();
    let prepared = sandbox.prepare(&JobModule::new(module)).unwrap();
    let run = |seed: [u8; 32]| {
        let outcome = sandbox
            .run(
                &prepared,
                std::io::empty(),
                &Args::default(),
                seed,
                &limits(),
            )
            .unwrap();
        (
            outcome.result.to_vec(),
            outcome.result_sha256,
            outcome.fuel_used,
        )
    };
    let (first, hash, fuel) = run([1; 32]);
    assert_eq!(first.len(), 48);
    assert_eq!(&first[..16], &[0u8; 16], "the clocks read zero");
    assert_ne!(&first[16..], &[0u8; 32][..], "random bytes are not zero");
    assert_eq!(
        run([1; 32]),
        (first.clone(), hash, fuel),
        "a re-run is identical, fuel included"
    );
    assert_ne!(
        run([2; 32]).0[16..],
        first[16..],
        "another purchase, other random bytes"
    );
}

#[test]
fn a_compiled_job_is_cached_by_its_hash() {
    let cache = tempfile::tempdir().unwrap();
    let module = JobModule::new(cat());
    {
        let sandbox = Sandbox::new(Some(cache.path())).unwrap();
        assert!(!sandbox.prepare(&module).unwrap().from_cache());
        assert!(sandbox.prepare(&module).unwrap().from_cache());
    }
    let cached = cache.path().join(format!("{}.cwasm", module.hash()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cached).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A new sandbox (a restart) loads it, and it runs.
    let sandbox = Sandbox::new(Some(cache.path())).unwrap();
    assert!(sandbox.prepare(&module).unwrap().from_cache());
    still_works(&sandbox);
    // A damaged cache file is compiled anew, not run.
    std::fs::write(&cached, b"not a compiled module").unwrap();
    std::fs::set_permissions(&cached, std::fs::Permissions::from_mode(0o600)).unwrap();
    let prepared = sandbox.prepare(&module).unwrap();
    assert!(!prepared.from_cache());
    assert!(sandbox.prepare(&module).unwrap().from_cache());
}

/// Hands out its data a few bytes at a time, as a pipe does when its writer is slow.
struct Dribble {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl std::io::Read for Dribble {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_rerun_burns_the_same_fuel_however_the_input_arrives() {
    // The job's reads must not depend on how the host's reader splits the data, or a
    // re-run of the same job on the same dataset would not be the same run.
    let sandbox = Sandbox::new(None).unwrap();
    let prepared = sandbox.prepare(&JobModule::new(cat())).unwrap();
    let input: Vec<u8> = (0..150_000u32).map(|i| (i % 13) as u8).collect();
    let whole = sandbox
        .run(
            &prepared,
            std::io::Cursor::new(input.clone()),
            &Args::default(),
            [1; 32],
            &limits(),
        )
        .unwrap();
    let dribbled = Dribble {
        data: input.clone(),
        at: 0,
        step: 0,
    };
    let split = sandbox
        .run(&prepared, dribbled, &Args::default(), [1; 32], &limits())
        .unwrap();
    assert_eq!(&split.result[..], &input[..]);
    assert_eq!(split.result_sha256, whole.result_sha256);
    assert_eq!(split.fuel_used, whole.fuel_used);
}
