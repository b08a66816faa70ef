//! Fixed-window rate limits, counted in PostgreSQL so that every server node
//! shares them. A key (`login:email:ana@example.com`) gets one counter per
//! window; the attempt that takes it over the limit, and every one after it
//! in that window, is refused with [`crate::Error::RateLimited`].
//!
//! Each [`hit`] is its own statement on the pool, never part of the caller's
//! transaction: a failed login rolls back its own work but still counts.
//!
//! Windows follow the database's clock (`now()`), the one clock every node
//! shares. Tests may stop that clock for their own connections with
//! [`clock_at`], so that counting up to a limit never straddles two windows.

use std::net::IpAddr;
use std::time::Duration;

/// The longest window [`hit`] accepts; [`prune`] deletes windows that started
/// longer ago than this.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// The part of an address that identifies a client for rate limiting: the
/// whole IPv4 address, but only the /64 prefix of an IPv6 address (one
/// subscriber usually holds a whole /64). IPv4-mapped IPv6 counts as IPv4.
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{Error, Result};
    use chrono::{DateTime, SecondsFormat, Utc};
    use sqlx::{PgPool, postgres::PgConnectOptions};

    static SCALE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

    /// Multiplies every limit by `scale` (at least 1), process-wide; set
    /// once at start from `RATE_LIMIT_SCALE`. For load tests and end-to-end
    /// suites that drive many sign-ins from one address; production keeps 1.
    pub fn set_scale(scale: u32) {
        SCALE.store(scale.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The connection setting [`hit`] takes the time from, when it is set.
    const CLOCK_SETTING: &str = "switchboard.rate_limit_clock";

    /// Test-only: `options` for connections on which [`hit`] takes the time
    /// from `at` instead of the database's `now()`, so that a test decides
    /// where its attempts fall in a window (a pool opened with a later `at`
    /// sees a later window). The application's pool never sets it, so
    /// production windows follow `now()`; only whoever opens a connection to
    /// the database can set it, and they could write the counters anyway.
    /// [`prune`] keeps to `now()`.
    pub fn clock_at(options: PgConnectOptions, at: DateTime<Utc>) -> PgConnectOptions {
        options.options([(CLOCK_SETTING, at.to_rfc3339_opts(SecondsFormat::Micros, true))])
    }

    /// Keys are bounded so that a huge input (a megabyte "e-mail address")
    /// cannot bloat the table; the CHECK allows 300 bytes.
    const MAX_KEY_BYTES: usize = 300;

    fn bounded(key: &str) -> &str {
        if key.len() <= MAX_KEY_BYTES {
            return key;
        }
        let mut end = MAX_KEY_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        &key[..end]
    }

    /// Counts one attempt under `key` in the current window of length
    /// `window` (1 s to [`MAX_WINDOW`]) by the database's clock (or
    /// [`clock_at`]'s). Beyond `limit` attempts in the window it answers
    /// [`Error::RateLimited`] with the seconds until the window ends (at
    /// least 1). The attempt is counted either way.
    pub async fn hit(pool: &PgPool, key: &str, limit: u32, window: Duration) -> Result<()> {
        if window < Duration::from_secs(1) || window > MAX_WINDOW {
            return Err(Error::internal("rate limit", format!("window {window:?} is out of range")));
        }
        let row = sqlx::query!(
            r#"WITH w AS (
                   SELECT make_interval(secs => $2) AS len,
                          coalesce(nullif(current_setting($3, true), '')::timestamptz, now()) AS at
               )
               INSERT INTO rate_limits AS r (key, window_start, count)
               SELECT $1, date_bin(w.len, w.at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), 1 FROM w
               ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
               RETURNING r.count,
                         ceil(extract(epoch FROM
                             r.window_start + make_interval(secs => $2) - (SELECT at FROM w)))::bigint
                             AS "retry_after!""#,
            bounded(key),
            window.as_secs_f64(),
            CLOCK_SETTING
        )
        .fetch_one(pool)
        .await?;
        let limit = i64::from(limit) * i64::from(SCALE.load(std::sync::atomic::Ordering::Relaxed));
        if i64::from(row.count) > limit {
            let retry_after_secs = u64::try_from(row.retry_after).unwrap_or(0).max(1);
            Err(Error::RateLimited { retry_after_secs })
        } else {
            Ok(())
        }
    }

    /// Counts one attempt under each `(key, limit)` (all of them, even when an
    /// earlier one is over its limit) and answers the longest wait if any is
    /// over.
    pub async fn hit_all(pool: &PgPool, keys: &[(&str, u32)], window: Duration) -> Result<()> {
        let mut refused: Option<u64> = None;
        for (key, limit) in keys {
            match hit(pool, key, *limit, window).await {
                Ok(()) => {}
                Err(Error::RateLimited { retry_after_secs }) => {
                    refused = Some(refused.map_or(retry_after_secs, |r| r.max(retry_after_secs)));
                }
                Err(other) => return Err(other),
            }
        }
        match refused {
            Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Deletes the windows that started more than [`MAX_WINDOW`] ago; returns
    /// how many.
    pub async fn prune(pool: &PgPool) -> Result<u64> {
        let deleted = sqlx::query!(
            "DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)",
            MAX_WINDOW.as_secs_f64()
        )
        .execute(pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn keys_are_bounded_on_a_char_boundary() {
            let long = "é".repeat(400);
            let b = bounded(&long);
            assert!(b.len() <= MAX_KEY_BYTES && b.chars().all(|c| c == 'é'));
            assert_eq!(bounded("login:ip:1.2.3.4"), "login:ip:1.2.3.4");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        assert_eq!(ip_key(a), ip_key(b));
        assert_eq!(ip_key(a), "2001:db8:1:2::/64");
        assert_eq!(ip_key("192.0.2.7".parse().expect("ip")), "192.0.2.7");
        assert_eq!(ip_key("::ffff:192.0.2.7".parse().expect("ip")), "192.0.2.7");
    }
}
