//! The `datamarket` CLI from the outside: every flow on a real node, in one test binary (each file a module; one link of the whole graph instead of one per file).

mod api;
mod common;
mod dispute;
mod errors;
mod flow;
mod jobs;
mod keys;
mod refund;
mod s3;
mod selectors;
mod watch;
mod watch_api;
