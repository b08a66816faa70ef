//! What a customer's chat token can read carries no agent's internal id,
//! no agent e-mail and no note text: every REST route, server function and
//! WebSocket frame it can reach, checked after an agent has taken, answered,
//! annotated and resolved the session. The customer's views are documented
//! with exactly the fields they have.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::Message;

const NOTE: &str = "internal: customer sounds angry, offer a refund";

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_customer_token_never_sees_agent_ids_emails_or_notes(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (dana, dana_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let dana_email: String = sqlx::query_scalar("SELECT email::text FROM agents WHERE id = $1")
        .bind(dana)
        .fetch_one(&pool)
        .await
        .expect("email");
    let app = api(pool.clone()).await;
    let base = app.app.base.clone();

    let res = app
        .app
        .client
        .post(format!("{base}/api/v1/chat/{}/sessions", acme.type_slug))
        .json(&json!({ "name": "Casey", "message": "Hello" }))
        .send()
        .await
        .expect("open");
    let opened = expect(res, StatusCode::CREATED).await;
    let session = opened["session"]["id"].as_str().expect("id").to_owned();
    let token = opened["token"].as_str().expect("token").to_owned();
    let mut answers: Vec<(String, String)> = vec![("POST /chat/{slug}/sessions".into(), opened.to_string())];

    // The customer's live link, before the agent acts.
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    ws.send(Message::Text(json!({ "type": "hello", "token": token }).to_string().into()))
        .await
        .expect("hello");

    let path = format!("/sessions/{session}");
    expect(app.post(&format!("{path}/assign"), &dana_token, json!({})).await, StatusCode::OK).await;
    expect(
        app.post(&format!("{path}/messages"), &dana_token, json!({ "body": "Hi Casey, Dana here" })).await,
        StatusCode::CREATED,
    )
    .await;
    expect(
        app.post(&format!("{path}/notes"), &dana_token, json!({ "body": NOTE })).await,
        StatusCode::CREATED,
    )
    .await;
    let customer_sent = app.post(&format!("{path}/messages"), &token, json!({ "body": "Thanks" })).await;
    answers.push((
        "POST /sessions/{id}/messages".into(),
        expect(customer_sent, StatusCode::CREATED).await.to_string(),
    ));

    // While active: the agent's name reaches the customer, nothing else of theirs.
    let view = expect(app.get(&path, &token).await, StatusCode::OK).await;
    assert_eq!(view["agent_name"], "Dana", "the customer sees who helps them");
    answers.push(("GET /sessions/{id} (active)".into(), view.to_string()));
    let messages = expect(app.get(&format!("{path}/messages"), &token).await, StatusCode::OK).await;
    let from_dana = messages["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["sender_kind"] == "agent")
        .expect("Dana's message")
        .clone();
    assert_eq!(from_dana["sender_name"], "Dana");
    answers.push(("GET /sessions/{id}/messages".into(), messages.to_string()));

    // The chat page's server functions.
    for (fn_path, form) in [
        ("/api/chat/state", format!("token={token}")),
        ("/api/chat/send", format!("token={token}&body=one+more&client_message_id=c-9")),
    ] {
        let res = app
            .app
            .client
            .post(format!("{base}{fn_path}"))
            .header(header::ORIGIN, &base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("server fn");
        let status = res.status();
        let body = res.text().await.expect("body");
        assert!(status.is_success(), "{fn_path}: {status} {body}");
        answers.push((fn_path.to_owned(), body));
    }
    assert!(answers.iter().any(|(p, b)| p == "/api/chat/state" && b.contains("Dana")), "names are shown");

    expect(
        app.post(&format!("{path}/resolve"), &dana_token, json!({ "reason_id": acme.reason_id })).await,
        StatusCode::OK,
    )
    .await;
    let resolved = expect(app.get(&path, &token).await, StatusCode::OK).await;
    assert_eq!(resolved["status"], "resolved");
    answers.push(("GET /sessions/{id} (resolved)".into(), resolved.to_string()));
    for sub in ["notes", "tags", "csat"] {
        let res = app.get(&format!("{path}/{sub}"), &token).await;
        let status = res.status();
        let body = res.text().await.expect("body");
        assert!(sub == "csat" || status.is_client_error(), "GET …/{sub} for a customer: {status} {body}");
        answers.push((format!("GET /sessions/{{id}}/{sub}"), body));
    }

    // Every frame the live link brought, up to the resolution.
    wait_until_events_settle(&pool).await;
    ws.send(Message::Text(json!({ "type": "ping" }).to_string().into())).await.expect("ping");
    let mut frames = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(15), ws.next()).await.expect("frame in time");
        let Some(Ok(Message::Text(t))) = next else { continue };
        let frame: Value = serde_json::from_str(&t).expect("json");
        if frame["type"] == "pong" {
            break;
        }
        frames.push(frame);
    }
    assert!(frames.iter().any(|f| f["type"] == "message" && f["sender_name"] == "Dana"), "{frames:?}");
    assert!(frames.iter().any(|f| f["topic"] == "session.resolved"), "{frames:?}");
    for f in &frames {
        answers.push((format!("ws {}", f["type"]), f.to_string()));
    }

    for (what, body) in &answers {
        for secret in [dana.to_string(), dana.simple().to_string(), dana_email.clone(), NOTE.to_owned()] {
            assert!(!body.contains(&secret), "{what} showed the customer {secret:?}: {body}");
        }
    }
    // (Each of these bodies was also checked against the document's
    // CustomerSession and CustomerMessage, no field more, by the contract
    // layer of the test server.)
}
