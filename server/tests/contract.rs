//! The API contract check that every test server runs (tests/common/contract.rs)
//! fails when a response or an accepted request says something the served
//! OpenAPI document does not: each case below is a real exchange, altered
//! in one way, and must be caught.

mod common;

use common::{
    api,
    contract::{Contract, Exchange},
    expect, id, seed_account, seed_agent,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

fn served_document() -> Value {
    serde_json::to_value(server::api::openapi::spec()).expect("document")
}

fn violations(contract: &Contract, path: &str, status: u16, body: &Value) -> Vec<String> {
    contract.check(&Exchange {
        method: "GET",
        path,
        request: None,
        status,
        content_type: Some("application/json"),
        body: &body.to_string(),
    })
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_response_that_differs_from_the_document_is_caught(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "agent", "ada").await;
    let app = api(pool).await;
    let opened = app.post("/sessions", &token, json!({ "support_type": acme.type_slug })).await;
    let opened = expect(opened, StatusCode::CREATED).await;
    let path = format!("/api/v1/sessions/{}", id(&opened["session"]));
    let session = expect(app.get(&path["/api/v1".len()..], &token).await, StatusCode::OK).await;

    let served = Contract::new(&served_document());
    assert_eq!(violations(&served, &path, 200, &session), Vec::<String>::new(), "the real exchange keeps it");

    let altered = |change: &dyn Fn(&mut Value)| {
        let mut body = session.clone();
        change(&mut body);
        violations(&served, &path, 200, &body)
    };
    let caught = |found: Vec<String>, what: &str| {
        assert!(found.len() == 1 && found[0].contains("breaks the document"), "{what} not caught: {found:?}");
    };
    caught(altered(&|b| b["surprise"] = json!(1)), "an undocumented field");
    caught(altered(&|b| b["status"] = json!("on_hold")), "a value outside the enum");
    caught(altered(&|b| b["created_at"] = Value::Null), "null in a non-nullable field");
    caught(altered(&|b| b["priority"] = json!("high")), "a value of the wrong type");
    caught(altered(&|b| b["id"] = json!("not-a-uuid")), "a malformed uuid");
    caught(
        altered(&|b| {
            b.as_object_mut().expect("object").remove("owner_id");
        }),
        "a missing field",
    );

    // A field the server sends but the document lost.
    let mut doc = served_document();
    doc["components"]["schemas"]["Session"]["properties"].as_object_mut().expect("properties").remove("tier");
    let stale = Contract::new(&doc);
    caught(violations(&stale, &path, 200, &session), "a field missing from the document");

    // A status the operation does not document.
    let found = violations(&served, &path, 409, &json!({}));
    assert!(found.len() == 1 && found[0].contains("is not documented"), "{found:?}");
    // A body where the document says there is none.
    let no_content = Contract::new(&doc).check(&Exchange {
        method: "DELETE",
        path: "/api/v1/tags/00000000-0000-0000-0000-000000000000",
        request: None,
        status: 204,
        content_type: Some("application/json"),
        body: "{}",
    });
    assert!(no_content.len() == 1 && no_content[0].contains("without a body"), "{no_content:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_request_body_the_document_rejects_must_be_rejected_by_the_server(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = api(pool).await;

    // serde ignores unknown fields, so the server takes this tag; the
    // document does not list `shade`, so the test server records it.
    let res = app.post("/tags", &token, json!({ "name": "vip", "shade": "dark" })).await;
    expect(res, StatusCode::CREATED).await;
    let found = app.app.take_violations();
    assert!(
        found.len() == 1 && found[0].contains("POST /api/v1/tags → 201") && found[0].contains("shade"),
        "{found:?}"
    );

    // The same mistake answered with a 4xx keeps the contract.
    let res = app.post("/tags", &token, json!({ "shade": "dark" })).await;
    expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(app.app.take_violations(), Vec::<String>::new());
}

/// Every operation of the document, called the wrong way: without a
/// credential, with a body that is not JSON, without a JSON content type, and
/// with JSON of the wrong shape. Each answer must be the documented 4xx (the
/// contract layer checks the status and the body against the document).
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_operation_documents_its_answers_to_bad_requests(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = api(pool).await;
    let doc = served_document();
    let mut calls = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            // Every path parameter is an id or a slug; a fresh uuid names nothing.
            let path: String = template
                .split('/')
                .map(|s| if s.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { s.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            let url = format!("{}{path}", app.app.base);
            let public = op["security"].as_array().is_some_and(|s| s.iter().all(|r| r == &json!({})));
            let request = || app.app.client.request(method.clone(), &url);
            let mut answers = Vec::new();
            if !public {
                answers.push(("no credential", request().send().await.expect("send"), 401..=401));
            }
            if op.get("requestBody").is_some() {
                let bad_json = request()
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body("{not json")
                    .send()
                    .await
                    .expect("send");
                answers.push(("malformed JSON", bad_json, 400..=422));
                let text = request().bearer_auth(&token).header("content-type", "text/plain").body("{}");
                answers.push(("no JSON content type", text.send().await.expect("send"), 400..=404));
                let shape = request().bearer_auth(&token).json(&json!([1, 2, 3])).send().await.expect("send");
                answers.push(("JSON of the wrong shape", shape, 400..=422));
            }
            for (what, res, expected) in answers {
                calls += 1;
                let status = res.status().as_u16();
                assert!(
                    expected.contains(&status),
                    "{method} {template}, {what}: {status} {}",
                    res.text().await.unwrap_or_default()
                );
            }
        }
    }
    assert!(calls > 150, "only {calls} calls: is the document empty?");
}
