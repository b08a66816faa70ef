//! The scope table: who sees session S, asked of every read path.
//!
//! One rule decides who may see a session (`domain::scope`). This suite
//! asks it of every actor kind and every way to read a session — REST get,
//! list, queue and sub-resources, server functions, the hub's subscription
//! and its event delivery — and demands the same answer everywhere:
//!
//! | actor                         | sees S |
//! |-------------------------------|--------|
//! | global admin                  | yes    |
//! | account admin                 | yes    |
//! | supervisor                    | yes    |
//! | agent who serves S's type     | yes    |
//! | agent who does not            | no     |
//! | bot who serves S's type       | yes    |
//! | S's customer                  | yes    |
//! | another session's customer    | no     |
//! | another account's admin       | no     |
//!
//! The expected column is also checked against `Scope::sees` itself. A path
//! that an actor kind cannot use at all (customers on the agent workspace,
//! bots without a browser session) must refuse them.
//!
//! [`every_read_path_has_an_entry`] fails when a GET route under
//! `/sessions` or `/customers`, or a server function, is added without an
//! entry here (or, for server functions that read no session, in
//! [`NOT_SESSION_READS`]).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use domain::{
    actor::{Actor, AgentActor, CustomerActor},
    agents::{self, NewAgent},
    auth::{self, LoginInput},
    scope::Scope,
    types::{AccountId, CustomerId, Role, SessionId},
};
use futures_util::{SinkExt, StreamExt};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use uuid::Uuid;

/// REST read paths: `{s}` is S, `{c}` S's customer, `{a}` a file sent in S.
const REST: &[(&str, Reach)] = &[
    ("/sessions/{s}", Reach::Status),
    ("/sessions/{s}/messages", Reach::Status),
    ("/sessions/{s}/notes", Reach::AgentsStatus),
    ("/sessions/{s}/tags", Reach::AgentsStatus),
    ("/sessions/{s}/suggestions", Reach::AgentsStatus),
    ("/sessions/{s}/drafts", Reach::AgentsStatus),
    ("/sessions/{s}/csat", Reach::Status),
    ("/sessions?limit=200", Reach::AgentsListed),
    ("/sessions?queue=true&limit=200", Reach::AgentsListed),
    ("/search?q=Hello&limit=200", Reach::AgentsListed),
    ("/customers/{c}", Reach::Status),
    ("/attachments/{a}", Reach::Status),
    ("/attachments/{a}/thumbnail", Reach::Status),
    ("/attachments/{a}/links", Reach::Status),
    (
        "/reports/sessions?count=opened&start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z&limit=200",
        Reach::WholeAccountsListed,
    ),
    ("/reports/sessions.csv?from={yesterday}&to={today}", Reach::WholeAccountsListed),
    // The live queue monitor lists the longest-waiting sessions (S waits).
    ("/monitor", Reach::WholeAccountsListed),
];

/// Server functions that read sessions, with their form body.
const SERVER_FNS: &[(&str, &str, Reach)] = &[
    ("/api/agent/item", "id={s}", Reach::PeopleStatus),
    ("/api/agent/conversation", "id={s}", Reach::PeopleStatus),
    ("/api/agent/history", "id={s}", Reach::PeopleStatus),
    ("/api/agent/details", "id={s}", Reach::PeopleStatus),
    ("/api/agent/suggestions", "id={s}", Reach::PeopleStatus),
    ("/api/agent/targets", "id={s}", Reach::PeopleStatus),
    ("/api/agent/board", "", Reach::PeopleListed),
    ("/api/agent/search", "q=Hello", Reach::PeopleListed),
    ("/api/chat/state", "token={token}", Reach::CustomersListed),
    // Asking for a person answers with the same view (S has no bot: nothing changes).
    ("/api/chat/person", "token={token}", Reach::CustomersListed),
    (
        "/api/admin/report-sessions",
        "query=count%3Dopened%26start%3D2000-01-01T00%3A00%3A00Z%26end%3D2100-01-01T00%3A00%3A00Z",
        Reach::WholeAccountsListed,
    ),
    ("/api/admin/monitor", "", Reach::WholeAccountsListed),
];

/// Server functions that read no session, or change one (their refusals
/// are checked by `server_fns.rs`), and why.
const NOT_SESSION_READS: &[(&str, &str)] = &[
    ("/api/system_status", "server facts, no account data"),
    ("/api/admin/support-type/bot", "a support type's bot settings (configuration, no session)"),
    ("/api/admin/support-type/bot/save", "a change: a support type's bot settings, admins only"),
    ("/api/agent/suggestion-outcome", "a change: records what the agent did with a suggestion shown to them"),
    ("/api/agent/draft", "a change: a person sends or discards a bot's draft in a session they see"),
    ("/api/chat/helped", "a change: the customer says the bot helped (refused while no bot answered)"),
    ("/api/admin/report", "counts and percentiles of whole accounts (Scope::whole_accounts), no session"),
    ("/api/auth/whoami", "the caller's own identity"),
    ("/api/notifications/unread", "the caller's own alerts: a count"),
    ("/api/agent/search-types", "the support types the reader may search in (configuration, no session)"),
    ("/api/theme", "remembers the reader's colour theme in a cookie; reads nothing"),
    ("/api/admin/webhooks", "an account's webhooks, admins only"),
    ("/api/admin/blast/choices", "the accounts and support types a blast may use, admins only"),
    ("/api/admin/blast/audience", "how many customers a segment reaches: a count, admins only"),
    ("/api/admin/blast/create", "a change: sends a blast, admins only"),
    ("/api/admin/blast/cancel", "a change: cancels a blast, admins only"),
    ("/api/admin/webhook/create", "a change: creates a webhook, admins only"),
    ("/api/admin/webhook/active", "a change: disables or re-enables a webhook, admins only"),
    ("/api/admin/webhook/delete", "a change: deletes a webhook, admins only"),
    ("/api/admin/webhook/test", "a change: queues a test delivery, admins only"),
    ("/api/admin/webhook/deliveries", "a webhook's delivery log, admins only"),
    ("/api/notifications/recent", "the caller's own alerts, by agent id, no session read"),
    ("/api/notifications/read", "a change: marks one of the caller's own alerts read"),
    ("/api/notifications/read-all", "a change: marks the caller's own alerts read"),
    ("/api/auth/login", "signing in"),
    ("/api/auth/logout", "signing out"),
    ("/api/admin/audit", "the audit log, admins only"),
    ("/api/admin/blasts", "blasts, admins only"),
    ("/api/admin/attachment-policy", "an account's attachment limits, admins only"),
    ("/api/admin/attachment-policy/save", "a change: an account's attachment limits"),
    ("/api/admin/imports", "the account's import runs, admins only"),
    ("/api/admin/import", "one import run with its types and agents for the mapping, admins only"),
    ("/api/admin/import/mapping", "a change: plans an import again, admins only"),
    ("/api/admin/import/apply", "a change: starts an import, admins only"),
    ("/api/admin/import/cancel", "a change: cancels an import, admins only"),
    (
        "/api/admin/support-types",
        "support types, admins only; the waiting count is a number through Scope::push_sql",
    ),
    ("/api/admin/support-type", "one support type's settings and the editor's choices, admins only"),
    ("/api/admin/support-type/create", "creates a support type, admins only"),
    ("/api/admin/support-type/save", "saves a support type's settings, admins only"),
    ("/api/admin/support-type/archive", "archives or restores a support type, admins only"),
    ("/api/admin/agents", "the agents an admin administers, with their skills and load; no session"),
    ("/api/admin/agent-choices", "the accounts and support types a new agent may get, admins only"),
    ("/api/admin/agent", "one agent's settings, skills and API tokens, admins of their account only"),
    ("/api/admin/agent/create", "a change: creates an agent with their skills, admins only"),
    ("/api/admin/agent/save", "a change: an agent's name, role and limit, admins only"),
    ("/api/admin/agent/skills", "a change: the support types an agent serves, admins only"),
    ("/api/admin/agent/activation", "a change: deactivates or reactivates an agent, admins only"),
    ("/api/admin/agent/password", "a change: sets an agent's password, admins only"),
    ("/api/admin/agent/token/create", "a change: a new API token, admins only"),
    ("/api/admin/agent/token/revoke", "a change: revokes an API token"),
    ("/api/admin/reason/add", "a change: adds a resolution reason, admins only"),
    ("/api/admin/reason/save", "a change: relabels, moves or archives a resolution reason, admins only"),
    ("/api/admin/tags", "the account's tags and tag rules, admins only"),
    ("/api/admin/tag/create", "a change: adds a tag, admins only"),
    ("/api/admin/tag/delete", "a change: deletes a tag, admins only"),
    ("/api/admin/tag-rule/create", "a change: adds a tag rule, admins only"),
    ("/api/admin/tag-rule/delete", "a change: deletes a tag rule, admins only"),
    ("/api/admin/tag-rule/test", "a rule tried on a sample message, nothing read or saved; admins only"),
    ("/api/admin/canned", "the account's canned replies, admins only"),
    ("/api/admin/canned/create", "a change: adds a canned reply, admins only"),
    ("/api/admin/canned/save", "a change: edits a canned reply, admins only"),
    ("/api/admin/canned/delete", "a change: deletes a canned reply, admins only"),
    ("/api/admin/accounts", "the accounts an admin administers"),
    ("/api/admin/account", "one account's settings, its admins only"),
    ("/api/admin/account/save", "a change: an account's settings, its admins only"),
    ("/api/admin/account/identity-secret", "a change: a new identity secret, its admins only"),
    ("/api/admin/account/create", "a change: a new account, global admins only"),
    ("/api/agent/presence", "the caller's own presence"),
    ("/api/agent/send", "a change: send"),
    ("/api/agent/read", "a change: read position"),
    ("/api/agent/pick", "a change: assign"),
    ("/api/agent/transfer", "a change: reassign"),
    ("/api/agent/escalate", "a change: escalate"),
    ("/api/agent/resolve", "a change: resolve"),
    ("/api/agent/note", "a change: note"),
    ("/api/agent/tag", "a change: tag"),
    ("/api/agent/untag", "a change: untag"),
    ("/api/agent/erase-customer", "a change: erase the session's customer's data (admins)"),
    ("/api/chat/type", "a public support type, by slug"),
    ("/api/chat/open", "a change: opens a new chat"),
    ("/api/chat/send", "a change: the customer's message"),
    ("/api/chat/end", "a change: abandon"),
    ("/api/chat/rate", "a change: CSAT"),
];

/// How an answer says "sees S", and who may use the path at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Everyone may call it; 200 means seen, 404 not.
    Status,
    /// Agents and bots (tokens); customers are refused.
    AgentsStatus,
    /// Agents and bots; seen means S is in the list. Customers are refused.
    AgentsListed,
    /// People with a browser session (not bots, not customers); 200 or 404.
    PeopleStatus,
    /// People with a browser session; seen means S is in the answer.
    PeopleListed,
    /// Customers with their chat token; seen means S is in the answer.
    CustomersListed,
    /// Readers of whole accounts (`Scope::whole_accounts`: admins and
    /// supervisors); seen means S is in the answer. Others are refused.
    WholeAccountsListed,
}

struct Caller {
    name: &'static str,
    sees: bool,
    actor: Actor,
    /// The bearer token for REST and the hub (an API token or a chat token).
    bearer: String,
    /// A browser session, for people.
    cookie: Option<String>,
    customer: bool,
    /// Whether the rule lets them count whole accounts (reports).
    counts_accounts: bool,
}

const PASSWORD: &str = "long enough password";

/// A person (or bot) of `account` with an API token, and a browser session
/// for people; `serves` are their skills.
async fn person(
    pool: &PgPool,
    account: Option<Uuid>,
    email: &str,
    role: Role,
    serves: &[Uuid],
) -> (Actor, String, Option<String>) {
    let agent = agents::create(
        pool,
        &Actor::System,
        NewAgent {
            account_id: account.map(AccountId),
            email: email.into(),
            display_name: email.into(),
            role,
            max_concurrent: Some(5),
            password: (role != Role::Bot).then(|| PASSWORD.to_owned()),
        },
    )
    .await
    .expect("agent");
    for t in serves {
        sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)")
            .bind(agent.id)
            .bind(t)
            .execute(pool)
            .await
            .expect("skill");
    }
    let (_, token) = domain::tokens::create(pool, &Actor::System, agent.id, "scope").await.expect("token");
    let cookie = if role == Role::Bot {
        None
    } else {
        let login = LoginInput {
            email: email.into(),
            password: PASSWORD.into(),
            ip: None,
            user_agent: None,
            replace_session: None,
        };
        Some(auth::login(pool, login).await.expect("login").token)
    };
    let actor = Actor::Agent(AgentActor { id: agent.id, account_id: account.map(AccountId), role });
    (actor, token, cookie)
}

struct Chat {
    session: Uuid,
    customer: Uuid,
    token: String,
    /// An image the customer sent in it.
    attachment: Uuid,
}

async fn open_chat(app: &TestApp, slug: &str, name: &str) -> Chat {
    let res = app
        .client
        .post(format!("{}/api/v1/chat/{slug}/sessions", app.base))
        .json(&json!({ "name": name, "message": "Hello" }))
        .send()
        .await
        .expect("open chat");
    let body = expect(res, StatusCode::CREATED).await;
    let session: Uuid = body["session"]["id"].as_str().expect("id").parse().expect("uuid");
    let customer: Uuid = body["session"]["customer_id"].as_str().expect("customer").parse().expect("uuid");
    let token = body["token"].as_str().expect("token").to_owned();
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(40, 30)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let part = reqwest::multipart::Part::bytes(png).file_name("screenshot.png");
    let res = app
        .client
        .post(format!("{}/api/v1/sessions/{session}/attachments", app.base))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    let attachment = expect(res, StatusCode::CREATED).await["id"].as_str().expect("id").to_owned();
    let res = app
        .client
        .post(format!("{}/api/v1/sessions/{session}/messages", app.base))
        .bearer_auth(&token)
        .json(&json!({ "body": "", "attachment_ids": [attachment] }))
        .send()
        .await
        .expect("send");
    expect(res, StatusCode::CREATED).await;
    Chat { session, customer, token, attachment: attachment.parse().expect("uuid") }
}

fn fill(template: &str, s: &Chat) -> String {
    template
        .replace("{s}", &s.session.to_string())
        .replace("{c}", &s.customer.to_string())
        .replace("{a}", &s.attachment.to_string())
        .replace("{token}", &s.token)
        .replace("{today}", &chrono::Utc::now().date_naive().to_string())
        .replace("{yesterday}", &(chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string())
}

/// One answer: whether the path showed S to the caller.
async fn rest(app: &TestApp, path: &str, reach: Reach, caller: &Caller, s: &Chat) -> Result<bool, String> {
    let res = app
        .client
        .get(format!("{}/api/v1{}", app.base, fill(path, s)))
        .bearer_auth(&caller.bearer)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body = res.text().await.expect("body");
    let applies = match reach {
        Reach::Status => true,
        Reach::WholeAccountsListed => caller.counts_accounts,
        _ => !caller.customer,
    };
    judge(status, &body, reach, applies, s)
}

async fn server_fn(
    app: &TestApp,
    path: &str,
    form: &str,
    reach: Reach,
    caller: &Caller,
    s: &Chat,
) -> Result<bool, String> {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header(header::ORIGIN, &app.base)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let form = if reach == Reach::CustomersListed {
        // A customer's own chat token; others try S's type's token-less call.
        if caller.customer { form.replace("{token}", &caller.bearer) } else { "token=sc_none".to_owned() }
    } else {
        fill(form, s)
    };
    if let Some(cookie) = &caller.cookie {
        req = req.header(header::COOKIE, format!("sb_session={cookie}"));
    }
    let res = req.body(form).send().await.expect("call");
    let status = res.status();
    let body = res.text().await.expect("body");
    let applies = match reach {
        Reach::CustomersListed => caller.customer,
        Reach::WholeAccountsListed => caller.cookie.is_some() && caller.counts_accounts,
        _ => caller.cookie.is_some(),
    };
    judge(status, &body, reach, applies, s)
}

/// `Ok(seen)` for a path the caller may use; for one they may not, `Ok(false)`
/// if refused (401/403/404) and an error otherwise.
fn judge(status: StatusCode, body: &str, reach: Reach, applies: bool, s: &Chat) -> Result<bool, String> {
    let listed = matches!(
        reach,
        Reach::AgentsListed | Reach::PeopleListed | Reach::CustomersListed | Reach::WholeAccountsListed
    );
    let refused = matches!(status.as_u16(), 401 | 403 | 404);
    if !applies {
        return if refused && !body.contains(&s.session.to_string()) {
            Ok(false)
        } else {
            Err(format!("a caller this path does not serve got {status}: {body}"))
        };
    }
    if listed {
        if status.is_success() {
            Ok(body.contains(&s.session.to_string()))
        } else {
            Err(format!("{status}: {body}"))
        }
    } else if status.is_success() {
        Ok(true)
    } else if status == StatusCode::NOT_FOUND && body.contains("rating not found") {
        // The session was found; it has no rating yet (GET …/csat).
        Ok(true)
    } else if status == StatusCode::NOT_FOUND && !body.contains(&s.session.to_string()) {
        Ok(false)
    } else {
        Err(format!("{status}: {body}"))
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(app: &TestApp, caller: &Caller) -> Ws {
    let url = format!("{}/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    let hello = if caller.customer {
        json!({ "type": "hello", "token": caller.bearer })
    } else {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", caller.bearer)).expect("header"),
        );
        json!({ "type": "hello" })
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
    ws.send(Message::Text(hello.to_string().into())).await.expect("hello");
    loop {
        if next_frame(&mut ws).await["type"] == "welcome" {
            return ws;
        }
    }
}

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await.expect("a frame in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("json"),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// Every frame before the pong of a fresh ping.
async fn drain(ws: &mut Ws) -> Vec<Value> {
    ws.send(Message::Text(json!({ "type": "ping" }).to_string().into())).await.expect("ping");
    let mut frames = Vec::new();
    loop {
        let f = next_frame(ws).await;
        if f["type"] == "pong" {
            return frames;
        }
        frames.push(f);
    }
}

fn about(frames: &[Value], s: &Chat) -> bool {
    let id = s.session.to_string();
    frames.iter().any(|f| f["session"]["id"] == id.as_str() || f["session_id"] == id.as_str())
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_read_path_gives_the_scope_rules_answer(pool: PgPool) {
    let a = seed_account(&pool, "acme").await;
    let b = seed_account(&pool, "globex").await;
    let vip: Uuid = sqlx::query_scalar(
        "INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, 'acme-vip', 'VIP', 'manual')
         RETURNING id",
    )
    .bind(a.id)
    .fetch_one(&pool)
    .await
    .expect("vip");
    sqlx::query("UPDATE support_types SET escalation_priority_bump = 5 WHERE id = $1")
        .bind(a.type_id)
        .execute(&pool)
        .await
        .expect("bump");
    let app = spawn_app(pool.clone()).await;
    let s = open_chat(&app, &a.type_slug, "Casey").await;
    let other = open_chat(&app, &a.type_slug, "Mallory").await;

    let mut callers = Vec::new();
    for (name, sees, account, email, role, serves) in [
        ("global admin", true, None, "root@example.test", Role::Admin, vec![]),
        ("account admin", true, Some(a.id), "admin@acme.test", Role::Admin, vec![]),
        ("supervisor", true, Some(a.id), "sup@acme.test", Role::Supervisor, vec![]),
        ("agent with the skill", true, Some(a.id), "sky@acme.test", Role::Agent, vec![a.type_id]),
        ("agent without the skill", false, Some(a.id), "nox@acme.test", Role::Agent, vec![vip]),
        ("bot with the skill", true, Some(a.id), "bot@acme.test", Role::Bot, vec![a.type_id]),
        ("another account's admin", false, Some(b.id), "admin@globex.test", Role::Admin, vec![]),
    ] {
        let (actor, bearer, cookie) = person(&pool, account, email, role, &serves).await;
        let counts_accounts = Scope::load(&pool, &actor).await.expect("scope").whole_accounts(None).is_ok();
        callers.push(Caller { name, sees, actor, bearer, cookie, customer: false, counts_accounts });
    }
    for (name, sees, chat) in [("S's customer", true, &s), ("another session's customer", false, &other)] {
        let actor = Actor::Customer(CustomerActor {
            customer_id: CustomerId(chat.customer),
            session_id: SessionId(chat.session),
            account_id: AccountId(a.id),
        });
        callers.push(Caller {
            name,
            sees,
            actor,
            bearer: chat.token.clone(),
            cookie: None,
            customer: true,
            counts_accounts: false,
        });
    }

    // The expected column is the rule's own answer.
    let session = domain::sessions::get(&pool, &Actor::System, SessionId(s.session)).await.expect("S");
    for c in &callers {
        let scope = Scope::load(&pool, &c.actor).await.expect("scope");
        assert_eq!(scope.sees(&session.facts()), c.sees, "Scope::sees for {}", c.name);
    }

    let mut problems = Vec::new();
    let mut note = |c: &Caller, path: &str, answer: Result<bool, String>| match answer {
        Ok(seen) if seen == c.sees => {}
        Ok(seen) => problems.push(format!("{path} for {}: seen={seen}, the rule says {}", c.name, c.sees)),
        Err(e) => problems.push(format!("{path} for {}: {e}", c.name)),
    };
    // The report paths read the facts that the reports consumer writes.
    wait_until_events_settle(&pool).await;
    for c in &callers {
        for (path, reach) in REST {
            let answer = rest(&app, path, *reach, c, &s).await;
            // Paths a caller cannot use answer "not seen" by refusing them.
            let unusable = match reach {
                Reach::Status => false,
                Reach::WholeAccountsListed => !c.counts_accounts,
                _ => c.customer,
            };
            let answer = if unusable { answer.map(|_| c.sees) } else { answer };
            note(c, &format!("GET {path}"), answer);
        }
        for (path, form, reach) in SERVER_FNS {
            let applies = match reach {
                Reach::CustomersListed => c.customer,
                Reach::WholeAccountsListed => c.cookie.is_some() && c.counts_accounts,
                _ => c.cookie.is_some(),
            };
            let answer = server_fn(&app, path, form, *reach, c, &s).await;
            // Where the caller cannot use the path, the refusal is the check.
            let answer = if applies { answer } else { answer.map(|_| c.sees) };
            note(c, path, answer);
        }
    }

    // The hub: subscriptions (agents), then the delivery of a lifecycle event.
    let mut sockets = Vec::new();
    for c in &callers {
        let mut ws = ws_connect(&app, c).await;
        if !c.customer {
            ws.send(Message::Text(
                json!({ "type": "subscribe", "session_id": s.session }).to_string().into(),
            ))
            .await
            .expect("subscribe");
            let frames = drain(&mut ws).await;
            let refused = frames.iter().any(|f| f["type"] == "error");
            note(c, "ws subscribe", Ok(!refused));
        }
        sockets.push(ws);
    }
    let supervisor = callers.iter().find(|c| c.name == "supervisor").expect("supervisor");
    let res = app
        .client
        .post(format!("{}/api/v1/sessions/{}/escalate", app.base, s.session))
        .bearer_auth(&supervisor.bearer)
        .send()
        .await
        .expect("escalate");
    expect(res, StatusCode::OK).await;
    wait_until_events_settle(&pool).await;
    // The supervisor sees it, so once their frame is in, every connection's
    // was queued (one dispatch pass per event); then each is drained.
    let sup_index = callers.iter().position(|c| c.name == "supervisor").expect("index");
    let sup_frame = loop {
        let f = next_frame(&mut sockets[sup_index]).await;
        if f["topic"] == "session.escalated" {
            break f;
        }
    };
    for (i, (c, ws)) in callers.iter().zip(sockets.iter_mut()).enumerate() {
        let frames = if i == sup_index { vec![sup_frame.clone()] } else { drain(ws).await };
        note(c, "ws delivery", Ok(about(&frames, &s)));
    }
    assert!(problems.is_empty(), "read paths disagree with the scope rule:\n  {}", problems.join("\n  "));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_read_path_has_an_entry(pool: PgPool) {
    let app = spawn_app(pool).await;
    // REST: every GET under /sessions and /customers.
    let res = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.expect("doc");
    let doc = expect(res, StatusCode::OK).await;
    let served: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, ops)| ops.get("get").is_some())
        .map(|(p, _)| p.strip_prefix("/api/v1").expect("under /api/v1").to_owned())
        .filter(|p| {
            p.starts_with("/sessions")
                || p.starts_with("/search")
                || p.starts_with("/customers")
                || p.starts_with("/attachments")
                || p.starts_with("/reports/sessions")
                || p.starts_with("/monitor")
        })
        .collect();
    let listed: BTreeSet<String> = REST
        .iter()
        .map(|(p, _)| {
            p.split('?')
                .next()
                .unwrap_or_default()
                .replace("{s}", "{id}")
                .replace("{c}", "{id}")
                .replace("{a}", "{id}")
        })
        .collect();
    assert_eq!(
        served, listed,
        "every GET under /sessions, /search, /customers, /attachments, /reports/sessions and /monitor needs an entry in REST"
    );

    // Server functions: each is a session read here, or says why it is not.
    let registered: BTreeSet<String> =
        server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
    let mut known: BTreeSet<String> = SERVER_FNS.iter().map(|(p, _, _)| (*p).to_owned()).collect();
    for (p, _) in NOT_SESSION_READS {
        assert!(known.insert((*p).to_owned()), "{p} is listed twice");
    }
    assert_eq!(registered, known, "every server function needs an entry in SERVER_FNS or NOT_SESSION_READS");
}
