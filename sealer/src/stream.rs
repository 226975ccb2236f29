//! Streaming encryption and decryption of the ciphertext file (STREAM over AES-256-GCM).
//!
//! Chunks are sealed with `ring` and hashed into Merkle leaves on all cores through
//! [`crate::pipeline`]; the content root is built from the leaves as they come back in
//! order, so encryption is a single pass in O(threads x chunk size) memory.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::num::NonZeroUsize;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use crate::header::{Header, HEADER_LEN, NONCE_PREFIX_LEN, TAG_LEN};
use crate::keys::{ContentRoot, DataKey, KeyCommitment};
use crate::merkle::{content_root, leaf_hash, ChunkProof, MerkleBuilder, ProofBuilder};
use crate::pipeline::{self, Job};
use crate::{ChunkSize, Error, Result};

/// Plaintext bytes per pipeline job (whole chunks; at least one chunk).
const JOB_BYTES: usize = 256 * 1024;

/// A progress callback: called with the number of ciphertext bytes just processed.
pub type Progress<'a> = Box<dyn FnMut(u64) + 'a>;

/// All cores, or 1 when that cannot be known.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

fn chunks_per_job(header: &Header) -> usize {
    (JOB_BYTES / header.chunk_size().bytes()).max(1)
}

fn stride(header: &Header) -> usize {
    header.chunk_size().bytes() + TAG_LEN
}

fn ring_key(dek: &DataKey) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, dek.expose_secret()).expect("32-byte key"))
}

/// Tiny inputs (one job) are not worth a thread.
fn effective_threads(threads: usize, header: &Header) -> usize {
    if header.chunk_count() <= chunks_per_job(header) as u64 {
        1
    } else {
        threads.max(1)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What an encryption produced: everything the offer and the manifest need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The header written.
    pub header: Header,
    /// The content root of the ciphertext.
    pub content_root: ContentRoot,
    /// Bytes written (header and chunks).
    pub ciphertext_len: u64,
}

/// Encrypts a plaintext of known length into the ciphertext format.
///
/// The length is part of the header (and so of every chunk's AAD), hence it is needed
/// before the first byte is written; an input that turns out shorter or longer is an
/// error.
pub struct Encryptor<'a> {
    key: LessSafeKey,
    header: Header,
    threads: usize,
    progress: Option<Progress<'a>>,
}

impl std::fmt::Debug for Encryptor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("key", &"[redacted]")
            .field("header", &self.header)
            .field("threads", &self.threads)
            .finish()
    }
}

impl<'a> Encryptor<'a> {
    /// An encryptor with a fresh random nonce prefix.
    ///
    /// # Errors
    /// [`Error::Rng`], or [`Error::TooLong`] for more than 2^32 chunks.
    pub fn new(dek: &DataKey, plaintext_len: u64, chunk_size: ChunkSize) -> Result<Self> {
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        getrandom::getrandom(&mut prefix).map_err(|_| Error::Rng)?;
        Self::with_prefix(dek, plaintext_len, chunk_size, prefix)
    }

    /// An encryptor with a given nonce prefix, for test vectors and fuzzing only
    /// (feature `deterministic`): a prefix used twice with one key reuses every
    /// chunk's nonce, which gives away the XOR of the plaintexts and GCM's
    /// authentication key.
    ///
    /// # Errors
    /// [`Error::TooLong`] for more than 2^32 chunks.
    #[cfg(feature = "deterministic")]
    pub fn with_nonce_prefix(
        dek: &DataKey,
        plaintext_len: u64,
        chunk_size: ChunkSize,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self> {
        Self::with_prefix(dek, plaintext_len, chunk_size, nonce_prefix)
    }

    fn with_prefix(
        dek: &DataKey,
        plaintext_len: u64,
        chunk_size: ChunkSize,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self> {
        Ok(Encryptor {
            key: ring_key(dek),
            header: Header::new(chunk_size, plaintext_len, nonce_prefix)?,
            threads: default_threads(),
            progress: None,
        })
    }

    /// Worker threads (default: all cores). The output does not depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Reports progress while encrypting.
    pub fn progress(mut self, progress: impl FnMut(u64) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The header that will be written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads exactly the announced plaintext from `input` and writes the ciphertext.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the input is shorter or longer than announced,
    /// [`Error::Io`] if reading or writing fails. The output is then incomplete.
    pub fn encrypt(self, input: impl Read, output: impl Write) -> Result<Sealed> {
        let mut output = output;
        let sealed = self.run(Some(input), Some(&mut output), None, None)?;
        output.flush()?;
        Ok(sealed)
    }

    /// Encrypts one regular file into another. The workers read and write at offsets
    /// themselves, so the kernel's copies run on all cores too; `output` is written
    /// from offset 0 and, on success, cut to the ciphertext's length (a longer file it
    /// reuses keeps no old tail).
    ///
    /// # Errors
    /// As [`Encryptor::encrypt`].
    #[cfg(unix)]
    pub fn encrypt_file(self, input: &File, output: &File) -> Result<Sealed> {
        self.check_file_len(input)?;
        let len = self.header.plaintext_len();
        let sealed = self.run(
            None::<&[u8]>,
            None::<&mut Vec<u8>>,
            Some(input),
            Some(output),
        )?;
        check_nothing_past(input, len)?;
        output.set_len(sealed.ciphertext_len)?;
        Ok(sealed)
    }

    /// Encrypts a regular file into any writer (a pipe, a device, standard output):
    /// the workers read at offsets in parallel, the calling thread writes in order.
    ///
    /// # Errors
    /// As [`Encryptor::encrypt`].
    #[cfg(unix)]
    pub fn encrypt_from_file(self, input: &File, output: impl Write) -> Result<Sealed> {
        self.check_file_len(input)?;
        let len = self.header.plaintext_len();
        let mut output = output;
        let sealed = self.run(None::<&[u8]>, Some(&mut output), Some(input), None)?;
        check_nothing_past(input, len)?;
        output.flush()?;
        Ok(sealed)
    }

    /// A positional input must be a regular file of the announced length (a device
    /// reports 0 bytes whatever it holds).
    fn check_file_len(&self, input: &File) -> Result<()> {
        let meta = input.metadata()?;
        if !meta.is_file() {
            return Err(Error::NotARegularFile);
        }
        let len = meta.len();
        if len == self.header.plaintext_len() {
            Ok(())
        } else {
            Err(Error::LengthMismatch {
                expected: self.header.plaintext_len(),
                actual: len,
            })
        }
    }

    fn run<R: Read, W: Write>(
        mut self,
        mut stream_in: Option<R>,
        mut stream_out: Option<W>,
        file_in: Option<&File>,
        file_out: Option<&File>,
    ) -> Result<Sealed> {
        let header = self.header;
        let header_bytes = header.to_bytes();
        if let Some(out) = stream_out.as_mut() {
            out.write_all(&header_bytes)?;
        }
        if let Some(out) = file_out {
            write_all_at(out, &header_bytes, 0)?;
        }
        let aad = header.aad();
        let stride = stride(&header);
        let per_job = chunks_per_job(&header);
        let total = header.chunk_count();
        let c = header.chunk_size().get() as u64;
        let mut next = 0u64;
        let mut read_so_far = 0u64;
        let source = |mut job: Job| -> Result<Option<Job>> {
            if next == total {
                return Ok(None);
            }
            let count = per_job.min((total - next) as usize);
            job.first = next;
            job.count = count;
            job.resize(count * stride);
            if let Some(input) = stream_in.as_mut() {
                for k in 0..count {
                    let len = header.plaintext_chunk_len(next + k as u64);
                    let got = read_full(input, &mut job.buf[k * stride..k * stride + len])?;
                    read_so_far += got as u64;
                    if got < len {
                        return Err(Error::LengthMismatch {
                            expected: header.plaintext_len(),
                            actual: read_so_far,
                        });
                    }
                }
            }
            next += count as u64;
            if next == total {
                if let Some(input) = stream_in.as_mut() {
                    let mut probe = [0u8; 1];
                    if read_full(input, &mut probe)? > 0 {
                        return Err(Error::LengthMismatch {
                            expected: header.plaintext_len(),
                            actual: read_so_far + 1,
                        });
                    }
                }
            }
            Ok(Some(job))
        };
        let key = &self.key;
        let process = |job: &mut Job| -> Result<()> {
            job.leaves.clear();
            for k in 0..job.count {
                let index = job.first + k as u64;
                let len = header.plaintext_chunk_len(index);
                let slot = &mut job.buf[k * stride..k * stride + len + TAG_LEN];
                let (data, tag_out) = slot.split_at_mut(len);
                if let Some(input) = file_in {
                    read_exact_at(input, data, index * c).map_err(|e| match e.kind() {
                        ErrorKind::UnexpectedEof => Error::LengthMismatch {
                            expected: header.plaintext_len(),
                            actual: index * c,
                        },
                        _ => Error::Io(e),
                    })?;
                }
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(header.chunk_nonce(index)),
                        Aad::from(aad),
                        data,
                    )
                    .expect("AES-GCM sealing of at most 256 KiB cannot fail");
                tag_out.copy_from_slice(tag.as_ref());
                job.leaves.push(leaf_hash(index, slot));
            }
            if let Some(out) = file_out {
                write_all_at(
                    out,
                    &job.buf[..job_stored_len(&header, job)],
                    header.chunk_offset(job.first),
                )?;
            }
            Ok(())
        };
        let mut tree = MerkleBuilder::new();
        let mut written = HEADER_LEN as u64;
        let progress = &mut self.progress;
        let sink = |job: &mut Job| -> Result<()> {
            let used = job_stored_len(&header, job);
            if let Some(out) = stream_out.as_mut() {
                out.write_all(&job.buf[..used])?;
            }
            job.leaves.iter().for_each(|l| tree.push(*l));
            written += used as u64;
            if let Some(p) = progress.as_mut() {
                p(used as u64);
            }
            Ok(())
        };
        pipeline::run(
            effective_threads(self.threads, &header),
            source,
            &process,
            sink,
        )?;
        let tree_root = tree.root().expect("at least one chunk");
        Ok(Sealed {
            header,
            content_root: content_root(&header_bytes, &tree_root),
            ciphertext_len: written,
        })
    }
}

/// Stored bytes of a job's chunks, which lie back to back in its buffer.
fn job_stored_len(header: &Header, job: &Job) -> usize {
    (job.count - 1) * stride(header) + header.stored_chunk_len(job.first + job.count as u64 - 1)
}

/// After a file was encrypted at offsets: a file that grew meanwhile, or one whose
/// reported length was short of what it holds (`/proc` files report 0), is refused
/// rather than cut, as the stream path refuses a longer stream.
#[cfg(unix)]
fn check_nothing_past(input: &File, len: u64) -> Result<()> {
    let mut probe = [0u8; 1];
    if read_full_at(input, &mut probe, len)? > 0 {
        let now = input.metadata()?.len();
        return Err(Error::LengthMismatch {
            expected: len,
            actual: now.max(len.saturating_add(1)),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(unix)]
fn write_all_at(f: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, offset)
}

/// Reads from `offset` until `buf` is full or the file ends; returns the bytes read.
#[cfg(unix)]
fn read_full_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match std::os::unix::fs::FileExt::read_at(f, &mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What a decryption or verification read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The header read.
    pub header: Header,
    /// The content root, when it was computed (verified decryption, verification).
    pub content_root: Option<ContentRoot>,
}

/// What to do with each stored chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Decrypt, and hash too when `hash` is set.
    Decrypt { hash: bool },
    /// Hash only (verification, proofs).
    Hash,
}

/// Reads a ciphertext and checks everything that can be checked while streaming.
///
/// Without an expected root, each chunk is still authenticated by AES-GCM under the
/// data key, and STREAM's counter and last flag catch truncation, reordering and
/// appending. With a root, every chunk is also hashed and the root compared at the
/// end; the plaintext written before that must be discarded if it fails (the CLI
/// writes to a temporary file and renames it only on success).
pub struct Decryptor<'a> {
    dek: Option<&'a DataKey>,
    threads: usize,
    expected_root: Option<ContentRoot>,
    expected_header: Option<[u8; HEADER_LEN]>,
    key_commitment: Option<KeyCommitment>,
    progress: Option<Progress<'a>>,
}

impl std::fmt::Debug for Decryptor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor")
            .field("dek", &self.dek.map(|_| "[redacted]"))
            .field("threads", &self.threads)
            .field("expected_root", &self.expected_root)
            .field("key_commitment", &self.key_commitment)
            .finish()
    }
}

impl<'a> Decryptor<'a> {
    /// A decryptor for data encrypted under `dek`.
    pub fn new(dek: &'a DataKey) -> Self {
        Decryptor {
            dek: Some(dek),
            ..Self::verifier()
        }
    }

    /// A reader that only hashes (no key): [`Decryptor::verify`] and [`Decryptor::prove`].
    pub fn verifier() -> Self {
        Decryptor {
            dek: None,
            threads: default_threads(),
            expected_root: None,
            expected_header: None,
            key_commitment: None,
            progress: None,
        }
    }

    /// Worker threads (default: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Hash every chunk and require this content root.
    pub fn expect_root(mut self, root: ContentRoot) -> Self {
        self.expected_root = Some(root);
        self
    }

    /// Require this exact header (the offer stores it).
    pub fn expect_header(mut self, header: [u8; HEADER_LEN]) -> Self {
        self.expected_header = Some(header);
        self
    }

    /// Require the data key to match this commitment before decrypting anything.
    pub fn expect_key_commitment(mut self, commitment: KeyCommitment) -> Self {
        self.key_commitment = Some(commitment);
        self
    }

    /// Reports progress (ciphertext bytes).
    pub fn progress(mut self, progress: impl FnMut(u64) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Decrypts `input` to `output`.
    ///
    /// # Errors
    /// The first failed check: header checks ([`Error::BadMagic`],
    /// [`Error::UnsupportedVersion`], [`Error::TruncatedHeader`],
    /// [`Error::InvalidChunkSize`], [`Error::HeaderTampered`]),
    /// [`Error::WrongKeyCommitment`], [`Error::ChunkAuthentication`],
    /// [`Error::Truncated`], [`Error::TrailingData`], [`Error::RootMismatch`]; or
    /// [`Error::Io`]. On error, discard whatever was written.
    pub fn decrypt(self, input: impl Read, output: impl Write) -> Result<Opened> {
        let hash = self.expected_root.is_some();
        let mut output = output;
        let (opened, _) = self.read(
            Some(input),
            Some(&mut output),
            None,
            None,
            Mode::Decrypt { hash },
            None,
        )?;
        output.flush()?;
        Ok(opened)
    }

    /// Decrypts one regular file into another, the workers reading and writing at
    /// offsets themselves (the kernel's copies run on all cores too); `output` is
    /// written from offset 0 and, on success, cut to the plaintext's length (a longer
    /// file it reuses keeps no old tail).
    ///
    /// # Errors
    /// As [`Decryptor::decrypt`].
    #[cfg(unix)]
    pub fn decrypt_file(self, input: &File, output: &File) -> Result<Opened> {
        let hash = self.expected_root.is_some();
        let (opened, _) = self.read(
            None::<&[u8]>,
            None::<&mut Vec<u8>>,
            Some(input),
            Some(output),
            Mode::Decrypt { hash },
            None,
        )?;
        output.set_len(opened.header.plaintext_len())?;
        Ok(opened)
    }

    /// Decrypts a regular file into any writer (a pipe, a device, standard output):
    /// the workers read at offsets in parallel, the calling thread writes in order.
    ///
    /// # Errors
    /// As [`Decryptor::decrypt`].
    #[cfg(unix)]
    pub fn decrypt_from_file(self, input: &File, output: impl Write) -> Result<Opened> {
        let hash = self.expected_root.is_some();
        let mut output = output;
        let (opened, _) = self.read(
            None::<&[u8]>,
            Some(&mut output),
            Some(input),
            None,
            Mode::Decrypt { hash },
            None,
        )?;
        output.flush()?;
        Ok(opened)
    }

    /// Checks a ciphertext's structure and content root without a key; returns the
    /// root it computed (compared with the expected one when one was set).
    ///
    /// # Errors
    /// Header checks, [`Error::Truncated`], [`Error::TrailingData`],
    /// [`Error::RootMismatch`], [`Error::Io`].
    pub fn verify(self, input: impl Read) -> Result<Opened> {
        self.read(
            Some(input),
            None::<&mut Vec<u8>>,
            None,
            None,
            Mode::Hash,
            None,
        )
        .map(|(o, _)| o)
    }

    /// [`Decryptor::verify`] on a regular file, reading at offsets on all cores.
    ///
    /// # Errors
    /// As [`Decryptor::verify`].
    #[cfg(unix)]
    pub fn verify_file(self, input: &File) -> Result<Opened> {
        self.read(
            None::<&[u8]>,
            None::<&mut Vec<u8>>,
            Some(input),
            None,
            Mode::Hash,
            None,
        )
        .map(|(o, _)| o)
    }

    /// Makes the inclusion proof of chunk `index`: the proof, the stored chunk and the
    /// content root.
    ///
    /// # Errors
    /// As [`Decryptor::verify`], and [`Error::MalformedProof`] for an index past the end.
    pub fn prove(self, input: impl Read, index: u64) -> Result<(ChunkProof, Vec<u8>, ContentRoot)> {
        let (opened, proof) = self.read(
            Some(input),
            None::<&mut Vec<u8>>,
            None,
            None,
            Mode::Hash,
            Some(index),
        )?;
        let (proof, chunk) = proof.expect("requested");
        Ok((proof, chunk, opened.content_root.expect("hashed")))
    }

    #[allow(clippy::type_complexity)]
    fn read<R: Read, W: Write>(
        mut self,
        mut stream_in: Option<R>,
        mut stream_out: Option<W>,
        file_in: Option<&File>,
        file_out: Option<&File>,
        mode: Mode,
        prove: Option<u64>,
    ) -> Result<(Opened, Option<(ChunkProof, Vec<u8>)>)> {
        // Read at offsets only from a regular file: a device reports 0 bytes whatever
        // it holds, and a FIFO has no offsets.
        if let Some(f) = file_in {
            if !f.metadata()?.is_file() {
                return Err(Error::NotARegularFile);
            }
        }
        let mut header_bytes = [0u8; HEADER_LEN];
        let got = match (stream_in.as_mut(), file_in) {
            (Some(input), _) => read_full(input, &mut header_bytes)?,
            (None, Some(f)) => read_full_at(f, &mut header_bytes, 0)?,
            (None, None) => unreachable!("an input is given"),
        };
        if let Some(expected) = self.expected_header {
            if got == HEADER_LEN && expected != header_bytes {
                return Err(Error::HeaderTampered);
            }
        }
        let header = Header::parse(&header_bytes[..got])?;
        if let (Some(dek), Some(c)) = (self.dek, &self.key_commitment) {
            dek.check_commitment(c)?;
        }
        let total = header.chunk_count();
        if let Some(index) = prove {
            if index >= total {
                return Err(Error::MalformedProof("chunk index out of range"));
            }
        }
        let key = match mode {
            Mode::Decrypt { .. } => Some(ring_key(self.dek.expect("decrypt needs a key"))),
            Mode::Hash => None,
        };
        let hash = matches!(mode, Mode::Hash | Mode::Decrypt { hash: true });
        let aad = header.aad();
        let stride = stride(&header);
        let per_job = chunks_per_job(&header);
        let c = header.chunk_size().get() as u64;

        // A file's length says up front how far the chunks go; a stream's is found by
        // reading. Either way, a structural error is reported after the complete chunks
        // before it were authenticated, so the first failure in stream order wins (a
        // tampered header fails chunk 0 rather than looking like a truncation).
        let (mut limit, mut end_error) = (total, None);
        if let Some(f) = file_in {
            let len = f.metadata()?.len();
            let expected_len = header.ciphertext_len();
            if len < expected_len {
                limit = len.saturating_sub(HEADER_LEN as u64) / stride as u64;
                end_error = Some(Error::Truncated {
                    complete: limit,
                    expected: total,
                });
            } else if len > expected_len {
                end_error = Some(Error::TrailingData);
            }
        }
        let mut next = 0u64;
        let source = |mut job: Job| -> Result<Option<Job>> {
            if next == limit {
                return end_error.take().map_or(Ok(None), Err);
            }
            let count = per_job.min((limit - next) as usize);
            job.first = next;
            job.count = count;
            let len = job_stored_len(&header, &job);
            job.resize(len);
            if let Some(input) = stream_in.as_mut() {
                let got = read_full(input, &mut job.buf)?;
                if got < job.buf.len() {
                    // Only the last chunk may be short, so whole strides are whole chunks.
                    let complete = got / stride;
                    let err = Error::Truncated {
                        complete: next + complete as u64,
                        expected: total,
                    };
                    if complete == 0 {
                        return Err(err);
                    }
                    job.count = complete;
                    limit = next + complete as u64;
                    end_error = Some(err);
                } else if next + count as u64 == total {
                    let mut probe = [0u8; 1];
                    if read_full(input, &mut probe)? > 0 {
                        end_error = Some(Error::TrailingData);
                    }
                }
            }
            next += job.count as u64;
            Ok(Some(job))
        };
        let process = |job: &mut Job| -> Result<()> {
            if let Some(f) = file_in {
                let len = job_stored_len(&header, job);
                read_exact_at(f, &mut job.buf[..len], header.chunk_offset(job.first)).map_err(
                    |e| match e.kind() {
                        // The file shrank while we read it.
                        ErrorKind::UnexpectedEof => Error::Truncated {
                            complete: job.first,
                            expected: total,
                        },
                        _ => Error::Io(e),
                    },
                )?;
            }
            job.leaves.clear();
            for k in 0..job.count {
                let index = job.first + k as u64;
                let slot = &mut job.buf[k * stride..k * stride + header.stored_chunk_len(index)];
                if hash {
                    job.leaves.push(leaf_hash(index, slot));
                }
                if let Some(key) = &key {
                    key.open_in_place(
                        Nonce::assume_unique_for_key(header.chunk_nonce(index)),
                        Aad::from(aad),
                        slot,
                    )
                    .map_err(|_| Error::ChunkAuthentication(index))?;
                    if let Some(out) = file_out {
                        let len = header.plaintext_chunk_len(index);
                        write_all_at(out, &slot[..len], index * c)?;
                    }
                }
            }
            Ok(())
        };
        let mut tree = MerkleBuilder::new();
        let mut proof = prove.map(|i| (ProofBuilder::new(i, total), Vec::new()));
        let progress = &mut self.progress;
        let sink = |job: &mut Job| -> Result<()> {
            for k in 0..job.count {
                let index = job.first + k as u64;
                let start = k * stride;
                if let Some(out) = stream_out.as_mut() {
                    out.write_all(&job.buf[start..start + header.plaintext_chunk_len(index)])?;
                }
                if let Some((pb, chunk)) = proof.as_mut() {
                    pb.push(job.leaves[k]);
                    if pb.index() == index {
                        chunk.extend_from_slice(
                            &job.buf[start..start + header.stored_chunk_len(index)],
                        );
                    }
                } else if hash {
                    tree.push(job.leaves[k]);
                }
            }
            if let Some(p) = progress.as_mut() {
                p(job_stored_len(&header, job) as u64);
            }
            Ok(())
        };
        pipeline::run(
            effective_threads(self.threads, &header),
            source,
            &process,
            sink,
        )?;

        let mut proof_out = None;
        let tree_root = match proof {
            Some((pb, chunk)) => {
                let (p, root) = pb.finish(&header);
                proof_out = Some((p, chunk));
                root
            }
            None => tree.root(),
        };
        let content_root = if hash {
            Some(content_root(
                &header_bytes,
                &tree_root.expect("at least one chunk"),
            ))
        } else {
            None
        };
        if let (Some(expected), Some(actual)) = (self.expected_root, content_root) {
            if expected != actual {
                return Err(Error::RootMismatch);
            }
        }
        Ok((
            Opened {
                header,
                content_root,
            },
            proof_out,
        ))
    }
}
