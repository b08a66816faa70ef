//! What the real-time layer reads and writes: read positions, queue
//! positions, replay windows, and CSAT requests.

mod common;

use common::*;
use domain::{
    actor::{Actor, CustomerActor},
    conversation::{self, SendMessage},
    csat::{self, SubmitCsat},
    live, sessions,
    types::*,
};
use sqlx::PgPool;

fn customer_of(s: &sessions::Session) -> Actor {
    Actor::Customer(CustomerActor { customer_id: s.customer_id, session_id: s.id, account_id: s.account_id })
}

async fn say(pool: &PgPool, actor: &Actor, s: SessionId, body: &str) -> i64 {
    conversation::send(
        pool,
        actor,
        s,
        SendMessage { body: body.into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("send")
    .id
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn read_positions_move_forward_only_and_only_for_the_right_side(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::Manual).await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 3, true, &[ty]).await;
    let sam = agent(&pool, acc, "sam@acme.test", Role::Supervisor, 3, true, &[ty]).await;
    let (dana, sam) = (as_agent(dana, acc, Role::Agent), as_agent(sam, acc, Role::Supervisor));
    let s = open(&pool, "billing").await;
    let s = sessions::assign(&pool, &dana, s.id, None).await.expect("pick");
    let customer = customer_of(&s);
    let first = say(&pool, &customer, s.id, "one").await;
    let second = say(&pool, &customer, s.id, "two").await;

    assert_eq!(live::mark_read(&pool, &dana, s.id, first).await.expect("read"), Some(SenderKind::Agent));
    // Backwards, or again: nothing moves.
    assert_eq!(live::mark_read(&pool, &dana, s.id, first).await.expect("again"), None);
    // A supervisor looking in does not clear the owner's unread.
    assert_eq!(live::mark_read(&pool, &sam, s.id, second).await.expect("supervisor"), None);
    // Past the newest message is clamped to it.
    assert_eq!(live::mark_read(&pool, &dana, s.id, i64::MAX).await.expect("far"), Some(SenderKind::Agent));
    let reply = say(&pool, &dana, s.id, "hello").await;
    assert_eq!(live::mark_read(&pool, &customer, s.id, reply).await.expect("c"), Some(SenderKind::Customer));
    let brief = live::brief(&pool, &dana, s.id).await.expect("brief");
    // The agent's read position stayed where it was clamped (their own
    // reply came later); the customer's is at the reply.
    assert_eq!((brief.agent_read_message_id, brief.customer_read_message_id), (second, reply));
    assert_eq!(brief.owner_name.as_deref(), Some("dana@acme.test"));
    // The customer's cut carries no agent ids.
    assert_eq!(live::brief(&pool, &customer, s.id).await.expect("c brief").owner_id, None);
    // Another session's customer cannot mark or see this one.
    let other = open(&pool, "billing").await;
    let err = live::mark_read(&pool, &customer_of(&other), s.id, reply).await.expect_err("foreign");
    assert_eq!(err.code(), "not_found");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn queue_positions_follow_priority_then_arrival(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::Manual).await;
    let other = support_type(&pool, acc, "sales", Routing::Manual).await;
    let a = open(&pool, "billing").await;
    let b = open(&pool, "billing").await;
    let c = open(&pool, "sales").await;
    sqlx::query("UPDATE sessions SET priority = 5 WHERE id = $1")
        .bind(b.id)
        .execute(&pool)
        .await
        .expect("bump");
    let positions = live::queue_positions(&pool, &[ty, other]).await.expect("positions");
    let of = |id: SessionId| positions.iter().find(|p| p.session_id == id).map(|p| p.position);
    assert_eq!((of(b.id), of(a.id), of(c.id)), (Some(1), Some(2), Some(1)));
    // No assignments in the last hour: two minutes a place.
    let a_eta = positions.iter().find(|p| p.session_id == a.id).expect("a").eta_secs;
    assert_eq!(a_eta, 240);
    // One session's place, counted on the index, says the same.
    for p in &positions {
        assert_eq!(live::queue_position(&pool, p.session_id).await.expect("one").as_ref(), Some(p));
    }
    // The same priority: arrival decides, then the id.
    let d = open(&pool, "billing").await;
    assert_eq!(live::queue_position(&pool, d.id).await.expect("d").map(|p| p.position), Some(3));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn replay_reads_one_session_or_one_account_after_an_id(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let globex = account(&pool, "globex").await;
    support_type(&pool, acc, "billing", Routing::Manual).await;
    support_type(&pool, globex, "gx", Routing::Manual).await;
    let s = open(&pool, "billing").await;
    let mark = live::last_event_id(&pool).await.expect("mark");
    let customer = customer_of(&s);
    say(&pool, &customer, s.id, "after the mark").await;
    let g = open(&pool, "gx").await;
    let events = live::replay(&pool, Some(s.id), None, mark, 100).await.expect("replay");
    // The window before the mark repeats the opening (the client skips
    // what it applied); everything after the mark is there, in order.
    let after: Vec<&str> = events.iter().filter(|e| e.id > mark).map(|e| e.topic.as_str()).collect();
    assert_eq!(after, ["message.created"]);
    assert!(events.iter().all(|e| e.session_id == Some(s.id)));
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    let account_events = live::replay(&pool, None, Some(acc), mark, 100).await.expect("account");
    assert!(account_events.iter().all(|e| e.account_id == Some(acc)));
    assert!(!account_events.iter().any(|e| e.session_id == Some(g.id)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_rating_can_be_requested_once_a_session_is_resolved(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::Manual).await;
    sqlx::query("UPDATE support_types SET csat_enabled = false WHERE id = $1")
        .bind(ty)
        .execute(&pool)
        .await
        .expect("csat off");
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 3, true, &[ty]).await;
    let eve = agent(&pool, acc, "eve@acme.test", Role::Agent, 3, true, &[ty]).await;
    let (dana, eve) = (as_agent(dana, acc, Role::Agent), as_agent(eve, acc, Role::Agent));
    let s = open(&pool, "billing").await;
    let s = sessions::assign(&pool, &dana, s.id, None).await.expect("pick");
    let customer = customer_of(&s);

    let err = csat::request(&pool, &dana, s.id).await.expect_err("open");
    assert_eq!(err.code(), "session_not_resolved");
    sessions::resolve(&pool, &dana, s.id, None).await.expect("resolve without a rating");
    let rate = SubmitCsat { score: 5, comment: Some("Great".into()) };
    let err = csat::submit(&pool, &customer, s.id, rate.clone()).await.expect_err("type does not ask");
    assert_eq!(err.code(), "csat_disabled");
    // Only the session's agent (or a supervisor) may ask.
    let err = csat::request(&pool, &eve, s.id).await.expect_err("not theirs");
    assert_eq!(err.code(), "forbidden");
    csat::request(&pool, &dana, s.id).await.expect("ask");
    csat::request(&pool, &dana, s.id).await.expect("ask again: no-op");
    assert_eq!(
        outbox_topics(&pool, s.id).await.iter().filter(|t| *t == "csat.requested").count(),
        1,
        "one request event"
    );
    assert!(live::brief(&pool, &customer, s.id).await.expect("brief").csat_requested);
    let rated = csat::submit(&pool, &customer, s.id, rate.clone()).await.expect("rate");
    assert_eq!(rated.score, 5);
    let err = csat::submit(&pool, &customer, s.id, rate).await.expect_err("twice");
    assert_eq!(err.code(), "csat_already_submitted");
    let err = csat::request(&pool, &dana, s.id).await.expect_err("rated");
    assert_eq!(err.code(), "csat_already_submitted");
}

/// A live view is read on one connection: an operation that held one and
/// waited for a second from the pool deadlocked a busy pool (every holder
/// waiting for another), which the outside benchmark found as agents
/// subscribing 100 at a time. A pool of one connection proves it.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_brief_needs_one_connection_only(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "billing", Routing::Manual).await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 3, true, &[ty]).await;
    let dana = as_agent(dana, acc, Role::Agent);
    let s = open(&pool, "billing").await;
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_with((*pool.connect_options()).clone())
        .await
        .expect("a pool of one");
    let brief = live::brief(&one, &dana, s.id).await.expect("brief on one connection");
    assert_eq!(brief.id, s.id);
    let customer = live::brief(&one, &customer_of(&s), s.id).await.expect("the customer's, too");
    assert_eq!(customer.owner_id, None);
}
