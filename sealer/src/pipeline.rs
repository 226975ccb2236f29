//! A bounded, order-preserving worker pipeline.
//!
//! The calling thread reads jobs and writes results; `threads` workers transform them.
//! Job `j` goes to worker `j % threads` and results are taken back in the same
//! round-robin order, so output order is input order without a reorder buffer. At
//! most `threads * DEPTH` jobs are in flight, so memory is O(threads x job size)
//! whatever the input size.

use std::collections::VecDeque;
use std::sync::mpsc::sync_channel;
use std::thread;

use zeroize::Zeroize;

use crate::merkle::Node;
use crate::Result;

/// Jobs in flight per worker.
const DEPTH: usize = 3;

/// A run of consecutive chunks, in one buffer. Its bytes are plaintext at some stage of
/// every run, so it has no `Debug` and wipes them when it is dropped (and before its
/// buffer moves to a larger allocation, see [`Job::resize`]).
#[derive(Default)]
pub(crate) struct Job {
    /// Index of the first chunk.
    pub first: u64,
    /// Number of chunks.
    pub count: usize,
    /// The bytes (layout is up to the stage functions).
    pub buf: Vec<u8>,
    /// Leaves computed by the worker.
    pub leaves: Vec<Node>,
}

impl Job {
    /// Sets the buffer's length to `len` (new bytes zero), wiping what it held first if
    /// it has to move to a larger allocation (a `Vec` that grows frees its old one as it
    /// is).
    pub fn resize(&mut self, len: usize) {
        if len > self.buf.capacity() {
            self.buf.zeroize();
            self.buf = Vec::with_capacity(len);
        }
        self.buf.resize(len, 0);
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

/// Runs `source -> process (in parallel) -> sink` until `source` returns `None`.
///
/// `source` gets a recycled job shell to fill. An error from `source` is returned after
/// the jobs already in flight went through (so an earlier chunk's error wins); an error
/// from `process` or `sink` stops at once.
pub(crate) fn run<Src, Proc, Sink>(
    threads: usize,
    mut source: Src,
    process: &Proc,
    mut sink: Sink,
) -> Result<()>
where
    Src: FnMut(Job) -> Result<Option<Job>>,
    Proc: Fn(&mut Job) -> Result<()> + Sync,
    Sink: FnMut(&mut Job) -> Result<()>,
{
    if threads <= 1 {
        let mut shell = Job::default();
        while let Some(mut job) = source(shell)? {
            process(&mut job)?;
            sink(&mut job)?;
            shell = job;
        }
        return Ok(());
    }
    thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(threads);
        let mut outputs = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (in_tx, in_rx) = sync_channel::<Job>(1);
            let (out_tx, out_rx) = sync_channel::<(Job, Result<()>)>(DEPTH);
            scope.spawn(move || {
                for mut job in in_rx {
                    let r = process(&mut job);
                    if out_tx.send((job, r)).is_err() {
                        break;
                    }
                }
            });
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        // Dropping `inputs` and `outputs` (on return, also early) stops the workers.
        let mut shells: Vec<Job> = Vec::new();
        let mut in_flight: VecDeque<usize> = VecDeque::new();
        let mut next_worker = 0;
        let mut source_done = false;
        let mut source_err = None;
        loop {
            while !source_done && in_flight.len() < threads * DEPTH {
                match source(shells.pop().unwrap_or_default()) {
                    Ok(Some(job)) => {
                        inputs[next_worker].send(job).expect("worker alive");
                        in_flight.push_back(next_worker);
                        next_worker = (next_worker + 1) % threads;
                    }
                    Ok(None) => source_done = true,
                    Err(e) => {
                        source_done = true;
                        source_err = Some(e);
                    }
                }
            }
            let Some(w) = in_flight.pop_front() else {
                break;
            };
            let (mut job, r) = outputs[w].recv().expect("worker alive");
            r?;
            sink(&mut job)?;
            shells.push(job);
        }
        source_err.map_or(Ok(()), Err)
    })
}
