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

use crate::{Handler, HandlerError, Inbox, Outcome, handler::process_in, metrics::ConsumerMetrics, process};

/// The delivery limit: attempts before an event is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 5;
const IDLE: Duration = Duration::from_millis(250);
/// How often a draining consumer re-counts its backlog.
const LAG_EVERY: Duration = Duration::from_secs(1);
/// A handler that takes longer than this is treated as failed (and retried),
/// so a hung dependency cannot pin an event forever.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(60);

/// How many due inbox rows one claim reserves. Claiming and loading a batch
/// costs two statements instead of two per event; each event is still
/// processed in its own transaction, so one failure touches no other.
pub const CLAIM_BATCH: i64 = 32;

/// Processes due inbox rows until none is left. Returns how many it handled.
pub async fn drain(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
) -> Result<usize, sqlx::Error> {
    let mut handled = 0;
    let mut measured = std::time::Instant::now();
    loop {
        // A backlog is measured while it drains, not only once it is gone.
        if measured.elapsed() >= LAG_EVERY {
            measure_lag(pool, handler.name(), metrics).await;
            measured = std::time::Instant::now();
        }
        let batch = claim(pool, handler.name()).await?;
        if batch.is_empty() {
            return Ok(handled);
        }
        handled += batch.len();
        if handler.shares_transactions() {
            deliver_together(pool, handler, metrics, batch).await?;
        } else {
            for (event, attempts) in batch {
                deliver(pool, handler, metrics, event, attempts).await?;
            }
        }
    }
}

/// Up to [`CLAIM_BATCH`] due events for `consumer`, oldest due first.
async fn claim(pool: &PgPool, consumer: &str) -> Result<Vec<(Event, i32)>, sqlx::Error> {
    // One statement that only reserves the rows: pushing their next attempt
    // out means a concurrent worker skips them, and a crash mid-way brings
    // them back after the reservation lapses.
    let rows = sqlx::query!(
        r#"WITH due AS (
               SELECT consumer, outbox_id FROM consumer_inbox
               WHERE consumer = $1 AND next_attempt_at <= now()
               ORDER BY next_attempt_at, outbox_id LIMIT $2 FOR UPDATE SKIP LOCKED),
           reserved AS (
               UPDATE consumer_inbox i SET next_attempt_at = now() + interval '60 seconds'
               FROM due WHERE (i.consumer, i.outbox_id) = (due.consumer, due.outbox_id)
               RETURNING i.outbox_id, i.attempts)
           SELECT o.id AS "id!", o.event_id AS "event_id!", o.topic AS "topic!",
                  o.account_id AS "account_id: AccountId", o.session_id AS "session_id: SessionId",
                  o.payload AS "payload!", o.created_at AS "created_at!", r.attempts AS "attempts!"
           FROM reserved r JOIN outbox o ON o.id = r.outbox_id
           ORDER BY r.outbox_id"#,
        consumer,
        CLAIM_BATCH
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let event = Event {
                id: r.id,
                event_id: r.event_id,
                topic: r.topic,
                account_id: r.account_id,
                session_id: r.session_id,
                payload: r.payload,
                created_at: r.created_at,
            };
            (event, r.attempts)
        })
        .collect())
}

async fn deliver(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
    event: Event,
    attempts: i32,
) -> Result<(), sqlx::Error> {
    let inbox = Some(Inbox { consumer: handler.name(), outbox_id: event.id });
    let outcome = timed(process(pool, handler, &event, inbox)).await;
    settle(pool, handler, metrics, event, attempts, outcome).await
}

/// Delivers a claimed batch in one transaction, each event in its own
/// savepoint: an event that fails rolls back to its savepoint, and the
/// others commit together (one commit for the batch). Failures are then
/// scheduled or dead-lettered as in [`deliver`]. If the commit fails, nothing
/// of the batch happened and its reservations lapse into a retry.
async fn deliver_together(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
    batch: Vec<(Event, i32)>,
) -> Result<(), sqlx::Error> {
    use sqlx::Acquire;
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (event, attempts) in batch {
        let mut savepoint = tx.begin().await?;
        let inbox = Some(Inbox { consumer: handler.name(), outbox_id: event.id });
        let outcome = timed(process_in(&mut savepoint, handler, &event, inbox)).await;
        if matches!(outcome, Ok(Outcome::Done)) {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
        outcomes.push((event, attempts, outcome));
    }
    tx.commit().await?;
    for (event, attempts, outcome) in outcomes {
        settle(pool, handler, metrics, event, attempts, outcome).await?;
    }
    Ok(())
}

/// A handler's run, failed (to be retried) when it takes longer than
/// [`HANDLER_TIMEOUT`].
async fn timed(
    run: impl std::future::Future<Output = Result<Outcome, HandlerError>>,
) -> Result<Outcome, HandlerError> {
    match tokio::time::timeout(HANDLER_TIMEOUT, run).await {
        Ok(outcome) => outcome,
        Err(_) => Err(HandlerError::Retry(format!("the handler took longer than {HANDLER_TIMEOUT:?}"))),
    }
}

/// Records what became of a delivered event, after its effect committed or
/// rolled back: metrics, and for a failure its next attempt or its dead
/// letter.
async fn settle(
    pool: &PgPool,
    handler: &dyn Handler,
    metrics: &ConsumerMetrics,
    event: Event,
    attempts: i32,
    outcome: Result<Outcome, HandlerError>,
) -> Result<(), sqlx::Error> {
    use std::sync::atomic::Ordering::Relaxed;
    let consumer = handler.name();
    let attempts = attempts + 1;
    match outcome {
        Ok(done) => {
            match done {
                // The inbox row went with the effect, in its transaction.
                Outcome::Done => metrics.applied(event.created_at),
                Outcome::Duplicate => {
                    sqlx::query!(
                        "DELETE FROM consumer_inbox WHERE consumer = $1 AND outbox_id = $2",
                        consumer,
                        event.id
                    )
                    .execute(pool)
                    .await?;
                    metrics.duplicates.fetch_add(1, Relaxed);
                }
            }
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

/// Stores how many inbox rows wait for `consumer` (the `lag` gauge).
async fn measure_lag(pool: &PgPool, consumer: &str, metrics: &ConsumerMetrics) {
    let lag =
        sqlx::query_scalar!(r#"SELECT count(*) AS "lag!" FROM consumer_inbox WHERE consumer = $1"#, consumer)
            .fetch_one(pool)
            .await;
    if let Ok(lag) = lag {
        metrics.lag.store(lag, std::sync::atomic::Ordering::Relaxed);
    }
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
        measure_lag(&pool, handler.name(), &metrics).await;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(IDLE) => {}
        }
    }
}
