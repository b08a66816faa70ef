//! The WebSocket hub end to end: the real server on a real database, real
//! WebSocket clients.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

const WAIT: Duration = Duration::from_secs(15);

struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Connects to `/ws` with extra headers; the HTTP status when refused.
async fn connect(app: &TestApp, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let url = format!("{}/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    for (k, v) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(Ws { stream }),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

impl Ws {
    async fn send(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.expect("send");
    }

    /// The next JSON frame, or `None` when the server closed.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.stream.next()).await.expect("a frame in time");
            match msg {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).expect("json frame")),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Skips frames until one of `kind`; fails if the server closes first.
    async fn until(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await.unwrap_or_else(|| panic!("closed while waiting for {kind}"));
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Proves nothing else is queued for this client: a ping's pong is the
    /// very next frame.
    async fn nothing_pending(&mut self) {
        self.send(json!({"type": "ping"})).await;
        let frame = self.next().await.expect("pong");
        assert_eq!(frame["type"], "pong", "unexpected frame: {frame}");
    }

    /// Pings and returns every frame that came before the pong.
    async fn drain(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await.expect("pong");
            if frame["type"] == "pong" {
                return frames;
            }
            frames.push(frame);
        }
    }

    /// Skips frames until a session change with `topic`.
    async fn until_topic(&mut self, topic: &str) -> Value {
        loop {
            let frame = self.until("session").await;
            if frame["topic"] == topic {
                return frame;
            }
        }
    }

    /// The close code the server ended with, reading past queued frames.
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.expect("close in time") {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}

struct Chat {
    session: String,
    token: String,
}

async fn open_chat(app: &TestApp, slug: &str, name: &str) -> Chat {
    let res = app
        .client
        .post(format!("{}/api/v1/chat/{slug}/sessions", app.base))
        .json(&json!({ "name": name, "message": "Hello, I need help" }))
        .send()
        .await
        .expect("open chat");
    let body = expect(res, reqwest::StatusCode::CREATED).await;
    Chat {
        session: body["session"]["id"].as_str().expect("id").to_owned(),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

async fn customer_ws(app: &TestApp, chat: &Chat, after: Option<i64>) -> (Ws, i64) {
    let mut ws = connect(app, &[]).await.expect("customer connects");
    ws.send(json!({ "type": "hello", "token": chat.token, "after": after })).await;
    let welcome = ws.until("welcome").await;
    (ws, welcome["last_event_id"].as_i64().expect("id"))
}

async fn agent_ws(app: &TestApp, token: &str) -> Ws {
    let mut ws =
        connect(app, &[("authorization", &format!("Bearer {token}"))]).await.expect("agent connects");
    ws.send(json!({ "type": "hello" })).await;
    ws.until("welcome").await;
    ws
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let res =
        app.client.post(format!("{}/api/v1{path}", app.base)).bearer_auth(token).json(&body).send().await;
    let res = res.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn customer_and_agent_chat_live(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, agent_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let app = spawn_app(pool.clone()).await;
    let mut agent = agent_ws(&app, &agent_token).await;
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    let (mut customer, _) = customer_ws(&app, &chat, None).await;

    // The agent sees the new session in the queue (lifecycle, by skill).
    let opened = agent.until_topic("session.opened").await;
    assert_eq!(opened["session"]["id"], chat.session.as_str());
    // The type is manual: the agent picks it; the customer sees who joined,
    // without the agent's internal id.
    post(&app, &format!("/sessions/{}/assign", chat.session), &agent_token, json!({})).await;
    let joined = customer.until_topic("session.assigned").await;
    assert_eq!(joined["session"]["status"], "active");
    assert_eq!(joined["session"]["owner_name"], "Dana");
    assert_eq!(joined["session"]["owner_id"], Value::Null);

    agent.send(json!({ "type": "subscribe", "session_id": chat.session })).await;
    agent.drain().await; // the subscription is in place once the pong is back
    post(&app, &format!("/sessions/{}/messages", chat.session), &agent_token, json!({ "body": "Hi Casey" }))
        .await;
    let got = customer.until("message").await;
    assert_eq!(got["message"]["body"], "Hi Casey");
    assert_eq!(got["sender_name"], "Dana");
    assert_eq!(got["message"]["sender_agent_id"], Value::Null, "no internal ids for customers");

    post(&app, &format!("/sessions/{}/messages", chat.session), &chat.token, json!({ "body": "Thanks!" }))
        .await;
    // (The agent's own message comes back to them too: other tabs.)
    let mine = agent.until("message").await;
    assert_eq!(mine["message"]["body"], "Hi Casey");
    let got = agent.until("message").await;
    assert_eq!(got["message"]["body"], "Thanks!");
    assert_eq!(got["message"]["sender_kind"], "customer");

    // Typing and read receipts, both ways; nobody gets their own echo.
    customer.send(json!({ "type": "typing", "session_id": chat.session, "typing": true })).await;
    let typing = agent.until("typing").await;
    assert_eq!(typing["sender_kind"], "customer");
    assert_eq!(typing["name"], "Casey");
    let newest = got["message"]["id"].as_i64().expect("id");
    agent.send(json!({ "type": "read", "session_id": chat.session, "message_id": newest })).await;
    let read = customer.until("read").await;
    assert_eq!(read["reader"], "agent");
    assert_eq!(read["message_id"], newest);
    let echoes = customer.drain().await;
    assert!(echoes.iter().all(|f| f["type"] != "typing"), "the customer got their own typing: {echoes:?}");
    let stored: i64 = sqlx::query_scalar("SELECT agent_read_message_id FROM sessions WHERE id = $1::uuid")
        .bind(&chat.session)
        .fetch_one(&pool)
        .await
        .expect("read position");
    assert_eq!(stored, newest);

    // Resolution reaches the customer as a session change.
    post(
        &app,
        &format!("/sessions/{}/resolve", chat.session),
        &agent_token,
        json!({ "reason_id": acme.reason_id }),
    )
    .await;
    let resolved = customer.until_topic("session.resolved").await;
    assert_eq!(resolved["session"]["status"], "resolved");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn nobody_receives_what_they_may_not_see(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, acme_agent) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let (_, globex_agent) = seed_agent(&pool, Some(&globex), "agent", "Eve").await;
    let (_, globex_admin) = seed_agent(&pool, Some(&globex), "admin", "Gloria").await;
    let app = spawn_app(pool.clone()).await;
    let mut dana = agent_ws(&app, &acme_agent).await;
    let mut eve = agent_ws(&app, &globex_agent).await;
    let mut gloria = agent_ws(&app, &globex_admin).await;
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    let other = open_chat(&app, &acme.type_slug, "Mallory").await;
    let (mut mallory, _) = customer_ws(&app, &other, None).await;
    let (mut casey, _) = customer_ws(&app, &chat, None).await;

    // Another account's agent and admin cannot follow the session.
    for ws in [&mut eve, &mut gloria] {
        ws.send(json!({ "type": "subscribe", "session_id": chat.session })).await;
        let refused = ws.until("error").await;
        assert_eq!(refused["code"], "not_found");
    }
    // A customer cannot follow anything but their chat.
    mallory.send(json!({ "type": "subscribe", "session_id": chat.session })).await;
    assert_eq!(mallory.until("error").await["code"], "forbidden");
    mallory.send(json!({ "type": "typing", "session_id": chat.session, "typing": true })).await;
    assert_eq!(mallory.until("error").await["code"], "not_found");

    post(&app, &format!("/sessions/{}/assign", chat.session), &acme_agent, json!({})).await;
    post(&app, &format!("/sessions/{}/messages", chat.session), &acme_agent, json!({ "body": "secret" }))
        .await;
    // Dana sees both opens, the assignment and (as owner) the message.
    assert_eq!(casey.until("message").await["message"]["body"], "secret");
    loop {
        let f = dana.next().await.expect("frame");
        if f["type"] == "message" {
            assert_eq!(f["message"]["body"], "secret");
            break;
        }
    }
    // Everything was dispatched by now; the others got none of it.
    for ws in [&mut eve, &mut gloria, &mut mallory] {
        ws.nothing_pending().await;
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn origin_and_credentials_are_checked(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let app = spawn_app(pool.clone()).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    // Another site may not open a socket, with or without a cookie; a
    // cookie needs this site's Origin.
    assert_eq!(connect(&app, &[("origin", "https://evil.test")]).await.err(), Some(403));
    assert_eq!(connect(&app, &[("cookie", "sb_session=ss_stolen")]).await.err(), Some(403));
    assert_eq!(
        connect(&app, &[("origin", "https://evil.test"), ("cookie", "sb_session=ss_x")]).await.err(),
        Some(403)
    );
    assert_eq!(connect(&app, &[("authorization", "Bearer sb_nonsense")]).await.err(), Some(401));
    // Same origin with a dead cookie and no token: closed as unauthenticated.
    let mut ws = connect(&app, &[("origin", &format!("http://{host}")), ("cookie", "sb_session=ss_gone")])
        .await
        .expect("upgrade");
    ws.send(json!({ "type": "hello" })).await;
    assert_eq!(ws.until("error").await["code"], "unauthenticated");
    assert_eq!(ws.close_code().await, Some(4401));
    // A wrong customer token, and a first frame that is not a hello.
    let mut ws = connect(&app, &[]).await.expect("upgrade");
    ws.send(json!({ "type": "hello", "token": "sc_not-a-real-token" })).await;
    assert_eq!(ws.close_code().await, Some(4401));
    let mut ws = connect(&app, &[]).await.expect("upgrade");
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.until("error").await["code"], "invalid");
    // A real token works from the site's own origin.
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    let mut ws = connect(&app, &[("origin", &format!("http://{host}"))]).await.expect("upgrade");
    ws.send(json!({ "type": "hello", "token": chat.token })).await;
    ws.until("welcome").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_reconnecting_client_gets_what_it_missed_once_in_order(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, agent_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let app = spawn_app(pool.clone()).await;
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    post(&app, &format!("/sessions/{}/assign", chat.session), &agent_token, json!({})).await;
    wait_until_events_settle(&pool).await;
    let (mut ws, last) = customer_ws(&app, &chat, None).await;
    ws.stream.close(None).await.expect("close");
    drop(ws);

    for body in ["one", "two", "three"] {
        post(&app, &format!("/sessions/{}/messages", chat.session), &agent_token, json!({ "body": body }))
            .await;
    }
    wait_until_events_settle(&pool).await;
    let mut ws = connect(&app, &[]).await.expect("reconnect");
    ws.send(json!({ "type": "hello", "token": chat.token, "after": last })).await;
    // What is newer than `after` comes once, in order. The replay also
    // repeats a short window before `after` (for transactions that commit
    // late); the client skips event ids it has applied, so those must be
    // ids it could have seen.
    let mut bodies = Vec::new();
    loop {
        let f = ws.next().await.expect("frame");
        match f["type"].as_str() {
            Some("message") if f["event_id"].as_i64() > Some(last) => {
                bodies.push(f["message"]["body"].as_str().expect("body").to_owned())
            }
            Some("message") => assert_eq!(f["message"]["body"], "Hello, I need help"),
            Some("welcome") => break,
            _ => {}
        }
    }
    assert_eq!(bodies, ["one", "two", "three"]);
    ws.nothing_pending().await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_slow_client_is_dropped_and_the_others_keep_up(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (agent_id, agent_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let app = spawn_app(pool.clone()).await;
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    post(&app, &format!("/sessions/{}/assign", chat.session), &agent_token, json!({})).await;
    wait_until_events_settle(&pool).await;

    // Two tabs of the same customer: one reads, one never does (and has a
    // tiny receive buffer, so the server's writes back up quickly).
    let (mut fast, _) = customer_ws(&app, &chat, None).await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().expect("addr");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let tcp = socket.connect(addr).await.expect("tcp");
    let url = format!("{}/ws", app.base.replace("http://", "ws://"));
    let (stream, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)).await.expect("ws");
    let mut slow = Ws { stream };
    slow.send(json!({ "type": "hello", "token": chat.token })).await;
    slow.until("welcome").await; // registered; from here on it reads nothing

    // The reader reads all along, concurrently with the flood.
    let reader = tokio::spawn(async move {
        let mut next = 0;
        while next < 2000 {
            let f = fast.next().await.expect("the fast client stays connected");
            if f["type"] == "message" {
                let text = f["message"]["body"].as_str().expect("body");
                assert!(
                    text.starts_with(&format!("{next} ")),
                    "message {next} out of order: {}",
                    &text[..10]
                );
                next += 1;
            }
        }
        fast
    });
    // A flood: 2,000 messages of 4 KB (8 MB, more than the kernel buffers
    // and the 256-frame queue hold) from the agent.
    let body = "x".repeat(4000);
    let session: domain::types::SessionId = chat.session.parse().expect("id");
    let mut conn = pool.acquire().await.expect("conn");
    for i in 0..2000 {
        domain::conversation::post_agent_message(
            &mut conn,
            session,
            domain::types::AgentId(agent_id),
            &format!("{i} {body}"),
            &format!("flood-{i}"),
            Vec::new(),
        )
        .await
        .expect("send");
    }
    drop(conn);
    // The reader got every message, in order.
    let mut fast = reader.await.expect("reader");
    assert!(app.hub.dropped_slow() >= 1, "the slow client was not dropped");
    // The slow one, once it reads, finds far fewer messages and a close.
    let mut received = 0;
    loop {
        match tokio::time::timeout(WAIT, slow.stream.next()).await.expect("slow client frames") {
            Some(Ok(Message::Text(t))) if t.contains(r#""type":"message""#) => received += 1,
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1013));
                break;
            }
            None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(received < 2000, "the slow client got everything ({received}); it was not dropped");
    fast.nothing_pending().await;
}

/// The hub re-evaluates a connection's scope when the agent changes (an
/// `agent.updated` event), without a reconnect: a supervisor demoted to
/// agent stops getting the types they do not serve, and a deactivated
/// agent's socket is closed.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_changed_agent_gets_the_new_scope_without_reconnecting(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "Ada").await;
    let (sam, sam_token) = seed_agent(&pool, Some(&acme), "supervisor", "Sam").await;
    let (_, dana_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    // A second type that nobody serves: only account-wide scopes see it.
    sqlx::query(
        "INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, 'acme-vip', 'VIP', 'manual')",
    )
    .bind(acme.id)
    .execute(&pool)
    .await
    .expect("type");
    let app = spawn_app(pool.clone()).await;
    let mut sam_ws = agent_ws(&app, &sam_token).await;
    let mut dana_ws = agent_ws(&app, &dana_token).await;

    let vip = open_chat(&app, "acme-vip", "Vera").await;
    let seen = sam_ws.until_topic("session.opened").await;
    assert_eq!(seen["session"]["id"], vip.session.as_str(), "a supervisor sees every type");

    // Demoted: the dispatcher rebuilds Sam's scope before the next event.
    let res = app
        .client
        .patch(format!("{}/api/v1/agents/{sam}", app.base))
        .bearer_auth(&admin_token)
        .json(&json!({ "role": "agent" }))
        .send()
        .await
        .expect("demote");
    expect(res, reqwest::StatusCode::OK).await;
    let billing = open_chat(&app, &acme.type_slug, "Bill").await;
    let vip2 = open_chat(&app, "acme-vip", "Vic").await;
    // Sam still serves billing (a skill), so that reaches him; VIP no longer does.
    let next = sam_ws.until_topic("session.opened").await;
    assert_eq!(next["session"]["id"], billing.session.as_str());
    // Dana got both billing opens in order; once her Billing frame is in, the
    // VIP open (after it in the outbox) has been dispatched to everyone.
    let dana_saw = dana_ws.until_topic("session.opened").await;
    assert_eq!(dana_saw["session"]["id"], billing.session.as_str());
    wait_until_events_settle(&pool).await;
    let later = sam_ws.drain().await;
    assert!(
        later.iter().all(|f| f["session"]["id"] != vip2.session.as_str()),
        "a demoted supervisor still got another type's session: {later:?}"
    );
    // And his subscriptions follow the rule too.
    sam_ws.send(json!({ "type": "subscribe", "session_id": vip2.session })).await;
    assert_eq!(sam_ws.until("error").await["code"], "not_found");

    // Deactivated: told so and closed, at once.
    let res = app
        .client
        .patch(format!("{}/api/v1/agents/{sam}", app.base))
        .bearer_auth(&admin_token)
        .json(&json!({ "deactivated": true }))
        .send()
        .await
        .expect("deactivate");
    expect(res, reqwest::StatusCode::OK).await;
    assert_eq!(sam_ws.until("error").await["code"], "unauthenticated");
    assert_eq!(sam_ws.close_code().await, Some(4401));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn import_progress_reaches_the_accounts_admins_and_nobody_else(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "Ada").await;
    let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let (_, other_admin) = seed_agent(&pool, Some(&globex), "admin", "Gloria").await;
    let app = spawn_app(pool.clone()).await;
    let mut ada = agent_ws(&app, &admin).await;
    let mut dana = agent_ws(&app, &agent).await;
    let mut gloria = agent_ws(&app, &other_admin).await;

    let path = format!("{}/../end2end/fixtures/import/generic.jsonl", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).expect("fixture");
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("generic.jsonl"));
    let res = app
        .client
        .post(format!("{}/api/v1/imports?format=jsonl", app.base))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let run = expect(res, reqwest::StatusCode::CREATED).await;
    let run_id = run["id"].as_str().expect("id").to_owned();
    post(&app, &format!("/imports/{run_id}/apply"), &admin, json!({})).await;

    // The admin's page follows the run to its end.
    let done = loop {
        let frame = ada.until("import_progress").await;
        assert_eq!(frame["run_id"], run_id.as_str());
        if frame["status"] == "completed" {
            break frame;
        }
    };
    // "technical-support" names no type of this account: skipped.
    assert_eq!(
        (
            done["position"].as_i64(),
            done["total"].as_i64(),
            done["created"].as_i64(),
            done["skipped"].as_i64()
        ),
        (Some(3), Some(3), Some(2), Some(1))
    );
    // Neither an agent of the account nor another account's admin hears of
    // it, and the imported history made no session frames.
    for ws in [&mut dana, &mut gloria] {
        let frames = ws.drain().await;
        assert!(
            frames.iter().all(|f| f["type"] != "import_progress" && f["type"] != "session"),
            "{frames:?}"
        );
    }
    let rest = ada.drain().await;
    assert!(
        rest.iter().all(|f| f["type"] != "session" && f["type"] != "message"),
        "imported history is quiet: {rest:?}"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn alerts_reach_their_agent_and_presence_reaches_the_accounts_supervisors(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (dana_id, dana_token) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let (_, eli_token) = seed_agent(&pool, Some(&acme), "agent", "Eli").await;
    let (_, sue_token) = seed_agent(&pool, Some(&acme), "supervisor", "Sue").await;
    let (_, gloria_token) = seed_agent(&pool, Some(&globex), "admin", "Gloria").await;
    let app = spawn_app(pool.clone()).await;
    let mut dana = agent_ws(&app, &dana_token).await;
    let mut eli = agent_ws(&app, &eli_token).await;
    let mut sue = agent_ws(&app, &sue_token).await;
    let mut gloria = agent_ws(&app, &gloria_token).await;

    // Dana steps away: she and her supervisor hear it, with whose it is;
    // a colleague and another account's admin do not.
    let res = app
        .client
        .put(format!("{}/api/v1/agents/{dana_id}/presence", app.base))
        .bearer_auth(&dana_token)
        .json(&json!({ "presence": "away", "reason": "lunch" }))
        .send()
        .await
        .expect("presence");
    expect(res, reqwest::StatusCode::OK).await;
    for ws in [&mut dana, &mut sue] {
        let frame = ws.until("presence").await;
        assert_eq!(frame["agent_id"], dana_id.to_string());
        assert_eq!(frame["presence"], "away");
    }
    let res = app
        .client
        .put(format!("{}/api/v1/agents/{dana_id}/presence", app.base))
        .bearer_auth(&dana_token)
        .json(&json!({ "presence": "online" }))
        .send()
        .await
        .expect("presence");
    expect(res, reqwest::StatusCode::OK).await;
    // Dana picks a session: the notifications consumer alerts her, and the
    // alert reaches her bell and nobody else's.
    let chat = open_chat(&app, &acme.type_slug, "Casey").await;
    post(&app, &format!("/sessions/{}/assign", chat.session), &dana_token, json!({})).await;
    let alert = dana.until("notification").await;
    assert_eq!(alert["notification"]["agent_id"], dana_id.to_string());
    assert_eq!(alert["notification"]["kind"], "session.assigned");
    assert_eq!(alert["notification"]["session_id"], chat.session.as_str());
    assert!(alert["event_id"].as_i64().is_some_and(|id| id > 0), "a durable frame: {alert}");
    let res =
        app.client.get(format!("{}/api/v1/notifications/unread", app.base)).bearer_auth(&dana_token).send();
    let unread = expect(res.await.expect("unread"), reqwest::StatusCode::OK).await;
    assert_eq!(unread["unread"], 1);
    for ws in [&mut eli, &mut sue, &mut gloria] {
        let frames = ws.drain().await;
        assert!(frames.iter().all(|f| f["type"] != "notification"), "{frames:?}");
    }
    for ws in [&mut eli, &mut gloria] {
        let frames = ws.drain().await;
        assert!(frames.iter().all(|f| f["type"] != "presence"), "{frames:?}");
    }
    // A reconnecting bell gets the alert it missed, once.
    let after = alert["event_id"].as_i64().expect("id") - 1;
    let mut again =
        connect(&app, &[("authorization", &format!("Bearer {dana_token}"))]).await.expect("reconnects");
    again.send(json!({ "type": "hello", "after": after })).await;
    let replayed = again.until("notification").await;
    assert_eq!(replayed["notification"]["id"], alert["notification"]["id"]);
    let read = post(&app, "/notifications/read-all", &dana_token, json!({})).await;
    assert_eq!(read["marked"], 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn blast_progress_reaches_the_accounts_admins_and_nobody_else(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "Ada").await;
    let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
    let (_, other_admin) = seed_agent(&pool, Some(&globex), "admin", "Gloria").await;
    let app = spawn_app(pool.clone()).await;
    for name in ["Casey", "Robin"] {
        open_chat(&app, &acme.type_slug, name).await;
    }
    let mut ada = agent_ws(&app, &admin).await;
    let mut dana = agent_ws(&app, &agent).await;
    let mut gloria = agent_ws(&app, &other_admin).await;

    let blast = post(
        &app,
        "/blasts",
        &admin,
        json!({ "body": "We are closed on Friday", "segment": { "kind": "account" },
                "support_type_id": acme.type_id, "rate_per_minute": 6000 }),
    )
    .await;
    // Ticks until the end: two recipients, each a tick, then done.
    let done = loop {
        let frame = ada.until("blast_progress").await;
        assert_eq!(frame["blast_id"], blast["id"]);
        if frame["status"] == "done" {
            break frame;
        }
    };
    assert_eq!((done["total"].as_i64(), done["sent"].as_i64()), (Some(2), Some(2)));
    for ws in [&mut dana, &mut gloria] {
        let frames = ws.drain().await;
        assert!(frames.iter().all(|f| f["type"] != "blast_progress"), "{frames:?}");
    }
}
