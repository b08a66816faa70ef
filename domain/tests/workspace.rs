//! The workspace's read models against a real PostgreSQL: what each agent's
//! inbox and queue show (previews, unread counts, scoping), a customer's
//! other sessions, the participants of a session, and transfer targets.

mod common;

use common::*;
use domain::{
    actor::{Actor, CustomerActor},
    conversation::{self, SendMessage},
    live,
    sessions::{self, CustomerInput, OpenSession, Session},
    types::*,
    workspace,
};
use sqlx::PgPool;

async fn open_for(pool: &PgPool, slug: &str, customer: &str, message: Option<&str>) -> (Session, Actor) {
    let (session, customer_id) = sessions::open(
        pool,
        &Actor::System,
        OpenSession {
            support_type: slug.into(),
            customer: CustomerInput {
                name: Some(customer.into()),
                email: None,
                external_ref: Some(customer.to_lowercase()),
            },
            message: message.map(str::to_owned),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    let actor = Actor::Customer(CustomerActor {
        customer_id,
        session_id: session.id,
        account_id: session.account_id,
    });
    (session, actor)
}

async fn say(pool: &PgPool, actor: &Actor, session: SessionId, body: &str) -> i64 {
    conversation::send(
        pool,
        actor,
        session,
        SendMessage { body: body.into(), client_message_id: None, ..Default::default() },
    )
    .await
    .expect("send")
    .id
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_board_shows_previews_and_unread_counts_and_only_what_the_agent_works(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let billing = support_type(&pool, acc, "billing", Routing::Manual).await;
    support_type(&pool, acc, "returns", Routing::Manual).await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 5, true, &[billing]).await;
    let dana_actor = as_agent(dana, acc, Role::Agent);
    let sup = agent(&pool, acc, "sup@acme.test", Role::Supervisor, 5, true, &[]).await;
    let other = account(&pool, "globex").await;
    support_type(&pool, other, "globex-billing", Routing::Manual).await;

    let (mine, ana) = open_for(&pool, "billing", "Ana", Some("First question")).await;
    let (waiting, _) = open_for(&pool, "billing", "Ben", Some("Anyone there?")).await;
    let (elsewhere, _) = open_for(&pool, "returns", "Cy", None).await;
    let (foreign, _) = open_for(&pool, "globex-billing", "Dee", Some("secret")).await;

    sessions::assign(&pool, &dana_actor, mine.id, None).await.expect("pick");
    say(&pool, &ana, mine.id, "Second question").await;
    say(&pool, &dana_actor, mine.id, "On it").await;
    let last = say(&pool, &ana, mine.id, "Third\nquestion").await;

    let board = workspace::board(&pool, &dana_actor).await.expect("board");
    assert_eq!(board.me, dana);
    assert_eq!(board.presence, Presence::Online);
    assert_eq!(board.inbox.len(), 1);
    let row = &board.inbox[0];
    assert_eq!(row.id, mine.id);
    assert_eq!(row.customer_label(), "Ana");
    assert_eq!(row.support_type, "billing");
    assert_eq!(row.routing, Routing::Manual);
    assert_eq!(row.last_message.as_deref(), Some("Third\nquestion"));
    assert_eq!(row.last_message_id, Some(last));
    assert_eq!(row.last_sender, Some(SenderKind::Customer));
    assert_eq!(row.unread, 3, "customer messages only, the agent's own reply does not count");
    // The queue: billing only (Dana does not serve returns); never another account.
    let queued: Vec<SessionId> = board.queue.iter().map(|r| r.id).collect();
    assert_eq!(queued, [waiting.id]);
    assert_eq!(board.queue[0].last_message.as_deref(), Some("Anyone there?"));
    assert_eq!(board.queue[0].unread, 1);

    // Reading up to the newest message clears the count.
    live::mark_read(&pool, &dana_actor, mine.id, last).await.expect("read");
    let board = workspace::board(&pool, &dana_actor).await.expect("board");
    assert_eq!(board.inbox[0].unread, 0);
    say(&pool, &ana, mine.id, "Hello?").await;
    assert_eq!(workspace::item(&pool, &dana_actor, mine.id).await.expect("item").unread, 1);

    // A supervisor's queue spans the account's types, still not other accounts.
    let sup_board = workspace::board(&pool, &as_agent(sup, acc, Role::Supervisor)).await.expect("sup");
    let mut queued: Vec<SessionId> = sup_board.queue.iter().map(|r| r.id).collect();
    queued.sort();
    let mut expected = vec![waiting.id, elsewhere.id];
    expected.sort();
    assert_eq!(queued, expected);
    assert!(sup_board.inbox.is_empty());

    // One row: visible sessions only; others are "not found".
    assert_eq!(
        workspace::item(&pool, &dana_actor, foreign.id).await.expect_err("foreign").code(),
        "not_found"
    );
    assert_eq!(
        workspace::item(&pool, &dana_actor, elsewhere.id).await.expect_err("unserved").code(),
        "not_found"
    );
    assert_eq!(workspace::board(&pool, &ana).await.expect_err("customer").code(), "forbidden");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_sidebar_lists_the_customers_other_sessions_the_agent_may_see(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let billing = support_type(&pool, acc, "billing", Routing::Manual).await;
    support_type(&pool, acc, "returns", Routing::Manual).await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 5, true, &[billing]).await;
    let dana_actor = as_agent(dana, acc, Role::Agent);
    let sup = as_agent(
        agent(&pool, acc, "sup@acme.test", Role::Supervisor, 5, true, &[]).await,
        acc,
        Role::Supervisor,
    );

    let (older, _) = open_for(&pool, "billing", "Ana", None).await;
    let (returns, _) = open_for(&pool, "returns", "Ana", None).await;
    let (current, _) = open_for(&pool, "billing", "Ana", None).await;
    let (someone_else, _) = open_for(&pool, "billing", "Ben", None).await;
    assert_eq!(older.customer_id, current.customer_id);

    let seen: Vec<SessionId> = workspace::previous_sessions(&pool, &dana_actor, current.id)
        .await
        .expect("previous")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(seen, [older.id], "not this one, not another customer's, not a type Dana does not serve");
    let seen: Vec<SessionId> = workspace::previous_sessions(&pool, &sup, current.id)
        .await
        .expect("sup")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(seen, [returns.id, older.id], "newest first");
    assert!(!seen.contains(&someone_else.id));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn transfer_targets_are_the_account_agents_serving_the_type_available_first(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let billing = support_type(&pool, acc, "billing", Routing::Manual).await;
    let returns = support_type(&pool, acc, "returns", Routing::Manual).await;
    sqlx::query("UPDATE support_types SET archived_at = now() WHERE id = $1")
        .bind(returns)
        .execute(&pool)
        .await
        .expect("archive");
    support_type(&pool, acc, "shipping", Routing::Manual).await;
    let dana = agent(&pool, acc, "dana@acme.test", Role::Agent, 5, true, &[billing]).await;
    let away = agent(&pool, acc, "a-away@acme.test", Role::Agent, 5, false, &[billing]).await;
    let zed = agent(&pool, acc, "zed@acme.test", Role::Agent, 5, true, &[billing]).await;
    agent(&pool, acc, "unskilled@acme.test", Role::Agent, 5, true, &[]).await;
    agent(&pool, acc, "bot@acme.test", Role::Bot, 5, true, &[billing]).await;
    let other = account(&pool, "globex").await;
    agent(&pool, other, "spy@globex.test", Role::Agent, 5, true, &[]).await;
    let dana_actor = as_agent(dana, acc, Role::Agent);

    let (s, _) = open_for(&pool, "billing", "Ana", None).await;
    sessions::assign(&pool, &dana_actor, s.id, None).await.expect("pick");
    let targets = workspace::transfer_targets(&pool, &dana_actor, s.id).await.expect("targets");
    assert_eq!(targets.session_id, s.id);
    let agents: Vec<(AgentId, bool)> = targets.agents.iter().map(|a| (a.id, a.available())).collect();
    assert_eq!(
        agents,
        [(zed, true), (away, false)],
        "online first, then the rest; never self, bots or others"
    );
    let types: Vec<&str> = targets.support_types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(types, ["billing", "shipping"], "active types of the account");

    // Names of who took part: the owner and authors.
    conversation::add_note(&pool, &dana_actor, s.id, "VIP").await.expect("note");
    let names: Vec<String> = workspace::participants(&pool, &dana_actor, s.id)
        .await
        .expect("participants")
        .into_iter()
        .map(|p| p.display_name)
        .collect();
    assert_eq!(names, ["dana@acme.test"]);

    let spy = as_agent(
        agent(&pool, other, "spy2@globex.test", Role::Admin, 5, true, &[]).await,
        other,
        Role::Admin,
    );
    assert_eq!(
        workspace::transfer_targets(&pool, &spy, s.id).await.expect_err("foreign").code(),
        "not_found"
    );
    assert_eq!(workspace::participants(&pool, &spy, s.id).await.expect_err("foreign").code(), "not_found");
    assert_eq!(
        workspace::previous_sessions(&pool, &spy, s.id).await.expect_err("foreign").code(),
        "not_found"
    );
}
