//! Structured logs through `tracing`. `LOG` is the filter; `LOG_FORMAT=json`
//! switches to one JSON object per line for log shippers.

use tracing_subscriber::{EnvFilter, fmt};

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|err| {
        eprintln!("LOG={filter:?} is not a valid filter ({err}); using \"info\"");
        EnvFilter::new("info")
    });
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = if json { builder.json().try_init() } else { builder.compact().try_init() };
}
