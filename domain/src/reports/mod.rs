//! Reports: what a support team's managers read to decide staffing.
//!
//! Every figure comes from one source, per-session **facts**
//! ([`facts`]): a row per session that the reports consumer recomputes from
//! the session's history on each of its events. A fact *contributes*
//! counts and durations ([`facts::contributions`]), each at the moment it
//! belongs to and credited to one agent:
//! - at the session's creation, to its first assignee: opened, abandoned,
//!   the wait and the queue SLA;
//! - at the first human reply, to the human who wrote it: the human first
//!   response time (from the moment a human first owned the session, so a
//!   bot's time is never counted) and the first-response SLA;
//! - at the (last) resolution, to the resolver: resolved, the resolution
//!   time, reopens, the reason, handle time, CSAT, and bot involvement.
//!
//! The consumer adds the difference between a session's old and new
//! contributions to daily rollups (per day in the account's time zone, at
//! four levels: type × agent, type, agent, account), so a report over 90
//! days reads ~100 rows per metric, not a million sessions. Durations are
//! kept as [`histogram`]s, so p50 and p90 survive the sums. A report that
//! rollups cannot answer (a tag filter, hours, another time zone) is
//! computed from the facts with the same contributions, so the two paths
//! cannot disagree; the report says which it used.
//!
//! Totals are the sum of the series, never a second query, so the summary
//! and the chart always agree.

pub mod bots;
pub mod histogram;

#[cfg(feature = "server")]
pub mod facts;
#[cfg(feature = "server")]
mod query;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{AccountId, AgentId, ReasonId, SupportTypeId, TagId, text_enum};
pub use histogram::Histogram;
use uuid::Uuid;

#[cfg(feature = "server")]
pub use query::{ExportRow, export_sessions, report, sessions_behind};

text_enum!(
    /// How a report's series is grouped.
    Grouping { Hour => "hour", Day => "day", Week => "week" }
);

text_enum!(
    /// Where a report's figures came from.
    ReportSource {
        /// Sums of daily rollup rows.
        Rollups => "rollups",
        /// The per-session facts, contributed on the fly.
        Facts => "facts",
    }
);

text_enum!(
    /// What a drill-down lists: the sessions a bar or a point counts.
    Count {
        Opened => "opened",
        Abandoned => "abandoned",
        Resolved => "resolved",
        FirstResponse => "first_response",
        Reason => "reason",
        Handoff => "handoff",
        BotOnly => "bot_only",
    }
);

/// The sessions behind one figure of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillDown {
    pub count: Count,
    /// The figure's period, as the report's series gives it.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub account_id: Option<AccountId>,
    pub support_type_id: Option<SupportTypeId>,
    pub agent_id: Option<AgentId>,
    pub tag_id: Option<TagId>,
    /// With `count=reason`: the reason.
    pub reason_id: Option<ReasonId>,
}

/// A session a figure counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountedSession {
    pub id: Uuid,
    pub account_id: AccountId,
    /// The moment the figure counts it at.
    pub at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub status: String,
    pub support_type: String,
    pub customer_name: Option<String>,
    /// The agent the figure credits.
    pub agent_name: Option<String>,
}

/// The longest range a report covers, in days.
pub const MAX_RANGE_DAYS: i64 = 400;
/// The longest range grouped by hour, in days.
pub const MAX_HOURLY_DAYS: i64 = 14;

/// The metric names of contributions and rollup rows.
pub mod metric {
    pub const OPENED: &str = "opened";
    pub const ABANDONED: &str = "abandoned";
    pub const WAIT: &str = "wait";
    pub const QUEUE_SLA_MET: &str = "queue_sla_met";
    pub const QUEUE_SLA_MISSED: &str = "queue_sla_missed";
    pub const FRT: &str = "frt";
    pub const FRT_SLA_MET: &str = "frt_sla_met";
    pub const FRT_SLA_MISSED: &str = "frt_sla_missed";
    pub const RESOLVED: &str = "resolved";
    pub const RESOLUTION: &str = "resolution";
    pub const REOPENED: &str = "reopened";
    pub const HANDLE: &str = "handle";
    /// The same durations counted in the type's business hours only.
    pub const WAIT_BH: &str = "wait_bh";
    pub const FRT_BH: &str = "frt_bh";
    pub const RESOLUTION_BH: &str = "resolution_bh";
    /// Bucket = the score (1–5), total = the score.
    pub const CSAT: &str = "csat";
    pub const BOT_INVOLVED: &str = "bot_involved";
    pub const BOT_ONLY: &str = "bot_only";
    pub const HANDED_OFF: &str = "handed_off";
    /// Breakdowns: a count per part, named `reason:<reason id>` and
    /// `handoff:<reason>` in contributions; one rollup row each.
    pub const REASON: &str = "reason";
    pub const HANDOFF: &str = "handoff";
    pub const REASON_PREFIX: &str = "reason:";
    pub const HANDOFF_PREFIX: &str = "handoff:";
    /// The bucket of a plain count.
    pub const COUNT: i16 = -1;

    /// A contribution's metric as a rollup row names it, and the part of a
    /// breakdown (`reason:<id>` is the part `<id>` of `reason`).
    pub fn split(metric: &str) -> (&str, Option<&str>) {
        match metric.split_once(':') {
            Some((name, part)) => (name, Some(part)),
            None => (metric, None),
        }
    }
}

/// A report's filters; the URL of the reports page holds the same fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportFilter {
    /// First day, inclusive, in the report's time zone.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    pub group: Grouping,
    pub account_id: Option<AccountId>,
    pub support_type_id: Option<SupportTypeId>,
    pub agent_id: Option<AgentId>,
    pub tag_id: Option<TagId>,
    /// An IANA zone; the account's when absent.
    pub time_zone: Option<String>,
}

impl ReportFilter {
    /// The last `days` days up to `today`, grouped by day.
    pub fn last_days(today: NaiveDate, days: i64) -> Self {
        Self {
            from: today - chrono::Duration::days(days - 1),
            to: today,
            group: Grouping::Day,
            account_id: None,
            support_type_id: None,
            agent_id: None,
            tag_id: None,
            time_zone: None,
        }
    }

    /// Range and grouping within the limits, with the offending field named.
    pub fn validate(&self) -> crate::Result<()> {
        let days = (self.to - self.from).num_days() + 1;
        if days < 1 {
            return Err(crate::Error::invalid("to", "the last day is before the first"));
        }
        if days > MAX_RANGE_DAYS {
            return Err(crate::Error::invalid(
                "from",
                format!("a report covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        if self.group == Grouping::Hour && days > MAX_HOURLY_DAYS {
            return Err(crate::Error::invalid(
                "group",
                format!("hourly reports cover at most {MAX_HOURLY_DAYS} days; group by day or week"),
            ));
        }
        if let Some(z) = &self.time_zone {
            parse_zone(z)?;
        }
        Ok(())
    }
}

/// A report's filters as a URL gives them (the reports page's form, the
/// REST query): every field optional, an empty field meaning "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReportParams {
    /// First day (YYYY-MM-DD); 29 days before `to` when absent.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive; today when absent.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub to: Option<NaiveDate>,
    /// hour, day (the default) or week.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub group: Option<Grouping>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<uuid::Uuid>))]
    pub account_id: Option<AccountId>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<uuid::Uuid>))]
    pub support_type_id: Option<SupportTypeId>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<uuid::Uuid>))]
    pub agent_id: Option<AgentId>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<uuid::Uuid>))]
    pub tag_id: Option<TagId>,
    /// An IANA zone; the account's when absent.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub time_zone: Option<String>,
}

impl ReportParams {
    /// The filter, with the defaults filled in (`today` in UTC).
    pub fn into_filter(self, today: NaiveDate) -> ReportFilter {
        let to = self.to.unwrap_or(today);
        ReportFilter {
            from: self.from.unwrap_or(to - chrono::Duration::days(29)),
            to,
            group: self.group.unwrap_or(Grouping::Day),
            account_id: self.account_id,
            support_type_id: self.support_type_id,
            agent_id: self.agent_id,
            tag_id: self.tag_id,
            time_zone: self.time_zone,
        }
    }

    /// The URL query that reproduces these filters (for shared links).
    pub fn of(f: &ReportFilter) -> Self {
        Self {
            from: Some(f.from),
            to: Some(f.to),
            group: Some(f.group),
            account_id: f.account_id,
            support_type_id: f.support_type_id,
            agent_id: f.agent_id,
            tag_id: f.tag_id,
            time_zone: f.time_zone.clone(),
        }
    }
}

/// An empty query value (`type=`) is "any", not a parse error.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The columns of a report's table and its CSV, in one place: the page's
/// `<details>` tables and the export write these same cells.
pub fn table_row(label: &str, f: &Figures) -> Vec<(&'static str, String)> {
    let secs = |v: Option<f64>| v.map(|ms| format!("{:.1}", ms / 1000.0)).unwrap_or_default();
    let ratio = |v: Option<f64>| v.map(|r| format!("{r:.3}")).unwrap_or_default();
    vec![
        ("period", label.to_owned()),
        ("opened", f.opened.to_string()),
        ("resolved", f.resolved.to_string()),
        ("abandoned", f.abandoned.to_string()),
        ("abandonment_rate", ratio(f.abandonment_rate)),
        ("reopened", f.reopened.to_string()),
        ("wait_n", f.wait.n.to_string()),
        ("wait_p50_s", secs(f.wait.p50_ms)),
        ("wait_p90_s", secs(f.wait.p90_ms)),
        ("wait_mean_s", secs(f.wait.mean_ms)),
        ("first_response_n", f.first_response.n.to_string()),
        ("first_response_p50_s", secs(f.first_response.p50_ms)),
        ("first_response_p90_s", secs(f.first_response.p90_ms)),
        ("first_response_mean_s", secs(f.first_response.mean_ms)),
        ("resolution_n", f.resolution.n.to_string()),
        ("resolution_p50_s", secs(f.resolution.p50_ms)),
        ("resolution_p90_s", secs(f.resolution.p90_ms)),
        ("resolution_mean_s", secs(f.resolution.mean_ms)),
        ("wait_bh_n", f.business_hours.wait.n.to_string()),
        ("wait_bh_p50_s", secs(f.business_hours.wait.p50_ms)),
        ("wait_bh_p90_s", secs(f.business_hours.wait.p90_ms)),
        ("first_response_bh_p50_s", secs(f.business_hours.first_response.p50_ms)),
        ("first_response_bh_p90_s", secs(f.business_hours.first_response.p90_ms)),
        ("resolution_bh_p50_s", secs(f.business_hours.resolution.p50_ms)),
        ("resolution_bh_p90_s", secs(f.business_hours.resolution.p90_ms)),
        ("queue_sla_met", f.queue_sla.met.to_string()),
        ("queue_sla_total", f.queue_sla.total.to_string()),
        ("first_response_sla_met", f.first_response_sla.met.to_string()),
        ("first_response_sla_total", f.first_response_sla.total.to_string()),
        ("csat_n", f.csat.n.to_string()),
        ("csat_mean", f.csat.mean.map(|m| format!("{m:.2}")).unwrap_or_default()),
        ("bot_involved", f.bot_involved.to_string()),
        ("bot_only", f.bot_only.to_string()),
        ("handed_off", f.handed_off.to_string()),
    ]
}

/// An IANA time zone, or 422 naming `time_zone`.
pub fn parse_zone(name: &str) -> crate::Result<chrono_tz::Tz> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| crate::Error::invalid("time_zone", format!("{name:?} is not an IANA time zone")))
}

/// n, mean, p50 and p90 of a duration, in milliseconds: never a mean alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub n: i64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

/// Met of total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rate {
    pub met: i64,
    pub total: i64,
}

impl Rate {
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.met as f64 / self.total as f64)
    }
}

/// CSAT of the sessions resolved in the range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsatFigures {
    pub n: i64,
    pub mean: Option<f64>,
    /// Responses per score, 1 to 5.
    pub distribution: [i64; 5],
    /// Responses per resolved session.
    pub response_rate: Option<f64>,
}

/// Every figure of a report, for one period, agent, type or the whole range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub opened: i64,
    pub resolved: i64,
    pub abandoned: i64,
    /// Abandoned per opened.
    pub abandonment_rate: Option<f64>,
    /// Reopens of the sessions resolved in the range (each session once).
    pub reopened: i64,
    /// Created → first assignment (human or bot).
    pub wait: Summary,
    /// First human ownership → first human reply.
    pub first_response: Summary,
    /// Created → last resolution.
    pub resolution: Summary,
    /// The resolver's time owning the session.
    pub handle: Summary,
    pub queue_sla: Rate,
    pub first_response_sla: Rate,
    pub csat: CsatFigures,
    pub bot_involved: i64,
    /// Resolved with a bot and no human.
    pub bot_only: i64,
    /// Resolved sessions a bot handed to a human (or a human took over).
    pub handed_off: i64,
    /// Handoffs by reason.
    pub handoffs: BTreeMap<String, i64>,
    /// Resolutions by reason id.
    pub reasons: BTreeMap<ReasonId, i64>,
    /// The wait's histogram: bucket → count ([`histogram`]).
    pub wait_histogram: BTreeMap<i16, i64>,
    /// The three durations counted in business hours only, over the
    /// sessions of types that have business hours (n says how many).
    pub business_hours: BusinessHoursFigures,
}

/// Durations in business hours: the time the type was open, within each
/// wall-clock duration (a wait from Friday 16:00 to Monday 10:00, open
/// 09:00–17:00 on weekdays, is 2 h).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessHoursFigures {
    pub wait: Summary,
    pub first_response: Summary,
    pub resolution: Summary,
}

/// One point of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// "2026-12-02", "Week of 2026-11-30", "14:00".
    pub label: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentFigures {
    pub agent_id: AgentId,
    pub name: String,
    pub is_bot: bool,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeFigures {
    pub support_type_id: SupportTypeId,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonName {
    pub id: ReasonId,
    pub support_type_id: SupportTypeId,
    pub label: String,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub filter: ReportFilter,
    /// The zone the days are counted in.
    pub time_zone: String,
    pub source: ReportSource,
    pub totals: Figures,
    /// The same length of time just before, for the takeaways.
    pub previous: Figures,
    pub series: Vec<Period>,
    pub agents: Vec<AgentFigures>,
    pub support_types: Vec<TypeFigures>,
    pub reasons: Vec<ReasonName>,
}

/// One metric's sums: what one rollup row holds (migration 0022), and
/// what a [`Tally`] keeps per metric.
///
/// A metric is a plain count (`n`), a histogram (`n` values summing to
/// `total`, with the count per bucket) or a breakdown (`n` in all, with the
/// count per part: a reason id, a handoff reason). Deltas have negative
/// counts; stored sums never do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub n: i64,
    pub total: i64,
    /// Count per histogram bucket, indexed by the bucket (0 ..= [`histogram::MAX_BUCKET`]).
    pub buckets: Vec<i64>,
    /// Count per part.
    pub parts: BTreeMap<String, i64>,
}

impl Sums {
    /// Adds one contribution: to `part` when the metric is a breakdown, to
    /// `bucket` when it is a histogram ([`metric::COUNT`] for neither).
    pub fn add(&mut self, bucket: i16, part: Option<&str>, n: i64, total: i64) {
        self.n += n;
        self.total += total;
        if let Some(p) = part {
            match self.parts.get_mut(p) {
                Some(c) => *c += n,
                None => {
                    self.parts.insert(p.to_owned(), n);
                }
            }
        } else if bucket >= 0 {
            self.add_counts(bucket, &[n]);
        }
    }

    /// Adds `counts`, the first of them in bucket `lo`.
    pub fn add_counts(&mut self, lo: i16, counts: &[i64]) {
        let lo = usize::try_from(lo.clamp(0, histogram::MAX_BUCKET)).unwrap_or_default();
        let end = (lo + counts.len()).min(usize::try_from(histogram::MAX_BUCKET).unwrap_or_default() + 1);
        if self.buckets.len() < end {
            self.buckets.resize(end, 0);
        }
        for (b, c) in self.buckets[lo..end].iter_mut().zip(counts) {
            *b += c;
        }
    }

    pub fn merge(&mut self, other: &Self) {
        self.add_stored(other.n, other.total, 0, &other.buckets, &other.parts);
    }

    /// Adds sums as a rollup row stores them: the counts from bucket `lo`.
    pub fn add_stored(&mut self, n: i64, total: i64, lo: i16, counts: &[i64], parts: &BTreeMap<String, i64>) {
        self.n += n;
        self.total += total;
        if !counts.is_empty() {
            self.add_counts(lo, counts);
        }
        for (p, c) in parts {
            *self.parts.entry(p.clone()).or_default() += c;
        }
    }

    /// The histogram as a rollup row stores it: the first non-empty
    /// bucket and the counts from there to the last non-empty one (bucket
    /// 0 and nothing when it is empty).
    pub fn trimmed_counts(&self) -> (i16, &[i64]) {
        let first = self.buckets.iter().position(|c| *c != 0);
        let last = self.buckets.iter().rposition(|c| *c != 0);
        match (first, last) {
            (Some(f), Some(l)) => (i16::try_from(f).unwrap_or(histogram::MAX_BUCKET), &self.buckets[f..=l]),
            _ => (0, &[]),
        }
    }

    /// Nothing to add: every sum is zero.
    pub fn is_zero(&self) -> bool {
        self.n == 0
            && self.total == 0
            && self.buckets.iter().all(|c| *c == 0)
            && self.parts.values().all(|c| *c == 0)
    }

    fn histogram(&self) -> Histogram {
        let mut h = Histogram::default();
        for (b, c) in self.buckets.iter().enumerate() {
            if *c != 0 {
                h.add(i16::try_from(b).unwrap_or(histogram::MAX_BUCKET), *c);
            }
        }
        h
    }
}

/// Sums of contributions, per metric: what rollup rows and facts both
/// reduce to, and what [`Figures`] are read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Per metric as rollup rows name it (a breakdown's parts inside).
    pub metrics: BTreeMap<String, Sums>,
}

impl Tally {
    /// Adds one contribution of `metric` (a breakdown's metric names its
    /// part after the colon: `reason:<id>`).
    pub fn add(&mut self, metric: &str, bucket: i16, n: i64, total: i64) {
        let (name, part) = metric::split(metric);
        self.sums(name).add(bucket, part, n, total);
    }

    /// The sums of `metric` (as a rollup row names it), to add to.
    pub fn sums(&mut self, metric: &str) -> &mut Sums {
        if !self.metrics.contains_key(metric) {
            self.metrics.insert(metric.to_owned(), Sums::default());
        }
        self.metrics.get_mut(metric).expect("inserted above")
    }

    pub fn merge(&mut self, other: &Self) {
        for (m, s) in &other.metrics {
            self.sums(m).merge(s);
        }
    }

    fn count(&self, metric: &str) -> i64 {
        self.metrics.get(metric).map_or(0, |s| s.n)
    }

    fn histogram(&self, metric: &str) -> (Histogram, i64) {
        self.metrics.get(metric).map_or_else(|| (Histogram::default(), 0), |s| (s.histogram(), s.total))
    }

    fn summary(&self, metric: &str) -> Summary {
        let (h, total) = self.histogram(metric);
        let n = h.count();
        Summary {
            n,
            mean_ms: (n > 0).then(|| total as f64 / n as f64),
            p50_ms: h.percentile(0.5),
            p90_ms: h.percentile(0.9),
        }
    }

    /// The parts of a breakdown that count something.
    fn parts(&self, metric: &str) -> impl Iterator<Item = (&str, i64)> {
        self.metrics
            .get(metric)
            .into_iter()
            .flat_map(|s| s.parts.iter())
            .map(|(p, n)| (p.as_str(), *n))
            .filter(|(_, n)| *n != 0)
    }

    /// The figures these sums stand for.
    pub fn figures(&self) -> Figures {
        let opened = self.count(metric::OPENED);
        let resolved = self.count(metric::RESOLVED);
        let abandoned = self.count(metric::ABANDONED);
        let (csat_h, csat_total) = self.histogram(metric::CSAT);
        let mut distribution = [0; 5];
        for (b, n) in &csat_h.counts {
            if (1..=5).contains(b) {
                distribution[(*b - 1) as usize] += n;
            }
        }
        let csat_n = csat_h.count();
        let mut handoffs = BTreeMap::new();
        for (reason, n) in self.parts(metric::HANDOFF) {
            *handoffs.entry(reason.to_owned()).or_default() += n;
        }
        let mut reasons = BTreeMap::new();
        for (id, n) in self.parts(metric::REASON) {
            if let Ok(id) = id.parse::<uuid::Uuid>() {
                *reasons.entry(ReasonId(id)).or_default() += n;
            }
        }
        let (wait_h, _) = self.histogram(metric::WAIT);
        Figures {
            opened,
            resolved,
            abandoned,
            abandonment_rate: (opened > 0).then(|| abandoned as f64 / opened as f64),
            reopened: self.count(metric::REOPENED),
            wait: self.summary(metric::WAIT),
            first_response: self.summary(metric::FRT),
            resolution: self.summary(metric::RESOLUTION),
            handle: self.summary(metric::HANDLE),
            queue_sla: Rate {
                met: self.count(metric::QUEUE_SLA_MET),
                total: self.count(metric::QUEUE_SLA_MET) + self.count(metric::QUEUE_SLA_MISSED),
            },
            first_response_sla: Rate {
                met: self.count(metric::FRT_SLA_MET),
                total: self.count(metric::FRT_SLA_MET) + self.count(metric::FRT_SLA_MISSED),
            },
            csat: CsatFigures {
                n: csat_n,
                mean: (csat_n > 0).then(|| csat_total as f64 / csat_n as f64),
                distribution,
                response_rate: (resolved > 0).then(|| csat_n as f64 / resolved as f64),
            },
            bot_involved: self.count(metric::BOT_INVOLVED),
            bot_only: self.count(metric::BOT_ONLY),
            handed_off: self.count(metric::HANDED_OFF),
            handoffs,
            reasons,
            wait_histogram: wait_h.counts.into_iter().filter(|(_, n)| *n > 0).collect(),
            business_hours: BusinessHoursFigures {
                wait: self.summary(metric::WAIT_BH),
                first_response: self.summary(metric::FRT_BH),
                resolution: self.summary(metric::RESOLUTION_BH),
            },
        }
    }
}

/// A relative change, "−18%" style, when both sides have a value.
pub fn change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (now, before) {
        (Some(a), Some(b)) if b.abs() > f64::EPSILON => Some((a - b) / b),
        _ => None,
    }
}

/// A duration in words: "850 ms", "42 s", "3.5 min", "2.1 h", "1.4 d".
pub fn human_duration(ms: f64) -> String {
    let s = ms / 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_counts_histograms_and_prefixed_breakdowns() {
        let mut t = Tally::default();
        t.add(metric::OPENED, metric::COUNT, 4, 0);
        t.add(metric::ABANDONED, metric::COUNT, 1, 0);
        t.add(metric::RESOLVED, metric::COUNT, 2, 0);
        t.add(metric::CSAT, 5, 1, 5);
        t.add(metric::CSAT, 3, 1, 3);
        t.add(metric::WAIT, histogram::bucket_of(1000), 2, 2000);
        let r = uuid::Uuid::new_v4();
        t.add(&format!("{}{r}", metric::REASON_PREFIX), metric::COUNT, 2, 0);
        t.add(&format!("{}low_confidence", metric::HANDOFF_PREFIX), metric::COUNT, 1, 0);
        let f = t.figures();
        assert_eq!((f.opened, f.resolved, f.abandoned), (4, 2, 1));
        assert_eq!(f.abandonment_rate, Some(0.25));
        assert_eq!(f.csat.distribution, [0, 0, 1, 0, 1]);
        assert_eq!(f.csat.mean, Some(4.0));
        assert_eq!(f.csat.response_rate, Some(1.0));
        assert_eq!(f.wait.n, 2);
        assert_eq!(f.wait.mean_ms, Some(1000.0));
        assert_eq!(f.reasons.get(&ReasonId(r)), Some(&2));
        assert_eq!(f.handoffs.get("low_confidence"), Some(&1));
    }

    #[test]
    fn filters_name_the_field_they_break() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date");
        let mut f = ReportFilter::last_days(today, 30);
        assert!(f.validate().is_ok());
        f.group = Grouping::Hour;
        assert!(matches!(f.validate(), Err(crate::Error::Invalid { field, .. }) if field == "group"));
        let mut f = ReportFilter::last_days(today, 1);
        f.to = f.from - chrono::Duration::days(1);
        assert!(matches!(f.validate(), Err(crate::Error::Invalid { field, .. }) if field == "to"));
        let mut f = ReportFilter::last_days(today, 1);
        f.time_zone = Some("Mars/Olympus".into());
        assert!(matches!(f.validate(), Err(crate::Error::Invalid { field, .. }) if field == "time_zone"));
    }
}
