//! Building the application (pool, migrations, router, listener) and running
//! it until a shutdown signal.

use std::{net::SocketAddr, time::Duration};

use app::{App, shell};
use axum::{Router, extract::FromRef, routing::get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::{
    api,
    config::Config,
    health,
    hub::{self, Hub, HubConfig},
    metrics::{self, Metrics},
    security::{self, SecurityConfig},
};

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub leptos_options: LeptosOptions,
    pub swagger_ui_dir: api::docs::SwaggerUiDir,
    pub security: SecurityConfig,
    pub hub: Hub,
    pub metrics: Metrics,
    /// Where attachments' bytes live.
    pub files: domain::attachments::Files,
    /// The largest import upload.
    pub import_limit: api::imports::ImportLimit,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    pool: PgPool,
    engine_sweep: Duration,
    /// RabbitMQ URL and prefix; `None` is embedded mode.
    amqp: Option<(String, String)>,
    webhook_allow_private: bool,
    hub: Hub,
    hub_input: tokio::sync::mpsc::Receiver<hub::Input>,
    metrics: Metrics,
    /// The in-process consumers' counters (embedded mode).
    consumer_metrics: consumers::metrics::Metrics,
    /// `/metrics`' own listener (`METRICS_ADDR`), if configured.
    metrics_listener: Option<TcpListener>,
    files: domain::attachments::Files,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot reach the database at {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the attachment store: {0}")]
    Attachments(String),
}

/// How long `serve` and `migrate` wait for the database at start.
const DATABASE_WAIT: Duration = Duration::from_secs(30);

/// Connects to the database, waiting up to [`DATABASE_WAIT`] for it to come up,
/// and applies the migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<PgPool, StartupError> {
    let pool = domain::db::pool(&config.database_url, config.database_max_connections)
        .map_err(|source| StartupError::Database { url: redact(&config.database_url), source })?;
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match domain::db::migrate(&pool).await {
            Ok(()) => return Ok(pool),
            Err(sqlx::migrate::MigrateError::Execute(source))
                if is_connection_error(&source) && started.elapsed() < DATABASE_WAIT =>
            {
                tracing::warn!(error = %source, retry_in_ms = delay.as_millis() as u64, "database not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(sqlx::migrate::MigrateError::Execute(source)) if is_connection_error(&source) => {
                return Err(StartupError::Database { url: redact(&config.database_url), source });
            }
            Err(err) => return Err(err.into()),
        }
    }
}

fn is_connection_error(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_))
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl Application {
    /// Connects, migrates and binds, ready to [`run`](Self::run).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = connect_and_migrate(&config).await?;
        Self::build_with_pool(config, pool).await
    }

    /// Binds with an existing pool (tests pass their own database).
    pub async fn build_with_pool(config: Config, pool: PgPool) -> Result<Self, StartupError> {
        Self::build_with_hub(config, pool, HubConfig::default()).await
    }

    /// Binds with an existing pool and hub settings (tests shrink queues).
    pub async fn build_with_hub(
        config: Config,
        pool: PgPool,
        hub_config: HubConfig,
    ) -> Result<Self, StartupError> {
        domain::import::files::allow_private_sources(config.import_fetch_allow_private);
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Listen { addr: config.listen_addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartupError::Listen { addr: config.listen_addr, source })?;
        let leptos_options = LeptosOptions::builder()
            .output_name("switchboard")
            .site_root(config.site_root.clone())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .env(if config.production { Env::PROD } else { Env::DEV })
            .build();
        let swagger_ui_dir = api::docs::SwaggerUiDir(std::sync::Arc::new(config.swagger_ui_dir.clone()));
        let security = SecurityConfig {
            production: config.production,
            public_origin: config.public_origin.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
        };
        let (hub, hub_input) = Hub::new(pool.clone(), hub_config);
        let amqp = config.amqp_url.clone().map(|url| (url, config.amqp_prefix.clone()));
        // Consumers run here only in embedded mode; with RabbitMQ the
        // sidecar serves their counters.
        let consumer_metrics = consumers::metrics::Metrics::default();
        let metrics = Metrics::new(pool.clone(), hub.clone(), amqp.is_none().then_some(&consumer_metrics));
        let metrics_listener = match config.metrics_addr {
            None => None,
            Some(addr) => {
                Some(TcpListener::bind(addr).await.map_err(|source| StartupError::Listen { addr, source })?)
            }
        };
        let files = domain::attachments::Files::connect(&pool, &config.attachments)
            .await
            .map_err(|e| StartupError::Attachments(e.to_string()))?
            .with_scanner(config.clamd_addr.clone());
        tracing::info!(location = %files.location, scanned = config.clamd_addr.is_some(), "attachments");
        let state = AppState {
            files: files.clone(),
            pool: pool.clone(),
            leptos_options,
            swagger_ui_dir,
            security,
            hub: hub.clone(),
            metrics: metrics.clone(),
            import_limit: api::imports::ImportLimit(config.import_max_bytes),
        };
        domain::ratelimit::set_scale(config.rate_limit_scale);
        Ok(Self {
            listener,
            router: router(state),
            local_addr,
            pool,
            engine_sweep: config.engine_sweep,
            amqp,
            webhook_allow_private: config.webhook_allow_private,
            hub,
            hub_input,
            metrics,
            consumer_metrics,
            metrics_listener,
            files,
        })
    }

    /// Wraps the whole router, every route and fallback, with `wrap` (the
    /// tests put their API contract check in front of it).
    pub fn wrap_router(mut self, wrap: impl FnOnce(Router) -> Router) -> Self {
        self.router = wrap(self.router);
        self
    }

    /// Where `/metrics` is served, if it is (`METRICS_ADDR`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// This node's WebSocket hub (tests watch it).
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests
    /// finish. The assignment engine (with its SLA sweep) runs alongside.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr, "listening");
        let engine = supervise("assignment engine", shutdown.clone(), {
            let (pool, sweep, metrics) = (self.pool.clone(), self.engine_sweep, self.metrics.clone());
            move |stop| {
                let metrics = metrics.clone();
                domain::engine::run_observed(pool.clone(), sweep, stop, move |took| metrics.engine_pass(took))
            }
        });
        domain::webhooks::allow_private_targets(self.webhook_allow_private);
        let handlers = consumers::handlers::all().map_err(std::io::Error::other)?;
        let mut workers = Vec::new();
        if let Some(listener) = self.metrics_listener {
            let (router, stop) = (metrics::router(self.metrics.clone()), shutdown.clone());
            tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics");
            workers.push(tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(err) = served {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            }));
        }
        let (publisher, embedded): (std::sync::Arc<dyn consumers::relay::Publisher>, bool) = match &self.amqp
        {
            // RabbitMQ: the relay publishes with confirms; the `consumers`
            // sidecar consumes.
            Some((url, prefix)) => (
                std::sync::Arc::new(consumers::amqp::AmqpPublisher::new(
                    url.clone(),
                    prefix.clone(),
                    handlers.clone(),
                )),
                false,
            ),
            // Embedded: the relay fills each consumer's inbox table and every
            // consumer drains its own, in this process.
            None => (std::sync::Arc::new(consumers::relay::InboxPublisher::new(&handlers)), true),
        };
        tracing::info!(mode = if embedded { "embedded" } else { "rabbitmq" }, "event delivery");
        // The WebSocket hub: one dispatcher; its feed is the relay itself
        // (embedded) or this node's own queue on the broker.
        let dispatcher = tokio::spawn(self.hub.clone().run(self.hub_input, shutdown.clone()));
        let publisher: std::sync::Arc<dyn consumers::relay::Publisher> = match &self.amqp {
            None => std::sync::Arc::new(hub::TapPublisher::new(publisher, self.hub.clone())),
            Some((url, prefix)) => {
                let (outbound, rx) = tokio::sync::mpsc::channel(4096);
                self.hub.use_broker(outbound);
                let hub = self.hub.clone();
                let feed = consumers::amqp::run_node_feed(
                    url.clone(),
                    prefix.clone(),
                    hub.node_id().to_owned(),
                    move |d| hub.feed_delivery(d),
                    rx,
                    shutdown.clone(),
                );
                workers.push(tokio::spawn(feed));
                publisher
            }
        };
        let relay = supervise("outbox relay", shutdown.clone(), {
            let pool = self.pool.clone();
            move |stop| consumers::relay::run(pool.clone(), publisher.clone(), stop)
        });
        for handler in handlers.into_iter().filter(|_| embedded) {
            let (pool, m) = (self.pool.clone(), self.consumer_metrics.consumer(handler.name()));
            workers.push(supervise(handler.name(), shutdown.clone(), move |stop| {
                consumers::embedded::run(pool.clone(), handler.clone(), m.clone(), stop)
            }));
        }
        // Uploads no message took within a day are removed, on every node
        // (the sweep skips rows another node holds).
        {
            let (pool, files) = (self.pool.clone(), self.files.clone());
            workers.push(supervise("attachment sweep", shutdown.clone(), move |stop| {
                sweep_attachments(pool.clone(), files.clone(), stop)
            }));
        }
        // Imports uploaded through the browser or the API that a stopped
        // server left running resume from their checkpoints.
        {
            let (pool, files) = (self.pool.clone(), self.files.clone());
            tokio::spawn(async move {
                match domain::import::service::resume_interrupted(&pool, &files).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(runs = n, "resumed interrupted imports"),
                    Err(e) => tracing::warn!(error = %e, "interrupted imports could not be resumed"),
                }
            });
        }
        // The blast fan-out (resumable, rate-limited); with RabbitMQ the
        // sidecar runs it instead.
        if embedded {
            let pool = self.pool.clone();
            workers.push(supervise("blast worker", shutdown.clone(), move |stop| {
                consumers::blast::run(pool.clone(), stop)
            }));
        }
        if embedded {
            let pool = self.pool.clone();
            workers.push(supervise("webhook deliveries", shutdown.clone(), move |stop| {
                consumers::webhooks::run(pool.clone(), stop)
            }));
        }
        // E-mail the consumers queued, sent after their commit.
        if embedded && let Some(mailer) = consumers::mail::Mailer::from_env() {
            let pool = self.pool.clone();
            workers.push(supervise("e-mail", shutdown.clone(), move |stop| {
                consumers::mail::run(pool.clone(), mailer.clone(), stop)
            }));
        }
        let maintenance = supervise("maintenance", shutdown.clone(), {
            let pool = self.pool.clone();
            move |stop| prune_periodically(pool.clone(), stop)
        });
        let served =
            axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
        let _ = tokio::join!(engine, maintenance, relay, dispatcher);
        for w in workers {
            let _ = w.await;
        }
        served
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let (pool, files, secure) = (state.pool.clone(), state.files.clone(), state.security.production);
    let context = move || {
        provide_context(pool.clone());
        provide_context(files.clone());
        provide_context(app::ssr::CookiePolicy { secure });
        // Leptos puts this request's CSP nonce on its inline scripts.
        let nonce = use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<security::CspNonce>().map(|n| n.0.clone()));
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/ws", get(hub::socket::upgrade))
        .nest("/api/v1", api::router())
        .merge(api::docs::router())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::require_sign_in))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::csrf))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::client_ip))
        .layer(TraceLayer::new_for_http())
        // Outermost, so that requests the layers above answer are timed too.
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .with_state(state)
}

/// Deletes expired browser sessions, customer tokens and rate-limit windows,
/// and relayed events older than a week, every ten minutes; and resolves the
/// bots' sessions whose customer left an answer unanswered for a day
/// ([`domain::bot::resolve_quiet`]).
async fn prune_periodically(pool: PgPool, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let outbox = async {
            consumers::relay::prune(&pool, Duration::from_secs(7 * 24 * 3600))
                .await
                .map_err(domain::Error::from)
        };
        match tokio::try_join!(domain::auth::prune(&pool), domain::ratelimit::prune(&pool), outbox) {
            Ok((sessions, windows, events)) => {
                tracing::debug!(sessions, windows, events, "pruned expired credentials and relayed events")
            }
            Err(err) => tracing::warn!(error = %err, "pruning failed; retrying later"),
        }
        match domain::bot::resolve_quiet(&pool, domain::bot::ASSUMED_AFTER).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "bot sessions resolved after a quiet day"),
            Err(err) => tracing::warn!(error = %err, "resolving quiet bot sessions failed; retrying later"),
        }
    }
}

/// Removes unreferenced uploads once an hour (and at start).
async fn sweep_attachments(pool: PgPool, files: domain::attachments::Files, stop: CancellationToken) {
    loop {
        match domain::attachments::sweep(&pool, &files, domain::attachments::UNREFERENCED_TTL).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "unreferenced attachments removed"),
            Err(err) => tracing::warn!(error = %err, "attachment sweep failed; retrying later"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Runs a background task until `shutdown`, restarting it (after a pause)
/// if it panics or returns early, so the process never goes quiet.
pub fn supervise<F, Fut>(
    name: &'static str,
    shutdown: CancellationToken,
    task: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let outcome = tokio::spawn(task(shutdown.clone())).await;
            if shutdown.is_cancelled() {
                return;
            }
            match outcome {
                Ok(()) => tracing::error!(task = name, "background task stopped on its own; restarting"),
                Err(err) => {
                    tracing::error!(task = name, error = %err, "background task panicked; restarting")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}

/// Cancels the returned token on SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = async {
            if let Err(err) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %err, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            () = term => tracing::info!("SIGTERM received, shutting down"),
        }
        trigger.cancel();
    });
    token
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
