//! The directory: accounts, agents (limits, presence, skills, passwords), API
//! tokens and customers, against a fresh database per test.
#![cfg(feature = "server")]

use domain::{
    accounts::{self, Account, NewAccount},
    actor::{Actor, AgentActor, CustomerActor},
    agents::{self, Agent, AgentFilter, NewAgent, Skill, UpdateAgent},
    customers, tokens,
    types::*,
};
use sqlx::PgPool;

fn global_admin() -> Actor {
    Actor::Agent(AgentActor { id: AgentId::new(), account_id: None, role: Role::Admin })
}

fn actor_of(agent: &Agent) -> Actor {
    Actor::Agent(AgentActor { id: agent.id, account_id: agent.account_id, role: agent.role })
}

async fn account(pool: &PgPool, slug: &str) -> Account {
    accounts::create(pool, &Actor::System, NewAccount { slug: slug.into(), name: format!("Account {slug}") })
        .await
        .expect("create account")
}

fn new_agent(account: Option<AccountId>, email: &str, role: Role) -> NewAgent {
    NewAgent {
        account_id: account,
        email: email.into(),
        display_name: email.split('@').next().unwrap_or("someone").into(),
        role,
        max_concurrent: None,
        password: None,
    }
}

async fn agent(pool: &PgPool, account: AccountId, email: &str, role: Role) -> Agent {
    agents::create(pool, &Actor::System, new_agent(Some(account), email, role)).await.expect("create agent")
}

async fn count(pool: &PgPool, sql: &str, arg: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).bind(arg).fetch_one(pool).await.expect("count")
}

async fn events(pool: &PgPool, topic: &str) -> i64 {
    count(pool, "SELECT count(*) FROM outbox WHERE topic = $1", topic).await
}

async fn audits(pool: &PgPool, action: &str) -> i64 {
    count(pool, "SELECT count(*) FROM audit_log WHERE action = $1", action).await
}

async fn support_type(pool: &PgPool, account: AccountId, slug: &str) -> SupportTypeId {
    sqlx::query_scalar::<_, SupportTypeId>(
        "INSERT INTO support_types (account_id, slug, name) VALUES ($1, $2, $2) RETURNING id",
    )
    .bind(account)
    .bind(slug)
    .fetch_one(pool)
    .await
    .expect("support type")
}

async fn customer(pool: &PgPool, account: AccountId) -> CustomerId {
    sqlx::query_scalar::<_, CustomerId>(
        "INSERT INTO customers (account_id, name, email) VALUES ($1, 'Cleo', 'cleo@example.com') RETURNING id",
    )
    .bind(account)
    .fetch_one(pool)
    .await
    .expect("customer")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn accounts_are_created_by_global_admins_and_scoped(pool: PgPool) {
    let global = global_admin();
    let a = accounts::create(&pool, &global, NewAccount { slug: "acme".into(), name: " Acme Corp ".into() })
        .await
        .expect("create a");
    assert_eq!((a.slug.as_str(), a.name.as_str()), ("acme", "Acme Corp"));
    let b = account(&pool, "globex").await;
    assert_eq!(events(&pool, "config.changed").await, 2);

    let dup = accounts::create(&pool, &global, NewAccount { slug: "acme".into(), name: "Again".into() })
        .await
        .expect_err("duplicate slug");
    assert_eq!(dup.code(), "slug_taken");
    let bad = accounts::create(&pool, &global, NewAccount { slug: "Not A Slug".into(), name: "x".into() })
        .await
        .expect_err("bad slug");
    assert_eq!(bad.code(), "invalid");

    let admin_a = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let err = accounts::create(&pool, &admin_a, NewAccount { slug: "mine".into(), name: "Mine".into() })
        .await
        .expect_err("account admin");
    assert_eq!(err.code(), "forbidden");

    let seen: Vec<_> =
        accounts::list(&pool, &admin_a).await.expect("list").into_iter().map(|x| x.id).collect();
    assert_eq!(seen, vec![a.id]);
    assert_eq!(accounts::list(&pool, &global).await.expect("list all").len(), 2);
    assert_eq!(accounts::get(&pool, &admin_a, a.id).await.expect("own").id, a.id);
    assert_eq!(accounts::get(&pool, &admin_a, b.id).await.expect_err("other").code(), "not_found");
    assert_eq!(
        accounts::get(&pool, &global, AccountId::new()).await.expect_err("missing").code(),
        "not_found"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_create_agents_in_their_own_account_only(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let admin_a = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);

    // The account defaults to the admin's own; the limit to 5.
    let ann =
        agents::create(&pool, &admin_a, new_agent(None, "ann@acme.test", Role::Agent)).await.expect("create");
    assert_eq!(ann.account_id, Some(a.id));
    assert_eq!((ann.max_concurrent, ann.active_count, ann.presence), (5, 0, Presence::Offline));
    assert_eq!(events(&pool, "agent.created").await, 2);
    assert_eq!(audits(&pool, "agent.created").await, 2);

    // E-mail addresses are unique, case-insensitively.
    let dup = agents::create(&pool, &admin_a, new_agent(None, "ANN@acme.test", Role::Agent))
        .await
        .expect_err("duplicate e-mail");
    assert_eq!(dup.code(), "email_taken");

    // A plain agent cannot create agents; another account is not found.
    let err = agents::create(&pool, &actor_of(&ann), new_agent(None, "bob@acme.test", Role::Agent))
        .await
        .expect_err("plain agent");
    assert_eq!(err.code(), "forbidden");
    let err = agents::create(&pool, &admin_a, new_agent(Some(b.id), "bob@globex.test", Role::Agent))
        .await
        .expect_err("other account");
    assert_eq!(err.code(), "not_found");

    // Input rules.
    let mut bot = new_agent(None, "bot@acme.test", Role::Bot);
    bot.password = Some("a long enough password".into());
    assert_eq!(agents::create(&pool, &admin_a, bot).await.expect_err("bot password").code(), "invalid");
    let mut short = new_agent(None, "short@acme.test", Role::Agent);
    short.password = Some("too short".into());
    assert_eq!(agents::create(&pool, &admin_a, short).await.expect_err("short password").code(), "invalid");
    let mut huge = new_agent(None, "huge@acme.test", Role::Agent);
    huge.max_concurrent = Some(1001);
    assert_eq!(agents::create(&pool, &admin_a, huge).await.expect_err("limit").code(), "invalid");

    // Global admins: only a global caller creates one, and only as an admin.
    let root = agents::create(&pool, &global_admin(), new_agent(None, "root@switchboard.test", Role::Admin))
        .await
        .expect("global admin");
    assert_eq!(root.account_id, None);
    let err = agents::create(&pool, &Actor::System, new_agent(None, "nobody@switchboard.test", Role::Agent))
        .await
        .expect_err("unscoped agent");
    assert_eq!(err.code(), "invalid");
    // An account admin naming no account creates in their own account.
    let other_admin = agents::create(&pool, &admin_a, new_agent(None, "admin2@acme.test", Role::Admin))
        .await
        .expect("account admin");
    assert_eq!(other_admin.account_id, Some(a.id));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn agents_of_other_accounts_are_not_found(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let admin_a = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;
    let bea = agent(&pool, b.id, "bea@globex.test", Role::Agent).await;

    assert_eq!(agents::get(&pool, &admin_a, ann.id).await.expect("own").email, "ann@acme.test");
    assert_eq!(agents::get(&pool, &admin_a, bea.id).await.expect_err("other").code(), "not_found");
    let rename = UpdateAgent { display_name: Some("Hijacked".into()), ..Default::default() };
    assert_eq!(
        agents::update(&pool, &admin_a, bea.id, rename.clone()).await.expect_err("other").code(),
        "not_found"
    );
    // A plain agent sees colleagues but cannot change them.
    assert_eq!(
        agents::update(&pool, &actor_of(&ann), ann.id, rename).await.expect_err("plain").code(),
        "forbidden"
    );

    let listed = agents::list(&pool, &admin_a, AgentFilter::default()).await.expect("list");
    assert!(listed.iter().all(|x| x.account_id == Some(a.id)) && listed.len() == 2, "{listed:?}");
    let only_agents = AgentFilter { role: Some(Role::Agent), ..Default::default() };
    assert_eq!(agents::list(&pool, &actor_of(&ann), only_agents).await.expect("agents").len(), 1);
    let other = AgentFilter { account_id: Some(b.id), ..Default::default() };
    assert_eq!(agents::list(&pool, &admin_a, other.clone()).await.expect_err("other").code(), "not_found");
    assert_eq!(agents::list(&pool, &global_admin(), other).await.expect("global, filtered").len(), 1);
    assert_eq!(agents::list(&pool, &global_admin(), AgentFilter::default()).await.expect("global").len(), 3);

    let customer = Actor::Customer(CustomerActor {
        customer_id: CustomerId::new(),
        session_id: SessionId::new(),
        account_id: a.id,
    });
    assert_eq!(
        agents::list(&pool, &customer, AgentFilter::default()).await.expect_err("cust").code(),
        "forbidden"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_limit_cannot_go_below_the_current_load(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;

    // Give Ann one active session.
    let ty = support_type(&pool, a.id, "billing").await;
    let cust = customer(&pool, a.id).await;
    let session = sqlx::query_scalar::<_, SessionId>(
        "INSERT INTO sessions (account_id, support_type_id, customer_id, status, owner_id, assigned_at)
         VALUES ($1, $2, $3, 'active', $4, now()) RETURNING id",
    )
    .bind(a.id)
    .bind(ty)
    .bind(cust)
    .bind(ann.id)
    .fetch_one(&pool)
    .await
    .expect("session");
    sqlx::query("INSERT INTO assignments (session_id, agent_id, reason) VALUES ($1, $2, 'manual')")
        .bind(session)
        .bind(ann.id)
        .execute(&pool)
        .await
        .expect("assignment");
    assert_eq!(agents::get(&pool, &admin, ann.id).await.expect("get").active_count, 1);

    let updated_before = events(&pool, "agent.updated").await;
    let zero = UpdateAgent { max_concurrent: Some(0), ..Default::default() };
    let err = agents::update(&pool, &admin, ann.id, zero).await.expect_err("below load");
    assert_eq!(err.code(), "limit_below_load");
    assert_eq!(events(&pool, "agent.updated").await, updated_before);

    let one = UpdateAgent { max_concurrent: Some(1), role: Some(Role::Supervisor), ..Default::default() };
    let ann = agents::update(&pool, &admin, ann.id, one).await.expect("at load");
    assert_eq!((ann.max_concurrent, ann.role), (1, Role::Supervisor));
    assert_eq!(events(&pool, "agent.updated").await, updated_before + 1);
    let details = sqlx::query_scalar::<_, serde_json::Value>(
        "SELECT details FROM audit_log WHERE action = 'agent.role_changed' AND target = $1",
    )
    .bind(ann.id.to_string())
    .fetch_one(&pool)
    .await
    .expect("role audit");
    assert_eq!(details, serde_json::json!({ "old": "agent", "new": "supervisor" }));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn presence_changes_are_events_and_failed_changes_leave_none(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;
    let bob = agent(&pool, a.id, "bob@acme.test", Role::Agent).await;
    let sup = actor_of(&agent(&pool, a.id, "sue@acme.test", Role::Supervisor).await);

    let online =
        agents::set_presence(&pool, &actor_of(&ann), ann.id, Presence::Online, None).await.expect("online");
    assert_eq!(online.presence, Presence::Online);
    assert!(online.presence_changed_at >= ann.presence_changed_at);
    let payload = sqlx::query_scalar::<_, serde_json::Value>(
        "SELECT payload FROM outbox WHERE topic = 'agent.presence_changed' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("event");
    assert_eq!((payload["old"].as_str(), payload["new"].as_str()), (Some("offline"), Some("online")));

    // A peer may not; a supervisor may, with a reason.
    let err =
        agents::set_presence(&pool, &actor_of(&bob), ann.id, Presence::Away, None).await.expect_err("peer");
    assert_eq!(err.code(), "forbidden");
    let away =
        agents::set_presence(&pool, &sup, ann.id, Presence::Away, Some("lunch".into())).await.expect("sup");
    assert_eq!((away.presence, away.presence_reason.as_deref()), (Presence::Away, Some("lunch")));
    assert_eq!(events(&pool, "agent.presence_changed").await, 2);
    // Only "away" carries a reason: back online, it is gone.
    let back = agents::set_presence(&pool, &sup, ann.id, Presence::Online, Some("lunch".into()))
        .await
        .expect("back");
    assert_eq!((back.presence, back.presence_reason), (Presence::Online, None));
    let away =
        agents::set_presence(&pool, &sup, ann.id, Presence::Away, Some("lunch".into())).await.expect("again");
    assert_eq!(away.presence_reason.as_deref(), Some("lunch"));
    assert_eq!(events(&pool, "agent.presence_changed").await, 4);

    // Deactivating sets the agent offline (one more presence event); a
    // deactivated agent cannot come back online, and the failed attempt
    // leaves no event behind.
    let off = UpdateAgent { deactivated: Some(true), ..Default::default() };
    let gone = agents::update(&pool, &admin, ann.id, off).await.expect("deactivate");
    assert!(gone.deactivated_at.is_some());
    assert_eq!(gone.presence, Presence::Offline);
    assert_eq!(events(&pool, "agent.presence_changed").await, 5);
    let err =
        agents::set_presence(&pool, &actor_of(&ann), ann.id, Presence::Online, None).await.expect_err("off");
    assert_eq!(err.code(), "agent_deactivated");
    assert_eq!(events(&pool, "agent.presence_changed").await, 5);

    // Heartbeats: the agent themself only.
    agents::heartbeat(&pool, &actor_of(&bob), bob.id).await.expect("heartbeat");
    assert!(agents::get(&pool, &admin, bob.id).await.expect("bob").last_heartbeat_at.is_some());
    assert_eq!(agents::heartbeat(&pool, &sup, bob.id).await.expect_err("not self").code(), "forbidden");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn skills_are_replaced_and_stay_in_the_account(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;
    let billing = support_type(&pool, a.id, "billing").await;
    let sales = support_type(&pool, a.id, "sales").await;
    let foreign = support_type(&pool, b.id, "globex-billing").await;

    let set =
        vec![Skill { support_type_id: billing, tier: Some(2) }, Skill { support_type_id: sales, tier: None }];
    let mut stored = agents::set_skills(&pool, &admin, ann.id, set.clone()).await.expect("set");
    stored.sort_by_key(|s| s.support_type_id);
    let mut expected = set;
    expected.sort_by_key(|s| s.support_type_id);
    assert_eq!(stored, expected);

    let err = agents::set_skills(&pool, &admin, ann.id, vec![Skill { support_type_id: foreign, tier: None }])
        .await
        .expect_err("foreign type");
    assert_eq!((err.code(), err.to_string().starts_with("skills")), ("invalid", true));
    let twice =
        vec![Skill { support_type_id: sales, tier: None }, Skill { support_type_id: sales, tier: Some(1) }];
    assert_eq!(agents::set_skills(&pool, &admin, ann.id, twice).await.expect_err("twice").code(), "invalid");
    let err = agents::set_skills(&pool, &actor_of(&ann), ann.id, vec![]).await.expect_err("self");
    assert_eq!(err.code(), "forbidden");

    let only_sales = vec![Skill { support_type_id: sales, tier: Some(1) }];
    agents::set_skills(&pool, &admin, ann.id, only_sales.clone()).await.expect("replace");
    assert_eq!(agents::skills(&pool, &actor_of(&ann), ann.id).await.expect("own skills"), only_sales);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_agent_is_created_with_their_skills_or_not_at_all(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let billing = support_type(&pool, a.id, "billing").await;
    let foreign = support_type(&pool, b.id, "globex-billing").await;

    let (ann, skills) = agents::create_with_skills(
        &pool,
        &admin,
        new_agent(None, "ann@acme.test", Role::Agent),
        vec![Skill { support_type_id: billing, tier: Some(1) }],
    )
    .await
    .expect("create");
    assert_eq!(skills, vec![Skill { support_type_id: billing, tier: Some(1) }]);
    assert_eq!(agents::skills(&pool, &admin, ann.id).await.expect("skills"), skills);

    // Another account's type, a type twice, a tier of 10: no agent at all.
    for (email, bad) in [
        ("bob@acme.test", vec![Skill { support_type_id: foreign, tier: None }]),
        (
            "cy@acme.test",
            vec![
                Skill { support_type_id: billing, tier: None },
                Skill { support_type_id: billing, tier: None },
            ],
        ),
        ("di@acme.test", vec![Skill { support_type_id: billing, tier: Some(10) }]),
    ] {
        let err = agents::create_with_skills(&pool, &admin, new_agent(None, email, Role::Agent), bad)
            .await
            .expect_err(email);
        assert_eq!((err.code(), err.to_string().starts_with("skills")), ("invalid", true), "{email}: {err}");
        assert_eq!(count(&pool, "SELECT count(*) FROM agents WHERE email = $1", email).await, 0, "{email}");
    }
    assert_eq!(events(&pool, "agent.created").await, 2, "the admin's and Ann's only");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_roster_is_for_admins_and_their_own_account(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;
    let supervisor = actor_of(&agent(&pool, a.id, "sue@acme.test", Role::Supervisor).await);
    agent(&pool, b.id, "bob@globex.test", Role::Agent).await;
    let billing = support_type(&pool, a.id, "billing").await;
    agents::set_skills(&pool, &admin, ann.id, vec![Skill { support_type_id: billing, tier: Some(3) }])
        .await
        .expect("skills");

    let roster = agents::roster(&pool, &admin).await.expect("roster");
    let emails: Vec<&str> = roster.iter().map(|e| e.agent.email.as_str()).collect();
    assert_eq!(emails, ["admin@acme.test", "ann@acme.test", "sue@acme.test"]);
    assert_eq!(roster[1].skills, vec![Skill { support_type_id: billing, tier: Some(3) }]);
    assert!(roster[0].skills.is_empty());
    for who in [actor_of(&ann), supervisor] {
        assert_eq!(agents::roster(&pool, &who).await.expect_err("not an admin").code(), "forbidden");
    }
    assert_eq!(agents::roster(&pool, &global_admin()).await.expect("global").len(), 4);

    assert_eq!(agents::get_administered(&pool, &admin, ann.id).await.expect("own").id, ann.id);
    let err = agents::get_administered(&pool, &actor_of(&ann), ann.id).await.expect_err("self");
    assert_eq!(err.code(), "forbidden");
    let bob_admin = actor_of(&agent(&pool, b.id, "admin@globex.test", Role::Admin).await);
    let err = agents::get_administered(&pool, &bob_admin, ann.id).await.expect_err("other account");
    assert_eq!(err.code(), "not_found");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tokens_authenticate_until_revoked(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let admin = actor_of(&agent(&pool, a.id, "admin@acme.test", Role::Admin).await);
    let bot = agent(&pool, a.id, "bot@acme.test", Role::Bot).await;

    let err = tokens::create(&pool, &actor_of(&bot), bot.id, "self-made").await.expect_err("not admin");
    assert_eq!(err.code(), "forbidden");
    let (token, secret) = tokens::create(&pool, &admin, bot.id, "triage bot").await.expect("create");
    assert!(secret.starts_with("sb_") && secret.len() == 3 + 43, "{secret}");
    assert_eq!(token.label, "triage bot");
    let stored = sqlx::query_scalar::<_, Vec<u8>>("SELECT token_hash FROM api_tokens WHERE id = $1")
        .bind(token.id)
        .fetch_one(&pool)
        .await
        .expect("stored hash");
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, secret.as_bytes());
    assert_eq!(audits(&pool, "token.created").await, 1);

    let who = tokens::authenticate(&pool, &secret).await.expect("auth").expect("live token");
    assert_eq!(who, AgentActor { id: bot.id, account_id: Some(a.id), role: Role::Bot });
    let listed = tokens::list(&pool, &admin, bot.id).await.expect("list");
    assert!(listed[0].last_used_at.is_some());
    assert_eq!(tokens::authenticate(&pool, "sb_nope").await.expect("auth"), None);
    let mut forged = secret.clone();
    forged.replace_range(5..6, if &secret[5..6] == "A" { "B" } else { "A" });
    assert_eq!(tokens::authenticate(&pool, &forged).await.expect("auth"), None);

    let revoked = tokens::revoke(&pool, &admin, token.id).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(tokens::authenticate(&pool, &secret).await.expect("auth"), None);
    tokens::revoke(&pool, &admin, token.id).await.expect("revoking twice is fine");
    assert_eq!(audits(&pool, "token.revoked").await, 1);

    // Another account's admin cannot see the token; a deactivated agent's
    // tokens stop working.
    let b = account(&pool, "globex").await;
    let admin_b = actor_of(&agent(&pool, b.id, "admin@globex.test", Role::Admin).await);
    assert_eq!(tokens::revoke(&pool, &admin_b, token.id).await.expect_err("other").code(), "not_found");
    let (_, second) = tokens::create(&pool, &admin, bot.id, "").await.expect("second");
    assert!(tokens::authenticate(&pool, &second).await.expect("auth").is_some());
    let off = UpdateAgent { deactivated: Some(true), ..Default::default() };
    agents::update(&pool, &admin, bot.id, off).await.expect("deactivate");
    assert_eq!(tokens::authenticate(&pool, &second).await.expect("auth"), None);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn passwords_are_argon2id_hashes_that_verify(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let mut human = new_agent(Some(a.id), "ann@acme.test", Role::Agent);
    human.password = Some("correct horse battery".into());
    let ann = agents::create(&pool, &Actor::System, human).await.expect("create with password");
    let hash = sqlx::query_scalar::<_, String>("SELECT password_hash FROM agents WHERE id = $1")
        .bind(ann.id)
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$m=47104,t=1,p=1$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert!(agents::password::verify_async("correct horse battery".into(), hash.clone()).await);
    assert!(!agents::password::verify_async("wrong horse battery".into(), hash).await);
    assert!(!agents::password::verify("anything", "not a phc string"));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn customers_are_seen_in_their_account_and_get_preferred_agents(pool: PgPool) {
    let a = account(&pool, "acme").await;
    let b = account(&pool, "globex").await;
    let ann = agent(&pool, a.id, "ann@acme.test", Role::Agent).await;
    let sup = actor_of(&agent(&pool, a.id, "sue@acme.test", Role::Supervisor).await);
    let bea = agent(&pool, b.id, "bea@globex.test", Role::Agent).await;
    let cleo = customer(&pool, a.id).await;
    let other = customer(&pool, a.id).await;

    // An agent sees the customers of the sessions they can see: none yet.
    let err = customers::get(&pool, &actor_of(&ann), cleo).await.expect_err("no shared session");
    assert_eq!(err.code(), "not_found");
    let got = customers::get(&pool, &sup, cleo).await.expect("supervisor");
    assert_eq!((got.email.as_deref(), got.account_id), (Some("cleo@example.com"), a.id));
    sqlx::query(
        "WITH t AS (INSERT INTO support_types (account_id, slug, name) VALUES ($1, 'acme-help', 'Help') RETURNING id),
              k AS (INSERT INTO agent_skills (agent_id, support_type_id) SELECT $2, id FROM t)
         INSERT INTO sessions (account_id, support_type_id, customer_id) SELECT $1, id, $3 FROM t",
    )
    .bind(a.id)
    .bind(ann.id)
    .bind(cleo)
    .execute(&pool)
    .await
    .expect("a session of cleo's in a type ann serves");
    let got = customers::get(&pool, &actor_of(&ann), cleo).await.expect("same account, shared session");
    assert_eq!(got.id, cleo);
    assert_eq!(customers::get(&pool, &actor_of(&bea), cleo).await.expect_err("other").code(), "not_found");
    let as_cleo =
        Actor::Customer(CustomerActor { customer_id: cleo, session_id: SessionId::new(), account_id: a.id });
    customers::get(&pool, &as_cleo, cleo).await.expect("themself");
    assert_eq!(customers::get(&pool, &as_cleo, other).await.expect_err("someone else").code(), "not_found");

    let err =
        customers::set_preferred_agent(&pool, &actor_of(&ann), cleo, Some(ann.id)).await.expect_err("plain");
    assert_eq!(err.code(), "forbidden");
    let err =
        customers::set_preferred_agent(&pool, &sup, cleo, Some(bea.id)).await.expect_err("foreign agent");
    assert_eq!(err.code(), "invalid");
    let updated = customers::set_preferred_agent(&pool, &sup, cleo, Some(ann.id)).await.expect("set");
    assert_eq!(updated.preferred_agent_id, Some(ann.id));
    assert_eq!(events(&pool, customers::CUSTOMER_UPDATED).await, 1);
    let cleared = customers::set_preferred_agent(&pool, &sup, cleo, None).await.expect("clear");
    assert_eq!(cleared.preferred_agent_id, None);
}
