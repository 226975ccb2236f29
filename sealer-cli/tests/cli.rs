//! The `sealer` binary from the outside: exact exit codes and messages, files left
//! (or not) behind, and no secret in any output.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const CONTRACT: &str = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";

struct Env {
    dir: tempfile::TempDir,
    /// Every stdout and stderr seen, to check that no secret ever appears.
    seen: Vec<String>,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
            seen: Vec::new(),
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs sealer in the temp dir; returns (exit code, stdout, stderr).
    fn run(&mut self, args: &[&str], stdin: Option<Vec<u8>>) -> (i32, String, String) {
        let mut cmd = Command::cargo_bin("sealer").unwrap();
        cmd.current_dir(self.dir.path()).args(args);
        if let Some(input) = stdin {
            cmd.write_stdin(input);
        }
        let out = cmd.output().unwrap();
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        self.seen.push(o.clone());
        self.seen.push(e.clone());
        (out.status.code().unwrap(), o, e)
    }

    fn ok(&mut self, args: &[&str]) -> String {
        let (code, o, e) = self.run(args, None);
        assert_eq!(code, 0, "{args:?}: {e}");
        o
    }

    fn fails(&mut self, args: &[&str], code: i32, stderr: &str) {
        let (c, _, e) = self.run(args, None);
        assert_eq!((c, e.as_str()), (code, stderr), "{args:?}");
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// The hex of a key file's secret.
    fn secret_hex(&self, name: &str) -> String {
        let text = fs::read_to_string(self.p(name)).unwrap();
        text.trim().rsplit(':').next().unwrap().to_string()
    }

    fn assert_never_printed(&self, secret: &str) {
        assert_eq!(secret.len(), 64);
        for s in &self.seen {
            assert!(
                !s.to_lowercase().contains(secret),
                "a secret was printed: {s}"
            );
        }
    }
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 % 251) as u8).collect()
}

/// A 5-chunk file of 4 KiB chunks, encrypted.
fn encrypted(env: &mut Env) -> Value {
    fs::write(env.p("data.csv"), data(4096 * 4 + 10)).unwrap();
    env.ok(&[
        "encrypt",
        "data.csv",
        "-o",
        "data.dms",
        "--chunk-size",
        "4096",
    ]);
    serde_json::from_str(&fs::read_to_string(env.p("data.dms.manifest.json")).unwrap()).unwrap()
}

#[test]
fn help_is_true() {
    let mut env = Env::new();
    let out = env.ok(&["--help"]);
    for cmd in [
        "keygen",
        "encrypt",
        "decrypt",
        "seal",
        "open",
        "verify",
        "inspect",
        "prove",
        "--threads",
        "Exit status: 0 on success, 1 when a check fails",
    ] {
        assert!(out.contains(cmd), "--help lacks {cmd}");
    }
    for sub in [
        "keygen", "encrypt", "decrypt", "seal", "open", "verify", "inspect", "prove",
    ] {
        env.ok(&[sub, "--help"]);
    }
    // What each writing command replaces and what it refuses.
    for (sub, says) in [
        ("keygen", "refused if it exists"),
        ("encrypt", "an existing key file is refused"),
        ("encrypt", "any output that is the input or another output"),
        (
            "decrypt",
            "an output that is the input, the key or the manifest is refused",
        ),
        ("decrypt", "before the final checks"),
        ("open", "refused if it exists or is the --secret file"),
        ("open", "AES-GCM does not commit to its key"),
        ("verify", "not that the chunks decrypt"),
        ("prove", "replaced if it exists, refused if it is the input"),
    ] {
        let help = env
            .ok(&[sub, "--help"])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(help.contains(says), "{sub} --help lacks {says:?}: {help}");
    }
    let out = env.ok(&["decrypt", "--help"]);
    assert!(
        out.contains("--root <HEX>")
            && out.contains("--key <DEKFILE>")
            && out.contains("--manifest")
    );
}

#[test]
fn usage_errors_exit_2() {
    let mut env = Env::new();
    let (c, _, e) = env.run(&[], None);
    assert_eq!(c, 2, "{e}");
    let (c, _, e) = env.run(&["encrypt", "x", "-o", "y", "--chunk-size", "3000"], None);
    assert_eq!(c, 2);
    assert!(
        e.contains("chunk size 3000 refused: it must be a power of two from 4096 to 262144 bytes"),
        "{e}"
    );
    let (c, _, e) = env.run(&["encrypt", "x", "-o", "y", "--chunk-size", "524288"], None);
    assert_eq!(c, 2, "{e}");
    let (c, _, e) = env.run(
        &["decrypt", "x", "-o", "y", "--key", "k", "--root", "abc"],
        None,
    );
    assert_eq!(c, 2);
    assert!(
        e.contains("malformed content root: expected 64 hex digits"),
        "{e}"
    );
    let (c, _, e) = env.run(&["encrypt", "x", "-o", "-"], None);
    assert_eq!(c, 2);
    assert!(
        e.contains("with -o - or a device, give both --key-out and --manifest"),
        "{e}"
    );
    let (c, _, _) = env.run(&["--threads", "0", "verify", "x", "--root", CONTRACT], None);
    assert_eq!(c, 2);
    let (c, _, _) = env.run(&["frobnicate"], None);
    assert_eq!(c, 2);
}

#[test]
fn encrypt_decrypt_verify_prove_inspect() {
    let mut env = Env::new();
    let m = encrypted(&mut env);
    assert_eq!(mode(&env.p("data.dms.key")), 0o600);
    assert_eq!(m["chunk_size"], 4096);
    assert_eq!(m["plaintext_len"], 4096 * 4 + 10);
    assert_eq!(m["chunk_count"], 5);
    assert_eq!(
        m["ciphertext_len"],
        fs::metadata(env.p("data.dms")).unwrap().len()
    );
    let root = m["content_root"].as_str().unwrap().to_string();
    let commitment = m["key_commitment"].as_str().unwrap().to_string();
    assert_eq!(root.len(), 64);

    for threads in ["1", "2", "3"] {
        let out = format!("plain-{threads}.csv");
        env.ok(&[
            "--threads",
            threads,
            "decrypt",
            "data.dms",
            "-o",
            &out,
            "--key",
            "data.dms.key",
            "--root",
            &root,
        ]);
        assert_eq!(fs::read(env.p(&out)).unwrap(), data(4096 * 4 + 10));
    }
    env.ok(&[
        "decrypt",
        "data.dms",
        "-o",
        "plain-m.csv",
        "--key",
        "data.dms.key",
        "--manifest",
        "data.dms.manifest.json",
    ]);
    env.ok(&[
        "decrypt",
        "data.dms",
        "-o",
        "plain-n.csv",
        "--key",
        "data.dms.key",
    ]);
    assert_eq!(fs::read(env.p("plain-n.csv")).unwrap(), data(4096 * 4 + 10));

    // A device is written to, never replaced by a renamed file.
    env.ok(&[
        "decrypt",
        "data.dms",
        "-o",
        "/dev/null",
        "--key",
        "data.dms.key",
        "--root",
        &root,
    ]);
    assert!(!fs::metadata("/dev/null").unwrap().is_file());

    let out = env.ok(&["verify", "data.dms", "--root", &root]);
    assert_eq!(out, format!("ok: 5 chunks match content root {root}\n"));

    env.ok(&["prove", "data.dms", "--chunk", "3", "-o", "proof.json"]);
    let proof: Value =
        serde_json::from_str(&fs::read_to_string(env.p("proof.json")).unwrap()).unwrap();
    assert_eq!(proof["index"], 3);
    assert_eq!(proof["content_root"], root.as_str());
    let out = env.ok(&["verify", "--proof", "proof.json", "--root", &root]);
    assert_eq!(out, format!("ok: chunk 3 belongs to content root {root}\n"));
    // A proof of another chunk's bytes fails.
    let mut bad = proof.clone();
    bad["index"] = 2.into();
    fs::write(env.p("bad.json"), bad.to_string()).unwrap();
    env.fails(
        &["verify", "--proof", "bad.json", "--root", &root],
        1,
        "error: chunk proof for chunk 2 does not match the content root\n",
    );
    // Proving a chunk past the end.
    env.fails(
        &["prove", "data.dms", "--chunk", "5"],
        1,
        "error: malformed chunk proof: chunk index out of range\n",
    );

    let out = env.ok(&["inspect", "data.dms"]);
    let h: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            h["chunk_count"].as_u64(),
            h["plaintext_len"].as_u64(),
            h["header"].as_str()
        ),
        (Some(5), Some(16394), m["header"].as_str())
    );
    let out = env.ok(&["inspect", "data.dms.manifest.json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), m);
    env.fails(
        &["inspect", "data.csv"],
        1,
        "error: neither a ciphertext nor a manifest: bad magic: not a Datamarket ciphertext\n",
    );

    // The DEK never appears in any output; the commitment is not the key.
    let dek = env.secret_hex("data.dms.key");
    assert_ne!(dek, commitment);
    env.assert_never_printed(&dek);
}

#[test]
fn failed_checks_exit_1_and_leave_no_output() {
    let mut env = Env::new();
    let m = encrypted(&mut env);
    let root = m["content_root"].as_str().unwrap().to_string();
    let ct = fs::read(env.p("data.dms")).unwrap();
    let before = env.names();

    let mut t = ct.clone();
    t[26 + 3 * (4096 + 16) + 100] ^= 1;
    fs::write(env.p("tampered.dms"), &t).unwrap();
    env.fails(
        &[
            "decrypt",
            "tampered.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: chunk 3 failed authentication\n",
    );
    env.fails(
        &[
            "decrypt",
            "tampered.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
            "--root",
            &root,
        ],
        1,
        "error: chunk 3 failed authentication\n",
    );
    env.fails(
        &["verify", "tampered.dms", "--root", &root],
        1,
        "error: content root mismatch: the ciphertext is not the one committed to\n",
    );

    fs::write(env.p("short.dms"), &ct[..26 + 2 * (4096 + 16) + 5]).unwrap();
    env.fails(
        &[
            "decrypt",
            "short.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: truncated after chunk 2 of 5: the ciphertext ended early\n",
    );

    let mut long = ct.clone();
    long.push(0);
    fs::write(env.p("long.dms"), &long).unwrap();
    env.fails(
        &[
            "decrypt",
            "long.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: trailing data after the final chunk\n",
    );

    let mut other = root.clone().into_bytes();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    let other = String::from_utf8(other).unwrap();
    env.fails(
        &[
            "decrypt",
            "data.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
            "--root",
            &other,
        ],
        1,
        "error: content root mismatch: the ciphertext is not the one committed to\n",
    );

    let mut h = ct.clone();
    h[20] ^= 1;
    fs::write(env.p("header.dms"), &h).unwrap();
    env.fails(
        &[
            "decrypt",
            "header.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
            "--manifest",
            "data.dms.manifest.json",
        ],
        1,
        "error: header tampered: it differs from the expected header\n",
    );
    env.fails(
        &[
            "decrypt",
            "header.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: chunk 0 failed authentication\n",
    );
    h[6] = 9;
    fs::write(env.p("header.dms"), &h).unwrap();
    env.fails(
        &[
            "decrypt",
            "header.dms",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: unsupported format version 9 (this sealer reads version 1)\n",
    );
    env.fails(
        &[
            "decrypt",
            "data.csv",
            "-o",
            "out.csv",
            "--key",
            "data.dms.key",
        ],
        1,
        "error: bad magic: not a Datamarket ciphertext\n",
    );

    // Wrong DEK: another encryption's key, with and without the manifest.
    fs::write(env.p("other.csv"), b"x").unwrap();
    env.ok(&["encrypt", "other.csv", "-o", "other.dms"]);
    env.fails(
        &[
            "decrypt",
            "data.dms",
            "-o",
            "out.csv",
            "--key",
            "other.dms.key",
        ],
        1,
        "error: chunk 0 failed authentication\n",
    );
    env.fails(
        &[
            "decrypt",
            "data.dms",
            "-o",
            "out.csv",
            "--key",
            "other.dms.key",
            "--manifest",
            "data.dms.manifest.json",
        ],
        1,
        "error: wrong key commitment: the data key does not match the offer\n",
    );

    // Key file readable by others.
    fs::copy(env.p("data.dms.key"), env.p("open.key")).unwrap();
    fs::set_permissions(env.p("open.key"), fs::Permissions::from_mode(0o644)).unwrap();
    env.fails(&["decrypt", "data.dms", "-o", "out.csv", "--key", "open.key"], 1, "error: refusing to read secret key file open.key: mode 644 lets group or others read it (chmod 600)\n");

    let mut after = env.names();
    after.retain(|n| {
        ![
            "tampered.dms",
            "short.dms",
            "long.dms",
            "header.dms",
            "other.csv",
            "other.dms",
            "other.dms.key",
            "other.dms.manifest.json",
            "open.key",
        ]
        .contains(&n.as_str())
    });
    assert_eq!(after, before, "a failed decrypt left a file behind");
    env.assert_never_printed(&env.secret_hex("data.dms.key"));
    env.assert_never_printed(&env.secret_hex("other.dms.key"));
}

#[test]
fn keys_seal_open() {
    let mut env = Env::new();
    let m = encrypted(&mut env);
    let commitment = m["key_commitment"].as_str().unwrap().to_string();
    let pk = env.ok(&["keygen", "-o", "buyer.key"]);
    assert_eq!(mode(&env.p("buyer.key")), 0o600);
    let pk = pk.trim().to_string();
    assert_eq!(pk.len(), 64);
    env.fails(&["keygen", "-o", "buyer.key"], 2, &format!("error: {} already exists; refusing to overwrite it\n\nUsage: sealer [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n", "buyer.key"));

    let ctx = ["--contract", CONTRACT, "--offer", "7", "--purchase", "42"];
    let mut args = vec!["seal", "--key", "data.dms.key", "--to", &pk];
    args.extend(ctx);
    let env_hex = env.ok(&args).trim().to_string();
    assert_eq!(env_hex.len(), 160);

    let mut open = vec![
        "open",
        &env_hex,
        "--secret",
        "buyer.key",
        "-o",
        "got.key",
        "--commitment",
        &commitment,
    ];
    open.extend(ctx);
    env.ok(&open);
    assert_eq!(mode(&env.p("got.key")), 0o600);
    assert_eq!(
        fs::read(env.p("got.key")).unwrap(),
        fs::read(env.p("data.dms.key")).unwrap()
    );
    env.ok(&[
        "decrypt",
        "data.dms",
        "-o",
        "plain.csv",
        "--key",
        "got.key",
        "--manifest",
        "data.dms.manifest.json",
    ]);

    // Wrong context, each field.
    for (flag, value) in [
        ("--offer", "8"),
        ("--purchase", "43"),
        ("--contract", &"00".repeat(32)),
    ] {
        let mut a: Vec<&str> = vec![
            "open",
            &env_hex,
            "--secret",
            "buyer.key",
            "-o",
            "wrong.key",
            "--commitment",
            &commitment,
        ];
        let mut c = ctx.to_vec();
        let i = c.iter().position(|x| *x == flag).unwrap();
        c[i + 1] = value;
        a.extend(c);
        env.fails(
            &a,
            1,
            "error: envelope does not open (wrong buyer key or wrong context)\n",
        );
    }
    // Wrong buyer key.
    env.ok(&["keygen", "-o", "other.key"]);
    let mut a = vec![
        "open",
        &env_hex,
        "--secret",
        "other.key",
        "-o",
        "wrong.key",
        "--commitment",
        &commitment,
    ];
    a.extend(ctx);
    env.fails(
        &a,
        1,
        "error: envelope does not open (wrong buyer key or wrong context)\n",
    );
    // No commitment: refused unless the buyer opts out, which warns.
    let mut a = vec![
        "open",
        &env_hex,
        "--secret",
        "buyer.key",
        "-o",
        "unchecked.key",
    ];
    a.extend(ctx);
    let (code, _, e) = env.run(&a, None);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("--commitment <HEX>"), "{e}");
    assert!(!env.p("unchecked.key").exists());
    a.push("--no-commitment-check");
    let (code, _, e) = env.run(&a, None);
    assert_eq!(code, 0, "{e}");
    assert!(e.contains("warning: the data key was not checked"), "{e}");
    assert_eq!(
        fs::read(env.p("unchecked.key")).unwrap(),
        fs::read(env.p("data.dms.key")).unwrap()
    );
    // Wrong commitment: the key opens, but is not the offer's.
    let wrong_commitment = "ab".repeat(32);
    let mut a = vec![
        "open",
        &env_hex,
        "--secret",
        "buyer.key",
        "-o",
        "wrong.key",
        "--commitment",
        &wrong_commitment,
    ];
    a.extend(ctx);
    env.fails(
        &a,
        1,
        "error: wrong key commitment: the data key does not match the offer\n",
    );
    assert!(!env.p("wrong.key").exists());
    // Low-order buyer key.
    let zero = "00".repeat(32);
    let mut a = vec!["seal", "--key", "data.dms.key", "--to", &zero];
    a.extend(ctx);
    // Refused as it is parsed (exit 2): a key no purchase may name.
    env.fails(
        &a,
        2,
        &format!("error: invalid value '{zero}' for '--to <HEX>': buyer public key refused: an X25519 point of small order: nothing can be sealed to it\n\nFor more information, try '--help'.\n"),
    );
    // A non-canonical encoding of a valid key (the top bit set) too.
    let mut flipped = hex::decode(&pk).unwrap();
    flipped[31] |= 0x80;
    let flipped = hex::encode(flipped);
    let mut a = vec!["seal", "--key", "data.dms.key", "--to", &flipped];
    a.extend(ctx);
    let (code, _, e) = env.run(&a, None);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("not a canonical X25519 public key"), "{e}");
    // A buyer secret readable by others.
    fs::set_permissions(env.p("buyer.key"), fs::Permissions::from_mode(0o640)).unwrap();
    let mut a = vec![
        "open",
        &env_hex,
        "--secret",
        "buyer.key",
        "-o",
        "x.key",
        "--commitment",
        &commitment,
    ];
    a.extend(ctx);
    env.fails(&a, 1, "error: refusing to read secret key file buyer.key: mode 640 lets group or others read it (chmod 600)\n");

    env.assert_never_printed(&env.secret_hex("data.dms.key"));
    env.assert_never_printed(&env.secret_hex("buyer.key"));
    env.assert_never_printed(&env.secret_hex("other.key"));
}

#[test]
fn stdin_and_stdout() {
    let mut env = Env::new();
    let pt = data(70_000);
    let (c, ct, e) = {
        let mut cmd = Command::cargo_bin("sealer").unwrap();
        let out = cmd
            .current_dir(env.dir.path())
            .args([
                "encrypt",
                "-",
                "-o",
                "-",
                "--key-out",
                "k",
                "--manifest",
                "m.json",
            ])
            .write_stdin(pt.clone())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            out.stdout,
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    assert_eq!(c, 0, "{e}");
    assert!(ct.starts_with(b"DMSEAL\x01"));
    Command::cargo_bin("sealer")
        .unwrap()
        .current_dir(env.dir.path())
        .args([
            "decrypt",
            "-",
            "-o",
            "-",
            "--key",
            "k",
            "--manifest",
            "m.json",
        ])
        .write_stdin(ct.clone())
        .assert()
        .code(0)
        .stdout(predicate::eq(pt.clone()));
    let root = serde_json::from_str::<Value>(&fs::read_to_string(env.p("m.json")).unwrap())
        .unwrap()["content_root"]
        .as_str()
        .unwrap()
        .to_string();
    let (c, o, _) = env.run(&["verify", "-", "--root", &root], Some(ct.clone()));
    assert_eq!(
        (c, o),
        (0, format!("ok: 2 chunks match content root {root}\n"))
    );
    let (c, _, e) = env.run(
        &["verify", "-", "--root", &root],
        Some(ct[..ct.len() - 1].to_vec()),
    );
    assert_eq!(
        (c, e.as_str()),
        (
            1,
            "error: truncated after chunk 1 of 2: the ciphertext ended early\n"
        )
    );
    env.assert_never_printed(&env.secret_hex("k"));
}

/// Runs a command that must be refused because two of its files are one: exit 2, the
/// two flags named, and nothing written or changed.
fn refused_as_same_file(env: &mut Env, args: &[&str], a: &str, b: &str) {
    // Every file of the directory with its bytes.
    let files = |env: &Env| -> Vec<(String, Vec<u8>)> {
        env.names()
            .into_iter()
            .map(|n| {
                let bytes = fs::read(env.p(&n)).unwrap();
                (n, bytes)
            })
            .collect()
    };
    let before = files(env);
    let (code, _, e) = env.run(args, None);
    assert_eq!(code, 2, "{args:?}: {e}");
    assert!(
        e.contains(&format!("{a} and {b} are the same file"))
            && e.contains("refusing to write anything"),
        "{args:?}: {e}"
    );
    assert!(before == files(env), "{args:?} wrote or changed a file");
}

#[test]
fn no_command_writes_over_its_own_input_or_another_output() {
    let mut env = Env::new();
    fs::write(env.p("data.csv"), data(4096 * 2 + 5)).unwrap();
    fs::hard_link(env.p("data.csv"), env.p("alias.csv")).unwrap();
    std::os::unix::fs::symlink("data.csv", env.p("link.csv")).unwrap();

    // The data key onto the ciphertext it opens: the case that lost a dataset for good.
    let encrypt = |rest: &[&'static str]| {
        let mut args = vec!["encrypt", "data.csv", "--chunk-size", "4096"];
        args.extend_from_slice(rest);
        args
    };
    for (rest, a, b) in [
        (
            &["-o", "out.dms", "--key-out", "out.dms"][..],
            "--output",
            "--key-out",
        ),
        (&["-o", "data.csv"][..], "INPUT", "--output"),
        (&["-o", "alias.csv"][..], "INPUT", "--output"),
        (&["-o", "link.csv"][..], "INPUT", "--output"),
        (
            &["-o", "out.dms", "--key-out", "data.csv"][..],
            "INPUT",
            "--key-out",
        ),
        (
            &["-o", "out.dms", "--manifest", "./out.dms"][..],
            "--output",
            "--manifest",
        ),
        (
            &["-o", "out.dms", "--key-out", "k", "--manifest", "k"][..],
            "--key-out",
            "--manifest",
        ),
    ] {
        refused_as_same_file(&mut env, &encrypt(rest), a, b);
    }

    // Distinct files work; then decrypt onto its own key, input or manifest.
    env.ok(&encrypt(&["-o", "out.dms"]));
    let decrypt = |rest: &[&'static str]| {
        let mut args = vec!["decrypt", "out.dms", "--key", "out.dms.key"];
        args.extend_from_slice(rest);
        args
    };
    for (rest, a, b) in [
        (&["-o", "out.dms.key"][..], "--output", "--key"),
        (&["-o", "out.dms"][..], "--output", "INPUT"),
        (
            &[
                "-o",
                "out.dms.manifest.json",
                "--manifest",
                "out.dms.manifest.json",
            ][..],
            "--output",
            "--manifest",
        ),
    ] {
        refused_as_same_file(&mut env, &decrypt(rest), a, b);
    }
    env.ok(&decrypt(&["-o", "plain.csv"]));
    assert_eq!(
        fs::read(env.p("plain.csv")).unwrap(),
        fs::read(env.p("data.csv")).unwrap()
    );

    // A proof onto the ciphertext it proves; an opened key onto the buyer's secret.
    refused_as_same_file(
        &mut env,
        &["prove", "out.dms", "--chunk", "0", "-o", "out.dms"],
        "INPUT",
        "--output",
    );
    let pk = env.ok(&["keygen", "-o", "buyer.key"]).trim().to_string();
    let ctx = ["--contract", CONTRACT, "--offer", "7", "--purchase", "42"];
    let mut seal = vec!["seal", "--key", "out.dms.key", "--to", &pk];
    seal.extend(ctx);
    let envelope = env.ok(&seal).trim().to_string();
    let mut open = vec![
        "open",
        &envelope,
        "--secret",
        "buyer.key",
        "-o",
        "buyer.key",
        "--no-commitment-check",
    ];
    open.extend(ctx);
    refused_as_same_file(&mut env, &open, "--secret", "--output");
}

/// A manifest written to a FIFO (or a device) goes through it; a rename over it would
/// replace the node itself (run as root, `--manifest /dev/null` once turned /dev/null
/// into a regular file).
#[test]
fn a_manifest_onto_a_fifo_is_written_through_it() {
    let mut env = Env::new();
    fs::write(env.p("data.csv"), data(5000)).unwrap();
    let fifo = env.p("manifest.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    env.ok(&[
        "encrypt",
        "data.csv",
        "-o",
        "out.dms",
        "--manifest",
        "manifest.fifo",
    ]);
    // Checked before joining: had the FIFO been renamed over, the reader would wait for
    // a writer forever.
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let manifest: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(manifest["plaintext_len"], 5000);
}
