//! Example compute jobs. Each reads a CSV with a header row on stdin and prints one JSON
//! document on stdout; a job sees nothing else (DESIGN §8).

pub mod stats;
pub mod table;
pub mod trainer;
