//! The handler contract and the one place that makes effects idempotent.

use std::{future::Future, pin::Pin};

use domain::outbox::Event;
use sqlx::{PgConnection, PgPool};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying later (a dependency is down, a conflict).
    #[error("retryable: {0}")]
    Retry(String),
    /// Will never succeed (malformed event): dead-letter it at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retry(err.to_string())
    }
}

impl From<domain::Error> for HandlerError {
    fn from(err: domain::Error) -> Self {
        match err {
            domain::Error::Unavailable { .. } | domain::Error::Internal { .. } => {
                Self::Retry(err.to_string())
            }
            domain::Error::Conflict { ref code, .. } if code == "retry" => Self::Retry(err.to_string()),
            other => Self::Permanent(other.to_string()),
        }
    }
}

/// One consumer's logic.
pub trait Handler: Send + Sync + 'static {
    /// The consumer's name: its queue, its inbox, its metrics label.
    fn name(&self) -> &'static str;
    /// The topics it receives, in AMQP topic syntax (`session.*`, `#`).
    fn bindings(&self) -> &'static [&'static str];
    /// Whether, in embedded mode, several of its events may share one
    /// transaction (each in its own savepoint, so a failure still touches no
    /// other event). Only for handlers whose effects are quick database
    /// writes: one that waits on the network (a model) keeps the default,
    /// one transaction per event.
    fn shares_transactions(&self) -> bool {
        false
    }
    /// Which of `events` (each already bound to it by topic) it may act on,
    /// decided when the relay fans a batch out, in one read for the batch:
    /// an event it would only look at and drop then costs it no delivery
    /// (in embedded mode no inbox row, claim, `processed` row or
    /// transaction). It must keep every event that `handle` could act on,
    /// then or later: the state may change between the fan-out and the
    /// handling, and `handle` still checks. The default keeps them all.
    fn relevant<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        events: &'a [&'a Event],
    ) -> BoxFuture<'a, Result<Vec<bool>, HandlerError>> {
        let all = vec![true; events.len()];
        Box::pin(async move { Ok(all) })
    }
    /// Applies the event's effect inside `tx`, the transaction that also
    /// records the event as processed. An error rolls both back.
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// The session an event is about; an event that names none is malformed.
pub fn session_of(event: &Event) -> Result<domain::types::SessionId, HandlerError> {
    event
        .session_id
        .ok_or_else(|| HandlerError::Permanent(format!("{} event without a session", event.topic)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The effect was applied now.
    Done,
    /// This consumer had already processed the event: nothing was done.
    Duplicate,
}

/// An embedded-mode inbox row, removed in the transaction of its effect.
#[derive(Debug, Clone, Copy)]
pub struct Inbox<'a> {
    pub consumer: &'a str,
    pub outbox_id: i64,
}

/// Runs `handler` on `event` exactly once per consumer: the `processed` row
/// and the effect commit together, and a concurrent or later redelivery
/// waits on, then sees, that row. `inbox` (embedded mode) is deleted in the
/// same transaction, so a delivered event costs one commit.
pub async fn process(
    pool: &PgPool,
    handler: &dyn Handler,
    event: &Event,
    inbox: Option<Inbox<'_>>,
) -> Result<Outcome, HandlerError> {
    let mut tx = pool.begin().await?;
    let outcome = process_in(&mut tx, handler, event, inbox).await?;
    if outcome == Outcome::Done {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// [`process`] inside the caller's transaction (or savepoint), which the
/// caller commits when the outcome is [`Outcome::Done`]. A duplicate writes
/// nothing.
pub async fn process_in(
    tx: &mut PgConnection,
    handler: &dyn Handler,
    event: &Event,
    inbox: Option<Inbox<'_>>,
) -> Result<Outcome, HandlerError> {
    let fresh = sqlx::query!(
        "INSERT INTO processed (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        handler.name(),
        event.event_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if fresh == 0 {
        return Ok(Outcome::Duplicate);
    }
    handler.handle(&mut *tx, event).await?;
    if let Some(inbox) = inbox {
        sqlx::query!(
            "DELETE FROM consumer_inbox WHERE consumer = $1 AND outbox_id = $2",
            inbox.consumer,
            inbox.outbox_id
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(Outcome::Done)
}

/// AMQP topic matching: words separated by `.`, `*` matches one word, `#`
/// matches zero or more.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    fn go(p: &[&str], t: &[&str]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = topic.split('.').collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn topics_match_like_amqp() {
        assert!(topic_matches("session.opened", "session.opened"));
        assert!(topic_matches("session.*", "session.opened"));
        assert!(!topic_matches("session.*", "session.opened.extra"));
        assert!(topic_matches("#", "message.created"));
        assert!(topic_matches("session.#", "session"));
        assert!(topic_matches("*.created", "message.created"));
        assert!(!topic_matches("message.created", "session.opened"));
    }
}
