//! Account configuration against a real database: support types and their
//! resolution reasons, CSAT, tags, tag rules and canned responses.
#![cfg(feature = "server")]

use domain::{
    Error, Result,
    actor::{Actor, AgentActor, CustomerActor},
    config::{self, NewCannedResponse, NewTag, NewTagRule, UpdateCannedResponse},
    csat::{self, SubmitCsat},
    sessions::{self, CustomerInput, OpenSession},
    support_types::{self as types, NewSupportType, SupportTypeFilter, UpdateSupportType},
    types::*,
};
use sqlx::PgPool;

async fn account(pool: &PgPool, slug: &str) -> AccountId {
    sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ($1, $1) RETURNING id")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("insert account")
}

async fn agent_id(pool: &PgPool, account: Option<AccountId>, role: Role, email: &str) -> AgentId {
    sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, $2, $2, $3) RETURNING id",
    )
    .bind(account)
    .bind(email)
    .bind(role)
    .fetch_one(pool)
    .await
    .expect("insert agent")
}

async fn actor(pool: &PgPool, account: Option<AccountId>, role: Role, email: &str) -> Actor {
    let id = agent_id(pool, account, role, email).await;
    Actor::Agent(AgentActor { id, account_id: account, role })
}

/// An account with its admin, a supervisor and a plain agent.
struct Org {
    id: AccountId,
    admin: Actor,
    supervisor: Actor,
    agent: Actor,
}

async fn org(pool: &PgPool, slug: &str) -> Org {
    let id = account(pool, slug).await;
    Org {
        id,
        admin: actor(pool, Some(id), Role::Admin, &format!("admin@{slug}.test")).await,
        supervisor: actor(pool, Some(id), Role::Supervisor, &format!("sup@{slug}.test")).await,
        agent: actor(pool, Some(id), Role::Agent, &format!("agent@{slug}.test")).await,
    }
}

fn new_type(slug: &str) -> NewSupportType {
    NewSupportType { slug: slug.into(), name: format!("Type {slug}"), ..Default::default() }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T>, expected: &str) {
    match result {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected invalid {expected:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_code<T: std::fmt::Debug>(result: Result<T>, expected: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), expected, "{e:?}"),
        Ok(v) => panic!("expected {expected:?}, got Ok({v:?})"),
    }
}

async fn count_events(pool: &PgPool, topic: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = $1")
        .bind(topic)
        .fetch_one(pool)
        .await
        .expect("count events")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn support_type_create_update_archive(pool: PgPool) {
    let a = org(&pool, "acme").await;

    let ty = types::create(&pool, &a.admin, new_type("billing")).await.expect("create");
    assert_eq!((ty.account_id, ty.slug.as_str(), ty.routing), (a.id, "billing", Routing::RoundRobin));
    assert_eq!((ty.preferred_wait_secs, ty.csat_enabled, ty.reason_required), (60, true, true));
    assert!(ty.archived_at.is_none() && ty.queue_sla_secs.is_none());

    // Defaults also apply when deserializing a minimal request.
    let from_json: NewSupportType =
        serde_json::from_value(serde_json::json!({ "slug": "x", "name": "X" })).expect("json");
    assert_eq!(from_json, NewSupportType { slug: "x".into(), name: "X".into(), ..Default::default() });

    let escalation = types::create(&pool, &a.admin, new_type("billing-l2")).await.expect("create l2");
    let updated = types::update(
        &pool,
        &a.admin,
        ty.id,
        UpdateSupportType {
            name: Some("  Billing  ".into()),
            queue_sla_secs: Some(300),
            first_response_sla_secs: Some(120),
            escalation_target_id: Some(escalation.id),
            escalation_priority_bump: Some(10),
            greeting: Some("Hello!".into()),
            business_hours: Some(serde_json::json!({ "mon": ["09:00", "17:00"] })),
            ..Default::default()
        },
    )
    .await
    .expect("update");
    assert_eq!(updated.name, "Billing");
    assert_eq!((updated.queue_sla_secs, updated.first_response_sla_secs), (Some(300), Some(120)));
    assert_eq!(updated.escalation_target_id, Some(escalation.id));
    assert_eq!(updated.greeting.as_deref(), Some("Hello!"));
    assert_eq!(updated.slug, "billing", "unchanged fields stay");

    let cleared = types::update(
        &pool,
        &a.admin,
        ty.id,
        UpdateSupportType {
            clear_queue_sla: true,
            clear_escalation_target: true,
            greeting: Some("  ".into()),
            ..Default::default()
        },
    )
    .await
    .expect("clear");
    assert_eq!((cleared.queue_sla_secs, cleared.first_response_sla_secs), (None, Some(120)));
    assert_eq!((cleared.escalation_target_id, cleared.greeting), (None, None));

    let public = types::get_by_slug_public(&pool, "billing").await.expect("public").expect("found");
    assert_eq!((public.id, public.name.as_str(), public.archived), (ty.id, "Billing", false));
    assert!(types::get_by_slug_public(&pool, "nope").await.expect("public").is_none());
    assert!(types::get_by_slug_public(&pool, "Not A Slug!").await.expect("public").is_none());

    let archived = types::archive(&pool, &a.admin, ty.id).await.expect("archive");
    assert!(archived.archived_at.is_some());
    let again = types::archive(&pool, &a.admin, ty.id).await.expect("archive again");
    assert_eq!(again.archived_at, archived.archived_at, "archiving twice changes nothing");
    assert!(types::get_by_slug_public(&pool, "billing").await.expect("public").expect("found").archived);

    let open = OpenSession { support_type: "billing".into(), ..Default::default() };
    assert_code(sessions::open(&pool, &Actor::System, open.clone()).await, "support_type_archived");

    let active = types::list(&pool, &a.agent, SupportTypeFilter::default()).await.expect("list");
    assert_eq!(active.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["billing-l2"]);
    let all =
        types::list(&pool, &a.agent, SupportTypeFilter { include_archived: true, ..Default::default() })
            .await
            .expect("list all");
    assert_eq!(all.len(), 2);

    let restored = types::restore(&pool, &a.admin, ty.id).await.expect("restore");
    assert!(restored.archived_at.is_none());
    sessions::open(&pool, &Actor::System, open).await.expect("open after restore");

    // created x2, updated x2, archived, restored; the no-op archive records nothing.
    assert_eq!(count_events(&pool, "config.changed").await, 6);
    let entity: String =
        sqlx::query_scalar("SELECT payload->>'entity' FROM outbox WHERE topic = 'config.changed' LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("payload");
    assert_eq!(entity, "support_type");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn support_type_validation_names_the_field(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let admin = &a.admin;

    assert_invalid(types::create(&pool, admin, new_type("Bad Slug")).await, "slug");
    assert_invalid(types::create(&pool, admin, new_type("-dash")).await, "slug");
    let blank = NewSupportType { name: "   ".into(), ..new_type("blank") };
    assert_invalid(types::create(&pool, admin, blank).await, "name");
    let sla = NewSupportType { queue_sla_secs: Some(0), ..new_type("sla") };
    assert_invalid(types::create(&pool, admin, sla).await, "queue_sla_secs");
    let sla = NewSupportType { first_response_sla_secs: Some(-5), ..new_type("sla") };
    assert_invalid(types::create(&pool, admin, sla).await, "first_response_sla_secs");
    let bump = NewSupportType { escalation_priority_bump: 101, ..new_type("bump") };
    assert_invalid(types::create(&pool, admin, bump).await, "escalation_priority_bump");
    let wait = NewSupportType { preferred_wait_secs: -1, ..new_type("wait") };
    assert_invalid(types::create(&pool, admin, wait).await, "preferred_wait_secs");
    let hours = NewSupportType { business_hours: Some(serde_json::json!([1, 2])), ..new_type("hours") };
    assert_invalid(types::create(&pool, admin, hours).await, "business_hours");

    // bot_first needs a bot, and the bot must be a bot of this account.
    let bot_first = NewSupportType { routing: Routing::BotFirst, ..new_type("bot") };
    assert_invalid(types::create(&pool, admin, bot_first.clone()).await, "bot_agent_id");
    let human = a.agent.agent_id().expect("agent id");
    let not_a_bot = NewSupportType { bot_agent_id: Some(human), ..bot_first.clone() };
    assert_invalid(types::create(&pool, admin, not_a_bot).await, "bot_agent_id");
    let other = account(&pool, "other").await;
    let foreign_bot = agent_id(&pool, Some(other), Role::Bot, "bot@other.test").await;
    let foreign = NewSupportType { bot_agent_id: Some(foreign_bot), ..bot_first.clone() };
    assert_invalid(types::create(&pool, admin, foreign).await, "bot_agent_id");
    let bot = agent_id(&pool, Some(a.id), Role::Bot, "bot@acme.test").await;
    let ok = types::create(&pool, admin, NewSupportType { bot_agent_id: Some(bot), ..bot_first })
        .await
        .expect("bot_first with a bot");
    assert_eq!((ok.routing, ok.bot_agent_id), (Routing::BotFirst, Some(bot)));
    // Clearing the bot of a bot_first type is caught by the same rule.
    let clear_bot = UpdateSupportType { clear_bot_agent: true, ..Default::default() };
    assert_invalid(types::update(&pool, admin, ok.id, clear_bot).await, "bot_agent_id");

    // Duplicate slugs conflict, whatever the case.
    types::create(&pool, admin, new_type("sales")).await.expect("sales");
    assert_code(types::create(&pool, admin, new_type("sales")).await, "slug_taken");
    let renamed = UpdateSupportType { slug: Some("sales".into()), ..Default::default() };
    assert_code(types::update(&pool, admin, ok.id, renamed).await, "slug_taken");

    // No self-escalation; no setting and clearing at once.
    let to_self = UpdateSupportType { escalation_target_id: Some(ok.id), ..Default::default() };
    assert_invalid(types::update(&pool, admin, ok.id, to_self).await, "escalation_target_id");
    let both = UpdateSupportType { queue_sla_secs: Some(5), clear_queue_sla: true, ..Default::default() };
    assert_invalid(types::update(&pool, admin, ok.id, both).await, "queue_sla_secs");

    // An archived type is not an escalation target.
    let archived = types::create(&pool, admin, new_type("old")).await.expect("old");
    types::archive(&pool, admin, archived.id).await.expect("archive");
    let to_archived = NewSupportType { escalation_target_id: Some(archived.id), ..new_type("new") };
    assert_invalid(types::create(&pool, admin, to_archived).await, "escalation_target_id");

    assert_eq!(count_events(&pool, "config.changed").await, 4, "failed writes record nothing");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn support_types_are_scoped_to_their_account(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let b = org(&pool, "globex").await;
    let global = actor(&pool, None, Role::Admin, "root@switchboard.test").await;

    let a_type = types::create(&pool, &a.admin, new_type("acme-help")).await.expect("a type");
    let b_type = types::create(&pool, &b.admin, new_type("globex-help")).await.expect("b type");

    // Another account's type does not exist for B, whatever B tries.
    assert_code(types::get(&pool, &b.admin, a_type.id).await, "not_found");
    assert_code(types::get(&pool, &b.agent, a_type.id).await, "not_found");
    assert_code(types::update(&pool, &b.admin, a_type.id, UpdateSupportType::default()).await, "not_found");
    assert_code(types::archive(&pool, &b.admin, a_type.id).await, "not_found");
    assert_code(types::list_reasons(&pool, &b.admin, a_type.id, false).await, "not_found");
    assert_code(types::create_reason(&pool, &b.admin, a_type.id, "Done").await, "not_found");
    let into_a = NewSupportType { account_id: Some(a.id), ..new_type("sneaky") };
    assert_code(types::create(&pool, &b.admin, into_a).await, "not_found");
    assert_code(
        types::list(&pool, &b.admin, SupportTypeFilter { account_id: Some(a.id), ..Default::default() })
            .await,
        "not_found",
    );

    // Cross-account escalation targets are rejected.
    let cross = NewSupportType { escalation_target_id: Some(a_type.id), ..new_type("globex-l2") };
    assert_invalid(types::create(&pool, &b.admin, cross).await, "escalation_target_id");
    let cross = UpdateSupportType { escalation_target_id: Some(a_type.id), ..Default::default() };
    assert_invalid(types::update(&pool, &b.admin, b_type.id, cross).await, "escalation_target_id");

    // Each account lists its own; the global admin lists all or one.
    let listed = types::list(&pool, &b.agent, SupportTypeFilter::default()).await.expect("list");
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [b_type.id]);
    assert_eq!(types::list(&pool, &global, SupportTypeFilter::default()).await.expect("all").len(), 2);
    let only_a =
        types::list(&pool, &global, SupportTypeFilter { account_id: Some(a.id), ..Default::default() })
            .await
            .expect("filtered");
    assert_eq!(only_a.iter().map(|t| t.id).collect::<Vec<_>>(), [a_type.id]);

    // A global admin names the account; an account admin need not.
    assert_invalid(types::create(&pool, &global, new_type("unnamed")).await, "account_id");
    let named = types::create(&pool, &global, NewSupportType { account_id: Some(a.id), ..new_type("named") })
        .await
        .expect("global creates in a");
    assert_eq!(named.account_id, a.id);
    types::get(&pool, &global, b_type.id).await.expect("global reads b");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn only_admins_change_configuration(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let ty = types::create(&pool, &a.admin, new_type("help")).await.expect("type");
    let reason = types::create_reason(&pool, &a.admin, ty.id, "Solved").await.expect("reason");

    for who in [&a.agent, &a.supervisor] {
        assert_code(types::create(&pool, who, new_type("mine")).await, "forbidden");
        assert_code(types::update(&pool, who, ty.id, UpdateSupportType::default()).await, "forbidden");
        assert_code(types::archive(&pool, who, ty.id).await, "forbidden");
        assert_code(types::create_reason(&pool, who, ty.id, "Other").await, "forbidden");
        assert_code(
            types::update_reason(&pool, who, ty.id, reason.id, Some("X"), None, None).await,
            "forbidden",
        );
        let tag = NewTag { name: "vip".into(), ..Default::default() };
        assert_code(config::create_tag(&pool, who, tag).await, "forbidden");
        let rule = NewTagRule {
            account_id: None,
            tag: "vip".into(),
            kind: TagRuleKind::Keyword,
            pattern: "vip".into(),
            support_type_id: None,
        };
        assert_code(config::create_tag_rule(&pool, who, rule).await, "forbidden");
        let canned = NewCannedResponse {
            shortcut: "hi".into(),
            title: "Hi".into(),
            body: "Hello".into(),
            ..Default::default()
        };
        assert_code(config::create_canned(&pool, who, canned).await, "forbidden");

        // Reading is fine.
        assert_eq!(types::get(&pool, who, ty.id).await.expect("get").id, ty.id);
        assert_eq!(types::list(&pool, who, SupportTypeFilter::default()).await.expect("list").len(), 1);
        assert_eq!(types::list_reasons(&pool, who, ty.id, false).await.expect("reasons").len(), 1);
        config::list_tags(&pool, who, None).await.expect("tags");
        config::list_canned(&pool, who, None, None).await.expect("canned");
    }
    assert_eq!(count_events(&pool, "config.changed").await, 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn resolution_reasons_are_ordered_unique_and_archivable(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let ty = types::create(&pool, &a.admin, new_type("help")).await.expect("type");
    let other = types::create(&pool, &a.admin, new_type("sales")).await.expect("other type");

    let fixed = types::create_reason(&pool, &a.admin, ty.id, " Fixed ").await.expect("fixed");
    let dup = types::create_reason(&pool, &a.admin, ty.id, "Duplicate").await.expect("dup");
    let wontfix = types::create_reason(&pool, &a.admin, ty.id, "Won't fix").await.expect("wontfix");
    assert_eq!(fixed.label, "Fixed");
    assert_eq!([fixed.position, dup.position, wontfix.position], [1, 2, 3]);

    assert_code(types::create_reason(&pool, &a.admin, ty.id, "fixed").await, "reason_exists");
    assert_invalid(types::create_reason(&pool, &a.admin, ty.id, "  ").await, "label");
    // The same label on another type is fine.
    types::create_reason(&pool, &a.admin, other.id, "Fixed").await.expect("other type's reason");

    let labels = |reasons: Vec<ResolutionReasonView>| reasons.into_iter().map(|r| r.0).collect::<Vec<_>>();
    let list = |include_archived| {
        let pool = pool.clone();
        let agent = a.agent;
        async move {
            types::list_reasons(&pool, &agent, ty.id, include_archived)
                .await
                .expect("list")
                .into_iter()
                .map(|r| ResolutionReasonView(r.label, r.position))
                .collect::<Vec<_>>()
        }
    };

    // Move "Won't fix" to the top; the others shift down.
    let moved =
        types::update_reason(&pool, &a.admin, ty.id, wontfix.id, None, Some(1), None).await.expect("move");
    assert_eq!(moved.position, 1);
    assert_eq!(
        list(false).await,
        [
            ResolutionReasonView("Won't fix".into(), 1),
            ResolutionReasonView("Fixed".into(), 2),
            ResolutionReasonView("Duplicate".into(), 3),
        ]
    );
    // Positions past the end clamp to the end.
    types::update_reason(&pool, &a.admin, ty.id, wontfix.id, None, Some(99), None).await.expect("to end");
    assert_eq!(labels(list(false).await), ["Fixed", "Duplicate", "Won't fix"]);
    assert_invalid(
        types::update_reason(&pool, &a.admin, ty.id, wontfix.id, None, Some(0), None).await,
        "position",
    );

    // Relabel, with the same uniqueness rule.
    assert_code(
        types::update_reason(&pool, &a.admin, ty.id, dup.id, Some("FIXED"), None, None).await,
        "reason_exists",
    );
    let relabelled =
        types::update_reason(&pool, &a.admin, ty.id, dup.id, Some("Duplicate ticket"), None, None)
            .await
            .expect("relabel");
    assert_eq!(relabelled.label, "Duplicate ticket");

    // Archived reasons leave the default list but keep their place.
    let archived = types::update_reason(&pool, &a.admin, ty.id, fixed.id, None, None, Some(true))
        .await
        .expect("archive");
    assert!(archived.archived_at.is_some());
    assert_eq!(labels(list(false).await), ["Duplicate ticket", "Won't fix"]);
    assert_eq!(labels(list(true).await), ["Fixed", "Duplicate ticket", "Won't fix"]);
    assert_code(types::create_reason(&pool, &a.admin, ty.id, "Fixed").await, "reason_exists");
    let back = types::update_reason(&pool, &a.admin, ty.id, fixed.id, None, None, Some(false))
        .await
        .expect("restore");
    assert!(back.archived_at.is_none());

    // A reason of another type is not found under this one.
    let foreign = types::create_reason(&pool, &a.admin, other.id, "Sold").await.expect("foreign");
    assert_code(
        types::update_reason(&pool, &a.admin, ty.id, foreign.id, Some("X"), None, None).await,
        "not_found",
    );

    // New reasons still go to the end.
    let last = types::create_reason(&pool, &a.admin, ty.id, "Spam").await.expect("spam");
    assert_eq!(last.position, 4);
}

#[derive(Debug, PartialEq)]
struct ResolutionReasonView(String, i32);

async fn open_session(pool: &PgPool, slug: &str) -> (sessions::Session, Actor) {
    let input = OpenSession {
        support_type: slug.into(),
        customer: CustomerInput { name: Some("Cleo".into()), ..Default::default() },
        message: Some("Hello".into()),
        ..Default::default()
    };
    let (session, customer_id) = sessions::open(pool, &Actor::System, input).await.expect("open");
    let customer = Actor::Customer(CustomerActor {
        customer_id,
        session_id: session.id,
        account_id: session.account_id,
    });
    (session, customer)
}

async fn resolve_by_sql(pool: &PgPool, id: SessionId) {
    sqlx::query("UPDATE sessions SET status = 'resolved', resolved_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("resolve");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn csat_is_submitted_once_after_resolution(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let b = org(&pool, "globex").await;
    let ty = types::create(&pool, &a.admin, new_type("help")).await.expect("type");
    let (session, customer) = open_session(&pool, "help").await;
    let (other_session, other_customer) = open_session(&pool, "help").await;
    let rating = SubmitCsat { score: 4, comment: Some("  quick and kind ".into()) };

    assert_code(csat::submit(&pool, &customer, session.id, rating.clone()).await, "session_not_resolved");
    resolve_by_sql(&pool, session.id).await;

    assert_invalid(
        csat::submit(&pool, &customer, session.id, SubmitCsat { score: 6, comment: None }).await,
        "score",
    );
    assert_invalid(
        csat::submit(&pool, &customer, session.id, SubmitCsat { score: 0, comment: None }).await,
        "score",
    );
    let long = SubmitCsat { score: 3, comment: Some("x".repeat(2001)) };
    assert_invalid(csat::submit(&pool, &customer, session.id, long).await, "comment");
    // Someone else's session does not exist for this customer; agents cannot rate.
    assert_code(csat::submit(&pool, &other_customer, session.id, rating.clone()).await, "not_found");
    assert_code(csat::submit(&pool, &a.admin, session.id, rating.clone()).await, "forbidden");
    assert_code(csat::submit(&pool, &b.admin, session.id, rating.clone()).await, "not_found");

    let saved = csat::submit(&pool, &customer, session.id, rating.clone()).await.expect("submit");
    assert_eq!(
        (saved.session_id, saved.score, saved.comment.as_deref()),
        (session.id, 4, Some("quick and kind"))
    );
    assert_code(csat::submit(&pool, &customer, session.id, rating.clone()).await, "csat_already_submitted");
    assert_code(csat::submit(&pool, &Actor::System, session.id, rating).await, "csat_already_submitted");

    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = 'csat.submitted' AND session_id = $1")
            .bind(session.id)
            .fetch_one(&pool)
            .await
            .expect("events");
    assert_eq!(events, 1);
    assert_eq!(count_events(&pool, "csat.submitted").await, 1);

    assert_eq!(csat::get(&pool, &customer, session.id).await.expect("get"), Some(saved.clone()));
    assert_eq!(csat::get(&pool, &a.supervisor, session.id).await.expect("get"), Some(saved));
    assert_code(csat::get(&pool, &b.supervisor, session.id).await, "not_found");
    assert_eq!(csat::get(&pool, &Actor::System, other_session.id).await.expect("get"), None);

    // The system (e.g. an import) may rate too.
    resolve_by_sql(&pool, other_session.id).await;
    csat::submit(&pool, &Actor::System, other_session.id, SubmitCsat { score: 1, comment: None })
        .await
        .expect("system submit");

    let stats = csat::stats(&pool, &a.supervisor, None, None).await.expect("stats");
    assert_eq!((stats.count, stats.distribution), (2, [1, 0, 0, 1, 0]));
    assert!((stats.average.expect("average") - 2.5).abs() < 1e-9);
    let by_type = csat::stats(&pool, &a.admin, Some(a.id), Some(ty.id)).await.expect("by type");
    assert_eq!(by_type.count, 2);
    let empty = csat::stats(&pool, &b.admin, None, None).await.expect("b stats");
    assert_eq!((empty.count, empty.average, empty.distribution), (0, None, [0; 5]));
    assert_code(csat::stats(&pool, &a.agent, None, None).await, "forbidden");
    assert_code(csat::stats(&pool, &customer, None, None).await, "forbidden");
    assert_code(csat::stats(&pool, &b.supervisor, Some(a.id), None).await, "not_found");
    assert_code(csat::stats(&pool, &b.supervisor, None, Some(ty.id)).await, "not_found");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn csat_respects_the_type_setting(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let quiet = NewSupportType { csat_enabled: false, ..new_type("quiet") };
    types::create(&pool, &a.admin, quiet).await.expect("type");
    let (session, customer) = open_session(&pool, "quiet").await;
    resolve_by_sql(&pool, session.id).await;
    assert_code(
        csat::submit(&pool, &customer, session.id, SubmitCsat { score: 5, comment: None }).await,
        "csat_disabled",
    );
    assert_eq!(count_events(&pool, "csat.submitted").await, 0);
    assert!(!types::get_by_slug_public(&pool, "quiet").await.expect("public").expect("found").csat_enabled);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tags_and_tag_rules(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let b = org(&pool, "globex").await;
    let ty = types::create(&pool, &a.admin, new_type("help")).await.expect("type");
    let b_type = types::create(&pool, &b.admin, new_type("globex-help")).await.expect("b type");

    let vip = config::create_tag(
        &pool,
        &a.admin,
        NewTag { name: "VIP".into(), color: Some("rose".into()), ..Default::default() },
    )
    .await
    .expect("tag");
    assert_eq!((vip.name.as_str(), vip.color.as_str(), vip.account_id), ("VIP", "rose", a.id));
    let plain = config::create_tag(&pool, &a.admin, NewTag { name: "billing".into(), ..Default::default() })
        .await
        .expect("plain tag");
    assert_eq!(plain.color, "slate");
    assert_code(
        config::create_tag(&pool, &a.admin, NewTag { name: "vip".into(), ..Default::default() }).await,
        "tag_exists",
    );
    let red = NewTag { name: "red".into(), color: Some("red".into()), ..Default::default() };
    assert_invalid(config::create_tag(&pool, &a.admin, red).await, "color");
    assert_invalid(
        config::create_tag(&pool, &a.admin, NewTag { name: "#bad".into(), ..Default::default() }).await,
        "name",
    );
    // The same name in another account is another tag.
    config::create_tag(&pool, &b.admin, NewTag { name: "vip".into(), ..Default::default() })
        .await
        .expect("b vip");

    let rule = |tag: &str, kind, pattern: &str, support_type_id| NewTagRule {
        account_id: None,
        tag: tag.into(),
        kind,
        pattern: pattern.into(),
        support_type_id,
    };
    let err =
        config::create_tag_rule(&pool, &a.admin, rule("invoices", TagRuleKind::Regex, "INV-(\\d+", None))
            .await
            .expect_err("bad regex");
    assert!(
        matches!(&err, Error::Invalid { field, message } if field == "pattern" && message.contains("regex")),
        "{err:?}"
    );
    assert_invalid(
        config::create_tag_rule(&pool, &a.admin, rule("vip", TagRuleKind::Keyword, "  ", None)).await,
        "pattern",
    );
    assert_invalid(
        config::create_tag_rule(&pool, &a.admin, rule("vip", TagRuleKind::ProjectRef, "", None)).await,
        "pattern",
    );
    assert_invalid(
        config::create_tag_rule(&pool, &a.admin, rule("vip", TagRuleKind::SupportType, "", None)).await,
        "support_type_id",
    );
    assert_invalid(
        config::create_tag_rule(&pool, &a.admin, rule("vip", TagRuleKind::SupportType, "", Some(b_type.id)))
            .await,
        "support_type_id",
    );
    assert_invalid(
        config::create_tag_rule(&pool, &a.admin, rule("#bad", TagRuleKind::Keyword, "x", None)).await,
        "tag",
    );

    let regex =
        config::create_tag_rule(&pool, &a.admin, rule("invoices", TagRuleKind::Regex, r"INV-\d+", None))
            .await
            .expect("regex rule");
    let by_type =
        config::create_tag_rule(&pool, &a.admin, rule("VIP", TagRuleKind::SupportType, "", Some(ty.id)))
            .await
            .expect("type rule");
    assert_eq!(by_type.tag_id, vip.id, "an existing tag is reused, whatever the case");
    let tags = config::list_tags(&pool, &a.agent, None).await.expect("tags");
    assert_eq!(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["billing", "invoices", "VIP"]);

    let rules = config::list_tag_rules(&pool, &a.agent, None).await.expect("rules");
    assert_eq!(rules.iter().map(|r| r.id).collect::<Vec<_>>(), [regex.id, by_type.id]);
    assert!(config::rule_matches(&rules[0], "about INV-17", None, ty.id));
    assert!(config::rule_matches(&rules[1], "", None, ty.id));
    assert!(config::list_tag_rules(&pool, &b.agent, None).await.expect("b rules").is_empty());
    assert_code(config::list_tag_rules(&pool, &b.agent, Some(a.id)).await, "not_found");

    assert_code(config::delete_tag_rule(&pool, &b.admin, regex.id).await, "not_found");
    assert_code(config::delete_tag_rule(&pool, &a.agent, regex.id).await, "forbidden");
    config::delete_tag_rule(&pool, &a.admin, regex.id).await.expect("delete rule");
    assert_code(config::delete_tag_rule(&pool, &a.admin, regex.id).await, "not_found");

    // Deleting a tag takes its rules with it.
    assert_code(config::delete_tag(&pool, &b.admin, vip.id).await, "not_found");
    config::delete_tag(&pool, &a.admin, vip.id).await.expect("delete tag");
    assert!(config::list_tag_rules(&pool, &a.admin, None).await.expect("rules").is_empty());
    // Types x2, tags x3 (the rule-created "invoices" is part of its rule's change), rules x2, deletes x2.
    assert_eq!(count_events(&pool, "config.changed").await, 2 + 3 + 2 + 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn canned_responses_by_type_include_account_wide_ones(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let b = org(&pool, "globex").await;
    let help = types::create(&pool, &a.admin, new_type("help")).await.expect("help");
    let sales = types::create(&pool, &a.admin, new_type("sales")).await.expect("sales");
    let b_type = types::create(&pool, &b.admin, new_type("globex-help")).await.expect("b type");

    let canned = |shortcut: &str, support_type_id| NewCannedResponse {
        account_id: None,
        support_type_id,
        shortcut: shortcut.into(),
        title: format!("Title {shortcut}"),
        body: format!("Body {shortcut}"),
    };
    let hello = config::create_canned(&pool, &a.admin, canned("hello", None)).await.expect("account-wide");
    let refund = config::create_canned(&pool, &a.admin, canned("Refund", Some(help.id))).await.expect("help");
    assert_eq!(refund.shortcut, "refund");
    let pricing =
        config::create_canned(&pool, &a.admin, canned("pricing", Some(sales.id))).await.expect("sales");
    config::create_canned(&pool, &b.admin, canned("hello", None)).await.expect("b's hello");

    assert_code(config::create_canned(&pool, &a.admin, canned("REFUND", None)).await, "shortcut_taken");
    assert_invalid(config::create_canned(&pool, &a.admin, canned("no spaces", None)).await, "shortcut");
    assert_invalid(config::create_canned(&pool, &a.admin, canned(&"x".repeat(41), None)).await, "shortcut");
    assert_invalid(
        config::create_canned(&pool, &a.admin, NewCannedResponse { title: " ".into(), ..canned("t", None) })
            .await,
        "title",
    );
    assert_invalid(
        config::create_canned(&pool, &a.admin, NewCannedResponse { body: "".into(), ..canned("b", None) })
            .await,
        "body",
    );
    assert_invalid(
        config::create_canned(&pool, &a.admin, canned("x", Some(b_type.id))).await,
        "support_type_id",
    );

    let shortcuts =
        |list: Vec<config::CannedResponse>| list.into_iter().map(|c| c.shortcut).collect::<Vec<_>>();
    let for_help = config::list_canned(&pool, &a.agent, None, Some(help.id)).await.expect("help list");
    assert_eq!(shortcuts(for_help), ["hello", "refund"]);
    let for_sales = config::list_canned(&pool, &a.agent, None, Some(sales.id)).await.expect("sales list");
    assert_eq!(shortcuts(for_sales), ["hello", "pricing"]);
    let all = config::list_canned(&pool, &a.agent, None, None).await.expect("all");
    assert_eq!(shortcuts(all), ["hello", "pricing", "refund"]);
    let theirs = config::list_canned(&pool, &b.agent, None, None).await.expect("b list");
    assert_eq!(theirs.len(), 1);
    assert_code(config::list_canned(&pool, &b.agent, Some(a.id), None).await, "not_found");

    // Make the refund response account-wide, then rename it.
    let update = UpdateCannedResponse { clear_support_type: true, ..Default::default() };
    let wide = config::update_canned(&pool, &a.admin, refund.id, update).await.expect("account-wide");
    assert_eq!(wide.support_type_id, None);
    let for_sales = config::list_canned(&pool, &a.agent, None, Some(sales.id)).await.expect("sales list");
    assert_eq!(shortcuts(for_sales), ["hello", "pricing", "refund"]);
    let clash = UpdateCannedResponse { shortcut: Some("Hello".into()), ..Default::default() };
    assert_code(config::update_canned(&pool, &a.admin, refund.id, clash).await, "shortcut_taken");
    let rename = UpdateCannedResponse {
        shortcut: Some("refunds".into()),
        body: Some("New body".into()),
        ..Default::default()
    };
    let renamed = config::update_canned(&pool, &a.admin, refund.id, rename).await.expect("rename");
    assert_eq!(
        (renamed.shortcut.as_str(), renamed.body.as_str(), renamed.title.as_str()),
        ("refunds", "New body", "Title Refund")
    );

    assert_code(
        config::update_canned(&pool, &b.admin, hello.id, UpdateCannedResponse::default()).await,
        "not_found",
    );
    assert_code(config::delete_canned(&pool, &a.agent, pricing.id).await, "forbidden");
    config::delete_canned(&pool, &a.admin, pricing.id).await.expect("delete");
    let all = config::list_canned(&pool, &a.admin, None, None).await.expect("all");
    assert_eq!(shortcuts(all), ["hello", "refunds"]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_csat_submissions_store_one(pool: PgPool) {
    let a = org(&pool, "acme").await;
    types::create(&pool, &a.admin, new_type("help")).await.expect("type");
    let (session, customer) = open_session(&pool, "help").await;
    resolve_by_sql(&pool, session.id).await;
    let (first, second) = tokio::join!(
        csat::submit(&pool, &customer, session.id, SubmitCsat { score: 5, comment: None }),
        csat::submit(&pool, &customer, session.id, SubmitCsat { score: 2, comment: None }),
    );
    let (ok, err) = match (first, second) {
        (Ok(ok), Err(err)) | (Err(err), Ok(ok)) => (ok, err),
        other => panic!("expected one success and one conflict, got {other:?}"),
    };
    assert_eq!(err.code(), "csat_already_submitted");
    assert_eq!(csat::get(&pool, &customer, session.id).await.expect("get"), Some(ok));
    assert_eq!(count_events(&pool, "csat.submitted").await, 1);
}

/// Sets (or with `None` clears) a type's escalation target.
async fn retarget(
    pool: &PgPool,
    admin: &Actor,
    id: SupportTypeId,
    target: Option<SupportTypeId>,
) -> Result<domain::support_types::SupportType> {
    let change = match target {
        Some(t) => UpdateSupportType { escalation_target_id: Some(t), ..Default::default() },
        None => UpdateSupportType { clear_escalation_target: true, ..Default::default() },
    };
    types::update(pool, admin, id, change).await
}

/// An active type escalates only to an active type, from both directions:
/// a target in use cannot be archived (409 naming who escalates to it), an
/// archived type cannot become a target, and a type whose target is archived
/// cannot be restored. Racing an archive against a re-targeting leaves no
/// active type pointing at an archived one.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn escalation_targets_stay_active(pool: PgPool) {
    let a = org(&pool, "acme").await;
    let create = |slug: &str| NewSupportType { account_id: Some(a.id), ..new_type(slug) };
    let vip = types::create(&pool, &a.admin, create("vip")).await.expect("vip");
    let billing = types::create(&pool, &a.admin, create("billing")).await.expect("billing");
    let orders = types::create(&pool, &a.admin, create("orders")).await.expect("orders");
    for source in [billing.id, orders.id] {
        retarget(&pool, &a.admin, source, Some(vip.id)).await.expect("escalate to vip");
    }
    match types::archive(&pool, &a.admin, vip.id).await {
        Err(Error::Conflict { code, message }) => {
            assert_eq!(code, "escalation_target_in_use");
            assert!(message.contains("Type billing") && message.contains("Type orders"), "{message}");
        }
        other => panic!("archiving an escalation target: {other:?}"),
    }
    assert!(types::get(&pool, &a.admin, vip.id).await.expect("vip").archived_at.is_none(), "nothing changed");

    // Once nobody active escalates to it, it can go; then it is no target.
    retarget(&pool, &a.admin, billing.id, None).await.expect("clear");
    types::archive(&pool, &a.admin, orders.id).await.expect("an archived source does not count");
    types::archive(&pool, &a.admin, vip.id).await.expect("archive vip");
    assert_invalid(retarget(&pool, &a.admin, billing.id, Some(vip.id)).await, "escalation_target_id");
    // Orders still points at the archived vip: it cannot come back alone.
    assert_code(types::restore(&pool, &a.admin, orders.id).await, "escalation_target_archived");
    types::restore(&pool, &a.admin, vip.id).await.expect("restore vip");
    types::restore(&pool, &a.admin, orders.id).await.expect("now orders may come back");

    // The race: archive vip while billing is re-targeted to it, many times.
    for _ in 0..10 {
        retarget(&pool, &a.admin, billing.id, None).await.expect("clear");
        retarget(&pool, &a.admin, orders.id, None).await.expect("clear");
        types::restore(&pool, &a.admin, vip.id).await.expect("restore");
        let (archived, retargeted) = tokio::join!(
            types::archive(&pool, &a.admin, vip.id),
            retarget(&pool, &a.admin, billing.id, Some(vip.id))
        );
        assert!(archived.is_ok() != retargeted.is_ok(), "exactly one wins: {archived:?} / {retargeted:?}");
        let dangling: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM support_types t JOIN support_types x ON x.id = t.escalation_target_id
             WHERE t.archived_at IS NULL AND x.archived_at IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(dangling, 0);
    }
}
