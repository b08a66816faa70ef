//! The session lifecycle, the conversation, the strategies and the outbox,
//! against a real PostgreSQL (one database per test).

mod common;

use common::*;
use domain::{
    Error,
    actor::{Actor, CustomerActor},
    conversation::{self, SendMessage},
    engine,
    sessions::{self, OpenSession, ReassignTarget},
    types::*,
};
use sqlx::PgPool;

fn code(err: Error) -> String {
    err.code().to_owned()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_session_lives_through_every_transition(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::Manual).await;
    sqlx::query("UPDATE support_types SET reason_required = true WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("req");
    let fixed = reason(&pool, ty, "Fixed").await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 3, true, &[ty]).await;
    let dana_actor = as_agent(dana, acc, Role::Agent);

    // open: queued, with the customer's first message
    let (s, customer) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "billing".into(),
            message: Some("  My invoice is wrong ".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    assert_eq!(s.status, SessionStatus::Queued);
    assert_eq!(outbox_topics(&pool, s.id).await, ["session.opened", "message.created"]);
    let customer_actor =
        Actor::Customer(CustomerActor { customer_id: customer, session_id: s.id, account_id: acc });
    let history =
        conversation::history_for_customer(&pool, &customer_actor, s.id, None, None).await.expect("history");
    assert_eq!(history.items.len(), 1);
    assert_eq!(history.items[0].body, "My invoice is wrong");

    // manual routing: the engine leaves it; the agent picks it
    assert_eq!(owner_now(&pool, &s).await, None);
    let s = sessions::assign(&pool, &dana_actor, s.id, None).await.expect("pick");
    assert_eq!((s.status, s.owner_id), (SessionStatus::Active, Some(dana)));
    assert_eq!(
        code(sessions::assign(&pool, &dana_actor, s.id, None).await.expect_err("twice")),
        "session_not_queued"
    );

    // the owner's first reply stops the first-response clock
    conversation::send(
        &pool,
        &dana_actor,
        s.id,
        SendMessage { body: "Looking now".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("reply");
    let s = sessions::get(&pool, &dana_actor, s.id).await.expect("get");
    assert!(s.first_response_at.is_some());

    // resolve needs a reason of this type
    let err = sessions::resolve(&pool, &dana_actor, s.id, None).await.expect_err("no reason");
    assert_eq!(err, Error::invalid("reason_id", "this support type requires a resolution reason"));
    let foreign = reason(&pool, support_type(&pool, acc, "other", Routing::Manual).await, "Fixed").await;
    assert_eq!(
        code(sessions::resolve(&pool, &dana_actor, s.id, Some(foreign)).await.expect_err("foreign")),
        "invalid"
    );
    let s = sessions::resolve(&pool, &dana_actor, s.id, Some(fixed)).await.expect("resolve");
    assert_eq!(s.status, SessionStatus::Resolved);
    assert_eq!(s.owner_id, None);
    assert_eq!(s.resolution_reason_id, Some(fixed));

    // illegal after resolution
    assert_eq!(
        code(sessions::resolve(&pool, &dana_actor, s.id, Some(fixed)).await.expect_err("twice")),
        "session_closed"
    );
    let err = conversation::send(
        &pool,
        &customer_actor,
        s.id,
        SendMessage { body: "hello?".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect_err("closed");
    assert_eq!(code(err), "session_closed");
    assert_eq!(
        code(
            sessions::reassign(&pool, &dana_actor, s.id, ReassignTarget::Queue, AssignReason::Transfer)
                .await
                .expect_err("closed")
        ),
        "session_closed"
    );

    // reopen, then the customer abandons
    let s = sessions::reopen(&pool, &dana_actor, s.id).await.expect("reopen");
    assert_eq!(s.status, SessionStatus::Queued);
    assert_eq!(code(sessions::reopen(&pool, &dana_actor, s.id).await.expect_err("open")), "session_open");
    let s = sessions::abandon(&pool, &customer_actor, s.id).await.expect("abandon");
    assert_eq!(s.status, SessionStatus::Abandoned);
    assert_eq!(
        code(sessions::abandon(&pool, &customer_actor, s.id).await.expect_err("twice")),
        "session_closed"
    );

    let load: i32 = sqlx::query_scalar("SELECT active_count FROM agents WHERE id = $1")
        .bind(dana)
        .fetch_one(&pool)
        .await
        .expect("load");
    assert_eq!(load, 0, "resolving freed the agent's capacity");
    assert_eq!(
        outbox_topics(&pool, s.id).await,
        [
            "session.opened",
            "message.created",
            "session.assigned",
            "message.created",
            "session.resolved",
            "session.reopened",
            "session.abandoned"
        ]
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn reassign_checks_the_receiving_agent(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let other_ty = support_type(&pool, acc, "returns", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 2, true, &[ty]).await;
    let b = agent(&pool, acc, "b@acme.test", Role::Agent, 2, true, &[ty]).await;
    let outsider = agent(&pool, acc, "c@acme.test", Role::Agent, 2, true, &[other_ty]).await;
    let away = agent(&pool, acc, "d@acme.test", Role::Agent, 2, false, &[ty]).await;
    let s = open(&pool, "billing").await;
    let owner = owner_now(&pool, &s).await.expect("assigned");
    assert!(owner == a || owner == b);
    let actor = as_agent(owner, acc, Role::Agent);

    let to = |agent_id| ReassignTarget::Agent { agent_id };
    let err = sessions::reassign(&pool, &actor, s.id, to(outsider), AssignReason::Transfer)
        .await
        .expect_err("no skill");
    assert_eq!(code(err), "agent_lacks_skill");
    let err =
        sessions::reassign(&pool, &actor, s.id, to(away), AssignReason::Transfer).await.expect_err("offline");
    assert_eq!(code(err), "agent_unavailable");
    let err = sessions::reassign(&pool, &actor, s.id, ReassignTarget::Queue, AssignReason::Auto)
        .await
        .expect_err("auto");
    assert_eq!(code(err), "invalid");

    // a non-owner agent may look but not move it
    let other = if owner == a { b } else { a };
    let err = sessions::reassign(
        &pool,
        &as_agent(other, acc, Role::Agent),
        s.id,
        to(other),
        AssignReason::Transfer,
    )
    .await
    .expect_err("not owner");
    assert_eq!(code(err), "forbidden");
    // an agent who does not serve the type cannot even see it
    let err = sessions::get(&pool, &as_agent(outsider, acc, Role::Agent), s.id).await.expect_err("hidden");
    assert_eq!(code(err), "not_found");

    let s2 =
        sessions::reassign(&pool, &actor, s.id, to(other), AssignReason::Transfer).await.expect("transfer");
    assert_eq!(s2.owner_id, Some(other));
    assert_eq!(s2.previous_owner_id, Some(owner));
    let history: Vec<(AgentId, String, Option<String>)> = sqlx::query_as(
        "SELECT agent_id, reason, end_reason FROM assignments WHERE session_id = $1 ORDER BY id",
    )
    .bind(s.id)
    .fetch_all(&pool)
    .await
    .expect("assignments");
    assert_eq!(
        history,
        [(owner, "auto".to_owned(), Some("transfer".to_owned())), (other, "transfer".to_owned(), None)]
    );

    // to another support type: queued there, owner cleared
    let s3 = sessions::reassign(
        &pool,
        &as_agent(other, acc, Role::Agent),
        s.id,
        ReassignTarget::SupportType { support_type_id: other_ty },
        AssignReason::Transfer,
    )
    .await
    .expect("to type");
    assert_eq!((s3.status, s3.support_type_id, s3.owner_id), (SessionStatus::Queued, other_ty, None));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sending_the_same_client_message_id_twice_stores_one_message(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    agent(&pool, acc, "a@acme.test", Role::Agent, 2, true, &[ty]).await;
    let (s, customer) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession { support_type: "billing".into(), ..Default::default() },
    )
    .await
    .expect("open");
    let me = Actor::Customer(CustomerActor { customer_id: customer, session_id: s.id, account_id: acc });
    let msg =
        || SendMessage { body: "hello".into(), client_message_id: Some("c-1".into()), ..Default::default() };
    let first = conversation::send(&pool, &me, s.id, msg()).await.expect("first");
    let again = conversation::send(&pool, &me, s.id, msg()).await.expect("again");
    assert_eq!(first, again);
    // concurrently, too
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            conversation::send(
                &pool,
                &me,
                s.id,
                SendMessage { body: "x".into(), client_message_id: Some("c-2".into()), ..Default::default() },
            )
            .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("join").expect("send").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every concurrent retry returned the same message");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE session_id = $1")
        .bind(s.id)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 2);
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE session_id = $1 AND topic = 'message.created'")
            .bind(s.id)
            .fetch_one(&pool)
            .await
            .expect("events");
    assert_eq!(events, 2, "one event per stored message");

    // bad input names the field and writes nothing
    let err = conversation::send(
        &pool,
        &me,
        s.id,
        SendMessage { body: "   ".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect_err("empty");
    assert_eq!(err, Error::invalid("body", "must not be empty"));
    // a customer cannot touch another session
    let other = open(&pool, "billing").await;
    let err = conversation::send(&pool, &me, other.id, msg()).await.expect_err("other session");
    assert_eq!(code(err), "not_found");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_failed_operation_writes_no_event(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    sqlx::query("UPDATE support_types SET reason_required = true WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("req");
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 2, true, &[ty]).await;
    let s = open(&pool, "billing").await;
    owner_now(&pool, &s).await.expect("assigned");
    let before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&pool).await.expect("count");
    sessions::resolve(&pool, &as_agent(a, acc, Role::Agent), s.id, None).await.expect_err("needs reason");
    sessions::open(&pool, &Actor::System, OpenSession { support_type: "nope".into(), ..Default::default() })
        .await
        .expect_err("unknown type");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&pool).await.expect("count");
    assert_eq!(before, after);
    let customers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&pool).await.expect("count");
    assert_eq!(customers, 1, "the failed open left no customer behind");
}

async fn set_last_assigned(pool: &PgPool, agent: AgentId, minutes_ago: i32) {
    sqlx::query("UPDATE agents SET last_assigned_at = now() - make_interval(mins => $2) WHERE id = $1")
        .bind(agent)
        .bind(minutes_ago)
        .execute(pool)
        .await
        .expect("last assigned");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn round_robin_picks_the_least_recently_assigned(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 5, true, &[ty]).await;
    let b = agent(&pool, acc, "b@acme.test", Role::Agent, 5, true, &[ty]).await;
    let c = agent(&pool, acc, "c@acme.test", Role::Agent, 5, true, &[ty]).await;
    let offline = agent(&pool, acc, "d@acme.test", Role::Agent, 5, false, &[ty]).await;
    set_last_assigned(&pool, a, 10).await;
    set_last_assigned(&pool, b, 30).await;
    set_last_assigned(&pool, c, 20).await;
    set_last_assigned(&pool, offline, 60).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let s = open(&pool, "billing").await;
        got.push(owner_now(&pool, &s).await.expect("assigned"));
    }
    assert_eq!(got, [b, c, a, b], "oldest assignment first, then around again; never the offline agent");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn least_loaded_picks_the_lowest_load_ratio(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::LeastLoaded).await;
    let filler = support_type(&pool, acc, "filler", Routing::Manual).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 2, true, &[ty, filler]).await;
    let b = agent(&pool, acc, "b@acme.test", Role::Agent, 10, true, &[ty, filler]).await;
    // a: 1/2 = 0.5, b: 3/10 = 0.3
    for (who, n) in [(a, 1), (b, 3)] {
        for _ in 0..n {
            let s = open(&pool, "filler").await;
            sessions::assign(&pool, &as_agent(who, acc, Role::Agent), s.id, None).await.expect("fill");
        }
    }
    set_last_assigned(&pool, a, 60).await; // round robin would pick a
    let s = open(&pool, "billing").await;
    assert_eq!(owner_now(&pool, &s).await, Some(b));
    // b: 4/10 = 0.4 < 0.5 still
    let s = open(&pool, "billing").await;
    assert_eq!(owner_now(&pool, &s).await, Some(b));
    // b: 5/10 = 0.5 ties with a: least recently assigned wins (a)
    let s = open(&pool, "billing").await;
    assert_eq!(owner_now(&pool, &s).await, Some(a));
    // a is full (2/2); b takes the rest until its limit
    let s = open(&pool, "billing").await;
    assert_eq!(owner_now(&pool, &s).await, Some(b));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn preferred_agent_first_then_fallback_after_the_bound(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "vip", Routing::RoundRobin).await;
    sqlx::query("UPDATE support_types SET preferred_wait_secs = 120 WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("wait");
    let fav = agent(&pool, acc, "fav@acme.test", Role::Agent, 5, true, &[ty]).await;
    let other = agent(&pool, acc, "other@acme.test", Role::Agent, 5, true, &[ty]).await;
    set_last_assigned(&pool, fav, 1).await;
    set_last_assigned(&pool, other, 60).await; // round robin would pick `other`

    // The customer prefers `fav` before they open: a returning customer.
    sqlx::query(
        "INSERT INTO customers (account_id, external_ref, preferred_agent_id) VALUES ($1, 'vip-1', $2)",
    )
    .bind(acc)
    .bind(fav)
    .execute(&pool)
    .await
    .expect("customer");
    let open_vip = || {
        let pool = pool.clone();
        async move {
            let input = OpenSession {
                support_type: "vip".into(),
                customer: sessions::CustomerInput {
                    external_ref: Some("vip-1".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            sessions::open(&pool, &Actor::System, input).await.expect("open").0
        }
    };
    let s = open_vip().await;
    assert_eq!(owner_now(&pool, &s).await, Some(fav), "preferred agent first");

    // preferred agent away: the session waits within the bound...
    set_online(&pool, fav, false).await;
    let s = open_vip().await;
    assert_eq!(owner_now(&pool, &s).await, None, "waits for the preferred agent");
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 0);
    // ...and falls back once it has waited longer than the bound
    sqlx::query("UPDATE sessions SET queued_at = now() - interval '121 seconds' WHERE id = $1")
        .bind(s.id)
        .execute(&pool)
        .await
        .expect("age");
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 1);
    let s = sessions::get(&pool, &Actor::System, s.id).await.expect("get");
    assert_eq!(s.owner_id, Some(other));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bot_first_then_handoff_to_a_human(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "triage", Routing::RoundRobin).await;
    let bot = agent(&pool, acc, "bot@acme.test", Role::Bot, 100, true, &[]).await;
    bot_first(&pool, ty, bot).await;
    let human = agent(&pool, acc, "h@acme.test", Role::Agent, 5, true, &[ty]).await;

    let s = open(&pool, "triage").await;
    assert_eq!(owner_now(&pool, &s).await, Some(bot), "the bot takes it first");
    let bot_actor = as_agent(bot, acc, Role::Bot);
    conversation::send(
        &pool,
        &bot_actor,
        s.id,
        SendMessage { body: "Hi, I'm the assistant".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("bot reply");
    let m = conversation::history(&pool, &bot_actor, s.id, None, None).await.expect("history");
    assert_eq!(m.items[0].sender_kind, SenderKind::Bot);

    // the bot hands off through the same reassign call humans use
    let note = sessions::HandoffNote { reason: HandoffReason::CustomerRequest, summary: String::new() };
    let s = sessions::hand_off(&pool, &bot_actor, s.id, ReassignTarget::Queue, note).await.expect("handoff");
    assert_eq!(s.status, SessionStatus::Queued);
    assert_eq!(owner_now(&pool, &s).await, Some(human), "a human, never the bot again");
    let reasons: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT reason, end_reason FROM assignments WHERE session_id = $1 ORDER BY id")
            .bind(s.id)
            .fetch_all(&pool)
            .await
            .expect("history");
    assert_eq!(reasons, [("auto".into(), Some("handoff".into())), ("auto".into(), None)]);

    // bot unavailable: humans get new sessions directly
    set_online(&pool, bot, false).await;
    let s = open(&pool, "triage").await;
    assert_eq!(owner_now(&pool, &s).await, Some(human));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_engine_never_exceeds_a_limit_and_skips_offline_agents(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 2, false, &[ty]).await;
    agent(&pool, acc, "off@acme.test", Role::Agent, 9, false, &[ty]).await;
    for _ in 0..5 {
        open(&pool, "billing").await;
    }
    set_online(&pool, a, true).await;
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 2);
    let (count, queued): (i32, i64) = sqlx::query_as(
        "SELECT (SELECT active_count FROM agents WHERE id = $1), (SELECT count(*) FROM sessions WHERE status = 'queued')",
    )
    .bind(a)
    .fetch_one(&pool)
    .await
    .expect("state");
    assert_eq!((count, queued), (2, 3));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn escalate_moves_to_the_target_and_bumps_priority(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let tier1 = support_type(&pool, acc, "tier1", Routing::RoundRobin).await;
    let tier2 = support_type(&pool, acc, "tier2", Routing::Manual).await;
    let flat = support_type(&pool, acc, "flat", Routing::Manual).await;
    sqlx::query(
        "UPDATE support_types SET escalation_target_id = $2, escalation_priority_bump = 7 WHERE id = $1",
    )
    .bind(tier1)
    .bind(tier2)
    .execute(&pool)
    .await
    .expect("escalation path");
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 3, true, &[tier1, flat]).await;
    let peer = agent(&pool, acc, "p@acme.test", Role::Agent, 3, true, &[tier1]).await;
    let sup = agent(&pool, acc, "s@acme.test", Role::Supervisor, 3, false, &[]).await;
    set_last_assigned(&pool, peer, 1).await;
    set_last_assigned(&pool, a, 60).await;

    let s = open(&pool, "tier1").await;
    assert_eq!(owner_now(&pool, &s).await, Some(a));
    // only the owner or a supervisor may escalate an active session
    let err = sessions::escalate(&pool, &as_agent(peer, acc, Role::Agent), s.id).await.expect_err("peer");
    assert_eq!(code(err), "forbidden");
    let s = sessions::escalate(&pool, &as_agent(a, acc, Role::Agent), s.id).await.expect("escalate");
    assert_eq!((s.status, s.support_type_id, s.owner_id), (SessionStatus::Queued, tier2, None));
    assert_eq!((s.priority, s.escalation_count), (7, 1));
    assert!(s.escalated_at.is_some());
    assert_eq!(
        outbox_topics(&pool, s.id).await,
        ["session.opened", "session.assigned", "session.reassigned", "session.escalated"]
    );
    let ended: Option<String> =
        sqlx::query_scalar("SELECT end_reason FROM assignments WHERE session_id = $1")
            .bind(s.id)
            .fetch_one(&pool)
            .await
            .expect("assignment");
    assert_eq!(ended.as_deref(), Some("escalation"));
    // it left the agent's types: they no longer see it at all
    let err = sessions::escalate(&pool, &as_agent(a, acc, Role::Agent), s.id).await.expect_err("gone");
    assert_eq!(code(err), "not_found");
    // a queued session in a type the agent serves: supervisors only
    let q = open(&pool, "flat").await;
    let err = sessions::escalate(&pool, &as_agent(a, acc, Role::Agent), q.id).await.expect_err("queued");
    assert_eq!(code(err), "forbidden");

    // a type with no escalation path says so and changes nothing
    let f = open(&pool, "flat").await;
    let err =
        sessions::escalate(&pool, &as_agent(sup, acc, Role::Supervisor), f.id).await.expect_err("no path");
    assert_eq!(code(err), "no_escalation_path");
    assert_eq!(outbox_topics(&pool, f.id).await, ["session.opened"]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_supervisor_reassigning_someone_elses_session_is_audited(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 3, true, &[ty]).await;
    let sup = agent(&pool, acc, "s@acme.test", Role::Supervisor, 3, false, &[]).await;
    let s = open(&pool, "billing").await;
    assert_eq!(owner_now(&pool, &s).await, Some(a));
    sessions::reassign(
        &pool,
        &as_agent(sup, acc, Role::Supervisor),
        s.id,
        ReassignTarget::Queue,
        AssignReason::Manual,
    )
    .await
    .expect("supervisor requeues");
    let rows: Vec<(String, Option<AgentId>, Option<String>)> =
        sqlx::query_as("SELECT action, actor_id, target FROM audit_log ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("audit");
    assert_eq!(rows, [("session.reassigned_by_supervisor".to_owned(), Some(sup), Some(s.id.to_string()))]);
    // the owner handing off their own session is routine, not audited
    let s2 = open(&pool, "billing").await;
    let owner = engine::assign_one(&pool, s2.id).await.expect("engine").expect("assigned");
    sessions::reassign(
        &pool,
        &as_agent(owner, acc, Role::Agent),
        s2.id,
        ReassignTarget::Queue,
        AssignReason::Transfer,
    )
    .await
    .expect("owner requeues");
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 1);
}

/// One eligibility rule for the engine, manual assign, reassign and the
/// transfer dialog: the tier counts everywhere, and a refusal names why.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn eligibility_is_one_rule_for_the_engine_and_manual_moves(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let junior = agent(&pool, acc, "junior@acme.test", Role::Agent, 3, true, &[ty]).await;
    let senior = agent(&pool, acc, "senior@acme.test", Role::Agent, 3, false, &[ty]).await;
    let boss = agent(&pool, acc, "boss@acme.test", Role::Supervisor, 3, true, &[]).await;
    let boss_actor = as_agent(boss, acc, Role::Supervisor);
    sqlx::query("UPDATE agent_skills SET tier = 1 WHERE agent_id = $1")
        .bind(junior)
        .execute(&pool)
        .await
        .expect("t");
    sqlx::query("UPDATE agent_skills SET tier = 3 WHERE agent_id = $1")
        .bind(senior)
        .execute(&pool)
        .await
        .expect("t");
    // A tier-2 session with only the tier-1 agent online: the engine leaves it.
    sqlx::query("UPDATE support_types SET routing = 'manual' WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("m");
    let s = open(&pool, "billing").await;
    sqlx::query("UPDATE sessions SET tier = 2 WHERE id = $1").bind(s.id).execute(&pool).await.expect("tier");
    sqlx::query("UPDATE support_types SET routing = 'round_robin' WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("rr");
    assert_eq!(owner_now(&pool, &s).await, None, "tier 1 cannot take tier 2");

    // Manual assign and the transfer dialog say the same, with the reason.
    let err = sessions::assign(&pool, &boss_actor, s.id, Some(junior)).await.expect_err("tier");
    assert_eq!(code(err), "agent_tier_too_low");
    let err = sessions::assign(&pool, &boss_actor, s.id, Some(senior)).await.expect_err("offline");
    assert_eq!(code(err), "agent_unavailable");
    set_online(&pool, senior, true).await;
    let owner = sessions::assign(&pool, &boss_actor, s.id, Some(senior)).await.expect("senior takes it");
    assert_eq!(owner.owner_id, Some(senior));
    let targets = domain::workspace::transfer_targets(&pool, &boss_actor, s.id).await.expect("targets");
    let junior_row = targets.agents.iter().find(|a| a.id == junior).expect("junior is listed");
    assert!(!junior_row.available(), "the dialog offers nobody the rule refuses");
    // Reassign follows the rule too.
    let err = sessions::reassign(
        &pool,
        &boss_actor,
        s.id,
        ReassignTarget::Agent { agent_id: junior },
        AssignReason::Transfer,
    )
    .await
    .expect_err("tier");
    assert_eq!(code(err), "agent_tier_too_low");
    let err = sessions::reassign(
        &pool,
        &boss_actor,
        s.id,
        ReassignTarget::Agent { agent_id: boss },
        AssignReason::Transfer,
    )
    .await
    .expect_err("no skill");
    assert_eq!(code(err), "agent_lacks_skill");
}

/// "The customer is offline" is the hub's knowledge when it has any: a live
/// socket (customer_live_until ahead) means online however long they were
/// quiet; a closed one means offline at once. Without it, two quiet minutes.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_customer_is_offline_by_what_the_hub_knows(pool: PgPool) {
    use domain::notifications::{customer_left, customer_offline, customers_live};
    let acc = account(&pool, "acme").await;
    support_type(&pool, acc, "billing", Routing::Manual).await;
    let s = open(&pool, "billing").await;
    let now = chrono::Utc::now();
    let mut conn = pool.acquire().await.expect("conn");
    // Never connected, never wrote: offline; a message just now: online.
    assert!(customer_offline(&mut conn, s.id, now).await.expect("rule"));
    let me = Actor::Customer(CustomerActor { customer_id: s.customer_id, session_id: s.id, account_id: acc });
    conversation::send(
        &pool,
        &me,
        s.id,
        SendMessage { body: "hi".into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("send");
    assert!(!customer_offline(&mut conn, s.id, chrono::Utc::now()).await.expect("rule"));
    // A live socket: online even though their last message is old.
    let later = chrono::Utc::now() + chrono::Duration::minutes(10);
    assert!(customer_offline(&mut conn, s.id, later).await.expect("quiet for 10 min, no socket info"));
    customers_live(&pool, &[s.id]).await.expect("live");
    assert!(!customer_offline(&mut conn, s.id, later).await.expect("socket open"));
    // The socket closed: offline, even right after writing.
    customer_left(&pool, s.id).await.expect("left");
    assert!(customer_offline(&mut conn, s.id, chrono::Utc::now()).await.expect("socket closed"));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_open_is_assigned_in_its_own_transaction_when_somebody_is_free(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 1, true, &[ty]).await;
    let s = open(&pool, "billing").await;
    assert_eq!((s.status, s.owner_id), (SessionStatus::Active, Some(a)), "assigned by the open itself");
    assert_eq!(outbox_topics(&pool, s.id).await, ["session.opened", "session.assigned"]);
    let reason: String = sqlx::query_scalar("SELECT reason FROM assignments WHERE session_id = $1")
        .bind(s.id)
        .fetch_one(&pool)
        .await
        .expect("assignment");
    assert_eq!(reason, "auto");
    // a is at the limit: the next one queues, and the engine finds nobody either
    let s2 = open(&pool, "billing").await;
    assert_eq!((s2.status, s2.owner_id), (SessionStatus::Queued, None));
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_open_never_overtakes_a_customer_already_waiting_for_the_type(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let billing = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let returns = support_type(&pool, acc, "returns", Routing::RoundRobin).await;
    let a = agent(&pool, acc, "a@acme.test", Role::Agent, 1, false, &[billing]).await;
    let r = agent(&pool, acc, "r@acme.test", Role::Agent, 1, true, &[returns]).await;
    let waiting = open(&pool, "billing").await;
    assert_eq!(waiting.status, SessionStatus::Queued, "nobody online yet");
    // a comes online; before the engine's pass, another billing customer opens
    set_online(&pool, a, true).await;
    let later = open(&pool, "billing").await;
    assert_eq!(later.status, SessionStatus::Queued, "joins the queue behind the waiting customer");
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 1);
    let waiting = sessions::get(&pool, &Actor::System, waiting.id).await.expect("get");
    assert_eq!(waiting.owner_id, Some(a), "the customer who waited longest first");
    let later = sessions::get(&pool, &Actor::System, later.id).await.expect("get");
    assert_eq!(later.status, SessionStatus::Queued);
    // another type's empty queue is not held up by billing's
    let s = open(&pool, "returns").await;
    assert_eq!(s.owner_id, Some(r));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_pass_assigns_in_queue_order_past_types_that_are_full(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let busy = support_type(&pool, acc, "busy", Routing::RoundRobin).await;
    let quiet = support_type(&pool, acc, "quiet", Routing::LeastLoaded).await;
    let b1 = agent(&pool, acc, "b1@acme.test", Role::Agent, 3, false, &[busy]).await;
    let b2 = agent(&pool, acc, "b2@acme.test", Role::Agent, 4, false, &[busy]).await;
    let q = agent(&pool, acc, "q@acme.test", Role::Agent, 5, false, &[quiet]).await;
    // More busy sessions than one round takes, all ahead of the quiet ones.
    let mut busy_sessions = Vec::new();
    for i in 0..(engine::BATCH + 20) {
        let s = open(&pool, "busy").await;
        sqlx::query("UPDATE sessions SET priority = $2 WHERE id = $1")
            .bind(s.id)
            .bind((i % 7) as i32)
            .execute(&pool)
            .await
            .expect("priority");
        busy_sessions.push(s.id);
    }
    let mut quiet_sessions = Vec::new();
    for _ in 0..7 {
        quiet_sessions.push(open(&pool, "quiet").await.id);
    }
    for who in [b1, b2, q] {
        set_online(&pool, who, true).await;
    }
    assert_eq!(engine::run_pass(&pool).await.expect("pass"), 3 + 4 + 5);

    // Busy: the 7 first in queue order (priority, then waiting longest).
    let served: Vec<SessionId> = sqlx::query_scalar(
        "SELECT id FROM sessions WHERE support_type_id = $1 AND status = 'active' ORDER BY id",
    )
    .bind(busy)
    .fetch_all(&pool)
    .await
    .expect("served");
    let first: Vec<SessionId> = sqlx::query_scalar(
        "SELECT id FROM sessions WHERE support_type_id = $1
         ORDER BY priority DESC, queued_at, id LIMIT 7",
    )
    .bind(busy)
    .fetch_all(&pool)
    .await
    .expect("order");
    let mut first = first;
    first.sort();
    assert_eq!(served, first);
    // Quiet: its agent filled up even though busy sessions came first.
    let counts: Vec<(AgentId, i32)> = sqlx::query_as("SELECT id, active_count FROM agents ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("counts");
    let mut expected = vec![(b1, 3), (b2, 4), (q, 5)];
    expected.sort();
    assert_eq!(counts, expected);
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE status = 'queued'")
        .fetch_one(&pool)
        .await
        .expect("queued");
    assert_eq!(waiting, (busy_sessions.len() - 7 + quiet_sessions.len() - 5) as i64);
}
