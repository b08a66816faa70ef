//! The loop the outbox workers share (webhook deliveries, e-mail): claim due
//! rows in leased batches (`FOR UPDATE SKIP LOCKED` in the claim), attempt
//! each batch concurrently with no transaction open, record each outcome on
//! its own, and poll when nothing is due.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::BoxFuture;

/// Claims and attempts batch after batch until none is due. Returns how
/// many attempts it made. A failure to record one outcome is logged and
/// does not hold up the others: that row comes back when its lease lapses.
pub(crate) async fn drain<'a, T>(
    what: &'static str,
    claim: impl Fn() -> BoxFuture<'a, domain::Result<Vec<T>>>,
    attempt: impl Fn(T) -> BoxFuture<'a, domain::Result<()>>,
    id: impl Fn(&T) -> i64,
) -> domain::Result<usize> {
    let mut attempts = 0;
    loop {
        let due = claim().await?;
        if due.is_empty() {
            return Ok(attempts);
        }
        attempts += due.len();
        let ids: Vec<i64> = due.iter().map(&id).collect();
        let results = futures_util::future::join_all(due.into_iter().map(&attempt)).await;
        for (id, result) in ids.into_iter().zip(results) {
            if let Err(err) = result {
                tracing::warn!(what, id, error = %err, "recording an outcome failed; it comes back later");
            }
        }
    }
}

/// Runs `round` until `stop`, again at once after a round that did
/// something, else after `idle`. Errors are logged and the loop goes on.
pub(crate) async fn poll<'a>(
    what: &'static str,
    stop: &CancellationToken,
    idle: Duration,
    round: impl Fn() -> BoxFuture<'a, domain::Result<usize>>,
) {
    while !stop.is_cancelled() {
        match round().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(what, error = %err, "round failed; retrying"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(idle) => {}
        }
    }
}
