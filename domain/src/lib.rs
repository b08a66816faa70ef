//! The session core. The model types in this crate compile everywhere, WASM
//! included; the `server` feature adds the PostgreSQL-backed operations that
//! every client (REST, server functions, consumers) calls.

pub mod error;
pub mod system;

#[cfg(feature = "server")]
pub mod db;

pub use error::{Error, Result};
