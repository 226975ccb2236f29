//! `sealer`: encrypt datasets, seal their keys to buyers, verify and prove chunks.
//!
//! A thin binary: it parses arguments, opens files, calls the library and maps errors
//! to exit codes (0 success, 1 a failed check or error, 2 a usage error).

#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use sealer::keyfile::{read_buyer_secret, read_data_key, write_buyer_secret, write_data_key};
use sealer::{
    BuyerPublicKey, BuyerSecretKey, ChunkProof, ChunkSize, ContentRoot, DataKey, Decryptor,
    Encryptor, EnvelopeContext, Header, KeyCommitment, KeyOpener, KeySealer, Manifest,
    SealedEnvelope,
};

/// Files at least this large get a progress bar (on a terminal only).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

#[derive(Parser)]
#[command(
    name = "sealer",
    version,
    about = "Encrypt datasets for the Datamarket (format v1), seal their keys to buyers, verify and prove chunks.",
    after_help = "Exit status: 0 on success, 1 when a check fails (or on an I/O error), 2 on a usage error.\n\
                  Use - for standard input or output where a file is expected."
)]
struct Cli {
    /// Worker threads for encryption, decryption and hashing [default: all cores].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a per-purchase X25519 key pair: the secret goes to a new 0600 file, the
    /// public key (hex) is printed.
    Keygen {
        /// Where to write the secret key (0600); refused if it exists.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Encrypt a file under a fresh data key. Writes the ciphertext, the data key
    /// (a new 0600 file) and a JSON manifest (content_root, key_commitment, sizes).
    /// The ciphertext and the manifest are replaced if they exist; an existing key file
    /// is refused, and so is any output that is the input or another output (nothing is
    /// written then).
    Encrypt {
        /// Plaintext file, or - for standard input (spooled to a temporary file first:
        /// the header needs the length).
        input: PathBuf,
        /// Ciphertext file, or - for standard output.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Data key file to create [default: OUT.key].
        #[arg(long, value_name = "FILE")]
        key_out: Option<PathBuf>,
        /// Manifest file to write [default: OUT.manifest.json].
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// Chunk size in bytes: a power of two from 4096 to 262144.
        #[arg(long, value_name = "BYTES", default_value_t = 65536, value_parser = parse_chunk_size)]
        chunk_size: u32,
    },
    /// Decrypt a ciphertext. The output file appears (or is replaced) only if every check
    /// passed; an output that is the input, the key or the manifest is refused.
    Decrypt {
        /// Ciphertext file, or - for standard input.
        input: PathBuf,
        /// Plaintext file, or - for standard output. A file appears only after every
        /// check passed; standard output, a device or a FIFO is written as chunks
        /// authenticate, before the final checks (trailing data, content root), so
        /// discard what it got on a non-zero exit.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Data key file.
        #[arg(long, value_name = "DEKFILE")]
        key: PathBuf,
        /// Also hash every chunk and require this content root (hex).
        #[arg(long, value_name = "HEX", value_parser = parse_root)]
        root: Option<ContentRoot>,
        /// Require the header, content root and key commitment of this manifest.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
    /// Seal a data key to a buyer's public key for one purchase; prints the 80-byte
    /// envelope as hex.
    Seal {
        /// Data key file.
        #[arg(long, value_name = "DEKFILE")]
        key: PathBuf,
        /// The buyer's X25519 public key for this purchase (hex).
        #[arg(long, value_name = "HEX", value_parser = parse_buyer_pk)]
        to: BuyerPublicKey,
        #[command(flatten)]
        context: ContextArgs,
    },
    /// Open an envelope with the buyer's secret key; writes the data key to a new 0600 file.
    Open {
        /// The envelope (160 hex digits).
        #[arg(value_name = "ENVELOPE", value_parser = parse_envelope)]
        envelope: SealedEnvelope,
        /// The buyer's secret key file (from `sealer keygen`).
        #[arg(long, value_name = "FILE")]
        secret: PathBuf,
        /// Data key file to create (0600); refused if it exists or is the --secret file.
        #[arg(short, long, value_name = "DEKFILE")]
        output: PathBuf,
        /// The offer's key commitment (hex): the opened key must match it. Required,
        /// because AES-GCM does not commit to its key: an owner can make chunks that
        /// open under two different keys and still match the content root, and only
        /// the commitment ties the key to the offer.
        #[arg(
            long,
            value_name = "HEX",
            value_parser = parse_commitment,
            required_unless_present = "no_commitment_check"
        )]
        commitment: Option<KeyCommitment>,
        /// Open without checking the key against a commitment (not recommended; see
        /// --commitment).
        #[arg(long, conflicts_with = "commitment")]
        no_commitment_check: bool,
        #[command(flatten)]
        context: ContextArgs,
    },
    /// Check a whole ciphertext against a content root, or one chunk against a proof.
    /// This checks the structure and the content root (every stored chunk hashed), not
    /// that the chunks decrypt: that needs the data key (`decrypt`).
    Verify {
        /// Ciphertext file, or - (omit with --proof).
        #[arg(required_unless_present = "proof", conflicts_with = "proof")]
        input: Option<PathBuf>,
        /// The content root to check against (hex), e.g. from the offer.
        #[arg(long, value_name = "HEX", value_parser = parse_root)]
        root: ContentRoot,
        /// A chunk proof file from `sealer prove`.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
    },
    /// Show a ciphertext's header, or a manifest, as JSON.
    Inspect {
        /// A ciphertext or a manifest file, or -.
        input: PathBuf,
    },
    /// Make the inclusion proof of one chunk (what a chunk dispute carries), as JSON.
    Prove {
        /// Ciphertext file, or -.
        input: PathBuf,
        /// Chunk index (from 0).
        #[arg(long, value_name = "N")]
        chunk: u64,
        /// Proof file to write, or - [default: -]; replaced if it exists, refused if it
        /// is the input.
        #[arg(short, long, value_name = "FILE", default_value = "-")]
        output: PathBuf,
    },
}

/// What an envelope is bound to.
#[derive(clap::Args)]
struct ContextArgs {
    /// The marketplace contract's account id (64 hex digits).
    #[arg(long, value_name = "HEX", value_parser = parse_contract)]
    contract: [u8; 32],
    /// Offer id.
    #[arg(long, value_name = "ID")]
    offer: u64,
    /// Purchase id.
    #[arg(long, value_name = "ID")]
    purchase: u64,
}

impl ContextArgs {
    fn context(&self) -> EnvelopeContext {
        EnvelopeContext {
            contract: self.contract,
            offer_id: self.offer,
            purchase_id: self.purchase,
        }
    }
}

/// A chunk proof together with the chunk and the root it claims.
#[derive(Serialize, Deserialize)]
struct ProofFile {
    content_root: String,
    #[serde(flatten)]
    proof: ChunkProof,
    /// The stored chunk (ciphertext and tag), hex.
    chunk: String,
}

fn parse_chunk_size(s: &str) -> Result<u32, String> {
    let n: u64 = s.parse().map_err(|e| format!("{e}"))?;
    ChunkSize::new(n)
        .map(ChunkSize::get)
        .map_err(|e| e.to_string())
}

fn parse_root(s: &str) -> Result<ContentRoot, String> {
    ContentRoot::from_hex(s).map_err(|e| e.to_string())
}

fn parse_commitment(s: &str) -> Result<KeyCommitment, String> {
    KeyCommitment::from_hex(s).map_err(|e| e.to_string())
}

fn parse_buyer_pk(s: &str) -> Result<BuyerPublicKey, String> {
    BuyerPublicKey::from_hex(s).map_err(|e| e.to_string())
}

fn parse_envelope(s: &str) -> Result<SealedEnvelope, String> {
    SealedEnvelope::from_hex(s).map_err(|e| e.to_string())
}

fn parse_contract(s: &str) -> Result<[u8; 32], String> {
    ContentRoot::from_hex(s)
        .map(|r| r.0)
        .map_err(|_| "expected 64 hex digits".to_string())
}

/// Exits with status 2 and clap's usage message.
fn usage_error(msg: impl std::fmt::Display) -> ! {
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, msg)
        .exit()
}

fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Standard input or output as a plain `File` (no line buffering in the way).
fn stdin_file() -> anyhow::Result<File> {
    Ok(File::from(std::io::stdin().as_fd().try_clone_to_owned()?))
}

fn stdout_file() -> anyhow::Result<File> {
    Ok(File::from(std::io::stdout().as_fd().try_clone_to_owned()?))
}

fn open_input(p: &Path) -> anyhow::Result<File> {
    if is_dash(p) {
        stdin_file()
    } else {
        File::open(p).with_context(|| format!("cannot open {}", p.display()))
    }
}

/// A progress bar on a terminal for large inputs; hidden otherwise.
fn progress_bar(total: Option<u64>) -> ProgressBar {
    match total {
        Some(n) if n >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal() => {
            let bar = ProgressBar::new(n);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

fn file_len(f: &File) -> Option<u64> {
    f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// Writes `path` (or stdout for -) only when `write` succeeds.
fn write_output<T>(
    path: &Path,
    write: impl FnOnce(&mut File) -> sealer::Result<T>,
) -> anyhow::Result<T> {
    if is_dash(path) {
        let mut out = stdout_file()?;
        Ok(write(&mut out)?)
    } else if is_special(path) {
        // A device or a pipe (/dev/null, a FIFO): write to it, never rename over it.
        let mut out = File::options()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        write(&mut out).map_err(|e| io_context(e, "writing", path))
    } else {
        sealer::write_atomically(path, write).map_err(|e| io_context(e, "writing", path))
    }
}

/// An existing output that is not a regular file (a device, a FIFO).
fn is_special(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Only I/O errors need the path; a failed check speaks for itself.
fn io_context(e: sealer::Error, doing: &str, path: &Path) -> anyhow::Error {
    match e {
        sealer::Error::Io(io) => anyhow!(io).context(format!("{doing} {}", path.display())),
        other => other.into(),
    }
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Refuses, before anything is written, a command whose files are not distinct: an
/// output that is its input or another of its outputs (compared by device and inode,
/// or by canonical path before the file exists; `-` and character devices never clash).
fn refuse_clashes(paths: &[(&str, &Path)]) -> anyhow::Result<()> {
    let files: Vec<(&str, &Path)> = paths.iter().copied().filter(|(_, p)| !is_dash(p)).collect();
    if let Some((a, b)) = sealer::identity::first_clash(&files)? {
        let path = files
            .iter()
            .find(|(n, _)| *n == b)
            .map(|(_, p)| p.display());
        usage_error(format!(
            "{a} and {b} are the same file ({}); refusing to write anything",
            path.expect("a named path")
        ));
    }
    Ok(())
}

fn refuse_existing(p: &Path) {
    if p.exists() {
        usage_error(format!(
            "{} already exists; refusing to overwrite it",
            p.display()
        ));
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let threads = cli
        .threads
        .map_or_else(sealer::default_threads, usize::from);
    match cli.command {
        Command::Keygen { output } => {
            refuse_existing(&output);
            let sk = BuyerSecretKey::generate()?;
            write_buyer_secret(&output, &sk).map_err(|e| io_context(e, "writing", &output))?;
            println!("{}", sk.public_key());
        }
        Command::Encrypt {
            input,
            output,
            key_out,
            manifest,
            chunk_size,
        } => {
            let (key_out, manifest) =
                match (key_out, manifest, is_dash(&output) || is_special(&output)) {
                    (Some(k), Some(m), _) => (k, m),
                    (k, m, false) => (
                        k.unwrap_or_else(|| with_suffix(&output, ".key")),
                        m.unwrap_or_else(|| with_suffix(&output, ".manifest.json")),
                    ),
                    (_, _, true) => {
                        usage_error("with -o - or a device, give both --key-out and --manifest")
                    }
                };
            refuse_clashes(&[
                ("INPUT", &input),
                ("--output", &output),
                ("--key-out", &key_out),
                ("--manifest", &manifest),
            ])?;
            refuse_existing(&key_out);
            // The header holds the length: a pipe is spooled to a private temporary file.
            let (file, len) = sealer::file_of_known_length(open_input(&input)?)
                .map_err(|e| io_context(e, "reading", &input))?;
            let chunk = ChunkSize::new(chunk_size.into())?;
            let dek = DataKey::generate()?;
            // The key first: a key file that cannot be written is found before the
            // encryption, not after it, with a ciphertext nobody could open.
            write_data_key(&key_out, &dek).map_err(|e| io_context(e, "writing", &key_out))?;
            let bar = progress_bar(Some(len));
            let to_stream = is_dash(&output) || is_special(&output);
            let sealed = write_output(&output, |out| {
                let enc = Encryptor::new(&dek, len, chunk)?
                    .threads(threads)
                    .progress(|n| bar.inc(n));
                if to_stream {
                    enc.encrypt_from_file(&file, out)
                } else {
                    // File to file: the workers read and write at offsets themselves.
                    enc.encrypt_file(&file, out)
                }
            })
            .inspect_err(|_| {
                // Its ciphertext was not written: the key opens nothing.
                let _ = std::fs::remove_file(&key_out);
            })?;
            bar.finish_and_clear();
            let m = Manifest::new(&sealed, &dek.commitment());
            let json = serde_json::to_string_pretty(&m)? + "\n";
            // Written in place on a device or a FIFO: a rename would replace the device
            // node itself (as root, /dev/null became a regular file that way).
            if is_special(&manifest) {
                File::options()
                    .write(true)
                    .open(&manifest)
                    .and_then(|mut f| f.write_all(json.as_bytes()))
                    .with_context(|| format!("writing {}", manifest.display()))?;
            } else {
                sealer::write_atomically(&manifest, |f| Ok(f.write_all(json.as_bytes())?))
                    .map_err(|e| io_context(e, "writing", &manifest))?;
            }
            eprintln!(
                "encrypted {len} bytes in {} chunks; content_root {}; key {}; manifest {}",
                sealed.header.chunk_count(),
                sealed.content_root,
                key_out.display(),
                manifest.display()
            );
        }
        Command::Decrypt {
            input,
            output,
            key,
            root,
            manifest,
        } => {
            let mut files = vec![("--output", output.as_path()), ("INPUT", &input)];
            files.push(("--key", &key));
            if let Some(m) = &manifest {
                files.push(("--manifest", m));
            }
            refuse_clashes(&files)?;
            let dek = read_data_key(&key).map_err(|e| io_context(e, "reading", &key))?;
            let mut dec = Decryptor::new(&dek).threads(threads);
            if let Some(path) = manifest {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let m: Manifest = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a manifest", path.display()))?;
                let mroot = m.content_root()?;
                if root.is_some_and(|r| r != mroot) {
                    usage_error("--root differs from the manifest's content_root");
                }
                dec = dec
                    .expect_root(mroot)
                    .expect_header(m.header()?)
                    .expect_key_commitment(m.key_commitment()?);
            }
            if let Some(r) = root {
                dec = dec.expect_root(r);
            }
            let mut file = open_input(&input)?;
            let bar = progress_bar(file_len(&file));
            // A regular input is read at offsets by the workers; a regular output (our
            // temporary file) is written at offsets by them too.
            let file_in = !is_dash(&input) && file_len(&file).is_some();
            let file_out = !is_dash(&output) && !is_special(&output);
            write_output(&output, |out| {
                let dec = dec.progress(|n| bar.inc(n));
                match (file_in, file_out) {
                    (true, true) => dec.decrypt_file(&file, out),
                    (true, false) => dec.decrypt_from_file(&file, out),
                    (false, _) => dec.decrypt(&mut file, out),
                }
            })?;
            bar.finish_and_clear();
        }
        Command::Seal { key, to, context } => {
            let dek = read_data_key(&key).map_err(|e| io_context(e, "reading", &key))?;
            let env = to.seal(&dek, &context.context())?;
            println!("{}", env.to_hex());
        }
        Command::Open {
            envelope,
            secret,
            output,
            commitment,
            no_commitment_check: _,
            context,
        } => {
            refuse_clashes(&[("--secret", &secret), ("--output", &output)])?;
            refuse_existing(&output);
            let sk = read_buyer_secret(&secret).map_err(|e| io_context(e, "reading", &secret))?;
            let dek = sk.open(&envelope, &context.context())?;
            match commitment {
                Some(c) => dek.check_commitment(&c)?,
                None => eprintln!(
                    "warning: the data key was not checked against the offer's key commitment \
                     (--no-commitment-check): it may not be the key the offer sold"
                ),
            }
            write_data_key(&output, &dek).map_err(|e| io_context(e, "writing", &output))?;
            eprintln!("envelope opened; data key written to {}", output.display());
        }
        Command::Verify { input, root, proof } => {
            if let Some(path) = proof {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let pf: ProofFile = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a chunk proof", path.display()))?;
                let chunk = hex::decode(&pf.chunk)
                    .map_err(|_| anyhow!("{}: chunk is not hex", path.display()))?;
                pf.proof.verify(&chunk, &root)?;
                println!(
                    "ok: chunk {} belongs to content root {root}",
                    pf.proof.index
                );
            } else {
                let input = input.expect("clap requires it");
                let mut file = open_input(&input)?;
                let bar = progress_bar(file_len(&file));
                let ver = Decryptor::verifier()
                    .threads(threads)
                    .expect_root(root)
                    .progress(|n| bar.inc(n));
                let opened = if file_len(&file).is_some() {
                    ver.verify_file(&file)?
                } else {
                    ver.verify(&mut file)?
                };
                bar.finish_and_clear();
                println!(
                    "ok: {} chunks match content root {root}",
                    opened.header.chunk_count()
                );
            }
        }
        Command::Inspect { input } => {
            let mut file = open_input(&input)?;
            let mut head = Vec::new();
            (&mut file).take(1 << 20).read_to_end(&mut head)?;
            let value = if head.starts_with(sealer::header::MAGIC) || head.len() < 26 {
                let h = Header::parse(&head)?;
                serde_json::json!({
                    "format": sealer::header::VERSION,
                    "header": hex::encode(h.to_bytes()),
                    "chunk_size": h.chunk_size().get(),
                    "plaintext_len": h.plaintext_len(),
                    "chunk_count": h.chunk_count(),
                    "ciphertext_len": h.ciphertext_len(),
                    "nonce_prefix": hex::encode(h.nonce_prefix()),
                })
            } else {
                let m: Manifest = serde_json::from_slice(&head)
                    .map_err(|_| sealer::Error::BadMagic)
                    .context("neither a ciphertext nor a manifest")?;
                m.header()?;
                serde_json::to_value(&m)?
            };
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Command::Prove {
            input,
            chunk,
            output,
        } => {
            refuse_clashes(&[("INPUT", &input), ("--output", &output)])?;
            let mut file = open_input(&input)?;
            let (proof, stored, root) = Decryptor::verifier()
                .threads(threads)
                .prove(&mut file, chunk)?;
            let pf = ProofFile {
                content_root: root.to_hex(),
                proof,
                chunk: hex::encode(stored),
            };
            let json = serde_json::to_string_pretty(&pf)? + "\n";
            write_output(&output, |out| Ok(out.write_all(json.as_bytes())?))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
