//! Webhook deliveries cannot be aimed at this machine: a name that resolves
//! to 127.0.0.1 is refused by the delivery client's resolver, at connect
//! time, and the delivery log says why; with `WEBHOOK_ALLOW_PRIVATE` the same
//! delivery reaches a local receiver.
//!
//! Its own test binary: the allow-private switch is process-wide.

use std::sync::{Arc, Mutex};

use axum::{Router, extract::State, routing::post};
use consumers::webhooks as worker;
use domain::{
    actor::Actor,
    outbox::Event,
    types::{AccountId, WebhookId},
    webhooks::{self, NewWebhook},
};
use sqlx::PgPool;

/// A local receiver; returns the bodies it got and its port.
async fn receiver() -> (Arc<Mutex<Vec<String>>>, u16) {
    let hits: Arc<Mutex<Vec<String>>> = Arc::default();
    async fn hook(State(hits): State<Arc<Mutex<Vec<String>>>>, body: String) {
        hits.lock().expect("lock").push(body);
    }
    let app = Router::new().route("/hook", post(hook)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (hits, port)
}

async fn hook(pool: &PgPool, account: AccountId, url: &str) -> WebhookId {
    let input = NewWebhook { account_id: Some(account), url: url.to_owned(), events: vec!["#".into()] };
    webhooks::create(pool, &Actor::System, input).await.expect("webhook").0.id
}

/// The delivery's (attempt, error, delivered).
async fn log(pool: &PgPool, hook: WebhookId) -> (i32, Option<String>, bool) {
    sqlx::query_as(
        "SELECT attempt, error, delivered_at IS NOT NULL FROM webhook_deliveries WHERE webhook_id = $1",
    )
    .bind(hook)
    .fetch_one(pool)
    .await
    .expect("delivery")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_name_resolving_to_loopback_is_refused_at_connect_time_unless_private_targets_are_allowed(
    pool: PgPool,
) {
    let (hits, port) = receiver().await;
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("account");
    // Registered while allowed (an admin's earlier setting, or a name that
    // resolved publicly then and is rebound now).
    webhooks::allow_private_targets(true);
    let by_name = hook(&pool, account, &format!("http://localhost:{port}/hook")).await;
    let literal = hook(&pool, account, &format!("http://127.0.0.1:{port}/hook")).await;
    webhooks::allow_private_targets(false);

    let event = Event {
        id: 1,
        event_id: uuid::Uuid::new_v4(),
        topic: "session.opened".into(),
        account_id: Some(account),
        session_id: None,
        payload: serde_json::json!({}),
        created_at: chrono::Utc::now(),
    };
    let mut conn = pool.acquire().await.expect("conn");
    assert_eq!(webhooks::enqueue_deliveries(&mut conn, &event).await.expect("enqueue"), 2);
    drop(conn);

    let client = worker::client();
    assert_eq!(worker::deliver_due(&pool, &client).await.expect("deliver"), 2);
    assert!(hits.lock().expect("lock").is_empty(), "nothing reached the local receiver");
    let (attempt, error, delivered) = log(&pool, by_name).await;
    assert_eq!((attempt, delivered), (1, false));
    let error = error.expect("an error is logged");
    assert_eq!(error, "refused: localhost resolves to a private address (127.0.0.1)");
    let (_, error, _) = log(&pool, literal).await;
    assert_eq!(error.as_deref(), Some("refused: the URL points at a private address (127.0.0.1)"));

    // On a closed network the same deliveries go through.
    webhooks::allow_private_targets(true);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()").execute(&pool).await.expect("due");
    assert_eq!(worker::deliver_due(&pool, &client).await.expect("deliver"), 2);
    assert_eq!(hits.lock().expect("lock").len(), 2);
    assert_eq!(log(&pool, by_name).await, (2, None, true));
    assert_eq!(log(&pool, literal).await, (2, None, true));
}
