//! A bot's handoff always tells someone: the notifications consumer alerts
//! the people who can take it, and the automated chat consumer tells the
//! customer what happens next. Resolving teaches past answers.

mod common;

use common::bots::{BotWorld, bot_world};
use consumers::{
    handlers::{automated_chat::AutomatedChat, notifications::Notifications},
    process,
};
use domain::{
    actor::{Actor, AgentActor},
    conversation::{self, SendMessage},
    outbox::{self, Event},
    sessions::{self, HandoffNote, OpenSession, ReassignTarget},
    types::*,
};
use sqlx::PgPool;

type World = BotWorld;

async fn seed(pool: &PgPool, human_online: bool) -> World {
    bot_world(pool, human_online).await
}

fn actor(w: &World, id: AgentId, role: Role) -> Actor {
    Actor::Agent(AgentActor { id, account_id: Some(w.account), role })
}

async fn bot_session(pool: &PgPool, w: &World) -> SessionId {
    let (s, _) = sessions::open(
        pool,
        &Actor::System,
        OpenSession {
            support_type: "help".into(),
            message: Some("I need a person".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    assert_eq!(common::owner_now(pool, &s).await, Some(w.bot));
    s.id
}

async fn run_all(pool: &PgPool) {
    let events: Vec<Event> = outbox::since(pool, 0, 1000).await.expect("events");
    for event in events {
        process(pool, &Notifications::new(None), &event, None).await.expect("notifications");
        process(pool, &AutomatedChat, &event, None).await.expect("automated chat");
    }
}

async fn system_messages(pool: &PgPool, s: SessionId) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT body FROM messages WHERE session_id = $1 AND sender_kind = 'system' ORDER BY id",
    )
    .bind(s)
    .fetch_all(pool)
    .await
    .expect("messages")
}

async fn alerts(pool: &PgPool, agent: AgentId) -> Vec<(String, String)> {
    sqlx::query_as("SELECT kind, body FROM notifications WHERE agent_id = $1 ORDER BY id")
        .bind(agent)
        .fetch_all(pool)
        .await
        .expect("alerts")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_handoff_alerts_the_online_agents_and_tells_the_customer_their_place(pool: PgPool) {
    let w = seed(&pool, true).await;
    // Hana is at her limit, so the handed-off session waits in line.
    sqlx::query("UPDATE agents SET max_concurrent = 1, active_count = 1 WHERE id = $1")
        .bind(w.human)
        .execute(&pool)
        .await
        .expect("full");
    let s = bot_session(&pool, &w).await;
    let note = HandoffNote { reason: HandoffReason::CustomerRequest, summary: "Asked for a refund".into() };
    sessions::hand_off(&pool, &actor(&w, w.bot, Role::Bot), s, ReassignTarget::Queue, note)
        .await
        .expect("handoff");
    run_all(&pool).await;
    run_all(&pool).await; // exactly once
    let got = alerts(&pool, w.human).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "session.handoff");
    assert!(got[0].1.contains("customer request") && got[0].1.contains("Asked for a refund"), "{}", got[0].1);
    assert!(alerts(&pool, w.bot).await.is_empty());
    let said = system_messages(&pool, s).await;
    assert!(said.iter().any(|m| m.contains("You are next in line")), "{said:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn with_nobody_online_the_customer_is_offered_e_mail(pool: PgPool) {
    let w = seed(&pool, false).await;
    let s = bot_session(&pool, &w).await;
    let note = HandoffNote { reason: HandoffReason::LowConfidence, summary: String::new() };
    sessions::hand_off(&pool, &actor(&w, w.bot, Role::Bot), s, ReassignTarget::Queue, note)
        .await
        .expect("handoff");
    run_all(&pool).await;
    let said = system_messages(&pool, s).await;
    assert!(said.iter().any(|m| m.contains("Leave your e-mail address")), "{said:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_takeover_tells_the_customer_who_joined_and_resolving_teaches_an_answer(pool: PgPool) {
    let w = seed(&pool, true).await;
    let s = bot_session(&pool, &w).await;
    let hana = actor(&w, w.human, Role::Agent);
    conversation::send(
        &pool,
        &hana,
        s,
        SendMessage {
            body: "Refunds take five working days to reach your card.".into(),
            ..Default::default()
        },
    )
    .await
    .expect("takeover");
    run_all(&pool).await;
    let said = system_messages(&pool, s).await;
    assert!(said.iter().any(|m| m.contains("Hana has joined the chat")), "{said:?}");
    sessions::resolve(&pool, &hana, s, None).await.expect("resolve");
    run_all(&pool).await;
    assert!(
        alerts(&pool, w.human).await.iter().all(|(kind, _)| kind != "session.handoff"),
        "no alert for oneself"
    );
    let answers: Vec<(String, String)> =
        sqlx::query_as("SELECT question, answer FROM past_answers WHERE session_id = $1")
            .bind(s)
            .fetch_all(&pool)
            .await
            .expect("past answers");
    assert_eq!(
        answers,
        [("I need a person".into(), "Refunds take five working days to reach your card.".into())]
    );
}
