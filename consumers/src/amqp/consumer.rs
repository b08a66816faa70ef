//! One consumer's supervisor loop on RabbitMQ.
//!
//! Each consumer owns a connection and a channel: connect → declare →
//! `basic.qos(prefetch)` → consume with manual acks. Deliveries are handled
//! one at a time through [`process`] (exactly-once effects via `processed`):
//! - success or duplicate → ack;
//! - retryable failure → a copy with `x-attempt + 1` goes to
//!   `{prefix}{consumer}.retry` (confirmed), then the original is acked; the
//!   copy comes back to this consumer's queue after the retry queue's TTL;
//! - the 5th failed attempt, a permanent failure or an unreadable message →
//!   nack without requeue: the broker dead-letters it through `{prefix}dlx`
//!   to `{prefix}{consumer}.dead` (and a `dead_letters` row is written for
//!   operators, as in embedded mode).
//!
//! A lost connection or an ended consumer stream is logged and followed by a
//! reconnect with backoff (100 ms doubling to 10 s); unacked deliveries come
//! back from the broker and are recognised as duplicates.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering::Relaxed},
    },
    time::Duration,
};

use domain::outbox::Event;
use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
        BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{NET_TIMEOUT, connect, queue, retry_queue, timed};
use crate::{Handler, HandlerError, Outcome, embedded::MAX_ATTEMPTS, metrics::ConsumerMetrics, process};

/// The header counting failed attempts carried by retry copies.
pub const ATTEMPT_HEADER: &str = "x-attempt";
const LAG_EVERY: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// One consumer on RabbitMQ. Build it, keep [`AmqpConsumer::connected`] for
/// health checks, then [`AmqpConsumer::run`] it.
pub struct AmqpConsumer {
    pub url: String,
    pub prefix: String,
    pub pool: PgPool,
    pub handler: Arc<dyn Handler>,
    pub metrics: Arc<ConsumerMetrics>,
    pub prefetch: u16,
    /// The longest a handler may take on one event before it counts as a
    /// retryable failure.
    pub handler_timeout: Duration,
    /// True while subscribed to the queue.
    pub connected: Arc<AtomicBool>,
}

/// Runs one consumer until `stop` (see [`AmqpConsumer`]).
pub async fn run_consumer(
    amqp_url: &str,
    prefix: &str,
    pool: PgPool,
    handler: Arc<dyn Handler>,
    metrics: Arc<ConsumerMetrics>,
    prefetch: u16,
    stop: CancellationToken,
) {
    AmqpConsumer::new(amqp_url, prefix, pool, handler, metrics, prefetch).run(stop).await;
}

/// Why a session ended.
enum End {
    Stopped,
    Failed(String),
}

impl AmqpConsumer {
    pub fn new(
        url: &str,
        prefix: &str,
        pool: PgPool,
        handler: Arc<dyn Handler>,
        metrics: Arc<ConsumerMetrics>,
        prefetch: u16,
    ) -> Self {
        Self {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            pool,
            handler,
            metrics,
            prefetch: prefetch.max(1),
            handler_timeout: Duration::from_secs(60),
            connected: Arc::new(AtomicBool::new(false)),
        }
    }

    fn name(&self) -> &'static str {
        self.handler.name()
    }

    /// The supervisor loop: (re)connects with backoff until `stop`.
    pub async fn run(&self, stop: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        while !stop.is_cancelled() {
            let mut subscribed = false;
            let end = self.session(&stop, &mut subscribed).await;
            self.connected.store(false, Relaxed);
            match end {
                End::Stopped => break,
                End::Failed(err) => {
                    if subscribed {
                        backoff = BACKOFF_MIN;
                    }
                    tracing::warn!(consumer = self.name(), error = %err, ?backoff, "consumer disconnected; reconnecting");
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        tracing::info!(consumer = self.name(), "consumer stopped");
    }

    /// One connection's life.
    async fn session(&self, stop: &CancellationToken, subscribed: &mut bool) -> End {
        let conn = match connect(&self.url, &format!("switchboard-consumer-{}", self.name())).await {
            Ok(c) => c,
            Err(e) => return End::Failed(e),
        };
        let end = match self.subscribe(&conn, stop, subscribed).await {
            Ok(()) => End::Stopped,
            Err(e) => End::Failed(e),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.close(200, "bye".into())).await;
        end
    }

    async fn subscribe(
        &self,
        conn: &Connection,
        stop: &CancellationToken,
        subscribed: &mut bool,
    ) -> Result<(), String> {
        let name = self.name();
        let channel = timed("open channel", NET_TIMEOUT, conn.create_channel()).await?;
        super::declare_consumer_topology(&channel, &self.prefix, name, self.handler.bindings()).await?;
        timed("basic.qos", NET_TIMEOUT, channel.basic_qos(self.prefetch, BasicQosOptions::default())).await?;
        timed("confirm.select", NET_TIMEOUT, channel.confirm_select(ConfirmSelectOptions::default())).await?;
        let tag = format!("{name}-{}", uuid::Uuid::new_v4());
        let mut deliveries = timed(
            "basic.consume",
            NET_TIMEOUT,
            channel.basic_consume(
                queue(&self.prefix, name).into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        *subscribed = true;
        self.connected.store(true, Relaxed);
        tracing::info!(consumer = name, prefetch = self.prefetch, "consuming");
        let mut lag = tokio::time::interval(LAG_EVERY);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                _ = lag.tick() => self.measure_lag(&channel).await?,
                next = deliveries.next() => match next {
                    Some(Ok(delivery)) => self.handle(&channel, delivery).await?,
                    Some(Err(err)) => return Err(format!("consumer stream: {err}")),
                    None => return Err("consumer stream ended".to_owned()),
                },
            }
        }
        // Graceful stop: no new deliveries; the one in flight (if any) was
        // finished above; prefetched but unhandled ones go back to the queue
        // when the channel closes.
        self.connected.store(false, Relaxed);
        let _ = timed(
            "basic.cancel",
            NET_TIMEOUT,
            channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()),
        )
        .await;
        let _ = timed("channel close", NET_TIMEOUT, channel.close(200, "shutdown".into())).await;
        Ok(())
    }

    async fn measure_lag(&self, channel: &Channel) -> Result<(), String> {
        let q = timed(
            "passive queue.declare",
            NET_TIMEOUT,
            channel.queue_declare(
                queue(&self.prefix, self.name()).into(),
                QueueDeclareOptions::durable().passive(),
                FieldTable::default(),
            ),
        )
        .await?;
        self.metrics.lag.store(i64::from(q.message_count()), Relaxed);
        Ok(())
    }

    /// Handles one delivery; an error means the channel is unusable.
    async fn handle(&self, channel: &Channel, delivery: Delivery) -> Result<(), String> {
        let name = self.name();
        let event: Event = match serde_json::from_slice(&delivery.data) {
            Ok(e) => e,
            Err(err) => {
                tracing::error!(consumer = name, error = %err, "unreadable message; dead-lettering");
                self.metrics.failed.fetch_add(1, Relaxed);
                self.metrics.dead_lettered.fetch_add(1, Relaxed);
                return reject(&delivery).await;
            }
        };
        let attempt = attempt_of(&delivery.properties);
        let outcome = match tokio::time::timeout(
            self.handler_timeout,
            process(&self.pool, self.handler.as_ref(), &event, None),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(HandlerError::Retry(format!("handler timed out after {:?}", self.handler_timeout))),
        };
        match outcome {
            Ok(done) => {
                match done {
                    Outcome::Done => self.metrics.applied(event.created_at),
                    Outcome::Duplicate => drop(self.metrics.duplicates.fetch_add(1, Relaxed)),
                }
                timed("basic.ack", NET_TIMEOUT, delivery.ack(BasicAckOptions::default())).await.map(drop)
            }
            Err(err) => {
                self.metrics.failed.fetch_add(1, Relaxed);
                let attempts = attempt + 1;
                let permanent = matches!(err, HandlerError::Permanent(_));
                if permanent || attempts >= MAX_ATTEMPTS as i64 {
                    tracing::error!(consumer = name, event = %event.event_id, attempts, error = %err, "dead-lettering event");
                    self.metrics.dead_lettered.fetch_add(1, Relaxed);
                    self.record_dead_letter(&event, &err, attempts).await;
                    reject(&delivery).await
                } else {
                    tracing::warn!(consumer = name, event = %event.event_id, attempts, error = %err, "retrying event later");
                    self.metrics.retried.fetch_add(1, Relaxed);
                    self.schedule_retry(channel, &delivery, attempts).await?;
                    timed("basic.ack", NET_TIMEOUT, delivery.ack(BasicAckOptions::default())).await.map(drop)
                }
            }
        }
    }

    /// Publishes a copy of `delivery` to the retry queue and waits for the
    /// broker's confirm.
    async fn schedule_retry(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        attempts: i64,
    ) -> Result<(), String> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongLongInt(attempts));
        let props: BasicProperties = delivery.properties.clone().with_headers(headers).with_delivery_mode(2);
        let confirm = timed(
            "publish retry",
            NET_TIMEOUT,
            channel.basic_publish(
                "".into(),
                retry_queue(&self.prefix, self.name()).into(),
                BasicPublishOptions::default(),
                &delivery.data,
                props,
            ),
        )
        .await?;
        let confirmation = timed("retry confirm", NET_TIMEOUT, confirm).await?;
        if confirmation.is_nack() {
            return Err("the broker nacked a retry copy".to_owned());
        }
        Ok(())
    }

    /// Records the event in `dead_letters` for operators; failing to is
    /// logged (the broker's `.dead` queue still has the message).
    async fn record_dead_letter(&self, event: &Event, err: &HandlerError, attempts: i64) {
        let result = sqlx::query!(
            "INSERT INTO dead_letters (consumer, event_id, topic, payload, error, attempts)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consumer, event_id) DO NOTHING",
            self.name(),
            event.event_id,
            &event.topic,
            &event.payload,
            err.to_string(),
            i32::try_from(attempts).unwrap_or(i32::MAX)
        )
        .execute(&self.pool);
        match tokio::time::timeout(NET_TIMEOUT, result).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(consumer = self.name(), error = %e, "cannot record dead letter"),
            Err(_) => tracing::warn!(consumer = self.name(), "recording dead letter timed out"),
        }
    }
}

/// Nack without requeue: the queue dead-letters the message.
async fn reject(delivery: &Delivery) -> Result<(), String> {
    let opts = BasicNackOptions { multiple: false, requeue: false };
    timed("basic.nack", NET_TIMEOUT, delivery.nack(opts)).await.map(drop)
}

/// Failed attempts so far, from the `x-attempt` header (0 when absent).
pub fn attempt_of(props: &BasicProperties) -> i64 {
    let Some(headers) = props.headers() else { return 0 };
    match headers.inner().get(ATTEMPT_HEADER) {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
        _ => 0,
    }
}
