//! Counters per consumer, exposed through `prometheus-client` (the
//! Prometheus project's Rust client): the consumers bump plain atomics, and
//! [`Metrics`] is a collector that reads them at each scrape. The sidecar
//! serves them on its own listener; the server serves them with its own
//! metrics in embedded mode.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{
        MetricType,
        counter::ConstCounter,
        gauge::ConstGauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug)]
pub struct ConsumerMetrics {
    pub processed: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Events waiting for this consumer, as last measured.
    pub lag: AtomicI64,
    /// From an event's write (its outbox row's `created_at`, stamped with
    /// `clock_timestamp()` as the transaction that commits it inserts it) to
    /// its effect's commit, in seconds.
    latency: Histogram,
}

impl Default for ConsumerMetrics {
    fn default() -> Self {
        Self {
            processed: AtomicU64::default(),
            duplicates: AtomicU64::default(),
            failed: AtomicU64::default(),
            retried: AtomicU64::default(),
            dead_lettered: AtomicU64::default(),
            lag: AtomicI64::default(),
            // 1 ms to about 2 min.
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 18)),
        }
    }
}

impl ConsumerMetrics {
    /// An event's effect committed: count it, and how long after the event
    /// was written. (The database's clock stamps the event, this host's
    /// clock the effect: on one machine, or NTP-synchronised ones, the
    /// difference is noise next to the buckets.)
    pub fn applied(&self, written_at: chrono::DateTime<chrono::Utc>) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        let took = (chrono::Utc::now() - written_at).to_std().unwrap_or_default();
        self.latency.observe(took.as_secs_f64());
    }
}

#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<BTreeMap<&'static str, Arc<ConsumerMetrics>>>>);

/// A series: name (counters get `_total` in the exposition), help, type
/// and reader.
type Series = (&'static str, &'static str, MetricType, fn(&ConsumerMetrics) -> i64);

const SERIES: [Series; 6] = [
    ("switchboard_consumer_processed", "Events whose effect was applied", MetricType::Counter, |m| {
        m.processed.load(Ordering::Relaxed) as i64
    }),
    (
        "switchboard_consumer_duplicates",
        "Redeliveries skipped as already processed",
        MetricType::Counter,
        |m| m.duplicates.load(Ordering::Relaxed) as i64,
    ),
    ("switchboard_consumer_failed", "Handler failures", MetricType::Counter, |m| {
        m.failed.load(Ordering::Relaxed) as i64
    }),
    ("switchboard_consumer_retried", "Events scheduled for another attempt", MetricType::Counter, |m| {
        m.retried.load(Ordering::Relaxed) as i64
    }),
    ("switchboard_consumer_dead_lettered", "Events given up on", MetricType::Counter, |m| {
        m.dead_lettered.load(Ordering::Relaxed) as i64
    }),
    ("switchboard_consumer_lag", "Events waiting for the consumer", MetricType::Gauge, |m| {
        m.lag.load(Ordering::Relaxed)
    }),
];

impl Metrics {
    pub fn consumer(&self, name: &'static str) -> Arc<ConsumerMetrics> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(name).or_default().clone()
    }

    /// Adds every consumer's series to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(self.clone()));
    }
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (name, help, kind, read) in SERIES {
            let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
            for (consumer, m) in map.iter() {
                let labels = [("consumer", *consumer)];
                let series = metric.encode_family(&labels)?;
                match kind {
                    MetricType::Counter => ConstCounter::new(read(m).max(0) as u64).encode(series)?,
                    _ => ConstGauge::new(read(m)).encode(series)?,
                }
            }
        }
        let mut metric = encoder.encode_descriptor(
            "switchboard_consumer_event_latency",
            "From an event's write to its effect's commit",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (consumer, m) in map.iter() {
            m.latency.encode(metric.encode_family(&[("consumer", *consumer)])?)?;
        }
        Ok(())
    }
}

/// The OpenMetrics text exposition of `registry`.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut out, registry) {
        tracing::warn!(error = %err, "cannot encode the metrics");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumers_counters_are_exposed_with_its_label() {
        let metrics = Metrics::default();
        metrics.consumer("tagging").processed.fetch_add(3, Ordering::Relaxed);
        metrics.consumer("notifications").lag.store(7, Ordering::Relaxed);
        metrics.consumer("tagging").applied(chrono::Utc::now() - chrono::Duration::milliseconds(300));
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let text = render(&registry);
        assert!(text.contains("# TYPE switchboard_consumer_processed counter"), "{text}");
        assert!(
            text.contains(r#"switchboard_consumer_processed_total{consumer="notifications"} 0"#),
            "{text}"
        );
        assert!(text.contains(r#"switchboard_consumer_lag{consumer="notifications"} 7"#), "{text}");
        // Three bumps and one applied event; the applied one took 300 ms,
        // above the 0.256 s bucket and within 0.512 s.
        assert!(text.contains(r#"switchboard_consumer_processed_total{consumer="tagging"} 4"#), "{text}");
        let bucket = |le: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with("switchboard_consumer_event_latency_seconds_bucket{")
                        && l.contains(r#"consumer="tagging""#)
                        && l.contains(&format!(r#"le="{le}""#))
                })
                .and_then(|l| l.rsplit(' ').next())
                .map(str::to_owned)
        };
        assert_eq!(bucket("0.256").as_deref(), Some("0"), "{text}");
        assert_eq!(bucket("0.512").as_deref(), Some("1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
