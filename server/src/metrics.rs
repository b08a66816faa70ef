//! The server's Prometheus metrics (`prometheus-client`), served at
//! `/metrics` on a listener of its own (`METRICS_ADDR`, off by default),
//! never on the public one:
//!
//! - `switchboard_http_request_duration_seconds{method, route, status}`: a
//!   histogram per matched route template (`/api/v1/sessions/{id}`, never
//!   the raw path; `fallback` for static files and unknown paths);
//! - `switchboard_websocket_connections` and
//!   `switchboard_websocket_slow_client_drops_total` (the hub);
//! - `switchboard_engine_pass_duration_seconds` (each assignment pass) and
//!   `switchboard_queued_sessions` (the engine's queue depth, read at scrape);
//! - `switchboard_outbox_unpublished_events` and
//!   `switchboard_outbox_relay_lag_seconds` (the oldest unrelayed event's
//!   age, read at scrape);
//! - in embedded mode, every consumer's counters (`switchboard_consumer_*`),
//!   the same series the sidecar serves in RabbitMQ mode.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::ConstCounter,
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};
use sqlx::PgPool;

use crate::hub::Hub;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// The metrics of one server. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    http: Family<HttpLabels, Histogram>,
    engine_pass: Histogram,
    queued_sessions: Gauge,
    unpublished_events: Gauge,
    relay_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    pool: PgPool,
}

/// The hub's numbers, read at each scrape.
#[derive(Clone)]
struct HubCollector(Hub);

impl std::fmt::Debug for HubCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubCollector")
    }
}

impl Collector for HubCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let connections = ConstGauge::new(self.0.connection_count() as i64);
        let metric = encoder.encode_descriptor(
            "switchboard_websocket_connections",
            "Open WebSocket connections on this node",
            None,
            connections.metric_type(),
        )?;
        connections.encode(metric)?;
        let drops = ConstCounter::new(self.0.dropped_slow());
        let metric = encoder.encode_descriptor(
            "switchboard_websocket_slow_client_drops",
            "WebSocket connections dropped because they could not keep up",
            None,
            drops.metric_type(),
        )?;
        drops.encode(metric)
    }
}

impl Metrics {
    /// Metrics for a server with this pool and hub; `consumers` are the
    /// in-process consumers' counters (embedded mode), if any.
    pub fn new(pool: PgPool, hub: Hub, consumers: Option<&consumers::metrics::Metrics>) -> Self {
        let mut registry = Registry::default();
        let http: Family<HttpLabels, Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.5, 12)));
        registry.register_with_unit(
            "switchboard_http_request_duration",
            "HTTP request duration by matched route and status",
            Unit::Seconds,
            http.clone(),
        );
        let engine_pass = Histogram::new(exponential_buckets(0.0005, 2.5, 12));
        registry.register_with_unit(
            "switchboard_engine_pass_duration",
            "Duration of one assignment engine pass",
            Unit::Seconds,
            engine_pass.clone(),
        );
        let queued_sessions = Gauge::default();
        registry.register(
            "switchboard_queued_sessions",
            "Sessions waiting for an agent",
            queued_sessions.clone(),
        );
        let unpublished_events = Gauge::default();
        registry.register(
            "switchboard_outbox_unpublished_events",
            "Committed events the outbox relay has not handed on yet",
            unpublished_events.clone(),
        );
        let relay_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register_with_unit(
            "switchboard_outbox_relay_lag",
            "Age of the oldest event the outbox relay has not handed on yet",
            Unit::Seconds,
            relay_lag.clone(),
        );
        registry.register_collector(Box::new(HubCollector(hub)));
        if let Some(consumers) = consumers {
            consumers.register(&mut registry);
        }
        Self(Arc::new(Inner {
            registry,
            http,
            engine_pass,
            queued_sessions,
            unpublished_events,
            relay_lag,
            pool,
        }))
    }

    /// Records one assignment pass.
    pub fn engine_pass(&self, took: std::time::Duration) {
        self.0.engine_pass.observe(took.as_secs_f64());
    }

    /// The exposition, with the backlog read from the database now.
    pub async fn render(&self) -> String {
        match domain::system::backlog(&self.0.pool).await {
            Ok(b) => {
                self.0.queued_sessions.set(b.queued_sessions);
                self.0.unpublished_events.set(b.unpublished_events);
                self.0.relay_lag.set(b.relay_lag_secs);
            }
            // The last values stay; the scrape still answers.
            Err(err) => tracing::warn!(error = %err, "cannot read the backlog for /metrics"),
        }
        consumers::metrics::render(&self.0.registry)
    }
}

/// Times every request by its matched route template (added with
/// `Router::layer`, so it runs after routing and sees [`MatchedPath`]).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("fallback", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    metrics.0.http.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

async fn scrape(State(metrics): State<Metrics>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, consumers::metrics::CONTENT_TYPE)], metrics.render().await)
}

/// The router of the metrics listener: `/metrics` only.
pub fn router(metrics: Metrics) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(metrics)
}
