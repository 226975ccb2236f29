//! The chain client on both backends, in one test binary (each file a module).

mod install_node;
mod scenario;
