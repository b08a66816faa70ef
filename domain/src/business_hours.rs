//! A support type's business hours, stored as JSON on the type:
//!
//! ```json
//! { "time_zone": "Europe/Berlin",
//!   "open": { "mon": ["09:00", "17:30"], "tue": ["09:00", "17:30"], "sat": null },
//!   "after_hours_message": "We are closed; we answer from 9:00 tomorrow." }
//! ```
//!
//! Days not listed (or `null`) are closed. Times are wall-clock times in
//! `time_zone`, an IANA name evaluated with `chrono-tz`, so daylight saving
//! needs nobody to change anything (default `UTC`).
//!
//! The time zone lives in this document rather than in a column of its own:
//! nothing but business hours reads it, and the document is validated as one
//! piece. The old fixed `utc_offset_minutes` is still accepted for this
//! release and normalised on the way in: a whole number of hours becomes the
//! equivalent `Etc/GMT±N` zone (the same fixed offset, under an IANA name);
//! an offset that is no whole number of hours has no IANA equivalent, so it
//! is kept and evaluated as before (a fixed offset, no daylight saving) until
//! an admin picks a zone. Migration 0009 rewrote stored hours the same way.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// An IANA time zone such as `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Deprecated: a fixed offset from UTC, only where no time zone is set
    /// (see the module docs). Removed in the next release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
    #[serde(default)]
    pub open: std::collections::BTreeMap<String, Option<(String, String)>>,
    pub after_hours_message: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    /// Parses, checks and normalises the JSON (see the module docs); the
    /// error names what is wrong.
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        let mut hours: Self = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        match (&hours.time_zone, hours.utc_offset_minutes) {
            (Some(_), Some(_)) => {
                return Err("give time_zone or the deprecated utc_offset_minutes, not both".into());
            }
            (Some(zone), None) => {
                zone.parse::<chrono_tz::Tz>().map_err(|_| {
                    format!("time_zone {zone:?} is not an IANA time zone such as Europe/Berlin")
                })?;
            }
            (None, Some(offset)) => {
                if !(-14 * 60..=14 * 60).contains(&offset) {
                    return Err("utc_offset_minutes must be between -840 and 840".into());
                }
                if let Some(zone) = zone_for_offset(offset) {
                    hours.time_zone = Some(zone);
                    hours.utc_offset_minutes = None;
                }
            }
            (None, None) => hours.time_zone = Some("UTC".to_owned()),
        }
        for (day, span) in &hours.open {
            if !DAYS.contains(&day.as_str()) {
                return Err(format!("{day:?} is not a day (use {})", DAYS.join(", ")));
            }
            if let Some((from, to)) = span {
                let (f, t) = (parse_time(from)?, parse_time(to)?);
                if f >= t {
                    return Err(format!("{day}: {from} is not before {to}"));
                }
            }
        }
        Ok(hours)
    }

    /// The wall-clock time at `now` where the type works.
    fn local(&self, now: DateTime<Utc>) -> NaiveDateTime {
        match (self.time_zone.as_deref().map(str::parse::<chrono_tz::Tz>), self.utc_offset_minutes) {
            (Some(Ok(zone)), _) => now.with_timezone(&zone).naive_local(),
            (_, Some(offset)) => (now + Duration::minutes(i64::from(offset))).naive_utc(),
            _ => now.naive_utc(),
        }
    }

    /// Whether the type is open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = self.local(now);
        let day = match local.weekday() {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        };
        let Some(Some((from, to))) = self.open.get(day) else { return false };
        match (parse_time(from), parse_time(to)) {
            (Ok(f), Ok(t)) => {
                let time = local.time();
                f <= time && time < t
            }
            _ => false,
        }
    }
}

/// Open spans longer than this are counted to their first ten years: no
/// report reads further, and the loop below stays bounded.
const MAX_DAYS: i64 = 3660;

impl BusinessHours {
    /// The instant of the local wall-clock time `local` where the type
    /// works. In a daylight-saving gap, the first instant after it; in a
    /// repeated hour, the earlier one.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        use chrono::TimeZone;
        match (self.time_zone.as_deref().map(str::parse::<chrono_tz::Tz>), self.utc_offset_minutes) {
            (Some(Ok(zone)), _) => {
                let mut probe = local;
                // A gap is at most a few hours; step through it by minutes.
                for _ in 0..24 * 60 {
                    if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                    probe += Duration::minutes(1);
                }
                local.and_utc()
            }
            (_, Some(offset)) => local.and_utc() - Duration::minutes(i64::from(offset)),
            _ => local.and_utc(),
        }
    }

    /// Milliseconds of `[start, end)` during which the type is open: what a
    /// duration counts in business hours (a wait from Friday 16:00 to
    /// Monday 10:00 with 09:00–17:00 weekdays is 2 h).
    pub fn open_ms_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        if end <= start {
            return 0;
        }
        let spans: Vec<(Weekday, NaiveTime, NaiveTime)> = DAYS
            .iter()
            .zip([
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ])
            .filter_map(|(name, day)| match self.open.get(*name) {
                Some(Some((from, to))) => match (parse_time(from), parse_time(to)) {
                    (Ok(f), Ok(t)) if f < t => Some((day, f, t)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if spans.is_empty() {
            return 0;
        }
        let (first, last) = (self.local(start).date(), self.local(end).date());
        let last = last.min(first + Duration::days(MAX_DAYS));
        let mut total = 0;
        let mut day = first;
        while day <= last {
            for (weekday, from, to) in &spans {
                if day.weekday() == *weekday {
                    let (open, close) = (self.instant(day.and_time(*from)), self.instant(day.and_time(*to)));
                    let (a, b) = (open.max(start), close.min(end));
                    if b > a {
                        total += (b - a).num_milliseconds();
                    }
                }
            }
            day += Duration::days(1);
        }
        total
    }
}

/// The IANA zone with this fixed offset: `UTC`, or `Etc/GMT±N` (whose sign
/// is POSIX's, the reverse of ISO's: `Etc/GMT-1` is UTC+01:00). `None` for
/// offsets that are no whole number of hours or beyond the `Etc` zones.
pub fn zone_for_offset(minutes: i32) -> Option<String> {
    if minutes % 60 != 0 || !(-12 * 60..=14 * 60).contains(&minutes) {
        return None;
    }
    Some(match minutes / 60 {
        0 => "UTC".to_owned(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    })
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not a time like 09:30"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn open_and_closed_by_local_day_and_time() {
        let hours = BusinessHours::parse(&serde_json::json!({
            "time_zone": "Etc/GMT-1",
            "open": { "mon": ["09:00", "17:30"], "sat": null },
            "after_hours_message": "Closed"
        }))
        .expect("valid");
        // 2026-11-30 is a Monday. 08:30 UTC is 09:30 local.
        assert!(hours.is_open(at("2026-11-30T08:30:00Z")));
        assert!(!hours.is_open(at("2026-11-30T07:30:00Z")), "08:30 local: not yet");
        assert!(!hours.is_open(at("2026-11-30T16:30:00Z")), "17:30 local: closed");
        assert!(!hours.is_open(at("2026-12-01T10:00:00Z")), "Tuesday is not listed");
        assert!(!hours.is_open(at("2026-12-05T10:00:00Z")), "Saturday is null");
    }

    #[test]
    fn the_opening_follows_daylight_saving_time() {
        // Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29.
        let hours = BusinessHours::parse(&serde_json::json!({
            "time_zone": "Europe/Berlin",
            "open": { "mon": ["09:00", "17:00"] },
        }))
        .expect("valid");
        // Monday before the change: 09:00 local is 08:00 UTC.
        assert!(!hours.is_open(at("2026-03-23T07:59:00Z")));
        assert!(hours.is_open(at("2026-03-23T08:00:00Z")));
        assert!(hours.is_open(at("2026-03-23T15:59:00Z")));
        assert!(!hours.is_open(at("2026-03-23T16:00:00Z")));
        // Monday after the change: 09:00 local is 07:00 UTC.
        assert!(!hours.is_open(at("2026-03-30T06:59:00Z")));
        assert!(hours.is_open(at("2026-03-30T07:00:00Z")));
        assert!(hours.is_open(at("2026-03-30T14:59:00Z")));
        assert!(!hours.is_open(at("2026-03-30T15:00:00Z")));
        // And back in October (Sunday 2026-10-25): 08:00 UTC again.
        assert!(!hours.is_open(at("2026-10-26T07:00:00Z")));
        assert!(hours.is_open(at("2026-10-26T08:00:00Z")));
    }

    #[test]
    fn the_old_fixed_offset_is_normalised_to_a_zone_where_one_exists() {
        let parse = |v| BusinessHours::parse(&v).expect("valid");
        let hours = parse(serde_json::json!({ "utc_offset_minutes": 60, "open": {} }));
        assert_eq!((hours.time_zone.as_deref(), hours.utc_offset_minutes), (Some("Etc/GMT-1"), None));
        let hours = parse(serde_json::json!({ "utc_offset_minutes": -300, "open": {} }));
        assert_eq!(hours.time_zone.as_deref(), Some("Etc/GMT+5"));
        assert_eq!(parse(serde_json::json!({ "open": {} })).time_zone.as_deref(), Some("UTC"));
        // India's +05:30 has no Etc zone: kept as a fixed offset, as before.
        let india =
            parse(serde_json::json!({ "utc_offset_minutes": 330, "open": { "mon": ["09:00", "17:00"] } }));
        assert_eq!((india.time_zone.as_deref(), india.utc_offset_minutes), (None, Some(330)));
        assert!(india.is_open(at("2026-11-30T03:30:00Z")), "09:00 in India");
        assert!(!india.is_open(at("2026-11-30T03:29:00Z")));
        let err = BusinessHours::parse(&serde_json::json!({ "time_zone": "UTC", "utc_offset_minutes": 0 }))
            .expect_err("both");
        assert!(err.contains("not both"), "{err}");
    }

    #[test]
    fn durations_count_only_the_open_hours() {
        // 2026-11-27 is a Friday; open 09:00–17:00 on weekdays, in Berlin (UTC+1 in winter).
        let hours = BusinessHours::parse(&serde_json::json!({
            "time_zone": "Europe/Berlin",
            "open": { "mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"], "wed": ["09:00", "17:00"],
                      "thu": ["09:00", "17:00"], "fri": ["09:00", "17:00"] },
        }))
        .expect("valid");
        let h = |n: i64| n * 3_600_000;
        // Friday 16:00 local to Monday 10:00 local: 1 h on Friday, 1 h on Monday.
        assert_eq!(hours.open_ms_between(at("2026-11-27T15:00:00Z"), at("2026-11-30T09:00:00Z")), h(2));
        // Wholly inside one day, and wholly outside.
        assert_eq!(hours.open_ms_between(at("2026-11-30T09:00:00Z"), at("2026-11-30T09:30:00Z")), h(1) / 2);
        assert_eq!(
            hours.open_ms_between(at("2026-11-28T09:00:00Z"), at("2026-11-29T20:00:00Z")),
            0,
            "a weekend"
        );
        assert_eq!(
            hours.open_ms_between(at("2026-11-30T17:00:00Z"), at("2026-11-30T07:00:00Z")),
            0,
            "backwards"
        );
        // A whole week is 40 h.
        assert_eq!(hours.open_ms_between(at("2026-11-30T00:00:00Z"), at("2026-12-07T00:00:00Z")), h(40));
        // Across the spring change (Sunday 2026-03-29) every weekday still has 8 h.
        assert_eq!(hours.open_ms_between(at("2026-03-23T00:00:00Z"), at("2026-04-04T00:00:00Z")), h(80));
        // A type that is never open counts nothing.
        let closed = BusinessHours::parse(&serde_json::json!({ "open": {} })).expect("valid");
        assert_eq!(closed.open_ms_between(at("2026-11-30T00:00:00Z"), at("2026-12-07T00:00:00Z")), 0);
        // The old fixed offset: India's 09:00 is 03:30 UTC.
        let india = BusinessHours::parse(
            &serde_json::json!({ "utc_offset_minutes": 330, "open": { "mon": ["09:00", "17:00"] } }),
        )
        .expect("valid");
        assert_eq!(india.open_ms_between(at("2026-11-30T03:00:00Z"), at("2026-11-30T04:30:00Z")), h(1));
    }

    #[test]
    fn bad_hours_name_the_problem() {
        let err = BusinessHours::parse(&serde_json::json!({ "open": { "monday": ["09:00", "17:00"] } }))
            .expect_err("bad day");
        assert!(err.contains("monday"), "{err}");
        let err = BusinessHours::parse(&serde_json::json!({ "open": { "mon": ["17:00", "09:00"] } }))
            .expect_err("backwards");
        assert!(err.contains("not before"), "{err}");
        let err = BusinessHours::parse(&serde_json::json!({ "open": { "mon": ["9am", "17:00"] } }))
            .expect_err("format");
        assert!(err.contains("9am"), "{err}");
        let err =
            BusinessHours::parse(&serde_json::json!({ "time_zone": "Europe/Atlantis" })).expect_err("zone");
        assert!(err.contains("Europe/Atlantis"), "{err}");
    }
}
