//! Outgoing e-mail over SMTP, and the worker that sends what the consumers
//! queued in `mail_log` ([`domain::mail_log`]).
//!
//! `SMTP_URL` is parsed by lettre ([`AsyncSmtpTransport::from_url`]):
//! - `smtp://host[:port]`: plain SMTP (port 25), for a local relay;
//! - `smtp://host[:port]?tls=required`: STARTTLS, refused without it (587);
//! - `smtp://host[:port]?tls=opportunistic`: STARTTLS when offered (587);
//! - `smtps://host[:port]`: TLS from the first byte (465).
//!
//! Credentials go in the user-info part, percent-encoded
//! (`smtps://me%40example.com:p%40ss@mail.example.com`). TLS is rustls with
//! the WebPKI roots.
//!
//! Sending never happens inside a database transaction: the consumers record
//! each message in `mail_log` in the transaction that records their event,
//! and this worker sends it after that commit, then marks it sent. A crash
//! between the SMTP server accepting a message and the mark sends it once
//! more, when its lease lapses (at-least-once). A slow or stalled SMTP server
//! holds no database connection: rows are claimed and marked in short
//! statements of their own. Runs in the server in embedded mode and in the
//! consumers sidecar, like the webhook delivery worker.

use std::time::Duration;

use domain::mail_log::{self, QueuedMail};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The default sender, overridden by `MAIL_FROM`.
pub const DEFAULT_FROM: &str = "Switchboard <no-reply@switchboard.localhost>";
/// lettre's limit on each SMTP exchange.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages claimed per round.
const BATCH: i64 = 8;
/// A claimed message comes back after this long if its worker dies; well
/// beyond what one send may take.
const LEASE_SECS: f64 = 120.0;
const IDLE: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The bound on one whole send (connect, TLS, dialogue).
    deadline: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Retrying cannot help (a bad address, a 5xx answer).
    pub permanent: bool,
    pub message: String,
}

impl Mailer {
    /// A mailer for `smtp_url` (see the module docs), sending as `from`.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, String> {
        Self::with_timeout(smtp_url, from, SMTP_TIMEOUT)
    }

    /// As [`new`](Self::new), giving up on an SMTP exchange after `timeout`
    /// (and on a whole send after twice that).
    pub fn with_timeout(smtp_url: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.trim())
            .map_err(|e| format!("SMTP_URL: {e} (expected smtp://, smtp://…?tls=required or smtps://)"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("MAIL_FROM: {e}"))?;
        Ok(Self { transport, from, deadline: timeout * 2 })
    }

    /// The mailer configured by `SMTP_URL` (and `MAIL_FROM`), or `None`
    /// when `SMTP_URL` is unset or invalid (logged): e-mail is then off.
    pub fn from_env() -> Option<Self> {
        let url = std::env::var("SMTP_URL").ok().filter(|u| !u.trim().is_empty())?;
        let from = std::env::var("MAIL_FROM").unwrap_or_else(|_| DEFAULT_FROM.to_owned());
        match Self::new(&url, &from) {
            Ok(mailer) => Some(mailer),
            Err(err) => {
                tracing::error!(error = %err, "e-mail is off: bad mail configuration");
                None
            }
        }
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let permanent = |message: String| SendError { permanent: true, message };
        let to = to.parse::<Mailbox>().map_err(|e| permanent(format!("recipient {to:?}: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| permanent(format!("building the message: {e}")))?;
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError { permanent: e.is_permanent(), message: format!("SMTP: {e}") }),
            Err(_) => Err(SendError {
                permanent: false,
                message: format!("SMTP: no answer within {:?}", self.deadline),
            }),
        }
    }
}

/// Sends the due messages once (batch after batch until none is due).
/// Returns how many it attempted.
pub async fn send_due(pool: &PgPool, mailer: &Mailer) -> Result<usize, domain::Error> {
    crate::worker::drain(
        "e-mail",
        || Box::pin(mail_log::claim_due(pool, BATCH, LEASE_SECS)),
        |m: QueuedMail| Box::pin(async move { send_one(pool, mailer, &m).await }),
        |m| m.id,
    )
    .await
}

async fn send_one(pool: &PgPool, mailer: &Mailer, mail: &QueuedMail) -> Result<(), domain::Error> {
    match mailer.send(&mail.recipient, &mail.subject, &mail.body).await {
        Ok(()) => mail_log::mark_sent(pool, mail.id).await,
        Err(err) => {
            let retry = mail_log::record_failure(pool, mail, &err.message, err.permanent).await?;
            match retry {
                Some(secs) => {
                    tracing::info!(mail = mail.id, error = %err, retry_in_secs = secs, "e-mail not sent; will retry")
                }
                None => tracing::warn!(mail = mail.id, error = %err, "e-mail given up"),
            }
            Ok(())
        }
    }
}

/// Sends until `stop`, polling for due messages. Errors are logged and the
/// loop goes on.
pub async fn run(pool: PgPool, mailer: Mailer, stop: CancellationToken) {
    crate::worker::poll("e-mail", &stop, IDLE, || Box::pin(send_due(&pool, &mailer))).await
}

#[cfg(test)]
mod tests {
    use super::Mailer;

    #[test]
    fn smtp_urls_are_parsed_by_lettre() {
        let from = "a@b.test";
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@mail.example:587/",
            "smtp://relay",
            "smtp://mail.example?tls=required",
            "smtp://mail.example:2587?tls=opportunistic",
            "smtps://me%40example.com:p%40ss%3Aw0rd@mail.example.com",
        ] {
            assert!(Mailer::new(ok, from).is_ok(), "{ok}");
        }
        for bad in ["http://relay", "smtp://relay:x", "smtp://relay?tls=sometimes", "relay:25"] {
            let err = Mailer::new(bad, from).expect_err(bad);
            assert!(err.starts_with("SMTP_URL"), "{err}");
        }
    }
}
