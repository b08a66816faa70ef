//! The consumers sidecar: runs every consumer (or those named by `--only`)
//! against RabbitMQ, with `/healthz` and `/metrics` on
//! `CONSUMERS_LISTEN_ADDR`.

use std::{
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use clap::Parser;
use consumers::{
    amqp::{AmqpConsumer, select_handlers},
    metrics::Metrics,
};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "consumers", about = "Switchboard's queue consumers (RabbitMQ sidecar)")]
struct Cli {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// RabbitMQ URL, e.g. amqp://guest:guest@127.0.0.1:5672/%2f
    #[arg(long, env = "AMQP_URL")]
    amqp_url: String,
    /// Prefix of every exchange and queue name.
    #[arg(long, env = "AMQP_PREFIX", default_value = "switchboard.")]
    amqp_prefix: String,
    /// Address of the health and metrics endpoint.
    #[arg(long, env = "CONSUMERS_LISTEN_ADDR", default_value = "127.0.0.1:9464")]
    listen_addr: String,
    /// Run only these consumers (comma-separated), e.g. notifications,tagging
    #[arg(long)]
    only: Option<String>,
    /// Unacknowledged deliveries each consumer may hold.
    #[arg(long, env = "CONSUMERS_PREFETCH", default_value_t = 32)]
    prefetch: u16,
}

#[derive(Clone)]
struct App {
    registry: Arc<prometheus_client::registry::Registry>,
    consumers: Arc<Vec<(&'static str, Arc<std::sync::atomic::AtomicBool>)>>,
}

async fn healthz(State(app): State<App>) -> (StatusCode, String) {
    let down: Vec<&str> =
        app.consumers.iter().filter(|(_, up)| !up.load(Ordering::Relaxed)).map(|(name, _)| *name).collect();
    if down.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("not connected: {}\n", down.join(", ")))
    }
}

async fn render_metrics(
    State(app): State<App>,
) -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, consumers::metrics::CONTENT_TYPE)],
        consumers::metrics::render(&app.registry),
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let handlers = select_handlers(cli.only.as_deref(), consumers::handlers::all()?)?;
    let pool = domain::db::pool(&cli.database_url, handlers.len() as u32 + 3)
        .map_err(|e| format!("database: {e}"))?;
    let metrics = Metrics::default();
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut health = Vec::new();
    for handler in handlers {
        let name = handler.name();
        let consumer = AmqpConsumer::new(
            &cli.amqp_url,
            &cli.amqp_prefix,
            pool.clone(),
            handler,
            metrics.consumer(name),
            cli.prefetch,
        );
        health.push((name, consumer.connected.clone()));
        let stop = stop.clone();
        tasks.spawn(async move { consumer.run(stop).await });
    }
    // The blast consumer only starts blasts; this worker sends them.
    if health.iter().any(|(name, _)| *name == "blast") {
        let (pool, stop) = (pool.clone(), stop.clone());
        tasks.spawn(async move { consumers::blast::run(pool, stop).await });
    }
    // Webhook deliveries go out with the notifications consumer.
    if health.iter().any(|(name, _)| *name == "notifications") {
        let (pool, stop) = (pool.clone(), stop.clone());
        tasks.spawn(async move { consumers::webhooks::run(pool, stop).await });
    }
    // E-mail queued by the notifications and blast consumers, sent after
    // their commit.
    if health.iter().any(|(name, _)| matches!(*name, "notifications" | "blast"))
        && let Some(mailer) = consumers::mail::Mailer::from_env()
    {
        let (pool, stop) = (pool.clone(), stop.clone());
        tasks.spawn(async move { consumers::mail::run(pool, mailer, stop).await });
    }
    domain::webhooks::allow_private_targets(
        std::env::var("WEBHOOK_ALLOW_PRIVATE").is_ok_and(|v| v == "1" || v == "true"),
    );
    let names: Vec<&str> = health.iter().map(|(n, _)| *n).collect();
    tracing::info!(consumers = %names.join(","), prefix = %cli.amqp_prefix, "starting consumers");

    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let app = App { registry: Arc::new(registry), consumers: Arc::new(health) };
    let router =
        Router::new().route("/healthz", get(healthz)).route("/metrics", get(render_metrics)).with_state(app);
    let listener = tokio::net::TcpListener::bind(&cli.listen_addr)
        .await
        .map_err(|e| format!("listening on {}: {e}", cli.listen_addr))?;
    tracing::info!(addr = %cli.listen_addr, "serving /healthz and /metrics");
    let http_stop = stop.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, router).with_graceful_shutdown(async move { http_stop.cancelled().await }).await
    });

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight messages");
    stop.cancel();
    let drained =
        tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} })
            .await;
    if drained.is_err() {
        tracing::warn!("consumers did not stop within 30 s; exiting anyway");
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,lapin=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
