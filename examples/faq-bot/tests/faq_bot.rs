//! The `faq-bot` binary against a live server (in this process, on a random
//! port, embedded mode, its own database): it greets a chat, answers from
//! its FAQ, hands off when the customer asks for a person, and a person
//! resolves. The bot talks to the server over HTTP and the WebSocket only.

use std::time::{Duration, Instant};

use domain::{actor::Actor, types::AgentId};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const ANSWER: &str = "Open Settings, then Security, and press Reset password.";

/// A child process that is killed when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `probe` every 100 ms until it gives `Some`, for at most 60 s (a
/// bound for a hung test on a busy machine, not a measure of speed).
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, probe: impl Fn() -> F) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn insert_agent(pool: &PgPool, account: uuid::Uuid, email: &str, name: &str, role: &str) -> AgentId {
    sqlx::query_scalar!(
        r#"INSERT INTO agents (account_id, email, display_name, role, presence, max_concurrent)
           VALUES ($1, $2, $3, $4, 'online', 5) RETURNING id AS "id: AgentId""#,
        account,
        email,
        name,
        role,
    )
    .fetch_one(pool)
    .await
    .expect("agent")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_faq_bot_greets_answers_and_hands_off_to_a_person(pool: PgPool) {
    // The world: a bot-first type, its bot (driven from outside: the
    // default mode), and Hana, who serves the type.
    let account =
        sqlx::query_scalar!("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("account");
    let bot = insert_agent(&pool, account, "faq-bot@acme.test", "FAQ bot", "bot").await;
    let hana = insert_agent(&pool, account, "hana@acme.test", "Hana", "agent").await;
    let ty = sqlx::query_scalar!(
        "INSERT INTO support_types (account_id, slug, name, routing, bot_agent_id, reason_required)
         VALUES ($1, 'help', 'Help', 'bot_first', $2, false) RETURNING id",
        account,
        bot as AgentId,
    )
    .fetch_one(&pool)
    .await
    .expect("type");
    sqlx::query!("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)", hana as AgentId, ty)
        .execute(&pool)
        .await
        .expect("skill");
    let (_, bot_token) =
        domain::tokens::create(&pool, &Actor::System, bot, "faq-bot").await.expect("bot token");
    let (_, hana_token) = domain::tokens::create(&pool, &Actor::System, hana, "test").await.expect("token");

    // The server.
    let files = format!("{}/attachments/{}", env!("CARGO_TARGET_TMPDIR"), uuid::Uuid::new_v4());
    let config = server::config::Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "ATTACHMENTS_DIR" => Some(files.clone()),
        _ => None,
    })
    .expect("config");
    let app = server::Application::build_with_pool(config, pool.clone()).await.expect("server");
    let base = format!("http://{}", app.local_addr());
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    let _stop = stop.drop_guard();

    // The bot, as its own process.
    let faq = format!("{}/faq-{}.jsonl", env!("CARGO_TARGET_TMPDIR"), uuid::Uuid::new_v4());
    std::fs::write(
        &faq,
        [
            json!({ "q": "How do I reset my password?", "a": ANSWER }).to_string(),
            json!({ "q": "Where do I find my invoices?", "a": "Under Billing, then Invoices." }).to_string(),
        ]
        .join("\n"),
    )
    .expect("faq file");
    let _bot = Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_faq-bot"))
            .env("SWITCHBOARD_URL", &base)
            .env("SWITCHBOARD_TOKEN", &bot_token)
            .env("FAQ_FILE", &faq)
            // FAQ_BOT_VERBOSE=1 cargo test -p faq-bot: the bot prints every frame.
            .env("FAQ_BOT_VERBOSE", std::env::var("FAQ_BOT_VERBOSE").unwrap_or_default())
            .spawn()
            .expect("start faq-bot"),
    );

    // A customer opens a chat with a question.
    let http = reqwest::Client::new();
    let opened: Value = http
        .post(format!("{base}/api/v1/chat/help/sessions"))
        .json(&json!({ "message": "I forgot my password, how can I reset it?" }))
        .send()
        .await
        .expect("open chat")
        .json()
        .await
        .expect("opened");
    let (session, customer) = (
        opened["session"]["id"].as_str().expect("session id").to_owned(),
        opened["token"].as_str().expect("chat token").to_owned(),
    );
    let messages = |token: String| {
        let (http, url) = (http.clone(), format!("{base}/api/v1/sessions/{session}/messages?limit=100"));
        async move {
            let page: Value = http.get(url).bearer_auth(token).send().await.ok()?.json().await.ok()?;
            let mut items = page["items"].as_array()?.clone();
            items.sort_by_key(|m| m["id"].as_i64());
            Some(items)
        }
    };
    let bot_said = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .filter(|m| m["sender_kind"] == "bot")
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .collect()
    };

    // 1. It greets, and answers from the FAQ.
    let said = eventually("the greeting and the answer", || {
        let messages = messages(customer.clone());
        async move { messages.await.map(|m| bot_said(&m)).filter(|said| said.len() >= 2) }
    })
    .await;
    assert!(said[0].contains("FAQ bot"), "{said:?}");
    assert_eq!(said[1], ANSWER);

    // 2. The customer asks for a person: the bot hands off, and the engine
    // gives the chat to Hana.
    let sent = http
        .post(format!("{base}/api/v1/sessions/{session}/messages"))
        .bearer_auth(&customer)
        .json(&json!({ "body": "Thanks, but can I talk to a human?" }))
        .send()
        .await
        .expect("customer message");
    assert_eq!(sent.status(), 201);
    let as_hana = |path: String| {
        let (http, token, url) = (http.clone(), hana_token.clone(), format!("{base}/api/v1{path}"));
        async move { http.get(url).bearer_auth(token).send().await.ok()?.json::<Value>().await.ok() }
    };
    eventually("Hana to own the chat", || {
        let s = as_hana(format!("/sessions/{session}"));
        async move { s.await.filter(|s| s["owner_id"] == json!(hana)) }
    })
    .await;
    let reason = sqlx::query_scalar!(
        "SELECT reason FROM handoffs WHERE session_id = $1 AND from_agent_id = $2",
        session.parse::<uuid::Uuid>().expect("session id"),
        bot as AgentId,
    )
    .fetch_one(&pool)
    .await
    .expect("the bot's handoff");
    assert_eq!(reason, "customer_request");

    // 3. Hana replies and resolves; the bot said nothing after the handoff.
    let reply = http
        .post(format!("{base}/api/v1/sessions/{session}/messages"))
        .bearer_auth(&hana_token)
        .json(&json!({ "body": "Hana here: I've sent you a new link." }))
        .send()
        .await
        .expect("reply");
    assert_eq!(reply.status(), 201);
    let resolved = http
        .post(format!("{base}/api/v1/sessions/{session}/resolve"))
        .bearer_auth(&hana_token)
        .json(&json!({}))
        .send()
        .await
        .expect("resolve");
    assert_eq!(resolved.status(), 200, "{}", resolved.text().await.unwrap_or_default());
    // Time for any late step of the bot to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = messages(hana_token.clone()).await.expect("history");
    assert_eq!(bot_said(&all).len(), 2, "{all:?}");
    let last_bot = all.iter().filter(|m| m["sender_kind"] == "bot").filter_map(|m| m["id"].as_i64()).max();
    let first_human =
        all.iter().filter(|m| m["sender_kind"] == "agent").filter_map(|m| m["id"].as_i64()).min();
    assert!(last_bot < first_human, "{all:?}");
}
