//! The REST API `/api/v1` through the real HTTP stack and a real PostgreSQL:
//! bearer authentication, the session lifecycle, messages, notes and tags,
//! the error contract, and the committed OpenAPI document.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// Opens a session of `account`'s type and returns it.
async fn open_session(api: &Api, token: &str, account: &Account, message: &str) -> Value {
    let res = api
        .post(
            "/sessions",
            token,
            json!({ "support_type": account.type_slug, "message": message,
                                            "customer": { "name": "Ada", "email": "ada@example.com" } }),
        )
        .await;
    let body = expect(res, StatusCode::CREATED).await;
    body["session"].clone()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn requests_without_a_valid_bearer_token_get_401_json(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (bot, token) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let app = api(pool.clone()).await;
    let url = format!("{}/api/v1/sessions", app.app.base);

    let res = app.app.client.get(&url).send().await.expect("no header");
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    for bad in ["Bearer sb_not-a-real-token", "Basic dXNlcjpwdw==", "Bearer", &token] {
        let res = app.app.client.get(&url).header("authorization", bad).send().await.expect("bad header");
        expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    // The right token works, in either scheme spelling…
    let res =
        app.app.client.get(&url).header("authorization", format!("bearer {token}")).send().await.expect("ok");
    expect(res, StatusCode::OK).await;
    // …until it is revoked.
    sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE agent_id = $1")
        .bind(bot)
        .execute(&pool)
        .await
        .expect("revoke");
    expect_error(app.get("/sessions", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_bot_opens_a_session_and_reads_it_back(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let app = api(pool).await;

    let res = app
        .post("/sessions", &token, json!({ "support_type": acme.type_slug, "message": "My invoice is wrong",
                                            "project_ref": "PRJ-7", "priority": 10,
                                            "customer": { "name": "Ada", "email": "ada@example.com", "external_ref": "c-1" } }))
        .await;
    let opened = expect(res, StatusCode::CREATED).await;
    let session = &opened["session"];
    assert_eq!(session["status"], "queued");
    assert_eq!(session["priority"], 10);
    assert_eq!(session["project_ref"], "PRJ-7");
    assert_eq!(session["customer_id"], opened["customer_id"]);

    let fetched = expect(app.get(&format!("/sessions/{}", id(session)), &token).await, StatusCode::OK).await;
    assert_eq!(&fetched, session);

    let history =
        expect(app.get(&format!("/sessions/{}/messages", id(session)), &token).await, StatusCode::OK).await;
    assert_eq!(history["items"][0]["body"], "My invoice is wrong");
    assert_eq!(history["items"][0]["sender_kind"], "customer");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn listing_pages_newest_first_by_cursor(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "supervisor", "sue").await;
    let app = api(pool).await;
    let mut opened = Vec::new();
    for n in 0..3 {
        opened.push(id(&open_session(&app, &token, &acme, &format!("question {n}")).await).to_owned());
    }

    let first = expect(app.get("/sessions?limit=2", &token).await, StatusCode::OK).await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second =
        expect(app.get(&format!("/sessions?limit=2&cursor={cursor}"), &token).await, StatusCode::OK).await;
    assert_eq!(second["next_cursor"], Value::Null);
    let seen: Vec<&str> =
        first["items"].as_array().into_iter().chain(second["items"].as_array()).flatten().map(id).collect();
    let newest_first: Vec<&str> = opened.iter().rev().map(String::as_str).collect();
    assert_eq!(seen, newest_first);

    let queued = expect(app.get("/sessions?status=queued&queue=true", &token).await, StatusCode::OK).await;
    assert_eq!(queued["items"].as_array().map(Vec::len), Some(3));

    let bad =
        expect_error(app.get("/sessions?limit=0", &token).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            .await;
    assert_eq!(bad["field"], "limit");
    let bad = expect_error(
        app.get("/sessions?cursor=nonsense", &token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(bad["field"], "cursor");
    expect_error(app.get("/sessions?status=sleeping", &token).await, StatusCode::BAD_REQUEST, "bad_request")
        .await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_agent_takes_answers_resolves_and_reopens_a_session(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, bot_token) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let (alice, token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;
    let session = open_session(&app, &bot_token, &acme, "hello").await;
    let path = format!("/sessions/{}", id(&session));

    // Assign with no body means "to me".
    let res = app.request(Method::POST, &format!("{path}/assign"), &token).send().await.expect("assign");
    let active = expect(res, StatusCode::OK).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["owner_id"], alice.to_string());
    expect_error(
        app.post(&format!("{path}/assign"), &token, json!({})).await,
        StatusCode::CONFLICT,
        "session_not_queued",
    )
    .await;

    let reply = app.post(&format!("{path}/messages"), &token, json!({ "body": "Hi, looking into it" })).await;
    let reply = expect(reply, StatusCode::CREATED).await;
    assert_eq!(reply["sender_kind"], "agent");
    assert_eq!(reply["sender_agent_id"], alice.to_string());

    let missing = app.post(&format!("{path}/resolve"), &token, json!({})).await;
    assert_eq!(
        expect_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"],
        "reason_id"
    );
    let resolved = app.post(&format!("{path}/resolve"), &token, json!({ "reason_id": acme.reason_id })).await;
    let resolved = expect(resolved, StatusCode::OK).await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution_reason_id"], acme.reason_id.to_string());
    assert_eq!(resolved["resolved_by_id"], alice.to_string());
    let again = app.post(&format!("{path}/resolve"), &token, json!({ "reason_id": acme.reason_id })).await;
    expect_error(again, StatusCode::CONFLICT, "session_closed").await;

    let reopened = expect(app.post(&format!("{path}/reopen"), &token, json!({})).await, StatusCode::OK).await;
    assert_eq!(reopened["status"], "queued");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sending_twice_with_one_client_message_id_stores_one_message(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;
    let session = open_session(&app, &token, &acme, "").await;
    let path = format!("/sessions/{}", id(&session));
    expect(app.post(&format!("{path}/assign"), &token, json!({})).await, StatusCode::OK).await;

    let body = json!({ "body": "Your refund is on its way", "client_message_id": "c-42" });
    let first =
        expect(app.post(&format!("{path}/messages"), &token, body.clone()).await, StatusCode::CREATED).await;
    let second = expect(app.post(&format!("{path}/messages"), &token, body).await, StatusCode::CREATED).await;
    assert_eq!(first, second);

    let history = expect(app.get(&format!("{path}/messages"), &token).await, StatusCode::OK).await;
    let items = history["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{history}");
    assert_eq!(items[0]["client_message_id"], "c-42");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn notes_and_tags_round_trip(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (alice, token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;
    let path = format!("/sessions/{}", id(&open_session(&app, &token, &acme, "hi").await));

    let note = expect(
        app.post(&format!("{path}/notes"), &token, json!({ "body": "VIP" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(note["author_id"], alice.to_string());
    let notes = expect(app.get(&format!("{path}/notes"), &token).await, StatusCode::OK).await;
    assert_eq!(notes.as_array().map(Vec::len), Some(1));

    let tags =
        expect(app.post(&format!("{path}/tags"), &token, json!({ "name": "refund" })).await, StatusCode::OK)
            .await;
    assert_eq!(tags[0]["name"], "refund");
    assert_eq!(tags[0]["source"], "manual");
    let again =
        expect(app.post(&format!("{path}/tags"), &token, json!({ "name": "refund" })).await, StatusCode::OK)
            .await;
    assert_eq!(again, tags, "tagging twice is a no-op");
    let tag_id = tags[0]["tag_id"].as_str().expect("tag id");

    let res =
        app.request(Method::DELETE, &format!("{path}/tags/{tag_id}"), &token).send().await.expect("untag");
    assert_eq!(expect(res, StatusCode::OK).await, json!([]));
    let res =
        app.request(Method::DELETE, &format!("{path}/tags/{tag_id}"), &token).send().await.expect("untag");
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_input_gets_a_json_4xx_naming_the_problem(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let app = api(pool).await;

    let res =
        app.post("/sessions", &token, json!({ "support_type": acme.type_slug, "priority": 5000 })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "priority");
    let res = app
        .post(
            "/sessions",
            &token,
            json!({ "support_type": acme.type_slug, "customer": { "email": "not-an-email" } }),
        )
        .await;
    assert_eq!(
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"],
        "customer.email"
    );
    let res = app.post("/sessions", &token, json!({ "support_type": "no-such-type" })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "support_type");

    // Well-formed JSON of the wrong shape.
    let res = app.post("/sessions", &token, json!({ "priority": 1 })).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    // Malformed JSON, and JSON without its content type.
    let res = app
        .request(Method::POST, "/sessions", &token)
        .header("content-type", "application/json")
        .body("{\"support_type\": ")
        .send()
        .await
        .expect("malformed");
    expect_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res =
        app.request(Method::POST, "/sessions", &token).body("{}").send().await.expect("no content type");
    expect_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    // A path parameter that is not a uuid.
    expect_error(app.get("/sessions/not-a-uuid", &token).await, StatusCode::BAD_REQUEST, "bad_request").await;
    // No such endpoint, or method, under /api/v1: JSON, not the web app's HTML.
    expect_error(app.get("/nothing-here", &token).await, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.request(Method::DELETE, "/sessions", &token).send().await.expect("delete");
    expect_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn other_accounts_sessions_are_not_found_and_others_sessions_are_forbidden(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, acme_bot) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let (_, alice) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let (_, bob) = seed_agent(&pool, Some(&acme), "agent", "bob").await;
    let (_, globex_sup) = seed_agent(&pool, Some(&globex), "supervisor", "gus").await;
    let app = api(pool).await;
    let session = open_session(&app, &acme_bot, &acme, "hello").await;
    let path = format!("/sessions/{}", id(&session));

    let unknown = expect_error(
        app.get(&format!("/sessions/{}", Uuid::new_v4()), &alice).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let foreign = expect_error(app.get(&path, &globex_sup).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(foreign, unknown, "another account's session looks exactly like a missing one");
    let res = app.post(&format!("{path}/messages"), &globex_sup, json!({ "body": "hi" })).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let listed = expect(app.get("/sessions", &globex_sup).await, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));

    expect(app.post(&format!("{path}/assign"), &alice, json!({})).await, StatusCode::OK).await;
    let res = app
        .post(
            &format!("{path}/reassign"),
            &bob,
            json!({ "target": { "kind": "queue" }, "reason": "transfer" }),
        )
        .await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.post(&format!("{path}/resolve"), &bob, json!({ "reason_id": acme.reason_id })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    // The owner may hand it back to the queue.
    let res = app
        .post(
            &format!("{path}/reassign"),
            &alice,
            json!({ "target": { "kind": "queue" }, "reason": "transfer" }),
        )
        .await;
    let requeued = expect(res, StatusCode::OK).await;
    assert_eq!(requeued["status"], "queued");
    assert_eq!(requeued["owner_id"], Value::Null);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_served_openapi_document_matches_the_committed_one(pool: PgPool) {
    let app = api(pool).await;

    let res =
        app.app.client.get(format!("{}/api/v1/openapi.json", app.app.base)).send().await.expect("openapi");
    let served = expect(res, StatusCode::OK).await;
    assert_eq!(served["info"]["title"], "Switchboard API");
    assert_eq!(served["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    let pretty = serde_json::to_string_pretty(&served).expect("pretty") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(committed_path, &pretty).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    let committed: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
    assert!(
        committed == served,
        "openapi.json at the repository root is out of date; regenerate it with\n  \
         UPDATE_OPENAPI=1 cargo test -p server --test api_sessions the_served_openapi_document"
    );
}
