//! The WASI calls a job may import. Checked on the module's bytes before it is compiled,
//! so that a module asking for more is refused by name rather than failing to link.

use crate::JobError;
use wasmparser::{Parser, Payload, TypeRef};

/// WASI preview 1 calls a job may import: argv, environ (empty), clocks (reading zero),
/// random (seeded), stdio descriptors and exit. Everything else is refused:
/// - `path_*`, `fd_readdir` and the other filesystem calls: a job has no files;
/// - `sock_*`: no network;
/// - `poll_oneoff`: wasmtime implements a relative clock wait as a real sleep of the
///   host thread, outside the reach of the wall-clock cap;
/// - any module other than `wasi_snapshot_preview1`.
pub const ALLOWED_WASI_CALLS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "random_get",
    "fd_read",
    "fd_write",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_filestat_get",
    "fd_seek",
    "fd_tell",
    "fd_sync",
    "fd_datasync",
    "fd_advise",
    // A program's start-up asks for preopened directories; there are none.
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "proc_exit",
    "sched_yield",
];

const WASI: &str = "wasi_snapshot_preview1";

/// Refuses a module that is not wasm, imports anything but [`ALLOWED_WASI_CALLS`], or
/// is not a command.
pub fn check_imports(module: &[u8]) -> Result<(), JobError> {
    let mut has_start = false;
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(|e| JobError::NotWasm(e.to_string()))? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| JobError::NotWasm(e.to_string()))?;
                    let refuse = |why| JobError::ForbiddenImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        why,
                    };
                    if import.module != WASI {
                        return Err(refuse("a job may import only WASI preview 1 calls"));
                    }
                    if !matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        return Err(refuse("a job may import only functions"));
                    }
                    if !ALLOWED_WASI_CALLS.contains(&import.name) {
                        return Err(refuse(why_refused(import.name)));
                    }
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(|e| JobError::NotWasm(e.to_string()))?;
                    has_start |= export.name == "_start";
                }
            }
            _ => {}
        }
    }
    if !has_start {
        return Err(JobError::NotACommand);
    }
    Ok(())
}

fn why_refused(name: &str) -> &'static str {
    if name.starts_with("sock_") {
        "a job has no network"
    } else if name.starts_with("path_") || name.starts_with("fd_") {
        "a job has no files"
    } else if name == "poll_oneoff" {
        "waiting on a clock would sleep past the wall-clock cap"
    } else {
        "not among the WASI calls a job may use"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(imports: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module {imports} (memory (export "memory") 1) (func (export "_start")))"#
        ))
        .unwrap()
    }

    #[test]
    fn allowed_calls_pass_and_others_are_named() {
        check_imports(&module(
            r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        ))
        .unwrap();
        for (import, name) in [
            (
                r#"(import "wasi_snapshot_preview1" "path_open" (func))"#,
                "path_open",
            ),
            (
                r#"(import "wasi_snapshot_preview1" "sock_accept" (func))"#,
                "sock_accept",
            ),
            (
                r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func))"#,
                "poll_oneoff",
            ),
            (r#"(import "env" "exfiltrate" (func))"#, "exfiltrate"),
            (
                r#"(import "wasi_snapshot_preview1" "fd_write" (memory 1))"#,
                "fd_write",
            ),
        ] {
            match check_imports(&module(import)) {
                Err(JobError::ForbiddenImport { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{import}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_module_without_start_is_not_a_command() {
        let reactor = wat::parse_str(r#"(module (func (export "run")))"#).unwrap();
        assert!(matches!(
            check_imports(&reactor),
            Err(JobError::NotACommand)
        ));
    }

    #[test]
    fn bytes_that_are_not_wasm_are_refused() {
        assert!(matches!(
            check_imports(b"#!/bin/sh\nrm -rf /\n"),
            Err(JobError::NotWasm(_))
        ));
    }
}
