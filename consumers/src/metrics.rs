//! Counters per consumer, rendered in the Prometheus text format.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
};

/// A metric's name, type, help text and reader.
type Series = (&'static str, &'static str, &'static str, fn(&ConsumerMetrics) -> i64);

#[derive(Debug, Default)]
pub struct ConsumerMetrics {
    pub processed: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Events waiting for this consumer, as last measured.
    pub lag: AtomicI64,
}

#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<BTreeMap<&'static str, Arc<ConsumerMetrics>>>>);

impl Metrics {
    pub fn consumer(&self, name: &'static str) -> Arc<ConsumerMetrics> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(name).or_default().clone()
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        let series: [Series; 6] = [
            ("switchboard_consumer_processed_total", "counter", "Events whose effect was applied", |m| {
                m.processed.load(Ordering::Relaxed) as i64
            }),
            (
                "switchboard_consumer_duplicates_total",
                "counter",
                "Redeliveries skipped as already processed",
                |m| m.duplicates.load(Ordering::Relaxed) as i64,
            ),
            ("switchboard_consumer_failed_total", "counter", "Handler failures", |m| {
                m.failed.load(Ordering::Relaxed) as i64
            }),
            ("switchboard_consumer_retried_total", "counter", "Events scheduled for another attempt", |m| {
                m.retried.load(Ordering::Relaxed) as i64
            }),
            ("switchboard_consumer_dead_lettered_total", "counter", "Events given up on", |m| {
                m.dead_lettered.load(Ordering::Relaxed) as i64
            }),
            ("switchboard_consumer_lag", "gauge", "Events waiting for the consumer", |m| {
                m.lag.load(Ordering::Relaxed)
            }),
        ];
        for (name, kind, help, get) in series {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (consumer, m) in map.iter() {
                out.push_str(&format!("{name}{{consumer=\"{consumer}\"}} {}\n", get(m)));
            }
        }
        out
    }
}
