//! Helpers shared by the consumers' test crates.

pub mod smtp;
