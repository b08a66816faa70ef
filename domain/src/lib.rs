//! The session core. The model types in this crate compile everywhere, WASM
//! included; the `server` feature adds the PostgreSQL-backed operations that
//! every client (REST, server functions, consumers) calls. Each operation takes
//! an explicit [`actor::Actor`], checks it, runs in one transaction, and writes
//! its events to the outbox in that transaction.

pub mod accounts;
pub mod actor;
pub mod agents;
pub mod assist;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod blasts;
pub mod bot;
pub mod business_hours;
pub mod config;
pub mod conversation;
pub mod csat;
pub mod customers;
pub mod eligibility;
pub mod error;
pub mod import;
pub mod live;
pub mod mail_log;
pub mod monitor;
pub mod notifications;
pub mod outbox;
pub mod ratelimit;
pub mod reports;
pub mod scope;
pub mod search;
pub mod sessions;
pub mod support_types;
pub mod system;
pub mod text;
pub mod tokens;
pub mod types;
pub mod webhooks;
pub mod workspace;

#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod llm;
#[cfg(feature = "server")]
pub mod outbound;
#[cfg(feature = "server")]
pub mod sla;

pub use error::{Error, Result};
