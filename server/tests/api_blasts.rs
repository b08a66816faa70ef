//! `/blasts` through the real HTTP stack, with the server's embedded blast
//! worker doing the sending.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn open(app: &Api, token: &str, slug: &str, name: &str) -> String {
    let res = app
        .post(
            "/sessions",
            token,
            json!({ "support_type": slug, "message": "hello", "customer": { "name": name } }),
        )
        .await;
    expect(res, StatusCode::CREATED).await["customer_id"].as_str().expect("customer").to_owned()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_admin_blasts_a_segment_and_follows_its_progress(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (admin, token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = api(pool).await;
    for name in ["A", "B", "C"] {
        open(&app, &token, &acme.type_slug, name).await;
    }

    let res = app
        .post(
            "/blasts",
            &token,
            json!({ "body": "We are moving offices", "rate_per_minute": 100000,
                    "segment": { "kind": "support_type", "support_type_id": acme.type_id } }),
        )
        .await;
    let created = expect(res, StatusCode::CREATED).await;
    assert_eq!(created["total"], 3);
    assert_eq!(created["created_by"], admin.to_string());
    assert_eq!(created["support_type_id"], acme.type_id.to_string());
    assert_eq!(created["segment"], json!({ "kind": "support_type", "support_type_id": acme.type_id }));
    let path = format!("/blasts/{}", id(&created));

    // The server's worker sends it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let done: Value = loop {
        let blast = expect(app.get(&path, &token).await, StatusCode::OK).await;
        if blast["status"] == "done" {
            break blast;
        }
        assert!(Instant::now() < deadline, "not done: {blast}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((&done["sent"], &done["pending"], &done["failed"]), (&json!(3), &json!(0), &json!(0)));
    assert!(done["finished_at"].is_string());

    let list = expect(app.get("/blasts", &token).await, StatusCode::OK).await;
    assert_eq!(ids(&list), vec![id(&created)]);
    // Cancelling a finished blast changes nothing.
    let again = expect(app.post(&format!("{path}/cancel"), &token, json!({})).await, StatusCode::OK).await;
    assert_eq!(again["status"], "done");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn blasts_are_validated_and_scoped(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "al").await;
    let (_, other) = seed_agent(&pool, Some(&globex), "admin", "gus").await;
    let app = api(pool).await;

    for (body, field) in [
        (json!({ "body": " ", "segment": { "kind": "account" }, "support_type_id": acme.type_id }), "body"),
        (json!({ "body": "Hi", "segment": { "kind": "account" } }), "support_type_id"),
        (
            json!({ "body": "Hi", "segment": { "kind": "recent", "days": 0 }, "support_type_id": acme.type_id }),
            "segment.days",
        ),
        (
            json!({ "body": "Hi", "segment": { "kind": "account" }, "support_type_id": acme.type_id,
                    "rate_per_minute": 0 }),
            "rate_per_minute",
        ),
        // Another account's type is no such type.
        (
            json!({ "body": "Hi", "segment": { "kind": "support_type", "support_type_id": globex.type_id } }),
            "segment.support_type_id",
        ),
    ] {
        let error = expect_error(
            app.post("/blasts", &token, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
        assert_eq!(error["field"], field, "{error}");
    }

    // An agent may not blast; a cancelled blast sends nothing.
    let body = json!({ "body": "Hi", "segment": { "kind": "account" }, "support_type_id": acme.type_id });
    expect_error(app.post("/blasts", &agent, body.clone()).await, StatusCode::FORBIDDEN, "forbidden").await;
    let created = expect(app.post("/blasts", &token, body).await, StatusCode::CREATED).await;
    let path = format!("/blasts/{}", id(&created));
    expect_error(app.get(&path, &agent).await, StatusCode::FORBIDDEN, "forbidden").await;

    // Another account's admin finds nothing and lists only their own.
    expect_error(app.get(&path, &other).await, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.post(&format!("{path}/cancel"), &other, json!({})).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(expect(app.get("/blasts", &other).await, StatusCode::OK).await, json!([]));

    let cancelled =
        expect(app.post(&format!("{path}/cancel"), &token, json!({})).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["pending"], 0);
}
