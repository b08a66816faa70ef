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

/// Runs until `stop`. With `SMTP_URL` set it also hands the recipients who
/// were offline when the blast reached them to the e-mail outbox (the mail
/// worker, [`crate::mail`], sends them).
pub async fn run(pool: PgPool, stop: CancellationToken) {
    let mail_on = crate::mail::Mailer::from_env().is_some();
    while !stop.is_cancelled() {
        if mail_on {
            match queue_emails(&pool).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
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

/// Hands a batch of offline recipients' e-mails to the e-mail outbox, in
/// one short transaction (nothing is sent while it is open). Returns how
/// many it handed over.
pub async fn queue_emails(pool: &PgPool) -> domain::Result<u64> {
    let mut tx = pool.begin().await?;
    let handed = blasts::queue_emails(&mut tx, 100).await?;
    tx.commit().await?;
    Ok(handed)
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
