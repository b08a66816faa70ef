//! The blast worker: sends running blasts to their pending recipients, one
//! transaction per recipient, paced by each blast's `rate_per_minute`.
//!
//! It keeps nothing in memory that matters: the recipients still to do, the
//! counters and the pace all live in the database
//! ([`domain::blasts::send_to_next`]). So a crash or a kill at any point
//! loses nothing and sends nothing twice, a restart carries on where the
//! last committed send left off, and several workers (the server in
//! embedded mode, sidecars) may run at once: they share the pace and never
//! claim the same recipient.

use std::time::Duration;

use domain::blasts::{self, Step};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often an idle worker looks for running blasts.
pub const IDLE: Duration = Duration::from_millis(500);
/// The pause after a failure (the database is down, say).
const BACKOFF: Duration = Duration::from_secs(2);

/// Runs until `stop`. With `SMTP_URL` set it also e-mails the recipients
/// who were offline when the blast reached them.
pub async fn run(pool: PgPool, stop: CancellationToken) {
    let mailer = crate::mail::Mailer::from_env();
    while !stop.is_cancelled() {
        if let Some(mailer) = &mailer {
            match email_one(&pool, mailer).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "blast e-mail step failed; retrying"),
            }
        }
        let pause = match tick(&pool).await {
            Ok(pause) => pause,
            Err(err) => {
                tracing::warn!(error = %err, "blast worker step failed; retrying");
                BACKOFF
            }
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// E-mails one offline recipient, if any is waiting. At-least-once: the row
/// stays locked while the mail is sent and is cleared in the same
/// transaction, so only a crash between the send and the commit sends twice.
/// An address the server refuses is recorded and not retried. Returns
/// whether there was one.
pub async fn email_one(pool: &PgPool, mailer: &crate::mail::Mailer) -> domain::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(email) = blasts::next_email(&mut tx).await? else { return Ok(false) };
    let subject = format!("A message from {}", email.account_name);
    match mailer.send(&email.email, &subject, &email.body).await {
        Ok(()) => blasts::email_sent(&mut tx, &email, None).await?,
        Err(error) if error.starts_with("recipient") => {
            blasts::email_sent(&mut tx, &email, Some(&error)).await?
        }
        // The server is down: leave it pending and try again later.
        Err(error) => return Err(domain::Error::Unavailable { message: error }),
    }
    tx.commit().await?;
    Ok(true)
}

/// One step: sends to the next recipient of the running blast due soonest.
/// Returns how long to wait before the next step.
pub async fn tick(pool: &PgPool) -> domain::Result<Duration> {
    let Some((blast, wait)) = blasts::next_due(pool).await? else { return Ok(IDLE) };
    if !wait.is_zero() {
        return Ok(wait.min(IDLE));
    }
    let mut tx = pool.begin().await?;
    let step = blasts::send_to_next(&mut tx, blast).await?;
    tx.commit().await?;
    Ok(match step {
        Step::Sent { .. } | Step::Stopped => Duration::ZERO,
        Step::Failed { customer_id, error } => {
            tracing::warn!(blast = %blast, customer = %customer_id, %error, "blast recipient failed");
            Duration::ZERO
        }
        Step::Finished => {
            tracing::info!(blast = %blast, "blast done");
            Duration::ZERO
        }
        Step::NotYet(wait) => wait.min(IDLE),
    })
}
