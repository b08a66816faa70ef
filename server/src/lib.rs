//! The Switchboard server: configuration, startup and shutdown, the HTTP
//! routes (SSR pages, server functions, health), and the subcommands.

pub mod api;
pub mod cli;
pub mod config;
pub mod health;
pub mod hub;
pub mod metrics;
pub mod security;
pub mod seed;
pub mod startup;
pub mod telemetry;

pub use startup::{AppState, Application};
