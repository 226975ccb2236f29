//! The contracts on the real pallet-contracts runtime, in one test binary (each file a module).

mod bundles;
mod compute;
mod disputes;
mod money_paths;
mod refusals;
mod solvency;
