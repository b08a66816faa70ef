//! The e-mail outbox (`mail_log`): what the consumers decided to mail, and
//! whether it went out.
//!
//! A consumer [`enqueue`]s a message inside the transaction that records its
//! event, so a message exists if and only if its cause committed, once per
//! source and recipient. The mail worker (`consumers::mail`) then
//! [`claim_due`]s messages, sends each with no transaction open, and calls
//! [`mark_sent`] or [`record_failure`]. Sending is at-least-once: a worker
//! that dies after the SMTP server accepted a message but before
//! [`mark_sent`] leaves it claimed, and it is sent once more when the lease
//! lapses.

#[cfg(feature = "server")]
pub use server::*;

/// A message is given up after this many failed attempts.
pub const MAX_MAIL_ATTEMPTS: i32 = 10;

#[cfg(feature = "server")]
mod server {
    use super::MAX_MAIL_ATTEMPTS;
    use crate::Result;
    use sqlx::{PgConnection, PgPool};

    /// A message the worker has claimed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct QueuedMail {
        pub id: i64,
        pub recipient: String,
        pub subject: String,
        pub body: String,
        /// Attempts made before this one.
        pub attempts: i32,
    }

    /// Records a message to send after the caller's transaction commits.
    /// `source` is what caused it (an event id, a blast id); a repeat for
    /// the same source and recipient adds nothing. Returns whether it added
    /// the message. `session` is the session the message is about, so that
    /// erasing its customer finds it.
    pub async fn enqueue(
        conn: &mut PgConnection,
        source: uuid::Uuid,
        session: Option<crate::types::SessionId>,
        recipient: &str,
        subject: &str,
        body: &str,
    ) -> Result<bool> {
        let added = sqlx::query!(
            "INSERT INTO mail_log (event_id, session_id, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (event_id, recipient) DO NOTHING",
            source,
            session.map(|s| s.0),
            recipient,
            subject,
            body,
        )
        .execute(conn)
        .await?
        .rows_affected();
        Ok(added > 0)
    }

    /// Claims up to `limit` due messages (`FOR UPDATE SKIP LOCKED`, pushing
    /// their next attempt out by `lease_secs`, so that a concurrent worker
    /// skips them and a crashed one's come back). One short statement: no
    /// connection is held while the messages are sent.
    pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<QueuedMail>> {
        Ok(sqlx::query_as!(
            QueuedMail,
            "WITH due AS (
                 SELECT id FROM mail_log WHERE next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE mail_log m SET next_attempt_at = now() + make_interval(secs => $2)
             FROM due WHERE m.id = due.id
             RETURNING m.id, m.recipient, m.subject, m.body, m.attempts",
            limit,
            lease_secs,
        )
        .fetch_all(pool)
        .await?)
    }

    /// The SMTP server took the message.
    pub async fn mark_sent(pool: &PgPool, id: i64) -> Result<()> {
        sqlx::query!(
            "UPDATE mail_log SET sent_at = now(), attempts = attempts + 1, error = NULL,
                 next_attempt_at = NULL WHERE id = $1",
            id
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: a retry with exponential backoff (1 s, 2 s,
    /// 4 s, …), or none when `permanent` or after [`MAX_MAIL_ATTEMPTS`].
    /// Returns the delay of the retry, if any.
    pub async fn record_failure(
        pool: &PgPool,
        mail: &QueuedMail,
        error: &str,
        permanent: bool,
    ) -> Result<Option<i64>> {
        let attempts = mail.attempts + 1;
        let retry =
            (!permanent && attempts < MAX_MAIL_ATTEMPTS).then(|| crate::webhooks::backoff_secs(attempts));
        let error: String = error.chars().take(1000).collect();
        sqlx::query!(
            "UPDATE mail_log SET attempts = $2, error = $3,
                 next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1",
            mail.id,
            attempts,
            error,
            retry.map(|s| s as f64),
        )
        .execute(pool)
        .await?;
        Ok(retry)
    }
}
