//! Every server function checks its caller like the REST routes do. The list
//! comes from the registry of server functions, so a new one without an
//! entry here fails the test.

mod common;

use std::collections::BTreeSet;

use common::*;
use domain::{
    actor::Actor,
    agents::{self, NewAgent},
    auth::{self, LoginInput},
    types::{AccountId, AgentId, Role},
};
use reqwest::header;
use sqlx::PgPool;

/// What each server function may answer to whom.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// No account data at all (database clock and schema version).
    Public,
    /// The caller's own identity, or nothing.
    OwnIdentity,
    /// Signing in and out (exercised in auth_http.rs).
    SignInOut,
    /// Needs a signed-in agent; returns only what the caller may see.
    SignedIn,
    /// Needs a signed-in agent and takes A's session id: others get
    /// "not found"; A's admin gets an answer about that session.
    OneSession,
    /// Like `OneSession`, and changes the session: others change nothing;
    /// A's admin succeeds (the table's order takes the session from the
    /// queue to resolved, and the end of the test checks every effect).
    OneSessionChange,
    /// Public by design (a customer's chat page): anyone may call it; it
    /// reveals nothing about an unknown slug, and the same to everyone.
    ChatPublic,
    /// Needs a customer's chat token, which alone names the session: a
    /// wrong token is 401, and an agent's cookie does not help.
    ChatToken,
    /// The admin console's list: refused to A's agent (403) and to a bot
    /// (401: a bot has no browser session); B's admin gets B's own (nothing
    /// of A's); A's admin gets A's types with their load.
    AdminList,
    /// The admin console on one of A's support types (or creating one in
    /// A): refused to A's agent (403) and to a bot (401); B's admin gets
    /// "not found"; A's admin succeeds.
    AdminOfA,
    /// Global admins only: refused to a bot (401), and to A's agent, A's
    /// admin and B's admin alike (403); a global admin succeeds.
    GlobalAdmin,
}

/// Chat calls with a well-formed token that is not one, an unknown type,
/// and every other argument.
const CHAT_FORM: &str = "token=sc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&body=hi&client_message_id=c1\
                         &score=5&slug=no-such-type&message=hello";

/// Each server function with its rule and its form body: `{session}`,
/// `{type}`, `{reason}` and `{tag}` stand for account A's session, support
/// type, resolution reason and the tag "vip" (once it exists), `{import}`
/// for an import run of A's, `{agent}`, `{bot}` and `{token}` for an agent,
/// the bot and the bot's API token of A's, `{rule}` and `{canned}` for A's
/// first tag rule and canned reply, `{webhook}` for A's first webhook;
/// `{account}`
/// and `{slug}` for A itself and its type's slug.
const SERVER_FNS: &[(&str, Rule, &str)] = &[
    ("/api/system_status", Rule::Public, ""),
    ("/api/auth/whoami", Rule::OwnIdentity, ""),
    ("/api/auth/login", Rule::SignInOut, ""),
    ("/api/auth/logout", Rule::SignInOut, ""),
    ("/api/admin/audit", Rule::SignedIn, ""),
    ("/api/admin/report", Rule::AdminList, "query="),
    (
        "/api/admin/report-sessions",
        Rule::AdminList,
        "query=count%3Dopened%26start%3D2000-01-01T00%3A00%3A00Z%26end%3D2100-01-01T00%3A00%3A00Z",
    ),
    ("/api/admin/monitor", Rule::AdminList, ""),
    ("/api/admin/blasts", Rule::SignedIn, ""),
    // The bell: the caller's own alerts (agents only).
    ("/api/notifications/unread", Rule::SignedIn, ""),
    ("/api/notifications/recent", Rule::SignedIn, ""),
    ("/api/notifications/read", Rule::SignedIn, "id=1"),
    ("/api/notifications/read-all", Rule::SignedIn, ""),
    ("/api/agent/board", Rule::SignedIn, ""),
    ("/api/agent/search", Rule::SignedIn, "q=hello"),
    ("/api/agent/search-types", Rule::SignedIn, ""),
    ("/api/theme", Rule::Public, "theme=dark"),
    ("/api/agent/presence", Rule::SignedIn, "presence=online"),
    ("/api/agent/item", Rule::OneSession, "id={session}"),
    ("/api/agent/conversation", Rule::OneSession, "id={session}"),
    ("/api/agent/history", Rule::OneSession, "id={session}"),
    ("/api/agent/details", Rule::OneSession, "id={session}"),
    ("/api/agent/suggestions", Rule::OneSession, "id={session}"),
    // Only the agent a suggestion was shown to records its outcome.
    ("/api/agent/suggestion-outcome", Rule::SignedIn, "id={session}&suggestion_id=1&outcome=dismissed"),
    // A person decides on a bot's draft of a session they see.
    ("/api/agent/draft", Rule::SignedIn, "id={session}&draft_id=1&send=false"),
    ("/api/agent/targets", Rule::OneSession, "id={session}"),
    ("/api/agent/send", Rule::OneSessionChange, "id={session}&body=hello&client_message_id=c-1"),
    ("/api/agent/read", Rule::OneSessionChange, "id={session}&message_id=1"),
    ("/api/agent/note", Rule::OneSessionChange, "id={session}&body=a+note"),
    ("/api/agent/tag", Rule::OneSessionChange, "id={session}&name=vip"),
    ("/api/agent/untag", Rule::OneSessionChange, "id={session}&tag_id={tag}"),
    ("/api/agent/pick", Rule::OneSessionChange, "id={session}"),
    ("/api/agent/escalate", Rule::OneSessionChange, "id={session}"),
    ("/api/agent/transfer", Rule::OneSessionChange, "id={session}&target=type:{type}"),
    ("/api/agent/resolve", Rule::OneSessionChange, "id={session}&reason_id={reason}"),
    ("/api/chat/type", Rule::ChatPublic, CHAT_FORM),
    ("/api/chat/open", Rule::ChatPublic, CHAT_FORM),
    ("/api/chat/state", Rule::ChatToken, CHAT_FORM),
    ("/api/chat/person", Rule::ChatToken, CHAT_FORM),
    ("/api/chat/helped", Rule::ChatToken, CHAT_FORM),
    ("/api/chat/send", Rule::ChatToken, CHAT_FORM),
    ("/api/chat/end", Rule::ChatToken, CHAT_FORM),
    ("/api/chat/rate", Rule::ChatToken, CHAT_FORM),
    // A's uploaded import: read, planned again, cancelled while ready, then
    // applied (in the background: nothing after it reads A's sessions).
    ("/api/admin/imports", Rule::AdminList, ""),
    ("/api/admin/import", Rule::AdminOfA, "id={import}"),
    ("/api/admin/import/mapping", Rule::AdminOfA, "id={import}&mapping=%7B%7D"),
    ("/api/admin/import/cancel", Rule::AdminOfA, "id={import}"),
    ("/api/admin/import/apply", Rule::AdminOfA, "id={import}"),
    ("/api/admin/attachment-policy", Rule::AdminOfA, "account={account}"),
    ("/api/admin/support-type/bot", Rule::AdminOfA, "id={type}"),
    (
        "/api/admin/support-type/bot/save",
        Rule::AdminOfA,
        "id={type}&mode=external&threshold=0.5&turn_limit=6&keywords=lawyer&instructions=",
    ),
    (
        "/api/admin/attachment-policy/save",
        Rule::AdminOfA,
        "form[account_id]={account}&form[max_mib]=2.5&form[max_per_message]=4&form[pdf]=on&form[image]=on",
    ),
    // The agents of A: `{agent}` is a plain agent of A's who never signs in
    // here (a new password signs them out), `{bot}` A's bot, `{token}` its
    // API token.
    ("/api/admin/agents", Rule::AdminList, ""),
    ("/api/admin/agent-choices", Rule::AdminList, ""),
    ("/api/admin/agent", Rule::AdminOfA, "id={agent}"),
    (
        "/api/admin/agent/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[display_name]=Made+here&form[email]=made@acme.test&form[role]=agent\
         &form[password]=long+enough+password&form[skills][type-{type}][on]=on&form[skills][type-{type}][tier]=2",
    ),
    (
        "/api/admin/agent/save",
        Rule::AdminOfA,
        "id={agent}&form[display_name]=Staff&form[role]=agent&form[max_concurrent]=4",
    ),
    (
        "/api/admin/agent/skills",
        Rule::AdminOfA,
        "id={agent}&skills[type-{type}][on]=on&skills[type-{type}][tier]=",
    ),
    ("/api/admin/agent/activation", Rule::AdminOfA, "id={agent}&active=true"),
    ("/api/admin/agent/password", Rule::AdminOfA, "id={agent}&password=another+long+password"),
    ("/api/admin/agent/token/create", Rule::AdminOfA, "id={bot}&label=ci"),
    ("/api/admin/agent/token/revoke", Rule::AdminOfA, "token_id={token}"),
    ("/api/admin/reason/add", Rule::AdminOfA, "type_id={type}&label=Refunded+here"),
    (
        "/api/admin/reason/save",
        Rule::AdminOfA,
        "type_id={type}&reason_id={reason}&position=1&label=Renamed+here",
    ),
    // Tags and rules of A: `{tag}` is "vip", tagged on A's session above.
    ("/api/admin/tags", Rule::AdminList, ""),
    (
        "/api/admin/tag/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[name]=made-here&form[color]=rose",
    ),
    (
        "/api/admin/tag-rule/test",
        Rule::AdminOfA,
        "form[account_id]={account}&form[tag]=refunds&form[kind]=keyword&form[pattern]=refund\
         &form[support_type_id]={type}&sample=I+want+a+refund",
    ),
    (
        "/api/admin/tag-rule/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[tag]=refunds&form[kind]=keyword&form[pattern]=refund",
    ),
    ("/api/admin/tag-rule/delete", Rule::AdminOfA, "id={rule}"),
    ("/api/admin/tag/delete", Rule::AdminOfA, "id={tag}"),
    // Canned replies of A: `{canned}` is A's first one (made here).
    ("/api/admin/canned", Rule::AdminList, ""),
    (
        "/api/admin/canned/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[support_type_id]={type}&form[shortcut]=thanks\
         &form[title]=Thanks&form[body]=Thank+you%21",
    ),
    (
        "/api/admin/canned/save",
        Rule::AdminOfA,
        "id={canned}&form[shortcut]=thanks&form[title]=Thanks+again&form[body]=Thank+you+again%21",
    ),
    ("/api/admin/canned/delete", Rule::AdminOfA, "id={canned}"),
    // Webhooks of A: `{webhook}` is A's first one (made here; deleted last).
    ("/api/admin/webhooks", Rule::AdminList, ""),
    (
        "/api/admin/webhook/create",
        Rule::AdminOfA,
        "account={account}&url=https%3A%2F%2Fhooks.example.com%2Fin&events[0]=session.opened&events[1]=session.*",
    ),
    ("/api/admin/webhook/test", Rule::AdminOfA, "id={webhook}"),
    ("/api/admin/webhook/deliveries", Rule::AdminOfA, "id={webhook}"),
    ("/api/admin/webhook/active", Rule::AdminOfA, "id={webhook}&active=false"),
    ("/api/admin/webhook/delete", Rule::AdminOfA, "id={webhook}"),
    // Accounts: A's own settings for its admin; creating one is global.
    ("/api/admin/accounts", Rule::AdminList, ""),
    ("/api/admin/account", Rule::AdminOfA, "id={account}"),
    (
        "/api/admin/account/save",
        Rule::AdminOfA,
        "id={account}&form[name]=Acme+renamed&form[time_zone]=Europe/Berlin&form[presence_grace_secs]=120\
         &form[widget_origins]=HTTPS://Shop.Acme.test/",
    ),
    ("/api/admin/account/identity-secret", Rule::AdminOfA, "id={account}"),
    ("/api/admin/account/create", Rule::GlobalAdmin, "slug=made-here&name=Made+here"),
    // Last: the archive leaves A's type archived (restored after the loop).
    ("/api/admin/support-types", Rule::AdminList, ""),
    ("/api/admin/support-type", Rule::AdminOfA, "id={type}"),
    (
        "/api/admin/support-type/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[name]=Created+here&form[slug]=created-here&form[routing]=round_robin\
         &form[queue_sla_secs]=300&form[business_hours]=on&form[time_zone]=Europe/Berlin\
         &form[days][mon][open]=on&form[days][mon][from]=09:00&form[days][mon][to]=17:00",
    ),
    (
        "/api/admin/support-type/save",
        Rule::AdminOfA,
        "id={type}&form[name]=Acme+billing&form[slug]={slug}&form[routing]=round_robin\
         &form[escalation_priority_bump]=5&form[greeting]=Welcome+back&form[csat_enabled]=on",
    ),
    // Blasts of A, before A's type is archived (a blast opens chats of it):
    // `{blast}` is A's first one, made here at one message a minute and
    // cancelled at once.
    ("/api/admin/blast/choices", Rule::AdminList, ""),
    ("/api/admin/blast/audience", Rule::AdminOfA, "form[account_id]={account}&form[segment]=account"),
    (
        "/api/admin/blast/create",
        Rule::AdminOfA,
        "form[account_id]={account}&form[segment]=account&form[support_type_id]={type}&form[body]=Hello+all\
         &form[rate_per_minute]=1",
    ),
    ("/api/admin/blast/cancel", Rule::AdminOfA, "id={blast}"),
    ("/api/admin/support-type/archive", Rule::AdminOfA, "id={type}&archived=true"),
    // After everything that reads the conversation: A's customer's data goes.
    ("/api/agent/erase-customer", Rule::OneSessionChange, "id={session}"),
];

async fn signed_in(pool: &PgPool, account: &Account, email: &str, role: Role) -> String {
    agents::create(
        pool,
        &Actor::System,
        NewAgent {
            account_id: Some(AccountId(account.id)),
            email: email.into(),
            display_name: email.into(),
            role,
            max_concurrent: Some(3),
            password: Some("long enough password".into()),
        },
    )
    .await
    .expect("agent");
    sqlx::query(
        "INSERT INTO agent_skills (agent_id, support_type_id) SELECT id, $2 FROM agents WHERE email = $1",
    )
    .bind(email)
    .bind(account.type_id)
    .execute(pool)
    .await
    .expect("skill");
    auth::login(
        pool,
        LoginInput {
            email: email.into(),
            password: "long enough password".into(),
            ip: None,
            user_agent: None,
            replace_session: None,
        },
    )
    .await
    .expect("login")
    .token
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_server_function_checks_its_caller(pool: PgPool) {
    let registered: BTreeSet<String> =
        server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
    let listed: BTreeSet<String> = SERVER_FNS.iter().map(|(p, _, _)| (*p).to_owned()).collect();
    assert_eq!(registered, listed, "every server function needs an entry in SERVER_FNS");

    let a = seed_account(&pool, "acme").await;
    let b = seed_account(&pool, "globex").await;
    let a_admin = signed_in(&pool, &a, "admin@acme.test", Role::Admin).await;
    let b_admin = signed_in(&pool, &b, "admin@globex.test", Role::Admin).await;
    let b_agent = signed_in(&pool, &b, "agent@globex.test", Role::Agent).await;
    let global = {
        agents::create(
            &pool,
            &Actor::System,
            NewAgent {
                account_id: None,
                email: "root@switchboard.test".into(),
                display_name: "Root".into(),
                role: Role::Admin,
                max_concurrent: None,
                password: Some("long enough password".into()),
            },
        )
        .await
        .expect("global admin");
        auth::login(
            &pool,
            LoginInput {
                email: "root@switchboard.test".into(),
                password: "long enough password".into(),
                ip: None,
                user_agent: None,
                replace_session: None,
            },
        )
        .await
        .expect("global login")
        .token
    };
    let a_agent = signed_in(&pool, &a, "agent@acme.test", Role::Agent).await;
    // A bot has no password and cannot sign in: a session of an agent who
    // then became a bot stands for a bot's browser cookie.
    let a_bot = signed_in(&pool, &a, "bot@acme.test", Role::Agent).await;
    sqlx::query!("UPDATE agents SET role = 'bot', password_hash = NULL WHERE email = 'bot@acme.test'")
        .execute(&pool)
        .await
        .expect("bot");
    // Account A's data that must never reach B: a waiting session and audit rows.
    let (a_session, _) = domain::sessions::open(
        &pool,
        &Actor::System,
        domain::sessions::OpenSession { support_type: a.type_slug.clone(), ..Default::default() },
    )
    .await
    .expect("open");
    // A second waiting session, for the board's final check.
    let (a_waiting, _) = domain::sessions::open(
        &pool,
        &Actor::System,
        domain::sessions::OpenSession { support_type: a.type_slug.clone(), ..Default::default() },
    )
    .await
    .expect("open");
    // A's admin may pick (online, serves the type) and escalate (the type
    // bumps priority).
    sqlx::query("UPDATE agents SET presence = 'online' WHERE email = 'admin@acme.test'")
        .execute(&pool)
        .await
        .expect("online");
    sqlx::query("UPDATE support_types SET escalation_priority_bump = 5 WHERE id = $1")
        .bind(a.type_id)
        .execute(&pool)
        .await
        .expect("bump");
    let a_staff = agents::create(
        &pool,
        &Actor::System,
        NewAgent {
            account_id: Some(AccountId(a.id)),
            email: "staff@acme.test".into(),
            display_name: "Staff".into(),
            role: Role::Agent,
            max_concurrent: None,
            password: None,
        },
    )
    .await
    .expect("staff")
    .id;
    let a_bot_id =
        sqlx::query_scalar!(r#"SELECT id AS "id: AgentId" FROM agents WHERE email = 'bot@acme.test'"#)
            .fetch_one(&pool)
            .await
            .expect("bot id");
    let (a_token, _) =
        domain::tokens::create(&pool, &Actor::System, a_bot_id, "existing").await.expect("token");
    // What A's admin gets back names one of A's own: the account, its type
    // (reasons) or its bot (tokens).
    let a_own = [a.id.to_string(), a.type_id.to_string(), a_bot_id.to_string()];
    let secrets = [
        a.id.to_string(),
        a_session.id.to_string(),
        a_waiting.id.to_string(),
        "admin@acme.test".to_owned(),
        a.type_slug.clone(),
    ];
    let chat = domain::auth::open_chat(
        &pool,
        &a.type_slug,
        domain::auth::OpenChat { message: Some("hi".into()), ..Default::default() },
    )
    .await
    .expect("chat");
    let app = spawn_app(pool.clone()).await;
    // An import of A's, uploaded by A's admin.
    let import: uuid::Uuid = {
        let file =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/fixtures/import/generic.jsonl"))
                .expect("fixture");
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(file).file_name("generic.jsonl"));
        let res = app
            .client
            .post(format!("{}/api/v1/imports?format=jsonl", app.base))
            .header(header::ORIGIN, &app.base)
            .header(header::COOKIE, format!("sb_session={a_admin}"))
            .multipart(form)
            .send()
            .await
            .expect("upload");
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let run: serde_json::Value = res.json().await.expect("run");
        run["id"].as_str().expect("id").parse().expect("uuid")
    };

    let body_for = |template: &str| {
        let pool = pool.clone();
        let template = template.to_owned();
        let (account, slug) = (a.id.to_string(), a.type_slug.clone());
        async move {
            let tag: Option<uuid::Uuid> =
                sqlx::query_scalar("SELECT id FROM tags WHERE account_id = $1 AND name = 'vip'")
                    .bind(a.id)
                    .fetch_optional(&pool)
                    .await
                    .expect("tag");
            let rule = sqlx::query_scalar!(
                "SELECT id FROM tag_rules WHERE account_id = $1 ORDER BY created_at LIMIT 1",
                a.id
            )
            .fetch_optional(&pool)
            .await
            .expect("rule");
            let canned = sqlx::query_scalar!(
                "SELECT id FROM canned_responses WHERE account_id = $1 ORDER BY created_at LIMIT 1",
                a.id
            )
            .fetch_optional(&pool)
            .await
            .expect("canned");
            let webhook = sqlx::query_scalar!(
                "SELECT id FROM webhooks WHERE account_id = $1 ORDER BY created_at LIMIT 1",
                a.id
            )
            .fetch_optional(&pool)
            .await
            .expect("webhook");
            let blast = sqlx::query_scalar!(
                "SELECT id FROM blasts WHERE account_id = $1 ORDER BY created_at LIMIT 1",
                a.id
            )
            .fetch_optional(&pool)
            .await
            .expect("blast");
            template
                .replace("{blast}", &blast.unwrap_or_default().to_string())
                .replace("{canned}", &canned.unwrap_or_default().to_string())
                .replace("{webhook}", &webhook.unwrap_or_default().to_string())
                .replace("{session}", &a_session.id.to_string())
                .replace("{rule}", &rule.unwrap_or_default().to_string())
                .replace("{import}", &import.to_string())
                .replace("{type}", &a.type_id.to_string())
                .replace("{agent}", &a_staff.to_string())
                .replace("{bot}", &a_bot_id.to_string())
                .replace("{token}", &a_token.id.to_string())
                .replace("{reason}", &a.reason_id.to_string())
                .replace("{tag}", &tag.unwrap_or_default().to_string())
                .replace("{account}", &account)
                .replace("{slug}", &slug)
        }
    };
    let call = |path: &str, body: String, cookie: Option<&str>| {
        let mut req = app
            .client
            .post(format!("{}{path}", app.base))
            .header(header::ORIGIN, &app.base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, format!("sb_session={c}"));
        }
        async move {
            let res = req.send().await.expect("call");
            (res.status(), res.text().await.expect("body"))
        }
    };
    let no_leak = |who: &str, path: &str, body: &str| {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "{path} leaked {s} to {who}: {body}");
        }
    };

    // The reports read the facts that the reports consumer writes.
    wait_until_events_settle(&pool).await;
    for (path, rule, template) in SERVER_FNS {
        let body = || body_for(template);
        match rule {
            Rule::Public => {
                let (status, body) = call(path, body().await, None).await;
                assert!(status.is_success(), "{path}: {status}");
                no_leak("anonymous", path, &body);
            }
            Rule::OwnIdentity => {
                let (_, text) = call(path, body().await, None).await;
                assert_eq!(text, "null", "{path} anonymous");
                let (_, text) = call(path, body().await, Some(&b_agent)).await;
                assert!(text.contains("agent@globex.test"), "{path}: {text}");
                no_leak("B's agent", path, &text);
            }
            Rule::SignInOut => {}
            Rule::ChatPublic => {
                let (anonymous, text) = call(path, body().await, None).await;
                assert!(anonymous.is_success() || anonymous.is_client_error(), "{path}: {anonymous} {text}");
                no_leak("anonymous", path, &text);
                let (as_admin, admin_text) = call(path, body().await, Some(&b_admin)).await;
                assert_eq!((as_admin, admin_text.as_str()), (anonymous, text.as_str()), "{path}");
            }
            Rule::ChatToken => {
                for cookie in [None, Some(&a_admin)] {
                    let (status, text) = call(path, body().await, cookie.map(String::as_str)).await;
                    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path}: {text}");
                    no_leak("a bad chat token", path, &text);
                }
            }
            Rule::OneSession | Rule::OneSessionChange => {
                let (status, text) = call(path, body().await, None).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} anonymous: {text}");
                for (who, cookie) in [("B's admin", &b_admin), ("B's agent", &b_agent)] {
                    let (status, text) = call(path, body().await, Some(cookie)).await;
                    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path} as {who}: {text}");
                    no_leak(who, path, &text);
                }
                let (status, text) = call(path, body().await, Some(&a_admin)).await;
                assert!(
                    status.is_success() && text.contains(&a_session.id.to_string()),
                    "{path} as A's admin: {status} {text}"
                );
            }
            Rule::AdminList | Rule::AdminOfA => {
                let (status, text) = call(path, body().await, None).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} anonymous: {text}");
                let (status, text) = call(path, body().await, Some(&a_bot)).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} as a bot: {text}");
                let (status, text) = call(path, body().await, Some(&a_agent)).await;
                assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{path} as A's agent: {text}");
                assert!(text.contains(r#""kind":"forbidden""#), "{path} as A's agent: {text}");
                let (status, text) = call(path, body().await, Some(&b_admin)).await;
                if matches!(rule, Rule::AdminList) {
                    assert!(status.is_success(), "{path} as B's admin: {status} {text}");
                } else {
                    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path} as B's admin: {text}");
                }
                no_leak("B's admin", path, &text);
                let (status, text) = call(path, body().await, Some(&a_admin)).await;
                assert!(
                    status.is_success() && a_own.iter().any(|id| text.contains(id.as_str())),
                    "{path} as A's admin: {status} {text}"
                );
            }
            Rule::GlobalAdmin => {
                let (status, text) = call(path, body().await, Some(&a_bot)).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} as a bot: {text}");
                for (who, cookie) in
                    [("A's agent", &a_agent), ("A's admin", &a_admin), ("B's admin", &b_admin)]
                {
                    let (status, text) = call(path, body().await, Some(cookie)).await;
                    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{path} as {who}: {text}");
                }
                let (status, text) = call(path, body().await, Some(&global)).await;
                assert!(status.is_success(), "{path} as a global admin: {status} {text}");
            }
            Rule::SignedIn => {
                let (status, text) = call(path, body().await, None).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} anonymous");
                assert!(text.contains(r#""kind":"unauthenticated""#), "{path} anonymous: {text}");
                for (who, cookie) in [("B's admin", &b_admin), ("B's agent", &b_agent)] {
                    let (_, text) = call(path, body().await, Some(cookie)).await;
                    no_leak(who, path, &text);
                }
            }
        }
    }
    // The audit log: B's agent is refused; A's admin does see A's entries (the
    // check above is not vacuous).
    let (status, text) = call("/api/admin/audit", String::new(), Some(&b_agent)).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains(r#""kind":"forbidden""#), "{text}");
    let (status, text) = call("/api/admin/audit", String::new(), Some(&a_admin)).await;
    assert!(status.is_success() && text.contains("login.succeeded"), "{status} {text}");
    // A real chat token reads its own chat (the 401s above are not vacuous).
    let (status, text) = call("/api/chat/state", format!("token={}", chat.token), None).await;
    assert!(status.is_success() && text.contains(&chat.session.id.to_string()), "{status} {text}");
    let (status, text) = call("/api/agent/board", String::new(), Some(&a_admin)).await;
    assert!(status.is_success() && text.contains(&a_waiting.id.to_string()), "{status} {text}");

    // A rule's test answers for the sample: a word at the start of a word matches, inside one not.
    for (sample, matches) in [("I+want+a+refund", true), ("about+prefunding", false)] {
        let (status, text) = call(
            "/api/admin/tag-rule/test",
            format!("form[tag]=refunds&form[kind]=keyword&form[pattern]=refund&sample={sample}"),
            Some(&a_admin),
        )
        .await;
        assert!(status.is_success() && text.contains(&format!(r#""matches":{matches}"#)), "{sample}: {text}");
    }

    // The console's changes went through for A's admin only.
    let (status, text) =
        call("/api/admin/support-type/archive", format!("id={}&archived=false", a.type_id), Some(&a_admin))
            .await;
    assert!(status.is_success() && text.contains(r#""archived_at":null"#), "{status} {text}");
    let row = sqlx::query!(
        r#"SELECT t.name, t.greeting,
                  (SELECT business_hours FROM support_types WHERE slug = 'created-here') AS created
           FROM support_types t WHERE t.id = $1"#,
        a.type_id
    )
    .fetch_one(&pool)
    .await
    .expect("type");
    let (name, greeting, created) = (row.name, row.greeting, row.created);
    assert_eq!((name.as_str(), greeting.as_deref()), ("Acme billing", Some("Welcome back")));
    assert_eq!(
        created,
        Some(serde_json::json!({
            "time_zone": "Europe/Berlin", "open": { "mon": ["09:00", "17:00"] }, "after_hours_message": null
        })),
        "created once, in A, with its hours"
    );

    // What A's admin did went through, once; nobody else changed anything.
    let (status, owner, escalations, reason): (String, Option<uuid::Uuid>, i32, Option<uuid::Uuid>) =
        sqlx::query_as(
            "SELECT status, owner_id, escalation_count, resolution_reason_id FROM sessions WHERE id = $1",
        )
        .bind(a_session.id)
        .fetch_one(&pool)
        .await
        .expect("session");
    assert_eq!((status.as_str(), owner, escalations, reason), ("resolved", None, 1, Some(a.reason_id)));
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM assignments WHERE session_id = $1 ORDER BY id")
            .bind(a_session.id)
            .fetch_all(&pool)
            .await
            .expect("assignments");
    assert_eq!(reasons, ["manual"], "picked once; the transfer to the type queued it");
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM messages WHERE session_id = $1 AND client_message_id = 'c-1'),
                (SELECT count(*) FROM notes WHERE session_id = $1),
                (SELECT count(*) FROM session_tags WHERE session_id = $1)",
    )
    .bind(a_session.id)
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(counts, (1, 1, 0), "one message, one note, the tag added then removed");
    let policy = sqlx::query!(
        "SELECT max_bytes, max_per_message, kinds FROM attachment_policies WHERE account_id = $1",
        a.id
    )
    .fetch_one(&pool)
    .await
    .expect("policy");
    let (max_bytes, per_message, kinds) = (policy.max_bytes, policy.max_per_message, policy.kinds);
    assert_eq!(
        (max_bytes, per_message, kinds),
        (2_621_440, 4, vec!["image".into(), "pdf".into()]),
        "saved once, by A's admin"
    );
    let erasure = sqlx::query!(
        r#"SELECT c.erased_at IS NOT NULL AS "erased!",
                  array(SELECT DISTINCT body FROM messages WHERE session_id = s.id) AS "texts!"
           FROM sessions s JOIN customers c ON c.id = s.customer_id WHERE s.id = $1"#,
        a_session.id.0
    )
    .fetch_one(&pool)
    .await
    .expect("erasure");
    let (erased, texts) = (erasure.erased, erasure.texts);
    assert_eq!((erased, texts), (true, vec!["[erased]".to_owned()]), "A's admin erased the customer's data");
    let b_presence: Vec<String> =
        sqlx::query_scalar("SELECT presence FROM agents WHERE email LIKE '%@globex.test' ORDER BY email")
            .fetch_all(&pool)
            .await
            .expect("presence");
    assert_eq!(b_presence, ["online", "online"], "presence is the caller's own");

    // The blast: A's admin's, once, to A's customers, stopped (or done, if
    // its one send came first).
    let blasts: Vec<(String, String)> = sqlx::query!("SELECT body, status FROM blasts ORDER BY created_at")
        .fetch_all(&pool)
        .await
        .expect("blasts")
        .into_iter()
        .map(|b| (b.body, b.status))
        .collect();
    assert_eq!(blasts.len(), 1, "{blasts:?}");
    assert_eq!(blasts[0].0, "Hello all");
    assert!(["cancelled", "done"].contains(&blasts[0].1.as_str()), "{blasts:?}");

    // The webhooks page's changes: A's admin's, each once, in order.
    let webhook_audit: Vec<String> = sqlx::query_scalar!(
        "SELECT action FROM audit_log WHERE account_id = $1 AND action LIKE 'webhook.%' ORDER BY id",
        a.id
    )
    .fetch_all(&pool)
    .await
    .expect("webhook audit");
    assert_eq!(webhook_audit, ["webhook.created", "webhook.tested", "webhook.updated", "webhook.deleted"]);
    let left = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM webhooks) AS "hooks!", (SELECT count(*) FROM webhook_deliveries) AS "tests!""#
    )
    .fetch_one(&pool)
    .await
    .expect("webhooks");
    let (hooks, tests) = (left.hooks, left.tests);
    assert_eq!((hooks, tests), (0, 0), "made once, deleted with its log");

    // The agents, reasons and tags pages' changes: A's admin's, each once.
    let console = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM agents a JOIN agent_skills k ON k.agent_id = a.id
                   WHERE a.email = 'made@acme.test' AND a.account_id = $1 AND k.support_type_id = $2
                     AND k.tier = 2) AS "made!",
                  (SELECT count(*) FROM agent_skills WHERE agent_id = $3 AND support_type_id = $2
                     AND tier IS NULL) AS "staff_skill!",
                  (SELECT display_name FROM agents WHERE id = $3) AS "name!",
                  (SELECT max_concurrent FROM agents WHERE id = $3) AS "limit!",
                  (SELECT count(*) FROM api_tokens WHERE agent_id = $4 AND label = 'ci'
                     AND revoked_at IS NULL) AS "new_token!",
                  (SELECT count(*) FROM api_tokens WHERE agent_id = $4 AND label = 'existing'
                     AND revoked_at IS NOT NULL) AS "revoked!""#,
        a.id,
        a.type_id,
        a_staff.0,
        a_bot_id.0
    )
    .fetch_one(&pool)
    .await
    .expect("agents");
    let console =
        (console.made, console.staff_skill, console.name, console.limit, console.new_token, console.revoked);
    assert_eq!(console, (1, 1, "Staff".to_owned(), 4, 1, 1));
    let password_set = sqlx::query_scalar!(
        r#"SELECT password_hash IS NOT NULL AS "set!" FROM agents WHERE id = $1"#,
        a_staff.0
    )
    .fetch_one(&pool)
    .await
    .expect("password");
    assert!(password_set, "A's admin set the staff member's password");
    let reasons: Vec<(String, i32)> = sqlx::query!(
        "SELECT label, position FROM resolution_reasons WHERE support_type_id = $1 ORDER BY position",
        a.type_id
    )
    .fetch_all(&pool)
    .await
    .expect("reasons")
    .into_iter()
    .map(|r| (r.label, r.position))
    .collect();
    assert_eq!(reasons.first().map(|r| r.0.as_str()), Some("Renamed here"), "{reasons:?}");
    assert_eq!(reasons.iter().filter(|r| r.0 == "Refunded here").count(), 1, "{reasons:?}");
    let tags = sqlx::query_scalar!(
        r#"SELECT name::text AS "name!" FROM tags WHERE account_id = $1 ORDER BY name"#,
        a.id
    )
    .fetch_all(&pool)
    .await
    .expect("tags");
    // (Other tags come with the applied import.)
    let has = |name: &str| tags.iter().any(|t| t == name);
    assert_eq!(
        (has("made-here"), has("refunds"), has("vip")),
        (true, true, false),
        "vip deleted; the rule's tag stays when the rule goes: {tags:?}"
    );
    let rules = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM tag_rules WHERE account_id = $1"#, a.id)
        .fetch_one(&pool)
        .await
        .expect("rules");
    assert_eq!(rules, 0, "created, then deleted");
    let canned =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM canned_responses WHERE account_id = $1"#, a.id)
            .fetch_one(&pool)
            .await
            .expect("canned");
    assert_eq!(canned, 0, "created, then deleted");
    let account = sqlx::query!(
        r#"SELECT name, time_zone, presence_grace_secs, widget_origins,
                  identity_secret IS NOT NULL AS "secret_set!"
           FROM accounts WHERE id = $1"#,
        a.id
    )
    .fetch_one(&pool)
    .await
    .expect("account");
    let account = (
        account.name,
        account.time_zone,
        account.presence_grace_secs,
        account.widget_origins,
        account.secret_set,
    );
    assert_eq!(
        account,
        ("Acme renamed".into(), "Europe/Berlin".into(), 120, vec!["https://shop.acme.test".into()], true),
        "saved (the origin normalised) and a secret set, by A's admin"
    );
    let made = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM accounts WHERE slug = 'made-here'"#)
        .fetch_one(&pool)
        .await
        .expect("made");
    assert_eq!(made, 1, "created once, by the global admin");
}
