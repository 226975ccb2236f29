//! The job's stdio. Stdin reads the plaintext from a host reader (a decryptor, so the
//! plaintext never touches disk); stdout collects the result up to its cap; stderr goes
//! nowhere. A failing reader or an overflowing result traps the job at once and is
//! remembered here, so that the run names the cause instead of a generic trap.

use bytes::Bytes;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};
use zeroize::Zeroizing;

/// The most one read hands the job; reads of the plaintext are streamed in pieces of at
/// most this.
const PIECE: usize = 64 * 1024;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; carry on with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Source {
    reader: Box<dyn Read + Send>,
    ended: bool,
    failure: Option<String>,
}

/// The job's stdin: the plaintext, read on demand from the host reader.
#[derive(Clone)]
pub(crate) struct Plaintext(Arc<Mutex<Source>>);

impl Plaintext {
    pub(crate) fn new(reader: impl Read + Send + 'static) -> Self {
        Plaintext(Arc::new(Mutex::new(Source {
            reader: Box::new(reader),
            ended: false,
            failure: None,
        })))
    }

    /// Why the reader failed, if it did (a chunk that does not authenticate, say).
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.0).failure.clone()
    }

    /// Up to `max` bytes; `Ok(None)` at the end.
    fn piece(&self, max: usize) -> io::Result<Option<Bytes>> {
        let mut source = lock(&self.0);
        if source.ended {
            return Ok(None);
        }
        // Plaintext: the host's copy is wiped once the job has it.
        let mut buffer = Zeroizing::new(vec![0u8; max.clamp(1, PIECE)]);
        // Fill the piece whole (short only at the end), however the reader splits its
        // data: a pipe hands over what its writer has written so far, and a job that
        // saw reads of other sizes would run another path and burn other fuel, so a
        // re-run would not be the same run.
        let mut filled = 0;
        while filled < buffer.len() {
            match source.reader.read(&mut buffer[filled..]) {
                Ok(0) => {
                    source.ended = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    source.failure = Some(e.to_string());
                    source.ended = true;
                    return Err(e);
                }
            }
        }
        if filled == 0 {
            return Ok(None);
        }
        buffer.truncate(filled);
        Ok(Some(Bytes::from_owner(buffer)))
    }
}

impl IsTerminal for Plaintext {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for Plaintext {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Plaintext {
    // The reader is synchronous: a read is always ready (it blocks until it has data).
    async fn ready(&mut self) {}
}

impl InputStream for Plaintext {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if size == 0 {
            return Ok(Bytes::new());
        }
        match self.piece(size) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(StreamError::Closed),
            // Never let the job go on with part of its input: a result from a truncated
            // or forged dataset would be delivered as if it were the real one.
            Err(_) => Err(StreamError::trap("the job's input failed")),
        }
    }
}

impl AsyncRead for Plaintext {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Blocking, as the reader is: this path is only taken by WASI interfaces that a
        // job does not link (preview 1 reads through `InputStream`).
        Poll::Ready(self.piece(buf.remaining()).map(|piece| {
            if let Some(bytes) = piece {
                buf.put_slice(&bytes);
            }
        }))
    }
}

struct Collected {
    bytes: Zeroizing<Vec<u8>>,
    cap: u64,
    overflowed: bool,
}

/// The job's stdout: its result, up to the cap. A write past the cap traps the job.
#[derive(Clone)]
pub(crate) struct ResultSink(Arc<Mutex<Collected>>);

impl ResultSink {
    pub(crate) fn new(cap: u64) -> Self {
        ResultSink(Arc::new(Mutex::new(Collected {
            bytes: Zeroizing::new(Vec::new()),
            cap,
            overflowed: false,
        })))
    }

    pub(crate) fn overflowed(&self) -> bool {
        lock(&self.0).overflowed
    }

    pub(crate) fn take(&self) -> Zeroizing<Vec<u8>> {
        std::mem::take(&mut lock(&self.0).bytes)
    }

    fn append(&self, bytes: &[u8]) -> io::Result<()> {
        let mut collected = lock(&self.0);
        let total = collected.bytes.len() as u64 + bytes.len() as u64;
        if collected.overflowed || total > collected.cap {
            collected.overflowed = true;
            return Err(io::Error::other("the job's result is over its cap"));
        }
        // Grow by hand so that no reallocation leaves an unwiped copy behind.
        if collected.bytes.capacity() < total as usize {
            let mut grown = Zeroizing::new(Vec::with_capacity(
                (total as usize).max(collected.bytes.capacity() * 2),
            ));
            grown.extend_from_slice(&collected.bytes);
            collected.bytes = grown;
        }
        collected.bytes.extend_from_slice(bytes);
        Ok(())
    }
}

impl IsTerminal for ResultSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ResultSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for ResultSink {
    async fn ready(&mut self) {}
}

impl OutputStream for ResultSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes)
            .map_err(|_| StreamError::trap("the job's result is over its cap"))
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        // Always room: the cap is enforced on the write itself, so that a full result
        // traps instead of leaving the job waiting for room that never comes.
        Ok(PIECE)
    }
}

impl AsyncWrite for ResultSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.append(buf).map(|()| buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
