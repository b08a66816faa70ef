//! The built-in bot (`bot` consumer, `domain::bot`) on a real database: it
//! greets, answers from the type's canned replies, asks once when unsure,
//! hands off for every typed reason, stays silent once a person has the
//! session, does nothing twice, and starts afresh after a reopen. With an
//! OpenAI-compatible model (a local chat-completions server this test
//! starts): the request's shape, retries, timeouts, the circuit breaker,
//! invalid JSON and the fallback.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router, extract::State, http::HeaderMap, http::StatusCode, response::IntoResponse, routing::post,
};
mod common;

use common::bots::{BotWorld, bot_world};
use consumers::{handlers::bot::Bot, process};
use domain::{
    Error,
    actor::{Actor, AgentActor, CustomerActor},
    assist::{self, Action, Method, TextProvider},
    bot::{self, BotMode, BotSettings},
    conversation::{self, SendMessage},
    llm::{LlmConfig, OpenAiCompatible},
    outbox::{self, Event},
    sessions::{self, OpenSession},
    types::*,
};
use serde_json::{Value, json};
use sqlx::PgPool;

type World = BotWorld;

const RESET: &str = "Open Settings, then Security, and press Reset password: we e-mail you a link.";

async fn seed(pool: &PgPool, settings: BotSettings) -> World {
    let w = bot_world(pool, true).await;
    let (account, ty) = (w.account, w.ty);
    for (shortcut, title, body) in [
        ("reset", "How do I reset my password?", RESET),
        (
            "invoice",
            "Where do I find my invoices?",
            "Invoices are under Billing, then Invoices, as PDF files.",
        ),
        ("cancel", "How do I cancel my subscription?", "Go to Billing, then Plan, and press Cancel."),
        ("hours", "When is support open?", "We answer chats from 8:00 to 18:00 on weekdays."),
    ] {
        sqlx::query!(
            "INSERT INTO canned_responses (account_id, support_type_id, shortcut, title, body) VALUES ($1, $2, $3, $4, $5)",
            account as AccountId,
            ty as SupportTypeId,
            shortcut,
            title,
            body,
        )
        .execute(pool)
        .await
        .expect("canned reply");
    }
    bot::update_settings(pool, &Actor::System, ty, settings).await.expect("bot settings");
    w
}

fn auto() -> BotSettings {
    BotSettings { mode: BotMode::Auto, threshold: 0.5, ..Default::default() }
}

/// Opens a chat with a first message; the engine gives it to the bot.
async fn chat(pool: &PgPool, w: &World, first: &str) -> (SessionId, Actor) {
    let (s, customer) = sessions::open(
        pool,
        &Actor::System,
        OpenSession { support_type: "help".into(), message: Some(first.into()), ..Default::default() },
    )
    .await
    .expect("open");
    assert_eq!(common::owner_now(pool, &s).await, Some(w.bot));
    let actor =
        Actor::Customer(CustomerActor { customer_id: customer, session_id: s.id, account_id: w.account });
    (s.id, actor)
}

async fn say(pool: &PgPool, customer: &Actor, s: SessionId, body: &str) {
    conversation::send(pool, customer, s, SendMessage { body: body.into(), ..Default::default() })
        .await
        .expect("customer message");
}

/// Runs every event so far through the bot consumer (twice: a redelivery
/// must change nothing).
async fn run(pool: &PgPool, handler: &Bot) {
    let events: Vec<Event> = outbox::since(pool, 0, 10_000).await.expect("events");
    for event in events.iter().chain(events.iter()) {
        process(pool, handler, event, None).await.expect("bot consumer");
    }
}

fn retrieval() -> Bot {
    Bot::new(Arc::new(assist::Retrieval))
}

async fn bot_messages(pool: &PgPool, s: SessionId) -> Vec<String> {
    sqlx::query_scalar!(
        "SELECT body FROM messages WHERE session_id = $1 AND sender_kind = 'bot' ORDER BY id",
        s as SessionId
    )
    .fetch_all(pool)
    .await
    .expect("messages")
}

async fn handoffs(pool: &PgPool, s: SessionId) -> Vec<(String, String)> {
    sqlx::query!("SELECT reason, summary FROM handoffs WHERE session_id = $1 ORDER BY id", s as SessionId)
        .fetch_all(pool)
        .await
        .expect("handoffs")
        .into_iter()
        .map(|r| (r.reason, r.summary))
        .collect()
}

async fn status(pool: &PgPool, s: SessionId) -> (String, Option<AgentId>) {
    let row = sqlx::query!(
        r#"SELECT status, owner_id AS "owner_id: AgentId" FROM sessions WHERE id = $1"#,
        s as SessionId
    )
    .fetch_one(pool)
    .await
    .expect("session");
    (row.status, row.owner_id)
}

async fn turns(pool: &PgPool, s: SessionId) -> Vec<(String, Option<String>)> {
    sqlx::query!("SELECT kind, method FROM bot_turns WHERE session_id = $1 ORDER BY id", s as SessionId)
        .fetch_all(pool)
        .await
        .expect("turns")
        .into_iter()
        .map(|r| (r.kind, r.method))
        .collect()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_bot_greets_and_answers_from_the_canned_replies_once(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, _) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
    run(&pool, &retrieval()).await;
    let said = bot_messages(&pool, s).await;
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains("Penny") && said[0].contains("automated") && said[0].contains("Talk to a person")
    );
    assert_eq!(said[1], RESET);
    assert_eq!(
        turns(&pool, s).await,
        [("greeting".into(), None), ("answer".into(), Some("retrieval".into()))]
    );
    assert_eq!(status(&pool, s).await, ("active".into(), Some(w.bot)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_external_bot_is_left_alone(pool: PgPool) {
    let w = seed(&pool, BotSettings::default()).await;
    let (s, _) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    assert!(bot_messages(&pool, s).await.is_empty());
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn unsure_the_bot_asks_once_then_hands_off_and_falls_silent(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, customer) = chat(&pool, &w, "the blue widget thing is weird").await;
    run(&pool, &retrieval()).await;
    let said = bot_messages(&pool, s).await;
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(said[1], bot::CLARIFY);
    say(&pool, &customer, s, "it wobbles sideways").await;
    run(&pool, &retrieval()).await;
    assert_eq!(bot_messages(&pool, s).await.len(), 2, "no third bot message");
    let h = handoffs(&pool, s).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, "low_confidence");
    assert!(h[0].1.contains("below the threshold") && h[0].1.contains("it wobbles sideways"), "{}", h[0].1);
    assert_eq!(status(&pool, s).await.0, "queued");
    // The bot stays silent afterwards, whatever the customer writes.
    say(&pool, &customer, s, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    assert_eq!(bot_messages(&pool, s).await.len(), 2);
    let bot = Actor::Agent(AgentActor { id: w.bot, account_id: Some(w.account), role: Role::Bot });
    let refused =
        conversation::send(&pool, &bot, s, SendMessage { body: "me again".into(), ..Default::default() })
            .await
            .expect_err("a bot without the session");
    assert!(matches!(refused, Error::Conflict { ref code, .. } if code == "not_owner"), "{refused:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn asking_for_a_person_a_keyword_and_the_turn_limit_hand_off(pool: PgPool) {
    let settings = BotSettings { handoff_keywords: vec!["chargeback".into()], turn_limit: 1, ..auto() };
    let w = seed(&pool, settings).await;

    let (asked, _) = chat(&pool, &w, "Can I talk to a human please?").await;
    let (keyword, _) = chat(&pool, &w, "I will file a Chargeback today").await;
    let (chatty, customer) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    assert_eq!(handoffs(&pool, asked).await[0].0, "customer_request");
    assert_eq!(handoffs(&pool, keyword).await[0].0, "keyword");
    assert!(handoffs(&pool, chatty).await.is_empty(), "one answer is within the limit");
    say(&pool, &customer, chatty, "and where are my invoices?").await;
    run(&pool, &retrieval()).await;
    let h = handoffs(&pool, chatty).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, "turn_limit");
    // Each handed-off session got its greeting, and no answer after the handoff.
    assert_eq!(bot_messages(&pool, asked).await.len(), 1);
    assert_eq!(bot_messages(&pool, chatty).await.len(), 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_customers_button_hands_off_and_a_late_step_sends_nothing(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, customer) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    assert!(sessions::get_for_customer(&pool, &customer, s).await.expect("session").with_bot);
    // The customer writes and, before the bot's step runs, presses the button.
    say(&pool, &customer, s, "where are my invoices?").await;
    let after = sessions::request_person(&pool, &customer, s).await.expect("request a person");
    assert!(!after.with_bot && after.agent_name.is_none());
    let again = sessions::request_person(&pool, &customer, s).await.expect("a second press");
    assert_eq!(again.status, SessionStatus::Queued);
    run(&pool, &retrieval()).await;
    assert_eq!(bot_messages(&pool, s).await.len(), 2, "greeting and the first answer only");
    let h = handoffs(&pool, s).await;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].0, "customer_request");
    let hana = Actor::Agent(AgentActor { id: w.human, account_id: Some(w.account), role: Role::Agent });
    assert_eq!(
        sessions::request_person(&pool, &hana, s).await.expect_err("agents hand off with reassign").code(),
        "forbidden"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn after_a_takeover_the_bots_pending_step_is_dropped(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, customer) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    say(&pool, &customer, s, "where are my invoices?").await;
    // Hana replies first: she takes the session over.
    let hana = Actor::Agent(AgentActor { id: w.human, account_id: Some(w.account), role: Role::Agent });
    conversation::send(
        &pool,
        &hana,
        s,
        SendMessage { body: "I'll take it from here.".into(), ..Default::default() },
    )
    .await
    .expect("takeover");
    run(&pool, &retrieval()).await;
    assert_eq!(bot_messages(&pool, s).await.len(), 2);
    assert_eq!(status(&pool, s).await, ("active".into(), Some(w.human)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_reopened_session_starts_a_new_context(pool: PgPool) {
    let settings = BotSettings { turn_limit: 1, ..auto() };
    let w = seed(&pool, settings).await;
    let (s, customer) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &retrieval()).await;
    sessions::resolve(&pool, &Actor::System, s, None).await.expect("resolve");
    sessions::reopen(&pool, &Actor::System, s).await.expect("reopen");
    sessions::assign(&pool, &Actor::System, s, Some(w.bot)).await.expect("back to the bot");
    say(&pool, &customer, s, "where do I find my invoices?").await;
    run(&pool, &retrieval()).await;
    // The old context's answer does not count against the turn limit: the
    // bot greets again and answers instead of handing off.
    assert!(handoffs(&pool, s).await.is_empty());
    let kinds: Vec<String> = turns(&pool, s).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["greeting", "answer", "greeting", "answer"]);
    let said = bot_messages(&pool, s).await;
    assert!(said[3].starts_with("Invoices are under Billing"), "{said:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bot_settings_are_for_admins_and_checked(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let hana = Actor::Agent(AgentActor { id: w.human, account_id: Some(w.account), role: Role::Agent });
    assert_eq!(bot::settings(&pool, &Actor::System, w.ty).await.expect("admins read").mode, BotMode::Auto);
    assert_eq!(bot::settings(&pool, &hana, w.ty).await.expect_err("not an admin").code(), "forbidden");
    let err =
        bot::update_settings(&pool, &hana, w.ty, BotSettings::default()).await.expect_err("not an admin");
    assert_eq!(err.code(), "forbidden");
    let bad = BotSettings { threshold: 2.0, ..auto() };
    let err = bot::update_settings(&pool, &Actor::System, w.ty, bad).await.expect_err("invalid");
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "threshold"), "{err:?}");
    let other = sqlx::query_scalar!(
        r#"INSERT INTO accounts (slug, name) VALUES ('other', 'Other') RETURNING id AS "id: AccountId""#
    )
    .fetch_one(&pool)
    .await
    .expect("account");
    let admin = sqlx::query_scalar!(
        r#"INSERT INTO agents (account_id, email, display_name, role)
           VALUES ($1, 'a@other.test', 'A', 'admin') RETURNING id AS "id: AgentId""#,
        other as AccountId,
    )
    .fetch_one(&pool)
    .await
    .expect("admin");
    let outsider = Actor::Agent(AgentActor { id: admin, account_id: Some(other), role: Role::Admin });
    assert_eq!(bot::settings(&pool, &outsider, w.ty).await.expect_err("other account").code(), "not_found");
}

// ---------------------------------------------------------------------------
// Drafts, the customer's "That helped", quiet sessions, the bots' report and
// the monitor's list of bot chats.

fn hana(w: &World) -> Actor {
    Actor::Agent(AgentActor { id: w.human, account_id: Some(w.account), role: Role::Agent })
}

/// The bots' report of today, for the whole database.
async fn todays_bot_report(pool: &PgPool) -> domain::reports::bots::BotReport {
    let today = chrono::Utc::now().date_naive();
    domain::reports::bots::bots(pool, &Actor::System, domain::reports::ReportFilter::last_days(today, 1))
        .await
        .expect("report")
}

async fn alerts(pool: &PgPool, agent: AgentId, kind: &str) -> i64 {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM notifications WHERE agent_id = $1 AND kind = $2"#,
        agent as AgentId,
        kind
    )
    .fetch_one(pool)
    .await
    .expect("alerts")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn in_drafts_mode_nothing_is_sent_until_a_person_sends_it(pool: PgPool) {
    let w = seed(&pool, BotSettings { mode: BotMode::Drafts, ..auto() }).await;
    let (s, customer) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
    run(&pool, &retrieval()).await;
    // The greeting and the answer wait as drafts (once, despite the redelivery).
    assert!(bot_messages(&pool, s).await.is_empty());
    let drafts = bot::drafts(&pool, &hana(&w), s).await.expect("drafts");
    let kinds: Vec<&str> = drafts.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["greeting", "answer"]);
    assert_eq!(drafts[1].body, RESET);
    assert_eq!(drafts[1].bot_name, "Penny");
    // Hana (online, serves the type) was alerted once for the session.
    assert_eq!(alerts(&pool, w.human, domain::notifications::kind::BOT_DRAFT).await, 1);
    // The customer cannot see or decide drafts.
    assert_eq!(bot::drafts(&pool, &customer, s).await.expect_err("customer").code(), "forbidden");

    // Hana sends the greeting as written and the answer edited: both are the bot's.
    bot::decide_draft(&pool, &hana(&w), drafts[0].id, bot::DraftDecision::Send { body: None })
        .await
        .expect("send greeting");
    let edited = format!("{RESET} The link is valid for one hour.");
    let sent = bot::decide_draft(
        &pool,
        &hana(&w),
        drafts[1].id,
        bot::DraftDecision::Send { body: Some(edited.clone()) },
    )
    .await
    .expect("send answer")
    .expect("a message");
    assert_eq!(sent.sender_kind, SenderKind::Bot);
    assert_eq!(bot_messages(&pool, s).await, [drafts[0].body.clone(), edited]);
    assert_eq!(status(&pool, s).await, ("active".into(), Some(w.bot)), "the bot still owns it");
    let again = bot::decide_draft(&pool, &hana(&w), drafts[1].id, bot::DraftDecision::Discard)
        .await
        .expect_err("decided already");
    assert_eq!(again.code(), "draft_decided");
    assert!(bot::drafts(&pool, &hana(&w), s).await.expect("none").is_empty());

    // The next answer is drafted; Hana replies herself instead: the draft
    // expires with the bot's assignment, can no longer be sent, and is not listed.
    say(&pool, &customer, s, "where do I find my invoices?").await;
    run(&pool, &retrieval()).await;
    let next = bot::drafts(&pool, &hana(&w), s).await.expect("drafts");
    assert_eq!(next.len(), 1);
    conversation::send(
        &pool,
        &hana(&w),
        s,
        SendMessage { body: "Let me check.".into(), ..Default::default() },
    )
    .await
    .expect("takeover");
    let late = bot::decide_draft(&pool, &hana(&w), next[0].id, bot::DraftDecision::Send { body: None })
        .await
        .expect_err("the bot lost the session");
    assert_eq!(late.code(), "draft_decided");
    assert!(late.to_string().contains("expired"), "{late}");
    assert!(bot::drafts(&pool, &hana(&w), s).await.expect("none").is_empty());
    assert_eq!(bot_messages(&pool, s).await.len(), 2);

    // The report counts them: 3 drafted, 2 sent (1 edited), 1 expired at the takeover.
    let report = todays_bot_report(&pool).await;
    assert_eq!(
        (report.drafts.drafted, report.drafts.sent, report.drafts.edited, report.drafts.expired),
        (3, 2, 1, 1),
        "the draft left at the takeover expired"
    );
    assert_eq!(report.drafts.waiting, 0);
}

/// A person sends a draft while another takes the session over, at once:
/// both take the session's lock before the draft's, so they never deadlock;
/// either the draft goes out before the takeover or it expires with the
/// bot's assignment, and no bot message follows the person's.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sending_a_draft_while_a_person_takes_over_never_deadlocks(pool: PgPool) {
    let w = seed(&pool, BotSettings { mode: BotMode::Drafts, ..auto() }).await;
    for round in 0..8 {
        let (s, _) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
        run(&pool, &retrieval()).await;
        let answer = bot::drafts(&pool, &hana(&w), s).await.expect("drafts").pop().expect("the answer");
        let (p1, p2, who) = (pool.clone(), pool.clone(), hana(&w));
        let send = tokio::spawn(async move {
            bot::decide_draft(&p1, &who, answer.id, bot::DraftDecision::Send { body: None }).await
        });
        let takeover = tokio::spawn(async move {
            let body = format!("I'll take this one ({round}).");
            conversation::send(&p2, &who, s, SendMessage { body, ..Default::default() }).await
        });
        let (sent, took) = (send.await.expect("join"), takeover.await.expect("join"));
        let mine = took.expect("the takeover always succeeds");
        // Sent before the takeover, or expired by it: never another error.
        if let Err(err) = sent {
            assert_eq!(err.code(), "draft_decided", "{err:?}");
        }
        let said = conversation::history(&pool, &Actor::System, s, None, Some(100)).await.expect("history");
        let last_bot = said.items.iter().filter(|m| m.sender_kind == SenderKind::Bot).map(|m| m.id).max();
        assert!(last_bot.is_none_or(|b| b < mine.id), "a bot message after the takeover in round {round}");
        // Hana is done with it, so she has room for the next round's.
        sessions::resolve(&pool, &hana(&w), s, None).await.expect("resolve");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn that_helped_resolves_as_confirmed_and_a_reopen_takes_it_back(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, customer) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
    // Before the bot answered anything there is nothing to confirm.
    let early = bot::helped(&pool, &customer, s).await.expect_err("no answer yet");
    assert_eq!(early.code(), "no_bot_answer");
    run(&pool, &retrieval()).await;
    assert_eq!(bot::helped(&pool, &hana(&w), s).await.expect_err("not the customer").code(), "forbidden");
    bot::helped(&pool, &customer, s).await.expect("that helped");
    assert_eq!(status(&pool, s).await, ("resolved".into(), None));
    let resolved_by = sqlx::query_scalar!(
        r#"SELECT resolved_by_id AS "by: AgentId" FROM sessions WHERE id = $1"#,
        s as SessionId
    )
    .fetch_one(&pool)
    .await
    .expect("session");
    assert_eq!(resolved_by, Some(w.bot));

    // A second chat: the customer leaves the bot's answer unanswered; a
    // third ends on the bot's question, a fourth on the customer's words.
    let (quiet, _) = chat(&pool, &w, "where do I find my invoices?").await;
    let (asked, _) = chat(&pool, &w, "the blue widget thing is weird").await;
    let (waiting, c4) = chat(&pool, &w, "how do I cancel my subscription?").await;
    run(&pool, &retrieval()).await;
    say(&pool, &c4, waiting, "thanks, and one more thing").await;
    // The handler would answer that message: leave it unprocessed, as if the
    // bot were still thinking, to see that the customer's word keeps it open.
    assert_eq!(
        bot::resolve_quiet(&pool, Duration::from_secs(3600)).await.expect("sweep"),
        0,
        "not quiet for long"
    );
    assert_eq!(bot::resolve_quiet(&pool, Duration::ZERO).await.expect("sweep"), 1);
    assert_eq!(status(&pool, quiet).await.0, "resolved");
    assert_eq!(
        status(&pool, asked).await.0,
        "active",
        "a question the customer did not answer resolves nothing"
    );
    assert_eq!(status(&pool, waiting).await.0, "active", "the customer spoke last");

    // The confirmed one is reopened: the report deducts it.
    sessions::reopen(&pool, &Actor::System, s).await.expect("reopen");
    let today = chrono::Utc::now().date_naive();
    let filter = domain::reports::ReportFilter::last_days(today, 1);
    let report = domain::reports::bots::bots(&pool, &Actor::System, filter.clone()).await.expect("report");
    assert_eq!((report.confirmed, report.assumed, report.deducted), (1, 1, 1));
    assert_eq!(report.involved, 4);
    assert_eq!(report.resolution_rate, Some(0.25));
    // Admins of another account read nothing of this one; agents are refused.
    assert_eq!(
        domain::reports::bots::bots(&pool, &hana(&w), filter).await.expect_err("an agent").code(),
        "forbidden"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_report_counts_handoffs_by_reason_with_their_time_and_suggestions(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (asked, c1) = chat(&pool, &w, "Can I talk to a human please?").await;
    let (unsure, c2) = chat(&pool, &w, "the blue widget thing is weird").await;
    run(&pool, &retrieval()).await;
    say(&pool, &c2, unsure, "it wobbles sideways").await;
    run(&pool, &retrieval()).await;
    assert_eq!(handoffs(&pool, asked).await.len(), 1);
    assert_eq!(handoffs(&pool, unsure).await.len(), 1);
    // Hana gets suggestions in the first one and takes the best as it is.
    sessions::assign(&pool, &Actor::System, asked, Some(w.human)).await.expect("to Hana");
    say(&pool, &c1, asked, "how can I reset my password?").await;
    let shown = assist::suggestions(&pool, &hana(&w), asked).await.expect("suggestions");
    assert_eq!(shown.first().map(|s| s.body.as_str()), Some(RESET));
    assist::record_outcome(&pool, &hana(&w), asked, shown[0].id, assist::Outcome::Accepted)
        .await
        .expect("outcome");
    let report = todays_bot_report(&pool).await;
    let reasons: Vec<(&str, i64)> = report.handoffs.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(reasons, [("customer_request", 1), ("low_confidence", 1)]);
    assert_eq!(report.time_to_handoff.n, 2);
    assert!(report.time_to_handoff.p50_ms.is_some_and(|ms| ms >= 0.0));
    assert_eq!((report.suggestions.shown, report.suggestions.accepted), (shown.len() as i64, 1));
    assert_eq!(report.suggestions.acceptance_rate, Some(1.0 / shown.len() as f64));
    // The type filter narrows; another type has nothing.
    let mut other = domain::reports::ReportFilter::last_days(chrono::Utc::now().date_naive(), 1);
    other.support_type_id = Some(SupportTypeId(uuid::Uuid::new_v4()));
    let none = domain::reports::bots::bots(&pool, &Actor::System, other).await.expect("report");
    assert_eq!((none.involved, none.handoffs_total()), (0, 0));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_monitor_lists_the_chats_bots_have_with_their_drafts(pool: PgPool) {
    let w = seed(&pool, BotSettings { mode: BotMode::Drafts, ..auto() }).await;
    let (s, _) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
    let (handed, _) = chat(&pool, &w, "Can I talk to a human please?").await;
    run(&pool, &retrieval()).await;
    let m = domain::monitor::snapshot(&pool, &Actor::System, Some(w.account)).await.expect("monitor");
    assert_eq!(m.bot_chats_total, 1, "the handed-off chat is no longer the bot's");
    let chat = &m.bot_chats[0];
    assert_eq!((chat.id, chat.bot_name.as_str(), chat.drafts_waiting), (s, "Penny", 2));
    assert!(m.bot_chats.iter().all(|c| c.id != handed));
}

// ---------------------------------------------------------------------------
// The OpenAI-compatible provider against a local chat-completions server.

/// What the stub model does with each request.
#[derive(Clone)]
enum Behaviour {
    /// 200 with this content as the assistant's message.
    Content(String),
    Status(u16),
    /// Waits this long, then answers with the content.
    Slow(Duration, String),
}

/// The last request's JSON body and its `Authorization` header.
type Seen = Arc<Mutex<Option<(Value, Option<String>)>>>;

#[derive(Clone)]
struct Stub {
    behaviour: Arc<Mutex<Behaviour>>,
    hits: Arc<AtomicUsize>,
    last: Seen,
}

async fn completions(
    State(stub): State<Stub>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    stub.hits.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    *stub.last.lock().expect("lock") = Some((body, auth));
    let behaviour = stub.behaviour.lock().expect("lock").clone();
    let reply = |content: String| {
        Json(json!({ "id": "c1", "object": "chat.completion",
                     "choices": [{ "index": 0, "message": { "role": "assistant", "content": content },
                                   "finish_reason": "stop" }] }))
        .into_response()
    };
    match behaviour {
        Behaviour::Content(c) => reply(c),
        Behaviour::Status(code) => {
            (StatusCode::from_u16(code).expect("status"), "model error").into_response()
        }
        Behaviour::Slow(wait, c) => {
            tokio::time::sleep(wait).await;
            reply(c)
        }
    }
}

async fn stub_model(behaviour: Behaviour) -> (Stub, String) {
    let stub = Stub {
        behaviour: Arc::new(Mutex::new(behaviour)),
        hits: Arc::new(AtomicUsize::new(0)),
        last: Arc::new(Mutex::new(None)),
    };
    let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (stub, format!("http://{addr}/v1"))
}

fn config(base: &str) -> LlmConfig {
    LlmConfig {
        api_key: Some("sk-test".into()),
        timeout: Duration::from_millis(400),
        deadline: Duration::from_secs(3),
        retries: 2,
        backoff: Duration::from_millis(10),
        breaker_failures: 2,
        breaker_cooldown: Duration::from_secs(600),
        ..LlmConfig::new(base, "smol-test")
    }
}

fn good(reply: &str, action: &str, confidence: f64) -> String {
    json!({ "reply": reply, "action": action, "confidence": confidence }).to_string()
}

async fn ask(pool: &PgPool, w: &World, provider: &OpenAiCompatible, question: &str) -> assist::Answer {
    let mut conn = pool.acquire().await.expect("conn");
    let ctx = assist::Context {
        history: vec![(SenderKind::Customer, question.to_owned())],
        instructions: "Be brief.".into(),
        support_type: "Help desk".into(),
        bot_name: "Penny".into(),
        ..assist::Context::question(w.account, w.ty, question)
    };
    provider.answer(&mut conn, &ctx).await.expect("an answer, never an error")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_model_gets_a_well_formed_request_and_its_reply_is_sent(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (stub, base) =
        stub_model(Behaviour::Content(good("Use Settings, then Security.", "answer", 0.92))).await;
    let provider = Arc::new(OpenAiCompatible::new(config(&base)));
    let (s, _) = chat(&pool, &w, "I forgot my password, how can I reset it?").await;
    run(&pool, &Bot::new(provider.clone())).await;
    assert_eq!(bot_messages(&pool, s).await[1], "Use Settings, then Security.");
    assert_eq!(turns(&pool, s).await[1], ("answer".into(), Some("llm".into())));
    assert_eq!(stub.hits.load(Ordering::SeqCst), 1, "one call, and none for the redelivery");

    let (body, auth) = stub.last.lock().expect("lock").clone().expect("a request");
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "smol-test");
    assert_eq!(body["response_format"]["type"], "json_object");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().expect("system text");
    assert!(system.contains("Penny") && system.contains("Help desk"), "{system}");
    assert!(system.contains(RESET), "the retrieved source is in the prompt: {system}");
    let last = messages.last().expect("a last message");
    assert_eq!(
        (last["role"].as_str(), last["content"].as_str()),
        (Some("user"), Some("I forgot my password, how can I reset it?"))
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_failing_model_is_retried_then_the_built_in_provider_answers(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (stub, base) = stub_model(Behaviour::Status(500)).await;
    let provider = OpenAiCompatible::new(config(&base));
    let answer = ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert_eq!(stub.hits.load(Ordering::SeqCst), 3, "the first call and two retries");
    assert_eq!(answer.method, Method::Retrieval);
    assert_eq!(answer.text.as_deref(), Some(RESET));
    assert!(answer.fallback.as_deref().is_some_and(|f| f.contains("500")), "{:?}", answer.fallback);

    // A 4xx is not retried.
    *stub.behaviour.lock().expect("lock") = Behaviour::Status(400);
    let provider = OpenAiCompatible::new(config(&base));
    let before = stub.hits.load(Ordering::SeqCst);
    let answer = ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert_eq!(stub.hits.load(Ordering::SeqCst), before + 1);
    assert!(answer.fallback.as_deref().is_some_and(|f| f.contains("400")), "{:?}", answer.fallback);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_slow_model_times_out_and_the_circuit_opens(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (stub, base) = stub_model(Behaviour::Slow(Duration::from_secs(5), good("late", "answer", 0.9))).await;
    let provider = OpenAiCompatible::new(LlmConfig { retries: 0, ..config(&base) });
    let started = std::time::Instant::now();
    let answer = ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert!(answer.fallback.as_deref().is_some_and(|f| f.contains("timed out")), "{:?}", answer.fallback);
    assert!(started.elapsed() < Duration::from_secs(4), "the 400 ms timeout held, not the model's 5 s");
    assert!(!provider.breaker().is_open());
    ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert!(provider.breaker().is_open(), "two failed answers in a row open it");
    let hits = stub.hits.load(Ordering::SeqCst);
    let answer = ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert_eq!(stub.hits.load(Ordering::SeqCst), hits, "an open circuit makes no call");
    assert!(answer.fallback.as_deref().is_some_and(|f| f.contains("circuit")), "{:?}", answer.fallback);
    assert_eq!(answer.text.as_deref(), Some(RESET));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn invalid_json_is_low_confidence_and_a_model_handoff_is_policy(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (stub, base) = stub_model(Behaviour::Content("Sure, reset it in Settings!".into())).await;
    let provider = Arc::new(OpenAiCompatible::new(config(&base)));
    let answer = ask(&pool, &w, &provider, "how can I reset my password?").await;
    assert_eq!((answer.text.as_deref(), answer.confidence, answer.method), (None, 0.0, Method::Llm));
    assert!(answer.reason.as_deref().is_some_and(|r| r.contains("JSON")), "{:?}", answer.reason);
    assert!(!provider.breaker().is_open(), "a reply that is not JSON is not an outage");

    // Through the bot: it asks instead of sending the unparsed text.
    let (s, _) = chat(&pool, &w, "how can I reset my password?").await;
    run(&pool, &Bot::new(provider.clone())).await;
    assert_eq!(bot_messages(&pool, s).await[1], bot::CLARIFY);

    // The model's own handoff is typed `policy`.
    *stub.behaviour.lock().expect("lock") =
        Behaviour::Content(good("A person must approve refunds.", "handoff", 0.9));
    let (s2, _) = chat(&pool, &w, "I want my money back for last year").await;
    run(&pool, &Bot::new(provider.clone())).await;
    assert_eq!(handoffs(&pool, s2).await[0].0, "policy");
    assert_eq!(
        ask(&pool, &w, &provider, "x").await.action,
        Action::Handoff,
        "the action is read from the model's JSON"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn two_deliveries_at_once_give_one_reply(pool: PgPool) {
    let w = seed(&pool, auto()).await;
    let (s, customer) = chat(&pool, &w, "how can I reset my password?").await;
    let handler = retrieval();
    run(&pool, &handler).await;
    assert_eq!(bot_messages(&pool, s).await.len(), 2);
    say(&pool, &customer, s, "where do I find my invoices?").await;
    say(&pool, &customer, s, "and the invoices of last year?").await;
    let events: Vec<Event> = outbox::since(&pool, 0, 10_000).await.expect("events");
    let fresh: Vec<&Event> = events
        .iter()
        .filter(|e| e.topic == "message.created" && e.payload["sender_kind"] == "customer")
        .skip(1)
        .collect();
    assert_eq!(fresh.len(), 2);
    // Both customer messages' events at the same moment, as two consumers
    // (or a prefetch of two) would deliver them: each sees both messages
    // waiting, and only one may answer.
    let (a, b) =
        tokio::join!(process(&pool, &handler, fresh[0], None), process(&pool, &handler, fresh[1], None));
    a.expect("first delivery");
    b.expect("second delivery");
    let said = bot_messages(&pool, s).await;
    assert_eq!(said.len(), 3, "{said:?}");
}

/// The relay gives the bot consumer only bots' business: the assignment to
/// the bot and its customer's messages, never a person's session or the
/// bot's own words (in embedded mode each of those cost a delivery).
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_relay_gives_the_bot_only_its_sessions(pool: PgPool) {
    use consumers::relay::{InboxPublisher, relay_batch};
    let w = seed(&pool, auto()).await;
    sqlx::query!(
        "INSERT INTO support_types (account_id, slug, name, routing, reason_required)
         VALUES ($1, 'people', 'People', 'manual', false)",
        w.account as AccountId
    )
    .execute(&pool)
    .await
    .expect("a type without a bot");
    let (bots, customer) = chat(&pool, &w, "How do I reset my password?").await;
    say(&pool, &customer, bots, "And my invoices?").await;
    let (persons, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession { support_type: "people".into(), message: Some("Hello?".into()), ..Default::default() },
    )
    .await
    .expect("open");
    let handlers: Vec<Arc<dyn consumers::Handler>> = vec![Arc::new(Bot::new(Arc::new(assist::Retrieval)))];
    let publisher = InboxPublisher::new(&handlers);
    while relay_batch(&pool, &publisher).await.expect("relay") > 0 {}
    let delivered = sqlx::query!(
        r#"SELECT o.topic AS "topic!", o.session_id AS "session!", o.payload->>'sender_kind' AS sender
             FROM consumer_inbox i JOIN outbox o ON o.id = i.outbox_id
            WHERE i.consumer = 'bot' ORDER BY o.id"#
    )
    .fetch_all(&pool)
    .await
    .expect("inbox");
    let delivered: Vec<(String, Option<String>)> = delivered
        .iter()
        .inspect(|d| assert_eq!(d.session, bots.0))
        .map(|d| (d.topic.clone(), d.sender.clone()))
        .collect();
    let customer = Some("customer".to_owned());
    assert_eq!(
        delivered,
        [
            ("message.created".to_owned(), customer.clone()),
            ("session.assigned".to_owned(), None),
            ("message.created".to_owned(), customer),
        ],
        "the person's session ({}) and nothing else",
        persons.id
    );
    // Those deliveries are what the bot answers from.
    let bot = Bot::new(Arc::new(assist::Retrieval));
    assert_eq!(
        consumers::embedded::drain(&pool, &bot, &consumers::metrics::ConsumerMetrics::default())
            .await
            .expect("drain"),
        3
    );
    let said: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM messages WHERE session_id = $1 AND sender_kind = 'bot'"#,
        bots.0
    )
    .fetch_one(&pool)
    .await
    .expect("replies");
    assert!(said >= 2, "a greeting and an answer, from {said} messages");
}
