//! The notifications consumer on a real PostgreSQL, with a local SMTP sink
//! and local webhook receivers: in-app alerts exactly once, e-mail to opted-in
//! agents and to offline customers, signed webhook deliveries, retries with
//! backoff, and disabling after consecutive failures.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use consumers::{
    Outcome,
    handlers::notifications::Notifications,
    mail::{self, Mailer},
    process, webhooks as worker,
};
use domain::{
    Error,
    actor::{Actor, AgentActor},
    conversation::{self, SendMessage},
    notifications,
    outbox::{self, Event},
    sessions::{self, CustomerInput, OpenSession},
    types::{AccountId, AgentId, Role, SessionId},
    webhooks::{self, NewWebhook},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;

mod common;
use common::smtp::Sink;

// ---- A webhook receiver ----

#[derive(Clone)]
struct Receiver {
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    async fn start(status: u16) -> (Self, String) {
        let receiver = Self { status: Arc::new(AtomicU16::new(status)), hits: Arc::default() };
        async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> axum::http::StatusCode {
            r.hits.lock().expect("lock").push((headers, body));
            axum::http::StatusCode::from_u16(r.status.load(Ordering::Relaxed)).expect("status")
        }
        let app = Router::new().route("/hook", post(hook)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn hits(&self) -> Vec<(HeaderMap, String)> {
        self.hits.lock().expect("lock").clone()
    }
}

// ---- Seeding ----

struct World {
    account: AccountId,
    agent: AgentId,
    agent_email: String,
}

async fn seed(pool: &PgPool) -> World {
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("account");
    sqlx::query("INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, 'billing', 'Billing', 'manual')")
        .bind(account)
        .execute(pool)
        .await
        .expect("type");
    let agent_email = "alice@acme.test".to_owned();
    let agent: AgentId = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, presence, email_notifications)
         VALUES ($1, $2, 'Alice', 'agent', 'online', true) RETURNING id",
    )
    .bind(account)
    .bind(&agent_email)
    .fetch_one(pool)
    .await
    .expect("agent");
    sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) SELECT $1, id FROM support_types")
        .bind(agent)
        .execute(pool)
        .await
        .expect("skill");
    World { account, agent, agent_email }
}

fn agent_actor(w: &World) -> Actor {
    Actor::Agent(AgentActor { id: w.agent, account_id: Some(w.account), role: Role::Agent })
}

async fn open(pool: &PgPool, email: &str) -> SessionId {
    let (s, _) = sessions::open(
        pool,
        &Actor::System,
        OpenSession {
            support_type: "billing".into(),
            customer: CustomerInput {
                name: Some("Carol".into()),
                email: Some(email.into()),
                external_ref: None,
            },
            message: Some("Where is my refund?".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    s.id
}

async fn events(pool: &PgPool, topic: &str) -> Vec<Event> {
    outbox::since(pool, 0, 1000).await.expect("events").into_iter().filter(|e| e.topic == topic).collect()
}

/// Runs the handler on every event so far.
async fn process_all(pool: &PgPool, handler: &Notifications) {
    for event in outbox::since(pool, 0, 1000).await.expect("events") {
        process(pool, handler, &event, None).await.expect("process");
    }
}

// ---- Tests ----

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_assignment_alerts_the_agent_once_and_mails_them_when_they_opted_in(pool: PgPool) {
    let w = seed(&pool).await;
    let (sink, smtp) = Sink::start().await;
    let mailer = Mailer::new(&smtp, "Switchboard <noreply@switchboard.test>").expect("mailer");
    let handler = Notifications::new(Some(mailer.clone()));
    let session = open(&pool, "carol@example.test").await;
    sessions::assign(&pool, &Actor::System, session, Some(w.agent)).await.expect("assign");

    let assigned = events(&pool, "session.assigned").await;
    assert_eq!(assigned.len(), 1);
    // Delivered twice (a redelivery after a lost ack): one effect.
    assert_eq!(process(&pool, &handler, &assigned[0], None).await.expect("first"), Outcome::Done);
    assert_eq!(process(&pool, &handler, &assigned[0], None).await.expect("again"), Outcome::Duplicate);
    // Recorded with the event, not sent inside its transaction: the mail
    // worker sends after commit.
    assert!(sink.mails().is_empty(), "{:?}", sink.mails());
    let logged: (i64, i64) = sqlx::query_as("SELECT count(*), count(sent_at) FROM mail_log")
        .fetch_one(&pool)
        .await
        .expect("mail log");
    assert_eq!(logged, (1, 0));
    assert_eq!(mail::send_due(&pool, &mailer).await.expect("send"), 1);
    assert_eq!(mail::send_due(&pool, &mailer).await.expect("send again"), 0, "sent once");

    let me = agent_actor(&w);
    let page = notifications::list(&pool, &me, None, None, false).await.expect("list");
    assert_eq!(page.items.len(), 1, "{page:?}");
    let alert = &page.items[0];
    assert_eq!((alert.kind.as_str(), alert.session_id), ("session.assigned", Some(session)));
    assert!(alert.body.contains("Billing") && alert.body.contains("Carol"), "{}", alert.body);
    assert!(alert.read_at.is_none());

    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "one e-mail however often the event comes: {mails:?}");
    assert!(mails[0].0[0].contains(&w.agent_email), "{:?}", mails[0].0);
    assert!(mails[0].1.contains("Session assigned: Billing"), "{}", mails[0].1);
    let logged: (i64, i64) = sqlx::query_as("SELECT count(*), count(sent_at) FROM mail_log")
        .fetch_one(&pool)
        .await
        .expect("mail log");
    assert_eq!(logged, (1, 1));

    // Only the agent reads and marks their alerts.
    let other =
        Actor::Agent(AgentActor { id: AgentId::new(), account_id: Some(w.account), role: Role::Admin });
    assert!(notifications::list(&pool, &other, None, None, false).await.expect("other").items.is_empty());
    assert_eq!(
        notifications::mark_read(&pool, &other, alert.id).await,
        Err(Error::not_found("notification"))
    );
    notifications::mark_read(&pool, &me, alert.id).await.expect("read");
    notifications::mark_read(&pool, &me, alert.id).await.expect("read again");
    let unread = notifications::list(&pool, &me, None, None, true).await.expect("unread");
    assert!(unread.items.is_empty());
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_offline_customer_gets_the_agents_reply_by_mail(pool: PgPool) {
    let w = seed(&pool).await;
    let (sink, smtp) = Sink::start().await;
    let mailer = Mailer::new(&smtp, "support@acme.test").expect("mailer");
    let handler = Notifications::new(Some(mailer.clone()));
    // Alice does not want e-mail: only the customer gets any.
    sqlx::query("UPDATE agents SET email_notifications = false").execute(&pool).await.expect("opt out");
    let session = open(&pool, "carol@example.test").await;
    sessions::assign(&pool, &Actor::System, session, Some(w.agent)).await.expect("assign");
    let me = agent_actor(&w);

    // The customer just wrote: online, no e-mail.
    let send = |body: &str| SendMessage { body: body.into(), client_message_id: None, ..Default::default() };
    conversation::send(&pool, &me, session, send("Looking into it now")).await.expect("reply");
    process_all(&pool, &handler).await;
    mail::send_due(&pool, &mailer).await.expect("send");
    assert!(sink.mails().is_empty(), "{:?}", sink.mails());

    // Five minutes of silence from the customer: offline.
    sqlx::query(
        "UPDATE messages SET created_at = now() - interval '5 minutes' WHERE sender_kind = 'customer'",
    )
    .execute(&pool)
    .await
    .expect("backdate");
    // The reply carries a file: the mail names it (the file itself stays
    // behind the conversation's access rules).
    let file = sqlx::query_scalar!(
        "INSERT INTO attachments (account_id, session_id, uploader_kind, uploader_agent_id, file_name,
             content_type, kind, size_bytes, sha256, storage_key)
         SELECT account_id, id, 'agent', $2, 'refund.pdf', 'application/pdf', 'pdf', 12000, repeat('a', 64),
             'test/' || gen_random_uuid()
         FROM sessions WHERE id = $1 RETURNING id",
        session.0,
        w.agent.0
    )
    .fetch_one(&pool)
    .await
    .expect("attachment");
    let with_file = SendMessage {
        attachment_ids: vec![domain::types::AttachmentId(file)],
        ..send("Your refund is on its way")
    };
    conversation::send(&pool, &me, session, with_file).await.expect("reply");
    process_all(&pool, &handler).await;
    assert_eq!(mail::send_due(&pool, &mailer).await.expect("send"), 1);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0[0].contains("carol@example.test"), "{:?}", mails[0].0);
    assert!(mails[0].1.contains("Your refund is on its way"), "{}", mails[0].1);
    assert!(mails[0].1.contains("New reply from Acme support"), "{}", mails[0].1);
    assert!(mails[0].1.contains("refund.pdf (12 KB)"), "{}", mails[0].1);

    // The customer's own messages never mail them.
    let customer_msgs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_log WHERE recipient = 'carol@example.test'")
            .fetch_one(&pool)
            .await
            .expect("log");
    assert_eq!(customer_msgs, 1);
}

fn signature(secret_hex: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_hex.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn webhooks_are_signed_retried_with_backoff_and_disabled_after_five_failures(pool: PgPool) {
    // The receivers listen on 127.0.0.1, a private target.
    domain::webhooks::allow_private_targets(true);
    let w = seed(&pool).await;
    let handler = Notifications::new(None);
    let (good, good_url) = Receiver::start(200).await;
    let (bad, bad_url) = Receiver::start(500).await;
    let new = |url: &str, events: &[&str]| NewWebhook {
        account_id: Some(w.account),
        url: url.to_owned(),
        events: events.iter().map(|e| e.to_string()).collect(),
    };
    let (good_hook, secret) =
        webhooks::create(&pool, &Actor::System, new(&good_url, &["session.*"])).await.expect("good hook");
    assert_eq!(secret.len(), 64, "32 bytes, hex");
    let (bad_hook, _) =
        webhooks::create(&pool, &Actor::System, new(&bad_url, &["message.created"])).await.expect("bad hook");

    let session = open(&pool, "carol@example.test").await;
    process_all(&pool, &handler).await;
    process_all(&pool, &handler).await; // redelivery: nothing new
    let queued: Vec<(String, String)> = sqlx::query_as(
        "SELECT w.url, d.topic FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id ORDER BY d.id",
    )
    .fetch_all(&pool)
    .await
    .expect("deliveries");
    assert_eq!(
        queued,
        [(good_url.clone(), "session.opened".to_owned()), (bad_url.clone(), "message.created".to_owned())]
    );

    let client = worker::client();
    assert_eq!(worker::deliver_due(&pool, &client).await.expect("deliver"), 2);

    // The good receiver got a verifiable, signed POST.
    let hits = good.hits();
    assert_eq!(hits.len(), 1);
    let (headers, body) = &hits[0];
    assert_eq!(header(headers, "x-switchboard-event"), "session.opened");
    assert_eq!(header(headers, "content-type"), "application/json");
    let timestamp = header(headers, "x-switchboard-timestamp");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().expect("unix seconds");
    assert!((0..30).contains(&age), "{age}");
    assert_eq!(header(headers, "x-switchboard-signature"), signature(&secret, timestamp, body));
    assert_ne!(header(headers, "x-switchboard-signature"), signature(&"0".repeat(64), timestamp, body));
    let json: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(json["topic"], "session.opened");
    assert_eq!(json["session_id"], session.to_string());
    assert_eq!(json["payload"]["session_id"], session.to_string());
    let delivered: (Option<i32>, bool, i32) = sqlx::query_as(
        "SELECT status_code, delivered_at IS NOT NULL AND next_attempt_at IS NULL, attempt
         FROM webhook_deliveries WHERE webhook_id = $1",
    )
    .bind(good_hook.id)
    .fetch_one(&pool)
    .await
    .expect("delivered");
    assert_eq!(delivered, (Some(200), true, 1));

    // The failing receiver: retried with exponential backoff.
    let backoff = || async {
        sqlx::query_as::<_, (i32, Option<i32>, f64)>(
            "SELECT attempt, status_code, extract(epoch FROM next_attempt_at - now())::float8
             FROM webhook_deliveries WHERE webhook_id = $1",
        )
        .bind(bad_hook.id)
        .fetch_one(&pool)
        .await
        .expect("delivery")
    };
    let (attempt, status, wait) = backoff().await;
    assert_eq!((attempt, status), (1, Some(500)));
    assert!((0.0..=1.5).contains(&wait), "first retry after ~1 s, got {wait}");
    assert_eq!(worker::deliver_due(&pool, &client).await.expect("not due yet"), 0);
    let mut waits = Vec::new();
    for _ in 2..=webhooks::DISABLE_AFTER_FAILURES {
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE next_attempt_at IS NOT NULL",
        )
        .execute(&pool)
        .await
        .expect("due now");
        assert_eq!(worker::deliver_due(&pool, &client).await.expect("retry"), 1);
        waits.push(backoff().await.2);
    }
    for (i, wait) in waits.iter().take(3).enumerate() {
        let expected = f64::from(2_u32.pow(i as u32 + 1));
        assert!((expected - 0.5..=expected + 0.5).contains(wait), "retry {i}: {waits:?}");
    }
    let hits = bad.hits();
    assert_eq!(hits.len(), 5);
    let ids: std::collections::BTreeSet<&str> =
        hits.iter().map(|(h, _)| header(h, "x-switchboard-delivery")).collect();
    assert_eq!(ids.len(), 1, "retries keep the delivery id");

    // Five consecutive failures: disabled and audited; no more attempts.
    let hook: (bool, bool, i32) = sqlx::query_as(
        "SELECT active, disabled_at IS NOT NULL, consecutive_failures FROM webhooks WHERE id = $1",
    )
    .bind(bad_hook.id)
    .fetch_one(&pool)
    .await
    .expect("hook");
    assert_eq!(hook, (false, true, 5));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'webhook.disabled' AND target = $1 AND account_id = $2",
    )
    .bind(bad_hook.id.to_string())
    .bind(w.account)
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE next_attempt_at IS NOT NULL")
        .execute(&pool)
        .await
        .expect("due now");
    assert_eq!(worker::deliver_due(&pool, &client).await.expect("disabled"), 0);
    assert_eq!(bad.hits().len(), 5);
    // A disabled webhook gets no new deliveries either.
    let me = agent_actor(&w);
    sessions::assign(&pool, &Actor::System, session, Some(w.agent)).await.expect("assign");
    conversation::send(
        &pool,
        &me,
        session,
        SendMessage { body: "hi".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("reply");
    process_all(&pool, &handler).await;
    let bad_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(bad_hook.id)
        .fetch_one(&pool)
        .await
        .expect("rows");
    assert_eq!(bad_rows, 1);
}
