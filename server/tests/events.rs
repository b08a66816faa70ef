//! The server runs the event pipeline itself when no broker is configured:
//! an operation's outbox event reaches the tagging consumer in-process.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_customer_message_is_tagged_by_the_embedded_consumer(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    sqlx::query(
        "WITH t AS (INSERT INTO tags (account_id, name) VALUES ($1, 'refunds') RETURNING id)
         INSERT INTO tag_rules (account_id, tag_id, kind, pattern) SELECT $1, id, 'keyword', 'refund' FROM t",
    )
    .bind(acme.id)
    .execute(&pool)
    .await
    .expect("rule");
    let app = spawn_app(pool.clone()).await;
    let res = app
        .client
        .post(format!("{}/api/v1/chat/{}/sessions", app.base, acme.type_slug))
        .json(&json!({ "message": "Where is my refund?" }))
        .send()
        .await
        .expect("open");
    let body = expect(res, StatusCode::CREATED).await;
    let session: uuid::Uuid = body["session"]["id"].as_str().and_then(|s| s.parse().ok()).expect("id");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tags: Vec<String> = sqlx::query_scalar(
            "SELECT t.name::text FROM session_tags st JOIN tags t ON t.id = st.tag_id WHERE st.session_id = $1",
        )
        .bind(session)
        .fetch_all(&pool)
        .await
        .expect("tags");
        if tags == ["refunds"] {
            break;
        }
        assert!(Instant::now() < deadline, "not tagged by the embedded consumer: {tags:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed WHERE consumer = 'tagging'")
        .fetch_one(&pool)
        .await
        .expect("processed");
    assert!(processed >= 2, "session.opened and message.created were processed: {processed}");
}

/// A RabbitMQ virtual host of this test's own, deleted afterwards.
struct Vhost(String);

impl Vhost {
    fn create() -> Self {
        let name = format!("sb-server-{}", uuid::Uuid::new_v4().simple());
        for args in
            [vec!["add_vhost", &name], vec!["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]]
        {
            let out = std::process::Command::new("rabbitmqctl").args(&args).output().expect("rabbitmqctl");
            assert!(out.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Self(name)
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.0)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl").args(["delete_vhost", &self.0]).output();
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn with_a_broker_the_server_relays_to_rabbitmq_and_the_sidecar_consumes(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    sqlx::query("UPDATE support_types SET greeting = 'Hello from the broker path'")
        .execute(&pool)
        .await
        .expect("greet");
    let vhost = Vhost::create();
    let config = server::config::Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "AMQP_URL" => Some(vhost.url()),
        _ => None,
    })
    .expect("config");
    let app = spawn_app_with(config, pool.clone()).await;
    // The sidecar's automated-chat consumer, as `consumers --only automated_chat` runs it.
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn({
        let (url, pool, stop) = (vhost.url(), pool.clone(), stop.clone());
        async move {
            consumers::amqp::run_consumer(
                &url,
                "switchboard.",
                pool,
                std::sync::Arc::new(consumers::handlers::automated_chat::AutomatedChat),
                std::sync::Arc::new(consumers::metrics::ConsumerMetrics::default()),
                8,
                stop,
            )
            .await;
        }
    });
    let res = app
        .client
        .post(format!("{}/api/v1/chat/{}/sessions", app.base, acme.type_slug))
        .json(&json!({}))
        .send()
        .await
        .expect("open");
    let session: uuid::Uuid = expect(res, StatusCode::CREATED).await["session"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let greeting: Option<String> = sqlx::query_scalar(
            "SELECT body FROM messages WHERE session_id = $1 AND sender_kind = 'system' LIMIT 1",
        )
        .bind(session)
        .fetch_optional(&pool)
        .await
        .expect("messages");
        if greeting.as_deref() == Some("Hello from the broker path") {
            break;
        }
        assert!(Instant::now() < deadline, "no greeting through RabbitMQ");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // In broker mode the server itself consumes nothing: no inbox rows.
    let inbox: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consumer_inbox").fetch_one(&pool).await.expect("inbox");
    assert_eq!(inbox, 0);
    stop.cancel();
}
