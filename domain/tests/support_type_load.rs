//! The admin console's list of support types with their load: waiting
//! sessions through the scope rule, humans online who serve the type, and
//! only for admins.
#![cfg(feature = "server")]

mod common;

use common::*;
use domain::{
    actor::Actor,
    support_types::{self, SupportTypeFilter},
    types::*,
};
use sqlx::PgPool;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_load_counts_this_accounts_waiting_sessions_and_online_agents(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let globex = account(&pool, "globex").await;
    let billing = support_type(&pool, acme, "billing", Routing::Manual).await;
    let returns = support_type(&pool, acme, "returns", Routing::Manual).await;
    let other = support_type(&pool, globex, "globex-billing", Routing::Manual).await;
    let admin = agent(&pool, acme, "admin@acme.test", Role::Admin, 5, false, &[]).await;
    let globex_admin = agent(&pool, globex, "admin@globex.test", Role::Admin, 5, false, &[]).await;
    // Online and serving billing: two humans. Not counted: one offline, a
    // deactivated one, a bot, and another account's agent with the skill.
    agent(&pool, acme, "dana@acme.test", Role::Agent, 3, true, &[billing]).await;
    agent(&pool, acme, "eli@acme.test", Role::Agent, 3, true, &[billing, returns]).await;
    agent(&pool, acme, "fay@acme.test", Role::Agent, 3, false, &[billing]).await;
    let gone = agent(&pool, acme, "gus@acme.test", Role::Agent, 3, true, &[billing]).await;
    sqlx::query!("UPDATE agents SET deactivated_at = now() WHERE id = $1", gone.0)
        .execute(&pool)
        .await
        .expect("gone");
    agent(&pool, acme, "bot@acme.test", Role::Bot, 50, true, &[billing]).await;
    agent(&pool, globex, "hal@globex.test", Role::Agent, 3, true, &[other]).await;
    // Waiting: three for billing (nobody picks: manual routing), one for
    // returns that was abandoned (not waiting), and two of Globex's.
    for _ in 0..3 {
        open(&pool, "billing").await;
    }
    let taken = open(&pool, "returns").await;
    sqlx::query!("UPDATE sessions SET status = 'abandoned' WHERE id = $1", taken.id.0)
        .execute(&pool)
        .await
        .expect("not waiting");
    open(&pool, "globex-billing").await;
    open(&pool, "globex-billing").await;

    let load = |actor: Actor| {
        let pool = pool.clone();
        async move {
            support_types::list_with_load(&pool, &actor, SupportTypeFilter::default()).await.map(|rows| {
                rows.into_iter()
                    .map(|r| (r.support_type.slug, r.waiting_now, r.agents_online))
                    .collect::<Vec<_>>()
            })
        }
    };
    let figures = load(as_agent(admin, acme, Role::Admin)).await.expect("admin");
    assert_eq!(figures, [("billing".to_owned(), 3, 2), ("returns".to_owned(), 0, 1)]);
    let figures = load(as_agent(globex_admin, globex, Role::Admin)).await.expect("globex admin");
    assert_eq!(figures, [("globex-billing".to_owned(), 2, 1)]);
    // A global admin sees every account, each with its own figures.
    let figures = load(Actor::System).await.expect("system");
    assert_eq!(figures.len(), 3);
    assert!(figures.contains(&("billing".to_owned(), 3, 2)), "{figures:?}");

    // Agents and bots are refused; another account is not found.
    let dana =
        sqlx::query_scalar!(r#"SELECT id AS "id: AgentId" FROM agents WHERE email = 'dana@acme.test'"#)
            .fetch_one(&pool)
            .await
            .expect("id");
    for role in [Role::Agent, Role::Bot, Role::Supervisor] {
        let err = load(as_agent(dana, acme, role)).await.expect_err("not an admin");
        assert_eq!(err.code(), "forbidden", "{role}");
    }
    let err = support_types::list_with_load(
        &pool,
        &as_agent(globex_admin, globex, Role::Admin),
        SupportTypeFilter { account_id: Some(acme), include_archived: true },
    )
    .await
    .expect_err("other account");
    assert_eq!(err.code(), "not_found");

    // Archived types are listed only when asked for.
    support_types::archive(&pool, &Actor::System, returns).await.expect("archive");
    let figures = load(as_agent(admin, acme, Role::Admin)).await.expect("admin");
    assert_eq!(figures.len(), 1);
    let all = support_types::list_with_load(
        &pool,
        &as_agent(admin, acme, Role::Admin),
        SupportTypeFilter { account_id: None, include_archived: true },
    )
    .await
    .expect("all");
    assert_eq!(all.len(), 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_editor_offers_the_accounts_own_types_and_bots_to_admins(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let globex = account(&pool, "globex").await;
    let billing = support_type(&pool, acme, "billing", Routing::Manual).await;
    let archived = support_type(&pool, acme, "old", Routing::Manual).await;
    support_types::archive(&pool, &Actor::System, archived).await.expect("archive");
    support_type(&pool, globex, "globex-billing", Routing::Manual).await;
    let admin = agent(&pool, acme, "admin@acme.test", Role::Admin, 5, false, &[]).await;
    let bot = agent(&pool, acme, "bot@acme.test", Role::Bot, 50, false, &[]).await;
    agent(&pool, globex, "bot@globex.test", Role::Bot, 50, false, &[]).await;
    let agent_id = agent(&pool, acme, "dana@acme.test", Role::Agent, 3, false, &[billing]).await;

    let choices = support_types::editor_choices(&pool, &as_agent(admin, acme, Role::Admin), None)
        .await
        .expect("choices");
    assert_eq!(choices.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["acme"]);
    assert_eq!(choices.support_types.iter().map(|t| t.id).collect::<Vec<_>>(), [billing.0]);
    assert_eq!(choices.bots.iter().map(|b| b.id).collect::<Vec<_>>(), [bot.0]);
    let all = support_types::editor_choices(&pool, &Actor::System, None).await.expect("global");
    assert_eq!((all.accounts.len(), all.support_types.len(), all.bots.len()), (2, 2, 2));

    let err = support_types::editor_choices(&pool, &as_agent(agent_id, acme, Role::Agent), None)
        .await
        .expect_err("agent");
    assert_eq!(err.code(), "forbidden");
    let err = support_types::editor_choices(&pool, &as_agent(admin, acme, Role::Admin), Some(globex))
        .await
        .expect_err("other account");
    assert_eq!(err.code(), "not_found");
}
