//! The running engine: it reacts to database notifications (agent online,
//! capacity freed), and its SLA timers fire from stored timestamps, so they
//! work after a restart.

mod common;

use std::time::Duration;

use common::*;
use domain::{engine, sessions, sla, types::*};
use sqlx::PgPool;
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// How long a wait may take before the test counts as hung. It only stops a
/// hung test; nothing here measures how fast the engine is.
const HUNG: Duration = Duration::from_secs(30);

/// A running engine that counts the assignment passes it has finished.
struct Engine {
    stop: CancellationToken,
    passes: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Engine {
    fn start(pool: &PgPool, sweep: Duration) -> Self {
        let stop = CancellationToken::new();
        let (count, passes) = watch::channel(0);
        let task = tokio::spawn(engine::run_observed(pool.clone(), sweep, stop.clone(), move |_| {
            count.send_modify(|n| *n += 1)
        }));
        Self { stop, passes, task }
    }

    fn passes(&self) -> u64 {
        *self.passes.borrow()
    }

    /// Waits until the engine has finished more than `n` passes.
    async fn finished_more_than(&mut self, n: u64) {
        tokio::time::timeout(HUNG, self.passes.wait_for(|p| *p > n))
            .await
            .unwrap_or_else(|_| panic!("the engine finished no pass after pass {n}"))
            .expect("engine running");
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("engine task");
    }
}

async fn owner(pool: &PgPool, s: SessionId) -> Option<AgentId> {
    sqlx::query_scalar("SELECT owner_id FROM sessions WHERE id = $1")
        .bind(s)
        .fetch_one(pool)
        .await
        .expect("owner")
}

/// Polls `probe` until it answers `want`; after [`HUNG`], the last answer.
async fn wait_for<T: PartialEq + std::fmt::Debug>(
    mut probe: impl AsyncFnMut() -> T,
    want: T,
) -> Result<(), T> {
    let deadline = tokio::time::Instant::now() + HUNG;
    loop {
        let got = probe().await;
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(got);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_waiting_session_is_taken_when_room_appears_between_sweeps(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 1, false, &[ty]).await;
    let first = open(&pool, "billing").await;
    let second = open(&pool, "billing").await;
    // The sweep is an hour away: after the pass at start, only a database
    // notification can make the engine pass again.
    let mut engine = Engine::start(&pool, Duration::from_secs(3600));
    // The pass at start (listening already) finds nobody online.
    engine.finished_more_than(0).await;
    assert_eq!(owner(&pool, first.id).await, None);

    // the agent goes online
    let before = engine.passes();
    set_online(&pool, a, true).await;
    let took = wait_for(async || owner(&pool, first.id).await, Some(a)).await;
    assert!(took.is_ok(), "not assigned after the agent went online: {took:?}");
    engine.finished_more_than(before).await;
    assert_eq!(owner(&pool, second.id).await, None, "the limit of 1 holds");

    // the agent frees capacity by resolving: the next waiting session follows
    sessions::resolve(&pool, &as_agent(a, acc, Role::Agent), first.id, None).await.expect("resolve");
    let took = wait_for(async || owner(&pool, second.id).await, Some(a)).await;
    assert!(took.is_ok(), "not assigned after capacity freed: {took:?}");

    // a session opened while someone has room is taken without a sweep
    let b = agent(&pool, acc, "b@acme.test", Role::Agent, 1, true, &[ty]).await;
    let third = open(&pool, "billing").await;
    let took = wait_for(async || owner(&pool, third.id).await, Some(b)).await;
    assert!(took.is_ok(), "not assigned after opening: {took:?}");
    engine.stop().await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sla_timers_fire_after_a_restart(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let tier1 = support_type(&pool, acc, "tier1", Routing::Manual).await;
    let tier2 = support_type(&pool, acc, "tier2", Routing::Manual).await;
    sqlx::query(
        "UPDATE support_types SET queue_sla_secs = 60, escalation_target_id = $2, escalation_priority_bump = 5 WHERE id = $1",
    )
    .bind(tier1)
    .bind(tier2)
    .execute(&pool)
    .await
    .expect("queue sla");
    let chat = support_type(&pool, acc, "chat", Routing::RoundRobin).await;
    sqlx::query("UPDATE support_types SET first_response_sla_secs = 30 WHERE id = $1")
        .bind(chat)
        .execute(&pool)
        .await
        .expect("fr sla");
    let slow = agent(&pool, acc, "slow@acme.test", Role::Agent, 3, true, &[chat]).await;

    // Sessions that breached their SLAs while no engine was running.
    let waiting = open(&pool, "tier1").await;
    sqlx::query("UPDATE sessions SET queued_at = now() - interval '5 minutes' WHERE id = $1")
        .bind(waiting.id)
        .execute(&pool)
        .await
        .expect("age");
    let unanswered = open(&pool, "chat").await;
    assert_eq!(owner_now(&pool, &unanswered).await, Some(slow));
    sqlx::query("UPDATE assignments SET started_at = now() - interval '10 minutes' WHERE session_id = $1")
        .bind(unanswered.id)
        .execute(&pool)
        .await
        .expect("age");
    let fast = agent(&pool, acc, "fast@acme.test", Role::Agent, 3, true, &[chat]).await;

    // A fresh engine (as after a restart) finds both on its first sweep.
    let engine = Engine::start(&pool, Duration::from_millis(200));
    let moved = wait_for(
        async || {
            sqlx::query_as::<_, (SupportTypeId, i32, i32)>(
                "SELECT support_type_id, priority, escalation_count FROM sessions WHERE id = $1",
            )
            .bind(waiting.id)
            .fetch_one(&pool)
            .await
            .expect("session")
        },
        (tier2, 5, 1),
    )
    .await;
    assert!(moved.is_ok(), "queue SLA did not escalate: {moved:?}");
    let requeued = wait_for(async || owner(&pool, unanswered.id).await, Some(fast)).await;
    assert!(requeued.is_ok(), "first-response SLA did not reassign: {requeued:?}");
    let history: Vec<(AgentId, String, Option<String>)> = sqlx::query_as(
        "SELECT agent_id, reason, end_reason FROM assignments WHERE session_id = $1 ORDER BY id",
    )
    .bind(unanswered.id)
    .fetch_all(&pool)
    .await
    .expect("history");
    assert_eq!(history, [(slow, "auto".into(), Some("sla".into())), (fast, "auto".into(), None)]);

    // Escalation fires once per stint in the queue, not on every sweep: with
    // the engine stopped, run a sweep's SLA timers by hand, twice.
    engine.stop().await;
    for _ in 0..2 {
        assert_eq!(
            sla::run_due(&pool).await.expect("sweep"),
            sla::SlaReport::default(),
            "nothing more is due"
        );
    }
    let count: i32 = sqlx::query_scalar("SELECT escalation_count FROM sessions WHERE id = $1")
        .bind(waiting.id)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}
