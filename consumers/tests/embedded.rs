//! Embedded mode (no broker) on a real PostgreSQL: the relay fills each
//! consumer's inbox, consumers drain their own inboxes with retries and a
//! dead-letter table, and effects happen exactly once.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use consumers::{
    BoxFuture, Handler, HandlerError,
    embedded::{self, MAX_ATTEMPTS},
    handlers::tagging::Tagging,
    metrics::ConsumerMetrics,
    relay::{self, InboxPublisher},
};
use domain::{
    actor::Actor,
    outbox::Event,
    sessions::{self, OpenSession},
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

async fn seed(pool: &PgPool) -> Uuid {
    let account: Uuid =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("account");
    sqlx::query("INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, 'billing', 'Billing', 'manual')")
        .bind(account)
        .execute(pool)
        .await
        .expect("type");
    for (name, kind, pattern) in [("refunds", "keyword", "refund"), ("urgent", "regex", r"(?i)\burgent\b")] {
        sqlx::query(
            "WITH t AS (INSERT INTO tags (account_id, name) VALUES ($1, $2) RETURNING id)
             INSERT INTO tag_rules (account_id, tag_id, kind, pattern) SELECT $1, id, $3, $4 FROM t",
        )
        .bind(account)
        .bind(name)
        .bind(kind)
        .bind(pattern)
        .execute(pool)
        .await
        .expect("rule");
    }
    account
}

async fn relay_all(pool: &PgPool, publisher: &InboxPublisher) {
    while relay::relay_batch(pool, publisher).await.expect("relay") > 0 {}
}

async fn tags_of(pool: &PgPool, session: domain::types::SessionId) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT t.name::text, st.source FROM session_tags st JOIN tags t ON t.id = st.tag_id
         WHERE st.session_id = $1 ORDER BY t.name",
    )
    .bind(session)
    .fetch_all(pool)
    .await
    .expect("tags")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tag_rules_and_project_tags_apply_once(pool: PgPool) {
    seed(&pool).await;
    let handlers: Vec<Arc<dyn Handler>> = vec![Arc::new(Tagging)];
    let publisher = InboxPublisher::new(&handlers);
    let metrics = ConsumerMetrics::default();
    let (s, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "billing".into(),
            project_ref: Some("ACME-42".into()),
            message: Some("I would like a Refund, this is URGENT".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    relay_all(&pool, &publisher).await;
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(unpublished, 0);
    assert_eq!(
        embedded::drain(&pool, &Tagging, &metrics).await.expect("drain"),
        2,
        "session.opened + message.created"
    );
    assert_eq!(
        tags_of(&pool, s.id).await,
        [
            ("project:ACME-42".into(), "project".into()),
            ("refunds".into(), "rule".into()),
            ("urgent".into(), "rule".into())
        ]
    );
    // The tags were announced as events (for the UI), by the same transaction.
    let tagged: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = 'session.tagged'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(tagged, 3);

    // A redelivery (the relay crashed after publishing, say) changes nothing.
    sqlx::query("INSERT INTO consumer_inbox (consumer, outbox_id) SELECT 'tagging', id FROM outbox WHERE topic = 'message.created'")
        .execute(&pool)
        .await
        .expect("redeliver");
    relay_all(&pool, &publisher).await;
    embedded::drain(&pool, &Tagging, &metrics).await.expect("drain");
    assert_eq!(metrics.duplicates.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.processed.load(Ordering::Relaxed), 2);
    assert_eq!(tags_of(&pool, s.id).await.len(), 3);
}

/// Writes its effect, then fails every event whose payload says so (so the
/// failure must roll the write back); counts the others. `together`: its
/// events may share a transaction (savepoints), like notifications'.
struct Flaky {
    handled: AtomicUsize,
    together: bool,
}

impl Handler for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn bindings(&self) -> &'static [&'static str] {
        &["test.#"]
    }
    fn shares_transactions(&self) -> bool {
        self.together
    }
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (event_id) VALUES ($1)")
                .bind(event.event_id)
                .execute(&mut *tx)
                .await?;
            match event.payload["fail"].as_str() {
                Some("retry") => Err(HandlerError::Retry("downstream is down".into())),
                Some("permanent") => Err(HandlerError::Permanent("malformed".into())),
                _ => {
                    self.handled.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            }
        })
    }
}

async fn emit(pool: &PgPool, n: usize, payload: serde_json::Value) {
    for _ in 0..n {
        sqlx::query("INSERT INTO outbox (topic, payload) VALUES ('test.event', $1)")
            .bind(&payload)
            .execute(pool)
            .await
            .expect("emit");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn failures_retry_with_backoff_then_dead_letter_while_others_flow(pool: PgPool) {
    failures_retry_then_dead_letter(pool, false).await;
}

/// The same, with the batch's events in one transaction: a failing event
/// rolls back to its savepoint and the others still commit.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn failures_in_a_shared_transaction_roll_back_alone(pool: PgPool) {
    failures_retry_then_dead_letter(pool, true).await;
}

async fn failures_retry_then_dead_letter(pool: PgPool, together: bool) {
    sqlx::query("CREATE TABLE effects (event_id uuid NOT NULL)").execute(&pool).await.expect("table");
    let flaky = Arc::new(Flaky { handled: AtomicUsize::new(0), together });
    let handlers: Vec<Arc<dyn Handler>> = vec![flaky.clone(), Arc::new(Tagging)];
    let publisher = InboxPublisher::new(&handlers);
    let metrics = ConsumerMetrics::default();
    emit(&pool, 1, serde_json::json!({ "fail": "retry" })).await;
    emit(&pool, 1, serde_json::json!({ "fail": "permanent" })).await;
    emit(&pool, 50, serde_json::json!({})).await;
    relay_all(&pool, &publisher).await;
    let tagging_inbox: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consumer_inbox WHERE consumer = 'tagging'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(tagging_inbox, 0, "only bound consumers receive an event");

    // Attempt after attempt: each failure schedules the next attempt after
    // the exponential backoff (200 ms << attempts), measured from the
    // failing transaction; then the test pulls it forward.
    let clock = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>("SELECT clock_timestamp()")
            .fetch_one(&pool)
            .await
            .expect("clock")
    };
    let mut backoffs = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let before = clock().await;
        embedded::drain(&pool, flaky.as_ref(), &metrics).await.expect("drain");
        let after = clock().await;
        let retrying: Option<(i32, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "SELECT i.attempts, i.next_attempt_at FROM consumer_inbox i JOIN outbox o ON o.id = i.outbox_id
             WHERE o.payload->>'fail' = 'retry'",
        )
        .fetch_optional(&pool)
        .await
        .expect("retrying");
        if let Some((attempts, next)) = retrying {
            let backoff = chrono::Duration::milliseconds(200 << attempts.min(10));
            let scheduled_at = next - backoff;
            assert!(
                scheduled_at >= before - chrono::Duration::milliseconds(5) && scheduled_at <= after,
                "attempt {attempts}: next attempt at {next}, not {backoff} after the failure ({before}..{after})"
            );
            backoffs.push(attempts);
        }
        sqlx::query("UPDATE consumer_inbox SET next_attempt_at = now()").execute(&pool).await.expect("due");
    }
    // (A slow drain may retry within one round once the backoff ran out.)
    assert!(backoffs.len() >= 2 && backoffs.windows(2).all(|w| w[0] < w[1]), "attempts seen: {backoffs:?}");
    assert_eq!(flaky.handled.load(Ordering::Relaxed), 50, "the good events all went through");
    let effects: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT event_id) FROM effects").fetch_one(&pool).await.expect("n");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM effects").fetch_one(&pool).await.expect("n");
    assert_eq!((effects, rows), (50, 50), "each effect exactly once");
    let dead: Vec<(String, i32)> =
        sqlx::query_as("SELECT error, attempts FROM dead_letters ORDER BY attempts")
            .fetch_all(&pool)
            .await
            .expect("dead");
    assert_eq!(dead.len(), 2);
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed WHERE consumer = 'flaky'")
        .fetch_one(&pool)
        .await
        .expect("n");
    assert_eq!(processed, 50, "a failed event is not marked processed");
    assert_eq!(dead[0].1, 1, "a permanent failure is dead-lettered at once: {dead:?}");
    assert_eq!(dead[1].1, MAX_ATTEMPTS, "a retryable one after the delivery limit: {dead:?}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consumer_inbox").fetch_one(&pool).await.expect("n");
    assert_eq!(left, 0);
    assert_eq!(metrics.retried.load(Ordering::Relaxed), (MAX_ATTEMPTS - 1) as u64);
    assert_eq!(metrics.dead_lettered.load(Ordering::Relaxed), 2);
}

/// Never finishes.
struct Stuck;

impl Handler for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }
    fn bindings(&self) -> &'static [&'static str] {
        &["#"]
    }
    fn handle<'a>(
        &'a self,
        _: &'a mut PgConnection,
        _: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(std::future::pending())
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_stuck_consumer_does_not_stall_the_others(pool: PgPool) {
    seed(&pool).await;
    let handlers: Vec<Arc<dyn Handler>> = vec![Arc::new(Stuck), Arc::new(Tagging)];
    let stop = tokio_util::sync::CancellationToken::new();
    let metrics = Arc::new(ConsumerMetrics::default());
    for h in &handlers {
        tokio::spawn(embedded::run(pool.clone(), h.clone(), metrics.clone(), stop.clone()));
    }
    tokio::spawn(relay::run(pool.clone(), Arc::new(InboxPublisher::new(&handlers)), stop.clone()));
    let mut ids = Vec::new();
    for i in 0..20 {
        let (s, _) = sessions::open(
            &pool,
            &Actor::System,
            OpenSession {
                support_type: "billing".into(),
                message: Some(format!("refund {i}")),
                ..Default::default()
            },
        )
        .await
        .expect("open");
        ids.push(s.id);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let tagged: i64 = sqlx::query_scalar("SELECT count(DISTINCT session_id) FROM session_tags")
            .fetch_one(&pool)
            .await
            .expect("count");
        if tagged == 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tagging stalled behind the stuck consumer: {tagged}/20"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.cancel();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_new_session_gets_the_greeting_and_after_hours_notice_once(pool: PgPool) {
    seed(&pool).await;
    // Closed every day: the after-hours notice always applies.
    sqlx::query(
        "UPDATE support_types SET greeting = 'Hi! A person will be with you shortly.',
                business_hours = '{\"open\": {}, \"after_hours_message\": \"We are closed; we reply tomorrow.\"}'",
    )
    .execute(&pool)
    .await
    .expect("greeting");
    let handlers: Vec<Arc<dyn Handler>> = vec![Arc::new(consumers::handlers::automated_chat::AutomatedChat)];
    let publisher = InboxPublisher::new(&handlers);
    let (s, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession { support_type: "billing".into(), ..Default::default() },
    )
    .await
    .expect("open");
    relay_all(&pool, &publisher).await;
    let metrics = ConsumerMetrics::default();
    embedded::drain(&pool, handlers[0].as_ref(), &metrics).await.expect("drain");
    // Delivered again: still one of each.
    sqlx::query("UPDATE outbox SET published_at = NULL WHERE topic = 'session.opened'")
        .execute(&pool)
        .await
        .expect("again");
    relay_all(&pool, &publisher).await;
    embedded::drain(&pool, handlers[0].as_ref(), &metrics).await.expect("drain");
    let bodies: Vec<(String, String)> =
        sqlx::query_as("SELECT sender_kind, body FROM messages WHERE session_id = $1 ORDER BY id")
            .bind(s.id)
            .fetch_all(&pool)
            .await
            .expect("messages");
    assert_eq!(
        bodies,
        [
            ("system".into(), "Hi! A person will be with you shortly.".into()),
            ("system".into(), "We are closed; we reply tomorrow.".into())
        ]
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn heartbeat_loss_sets_away_and_requeues_unanswered_sessions(pool: PgPool) {
    let account = seed(&pool).await;
    sqlx::query("UPDATE support_types SET routing = 'round_robin'").execute(&pool).await.expect("routing");
    let agent: domain::types::AgentId = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, max_concurrent, presence, last_heartbeat_at)
         VALUES ($1, 'dana@acme.test', 'Dana', 'agent', 5, 'online', now()) RETURNING id",
    )
    .bind(account)
    .fetch_one(&pool)
    .await
    .expect("agent");
    sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) SELECT $1, id FROM support_types")
        .bind(agent)
        .execute(&pool)
        .await
        .expect("skill");
    let open = || {
        sessions::open(
            &pool,
            &Actor::System,
            OpenSession { support_type: "billing".into(), ..Default::default() },
        )
    };
    let (answered, _) = open().await.expect("open");
    let (waiting, _) = open().await.expect("open");
    domain::engine::run_pass(&pool).await.expect("assign");
    let dana = domain::actor::Actor::Agent(domain::actor::AgentActor {
        id: agent,
        account_id: Some(domain::types::AccountId(account)),
        role: domain::types::Role::Agent,
    });
    domain::conversation::send(
        &pool,
        &dana,
        answered.id,
        domain::conversation::SendMessage {
            body: "Hello!".into(),
            client_message_id: None,
            ..Default::default()
        },
    )
    .await
    .expect("reply");

    // Within the grace period nothing happens; after it, Dana is away.
    assert_eq!(domain::agents::expire_stale_presence(&pool).await.expect("sweep"), 0);
    sqlx::query("UPDATE agents SET last_heartbeat_at = now() - interval '61 seconds'")
        .execute(&pool)
        .await
        .expect("age");
    assert_eq!(domain::agents::expire_stale_presence(&pool).await.expect("sweep"), 1);

    let handlers: Vec<Arc<dyn Handler>> = vec![Arc::new(consumers::handlers::presence::Presence)];
    relay_all(&pool, &InboxPublisher::new(&handlers)).await;
    embedded::drain(&pool, handlers[0].as_ref(), &ConsumerMetrics::default()).await.expect("drain");
    let state: Vec<(domain::types::SessionId, String, Option<domain::types::AgentId>)> =
        sqlx::query_as("SELECT id, status, owner_id FROM sessions ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .expect("s");
    assert_eq!(state.len(), 2);
    for (id, status, owner) in state {
        if id == answered.id {
            assert_eq!((status.as_str(), owner), ("active", Some(agent)), "the answered session stays");
        } else {
            assert_eq!(id, waiting.id);
            assert_eq!((status.as_str(), owner), ("queued", None), "the unanswered one is requeued");
        }
    }
    let reason: Option<String> =
        sqlx::query_scalar("SELECT end_reason FROM assignments WHERE session_id = $1")
            .bind(waiting.id)
            .fetch_one(&pool)
            .await
            .expect("assignment");
    assert_eq!(reason.as_deref(), Some("away"));
}

/// Rows of each consumer's inbox, by topic and sender ("" when not a
/// message), oldest first.
async fn inbox_of(pool: &PgPool, consumer: &str) -> Vec<(String, String)> {
    sqlx::query!(
        r#"SELECT o.topic AS "topic!", coalesce(o.payload->>'sender_kind', '') AS "sender!"
             FROM consumer_inbox i JOIN outbox o ON o.id = i.outbox_id
            WHERE i.consumer = $1 ORDER BY o.id"#,
        consumer
    )
    .fetch_all(pool)
    .await
    .expect("inbox")
    .into_iter()
    .map(|r| (r.topic, r.sender))
    .collect()
}

/// The relay delivers an event only to the consumers that may act on it:
/// tagging reads customers' words, the automated chat greets only in a type
/// with a greeting (or business hours), and notifications take their own
/// topics and what a webhook of the account subscribes to.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_relay_delivers_only_what_a_consumer_can_act_on(pool: PgPool) {
    use consumers::handlers::{automated_chat::AutomatedChat, notifications::Notifications};
    let account = seed(&pool).await;
    sqlx::query!(
        "INSERT INTO support_types (account_id, slug, name, routing, greeting)
         VALUES ($1, 'welcome', 'Welcome', 'manual', 'Hello! We are here.')",
        account
    )
    .execute(&pool)
    .await
    .expect("type with a greeting");
    let handlers: Vec<Arc<dyn Handler>> =
        vec![Arc::new(Tagging), Arc::new(AutomatedChat), Arc::new(Notifications::new(None))];
    let publisher = InboxPublisher::new(&handlers);
    let open = |slug: &'static str| {
        let pool = pool.clone();
        async move {
            sessions::open(
                &pool,
                &Actor::System,
                OpenSession { support_type: slug.into(), message: Some("hi".into()), ..Default::default() },
            )
            .await
            .expect("open")
            .0
            .id
        }
    };
    let quiet = open("billing").await;
    open("welcome").await;
    let mut conn = pool.acquire().await.expect("conn");
    domain::conversation::post_system_message(&mut conn, quiet, "Your order shipped.", "shipped")
        .await
        .expect("system message");
    relay_all(&pool, &publisher).await;
    let opened = ("session.opened".to_owned(), String::new());
    let customer = ("message.created".to_owned(), "customer".to_owned());
    assert_eq!(
        inbox_of(&pool, "tagging").await,
        [opened.clone(), customer.clone(), opened.clone(), customer.clone()]
    );
    assert_eq!(inbox_of(&pool, "automated_chat").await, [opened], "the greeting type's opening only");
    assert_eq!(inbox_of(&pool, "notifications").await, [], "no webhook, no assignment");

    // A webhook on messages: notifications now takes them, the system's too.
    sqlx::query!(
        "INSERT INTO webhooks (account_id, url, events, secret)
         VALUES ($1, 'https://hooks.example.com/in', '{message.*}', decode(repeat('ab', 32), 'hex'))",
        account
    )
    .execute(&pool)
    .await
    .expect("webhook");
    domain::conversation::post_system_message(&mut conn, quiet, "It arrives tomorrow.", "tomorrow")
        .await
        .expect("system message");
    relay_all(&pool, &publisher).await;
    assert_eq!(inbox_of(&pool, "notifications").await, [("message.created".to_owned(), "system".to_owned())]);
    assert_eq!(inbox_of(&pool, "tagging").await.len(), 4, "tagging still skips the system's words");
}
