//! The live queue monitor (who may watch, what it counts) and the bell's
//! side of notifications (the live event, the unread count, marking all
//! read), against a fresh database per test.
#![cfg(feature = "server")]

mod common;

use common::*;
use domain::{actor::Actor, monitor, notifications, types::*};
use sqlx::PgPool;

async fn backdate(pool: &PgPool, session: SessionId, queued_secs_ago: f64) {
    sqlx::query!(
        "UPDATE sessions SET queued_at = now() - make_interval(secs => $2) WHERE id = $1",
        session.0,
        queued_secs_ago
    )
    .execute(pool)
    .await
    .expect("backdate");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_monitor_counts_waits_breaches_and_staff_of_the_watchers_account(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let globex = account(&pool, "globex").await;
    let billing = support_type(&pool, acme, "billing", Routing::Manual).await;
    let returns = support_type(&pool, acme, "returns", Routing::Manual).await;
    support_type(&pool, globex, "globex-billing", Routing::Manual).await;
    sqlx::query!("UPDATE support_types SET queue_sla_secs = 60 WHERE id = $1", billing.0)
        .execute(&pool)
        .await
        .expect("sla");
    let supervisor = agent(&pool, acme, "sue@acme.test", Role::Supervisor, 5, true, &[]).await;
    let dana = agent(&pool, acme, "dana@acme.test", Role::Agent, 3, true, &[billing]).await;
    let eli = agent(&pool, acme, "eli@acme.test", Role::Agent, 2, false, &[billing, returns]).await;
    sqlx::query!("UPDATE agents SET presence = 'away', presence_reason = 'lunch' WHERE id = $1", eli.0)
        .execute(&pool)
        .await
        .expect("away");
    agent(&pool, acme, "bot@acme.test", Role::Bot, 50, true, &[billing]).await;
    agent(&pool, globex, "hal@globex.test", Role::Agent, 3, true, &[]).await;

    // Billing: one waiting past its SLA (breached 30 s ago), one within
    // it, one that breached two hours ago (not in the hour), one assigned
    // after a 90 s wait in the hour (a breach).
    let late = open(&pool, "billing").await;
    backdate(&pool, late.id, 90.0).await;
    let fresh = open(&pool, "billing").await;
    let ancient = open(&pool, "billing").await;
    backdate(&pool, ancient.id, 3.0 * 3600.0).await;
    let served = open(&pool, "billing").await;
    sqlx::query!(
        "UPDATE sessions SET status = 'active', owner_id = $2, queued_at = now() - interval '100 seconds',
                             assigned_at = now() - interval '10 seconds' WHERE id = $1",
        served.id.0,
        dana.0
    )
    .execute(&pool)
    .await
    .expect("served");
    sqlx::query!("UPDATE agents SET active_count = 1 WHERE id = $1", dana.0)
        .execute(&pool)
        .await
        .expect("load");
    open(&pool, "returns").await;
    open(&pool, "globex-billing").await;

    let m = monitor::snapshot(&pool, &as_agent(supervisor, acme, Role::Supervisor), None)
        .await
        .expect("supervisor watches");
    let line = |t: SupportTypeId| m.types.iter().find(|l| l.id == t).expect("line").clone();
    let b = line(billing);
    assert_eq!((b.waiting, b.queue_breaches_hour, b.first_response_breaches_hour), (3, 2, 0));
    assert!(b.oldest_queued_at.is_some_and(|at| (m.at - at).num_seconds() >= 3 * 3600 - 5));
    assert_eq!((b.online, b.away, b.offline), (1, 1, 0), "people only, by presence");
    assert!(monitor::Monitor::over_sla(&b, m.at));
    let r = line(returns);
    assert_eq!((r.waiting, r.queue_breaches_hour, r.online, r.away), (1, 0, 0, 1));
    assert_eq!(m.types.len(), 2, "not another account's types");
    assert_eq!(m.waiting_total, 4);
    // The longest waits first, and only this account's.
    assert_eq!(m.oldest.len(), 4);
    assert_eq!(m.oldest[0].id, ancient.id);
    assert_eq!(m.oldest[1].id, late.id);
    assert!(m.oldest.iter().any(|s| s.id == fresh.id));
    let names: Vec<&str> = m.agents.iter().map(|a| a.name.as_str()).collect();
    assert!(!names.contains(&"hal@globex.test"), "{names:?}");
    let d = m.agents.iter().find(|a| a.id == dana).expect("dana");
    assert_eq!((d.active, d.limit, d.presence), (1, 3, Presence::Online));
    let e = m.agents.iter().find(|a| a.id == eli).expect("eli");
    assert_eq!((e.presence, e.presence_reason.as_deref()), (Presence::Away, Some("lunch")));

    // A first-response SLA breach ends an assignment with reason 'sla'.
    sqlx::query!(
        "INSERT INTO assignments (session_id, agent_id, reason, started_at, ended_at, end_reason)
         VALUES ($1, $2, 'auto', now() - interval '5 minutes', now() - interval '1 minute', 'sla')",
        served.id.0,
        dana.0
    )
    .execute(&pool)
    .await
    .expect("breach");
    let m = monitor::snapshot(&pool, &Actor::System, Some(acme)).await.expect("system");
    assert_eq!(m.types.iter().find(|l| l.id == billing).map(|l| l.first_response_breaches_hour), Some(1));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn only_admins_and_supervisors_watch_and_only_their_account(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let globex = account(&pool, "globex").await;
    let billing = support_type(&pool, acme, "billing", Routing::Manual).await;
    let dana = agent(&pool, acme, "dana@acme.test", Role::Agent, 3, true, &[billing]).await;
    let bot = agent(&pool, acme, "bot@acme.test", Role::Bot, 3, true, &[billing]).await;
    let globex_admin = agent(&pool, globex, "admin@globex.test", Role::Admin, 3, true, &[]).await;
    open(&pool, "billing").await;

    for (who, role) in [(dana, Role::Agent), (bot, Role::Bot)] {
        let err = monitor::snapshot(&pool, &as_agent(who, acme, role), None).await.expect_err("refused");
        assert_eq!(err.code(), "forbidden", "{role}");
    }
    let globex_view = as_agent(globex_admin, globex, Role::Admin);
    let err = monitor::snapshot(&pool, &globex_view, Some(acme)).await.expect_err("other account");
    assert_eq!(err.code(), "not_found");
    let own = monitor::snapshot(&pool, &globex_view, None).await.expect("own account");
    assert_eq!((own.waiting_total, own.oldest.len(), own.types.len()), (0, 0, 0));
    // A global admin sees every account.
    let all = monitor::snapshot(&pool, &Actor::System, None).await.expect("everything");
    assert_eq!(all.waiting_total, 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_alert_brings_its_live_event_and_is_counted_until_read(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let billing = support_type(&pool, acme, "billing", Routing::Manual).await;
    let dana = agent(&pool, acme, "dana@acme.test", Role::Agent, 3, true, &[billing]).await;
    let eli = agent(&pool, acme, "eli@acme.test", Role::Agent, 3, true, &[billing]).await;
    let session = open(&pool, "billing").await;
    let mut tx = pool.begin().await.expect("tx");
    let first =
        notifications::alert(&mut tx, dana, notifications::kind::SESSION_ASSIGNED, Some(session.id), "one")
            .await
            .expect("alert");
    notifications::alert(&mut tx, dana, notifications::kind::SESSION_ASSIGNED, None, "two")
        .await
        .expect("alert");
    notifications::alert(&mut tx, eli, notifications::kind::SESSION_ASSIGNED, None, "eli's")
        .await
        .expect("alert");
    tx.commit().await.expect("commit");

    // Each alert has its event, for the agent's account, carrying the alert.
    let events = sqlx::query!(
        r#"SELECT account_id AS "account_id: AccountId", session_id, payload FROM outbox
           WHERE topic = 'notification.created' ORDER BY id"#
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.account_id == Some(acme)));
    assert_eq!(events[0].session_id, Some(session.id.0));
    let carried: notifications::Notification =
        serde_json::from_value(events[0].payload.clone()).expect("a notification");
    assert_eq!(carried, first);
    assert!(!domain::outbox::topic::delivered_to_webhooks("notification.created"));

    let as_dana = as_agent(dana, acme, Role::Agent);
    let as_eli = as_agent(eli, acme, Role::Agent);
    assert_eq!(notifications::unread_count(&pool, &as_dana).await.expect("count"), 2);
    notifications::mark_read(&pool, &as_dana, first.id).await.expect("read one");
    assert_eq!(notifications::unread_count(&pool, &as_dana).await.expect("count"), 1);
    assert_eq!(notifications::mark_all_read(&pool, &as_dana).await.expect("all"), 1);
    assert_eq!(notifications::mark_all_read(&pool, &as_dana).await.expect("again"), 0);
    assert_eq!(notifications::unread_count(&pool, &as_dana).await.expect("count"), 0);
    // Eli's are his own.
    assert_eq!(notifications::unread_count(&pool, &as_eli).await.expect("count"), 1);
    // Notifications are for agents.
    let err = notifications::unread_count(&pool, &Actor::System).await.expect_err("not an agent");
    assert_eq!(err.code(), "forbidden");
}
