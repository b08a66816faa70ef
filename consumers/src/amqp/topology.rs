//! Names and idempotent declarations of the exchanges and queues.

use std::{sync::Arc, time::Duration};

use lapin::{
    Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString},
};

use super::{NET_TIMEOUT, timed};
use crate::Handler;

/// Broker-side delivery limit of the consumer queues: a message redelivered
/// this often (crashes, lost connections) is dead-lettered by the broker.
pub const DELIVERY_LIMIT: i64 = 5;
/// How long a failed event waits in its retry queue.
pub const RETRY_DELAY: Duration = Duration::from_millis(2000);

pub fn events_exchange(prefix: &str) -> String {
    format!("{prefix}events")
}
pub fn dlx(prefix: &str) -> String {
    format!("{prefix}dlx")
}
pub fn queue(prefix: &str, consumer: &str) -> String {
    format!("{prefix}{consumer}")
}
pub fn retry_queue(prefix: &str, consumer: &str) -> String {
    format!("{prefix}{consumer}.retry")
}
pub fn dead_queue(prefix: &str, consumer: &str) -> String {
    format!("{prefix}{consumer}.dead")
}
/// The fan-out exchange of ephemeral real-time frames (typing, read
/// receipts) between server nodes; never durable, never in the outbox.
pub fn live_exchange(prefix: &str) -> String {
    format!("{prefix}live")
}

pub fn node_queue(prefix: &str, node_id: &str) -> String {
    format!("{prefix}node.{node_id}")
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

async fn exchange(channel: &Channel, name: &str, kind: ExchangeKind) -> Result<(), String> {
    let opts = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    timed(
        &format!("declare exchange {name}"),
        NET_TIMEOUT,
        channel.exchange_declare(name.into(), kind, opts, FieldTable::default()),
    )
    .await
}

async fn declare_queue(
    channel: &Channel,
    name: &str,
    opts: QueueDeclareOptions,
    args: FieldTable,
) -> Result<(), String> {
    timed(&format!("declare queue {name}"), NET_TIMEOUT, channel.queue_declare(name.into(), opts, args))
        .await
        .map(drop)
}

async fn bind(channel: &Channel, queue: &str, exchange: &str, key: &str) -> Result<(), String> {
    timed(
        &format!("bind {queue} to {exchange} with {key}"),
        NET_TIMEOUT,
        channel.queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        ),
    )
    .await
}

async fn declare_exchanges(channel: &Channel, prefix: &str) -> Result<(), String> {
    exchange(channel, &events_exchange(prefix), ExchangeKind::Topic).await?;
    exchange(channel, &dlx(prefix), ExchangeKind::Direct).await
}

/// Declares the exchanges and one consumer's queues: its quorum queue (bound
/// with `bindings`), its retry queue and its dead-letter queue.
pub async fn declare_consumer_topology(
    channel: &Channel,
    prefix: &str,
    consumer: &str,
    bindings: &[&str],
) -> Result<(), String> {
    declare_exchanges(channel, prefix).await?;
    let main = queue(prefix, consumer);
    let durable = QueueDeclareOptions::durable();

    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), text("quorum"));
    args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(DELIVERY_LIMIT));
    args.insert("x-dead-letter-exchange".into(), text(&dlx(prefix)));
    args.insert("x-dead-letter-routing-key".into(), text(consumer));
    declare_queue(channel, &main, durable, args).await?;
    for key in bindings {
        bind(channel, &main, &events_exchange(prefix), key).await?;
    }

    let dead = dead_queue(prefix, consumer);
    declare_queue(channel, &dead, durable, FieldTable::default()).await?;
    bind(channel, &dead, &dlx(prefix), consumer).await?;

    let mut args = FieldTable::default();
    args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(RETRY_DELAY.as_millis() as i64));
    args.insert("x-dead-letter-exchange".into(), text(""));
    args.insert("x-dead-letter-routing-key".into(), text(&main));
    declare_queue(channel, &retry_queue(prefix, consumer), durable, args).await
}

/// Declares the whole topology for `handlers`. Idempotent: declaring what
/// exists with the same arguments is a no-op.
pub async fn declare_topology(
    channel: &Channel,
    prefix: &str,
    handlers: &[Arc<dyn Handler>],
) -> Result<(), String> {
    declare_exchanges(channel, prefix).await?;
    for h in handlers {
        declare_consumer_topology(channel, prefix, h.name(), h.bindings()).await?;
    }
    Ok(())
}

/// Declares this server node's fan-out queue (exclusive, auto-delete, bound
/// to every event) and returns its name.
pub async fn declare_node_queue(channel: &Channel, prefix: &str, node_id: &str) -> Result<String, String> {
    exchange(channel, &events_exchange(prefix), ExchangeKind::Topic).await?;
    let name = node_queue(prefix, node_id);
    declare_queue(channel, &name, QueueDeclareOptions::exclusive().auto_delete(), FieldTable::default())
        .await?;
    bind(channel, &name, &events_exchange(prefix), "#").await?;
    exchange(channel, &live_exchange(prefix), ExchangeKind::Fanout).await?;
    bind(channel, &name, &live_exchange(prefix), "").await?;
    Ok(name)
}
