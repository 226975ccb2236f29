//! A job's input from a producer that writes (a decryptor does: it pushes authenticated
//! plaintext into a `Write`). The producer runs on its own thread into a pipe, so the
//! plaintext stays in memory and never touches disk, and its failure reaches the job's
//! reader as an error at the end of the stream instead of a clean end of file: a job
//! must never finish on a truncated or forged dataset.

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::thread::JoinHandle;

/// The read end of a producer thread's output.
pub struct Feed {
    pipe: PipeReader,
    producer: Option<JoinHandle<Result<(), String>>>,
}

impl Feed {
    /// Starts `produce` on a thread, writing into the feed. Its error (displayed) is
    /// what the job's input failure says, so it must not carry secrets; the sealer's
    /// errors do not.
    pub fn spawn<E: std::fmt::Display>(
        produce: impl FnOnce(&mut PipeWriter) -> Result<(), E> + Send + 'static,
    ) -> io::Result<Self> {
        let (pipe, mut writer) = io::pipe()?;
        let producer = std::thread::Builder::new()
            .name("job-input".into())
            .spawn(move || {
                let produced = produce(&mut writer).map_err(|e| e.to_string());
                let flushed = writer.flush().map_err(|e| e.to_string());
                produced.and(flushed)
            })?;
        Ok(Feed {
            pipe,
            producer: Some(producer),
        })
    }
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.pipe.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // The producer closed its end: only its own verdict says whether that is
            // the end of the data.
            if let Some(producer) = self.producer.take() {
                match producer.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(io::Error::other(e)),
                    Err(_) => return Err(io::Error::other("the input's producer panicked")),
                }
            }
        }
        Ok(n)
    }
}

// No Drop: a job that stops reading early (or is stopped) drops the read end, and the
// producer then fails on its next write and ends on its own.
