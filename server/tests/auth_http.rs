//! Browser sign-in through the real HTTP stack: the session cookie and its
//! flags, rotation, logout, password changes ending other sessions, the CSRF
//! Origin check, the 429 on the eleventh attempt, the security headers with
//! the CSP nonce, the sign-in guard on /agent and /admin, and customer
//! tokens bound to one session.

mod common;

use common::*;
use domain::{
    actor::Actor,
    agents::{self, NewAgent},
    types::Role,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use server::config::Config;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

const PASSWORD: &str = "correct horse battery";

async fn agent_with_password(pool: &PgPool, account: &Account, email: &str, role: Role) -> uuid::Uuid {
    let agent = agents::create(
        pool,
        &Actor::System,
        NewAgent {
            account_id: Some(domain::types::AccountId(account.id)),
            email: email.into(),
            display_name: format!("Agent {email}"),
            role,
            max_concurrent: Some(3),
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .expect("agent");
    agent.id.0
}

struct Browser<'a> {
    app: &'a TestApp,
    origin: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self { app, origin: app.base.clone() }
    }

    async fn login(&self, email: &str, password: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self
            .app
            .client
            .post(format!("{}/api/v1/auth/login", self.app.base))
            .header(header::ORIGIN, &self.origin)
            .json(&json!({ "email": email, "password": password }));
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, format!("sb_session={c}"));
        }
        req.send().await.expect("login")
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.app
            .client
            .get(format!("{}{path}", self.app.base))
            .header(header::COOKIE, format!("sb_session={cookie}"))
            .send()
            .await
            .expect("get")
    }

    async fn post(&self, path: &str, cookie: &str, origin: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .app
            .client
            .post(format!("{}{path}", self.app.base))
            .header(header::COOKIE, format!("sb_session={cookie}"))
            .json(&body);
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.send().await.expect("post")
    }
}

/// The session cookie set by a response, with its attributes.
fn set_cookie(res: &reqwest::Response) -> (String, String) {
    let raw = res.headers()[header::SET_COOKIE].to_str().expect("ascii").to_owned();
    let value =
        raw.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_owned()).expect("value");
    (value, raw)
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn login_sets_a_safe_cookie_rotates_and_logout_ends_it(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let app = spawn_app(pool.clone()).await;
    let browser = Browser::new(&app);

    let wrong = browser.login("dana@acme.test", "not the password", None).await;
    let err = expect_error(wrong, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let unknown = browser.login("nobody@acme.test", PASSWORD, None).await;
    let err2 = expect_error(unknown, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(err["message"], err2["message"], "unknown e-mail and wrong password look the same");

    let res = browser.login("dana@acme.test", PASSWORD, None).await;
    let (first, raw) = set_cookie(&res);
    let body = expect(res, StatusCode::OK).await;
    assert_eq!(body["agent"]["email"], "dana@acme.test");
    assert!(body["agent"].get("password_hash").is_none());
    assert!(first.starts_with("ss_") && first.len() > 40, "{first}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(raw.contains(attr), "{attr} missing: {raw}");
    }
    assert!(!raw.contains("Secure"), "dev cookies work over plain http: {raw}");

    let me = expect(browser.get("/api/v1/auth/me", &first).await, StatusCode::OK).await;
    assert_eq!((me["kind"].as_str(), me["role"].as_str()), (Some("agent"), Some("agent")), "{me}");

    // Signing in again with the old cookie rotates it: the old value is dead.
    let res = browser.login("dana@acme.test", PASSWORD, Some(&first)).await;
    let (second, _) = set_cookie(&res);
    assert_ne!(first, second);
    expect_error(browser.get("/api/v1/auth/me", &first).await, StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;
    expect(browser.get("/api/v1/auth/me", &second).await, StatusCode::OK).await;

    // Logout ends it on the server and clears the cookie.
    let res = browser.post("/api/v1/auth/logout", &second, Some(&app.base), json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (cleared, raw) = set_cookie(&res);
    assert!(cleared.is_empty() && raw.contains("Max-Age=0"), "{raw}");
    expect_error(browser.get("/api/v1/auth/me", &second).await, StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id").fetch_all(&pool).await.expect("audit");
    assert_eq!(
        actions,
        ["agent.created", "login.failed", "login.failed", "login.succeeded", "login.succeeded", "logout"]
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn production_cookies_are_secure(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let config = Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LEPTOS_ENV" => Some("PROD".to_owned()),
        _ => None,
    })
    .expect("config");
    let app = spawn_app_with(config, pool).await;
    let res = Browser::new(&app).login("dana@acme.test", PASSWORD, None).await;
    let (_, raw) = set_cookie(&res);
    assert!(raw.contains("; Secure"), "{raw}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn changing_a_password_ends_every_other_session(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let app = spawn_app(pool).await;
    let browser = Browser::new(&app);
    let (laptop, _) = set_cookie(&browser.login("dana@acme.test", PASSWORD, None).await);
    let (phone, _) = set_cookie(&browser.login("dana@acme.test", PASSWORD, None).await);

    let res = browser
        .post(
            "/api/v1/auth/password",
            &laptop,
            Some(&app.base),
            json!({ "current_password": "wrong guess here", "new_password": "a brand new passphrase" }),
        )
        .await;
    expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = browser
        .post(
            "/api/v1/auth/password",
            &laptop,
            Some(&app.base),
            json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect(browser.get("/api/v1/auth/me", &laptop).await, StatusCode::OK).await;
    expect_error(browser.get("/api/v1/auth/me", &phone).await, StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;
    expect_error(
        browser.login("dana@acme.test", PASSWORD, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect(browser.login("dana@acme.test", "a brand new passphrase", None).await, StatusCode::OK).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn cookie_requests_from_another_origin_are_refused(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let app = spawn_app(pool.clone()).await;
    let browser = Browser::new(&app);
    let (cookie, _) = set_cookie(&browser.login("dana@acme.test", PASSWORD, None).await);
    let open = json!({ "support_type": acme.type_slug });

    for origin in [Some("https://evil.example"), None] {
        let res = browser.post("/api/v1/sessions", &cookie, origin, open.clone()).await;
        expect_error(res, StatusCode::FORBIDDEN, "csrf").await;
    }
    // Server functions too.
    let res = browser.post("/api/auth/logout", &cookie, Some("https://evil.example"), json!({})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    expect(browser.get("/api/v1/auth/me", &cookie).await, StatusCode::OK).await;
    // Login CSRF: signing in from another site is refused even without a cookie.
    let mut evil = Browser::new(&app);
    evil.origin = "https://evil.example".into();
    expect_error(evil.login("dana@acme.test", PASSWORD, None).await, StatusCode::FORBIDDEN, "csrf").await;

    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 0, "nothing was written");
    // The same request from this site goes through.
    let res = browser.post("/api/v1/sessions", &cookie, Some(&app.base), open).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_eleventh_login_attempt_in_a_minute_gets_429(
    pool_opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // The rate limits' clock stands one second into a one-minute window, so
    // the eleven attempts share it however long they take.
    let now = chrono::Utc::now().timestamp();
    let at = chrono::DateTime::from_timestamp(now - now.rem_euclid(60) + 1, 0).expect("a time");
    let pool = pool_opts.connect_with(domain::ratelimit::clock_at(connect, at)).await.expect("pool");
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let app = spawn_app(pool.clone()).await;
    let browser = Browser::new(&app);
    for _ in 0..10 {
        let res = browser.login("dana@acme.test", "wrong password!", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = browser.login("dana@acme.test", PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[header::RETRY_AFTER], "59", "the rest of the window");
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Close the pool as #[sqlx::test] does with one it made, so that the
    // test's database can be dropped.
    drop(app);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), pool.close()).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn pages_carry_security_headers_and_a_fresh_csp_nonce(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    sqlx::query("UPDATE accounts SET widget_origins = '{https://shop.acme.test}' WHERE id = $1")
        .bind(acme.id)
        .execute(&pool)
        .await
        .expect("origins");
    let app = spawn_app(pool).await;
    let nonce_of = |res: &reqwest::Response| {
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_owned();
        let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("nonce").to_owned();
        (csp, nonce)
    };
    let res = app.client.get(&app.base).send().await.expect("home");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(res.headers()[header::REFERRER_POLICY], "strict-origin-when-cross-origin");
    let (csp, nonce) = nonce_of(&res);
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.expect("html");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries the nonce"
    );
    let (_, again) = nonce_of(&app.client.get(&app.base).send().await.expect("home"));
    assert_ne!(nonce, again, "a new nonce per response");

    // The chat page may be framed by the account's widget origins only.
    let res = app.client.get(format!("{}/chat/{}", app.base, acme.type_slug)).send().await.expect("chat");
    let (csp, _) = nonce_of(&res);
    assert!(csp.contains("frame-ancestors 'self' https://shop.acme.test"), "{csp}");
    // API responses allow nothing.
    let res = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.expect("api");
    assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], "default-src 'none'; frame-ancestors 'none'");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn agent_and_admin_pages_require_sign_in_and_come_back(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    agent_with_password(&pool, &acme, "dana@acme.test", Role::Agent).await;
    let app = spawn_app(pool).await;
    for path in ["/agent", "/admin"] {
        let res = app.client.get(format!("{}{path}", app.base)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        assert_eq!(res.headers()[header::LOCATION], format!("/login?next={path}"));
    }
    let browser = Browser::new(&app);
    let (cookie, _) = set_cookie(&browser.login("dana@acme.test", PASSWORD, None).await);
    let res = browser.get("/agent", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("Agent dana@acme.test"), "signed-in name missing");
    assert!(html.contains(r#"data-testid="inbox""#));
    let html = browser.get("/admin", &cookie).await.text().await.expect("html");
    assert!(html.contains("Administrators only"), "an agent does not see the audit log");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_admin_page_shows_blasts_with_a_progress_bar(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let admin = agent_with_password(&pool, &acme, "ada@acme.test", Role::Admin).await;
    sqlx::query("INSERT INTO customers (account_id, name) SELECT $1, 'C' || i FROM generate_series(1, 4) i")
        .bind(acme.id)
        .execute(&pool)
        .await
        .expect("customers");
    let actor = Actor::Agent(domain::actor::AgentActor {
        id: domain::types::AgentId(admin),
        account_id: Some(domain::types::AccountId(acme.id)),
        role: Role::Admin,
    });
    let blast = domain::blasts::NewBlast {
        account_id: None,
        body: "Closed on Friday".into(),
        segment: domain::blasts::Segment::Account,
        support_type_id: Some(domain::types::SupportTypeId(acme.type_id)),
        rate_per_minute: Some(1),
        attachment_id: None,
    };
    let created = domain::blasts::create(&pool, &actor, blast).await.expect("blast");
    let app = spawn_app(pool.clone()).await;
    // The server's blast worker sends the first at once, the next only a
    // minute later (1 a minute): wait for that first send.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let sent: i32 = sqlx::query_scalar("SELECT sent FROM blasts WHERE id = $1")
            .bind(created.blast.id)
            .fetch_one(&pool)
            .await
            .expect("sent");
        if sent == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the blast worker sent nothing");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let browser = Browser::new(&app);
    let (cookie, _) = set_cookie(&browser.login("ada@acme.test", PASSWORD, None).await);
    let html = browser.get("/admin", &cookie).await.text().await.expect("html");
    assert!(html.contains(r#"data-testid="blasts""#), "{html}");
    assert!(html.contains("Closed on Friday"));
    assert!(html.contains(r#"role="progressbar""#) && html.contains(r#"aria-valuemax="4""#), "{html}");
    assert!(html.contains(r#"aria-valuemin="0""#) && html.contains(r#"aria-valuenow="1""#), "{html}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_customer_token_opens_one_session_and_nothing_else(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let app = spawn_app(pool).await;
    let open = |name: &'static str| {
        let (client, url) =
            (app.client.clone(), format!("{}/api/v1/chat/{}/sessions", app.base, acme.type_slug));
        async move {
            let res = client
                .post(url)
                .json(&json!({ "name": name, "message": "Hello, is anyone there?" }))
                .send()
                .await
                .expect("open");
            expect(res, StatusCode::CREATED).await
        }
    };
    let mine = open("Ada").await;
    let theirs = open("Bob").await;
    let token = mine["token"].as_str().expect("token");
    assert!(token.starts_with("sc_") && token.len() >= 3 + 43, "at least 256 bits: {token}");
    let session = mine["session"]["id"].as_str().expect("id");
    let other = theirs["session"]["id"].as_str().expect("id");
    let call = |method: reqwest::Method, path: String| {
        app.client.request(method, format!("{}/api/v1{path}", app.base)).bearer_auth(token)
    };
    let res = call(reqwest::Method::POST, format!("/sessions/{session}/messages"))
        .json(&json!({ "body": "<script>alert(1)</script>" }))
        .send()
        .await
        .expect("send");
    let msg = expect(res, StatusCode::CREATED).await;
    assert_eq!(msg["sender_kind"], "customer");
    assert_eq!(msg["body"], "<script>alert(1)</script>", "stored as plain text; clients escape it");
    let page = expect(
        call(reqwest::Method::GET, format!("/sessions/{session}/messages")).send().await.expect("h"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    // Nothing else: not the other session, not lists, not notes, not config.
    for path in [format!("/sessions/{other}"), format!("/sessions/{other}/messages")] {
        let res = call(reqwest::Method::GET, path.clone()).send().await.expect("other");
        let body = res.text().await.expect("body");
        assert!(!body.contains("Bob"), "{path} leaked: {body}");
    }
    let res = call(reqwest::Method::GET, "/sessions".into()).send().await.expect("list");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = call(reqwest::Method::GET, format!("/sessions/{session}/notes")).send().await.expect("notes");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = call(reqwest::Method::GET, "/support-types".into()).send().await.expect("types");
    assert!(matches!(res.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", res.status());
}
