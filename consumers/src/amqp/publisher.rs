//! The relay's RabbitMQ publisher: persistent messages with publisher
//! confirms, on one lazily (re)opened connection.

use std::{sync::Arc, time::Duration};

use domain::outbox::Event;
use lapin::{
    BasicProperties, Channel, Connection,
    options::{BasicPublishOptions, ConfirmSelectOptions},
};
use sqlx::PgConnection;
use tokio::sync::Mutex;

use super::{NET_TIMEOUT, connect, events_exchange, timed};
use crate::{BoxFuture, Handler, relay::Publisher};

/// How long a batch may wait for its confirms.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);

/// Publishes outbox events to `{prefix}events`, routing key = topic.
///
/// On (re)connect it declares the topology of `handlers`, so that no event
/// is published before its consumers' queues exist (a topic exchange drops
/// what no queue is bound to).
pub struct AmqpPublisher {
    url: String,
    prefix: String,
    handlers: Vec<Arc<dyn Handler>>,
    link: Mutex<Option<(Connection, Channel)>>,
}

impl AmqpPublisher {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>, handlers: Vec<Arc<dyn Handler>>) -> Self {
        Self { url: url.into(), prefix: prefix.into(), handlers, link: Mutex::new(None) }
    }

    async fn open(&self) -> Result<(Connection, Channel), String> {
        let conn = connect(&self.url, "switchboard-relay").await?;
        let channel = timed("open channel", NET_TIMEOUT, conn.create_channel()).await?;
        timed("confirm.select", NET_TIMEOUT, channel.confirm_select(ConfirmSelectOptions::default())).await?;
        super::declare_topology(&channel, &self.prefix, &self.handlers).await?;
        Ok((conn, channel))
    }

    async fn send(&self, channel: &Channel, events: &[Event]) -> Result<(), String> {
        let exchange = events_exchange(&self.prefix);
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_vec(event)
                .map_err(|e| format!("serializing event {}: {e}", event.event_id))?;
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.event_id.to_string().into())
                .with_type(event.topic.as_str().into())
                .with_timestamp(event.created_at.timestamp().max(0) as u64);
            let confirm = timed(
                "basic.publish",
                NET_TIMEOUT,
                channel.basic_publish(
                    exchange.as_str().into(),
                    event.topic.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    props,
                ),
            )
            .await?;
            confirms.push(confirm);
        }
        let all = async {
            for confirm in confirms {
                let confirmation = confirm.await.map_err(|e| format!("publisher confirm: {e}"))?;
                if confirmation.is_nack() {
                    return Err("the broker nacked a message".to_owned());
                }
            }
            Ok(())
        };
        match tokio::time::timeout(CONFIRM_TIMEOUT, all).await {
            Ok(result) => result,
            Err(_) => Err(format!("publisher confirms timed out after {CONFIRM_TIMEOUT:?}")),
        }
    }
}

impl Publisher for AmqpPublisher {
    fn publish<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut link = self.link.lock().await;
            if link.as_ref().is_some_and(|(conn, ch)| !conn.status().connected() || !ch.status().connected())
            {
                *link = None;
            }
            let channel = match link.as_ref() {
                Some((_, ch)) => ch.clone(),
                None => {
                    let (conn, ch) = self.open().await?;
                    *link = Some((conn, ch.clone()));
                    ch
                }
            };
            let result = self.send(&channel, events).await;
            if result.is_err() {
                // Start afresh next time: the channel may be unusable.
                if let Some((conn, _)) = link.take() {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        conn.close(200, "publish failed".into()),
                    )
                    .await;
                }
            }
            result
        })
    }
}
