//! The webhook delivery worker: picks due `webhook_deliveries` (reserved with
//! `FOR UPDATE SKIP LOCKED`, so several workers share the work), POSTs each
//! event's JSON, signed, to its webhook, and records the outcome: a 2xx is
//! delivered; anything else is retried with exponential backoff (1 s, 2 s,
//! 4 s, … capped), and after [`domain::webhooks::DISABLE_AFTER_FAILURES`]
//! consecutive failures the webhook is disabled and audited.
//!
//! Headers: `X-Switchboard-Event` (the topic), `X-Switchboard-Delivery` (the
//! delivery id; the same on retries), `X-Switchboard-Timestamp` (Unix seconds)
//! and `X-Switchboard-Signature` (see [`domain::webhooks`]).
//!
//! Runs in the server in embedded mode and in the consumers sidecar.

use std::time::Duration;

use domain::webhooks::{self, DueDelivery};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries reserved per round.
const BATCH: i64 = 16;
/// A reserved delivery comes back after this long if its worker dies.
const LEASE_SECS: f64 = 60.0;
const IDLE: Duration = Duration::from_millis(500);

/// The HTTP client deliveries go out with.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Delivers the due deliveries once (one batch after another until none is
/// due). Returns how many attempts it made.
pub async fn deliver_due(pool: &PgPool, client: &reqwest::Client) -> Result<usize, domain::Error> {
    let mut attempts = 0;
    loop {
        let due = webhooks::claim_due(pool, BATCH, LEASE_SECS).await?;
        if due.is_empty() {
            return Ok(attempts);
        }
        attempts += due.len();
        let results = futures_util::future::join_all(due.iter().map(|d| attempt(pool, client, d))).await;
        // A failure to record one outcome does not hold up the others; that
        // delivery comes back when its lease lapses.
        for (delivery, result) in due.iter().zip(results) {
            if let Err(err) = result {
                tracing::warn!(delivery = delivery.id, error = %err, "recording a webhook delivery failed");
            }
        }
    }
}

/// One POST and its bookkeeping.
async fn attempt(
    pool: &PgPool,
    client: &reqwest::Client,
    delivery: &DueDelivery,
) -> Result<(), domain::Error> {
    // Checked again at delivery: a public name may resolve to an internal
    // address (DNS rebinding), and the setting may have changed.
    if !webhooks::private_targets_allowed()
        && let Some(why) = private_target(&delivery.url).await
    {
        let disabled = webhooks::record_failure(pool, delivery, None, &why).await?;
        log_failure(delivery, &why, disabled);
        return Ok(());
    }
    let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = webhooks::sign(&delivery.secret_hex, timestamp, &body);
    let sent = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Switchboard-Event", &delivery.topic)
        .header("X-Switchboard-Delivery", delivery.id.to_string())
        .header("X-Switchboard-Timestamp", timestamp.to_string())
        .header("X-Switchboard-Signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => {
            webhooks::record_success(pool, delivery, res.status().as_u16()).await
        }
        Ok(res) => {
            let status = res.status();
            let disabled =
                webhooks::record_failure(pool, delivery, Some(status.as_u16()), &format!("HTTP {status}"))
                    .await?;
            log_failure(delivery, &format!("HTTP {status}"), disabled);
            Ok(())
        }
        Err(err) => {
            // Without the URL, which may hold credentials.
            let err = err.without_url().to_string();
            let disabled = webhooks::record_failure(pool, delivery, None, &err).await?;
            log_failure(delivery, &err, disabled);
            Ok(())
        }
    }
}

fn log_failure(delivery: &DueDelivery, error: &str, disabled: bool) {
    if disabled {
        tracing::warn!(webhook = %delivery.webhook_id, error, "webhook disabled after consecutive failures");
    } else {
        tracing::info!(webhook = %delivery.webhook_id, delivery = delivery.id, error, "webhook delivery failed; will retry");
    }
}

/// Delivers until `stop`, polling for due deliveries. Errors are logged and
/// the loop goes on.
pub async fn run(pool: PgPool, stop: CancellationToken) {
    let client = client();
    while !stop.is_cancelled() {
        match deliver_due(&pool, &client).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "webhook delivery round failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(IDLE) => {}
        }
    }
}

/// Why a delivery URL must not be called: it names, or resolves to, this
/// machine or a private network.
async fn private_target(url: &str) -> Option<String> {
    if webhooks::names_private_host(url) {
        return Some("refused: the URL points at a private address".to_owned());
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            addrs
                .iter()
                .any(|a| webhooks::is_private_ip(a.ip()))
                .then(|| format!("refused: {host} resolves to a private address"))
        }
        // Let the request itself report the name-resolution failure.
        Err(_) => None,
    }
}
