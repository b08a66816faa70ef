//! Embedded mode's consumer loop: each consumer drains its own inbox table
//! (filled by the relay), oldest due first, claiming rows with
//! `FOR UPDATE SKIP LOCKED`. Success deletes the inbox row in the same
//! transaction as the effect; a failure schedules another attempt with
//! exponential backoff; after [`MAX_ATTEMPTS`] (or a permanent failure) the
//! event moves to `dead_letters`. Nothing is held in memory, so a crash loses
//! nothing, and no consumer waits for another.

use std::{sync::Arc, time::Duration};

use domain::{
    outbox::Event,
    types::{AccountId, SessionId},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{Handler, HandlerError, Outcome, metrics::ConsumerMetrics, process};

/// The delivery limit: attempts before an event is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 5;
const IDLE: Duration = Duration::from_millis(250);
/// A handler that takes longer than this is treated as failed (and retried),
/// so a hung dependency cannot pin an event forever.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(60);

/// Processes due inbox rows until none is left. Returns how many it handled.
pub async fn drain(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
) -> Result<usize, sqlx::Error> {
    let mut handled = 0;
    loop {
        let Some((event, attempts)) = claim(pool, handler.name()).await? else { return Ok(handled) };
        handled += 1;
        deliver(pool, handler, metrics, event, attempts).await?;
    }
}

/// The next due event for `consumer`, or `None`.
async fn claim(pool: &PgPool, consumer: &str) -> Result<Option<(Event, i32)>, sqlx::Error> {
    // A short transaction that only reserves the row: pushing its next
    // attempt out means a concurrent worker skips it, and a crash mid-way
    // brings it back after the reservation lapses.
    let row = sqlx::query!(
        "UPDATE consumer_inbox SET next_attempt_at = now() + interval '60 seconds'
         WHERE (consumer, outbox_id) = (
             SELECT consumer, outbox_id FROM consumer_inbox
             WHERE consumer = $1 AND next_attempt_at <= now()
             ORDER BY next_attempt_at, outbox_id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING outbox_id, attempts",
        consumer
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let event = sqlx::query_as!(
        Event,
        r#"SELECT id, event_id, topic, account_id AS "account_id: AccountId",
                  session_id AS "session_id: SessionId", payload, created_at
           FROM outbox WHERE id = $1"#,
        row.outbox_id
    )
    .fetch_one(pool)
    .await?;
    Ok(Some((event, row.attempts)))
}

async fn deliver(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
    event: Event,
    attempts: i32,
) -> Result<(), sqlx::Error> {
    use std::sync::atomic::Ordering::Relaxed;
    let consumer = handler.name();
    let outcome = match tokio::time::timeout(HANDLER_TIMEOUT, process(pool, handler, &event)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(HandlerError::Retry(format!("the handler took longer than {HANDLER_TIMEOUT:?}"))),
    };
    let attempts = attempts + 1;
    match outcome {
        Ok(done) => {
            match done {
                Outcome::Done => metrics.processed.fetch_add(1, Relaxed),
                Outcome::Duplicate => metrics.duplicates.fetch_add(1, Relaxed),
            };
            sqlx::query!(
                "DELETE FROM consumer_inbox WHERE consumer = $1 AND outbox_id = $2",
                consumer,
                event.id
            )
            .execute(pool)
            .await?;
        }
        Err(err) => {
            metrics.failed.fetch_add(1, Relaxed);
            let permanent = matches!(err, HandlerError::Permanent(_));
            if permanent || attempts >= MAX_ATTEMPTS {
                tracing::error!(consumer, event = %event.event_id, attempts, error = %err, "dead-lettering event");
                metrics.dead_lettered.fetch_add(1, Relaxed);
                let mut tx = pool.begin().await?;
                sqlx::query!(
                    "INSERT INTO dead_letters (consumer, event_id, topic, payload, error, attempts)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consumer, event_id) DO NOTHING",
                    consumer,
                    event.event_id,
                    &event.topic,
                    &event.payload,
                    err.to_string(),
                    attempts
                )
                .execute(&mut *tx)
                .await?;
                sqlx::query!(
                    "DELETE FROM consumer_inbox WHERE consumer = $1 AND outbox_id = $2",
                    consumer,
                    event.id
                )
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            } else {
                tracing::warn!(consumer, event = %event.event_id, attempts, error = %err, "retrying event later");
                metrics.retried.fetch_add(1, Relaxed);
                let backoff_ms = 200_i64 << attempts.min(10);
                sqlx::query!(
                    "UPDATE consumer_inbox SET attempts = $3, last_error = $4,
                            next_attempt_at = now() + make_interval(secs => $5)
                     WHERE consumer = $1 AND outbox_id = $2",
                    consumer,
                    event.id,
                    attempts,
                    err.to_string(),
                    backoff_ms as f64 / 1000.0
                )
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(())
}

/// Runs one consumer until `stop`, polling its inbox. Errors are logged and
/// the loop goes on.
pub async fn run(
    pool: PgPool,
    handler: Arc<dyn Handler>,
    metrics: Arc<ConsumerMetrics>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        match drain(&pool, handler.as_ref(), &metrics).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(consumer = handler.name(), error = %err, "inbox drain failed"),
        }
        let lag = sqlx::query_scalar!(
            r#"SELECT count(*) AS "lag!" FROM consumer_inbox WHERE consumer = $1"#,
            handler.name()
        )
        .fetch_one(&pool)
        .await;
        if let Ok(lag) = lag {
            metrics.lag.store(lag, std::sync::atomic::Ordering::Relaxed);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(IDLE) => {}
        }
    }
}
