//! A support type's business hours, stored as JSON on the type:
//!
//! ```json
//! { "utc_offset_minutes": 60,
//!   "open": { "mon": ["09:00", "17:30"], "tue": ["09:00", "17:30"], "sat": null },
//!   "after_hours_message": "We are closed; we answer from 9:00 tomorrow." }
//! ```
//!
//! Days not listed (or `null`) are closed. The offset is fixed: a site that
//! changes offset with daylight saving updates it twice a year.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    #[serde(default)]
    pub utc_offset_minutes: i32,
    #[serde(default)]
    pub open: std::collections::BTreeMap<String, Option<(String, String)>>,
    pub after_hours_message: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    /// Parses and checks the JSON; the error names what is wrong.
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        let hours: Self = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        if !(-14 * 60..=14 * 60).contains(&hours.utc_offset_minutes) {
            return Err("utc_offset_minutes must be between -840 and 840".into());
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

    /// Whether the type is open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = now + Duration::minutes(i64::from(self.utc_offset_minutes));
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
            "utc_offset_minutes": 60,
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
    }
}
