//! The RabbitMQ transport against a real broker (127.0.0.1:5672, guest) and
//! a real PostgreSQL. Each test runs in its own vhost, deleted at the end.

#![allow(clippy::unwrap_used)]

use std::{
    future::Future,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use consumers::{
    BoxFuture, Handler, HandlerError,
    amqp::{self, AmqpConsumer, AmqpPublisher},
    metrics::ConsumerMetrics,
    relay,
};
use domain::outbox::Event;
use lapin::{
    Channel, Connection, ConnectionProperties,
    options::{BasicGetOptions, QueueDeclareOptions},
    types::FieldTable,
};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------- helpers

/// A throwaway vhost; deleted on drop.
struct Vhost {
    name: String,
    url: String,
}

fn rabbitmqctl(args: &[&str]) -> String {
    let out = std::process::Command::new("rabbitmqctl").args(args).output().expect("run rabbitmqctl");
    assert!(out.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn rabbitmqctl_async(args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || rabbitmqctl(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("rabbitmqctl task")
}

impl Vhost {
    async fn new() -> Self {
        let name = format!("sbtest-{}", uuid::Uuid::new_v4());
        rabbitmqctl_async(vec!["add_vhost".into(), name.clone()]).await;
        rabbitmqctl_async(vec![
            "set_permissions".into(),
            "-p".into(),
            name.clone(),
            "guest".into(),
            ".*".into(),
            ".*".into(),
            ".*".into(),
        ])
        .await;
        let url = format!("amqp://guest:guest@127.0.0.1:5672/{name}");
        Self { name, url }
    }

    /// Force-closes every connection in the vhost, as a network fault would.
    async fn close_all_connections(&self) {
        rabbitmqctl_async(vec![
            "close_all_connections".into(),
            "--vhost".into(),
            self.name.clone(),
            "test fault".into(),
        ])
        .await;
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl").args(["delete_vhost", &self.name]).output();
    }
}

const PREFIX: &str = "sbtest.";

/// A handler whose effect is a row in `effects` (no unique constraint, so a
/// duplicate effect would show). Events whose payload has `"poison": true`
/// fail retryably, `"permanent": true` fail permanently; `hang` makes it
/// never finish.
struct Effects {
    name: &'static str,
    hang: bool,
}

impl Handler for Effects {
    fn name(&self) -> &'static str {
        self.name
    }
    fn bindings(&self) -> &'static [&'static str] {
        &["test.*"]
    }
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if self.hang {
                std::future::pending::<()>().await;
            }
            if event.payload.get("poison").is_some() {
                return Err(HandlerError::Retry("poison".into()));
            }
            if event.payload.get("permanent").is_some() {
                return Err(HandlerError::Permanent("malformed".into()));
            }
            sqlx::query("INSERT INTO effects (consumer, event_id) VALUES ($1, $2)")
                .bind(self.name)
                .bind(event.event_id)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
    }
}

fn handler(name: &'static str) -> Arc<dyn Handler> {
    Arc::new(Effects { name, hang: false })
}

async fn setup(pool: &PgPool) {
    sqlx::query("CREATE TABLE effects (consumer text NOT NULL, event_id uuid NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
}

/// Inserts `n` plain events, numbered from `from`.
async fn insert_events(pool: &PgPool, n: i64) {
    sqlx::query(
        "INSERT INTO outbox (topic, payload) SELECT 'test.created', jsonb_build_object('n', g) FROM generate_series(1, $1) g",
    )
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

async fn insert_event(pool: &PgPool, payload: serde_json::Value) -> uuid::Uuid {
    sqlx::query_scalar("INSERT INTO outbox (topic, payload) VALUES ('test.created', $1) RETURNING event_id")
        .bind(payload)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// (total effect rows, distinct events) for `consumer`.
async fn effects(pool: &PgPool, consumer: &str) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM effects WHERE consumer = $1")
        .bind(consumer)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn unpublished(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn relay_all(pool: &PgPool, publisher: &AmqpPublisher) -> usize {
    let mut total = 0;
    loop {
        let n = relay::relay_batch(pool, publisher).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Running {
    metrics: Arc<ConsumerMetrics>,
    connected: Arc<std::sync::atomic::AtomicBool>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("consumer stops")
            .expect("consumer task");
    }
}

fn start(vhost: &Vhost, pool: &PgPool, handler: Arc<dyn Handler>, prefetch: u16) -> Running {
    let metrics = Arc::new(ConsumerMetrics::default());
    let consumer = AmqpConsumer::new(&vhost.url, PREFIX, pool.clone(), handler, metrics.clone(), prefetch);
    let connected = consumer.connected.clone();
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move { consumer.run(token).await });
    Running { metrics, connected, stop, task }
}

async fn test_channel(vhost: &Vhost) -> (Connection, Channel) {
    let conn = Connection::connect(&vhost.url, ConnectionProperties::default()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    (conn, ch)
}

async fn message_count(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(queue.into(), QueueDeclareOptions::durable().passive(), FieldTable::default())
        .await
        .unwrap()
        .message_count()
}

// ------------------------------------------------------------------ tests

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn topology_is_declared_idempotently(pool: PgPool) {
    let _ = pool;
    let vhost = Vhost::new().await;
    let (_conn, ch) = test_channel(&vhost).await;
    let handlers = vec![handler("alpha"), handler("beta")];
    amqp::declare_topology(&ch, PREFIX, &handlers).await.unwrap();
    amqp::declare_topology(&ch, PREFIX, &handlers).await.unwrap();
    for name in ["alpha", "beta"] {
        for q in [amqp::queue(PREFIX, name), amqp::retry_queue(PREFIX, name), amqp::dead_queue(PREFIX, name)]
        {
            assert_eq!(message_count(&ch, &q).await, 0, "{q} exists");
        }
    }
    let listed = rabbitmqctl_async(vec![
        "list_queues".into(),
        "-p".into(),
        vhost.name.clone(),
        "name".into(),
        "type".into(),
        "arguments".into(),
    ])
    .await;
    let line = listed.lines().find(|l| l.starts_with("sbtest.alpha\t")).expect("alpha listed");
    assert!(line.contains("quorum"), "{line}");
    assert!(line.contains("x-delivery-limit"), "{line}");
    assert!(line.contains("sbtest.dlx"), "{line}");
    let node = amqp::declare_node_queue(&ch, PREFIX, "node-1").await.unwrap();
    assert_eq!(node, "sbtest.node.node-1");
    let bindings = rabbitmqctl_async(vec![
        "list_bindings".into(),
        "-p".into(),
        vhost.name.clone(),
        "source_name".into(),
        "destination_name".into(),
        "routing_key".into(),
    ])
    .await;
    assert!(bindings.lines().any(|l| l == "sbtest.events\tsbtest.node.node-1\t#"), "{bindings}");
    assert!(bindings.lines().any(|l| l == "sbtest.events\tsbtest.alpha\ttest.*"), "{bindings}");
    assert!(bindings.lines().any(|l| l == "sbtest.dlx\tsbtest.alpha.dead\talpha"), "{bindings}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn relay_and_consume_end_to_end(pool: PgPool) {
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let h = handler("e2e");
    insert_events(&pool, 500).await;
    let publisher = AmqpPublisher::new(&vhost.url, PREFIX, vec![h.clone()]);
    let t0 = Instant::now();
    assert_eq!(relay_all(&pool, &publisher).await, 500);
    assert_eq!(unpublished(&pool).await, 0);
    let relayed = t0.elapsed();
    let consumer = start(&vhost, &pool, h, 50);
    wait_for("500 effects", Duration::from_secs(60), || async { effects(&pool, "e2e").await.1 == 500 }).await;
    eprintln!("e2e: relayed 500 in {relayed:?}, consumed in {:?}", t0.elapsed() - relayed);
    assert!(consumer.connected.load(Ordering::Relaxed));
    let m = consumer.metrics.clone();
    consumer.stop().await;
    assert_eq!(effects(&pool, "e2e").await, (500, 500));
    assert_eq!(m.processed.load(Ordering::Relaxed), 500);
    assert_eq!(m.failed.load(Ordering::Relaxed), 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_loss_or_duplicate_under_connection_faults(pool: PgPool) {
    const N: i64 = 10_000;
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let h = handler("faults");
    let publisher = Arc::new(AmqpPublisher::new(&vhost.url, PREFIX, vec![h.clone()]));
    // Declare the queue before anything is published.
    let (_conn, ch) = test_channel(&vhost).await;
    amqp::declare_topology(&ch, PREFIX, std::slice::from_ref(&h)).await.unwrap();
    insert_events(&pool, N).await;
    let t0 = Instant::now();
    let relay_stop = CancellationToken::new();
    let relay_task = tokio::spawn(relay::run(pool.clone(), publisher, relay_stop.clone()));
    let consumer = start(&vhost, &pool, h, 100);
    for k in 1..=3 {
        let floor = k * N / 4;
        wait_for(&format!("{floor} effects"), Duration::from_secs(120), || async {
            effects(&pool, "faults").await.1 >= floor
        })
        .await;
        vhost.close_all_connections().await;
        eprintln!("faults: closed all connections at {floor}+ effects ({:?})", t0.elapsed());
    }
    wait_for("all effects", Duration::from_secs(120), || async { effects(&pool, "faults").await.1 == N })
        .await;
    let elapsed = t0.elapsed();
    wait_for("outbox drained", Duration::from_secs(30), || async { unpublished(&pool).await == 0 }).await;
    relay_stop.cancel();
    relay_task.await.unwrap();
    // (The faults closed the test's own connection too.)
    let (_conn, ch) = test_channel(&vhost).await;
    // Let redeliveries of anything unacked at the last fault arrive.
    wait_for("queue drained", Duration::from_secs(30), || async {
        message_count(&ch, &amqp::queue(PREFIX, "faults")).await == 0
    })
    .await;
    let m = consumer.metrics.clone();
    consumer.stop().await;
    let (total, distinct) = effects(&pool, "faults").await;
    eprintln!(
        "faults: {N} events in {elapsed:?}; processed {}, duplicates skipped {}",
        m.processed.load(Ordering::Relaxed),
        m.duplicates.load(Ordering::Relaxed)
    );
    assert_eq!(distinct, N, "missing effects");
    assert_eq!(total, N, "duplicated effects");
    assert_eq!(m.processed.load(Ordering::Relaxed), N as u64);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn poison_message_is_dead_lettered_after_five_deliveries(pool: PgPool) {
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let h = handler("poisoned");
    insert_events(&pool, 100).await;
    let poison = insert_event(&pool, serde_json::json!({"poison": true})).await;
    let permanent = insert_event(&pool, serde_json::json!({"permanent": true})).await;
    insert_events(&pool, 100).await;
    let publisher = AmqpPublisher::new(&vhost.url, PREFIX, vec![h.clone()]);
    relay_all(&pool, &publisher).await;
    let t0 = Instant::now();
    let consumer = start(&vhost, &pool, h, 10);
    wait_for("200 good effects", Duration::from_secs(30), || async {
        effects(&pool, "poisoned").await.1 == 200
    })
    .await;
    let good = t0.elapsed();
    let (_conn, ch) = test_channel(&vhost).await;
    let dead = amqp::dead_queue(PREFIX, "poisoned");
    wait_for("2 dead letters", Duration::from_secs(60), || async { message_count(&ch, &dead).await == 2 })
        .await;
    eprintln!("poison: 200 good events done in {good:?}, both dead-lettered after {:?}", t0.elapsed());
    let m = consumer.metrics.clone();
    consumer.stop().await;
    assert_eq!(effects(&pool, "poisoned").await, (200, 200));
    assert_eq!(m.retried.load(Ordering::Relaxed), 4, "4 retries, then dead on the 5th delivery");
    assert_eq!(m.failed.load(Ordering::Relaxed), 6);
    assert_eq!(m.dead_lettered.load(Ordering::Relaxed), 2);
    let rows: Vec<(uuid::Uuid, i32)> = sqlx::query_as(
        "SELECT event_id, attempts FROM dead_letters WHERE consumer = 'poisoned' ORDER BY attempts",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows, vec![(permanent, 1), (poison, 5)]);
    // The dead-lettered messages are the events themselves.
    let mut seen = Vec::new();
    while let Some(msg) = ch.basic_get(dead.as_str().into(), BasicGetOptions { no_ack: true }).await.unwrap()
    {
        let event: Event = serde_json::from_slice(&msg.delivery.data).unwrap();
        seen.push(event.event_id);
    }
    seen.sort();
    let mut want = vec![poison, permanent];
    want.sort();
    assert_eq!(seen, want);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_hanging_consumer_does_not_stall_another(pool: PgPool) {
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let hanging: Arc<dyn Handler> = Arc::new(Effects { name: "hanging", hang: true });
    let healthy = handler("healthy");
    insert_events(&pool, 1000).await;
    let publisher = AmqpPublisher::new(&vhost.url, PREFIX, vec![hanging.clone(), healthy.clone()]);
    relay_all(&pool, &publisher).await;
    let t0 = Instant::now();
    let stuck = start(&vhost, &pool, hanging, 10);
    let ok = start(&vhost, &pool, healthy, 50);
    wait_for("1000 effects of the healthy consumer", Duration::from_secs(60), || async {
        effects(&pool, "healthy").await.1 == 1000
    })
    .await;
    let took = t0.elapsed();
    eprintln!(
        "isolation: healthy consumer did 1000 events in {took:?} ({:.0}/s)",
        1000.0 / took.as_secs_f64()
    );
    assert_eq!(effects(&pool, "hanging").await, (0, 0));
    ok.stop().await;
    stuck.task.abort();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn published_but_unmarked_batch_produces_no_duplicate_effect(pool: PgPool) {
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let h = handler("crashy");
    insert_events(&pool, 150).await;
    let publisher = AmqpPublisher::new(&vhost.url, PREFIX, vec![h.clone()]);
    // The relay publishes a batch, then "crashes" before marking it.
    {
        let mut tx = pool.begin().await.unwrap();
        let events = sqlx::query_as::<_, Event>(
            "SELECT id, event_id, topic, account_id, session_id, payload, created_at FROM outbox
             WHERE published_at IS NULL ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        relay::Publisher::publish(&publisher, &mut tx, &events).await.unwrap();
        tx.rollback().await.unwrap();
    }
    assert_eq!(unpublished(&pool).await, 150);
    // The next relay run publishes everything again.
    assert_eq!(relay_all(&pool, &publisher).await, 150);
    let consumer = start(&vhost, &pool, h, 20);
    wait_for("every copy consumed", Duration::from_secs(60), || async {
        let m = &consumer.metrics;
        m.processed.load(Ordering::Relaxed) + m.duplicates.load(Ordering::Relaxed) == 300
    })
    .await;
    let m = consumer.metrics.clone();
    consumer.stop().await;
    assert_eq!(effects(&pool, "crashy").await, (150, 150));
    assert_eq!(m.duplicates.load(Ordering::Relaxed), 150);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn committed_but_unpublished_events_are_delivered_when_the_relay_starts(pool: PgPool) {
    setup(&pool).await;
    let vhost = Vhost::new().await;
    let h = handler("late");
    // The events committed while no relay ran (it "crashed" before publishing).
    insert_events(&pool, 50).await;
    let consumer = start(&vhost, &pool, h.clone(), 20);
    wait_for("consumer connected", Duration::from_secs(10), || async {
        consumer.connected.load(Ordering::Relaxed)
    })
    .await;
    let stop = CancellationToken::new();
    let publisher = Arc::new(AmqpPublisher::new(&vhost.url, PREFIX, vec![h]));
    let relay_task = tokio::spawn(relay::run(pool.clone(), publisher, stop.clone()));
    wait_for("50 effects", Duration::from_secs(30), || async { effects(&pool, "late").await.1 == 50 }).await;
    stop.cancel();
    relay_task.await.unwrap();
    consumer.stop().await;
    assert_eq!(effects(&pool, "late").await, (50, 50));
    assert_eq!(unpublished(&pool).await, 0);
}
