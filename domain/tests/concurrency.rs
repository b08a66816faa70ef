//! Invariants 1 and 2 under load: 200 concurrent assigners and openers, 50
//! agents with small limits, 5,000 sessions. A SQL audit of the assignment
//! history then finds no session with two owners and no agent over their
//! limit at any instant. A second test bypasses the application and shows
//! the constraints alone reject violations.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use common::*;
use domain::{
    actor::Actor,
    engine,
    sessions::{self, OpenSession, ReassignTarget},
    types::*,
};
use sqlx::{PgPool, postgres::PgPoolOptions};

const AGENTS: usize = 50;
const SESSIONS: usize = 5_000;
const WORKERS: usize = 200;

/// Whether an engine pass that held `session` while this worker tried it
/// assigned it: waits for that pass's commit.
async fn taken_by_a_pass(pool: &PgPool, session: SessionId) -> bool {
    let status: String = sqlx::query_scalar("SELECT status FROM sessions WHERE id = $1 FOR SHARE")
        .bind(session)
        .fetch_one(pool)
        .await
        .expect("status");
    status == "active"
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_assigners_never_break_limits_or_ownership(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let types = [
        support_type(&pool, acc, "rr", Routing::RoundRobin).await,
        support_type(&pool, acc, "ll", Routing::LeastLoaded).await,
    ];
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let limit = 1 + (i % 3) as i32;
        agents.push(agent(&pool, acc, &format!("a{i}@acme.test"), Role::Agent, limit, true, &types).await);
    }
    // A wide pool so that 200 workers really run at once.
    let wide = PgPoolOptions::new()
        .max_connections(80)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .expect("pool");
    let opened = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (pool, opened) = (wide.clone(), opened.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = opened.fetch_add(1, Ordering::Relaxed);
                if n >= SESSIONS {
                    break;
                }
                let slug = if n % 2 == 0 { "rr" } else { "ll" };
                let (s, _) = sessions::open(
                    &pool,
                    &Actor::System,
                    OpenSession { support_type: slug.into(), ..Default::default() },
                )
                .await
                .expect("open");
                // Every worker assigns what it opened (unless the open or a
                // pass already did), then frees the agent again (resolve,
                // requeue or abandon), and some run whole engine passes, so
                // openers, assigners, resolvers and passes race.
                let assigned = s.owner_id.is_some()
                    || engine::assign_one(&pool, s.id).await.expect("assign").is_some()
                    || taken_by_a_pass(&pool, s.id).await;
                if assigned {
                    let freed = match w % 3 {
                        0 => sessions::resolve(&pool, &Actor::System, s.id, None).await,
                        1 => {
                            sessions::reassign(
                                &pool,
                                &Actor::System,
                                s.id,
                                ReassignTarget::Queue,
                                AssignReason::Transfer,
                            )
                            .await
                        }
                        _ => sessions::abandon(&pool, &Actor::System, s.id).await,
                    };
                    // A concurrent pass may have moved it on already.
                    if let Err(e) = freed {
                        assert!(matches!(e.code(), "session_closed"), "unexpected: {e:?}");
                    }
                }
                if w % 4 == 0 {
                    engine::run_pass(&pool).await.expect("pass");
                    // Sessions a pass assigned later have no worker of their
                    // own: free one at random, racing everybody else.
                    let held: Option<SessionId> = sqlx::query_scalar(
                        "SELECT id FROM sessions WHERE status = 'active' ORDER BY random() LIMIT 1",
                    )
                    .fetch_optional(&pool)
                    .await
                    .expect("held");
                    if let Some(held) = held
                        && let Err(e) = sessions::resolve(&pool, &Actor::System, held, None).await
                    {
                        assert!(matches!(e.code(), "session_closed"), "unexpected: {e:?}");
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    while engine::run_pass(&wide).await.expect("drain") > 0 {}

    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.expect("count");
    assert_eq!(total, SESSIONS as i64);
    let assignments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM assignments").fetch_one(&pool).await.expect("count");
    assert!(assignments > 1_000, "the test must exercise assignment: only {assignments}");

    // Audit 1: no session ever had two overlapping owners.
    let double_owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments x JOIN assignments y
           ON x.session_id = y.session_id AND x.id < y.id
          AND tstzrange(x.started_at, COALESCE(x.ended_at, 'infinity')) &&
              tstzrange(y.started_at, COALESCE(y.ended_at, 'infinity'))",
    )
    .fetch_one(&pool)
    .await
    .expect("audit owners");
    assert_eq!(double_owned, 0, "sessions with two open owners");

    // Audit 2: at the start of every assignment, the agent held at most their limit.
    let over_limit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments x JOIN agents a ON a.id = x.agent_id
          WHERE (SELECT count(*) FROM assignments y
                  WHERE y.agent_id = x.agent_id
                    AND tstzrange(y.started_at, COALESCE(y.ended_at, 'infinity')) @> x.started_at) > a.max_concurrent",
    )
    .fetch_one(&pool)
    .await
    .expect("audit limits");
    assert_eq!(over_limit, 0, "moments where an agent was over their limit");

    // The counter the constraint checks agrees with the history.
    let drift: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents a WHERE a.active_count <>
           (SELECT count(*) FROM assignments y WHERE y.agent_id = a.id AND y.ended_at IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .expect("audit counter");
    assert_eq!(drift, 0);
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s WHERE s.owner_id IS DISTINCT FROM
           (SELECT agent_id FROM assignments y WHERE y.session_id = s.id AND y.ended_at IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .expect("audit owner column");
    assert_eq!(mismatched, 0, "sessions.owner_id disagrees with the open assignment");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_constraints_alone_reject_violations(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "rr", Routing::Manual).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 2, true, &[ty]).await;
    let b = agent(&pool, acc, "b@acme.test", Role::Agent, 2, true, &[ty]).await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(open(&pool, "rr").await.id);
    }

    // 50 concurrent raw inserts for one agent with a limit of 2: the CHECK on
    // the trigger-maintained counter lets exactly 2 through.
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            sqlx::query("INSERT INTO assignments (session_id, agent_id, reason) VALUES ($1, $2, 'manual')")
                .bind(id)
                .bind(a)
                .execute(&pool)
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(
                e.as_database_error().and_then(|d| d.constraint().map(str::to_owned)).as_deref(),
                Some("agents_within_limit")
            ),
        }
    }
    assert_eq!(ok, 2);

    // A second open owner for a session: the partial unique index says no.
    let owned: SessionId =
        sqlx::query_scalar("SELECT session_id FROM assignments WHERE ended_at IS NULL LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("owned");
    let err = sqlx::query("INSERT INTO assignments (session_id, agent_id, reason) VALUES ($1, $2, 'manual')")
        .bind(owned)
        .bind(b)
        .execute(&pool)
        .await
        .expect_err("second owner");
    assert_eq!(
        err.as_database_error().and_then(|d| d.constraint()),
        Some("assignments_one_open_per_session")
    );

    // Raising the counter past the limit directly is refused too.
    let err = sqlx::query("UPDATE agents SET active_count = 3 WHERE id = $1")
        .bind(a)
        .execute(&pool)
        .await
        .expect_err("over");
    assert_eq!(err.as_database_error().and_then(|d| d.constraint()), Some("agents_within_limit"));

    // An active session must have an owner, and only an active one.
    let err = sqlx::query("UPDATE sessions SET status = 'active' WHERE id = $1")
        .bind(ids[49])
        .execute(&pool)
        .await
        .expect_err("ownerless");
    assert_eq!(err.as_database_error().and_then(|d| d.constraint()), Some("sessions_owner_iff_active"));
}
