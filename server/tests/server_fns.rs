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
    types::{AccountId, Role},
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
    /// "not found".
    OneSession,
    /// Public by design (a customer's chat page): anyone may call it, and
    /// it reveals nothing about an unknown slug.
    ChatPublic,
    /// Needs a customer's chat token, which alone names the session: a
    /// wrong token is 401, and the cookie of any agent does not help.
    ChatToken,
}

const SERVER_FNS: &[(&str, Rule)] = &[
    ("/api/system_status", Rule::Public),
    ("/api/auth/whoami", Rule::OwnIdentity),
    ("/api/auth/login", Rule::SignInOut),
    ("/api/auth/logout", Rule::SignInOut),
    ("/api/agent/overview", Rule::SignedIn),
    ("/api/admin/audit", Rule::SignedIn),
    ("/api/admin/blasts", Rule::SignedIn),
    ("/api/agent/session", Rule::OneSession),
    ("/api/chat/type", Rule::ChatPublic),
    ("/api/chat/open", Rule::ChatPublic),
    ("/api/chat/state", Rule::ChatToken),
    ("/api/chat/send", Rule::ChatToken),
    ("/api/chat/end", Rule::ChatToken),
    ("/api/chat/rate", Rule::ChatToken),
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
    let listed: BTreeSet<String> = SERVER_FNS.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(registered, listed, "every server function needs an entry in SERVER_FNS");

    let a = seed_account(&pool, "acme").await;
    let b = seed_account(&pool, "globex").await;
    let a_admin = signed_in(&pool, &a, "admin@acme.test", Role::Admin).await;
    let b_admin = signed_in(&pool, &b, "admin@globex.test", Role::Admin).await;
    let b_agent = signed_in(&pool, &b, "agent@globex.test", Role::Agent).await;
    // Account A's data that must never reach B: a waiting session and audit rows.
    let (a_session, _) = domain::sessions::open(
        &pool,
        &Actor::System,
        domain::sessions::OpenSession { support_type: a.type_slug.clone(), ..Default::default() },
    )
    .await
    .expect("open");
    let secrets =
        [a.id.to_string(), a_session.id.to_string(), "admin@acme.test".to_owned(), a.type_slug.clone()];
    let chat = domain::auth::open_chat(
        &pool,
        &a.type_slug,
        domain::auth::OpenChat { message: Some("hi".into()), ..Default::default() },
    )
    .await
    .expect("chat");
    let app = spawn_app(pool).await;

    let form = format!("id={}", a_session.id);
    // Chat calls with a token that is not one, and every other argument.
    let chat_form = "token=sc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&body=hi&client_message_id=c1&score=5\
                     &slug=no-such-type&message=hello";
    let call = |path: &str, cookie: Option<&str>| {
        let body = match path {
            "/api/agent/session" => form.clone(),
            p if p.starts_with("/api/chat/") => chat_form.to_owned(),
            _ => String::new(),
        };
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

    for (path, rule) in SERVER_FNS {
        match rule {
            Rule::Public => {
                let (status, body) = call(path, None).await;
                assert!(status.is_success(), "{path}: {status}");
                no_leak("anonymous", path, &body);
            }
            Rule::OwnIdentity => {
                let (_, body) = call(path, None).await;
                assert_eq!(body, "null", "{path} anonymous");
                let (_, body) = call(path, Some(&b_agent)).await;
                assert!(body.contains("agent@globex.test"), "{path}: {body}");
                no_leak("B's agent", path, &body);
            }
            Rule::SignInOut => {}
            Rule::ChatPublic => {
                // An unknown type: "null" or a plain "no such type", the
                // same for everyone.
                let (anonymous, body) = call(path, None).await;
                assert!(anonymous.is_success() || anonymous.is_client_error(), "{path}: {anonymous} {body}");
                no_leak("anonymous", path, &body);
                let (as_admin, admin_body) = call(path, Some(&b_admin)).await;
                assert_eq!((as_admin, admin_body.as_str()), (anonymous, body.as_str()), "{path}");
            }
            Rule::ChatToken => {
                for cookie in [None, Some(&a_admin)] {
                    let (status, body) = call(path, cookie.map(String::as_str)).await;
                    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path}: {body}");
                    no_leak("a bad chat token", path, &body);
                }
            }
            Rule::OneSession => {
                let (status, body) = call(path, None).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} anonymous: {body}");
                for (who, cookie) in [("B's admin", &b_admin), ("B's agent", &b_agent)] {
                    let (status, body) = call(path, Some(cookie)).await;
                    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path} as {who}: {body}");
                    no_leak(who, path, &body);
                }
                let (status, body) = call(path, Some(&a_admin)).await;
                assert!(status.is_success() && body.contains(&a_session.id.to_string()), "{status} {body}");
            }
            Rule::SignedIn => {
                let (status, body) = call(path, None).await;
                assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{path} anonymous");
                assert!(!status.is_success(), "{path} anonymous: {status}");
                assert!(body.contains(r#""kind":"unauthenticated""#), "{path} anonymous: {body}");
                for (who, cookie) in [("B's admin", &b_admin), ("B's agent", &b_agent)] {
                    let (_, body) = call(path, Some(cookie)).await;
                    no_leak(who, path, &body);
                }
            }
        }
    }
    // The audit log: B's agent is refused; A's admin does see A's entries (the
    // check above is not vacuous).
    let (status, body) = call("/api/admin/audit", Some(&b_agent)).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(r#""kind":"forbidden""#), "{body}");
    let (status, body) = call("/api/admin/audit", Some(&a_admin)).await;
    assert!(status.is_success() && body.contains("login.succeeded"), "{status} {body}");
    let res = app
        .client
        .post(format!("{}/api/chat/state", app.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={}", chat.token))
        .send()
        .await
        .expect("chat state");
    let (status, body) = (res.status(), res.text().await.expect("body"));
    assert!(status.is_success() && body.contains(&chat.session.id.to_string()), "{status} {body}");
    let (status, body) = call("/api/agent/overview", Some(&a_admin)).await;
    assert!(status.is_success() && body.contains(&a_session.id.to_string()), "{status} {body}");
}
