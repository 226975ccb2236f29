//! The in-process runtime: ink_sandbox's minimal runtime (frame-system, balances,
//! timestamp, pallet-contracts), built here once for every in-process user (the
//! chain crate's `InProcessChain` backend, the contracts' runtime tests and
//! the gas report). drink 0.18 wraps the same macro; using ink_sandbox directly keeps
//! drink's test macro, and through it cargo-contract's build library and a C++ build of
//! binaryen, out of the build.

ink_sandbox::create_sandbox!(MinimalSandbox);
