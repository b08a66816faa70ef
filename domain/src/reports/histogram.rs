//! Mergeable histograms of durations, so that percentiles survive rollups.
//!
//! A duration in milliseconds falls into a log-spaced bucket: bucket 0 holds
//! exactly 0, bucket `k ≥ 1` holds `[γ^(k-1), γ^k)` with γ = [`GAMMA`].
//! Every value in a bucket is represented by the bucket's harmonic midpoint
//! `2LU/(L+U)`, which is within `(γ-1)/(γ+1)` = [`RELATIVE_ERROR`] (4.8%) of
//! any value in `[L, U)`. Histograms of days, types and agents merge by
//! adding counts per bucket, so p50 and p90 over any range and any filter
//! come from sums of rollup rows.
//!
//! [`Histogram::percentile`] follows PostgreSQL's `percentile_cont`: the
//! value at rank `p·(n-1)`, interpolated linearly between the two order
//! statistics around it. Each of those is estimated within the relative
//! error, and so is any convex combination of them, so the estimate is
//! within [`RELATIVE_ERROR`] of the exact `percentile_cont` (the test in
//! this module and `domain/tests/reports.rs` hold it to that).
//!
//! This is the DDSketch idea with a fixed γ; a fixed bucket layout is what
//! lets SQL sum the buckets of any set of rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The ratio between consecutive bucket bounds.
pub const GAMMA: f64 = 1.1;
/// The largest relative error of a value, and so of a percentile.
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);
/// The last bucket; longer values (γ^300 ms is 2,900 years) land in it.
pub const MAX_BUCKET: i16 = 300;

/// The bucket of a duration in milliseconds.
pub fn bucket_of(ms: i64) -> i16 {
    if ms <= 0 {
        return 0;
    }
    let k = 1 + ((ms as f64).ln() / GAMMA.ln()).floor() as i64;
    k.clamp(1, i64::from(MAX_BUCKET)) as i16
}

/// The lower bound of a bucket, in milliseconds.
pub fn lower_bound(bucket: i16) -> f64 {
    if bucket <= 0 { 0.0 } else { GAMMA.powi(i32::from(bucket) - 1) }
}

/// The value that stands for every value in `bucket`.
pub fn value_of(bucket: i16) -> f64 {
    if bucket <= 0 {
        return 0.0;
    }
    let l = lower_bound(bucket);
    let u = l * GAMMA;
    2.0 * l * u / (l + u)
}

/// Counts per bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    pub counts: BTreeMap<i16, i64>,
}

impl Histogram {
    pub fn add(&mut self, bucket: i16, n: i64) {
        *self.counts.entry(bucket).or_default() += n;
    }

    pub fn record(&mut self, ms: i64) {
        self.add(bucket_of(ms), 1);
    }

    pub fn merge(&mut self, other: &Self) {
        for (b, n) in &other.counts {
            self.add(*b, *n);
        }
    }

    /// How many values (buckets that a subtraction left below zero count as
    /// empty).
    pub fn count(&self) -> i64 {
        self.counts.values().filter(|n| **n > 0).sum()
    }

    /// `percentile_cont(p)` over the values, within [`RELATIVE_ERROR`];
    /// None when there are none.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = p.clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = rank.floor() as i64;
        let hi = rank.ceil() as i64;
        let (x_lo, x_hi) = (self.order_statistic(lo)?, self.order_statistic(hi)?);
        Some(x_lo + (rank - lo as f64) * (x_hi - x_lo))
    }

    /// The estimate of the `i`-th smallest value (0-based).
    fn order_statistic(&self, i: i64) -> Option<f64> {
        let mut seen = 0;
        for (b, n) in &self.counts {
            if *n <= 0 {
                continue;
            }
            seen += n;
            if i < seen {
                return Some(value_of(*b));
            }
        }
        None
    }
}

/// PostgreSQL's `percentile_cont` over sorted values, exactly: the
/// reference the histograms are tested against.
pub fn percentile_cont(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (rank - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_within_the_relative_error_of_its_bucket() {
        for ms in (1..20_000).chain([86_400_000, 2_592_000_000, 31_536_000_000]) {
            let v = value_of(bucket_of(ms));
            let err = (v - ms as f64).abs() / ms as f64;
            assert!(err <= RELATIVE_ERROR + 1e-9, "{ms} ms stands as {v}: error {err}");
        }
        assert_eq!(bucket_of(0), 0);
        assert_eq!(value_of(0), 0.0);
        const { assert!(RELATIVE_ERROR < 0.05) };
    }

    #[test]
    fn percentiles_of_merged_histograms_match_percentile_cont_within_the_bound() {
        // A deterministic mix of short and long waits, split over "days"
        // that are merged back, as rollups are.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = Vec::new();
        let mut days = vec![Histogram::default(); 7];
        for i in 0..5_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let ms = match (seed >> 33) % 10 {
                0 => 0,
                1..=6 => (seed >> 40) as i64 % 120_000,
                _ => (seed >> 20) as i64 % 7_200_000,
            };
            values.push(ms as f64);
            days[i % 7].record(ms);
        }
        let mut all = Histogram::default();
        for d in &days {
            all.merge(d);
        }
        values.sort_by(f64::total_cmp);
        assert_eq!(all.count(), 5_000);
        for p in [0.0, 0.1, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = percentile_cont(&values, p).expect("values");
            let est = all.percentile(p).expect("values");
            let err = if exact == 0.0 { est } else { (est - exact).abs() / exact };
            assert!(err <= RELATIVE_ERROR + 1e-9, "p{p}: {est} against {exact} ({err})");
        }
        assert_eq!(Histogram::default().percentile(0.5), None);
    }
}
