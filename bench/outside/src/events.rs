//! Scenario 6: outbox to consumer, for each consumer, under the mixed load
//! of scenario 1. Read from outside, as an operator's Prometheus would: the
//! consumers' `/metrics` (the server's `METRICS_ADDR` in embedded mode, the
//! sidecar's in RabbitMQ mode) is scraped every half second while the load
//! runs and until every consumer has caught up.
//!
//! Per consumer: events applied and events/s over the stretch, p95 from the
//! event's write to its effect's commit (the
//! `switchboard_consumer_event_latency_seconds` histogram, the difference
//! between the first and the last scrape, interpolated in its bucket as
//! Prometheus' `histogram_quantile` does), and the largest backlog seen
//! (`switchboard_consumer_lag`: inbox rows, or the queue's ready messages).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::common::Error;

/// One consumer's series in one scrape.
#[derive(Debug, Clone, Default)]
struct Consumer {
    processed: f64,
    lag: f64,
    /// Cumulative counts by upper bound (seconds), `+Inf` last.
    buckets: Vec<(f64, f64)>,
}

/// One scrape of a `/metrics` page.
#[derive(Debug, Clone, Default)]
struct Scrape {
    consumers: BTreeMap<String, Consumer>,
    /// Committed events the relay has not handed on (server metrics only).
    unpublished: Option<f64>,
}

/// One sample of a metrics page: name, labels, value.
type Sample<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

/// `name{k="v",…} value` → its [`Sample`]; comments and blank lines give
/// `None`.
fn sample(line: &str) -> Option<Sample<'_>> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    let Some((name, labels)) = series.split_once('{') else { return Some((series, Vec::new(), value)) };
    let labels = labels
        .trim_end_matches('}')
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k, v.trim_matches('"')))
        })
        .collect();
    Some((name, labels, value))
}

fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for (name, labels, value) in text.lines().filter_map(sample) {
        let label = |k: &str| labels.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        if name == "switchboard_outbox_unpublished_events" {
            scrape.unpublished = Some(value);
            continue;
        }
        let Some(consumer) = label("consumer") else { continue };
        let entry = scrape.consumers.entry(consumer.to_owned()).or_default();
        match name {
            "switchboard_consumer_processed_total" => entry.processed = value,
            "switchboard_consumer_lag" => entry.lag = value,
            "switchboard_consumer_event_latency_seconds_bucket" => {
                let le = match label("le") {
                    Some("+Inf") => f64::INFINITY,
                    Some(le) => le.parse().unwrap_or(f64::NAN),
                    None => continue,
                };
                entry.buckets.push((le, value));
            }
            _ => {}
        }
    }
    for c in scrape.consumers.values_mut() {
        c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    scrape
}

/// The `q` quantile of the events counted between two cumulative bucket
/// lists, interpolated linearly inside its bucket; `None` without events,
/// infinite when it falls in the `+Inf` bucket.
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let count = |b: &[(f64, f64)], le: f64| b.iter().find(|(l, _)| *l == le).map_or(0.0, |(_, c)| *c);
    let deltas: Vec<(f64, f64)> = after.iter().map(|&(le, c)| (le, c - count(before, le))).collect();
    let total = deltas.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, cumulative) in &deltas {
        if cumulative >= rank {
            if le.is_infinite() {
                return Some(f64::INFINITY);
            }
            let inside = cumulative - lower.1;
            let share = if inside > 0.0 { (rank - lower.1) / inside } else { 1.0 };
            return Some(lower.0 + (le - lower.0) * share);
        }
        lower = (le, cumulative);
    }
    None
}

async fn scrape(http: &reqwest::Client, url: &str) -> Result<Scrape, Error> {
    Ok(parse(&http.get(url).send().await?.error_for_status()?.text().await?))
}

/// What the watcher has seen since it started.
#[derive(Default)]
struct Seen {
    first: Scrape,
    last: Scrape,
    max_lag: BTreeMap<String, f64>,
    max_unpublished: f64,
    scrapes: usize,
    errors: Vec<String>,
}

/// Scrapes the metrics every half second until [`Watcher::finish`].
pub struct Watcher {
    seen: Arc<Mutex<Seen>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    started: Instant,
    http: reqwest::Client,
    urls: Vec<String>,
}

impl Watcher {
    /// Starts watching `urls` (the consumers' metrics, and the server's when
    /// it is another page).
    pub async fn start(urls: Vec<String>) -> Result<Self, Error> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        let first = Self::read(&http, &urls).await?;
        if first.consumers.is_empty() {
            return Err(format!("no consumer series at {urls:?}").into());
        }
        let seen = Arc::new(Mutex::new(Seen { first: first.clone(), last: first, ..Seen::default() }));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn({
            let (http, urls, seen) = (http.clone(), urls.clone(), seen.clone());
            async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stopped.changed() => return,
                    }
                    let now = Self::read(&http, &urls).await;
                    let mut seen = seen.lock().expect("seen");
                    match now {
                        Ok(now) => seen.note(now),
                        Err(e) => seen.errors.push(e.to_string()),
                    }
                }
            }
        });
        Ok(Self { seen, stop, task, started: Instant::now(), http, urls })
    }

    async fn read(http: &reqwest::Client, urls: &[String]) -> Result<Scrape, Error> {
        let mut all = Scrape::default();
        for url in urls {
            let one = scrape(http, url).await?;
            all.consumers.extend(one.consumers);
            all.unpublished = all.unpublished.or(one.unpublished);
        }
        Ok(all)
    }

    /// Once the load has ended: waits until every consumer has caught up
    /// (no backlog, nothing unpublished, counters still for a second; at
    /// most `patience`), then gives the figure and the data.
    pub async fn finish(self, patience: Duration, label: &str) -> Result<(String, Value), Error> {
        let deadline = Instant::now() + patience;
        let mut previous: Option<Vec<f64>> = None;
        let caught_up = loop {
            let now = Self::read(&self.http, &self.urls).await?;
            let processed: Vec<f64> = now.consumers.values().map(|c| c.processed).collect();
            let idle = now.consumers.values().all(|c| c.lag == 0.0) && now.unpublished.unwrap_or(0.0) == 0.0;
            let still = previous.as_ref() == Some(&processed);
            self.seen.lock().expect("seen").note(now);
            if idle && still {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            previous = Some(processed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let took = self.started.elapsed().as_secs_f64();
        let seen = self.seen.lock().expect("seen");
        let mut parts = Vec::new();
        let mut data = serde_json::Map::new();
        let mut worst_p95: f64 = 0.0;
        let mut busiest: f64 = 0.0;
        for (name, last) in &seen.last.consumers {
            let first = seen.first.consumers.get(name).cloned().unwrap_or_default();
            let events = last.processed - first.processed;
            let rate = events / took;
            let p95 = quantile(&first.buckets, &last.buckets, 0.95).map(|s| s * 1000.0);
            let backlog = seen.max_lag.get(name).copied().unwrap_or(0.0);
            if events > 0.0 {
                worst_p95 = worst_p95.max(p95.unwrap_or(0.0));
                busiest = busiest.max(rate);
            }
            let p95_text = match p95 {
                None => "no events".to_owned(),
                Some(ms) if ms.is_infinite() => "p95 > 131 s".to_owned(),
                Some(ms) => format!("p95 {ms:.0} ms"),
            };
            parts.push(format!("{name} {events:.0} events, {rate:.0}/s, {p95_text}, backlog ≤ {backlog:.0}"));
            data.insert(
                name.clone(),
                json!({ "events": events, "events_per_s": rate, "p95_ms": p95, "max_backlog": backlog }),
            );
        }
        let figure = format!(
            "{label}: {}; outbox unrelayed ≤ {:.0}; over {took:.1} s{}{}",
            parts.join("; "),
            seen.max_unpublished,
            if caught_up { "" } else { " (NOT caught up at the deadline)" },
            if seen.errors.is_empty() {
                String::new()
            } else {
                format!("; {} scrapes failed (first: {})", seen.errors.len(), seen.errors[0])
            },
        );
        let json = json!({
            "mode": label, "seconds": took, "caught_up": caught_up, "scrapes": seen.scrapes,
            "max_unpublished": seen.max_unpublished, "consumers": data,
            "worst_p95_ms": worst_p95, "busiest_events_per_s": busiest,
        });
        Ok((figure, json))
    }
}

impl Seen {
    fn note(&mut self, now: Scrape) {
        for (name, c) in &now.consumers {
            let max = self.max_lag.entry(name.clone()).or_insert(0.0);
            *max = max.max(c.lag);
        }
        self.max_unpublished = self.max_unpublished.max(now.unpublished.unwrap_or(0.0));
        self.scrapes += 1;
        self.last = now;
    }
}

/// The raw limit of scenario 6: pgbench runs `raw/consume.sql`, the
/// statements one event costs on the embedded path (write, relay to one
/// consumer's inbox, claim, mark processed), one event per pgbench
/// transaction and unbatched, for `secs` seconds. Events per second.
pub fn raw_limit(db: &str, secs: u32) -> Result<f64, Error> {
    crate::common::pgbench_tps(db, concat!(env!("CARGO_MANIFEST_DIR"), "/raw/consume.sql"), secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP switchboard_consumer_processed Events whose effect was applied
# TYPE switchboard_consumer_processed counter
switchboard_consumer_processed_total{consumer="tagging"} 120
switchboard_consumer_lag{consumer="tagging"} 7
switchboard_consumer_event_latency_seconds_bucket{le="0.1",consumer="tagging"} 50
switchboard_consumer_event_latency_seconds_bucket{le="0.2",consumer="tagging"} 100
switchboard_consumer_event_latency_seconds_bucket{le="+Inf",consumer="tagging"} 120
switchboard_outbox_unpublished_events 3
# EOF
"#;

    #[test]
    fn a_metrics_page_is_read_per_consumer() {
        let s = parse(PAGE);
        let t = &s.consumers["tagging"];
        assert_eq!((t.processed, t.lag), (120.0, 7.0));
        assert_eq!(t.buckets, vec![(0.1, 50.0), (0.2, 100.0), (f64::INFINITY, 120.0)]);
        assert_eq!(s.unpublished, Some(3.0));
    }

    #[test]
    fn quantiles_come_from_the_difference_of_two_scrapes() {
        let before = [(0.1, 40.0), (0.2, 40.0), (f64::INFINITY, 40.0)];
        // Since `before`: 10 events under 0.1 s, 10 more under 0.2 s.
        let after = [(0.1, 50.0), (0.2, 60.0), (f64::INFINITY, 60.0)];
        // The 15th of 20 lies halfway through the second bucket.
        let p75 = quantile(&before, &after, 0.75).expect("events");
        assert!((p75 - 0.15).abs() < 1e-9, "{p75}");
        assert_eq!(quantile(&after, &after, 0.5), None);
        let slow = [(0.1, 50.0), (0.2, 50.0), (f64::INFINITY, 60.0)];
        assert_eq!(quantile(&before, &slow, 0.95), Some(f64::INFINITY));
    }
}
