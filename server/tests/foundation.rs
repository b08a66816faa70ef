//! Health, readiness, the server-rendered home page and its server function,
//! through the real HTTP stack and a real PostgreSQL.

mod common;

use common::{spawn_app, unreachable_pool};
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn healthz_and_readyz_report_ok_with_a_live_database(pool: PgPool) {
    let app = spawn_app(pool).await;

    let res = app.client.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");

    let res = app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body, serde_json::json!({ "status": "ready", "database": "ok" }));
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_down_but_healthz_stays_up() {
    let app = spawn_app(unreachable_pool()).await;

    let res = app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert!(body["database"].as_str().is_some_and(|s| !s.is_empty()), "{body}");

    let res = app.client.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(res.status(), 200);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn home_page_is_complete_html_with_the_database_status(pool: PgPool) {
    let latest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("schema version");
    let app = spawn_app(pool).await;

    let res = app.client.get(&app.base).send().await.expect("home");
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
    let html = res.text().await.expect("body");
    assert!(html.contains("Customer support that routes itself."), "hero missing");
    assert!(html.contains(r#"href="/agent""#) && html.contains(r#"href="/admin""#));
    assert!(html.contains(r#"data-testid="system-status""#), "status card not rendered on the server");
    let schema = text_of(&html, r#"data-testid="schema-version""#).expect("schema version cell");
    assert!(schema.starts_with(&format!("{latest} (")), "schema version {latest} not shown: {schema:?}");
    assert!(html.contains("/pkg/switchboard.css"), "stylesheet link missing");
    assert!(
        html.contains("/pkg/switchboard.js") || html.contains("switchboard.js"),
        "hydration script missing"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn anonymous_visitors_learn_nothing_about_the_servers_software(pool: PgPool) {
    let version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
        .fetch_one(&pool)
        .await
        .expect("version");
    let app = spawn_app(pool).await;

    let html = app.client.get(&app.base).send().await.expect("home").text().await.expect("body");
    assert!(html.contains(r#"data-testid="system-status""#), "the status card is there");
    assert!(!html.contains("PostgreSQL"), "the home page names the database software");
    assert!(!html.contains(&version), "the home page shows the PostgreSQL version {version}");
    let status = app
        .client
        .post(format!("{}/api/system_status", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("server fn")
        .text()
        .await
        .expect("body");
    assert!(!status.contains(&version) && !status.contains("database_version"), "{status}");
}

#[tokio::test]
async fn home_page_shows_a_clear_error_when_the_database_is_down() {
    let app = spawn_app(unreachable_pool()).await;

    let res = app.client.get(&app.base).send().await.expect("home");
    assert_eq!(res.status(), 200, "the page itself still renders");
    let html = res.text().await.expect("body");
    assert!(html.contains(r#"role="alert""#), "no error state rendered");
    assert!(html.contains("The database is not reachable right now"), "unclear error");
    assert!(!html.contains(r#"data-testid="system-status""#));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn system_status_server_function_returns_json(pool: PgPool) {
    let app = spawn_app(pool).await;

    let res = app
        .client
        .post(format!("{}/api/system_status", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("server fn");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert!(body["database_time"].is_string(), "{body}");
    assert!(body["schema_version"].as_i64().is_some_and(|v| v >= 1), "{body}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn unknown_pages_get_a_404_page(pool: PgPool) {
    let app = spawn_app(pool).await;

    let res = app.client.get(format!("{}/no/such/page", app.base)).send().await.expect("404");
    assert_eq!(res.status(), 404);
    let html = res.text().await.expect("body");
    assert!(html.contains("This page does not exist"));
}

/// The text content of the first element whose opening tag contains `attr`.
fn text_of<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
    let at = html.find(attr)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(&html[open_end..close])
}
