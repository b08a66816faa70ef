//! Spawns the real application on a random port against a test's own database.

// Each test crate compiles this module and uses only some of it.
#![allow(dead_code)]

pub mod clamd;
pub mod contract;
pub mod s3;

use domain::{actor::Actor, types::AgentId};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use server::{Application, config::Config};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub hub: server::hub::Hub,
    shutdown: CancellationToken,
    /// What broke the API contract while the test ran (see [`contract`]).
    violations: contract::Violations,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let violations = std::mem::take(&mut *self.violations.lock().expect("violations"));
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("{} API contract violation(s):\n{}", violations.len(), violations.join("\n"));
        }
    }
}

impl TestApp {
    /// Takes what broke the API contract so far (so that `Drop` does not
    /// fail the test for it): for tests of the contract check itself.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut *self.violations.lock().expect("violations"))
    }
}

/// The worktree's `swagger-ui-dist` (installed by `npm install`).
pub const SWAGGER_UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../node_modules/swagger-ui-dist");

pub fn test_config() -> Config {
    test_config_with(&[])
}

/// The test configuration plus `extra` variables. Attachments go to a fresh
/// directory of this server's own (unless `extra` names a store).
pub fn test_config_with(extra: &[(&str, String)]) -> Config {
    let attachments = format!("{}/attachments/{}", env!("CARGO_TARGET_TMPDIR"), Uuid::new_v4());
    Config::from_lookup(|name| {
        if let Some((_, value)) = extra.iter().find(|(k, _)| *k == name) {
            return Some(value.clone());
        }
        match name {
            "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
            "LOG" => Some("warn".to_owned()),
            "SWAGGER_UI_DIR" => Some(SWAGGER_UI_DIR.to_owned()),
            "ATTACHMENTS_DIR" => Some(attachments.clone()),
            _ => None,
        }
    })
    .expect("test config")
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(test_config(), pool).await
}

pub async fn spawn_app_with(config: Config, pool: PgPool) -> TestApp {
    spawn_app_with_hub(config, pool, server::hub::HubConfig::default()).await
}

pub async fn spawn_app_with_hub(config: Config, pool: PgPool, hub: server::hub::HubConfig) -> TestApp {
    let violations = contract::Violations::default();
    let app =
        Application::build_with_hub(config, pool, hub).await.expect("build app").wrap_router(|router| {
            router.layer(axum::middleware::from_fn_with_state(violations.clone(), contract::layer))
        });
    let hub = app.hub();
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { base, client, hub, shutdown, violations }
}

/// A pool whose server does not exist: what the app sees when PostgreSQL is down.
pub fn unreachable_pool() -> PgPool {
    domain::db::pool("postgres://postgres@127.0.0.1:1/nowhere", 2).expect("lazy pool")
}

// ---- REST API helpers shared by the api_* tests ----

/// An account with one manually routed support type and a resolution reason.
pub struct Account {
    pub id: Uuid,
    pub type_id: Uuid,
    pub type_slug: String,
    pub reason_id: Uuid,
}

pub async fn seed_account(pool: &PgPool, slug: &str) -> Account {
    let id: Uuid = sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ($1, $1) RETURNING id")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("account");
    let type_slug = format!("{slug}-billing");
    let type_id: Uuid = sqlx::query_scalar(
        "INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, $2, 'Billing', 'manual')
         RETURNING id",
    )
    .bind(id)
    .bind(&type_slug)
    .fetch_one(pool)
    .await
    .expect("support type");
    let reason_id: Uuid = sqlx::query_scalar(
        "INSERT INTO resolution_reasons (support_type_id, label) VALUES ($1, 'Answered') RETURNING id",
    )
    .bind(type_id)
    .fetch_one(pool)
    .await
    .expect("reason");
    Account { id, type_id, type_slug, reason_id }
}

/// An online agent with `role` (of `account`, or global when `None`) who
/// serves the account's types, and a live API token for them.
pub async fn seed_agent(pool: &PgPool, account: Option<&Account>, role: &str, name: &str) -> (Uuid, String) {
    let domain = account.map_or("global".to_owned(), |a| a.type_slug.clone());
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, presence) VALUES ($1, $2, $3, $4, 'online')
         RETURNING id",
    )
    .bind(account.map(|a| a.id))
    .bind(format!("{name}@{domain}.test"))
    .bind(name)
    .bind(role)
    .fetch_one(pool)
    .await
    .expect("agent");
    if let Some(account) = account {
        sqlx::query(
            "INSERT INTO agent_skills (agent_id, support_type_id) SELECT $1, id FROM support_types
             WHERE account_id = $2",
        )
        .bind(id)
        .bind(account.id)
        .execute(pool)
        .await
        .expect("skills");
    }
    let (_, token) = domain::tokens::create(pool, &Actor::System, AgentId(id), "tests").await.expect("token");
    (id, token)
}

pub struct Api {
    pub app: TestApp,
}

impl Api {
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.app.client.request(method, format!("{}/api/v1{path}", self.app.base)).bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token).send().await.expect("GET")
    }

    pub async fn send(&self, method: Method, path: &str, token: &str, body: Value) -> Response {
        self.request(method, path, token).json(&body).send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::POST, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PUT, path, token, body).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, token).send().await.expect("DELETE")
    }
}

pub async fn api(pool: PgPool) -> Api {
    Api { app: spawn_app(pool).await }
}

/// Asserts the status and a JSON body, and returns the body.
pub async fn expect(res: Response, status: StatusCode) -> Value {
    let actual = res.status();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "body: {text}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an empty 204.
pub async fn expect_no_content(res: Response) {
    let status = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(status, StatusCode::NO_CONTENT, "body: {text}");
    assert_eq!(text, "");
}

/// Asserts an error response of the common shape and returns its `error`.
pub async fn expect_error(res: Response, status: StatusCode, code: &str) -> Value {
    let body = expect(res, status).await;
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error.get("field").is_some(), "field is always present: {body}");
    error
}

pub fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

pub fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().map(id).collect()
}

/// Waits until the server's event pipeline is idle: every outbox event
/// relayed and every consumer inbox drained (twice in a row), so a test can
/// compare database snapshots without racing the background consumers.
pub async fn wait_until_events_settle(pool: &PgPool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut quiet = 0;
    while quiet < 2 {
        let pending: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) + (SELECT count(*) FROM consumer_inbox)",
        )
        .fetch_one(pool)
        .await
        .expect("pending events");
        quiet = if pending == 0 { quiet + 1 } else { 0 };
        assert!(std::time::Instant::now() < deadline, "the event pipeline did not settle: {pending} pending");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}
