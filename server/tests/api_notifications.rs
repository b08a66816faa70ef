//! `/webhooks` and `/notifications` over HTTP: status codes, the secret shown
//! once, and who may do what.

mod common;

use common::*;
use domain::types::{AgentId, SessionId};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_manage_webhooks_and_see_the_secret_once(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "bob").await;
    let app = api(pool).await;

    let body = json!({ "url": "https://hooks.example/in", "events": ["session.*", "message.created"] });
    let created = expect(app.post("/webhooks", &admin, body.clone()).await, StatusCode::CREATED).await;
    let secret = created["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    let hook = &created["webhook"];
    assert_eq!(hook["account_id"], acme.id.to_string());
    assert_eq!(hook["events"], json!(["session.*", "message.created"]));
    assert_eq!(hook["active"], true);
    let path = format!("/webhooks/{}", id(hook));

    // Never again: not in the list, not in an update.
    let list = expect(app.get("/webhooks", &admin).await, StatusCode::OK).await;
    assert_eq!(ids(&list), [id(hook)]);
    assert!(!list.to_string().contains(secret) && list[0].get("secret").is_none());
    let updated =
        expect(app.patch(&path, &admin, json!({ "events": ["#"], "active": false })).await, StatusCode::OK)
            .await;
    assert_eq!((updated["events"].clone(), updated["active"].clone()), (json!(["#"]), json!(false)));
    assert!(updated["disabled_at"].is_string());
    assert!(!updated.to_string().contains(secret));
    let enabled = expect(app.patch(&path, &admin, json!({ "active": true })).await, StatusCode::OK).await;
    assert_eq!((enabled["active"].clone(), enabled["disabled_at"].clone()), (json!(true), json!(null)));

    let log = expect(app.get(&format!("{path}/deliveries"), &admin).await, StatusCode::OK).await;
    assert_eq!(log, json!({ "items": [], "next_cursor": null }));

    // A test delivery joins the log like any other, due now.
    let test = format!("{path}/test");
    let queued = expect(app.post(&test, &admin, json!({})).await, StatusCode::ACCEPTED).await;
    assert_eq!((queued["topic"].clone(), queued["attempt"].clone()), (json!("webhook.test"), json!(0)));
    assert!(queued["next_attempt_at"].is_string() && queued["delivered_at"].is_null());
    let log = expect(app.get(&format!("{path}/deliveries"), &admin).await, StatusCode::OK).await;
    let logged: Vec<&serde_json::Value> =
        log["items"].as_array().expect("items").iter().map(|d| &d["id"]).collect();
    assert_eq!(logged, [&queued["id"]]);
    // Not to a disabled webhook (nothing would send it), and not by an agent.
    expect(app.patch(&path, &admin, json!({ "active": false })).await, StatusCode::OK).await;
    expect_error(app.post(&test, &admin, json!({})).await, StatusCode::CONFLICT, "webhook_disabled").await;
    expect_error(app.post(&test, &agent, json!({})).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect(app.patch(&path, &admin, json!({ "active": true })).await, StatusCode::OK).await;

    // Bad input.
    let bad = json!({ "url": "ftp://hooks.example", "events": ["#"] });
    expect_error(app.post("/webhooks", &admin, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    let bad = json!({ "url": "https://hooks.example", "events": ["Session Opened"] });
    expect_error(app.post("/webhooks", &admin, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    let bad = json!({ "url": "https://hooks.example", "events": [] });
    expect_error(app.post("/webhooks", &admin, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    // Internal targets (SSRF): this machine, private networks, cloud metadata.
    for internal in ["http://127.0.0.1:9000/in", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"]
    {
        let bad = json!({ "url": internal, "events": ["#"] });
        let err = expect_error(
            app.post("/webhooks", &admin, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
        assert_eq!(err["field"], "url", "{internal}");
    }

    // Agents of the account may not.
    expect_error(app.get("/webhooks", &agent).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(app.post("/webhooks", &agent, body).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(app.delete(&path, &agent).await, StatusCode::FORBIDDEN, "forbidden").await;

    // The delivery worker makes the test delivery's first attempt (to an
    // address that does not resolve); deleting during that attempt collides
    // with it (409 retry), so the deletion waits for the attempt to end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let log = expect(app.get(&format!("{path}/deliveries"), &admin).await, StatusCode::OK).await;
        if log["items"][0]["attempt"].as_i64().unwrap_or_default() >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the test delivery was never attempted: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    expect_no_content(app.delete(&path, &admin).await).await;
    expect_error(app.delete(&path, &admin).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(expect(app.get("/webhooks", &admin).await, StatusCode::OK).await, json!([]));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn agents_read_and_mark_only_their_own_notifications(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (alice, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let (_, bob_token) = seed_agent(&pool, Some(&acme), "agent", "bob").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let mut conn = pool.acquire().await.expect("conn");
    let mut alerts = Vec::new();
    for n in 0..3 {
        let alert = domain::notifications::alert(
            &mut conn,
            AgentId(alice),
            "session.assigned",
            None::<SessionId>,
            &format!("alert {n}"),
        )
        .await
        .expect("alert");
        alerts.push(alert.id);
    }
    drop(conn);
    let app = api(pool).await;

    let page = expect(app.get("/notifications?limit=2", &alice_token).await, StatusCode::OK).await;
    let bodies: Vec<&str> =
        page["items"].as_array().expect("items").iter().map(|n| n["body"].as_str().expect("body")).collect();
    assert_eq!(bodies, ["alert 2", "alert 1"], "newest first");
    let cursor = page["next_cursor"].as_str().expect("more");
    let rest =
        expect(app.get(&format!("/notifications?cursor={cursor}"), &alice_token).await, StatusCode::OK).await;
    assert_eq!(rest["items"][0]["body"], "alert 0");
    assert_eq!(rest["next_cursor"], json!(null));

    // Someone else's is not found, even for an admin.
    let read = format!("/notifications/{}/read", alerts[2]);
    for other in [&bob_token, &admin_token] {
        let mine = expect(app.get("/notifications", other).await, StatusCode::OK).await;
        assert_eq!(mine["items"], json!([]));
        expect_error(app.post(&read, other, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    expect_no_content(app.post(&read, &alice_token, json!({})).await).await;
    expect_no_content(app.post(&read, &alice_token, json!({})).await).await;
    let unread = expect(app.get("/notifications?unread=true", &alice_token).await, StatusCode::OK).await;
    assert_eq!(unread["items"].as_array().expect("items").len(), 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn agents_opt_in_to_email_themselves_but_change_nothing_else(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (alice, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let (bob, _) = seed_agent(&pool, Some(&acme), "agent", "bob").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = api(pool).await;
    let me = format!("/agents/{alice}");

    let agent = expect(app.get(&me, &alice_token).await, StatusCode::OK).await;
    assert_eq!(agent["email_notifications"], false);
    let on = json!({ "email_notifications": true });
    let agent = expect(app.patch(&me, &alice_token, on.clone()).await, StatusCode::OK).await;
    assert_eq!(agent["email_notifications"], true);

    // Not someone else's, and nothing else of their own.
    let res = app.patch(&format!("/agents/{bob}"), &alice_token, on).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res =
        app.patch(&me, &alice_token, json!({ "email_notifications": false, "max_concurrent": 50 })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    // Admins may set it too.
    let off = json!({ "email_notifications": false });
    let agent = expect(app.patch(&me, &admin_token, off).await, StatusCode::OK).await;
    assert_eq!(agent["email_notifications"], false);
}
