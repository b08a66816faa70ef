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
//! Internal targets are refused where it cannot be raced: the client's DNS
//! resolver ([`PublicResolver`]) drops private, loopback, link-local,
//! CGNAT and metadata addresses, so the address checked is the address
//! connected to (no check-then-resolve-again window for DNS rebinding). URLs
//! that name an IP literally never reach a resolver and are checked before
//! the request. `WEBHOOK_ALLOW_PRIVATE=1` turns both off. The client uses no
//! HTTP proxy (a proxy would resolve the name itself, past the check).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use domain::webhooks::{self, DueDelivery};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries reserved per round.
const BATCH: i64 = 16;
/// A reserved delivery comes back after this long if its worker dies.
const LEASE_SECS: f64 = 60.0;
const IDLE: Duration = Duration::from_millis(500);

/// The HTTP client deliveries go out with: no redirects, no proxy, and
/// names resolved by [`PublicResolver`].
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(PublicResolver))
        .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|err| {
            // Building fails only without a TLS backend: then nothing could
            // be delivered safely, so deliver nothing.
            tracing::error!(error = %err, "cannot build the webhook client; deliveries will fail");
            reqwest::Client::builder()
                .dns_resolver(Arc::new(RefuseAll))
                .no_proxy()
                .build()
                .unwrap_or_default()
        })
}

/// Resolves with the system resolver and refuses a name if any of its
/// addresses is internal (unless private targets are allowed). Refusing the
/// whole name, not just its internal addresses, keeps a name that mixes
/// public and internal addresses from reaching the internal one on a retry.
#[derive(Debug, Clone, Copy)]
pub struct PublicResolver;

/// Why the resolver refused a name; the delivery log records this text.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(String);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !webhooks::private_targets_allowed()
                && let Some(internal) = addrs.iter().find(|a| webhooks::is_private_ip(a.ip()))
            {
                let why = format!("{host} resolves to a private address ({})", internal.ip());
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct RefuseAll;

impl reqwest::dns::Resolve for RefuseAll {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            Err(Box::new(Refused("the webhook client is not available".into()))
                as Box<dyn std::error::Error + Send + Sync>)
        })
    }
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
        && let Some(why) = private_literal(&delivery.url)
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
            let err = describe(err);
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

/// Why a delivery URL must not be called before any name is resolved: it
/// does not parse, or names an internal address literally.
fn private_literal(url: &str) -> Option<String> {
    let Some(parsed) = webhooks::parse_url(url) else {
        return Some("refused: not an http(s) URL".to_owned());
    };
    let ip = webhooks::literal_ip(&parsed)?;
    webhooks::is_private_ip(ip).then(|| format!("refused: the URL points at a private address ({ip})"))
}

/// A failed request, for the delivery log: the resolver's refusal if that
/// was the cause, else the error and its causes, never the URL (which may
/// hold credentials).
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut source = std::error::Error::source(&err);
    let mut text = err.to_string();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
