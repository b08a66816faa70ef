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
//!
//! Internal targets are refused by [`domain::outbound`]'s guard, unless
//! `WEBHOOK_ALLOW_PRIVATE=1`.

use std::{sync::Arc, time::Duration};

use domain::{
    outbound,
    webhooks::{self, DueDelivery},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries reserved per round.
const BATCH: i64 = 16;
/// A reserved delivery comes back after this long if its worker dies.
const LEASE_SECS: f64 = 60.0;
const IDLE: Duration = Duration::from_millis(500);

/// The HTTP client deliveries go out with: no redirects, no proxy, and
/// names resolved by [`outbound::PublicResolver`].
pub fn client() -> reqwest::Client {
    outbound::client(
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION"))),
        Arc::new(webhooks::private_targets_allowed),
    )
}

/// Delivers the due deliveries once (one batch after another until none is
/// due). Returns how many attempts it made.
pub async fn deliver_due(pool: &PgPool, client: &reqwest::Client) -> Result<usize, domain::Error> {
    crate::worker::drain(
        "webhook delivery",
        || Box::pin(webhooks::claim_due(pool, BATCH, LEASE_SECS)),
        |d: DueDelivery| Box::pin(async move { attempt(pool, client, &d).await }),
        |d| d.id,
    )
    .await
}

/// One POST and its bookkeeping.
async fn attempt(
    pool: &PgPool,
    client: &reqwest::Client,
    delivery: &DueDelivery,
) -> Result<(), domain::Error> {
    // Names are checked by the resolver as they are connected to; an IP
    // literal is not resolved, so it is checked here.
    if !webhooks::private_targets_allowed()
        && let Some(why) = outbound::refusal(&delivery.url)
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
            let err = outbound::describe(err);
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
    crate::worker::poll("webhook deliveries", &stop, IDLE, || Box::pin(deliver_due(&pool, &client))).await
}
