//! The indexer on a real Postgres, in one test binary (each file a module).

mod common;
mod crash;
mod index;
