//! Configuration from environment variables, with defaults that work on one
//! machine.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `LISTEN_ADDR`, else cargo-leptos' `LEPTOS_SITE_ADDR`.
    pub listen_addr: SocketAddr,
    /// `LOG`: a tracing filter such as `info` or `server=debug,info`.
    pub log: String,
    /// `LEPTOS_SITE_ROOT`: where the built WASM, JS and CSS live.
    pub site_root: String,
    /// `ENGINE_SWEEP_SECS`: how often the assignment engine sweeps the queue
    /// and runs the SLA timers, besides reacting to notifications.
    pub engine_sweep: std::time::Duration,
    /// `LEPTOS_ENV` (`DEV` or `PROD`). Production turns on `Secure` cookies
    /// and turns off live reload.
    pub production: bool,
    /// `SWAGGER_UI_DIR`: the `swagger-ui-dist` npm package's directory,
    /// served under `/api/docs`; default `node_modules/swagger-ui-dist`
    /// relative to the working directory.
    pub swagger_ui_dir: std::path::PathBuf,
    /// `WEBHOOK_ALLOW_PRIVATE=1`: webhooks may target loopback and private
    /// networks (closed on-premises networks only).
    pub webhook_allow_private: bool,
    /// `IMPORT_FETCH_ALLOW_PRIVATE=1`: an import may fetch its files from
    /// loopback and private networks (a helpdesk hosted on the company's
    /// own network). Off by default.
    pub import_fetch_allow_private: bool,
    /// `IMPORT_MAX_BYTES`: the largest history file `POST /api/v1/imports`
    /// takes (default and most 256 MiB); larger uploads get 413.
    pub import_max_bytes: u64,
    /// `RATE_LIMIT_SCALE`: multiplies every rate limit (default 1). Only for
    /// load tests and end-to-end suites that sign in many times from one
    /// address.
    pub rate_limit_scale: u32,
    /// `AMQP_URL`: RabbitMQ. Unset means embedded mode: events go to the
    /// consumers in this process through PostgreSQL.
    pub amqp_url: Option<String>,
    /// `AMQP_PREFIX`: names of exchanges and queues start with it.
    pub amqp_prefix: String,
    /// `PUBLIC_URL`: the site's public origin (`https://support.example.com`).
    /// When set, state-changing browser requests must come from it.
    pub public_origin: Option<String>,
    /// `TRUSTED_PROXIES`: comma-separated CIDRs (or addresses) of reverse
    /// proxies whose `X-Forwarded-For` / `Forwarded` name the client. Empty
    /// (the default) trusts nobody.
    pub trusted_proxies: crate::security::TrustedProxies,
    /// `METRICS_ADDR`: where Prometheus `/metrics` is served, on a listener
    /// of its own (never the public one). Unset: not served.
    pub metrics_addr: Option<SocketAddr>,
    /// Where attachments are stored:
    /// - `ATTACHMENTS_DIR`: a directory of the local file system (default
    ///   `data/attachments`, relative to the working directory);
    /// - `ATTACHMENTS_URL`: `s3://bucket[/prefix]`, an S3-compatible store
    ///   shared by every node, with `AWS_ENDPOINT`, `AWS_REGION`,
    ///   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_ALLOW_HTTP=true`
    ///   (for a plain-HTTP endpoint). It wins over the directory.
    pub attachments: domain::attachments::Storage,
    /// `CLAMD_ADDR`: clamd's `host:port`; when set, every upload is scanned
    /// before it is stored (and refused when clamd cannot answer).
    pub clamd_addr: Option<String>,
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/switchboard";

pub const DEFAULT_SWAGGER_UI_DIR: &str = "node_modules/swagger-ui-dist";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {message}")]
    Invalid { name: &'static str, message: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration through `lookup`, so that tests need not touch
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let listen = lookup("LISTEN_ADDR")
            .or_else(|| lookup("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let listen_addr = listen.parse().map_err(|e| ConfigError::Invalid {
            name: "LISTEN_ADDR",
            message: format!("{listen:?} is not a socket address such as 127.0.0.1:3000 ({e})"),
        })?;
        let database_max_connections = match lookup("DATABASE_MAX_CONNECTIONS") {
            None => 20,
            Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Invalid {
                name: "DATABASE_MAX_CONNECTIONS",
                message: format!("{v:?} is not a positive whole number"),
            })?,
        };
        let engine_sweep = match lookup("ENGINE_SWEEP_SECS") {
            None => 5,
            Some(v) => v.parse().ok().filter(|n: &u64| (1..=3600).contains(n)).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "ENGINE_SWEEP_SECS",
                    message: format!("{v:?} is not a whole number of seconds from 1 to 3600"),
                }
            })?,
        };
        let production = match lookup("LEPTOS_ENV").as_deref().map(str::to_ascii_uppercase) {
            None => false,
            Some(v) if v == "PROD" || v == "PRODUCTION" => true,
            Some(v) if v == "DEV" || v == "DEVELOPMENT" => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "LEPTOS_ENV",
                    message: format!("{v:?} is neither DEV nor PROD"),
                });
            }
        };
        Ok(Self {
            database_url: lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            database_max_connections,
            listen_addr,
            log: lookup("LOG").unwrap_or_else(|| "info".to_owned()),
            site_root: lookup("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()),
            engine_sweep: std::time::Duration::from_secs(engine_sweep),
            production,
            webhook_allow_private: lookup("WEBHOOK_ALLOW_PRIVATE").is_some_and(|v| v == "1" || v == "true"),
            import_fetch_allow_private: lookup("IMPORT_FETCH_ALLOW_PRIVATE")
                .is_some_and(|v| v == "1" || v == "true"),
            import_max_bytes: match lookup("IMPORT_MAX_BYTES") {
                None => domain::import::MAX_FILE_BYTES,
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=domain::import::MAX_FILE_BYTES).contains(n))
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "IMPORT_MAX_BYTES",
                        message: format!(
                            "{v:?} is not a number of bytes from 1 to {}",
                            domain::import::MAX_FILE_BYTES
                        ),
                    })?,
            },
            rate_limit_scale: match lookup("RATE_LIMIT_SCALE") {
                None => 1,
                Some(v) => v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    ConfigError::Invalid {
                        name: "RATE_LIMIT_SCALE",
                        message: format!("{v:?} is not a whole number from 1 to 1000"),
                    }
                })?,
            },
            amqp_url: lookup("AMQP_URL"),
            amqp_prefix: lookup("AMQP_PREFIX").unwrap_or_else(|| "switchboard.".to_owned()),
            public_origin: match lookup("PUBLIC_URL") {
                None => None,
                Some(url) => Some(public_origin(&url).ok_or_else(|| ConfigError::Invalid {
                    name: "PUBLIC_URL",
                    message: format!("{url:?} is not an http(s) URL such as https://support.example.com"),
                })?),
            },
            trusted_proxies: crate::security::TrustedProxies::parse(
                &lookup("TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|message| ConfigError::Invalid { name: "TRUSTED_PROXIES", message })?,
            metrics_addr: match lookup("METRICS_ADDR") {
                None => None,
                Some(v) => Some(v.parse().map_err(|e| ConfigError::Invalid {
                    name: "METRICS_ADDR",
                    message: format!("{v:?} is not a socket address such as 127.0.0.1:9463 ({e})"),
                })?),
            },
            clamd_addr: lookup("CLAMD_ADDR"),
            attachments: match lookup("ATTACHMENTS_URL") {
                None => domain::attachments::Storage::Local(
                    lookup("ATTACHMENTS_DIR").unwrap_or_else(|| "data/attachments".to_owned()).into(),
                ),
                Some(url) if url.starts_with("s3://") && url.len() > "s3://".len() => {
                    domain::attachments::Storage::S3 {
                        url,
                        settings: domain::attachments::S3Settings {
                            endpoint: lookup("AWS_ENDPOINT").or_else(|| lookup("AWS_ENDPOINT_URL")),
                            region: lookup("AWS_REGION"),
                            access_key_id: lookup("AWS_ACCESS_KEY_ID"),
                            secret_access_key: lookup("AWS_SECRET_ACCESS_KEY"),
                            allow_http: lookup("AWS_ALLOW_HTTP").is_some_and(|v| v == "1" || v == "true"),
                        },
                    }
                }
                Some(url) => {
                    return Err(ConfigError::Invalid {
                        name: "ATTACHMENTS_URL",
                        message: format!("{url:?} is not an s3://bucket[/prefix] URL"),
                    });
                }
            },
            swagger_ui_dir: lookup("SWAGGER_UI_DIR")
                .unwrap_or_else(|| DEFAULT_SWAGGER_UI_DIR.to_owned())
                .into(),
        })
    }
}

/// `scheme://host[:port]` of an http(s) URL.
fn public_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (matches!(scheme, "http" | "https") && !host.is_empty()).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_work_on_one_machine() {
        let c = from(&[]).expect("defaults");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.log, "info");
        assert!(!c.production);
        assert_eq!(c.swagger_ui_dir, std::path::Path::new(DEFAULT_SWAGGER_UI_DIR));
    }

    #[test]
    fn listen_addr_wins_over_leptos_site_addr() {
        let c =
            from(&[("LISTEN_ADDR", "0.0.0.0:8080"), ("LEPTOS_SITE_ADDR", "127.0.0.1:4000")]).expect("config");
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0:8080");
        let c = from(&[("LEPTOS_SITE_ADDR", "127.0.0.1:4000")]).expect("config");
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:4000");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = from(&[("LISTEN_ADDR", "localhost")]).expect_err("must fail").to_string();
        assert!(err.starts_with("LISTEN_ADDR is not valid"), "{err}");
        let err = from(&[("DATABASE_MAX_CONNECTIONS", "0")]).expect_err("must fail").to_string();
        assert!(err.starts_with("DATABASE_MAX_CONNECTIONS"), "{err}");
        let err = from(&[("LEPTOS_ENV", "staging")]).expect_err("must fail").to_string();
        assert!(err.starts_with("LEPTOS_ENV"), "{err}");
        assert!(from(&[("LEPTOS_ENV", "prod")]).expect("prod").production);
        let c = from(&[("PUBLIC_URL", "https://support.example.com/app/")]).expect("url");
        assert_eq!(c.public_origin.as_deref(), Some("https://support.example.com"));
        let err = from(&[("PUBLIC_URL", "support.example.com")]).expect_err("no scheme").to_string();
        assert!(err.starts_with("PUBLIC_URL"), "{err}");
        let err = from(&[("TRUSTED_PROXIES", "10.0.0.0/33")]).expect_err("bad cidr").to_string();
        assert!(err.starts_with("TRUSTED_PROXIES"), "{err}");
        let err = from(&[("METRICS_ADDR", "metrics")]).expect_err("bad addr").to_string();
        assert!(err.starts_with("METRICS_ADDR"), "{err}");
        let err = from(&[("ATTACHMENTS_URL", "/var/files")]).expect_err("not s3").to_string();
        assert!(err.starts_with("ATTACHMENTS_URL"), "{err}");
        assert!(from(&[]).expect("defaults").metrics_addr.is_none(), "no /metrics unless asked");
    }
}
