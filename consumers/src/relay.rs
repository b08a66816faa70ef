//! The outbox relay: moves committed events out of the `outbox` table. It
//! wakes on `NOTIFY switchboard_outbox` with a short poll as the fallback
//! (notifications are lost across reconnects), claims a batch with
//! `FOR UPDATE SKIP LOCKED` (so several nodes can relay at once), hands it to
//! a [`Publisher`], and marks the rows published in the same transaction. A
//! crash before the mark means the batch is delivered again; consumers
//! ignore what they already processed.

use std::time::Duration;

use domain::{
    outbox::Event,
    types::{AccountId, SessionId},
};
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;

use crate::{BoxFuture, Handler, topic_matches};

pub const CHANNEL: &str = "switchboard_outbox";
const BATCH: i64 = 200;
const POLL: Duration = Duration::from_secs(1);

/// Where the relay delivers a batch. It succeeds only once every event of
/// the batch is safely handed over (broker confirms, or inbox rows written in
/// `tx`).
pub trait Publisher: Send + Sync + 'static {
    fn publish<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Embedded mode: each event goes into the inbox of every consumer bound to
/// its topic that may act on it ([`Handler::relevant`]), in the relay's
/// transaction.
pub struct InboxPublisher {
    handlers: Vec<std::sync::Arc<dyn Handler>>,
}

impl InboxPublisher {
    pub fn new(handlers: &[std::sync::Arc<dyn Handler>]) -> Self {
        Self { handlers: handlers.to_vec() }
    }
}

impl Publisher for InboxPublisher {
    fn publish<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            // One statement for the whole batch: a row per (consumer, event)
            // one round trip at a time made the relay, and with it every
            // live frame of embedded mode, fall behind 1,000 messages a
            // second (the outside bench's scenario 2).
            let (mut consumers, mut ids) = (Vec::new(), Vec::new());
            for handler in &self.handlers {
                let bound: Vec<&Event> = events
                    .iter()
                    .filter(|e| handler.bindings().iter().any(|p| topic_matches(p, &e.topic)))
                    .collect();
                if bound.is_empty() {
                    continue;
                }
                let keep = handler
                    .relevant(&mut *tx, &bound)
                    .await
                    .map_err(|e| format!("{}: choosing its events: {e}", handler.name()))?;
                if keep.len() != bound.len() {
                    return Err(format!(
                        "{}: chose among {} events, not {}",
                        handler.name(),
                        keep.len(),
                        bound.len()
                    ));
                }
                for (event, _) in bound.iter().zip(keep).filter(|(_, k)| *k) {
                    consumers.push(handler.name().to_owned());
                    ids.push(event.id);
                }
            }
            if ids.is_empty() {
                return Ok(());
            }
            sqlx::query!(
                "INSERT INTO consumer_inbox (consumer, outbox_id)
                 SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &consumers,
                &ids
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}

/// Relays one batch. Returns how many events it moved.
pub async fn relay_batch(pool: &PgPool, publisher: &dyn Publisher) -> Result<usize, String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let events = sqlx::query_as!(
        Event,
        r#"SELECT id, event_id, topic, account_id AS "account_id: AccountId",
                  session_id AS "session_id: SessionId", payload, created_at
           FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"#,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    if events.is_empty() {
        return Ok(0);
    }
    tokio::time::timeout(Duration::from_secs(30), publisher.publish(&mut tx, &events))
        .await
        .map_err(|_| "publishing timed out after 30 s".to_owned())??;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    sqlx::query!("UPDATE outbox SET published_at = now() WHERE id = ANY($1)", &ids)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(events.len())
}

/// Relays until `stop`: drains on every notification and every poll.
pub async fn run(pool: PgPool, publisher: std::sync::Arc<dyn Publisher>, stop: CancellationToken) {
    let mut listener: Option<PgListener> = None;
    let mut backoff = Duration::from_millis(100);
    while !stop.is_cancelled() {
        if listener.is_none() {
            listener = match PgListener::connect_with(&pool).await {
                Ok(mut l) => l.listen(CHANNEL).await.ok().map(|()| l),
                Err(err) => {
                    tracing::warn!(error = %err, "relay cannot LISTEN; polling only");
                    None
                }
            };
        }
        match relay_batch(&pool, publisher.as_ref()).await {
            Ok(n) if n > 0 => {
                backoff = Duration::from_millis(100);
                continue;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "relay batch failed; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        }
        let lost = tokio::select! {
            () = stop.cancelled() => return,
            lost = notified(&mut listener) => lost,
            () = tokio::time::sleep(POLL) => false,
        };
        if lost {
            listener = None;
        }
    }
}

/// Waits for a notification; true when the listener's connection was lost.
async fn notified(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(l) => l.recv().await.is_err(),
        None => std::future::pending().await,
    }
}

/// Deletes published events older than `keep` (embedded inboxes reference
/// rows they still need; those are kept), and the consumers' `processed`
/// records of that age: an event is not redelivered after so long.
pub async fn prune(pool: &PgPool, keep: Duration) -> Result<u64, sqlx::Error> {
    let secs = keep.as_secs() as i64;
    sqlx::query!("DELETE FROM processed WHERE processed_at < now() - make_interval(secs => $1)", secs as f64)
        .execute(pool)
        .await?;
    Ok(sqlx::query!(
        "DELETE FROM outbox o WHERE o.published_at < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM consumer_inbox i WHERE i.outbox_id = o.id)",
        secs as f64
    )
    .execute(pool)
    .await?
    .rows_affected())
}
