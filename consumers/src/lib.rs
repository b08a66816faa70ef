//! The queue consumers (the five of the design: notifications, presence,
//! automated chat, blast, tagging; and reports, which keeps the report
//! rollups) and the machinery that runs them.
//!
//! A [`Handler`] applies an event's effect inside the transaction that also
//! records the event in `processed`, so an effect happens exactly once however
//! often the event is delivered. Two transports feed handlers the same events:
//! - **embedded** (no broker): the relay copies each event into a per-consumer
//!   inbox table; each consumer drains its own inbox with retries and a
//!   dead-letter table ([`embedded`]);
//! - **RabbitMQ**: the relay publishes to a topic exchange; each consumer has
//!   its own quorum queue, channel and supervisor loop.

pub mod amqp;
pub mod blast;
pub mod embedded;
pub mod handler;
pub mod handlers;
pub mod mail;
pub mod metrics;
pub mod relay;
pub mod webhooks;
mod worker;

pub use handler::{BoxFuture, Handler, HandlerError, Inbox, Outcome, process, topic_matches};
