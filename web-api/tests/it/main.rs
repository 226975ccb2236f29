//! The web API over real HTTP and a real Postgres, in one test binary (each file a module).

mod api;
mod browser;
mod cli;
mod common;
mod events;
mod openapi;
mod search;
