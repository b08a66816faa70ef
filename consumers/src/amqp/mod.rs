//! The RabbitMQ transport: the topology, the relay's [`AmqpPublisher`], and
//! the per-consumer supervisor loop ([`run_consumer`]).
//!
//! Topology (every name starts with the configurable prefix, by default
//! `switchboard.`), declared idempotently by publishers and consumers alike:
//! - `{prefix}events`: durable topic exchange; routing key = event topic.
//! - `{prefix}{consumer}`: durable quorum queue per consumer, bound with each
//!   of the handler's bindings, `x-delivery-limit = 5`, dead-lettering to
//!   `{prefix}dlx` with routing key `{consumer}`.
//! - `{prefix}dlx`: durable direct exchange; `{prefix}{consumer}.dead` is
//!   bound to it with routing key `{consumer}`.
//! - `{prefix}{consumer}.retry`: durable queue with `x-message-ttl`
//!   ([`RETRY_DELAY`]) dead-lettering to the default exchange with routing key
//!   `{prefix}{consumer}`: an expired retry goes back to that consumer only.
//! - `{prefix}node.{node_id}`: exclusive auto-delete queue per server node,
//!   bound with `#` (the WebSocket hub's fan-out), and to `{prefix}live`, a
//!   fan-out exchange for ephemeral frames (typing, read receipts).

mod consumer;
mod node;
mod publisher;
mod select;
mod topology;

use std::{future::Future, time::Duration};

pub use consumer::{AmqpConsumer, run_consumer};
pub use node::{NodeDelivery, run_node_feed};
pub use publisher::AmqpPublisher;
pub use select::select_handlers;
pub use topology::{
    DELIVERY_LIMIT, RETRY_DELAY, dead_queue, declare_consumer_topology, declare_node_queue, declare_topology,
    dlx, events_exchange, live_exchange, node_queue, queue, retry_queue,
};

/// The timeout of every single network operation (connect, declare, publish,
/// ack).
pub const NET_TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `fut` for at most `limit`; errors and timeouts become a message
/// naming `what`.
pub(crate) async fn timed<T, E: std::fmt::Display>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(err)) => Err(format!("{what}: {err}")),
        Err(_) => Err(format!("{what}: timed out after {limit:?}")),
    }
}

/// Connects to the broker, naming the connection (visible in the management
/// UI and `rabbitmqctl list_connections`).
pub(crate) async fn connect(url: &str, name: &str) -> Result<lapin::Connection, String> {
    let props = lapin::ConnectionProperties::default().with_connection_name(name.to_owned().into());
    timed("amqp connect", NET_TIMEOUT, lapin::Connection::connect(url, props)).await
}
