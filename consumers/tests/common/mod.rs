//! Helpers shared by the consumers' test crates.

pub mod bots;
pub mod smtp;
