//! Bots on the session API: exactly one owner speaks, handoffs are typed and
//! recorded, a person's reply takes a bot's session over, and the built-in
//! retrieval answers from the session's own account and type only.

mod common;

use common::*;
use domain::{
    Error,
    actor::Actor,
    assist::{self, Outcome, Source},
    config::{self, NewCannedResponse},
    conversation::{self, SendMessage},
    engine,
    sessions::{self, HandoffNote, OpenSession, ReassignTarget},
    types::*,
};
use sqlx::PgPool;

fn code(err: Error) -> String {
    err.code().to_owned()
}

fn say(body: &str) -> SendMessage {
    SendMessage { body: body.into(), ..Default::default() }
}

struct World {
    acc: AccountId,
    ty: SupportTypeId,
    bot: AgentId,
    human: AgentId,
}

async fn world(pool: &PgPool) -> World {
    let acc = account(pool, "acme").await;
    let ty = support_type(pool, acc, "triage", Routing::RoundRobin).await;
    let bot = agent(pool, acc, "bot@acme.test", Role::Bot, 100, true, &[]).await;
    bot_first(pool, ty, bot).await;
    let human = agent(pool, acc, "h@acme.test", Role::Agent, 5, true, &[ty]).await;
    World { acc, ty, bot, human }
}

/// The engine's pick for a queued session. The refused send just before
/// held the session's row lock until its connection's rollback ran, and the
/// engine skips locked rows (`SKIP LOCKED`), so a pass may find nothing to
/// do for a moment: like the sweep, ask again (bounded).
async fn assign_when_free(pool: &PgPool, s: SessionId) -> Option<AgentId> {
    for _ in 0..50 {
        if let Some(agent) = engine::assign_one(pool, s).await.expect("engine") {
            return Some(agent);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// A session of the world's type that its bot owns.
async fn bot_session(pool: &PgPool, w: &World) -> SessionId {
    let s = open(pool, "triage").await;
    assert_eq!(owner_now(pool, &s).await, Some(w.bot));
    s.id
}

/// A bot-first chat goes to the bot even while another transaction holds
/// the bot's row (here a heartbeat; under load, the bot's other
/// assignments): the open waits for the row rather than skip the bot and
/// give the chat to a person. (CI once saw the faq-bot example lose its chat
/// to a person this way, when the bot's first heartbeat met the chat's open.)
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_bot_first_chat_waits_for_the_bots_row_rather_than_go_to_a_person(pool: PgPool) {
    let w = world(&pool).await;
    let mut heartbeat = pool.begin().await.expect("begin");
    sqlx::query!("UPDATE agents SET last_heartbeat_at = now() WHERE id = $1", w.bot.0)
        .execute(&mut *heartbeat)
        .await
        .expect("heartbeat");
    let opening = tokio::spawn({
        let pool = pool.clone();
        async move { open(&pool, "triage").await }
    });
    // Until the open waits on a lock (or has finished: then it did not wait,
    // and the owner below says to whom the chat went).
    let started = std::time::Instant::now();
    while !opening.is_finished() {
        let waiting = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                              WHERE datname = current_database() AND wait_event_type = 'Lock') AS "waiting!""#
        )
        .fetch_one(&pool)
        .await
        .expect("pg_stat_activity");
        if waiting {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the open neither waited nor ended");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    heartbeat.commit().await.expect("commit");
    let s = opening.await.expect("open");
    assert_eq!(owner_now(&pool, &s).await, Some(w.bot), "the chat went to a person: {:?}", w.human);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_bot_hands_off_with_a_typed_reason_and_is_then_refused(pool: PgPool) {
    let w = world(&pool).await;
    let s = bot_session(&pool, &w).await;
    let bot = as_agent(w.bot, w.acc, Role::Bot);
    conversation::send(&pool, &bot, s, say("Hi, I'm the assistant")).await.expect("bot greets");

    // A bot names why; an untyped handoff is refused and changes nothing.
    let err = sessions::reassign(&pool, &bot, s, ReassignTarget::Queue, AssignReason::Handoff)
        .await
        .expect_err("untyped");
    assert_eq!(code(err), "invalid");
    assert_eq!(sessions::get(&pool, &Actor::System, s).await.expect("get").owner_id, Some(w.bot));
    let too_long = HandoffNote { reason: HandoffReason::LowConfidence, summary: "x".repeat(501) };
    let err = sessions::hand_off(&pool, &bot, s, ReassignTarget::Queue, too_long).await.expect_err("long");
    assert_eq!(code(err), "invalid");

    let note = HandoffNote { reason: HandoffReason::CustomerRequest, summary: "Wants a refund".into() };
    let moved = sessions::hand_off(&pool, &bot, s, ReassignTarget::Queue, note).await.expect("handoff");
    assert_eq!(moved.status, SessionStatus::Queued);
    let recorded: (String, String, AgentId) =
        sqlx::query_as("SELECT reason, summary, from_agent_id FROM handoffs WHERE session_id = $1")
            .bind(s)
            .fetch_one(&pool)
            .await
            .expect("handoff row");
    assert_eq!(recorded, ("customer_request".into(), "Wants a refund".into(), w.bot));
    let topics = outbox_topics(&pool, s).await;
    assert!(topics.contains(&"session.handed_off".to_owned()), "{topics:?}");

    // The bot no longer owns it: 409 not_owner, and nothing is stored.
    let err = conversation::send(&pool, &bot, s, say("One more thing")).await.expect_err("after handoff");
    assert_eq!(code(err), "not_owner");
    assert_eq!(assign_when_free(&pool, s).await, Some(w.human), "a human, not the bot");
    let err = conversation::send(&pool, &bot, s, say("Still here")).await.expect_err("human owns it");
    assert_eq!(code(err), "not_owner");
    let bot_messages: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE session_id = $1 AND sender_kind = 'bot'")
            .bind(s)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(bot_messages, 1);

    // A note goes with reason handoff only.
    let human = as_agent(w.human, w.acc, Role::Agent);
    let note = HandoffNote { reason: HandoffReason::Policy, summary: String::new() };
    let err =
        sessions::reassign_noted(&pool, &human, s, ReassignTarget::Queue, AssignReason::Transfer, Some(note))
            .await
            .expect_err("note on a transfer");
    assert_eq!(code(err), "invalid");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_persons_reply_takes_a_bots_session_over(pool: PgPool) {
    let w = world(&pool).await;
    let s = bot_session(&pool, &w).await;
    let human = as_agent(w.human, w.acc, Role::Agent);
    let sent = conversation::send(&pool, &human, s, say("Hello, Hana here")).await.expect("takeover reply");
    assert_eq!(sent.sender_kind, SenderKind::Agent);
    let now = sessions::get(&pool, &Actor::System, s).await.expect("get");
    assert_eq!((now.status, now.owner_id), (SessionStatus::Active, Some(w.human)));
    let reason: String = sqlx::query_scalar("SELECT reason FROM handoffs WHERE session_id = $1")
        .bind(s)
        .fetch_one(&pool)
        .await
        .expect("handoff row");
    assert_eq!(reason, "takeover");
    let bot = as_agent(w.bot, w.acc, Role::Bot);
    assert_eq!(code(conversation::send(&pool, &bot, s, say("hm")).await.expect_err("bot")), "not_owner");

    // Someone who may not take it (no skill for the type) cannot take over.
    let s2 = bot_session(&pool, &w).await;
    let other = support_type(&pool, w.acc, "other", Routing::RoundRobin).await;
    let outsider = agent(&pool, w.acc, "o@acme.test", Role::Supervisor, 5, true, &[other]).await;
    let err = conversation::send(&pool, &as_agent(outsider, w.acc, Role::Supervisor), s2, say("hi"))
        .await
        .expect_err("not eligible");
    assert_ne!(code(err), "internal");
    assert_eq!(sessions::get(&pool, &Actor::System, s2).await.expect("get").owner_id, Some(w.bot));
}

/// 50 concurrent bot sends race one human takeover: every bot message that
/// was stored precedes the takeover, by id and by time, and every later send
/// was refused with 409.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_bot_message_is_stored_after_a_takeover_commits(pool: PgPool) {
    let w = world(&pool).await;
    let s = bot_session(&pool, &w).await;
    let bot = as_agent(w.bot, w.acc, Role::Bot);
    let human = as_agent(w.human, w.acc, Role::Agent);
    let mut sends = Vec::new();
    for i in 0..50 {
        let p = pool.clone();
        sends.push(tokio::spawn(
            async move { conversation::send(&p, &bot, s, say(&format!("bot {i}"))).await },
        ));
        if i == 25 {
            let p = pool.clone();
            sends.push(tokio::spawn(async move { conversation::send(&p, &human, s, say("I'm here")).await }));
        }
    }
    let (mut stored, mut refused) = (0, 0);
    for send in sends {
        match send.await.expect("join") {
            Ok(m) if m.sender_kind == SenderKind::Bot => stored += 1,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(code(e), "not_owner");
                refused += 1;
            }
        }
    }
    assert_eq!(stored + refused, 50);
    let (human_msg, taken_at): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT m.id, a.ended_at FROM messages m, assignments a
         WHERE m.session_id = $1 AND m.sender_kind = 'agent' AND a.session_id = $1 AND a.agent_id = $2",
    )
    .bind(s)
    .bind(w.bot)
    .fetch_one(&pool)
    .await
    .expect("takeover");
    let (last_bot_id, last_bot_at, count): (Option<i64>, Option<chrono::DateTime<chrono::Utc>>, i64) =
        sqlx::query_as(
            "SELECT max(id), max(created_at), count(*) FROM messages WHERE session_id = $1 AND sender_kind = 'bot'",
        )
        .bind(s)
        .fetch_one(&pool)
        .await
        .expect("bot messages");
    assert_eq!(count, stored);
    if let (Some(id), Some(at)) = (last_bot_id, last_bot_at) {
        assert!(id < human_msg, "bot message {id} after the human's {human_msg}");
        assert!(at <= taken_at, "bot message at {at} after the takeover at {taken_at}");
    }
}

async fn canned(
    pool: &PgPool,
    acc: AccountId,
    ty: Option<SupportTypeId>,
    shortcut: &str,
    title: &str,
    body: &str,
) {
    config::create_canned(
        pool,
        &Actor::System,
        NewCannedResponse {
            account_id: Some(acc),
            support_type_id: ty,
            shortcut: shortcut.into(),
            title: title.into(),
            body: body.into(),
        },
    )
    .await
    .expect("canned");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn suggestions_come_from_the_sessions_own_account_and_type(pool: PgPool) {
    let w = world(&pool).await;
    let rival = account(&pool, "rival").await;
    let rival_ty = support_type(&pool, rival, "rival-triage", Routing::RoundRobin).await;
    canned(&pool, rival, Some(rival_ty), "refund", "How do I get a refund?", "RIVAL: refunds by fax only.")
        .await;
    let billing = support_type(&pool, w.acc, "billing", Routing::RoundRobin).await;
    canned(&pool, w.acc, Some(billing), "refund-b", "How do I get a refund?", "BILLING: other type.").await;
    canned(&pool, w.acc, Some(w.ty), "refund", "Refund policy", "Refunds reach your card within 5 days.")
        .await;
    canned(&pool, w.acc, None, "hours", "Opening hours", "We are open 9 to 5 on weekdays.").await;

    let (s, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "triage".into(),
            message: Some("when will my money be refunded?".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    let human = as_agent(w.human, w.acc, Role::Agent);
    let got = assist::suggestions(&pool, &human, s.id).await.expect("suggestions");
    assert!(!got.is_empty());
    assert_eq!(got[0].body, "Refunds reach your card within 5 days.");
    assert!(got.iter().all(|g| !g.body.starts_with("RIVAL") && !g.body.starts_with("BILLING")), "{got:?}");
    assert!(got.windows(2).all(|p| p[0].score >= p[1].score && p[0].rank < p[1].rank));
    assert!(got.iter().all(|g| (0.0..=1.0).contains(&g.confidence)));
    // Each one is logged under the id it was shown with (one statement
    // writes them all).
    let logged =
        sqlx::query!("SELECT id, rank, body FROM suggestions WHERE session_id = $1 ORDER BY rank", s.id.0)
            .fetch_all(&pool)
            .await
            .expect("logged");
    assert_eq!(
        logged.iter().map(|l| (l.id, l.rank, l.body.as_str())).collect::<Vec<_>>(),
        got.iter().map(|g| (g.id, g.rank, g.body.as_str())).collect::<Vec<_>>()
    );

    // The outcome is recorded once, by the agent it was shown to.
    assist::record_outcome(&pool, &human, s.id, got[0].id, Outcome::Edited).await.expect("outcome");
    let err =
        assist::record_outcome(&pool, &human, s.id, got[0].id, Outcome::Accepted).await.expect_err("twice");
    assert_eq!(code(err), "outcome_recorded");
    let rival_admin = agent(&pool, rival, "r@rival.test", Role::Admin, 5, true, &[]).await;
    let err = assist::suggestions(&pool, &as_agent(rival_admin, rival, Role::Admin), s.id)
        .await
        .expect_err("another account");
    assert_eq!(code(err), "not_found");
    let customer_actor = Actor::System;
    assert_eq!(
        code(assist::suggestions(&pool, &customer_actor, s.id).await.expect_err("system")),
        "forbidden"
    );

    // A question without searchable words has no answer, with a reason.
    let mut conn = pool.acquire().await.expect("conn");
    assert!(assist::retrieve(&mut conn, w.acc, w.ty, "the and of", 5).await.expect("retrieve").is_empty());
    let ctx = assist::Context::question(w.acc, w.ty, "hi");
    let answer = assist::TextProvider::answer(&assist::Retrieval, &mut conn, &ctx).await.expect("answer");
    assert!(answer.text.is_none() && answer.reason.is_some() && answer.confidence == 0.0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn resolved_sessions_teach_past_answers(pool: PgPool) {
    let w = world(&pool).await;
    let (s, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "triage".into(),
            message: Some("My invoice shows the wrong VAT number".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    assert_eq!(owner_now(&pool, &s).await, Some(w.bot));
    let human = as_agent(w.human, w.acc, Role::Agent);
    conversation::send(&pool, &human, s.id, say("I have corrected the VAT number and re-sent the invoice."))
        .await
        .expect("takeover answer");
    let mut conn = pool.acquire().await.expect("conn");
    assert_eq!(assist::harvest(&mut conn, &[s.id]).await.expect("not resolved yet"), 0);
    sessions::resolve(&pool, &human, s.id, None).await.expect("resolve");
    assert_eq!(assist::harvest(&mut conn, &[s.id]).await.expect("harvest"), 1);
    assert_eq!(assist::harvest(&mut conn, &[s.id]).await.expect("again"), 0, "idempotent");

    let ranked =
        assist::retrieve(&mut conn, w.acc, w.ty, "invoice has an incorrect vat no.", 3).await.expect("r");
    assert!(matches!(ranked[0].source, Source::PastAnswer { session_id, .. } if session_id == s.id));
    assert_eq!(ranked[0].body, "I have corrected the VAT number and re-sent the invoice.");
    let other = account(&pool, "other").await;
    let other_ty = support_type(&pool, other, "other-triage", Routing::RoundRobin).await;
    assert!(assist::retrieve(&mut conn, other, other_ty, "wrong VAT number", 3).await.expect("r").is_empty());
}

/// The public FAQ data set (installed by `scripts/test`, `ensure_faq`) as
/// one type's canned replies: a few reworded questions have a known best
/// answer, and the whole reworded set keeps its measured quality.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn retrieval_answers_reworded_faq_questions(pool: PgPool) {
    let path = std::env::var("FAQ_DATA").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/tools/faq-1.2.1/zaragoza_construction_faq/data/faq-en.jsonl"
        )
        .to_owned()
    });
    let faq = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; run `source scripts/lib.sh; ensure_faq` (scripts/test does)")
    });
    let acc = account(&pool, "zaragoza").await;
    let ty = support_type(&pool, acc, "construction", Routing::RoundRobin).await;
    let mut faq_of = std::collections::HashMap::new();
    for line in faq.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("faq json");
        let id = row["id"].as_str().expect("id").to_owned();
        let shortcut: String = id
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
            .take(40)
            .collect();
        let created = config::create_canned(
            &pool,
            &Actor::System,
            NewCannedResponse {
                account_id: Some(acc),
                support_type_id: Some(ty),
                shortcut,
                title: row["q"].as_str().expect("q").chars().take(120).collect(),
                body: row["a"].as_str().expect("a").chars().take(5000).collect(),
            },
        )
        .await
        .expect("canned");
        faq_of.insert(created.id, id);
    }
    let mut conn = pool.acquire().await.expect("conn");
    let queries = include_str!("../../bench/data/faq-paraphrases.jsonl");
    // Deterministic top-1 answers for a few customer phrasings.
    let expected = ["attefall-006", "rot-028", "tak-013", "el-010", "radon-fuktskador-002"];
    let (mut rr, mut n, mut top1_checked) = (0.0, 0.0, 0);
    for line in queries.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("paraphrase json");
        let (want, q) = (row["id"].as_str().expect("id"), row["q"].as_str().expect("q"));
        let ranked = assist::retrieve(&mut conn, acc, ty, q, 10).await.expect("retrieve");
        let ids: Vec<&str> = ranked
            .iter()
            .filter_map(|c| match &c.source {
                Source::CannedResponse { id } => faq_of.get(id).map(String::as_str),
                Source::PastAnswer { .. } => None,
            })
            .collect();
        if expected.contains(&want) {
            assert_eq!(ids.first(), Some(&want), "{q:?}");
            top1_checked += 1;
        }
        rr += ids.iter().position(|id| *id == want).map_or(0.0, |r| 1.0 / (r as f64 + 1.0));
        n += 1.0;
    }
    assert_eq!(top1_checked, expected.len());
    // The measured MRR@10 is 0.576 (README, *Earlier findings*; the outside
    // bench sees only the top 3, as MRR@3); this guards it against
    // regressions. (The issue's goal is 0.6, not met yet.)
    let mrr = rr / n;
    assert!(mrr >= 0.55, "MRR@10 fell to {mrr:.3}");
}

/// `pairs` resolved question and answer pairs in the type, oldest first:
/// 100 per session, written with SQL (a year of history in miniature) and
/// taken in by [`assist::harvest`] as the importer does.
async fn history(pool: &PgPool, w: &World, pairs: i64, question: &str, answer: &str) -> Vec<SessionId> {
    let customer = sqlx::query_scalar!(
        r#"INSERT INTO customers (account_id) VALUES ($1) RETURNING id AS "id: CustomerId""#,
        w.acc.0
    )
    .fetch_one(pool)
    .await
    .expect("customer");
    let sessions = sqlx::query_scalar!(
        r#"INSERT INTO sessions (account_id, support_type_id, customer_id, status, created_at, queued_at,
                               assigned_at, resolved_at)
         SELECT $1, $2, $3, 'resolved', now() - interval '1 day', now() - interval '1 day',
                now() - interval '1 day', now()
         FROM generate_series(1, ($4::bigint + 99) / 100) RETURNING id AS "id: SessionId""#,
        w.acc.0,
        w.ty.0,
        customer.0,
        pairs
    )
    .fetch_all(pool)
    .await
    .expect("sessions");
    // Pair i is messages 2i (the question) and 2i + 1 (the answer); `{i}`
    // in the texts is the pair's number.
    let ids: Vec<uuid::Uuid> = sessions.iter().map(|s| s.0).collect();
    sqlx::query!(
        "INSERT INTO messages (session_id, sender_kind, sender_agent_id, body)
         SELECT ($1::uuid[])[1 + i / 100], CASE WHEN k = 0 THEN 'customer' ELSE 'agent' END,
                CASE WHEN k = 1 THEN $2::uuid END,
                replace(CASE WHEN k = 0 THEN $3::text ELSE $4::text END, '{i}', i::text)
         FROM generate_series(0, $5::bigint - 1) i, generate_series(0, 1) k ORDER BY i, k",
        &ids,
        w.human.0,
        question,
        answer,
        pairs
    )
    .execute(pool)
    .await
    .expect("messages");
    let mut conn = pool.acquire().await.expect("conn");
    assert_eq!(assist::harvest(&mut conn, &sessions).await.expect("harvest"), pairs as u64);
    sessions
}

/// The term statistics that retrieval reads agree with counting the past
/// answers themselves.
async fn assert_term_statistics_exact(pool: &PgPool) {
    let wrong: Vec<(String, i64, i64)> = sqlx::query!(
        r#"WITH live AS (SELECT p.support_type_id, t.lexeme, count(*) AS docs
                       FROM past_answers p, unnest(p.search) AS t(lexeme, positions, weights) GROUP BY 1, 2)
         SELECT coalesce(l.lexeme, s.lexeme) AS "lexeme!", coalesce(l.docs, 0) AS "counted!",
                coalesce(s.docs, 0) AS "kept!"
         FROM live l FULL JOIN past_answer_terms s ON s.support_type_id = l.support_type_id AND s.lexeme = l.lexeme
         WHERE coalesce(l.docs, 0) <> coalesce(s.docs, 0)
         UNION ALL
         SELECT 'corpus', count(p.id), coalesce(max(c.docs), 0)
         FROM support_types t LEFT JOIN past_answers p ON p.support_type_id = t.id
         LEFT JOIN past_answer_corpus c ON c.support_type_id = t.id GROUP BY t.id
         HAVING count(p.id) <> coalesce(max(c.docs), 0)"#
    )
    .fetch_all(pool)
    .await
    .expect("statistics")
    .into_iter()
    .map(|r| (r.lexeme, r.counted, r.kept))
    .collect();
    assert!(wrong.is_empty(), "(lexeme, counted, kept) that disagree: {wrong:?}");
}

/// At a year of history a common word is in most past answers. Retrieval
/// reads the question's rarest words' documents only, at most
/// `CANDIDATES`, through indexes, so the one old answer that shares the
/// question's rare word still comes first; a question of common words only
/// still gets answers (the most recent). The term statistics it reads stay
/// exact as pairs are harvested and erased.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn retrieval_reads_a_bounded_set_of_past_answers_at_scale(pool: PgPool) {
    let w = world(&pool).await;
    let old = history(
        &pool,
        &w,
        1,
        "Hello, my zeppelin model {i} arrived broken, refund please",
        "Sorry about the zeppelin: send us a photo and we refund it.",
    )
    .await;
    let pairs = 40 * assist::CANDIDATES;
    history(
        &pool,
        &w,
        pairs,
        "Hello, order {i} is late, I want a refund",
        "Your order {i} ships today; no refund needed.",
    )
    .await;
    sqlx::query!("ANALYZE").execute(&pool).await.expect("analyze");
    assert_term_statistics_exact(&pool).await;

    // Counters of this transaction only (pg_stat_xact_*), read at once.
    let mut counting = counting_connection(&pool).await;
    let mut tx = sqlx::Connection::begin(&mut counting).await.expect("tx");
    let ranked = assist::retrieve(&mut tx, w.acc, w.ty, "hello, I need a refund for my broken zeppelin", 3)
        .await
        .expect("retrieve");
    assert!(matches!(ranked[0].source, Source::PastAnswer { session_id, .. } if session_id == old[0]));
    assert!(ranked[0].body.contains("zeppelin"), "{ranked:?}");
    let common = assist::retrieve(&mut tx, w.acc, w.ty, "hello, a refund", 3).await.expect("retrieve");
    assert_eq!(common.len(), 3, "{common:?}");
    let c = sqlx::query!(
        r#"SELECT seq_scan AS "seq_scan!", seq_tup_read AS "seq_read!", coalesce(idx_tup_fetch, 0) AS "fetched!"
           FROM pg_stat_xact_user_tables WHERE relname = 'past_answers'"#
    )
    .fetch_one(&mut *tx)
    .await
    .expect("counters");
    let (seq_scans, seq_read, fetched) = (c.seq_scan, c.seq_read, c.fetched);
    assert_eq!((seq_scans, seq_read), (0, 0), "past_answers read whole");
    // The rare words' 2 answers, then at most the 2 · CANDIDATES newest
    // answers for the common word (`assist::newest_to_read`).
    assert!(fetched <= 2 * assist::CANDIDATES + 10, "{fetched} past answers read for two questions");
    tx.rollback().await.expect("rollback");

    // Erasing a customer's data removes their pairs, and their counts.
    let mut conn = pool.acquire().await.expect("conn");
    sqlx::query!("DELETE FROM past_answers WHERE session_id = $1", old[0].0)
        .execute(&mut *conn)
        .await
        .expect("erase");
    assert_term_statistics_exact(&pool).await;
    let ranked = assist::retrieve(&mut conn, w.acc, w.ty, "hello, I need a refund for my broken zeppelin", 3)
        .await
        .expect("retrieve");
    assert!(ranked.iter().all(|c| !c.body.contains("zeppelin")), "{ranked:?}");
}

/// Concurrent harvests of one type (and an erasure among them) keep the
/// term statistics exact and never deadlock: the triggers take their rows
/// in key order.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_harvests_keep_the_term_statistics_exact(pool: PgPool) {
    let w = world(&pool).await;
    let mut sessions = Vec::new();
    for i in 0..16 {
        // Resolved sessions that are not harvested yet: each adds the same
        // common words and a word of its own.
        let ids = history(&pool, &w, 1, &format!("Hello refund shipping word{i} {{i}}"), "Refund sent").await;
        sqlx::query!("DELETE FROM past_answers WHERE session_id = $1", ids[0].0)
            .execute(&pool)
            .await
            .expect("forget");
        sessions.push(ids[0]);
    }
    let tasks: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (pool, s) = (pool.clone(), *s);
            tokio::spawn(async move {
                let mut tx = pool.begin().await.expect("tx");
                let n = assist::harvest(&mut tx, &[s]).await.expect("harvest");
                if i % 4 == 0 {
                    sqlx::query!("DELETE FROM past_answers WHERE session_id = $1", s.0)
                        .execute(&mut *tx)
                        .await
                        .expect("erase");
                }
                tx.commit().await.expect("commit");
                n
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), 1);
    }
    let kept = sqlx::query_scalar!("SELECT docs FROM past_answer_corpus WHERE support_type_id = $1", w.ty.0)
        .fetch_one(&pool)
        .await
        .expect("corpus");
    assert_eq!(kept, 12);
    assert_term_statistics_exact(&pool).await;
}
