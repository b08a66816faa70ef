//! Prometheus `/metrics` on its own listener (`METRICS_ADDR`), scraped over
//! real HTTP: request counters by route template move with requests, the
//! hub, engine, relay and embedded consumers are there, and the public
//! listener does not serve it.

use server::{Application, config::Config};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

mod common;
use common::SWAGGER_UI_DIR;

struct Running {
    base: String,
    metrics: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn(pool: PgPool) -> Running {
    let config = Config::from_lookup(|name| match name {
        "LISTEN_ADDR" | "METRICS_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "SWAGGER_UI_DIR" => Some(SWAGGER_UI_DIR.to_owned()),
        _ => None,
    })
    .expect("config");
    let app = Application::build_with_pool(config, pool).await.expect("build");
    let base = format!("http://{}", app.local_addr());
    let metrics = format!("http://{}/metrics", app.metrics_addr().expect("a metrics listener"));
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    Running { base, metrics, client: reqwest::Client::new(), shutdown }
}

async fn scrape(app: &Running) -> String {
    let res = app.client.get(&app.metrics).send().await.expect("scrape");
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    res.text().await.expect("body")
}

/// The value of the sample whose name and labels are exactly `series`, or
/// 0 when it is not there yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.parse().expect("a number"))
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn request_counters_move_by_route_template_and_status(pool: PgPool) {
    let app = spawn(pool).await;
    let healthz =
        r#"switchboard_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#;
    let before = sample(&scrape(&app).await, healthz);
    for _ in 0..3 {
        let res = app.client.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
        assert_eq!(res.status(), 200);
    }
    let id = uuid::Uuid::new_v4();
    let res = app.client.get(format!("{}/api/v1/sessions/{id}", app.base)).send().await.expect("get");
    assert_eq!(res.status(), 401);

    let text = scrape(&app).await;
    assert_eq!(sample(&text, healthz) - before, 3.0, "{text}");
    let session = r#"switchboard_http_request_duration_seconds_count{method="GET",route="/api/v1/sessions/{id}",status="401"}"#;
    assert_eq!(sample(&text, session), 1.0, "{text}");
    assert!(!text.contains(&id.to_string()), "the raw path leaked into a label");

    // The rest of what operators watch is there too.
    for series in [
        "switchboard_websocket_connections 0",
        "switchboard_websocket_slow_client_drops_total 0",
        "switchboard_queued_sessions 0",
        "switchboard_outbox_unpublished_events ",
        "switchboard_outbox_relay_lag_seconds ",
        "# TYPE switchboard_engine_pass_duration_seconds histogram",
        // Embedded mode: the in-process consumers' counters.
        r#"switchboard_consumer_processed_total{consumer="notifications"} "#,
        r#"switchboard_consumer_lag{consumer="tagging"} "#,
        "# TYPE switchboard_consumer_event_latency_seconds histogram",
    ] {
        assert!(text.contains(series), "{series:?} missing:\n{text}");
    }

    // The public listener does not serve metrics.
    let public = app.client.get(format!("{}/metrics", app.base)).send().await.expect("public");
    assert_eq!(public.status(), 404);
    assert!(!public.text().await.expect("body").contains("switchboard_http_request_duration"));
}

/// An event the embedded notifications consumer applies (any topic a
/// webhook of the account subscribes to) is counted in its latency
/// histogram, read over `/metrics`.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_applied_event_is_counted_in_its_consumers_latency_histogram(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let count = r#"switchboard_consumer_event_latency_seconds_count{consumer="notifications"}"#;
    let before = sample(&scrape(&app).await, count);
    let account = sqlx::query_scalar!(
        r#"WITH a AS (INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id)
           INSERT INTO webhooks (account_id, url, events, secret)
           SELECT id, 'https://hooks.example.com/in', '{test.*}', decode(repeat('ab', 32), 'hex') FROM a
           RETURNING account_id AS "account: domain::types::AccountId""#
    )
    .fetch_one(&pool)
    .await
    .expect("an account with a webhook");
    let mut tx = pool.begin().await.expect("begin");
    domain::outbox::record(&mut tx, "test.metrics", Some(account), None, serde_json::json!({}))
        .await
        .expect("event");
    tx.commit().await.expect("commit");
    // Bounded for a busy machine; not a measure of speed.
    let started = std::time::Instant::now();
    loop {
        let text = scrape(&app).await;
        if sample(&text, count) > before {
            // The +Inf bucket holds it too (whatever order the labels come in).
            let inf: f64 = text
                .lines()
                .find(|l| {
                    l.starts_with("switchboard_consumer_event_latency_seconds_bucket{")
                        && l.contains(r#"consumer="notifications""#)
                        && l.contains(r#"le="+Inf""#)
                })
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0.0);
            assert!(inf > before, "{text}");
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never counted:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
