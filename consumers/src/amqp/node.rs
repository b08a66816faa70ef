//! One server node's real-time feed over RabbitMQ: its own exclusive
//! auto-delete queue gets every event (and every ephemeral frame from the
//! other nodes), and the node publishes its own ephemeral frames to the
//! `live` fan-out exchange. This is what lets N nodes behind a load balancer
//! behave as one WebSocket hub.

use std::time::Duration;

use domain::outbox::Event;
use futures_util::StreamExt;
use lapin::{
    BasicProperties,
    options::{BasicConsumeOptions, BasicPublishOptions, BasicQosOptions},
    types::FieldTable,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{NET_TIMEOUT, connect, declare_node_queue, live_exchange, timed};

/// What the feed hands to the hub.
#[derive(Debug)]
pub enum NodeDelivery {
    /// A durable event from the outbox (any node's relay published it).
    Event(Event),
    /// An ephemeral frame another node (or this one) published, as JSON.
    Ephemeral(Vec<u8>),
}

/// Runs the feed until `stop`: (re)connects with backoff, declares the node
/// queue, consumes it without acks (the queue dies with the node; a client
/// that missed something replays it from the database), and publishes what
/// `outbound` yields to the `live` exchange.
pub async fn run_node_feed(
    url: String,
    prefix: String,
    node_id: String,
    deliver: impl Fn(NodeDelivery) + Send + Sync + 'static,
    mut outbound: mpsc::Receiver<Vec<u8>>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let result = session(&url, &prefix, &node_id, &deliver, &mut outbound, &stop).await;
        if stop.is_cancelled() {
            return;
        }
        match result {
            Ok(()) => tracing::warn!("real-time feed ended; reconnecting"),
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "real-time feed lost")
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn session(
    url: &str,
    prefix: &str,
    node_id: &str,
    deliver: &(impl Fn(NodeDelivery) + Send + Sync),
    outbound: &mut mpsc::Receiver<Vec<u8>>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let conn = connect(url, &format!("switchboard-node-{node_id}")).await?;
    let channel = timed("open channel", NET_TIMEOUT, conn.create_channel()).await?;
    let queue = declare_node_queue(&channel, prefix, node_id).await?;
    timed("basic.qos", NET_TIMEOUT, channel.basic_qos(1000, BasicQosOptions::default())).await?;
    let mut deliveries = timed(
        "basic.consume",
        NET_TIMEOUT,
        channel.basic_consume(
            queue.as_str().into(),
            format!("hub-{node_id}").as_str().into(),
            BasicConsumeOptions { no_ack: true, exclusive: true, ..BasicConsumeOptions::default() },
            FieldTable::default(),
        ),
    )
    .await?;
    let live = live_exchange(prefix);
    tracing::info!(queue = %queue, "real-time feed connected");
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.close(200, "shutdown".into())).await;
                return Ok(());
            }
            next = deliveries.next() => match next {
                None => return Ok(()),
                Some(Err(err)) => return Err(format!("consume: {err}")),
                Some(Ok(delivery)) => {
                    if delivery.exchange.as_str() == live {
                        deliver(NodeDelivery::Ephemeral(delivery.data));
                    } else {
                        match serde_json::from_slice::<Event>(&delivery.data) {
                            Ok(event) => deliver(NodeDelivery::Event(event)),
                            Err(err) => tracing::warn!(error = %err, "unreadable event on the node queue; skipped"),
                        }
                    }
                }
            },
            Some(body) = outbound.recv() => {
                // Ephemeral: no confirms, not persistent; a lost typing
                // indicator is harmless.
                timed(
                    "basic.publish (live)",
                    NET_TIMEOUT,
                    channel.basic_publish(
                        live.as_str().into(),
                        "".into(),
                        BasicPublishOptions::default(),
                        &body,
                        BasicProperties::default().with_content_type("application/json".into()),
                    ),
                )
                .await?;
            }
        }
    }
}
