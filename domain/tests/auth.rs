//! Authentication: agent login, browser sessions (rotation, logout, idle and
//! absolute expiry, password changes), rate limits, customer chat tokens and
//! identity verification, account widget settings, and reading the audit log.
#![cfg(feature = "server")]

mod common;

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::audit::AuditFilter;
use domain::{
    Error,
    accounts::{self, UpdateAccount},
    actor::{Actor, AgentActor, CustomerActor},
    agents::password,
    audit,
    auth::{self, Identity, LoginInput, OpenChat},
    ratelimit,
    sessions::{self, CustomerInput, OpenSession},
    types::*,
};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a much better passphrase";

/// One argon2id hash of [`PASSWORD`] for every test (hashing is slow on purpose).
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).expect("hash"))
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("ip"))
}

/// The rate limits' clock in the tests that count up to a limit: stopped one
/// second into a one-minute window, so that every attempt falls in that window
/// however long the test takes, and a refusal waits out the rest of it.
fn one_second_into_a_window() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now - now.rem_euclid(60) + 1, 0).expect("a time")
}

/// The wait a refusal at [`one_second_into_a_window`] names.
const RETRY_AFTER_SECS: u64 = 59;

/// A pool on the test's database whose rate limits read the time `at`
/// ([`ratelimit::clock_at`]). The test closes it, so that its database can be
/// dropped.
async fn pool_with_limit_clock(
    pool_opts: &PgPoolOptions,
    connect: &PgConnectOptions,
    at: DateTime<Utc>,
) -> PgPool {
    pool_opts.clone().connect_with(ratelimit::clock_at(connect.clone(), at)).await.expect("pool")
}

/// A human with [`PASSWORD`] (or none), in `account` (`None`: global admin).
async fn human(
    pool: &PgPool,
    account: Option<AccountId>,
    email: &str,
    role: Role,
    with_password: bool,
) -> AgentId {
    sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, password_hash)
         VALUES ($1, $2, $2, $3, $4) RETURNING id",
    )
    .bind(account)
    .bind(email)
    .bind(role)
    .bind(with_password.then(password_hash))
    .fetch_one(pool)
    .await
    .expect("agent")
}

fn as_actor(id: AgentId, account: Option<AccountId>, role: Role) -> Actor {
    Actor::Agent(AgentActor { id, account_id: account, role })
}

fn login_input(email: &str, password: &str) -> LoginInput {
    LoginInput {
        email: email.into(),
        password: password.into(),
        ip: ip("192.0.2.10"),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        replace_session: None,
    }
}

async fn login(pool: &PgPool, email: &str) -> String {
    auth::login(pool, login_input(email, PASSWORD)).await.expect("login").token
}

async fn valid(pool: &PgPool, token: &str) -> bool {
    auth::authenticate_session(pool, token).await.expect("authenticate").is_some()
}

async fn scalar_i64(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.expect(sql)
}

async fn audit_rows(
    pool: &PgPool,
    action: &str,
) -> Vec<(Option<AccountId>, Option<AgentId>, Option<String>, serde_json::Value)> {
    sqlx::query_as(
        "SELECT account_id, actor_id, target, details FROM audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .expect("audit rows")
}

fn is_rate_limited(err: &Error) -> bool {
    matches!(err, Error::RateLimited { retry_after_secs: RETRY_AFTER_SECS })
}

// ------------------------------------------------------------------ login

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn login_starts_a_session_that_the_cookie_authenticates(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let ana = human(&pool, Some(acc), "ana@acme.test", Role::Supervisor, true).await;

    let outcome = auth::login(&pool, login_input("  Ana@ACME.test ", PASSWORD)).await.expect("login");
    assert!(outcome.token.starts_with("ss_") && outcome.token.len() == 46, "{}", outcome.token);
    assert_eq!(outcome.agent.id, ana);
    let days = (outcome.expires_at - chrono::Utc::now()).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "expires in {days} h");
    assert!(!format!("{outcome:?}").contains(&outcome.token), "Debug must not show the token");

    let who = auth::authenticate_session(&pool, &outcome.token).await.expect("auth").expect("valid");
    assert_eq!(who.actor, AgentActor { id: ana, account_id: Some(acc), role: Role::Supervisor });
    assert_eq!(who.email, "ana@acme.test");
    assert_eq!(who.expires_at, outcome.expires_at);

    // Only the SHA-256 of the cookie is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth_sessions WHERE id_hash = sha256(convert_to($1, 'UTF8')) AND agent_id = $2
           AND ip = '192.0.2.10' AND user_agent = 'Mozilla/5.0 (test)'",
    )
    .bind(&outcome.token)
    .bind(ana)
    .fetch_one(&pool)
    .await
    .expect("stored");
    assert_eq!(stored, 1);

    let ok = audit_rows(&pool, "login.succeeded").await;
    assert_eq!(ok.len(), 1);
    assert_eq!((ok[0].0, ok[0].1), (Some(acc), Some(ana)));

    // Junk and unknown cookies are simply not sessions.
    for junk in ["", "ss_", "ss_short", "sb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert!(!valid(&pool, junk).await, "{junk}");
    }
    assert!(!valid(&pool, &format!("ss_{}", "A".repeat(43))).await);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn unknown_address_and_wrong_password_fail_alike_and_are_audited(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let ana = human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;

    let unknown = auth::login(&pool, login_input("nobody@acme.test", PASSWORD)).await.expect_err("unknown");
    let wrong =
        auth::login(&pool, login_input("ana@acme.test", "not the password at all")).await.expect_err("wrong");
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, Error::Unauthenticated { message: "wrong e-mail address or password".into() });
    assert_eq!(wrong.code(), "unauthenticated");

    let failed = audit_rows(&pool, "login.failed").await;
    assert_eq!(failed.len(), 2);
    // Unknown address: no account, no actor, no target.
    assert_eq!((failed[0].0, failed[0].1, failed[0].2.clone()), (None, None, None));
    assert_eq!(failed[0].3["email"], "nobody@acme.test");
    assert_eq!(failed[0].3["ip"], "192.0.2.10");
    // Wrong password: the agent's account and id, still no actor.
    assert_eq!((failed[1].0, failed[1].1, failed[1].2.clone()), (Some(acc), None, Some(ana.to_string())));
    assert_eq!(scalar_i64(&pool, "SELECT count(*) FROM auth_sessions").await, 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bots_deactivated_and_passwordless_agents_cannot_log_in(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    human(&pool, Some(acc), "bot@acme.test", Role::Bot, false).await;
    human(&pool, Some(acc), "nopass@acme.test", Role::Agent, false).await;
    let gone = human(&pool, Some(acc), "gone@acme.test", Role::Agent, true).await;
    let live = human(&pool, Some(acc), "live@acme.test", Role::Agent, true).await;
    let live_token = login(&pool, "live@acme.test").await;

    sqlx::query("UPDATE agents SET deactivated_at = now() WHERE id = ANY($1)")
        .bind(vec![gone.0, live.0])
        .execute(&pool)
        .await
        .expect("deactivate");
    for email in ["bot@acme.test", "nopass@acme.test", "gone@acme.test"] {
        let err = auth::login(&pool, login_input(email, PASSWORD)).await.expect_err(email);
        assert_eq!(err.code(), "unauthenticated", "{email}");
    }
    // Deactivation ends the sessions the agent already had.
    assert!(!valid(&pool, &live_token).await);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn login_rotates_the_session_and_logout_ends_it(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let ana = human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    let first = login(&pool, "ana@acme.test").await;
    assert!(valid(&pool, &first).await);

    let second = auth::login(
        &pool,
        LoginInput { replace_session: Some(first.clone()), ..login_input("ana@acme.test", PASSWORD) },
    )
    .await
    .expect("login again")
    .token;
    assert_ne!(first, second);
    assert!(!valid(&pool, &first).await, "the old cookie is dead after a login that replaces it");
    assert!(valid(&pool, &second).await);

    auth::logout(&pool, &second).await.expect("logout");
    assert!(!valid(&pool, &second).await);
    let logouts = audit_rows(&pool, "logout").await;
    assert_eq!(logouts.len(), 1);
    assert_eq!((logouts[0].0, logouts[0].1), (Some(acc), Some(ana)));
    // Logging out twice, or with junk, is harmless and not audited again.
    auth::logout(&pool, &second).await.expect("again");
    auth::logout(&pool, "junk").await.expect("junk");
    assert_eq!(audit_rows(&pool, "logout").await.len(), 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sessions_expire_when_idle_and_absolutely(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    let idle = login(&pool, "ana@acme.test").await;
    let old = login(&pool, "ana@acme.test").await;
    let busy = login(&pool, "ana@acme.test").await;
    session_set(&pool, &idle, "last_seen_at = now() - interval '12 hours 1 minute'").await;
    session_set(
        &pool,
        &old,
        "created_at = now() - interval '8 days', last_seen_at = now(), expires_at = now() - interval '1 second'",
    )
    .await;
    assert!(!valid(&pool, &idle).await, "idle for more than 12 h");
    assert!(!valid(&pool, &old).await, "past the absolute expiry");

    // Use is recorded at most once a minute.
    session_set(&pool, &busy, "last_seen_at = now() - interval '11 hours'").await;
    assert!(valid(&pool, &busy).await);
    assert!(seen_ago(&pool, &busy).await < 5.0, "touched");
    session_set(&pool, &busy, "last_seen_at = now() - interval '30 seconds'").await;
    assert!(valid(&pool, &busy).await);
    assert!(seen_ago(&pool, &busy).await >= 29.0, "not touched again within the minute");

    assert_eq!(auth::prune(&pool).await.expect("prune"), 2);
    assert_eq!(scalar_i64(&pool, "SELECT count(*) FROM auth_sessions").await, 1);
}

async fn session_set(pool: &PgPool, token: &str, assignments: &str) {
    let sql =
        format!("UPDATE auth_sessions SET {assignments} WHERE id_hash = sha256(convert_to($1, 'UTF8'))");
    let n = sqlx::query(&sql).bind(token).execute(pool).await.expect("update session").rows_affected();
    assert_eq!(n, 1, "{sql}");
}

async fn seen_ago(pool: &PgPool, token: &str) -> f64 {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM auth_sessions
         WHERE id_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(token)
    .fetch_one(pool)
    .await
    .expect("last seen")
}

// -------------------------------------------------------- password changes

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn changing_ones_own_password_needs_it_and_ends_the_other_sessions(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let ana = human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    let me = as_actor(ana, Some(acc), Role::Agent);
    let here = login(&pool, "ana@acme.test").await;
    let elsewhere = login(&pool, "ana@acme.test").await;

    let missing = auth::change_password(&pool, &me, ana, None, NEW_PASSWORD.into(), Some(&here)).await;
    assert!(
        matches!(missing, Err(Error::Invalid { ref field, .. }) if field == "current_password"),
        "{missing:?}"
    );
    let wrong = auth::change_password(
        &pool,
        &me,
        ana,
        Some("not my password!".into()),
        NEW_PASSWORD.into(),
        Some(&here),
    )
    .await
    .expect_err("wrong current password");
    assert_eq!(wrong.code(), "unauthenticated");
    let short = auth::change_password(&pool, &me, ana, Some(PASSWORD.into()), "short".into(), Some(&here))
        .await
        .expect_err("short");
    assert!(matches!(short, Error::Invalid { ref field, .. } if field == "password"));
    assert!(valid(&pool, &elsewhere).await, "failed attempts change nothing");

    auth::change_password(&pool, &me, ana, Some(PASSWORD.into()), NEW_PASSWORD.into(), Some(&here))
        .await
        .expect("change");
    assert!(valid(&pool, &here).await, "the session that changed it stays");
    assert!(!valid(&pool, &elsewhere).await, "every other session ends");
    assert_eq!(
        scalar_i64(
            &pool,
            "SELECT count(*) FROM agents WHERE password_changed_at > now() - interval '1 minute'"
        )
        .await,
        1
    );
    let changed = audit_rows(&pool, "password.changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].1, Some(ana));
    assert_eq!(changed[0].3, serde_json::json!({ "by_admin": false, "sessions_ended": 1 }));
    assert_eq!(audit_rows(&pool, "password.change_failed").await.len(), 1);

    assert!(auth::login(&pool, login_input("ana@acme.test", PASSWORD)).await.is_err());
    auth::login(&pool, login_input("ana@acme.test", NEW_PASSWORD)).await.expect("new password works");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_set_passwords_without_the_current_one_within_their_account(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let other = common::account(&pool, "globex").await;
    let ana = human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    let boss = human(&pool, Some(acc), "boss@acme.test", Role::Admin, true).await;
    let colleague = as_actor(AgentId::new(), Some(acc), Role::Supervisor);
    let foreign_admin = as_actor(AgentId::new(), Some(other), Role::Admin);
    let ana_token = login(&pool, "ana@acme.test").await;
    let boss_token = login(&pool, "boss@acme.test").await;

    let err = auth::change_password(&pool, &colleague, ana, None, NEW_PASSWORD.into(), None)
        .await
        .expect_err("sup");
    assert_eq!(err.code(), "forbidden");
    let err = auth::change_password(&pool, &foreign_admin, ana, None, NEW_PASSWORD.into(), None)
        .await
        .expect_err("foreign");
    assert_eq!(err.code(), "not_found");
    let customer = Actor::Customer(CustomerActor {
        customer_id: CustomerId::new(),
        session_id: SessionId::new(),
        account_id: acc,
    });
    assert!(auth::change_password(&pool, &customer, ana, None, NEW_PASSWORD.into(), None).await.is_err());

    let admin = as_actor(boss, Some(acc), Role::Admin);
    // The admin's own cookie is not one of Ana's sessions: all of hers end.
    auth::change_password(&pool, &admin, ana, None, NEW_PASSWORD.into(), Some(&boss_token))
        .await
        .expect("admin");
    assert!(!valid(&pool, &ana_token).await);
    assert!(valid(&pool, &boss_token).await);
    let changed = audit_rows(&pool, "password.changed").await;
    assert_eq!((changed[0].0, changed[0].1), (Some(acc), Some(boss)));
    assert_eq!(changed[0].3, serde_json::json!({ "by_admin": true, "sessions_ended": 1 }));

    // Bots have no password to set.
    let bot = human(&pool, Some(acc), "bot@acme.test", Role::Bot, false).await;
    let err =
        auth::change_password(&pool, &admin, bot, None, NEW_PASSWORD.into(), None).await.expect_err("bot");
    assert_eq!(err.code(), "invalid");

    // Logging out everywhere: the agent themself, or an admin.
    let t1 = auth::login(&pool, login_input("ana@acme.test", NEW_PASSWORD)).await.expect("login").token;
    assert_eq!(auth::end_sessions(&pool, &admin, ana).await.expect("end"), 1);
    assert!(!valid(&pool, &t1).await);
    assert_eq!(auth::end_sessions(&pool, &colleague, ana).await.expect_err("sup").code(), "forbidden");
    assert_eq!(
        auth::end_sessions(&pool, &foreign_admin, ana).await.expect_err("foreign").code(),
        "not_found"
    );
    let me = as_actor(boss, Some(acc), Role::Admin);
    assert_eq!(auth::end_sessions(&pool, &me, boss).await.expect("self"), 1);
    assert_eq!(audit_rows(&pool, "sessions.ended").await.len(), 2);
}

// ------------------------------------------------------------ rate limits

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn fixed_windows_count_per_key_and_prune(pool_opts: PgPoolOptions, connect: PgConnectOptions) {
    let at = one_second_into_a_window();
    let pool = pool_with_limit_clock(&pool_opts, &connect, at).await;
    let minute = Duration::from_secs(60);
    for _ in 0..3 {
        ratelimit::hit(&pool, "k:a", 3, minute).await.expect("within the limit");
    }
    let err = ratelimit::hit(&pool, "k:a", 3, minute).await.expect_err("over");
    assert!(is_rate_limited(&err), "{err:?}");
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(err.to_string(), "too many attempts; retry in 59 s");
    ratelimit::hit(&pool, "k:b", 3, minute).await.expect("another key");
    assert_eq!(scalar_i64(&pool, "SELECT count::int8 FROM rate_limits WHERE key = 'k:a'").await, 4);
    // A minute later the key starts afresh in the next window.
    let later = pool_with_limit_clock(&pool_opts, &connect, at + chrono::Duration::seconds(60)).await;
    ratelimit::hit(&later, "k:a", 3, minute).await.expect("the next window");
    later.close().await;

    sqlx::query(
        "INSERT INTO rate_limits (key, window_start, count) VALUES ('k:a', now() - interval '2 hours', 99)",
    )
    .execute(&pool)
    .await
    .expect("old window");
    assert_eq!(ratelimit::prune(&pool).await.expect("prune"), 1);
    assert!(ratelimit::hit(&pool, "k:c", 1, Duration::from_millis(10)).await.is_err(), "window too short");
    pool.close().await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_eleventh_login_attempt_in_a_minute_is_refused_per_address(
    pool_opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_with_limit_clock(&pool_opts, &connect, one_second_into_a_window()).await;
    let acc = common::account(&pool, "acme").await;
    human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    // Ten wrong passwords from ten addresses...
    for i in 0..10 {
        let input = LoginInput {
            ip: ip(&format!("198.51.100.{i}")),
            ..login_input("ana@acme.test", "wrong password!")
        };
        assert_eq!(auth::login(&pool, input).await.expect_err("wrong").code(), "unauthenticated");
    }
    // ...and the eleventh is refused even with the right one.
    let input = LoginInput { ip: ip("203.0.113.99"), ..login_input("ANA@acme.test", PASSWORD) };
    let err = auth::login(&pool, input).await.expect_err("limited");
    assert!(is_rate_limited(&err), "{err:?}");
    // Another address is unaffected.
    human(&pool, Some(acc), "bo@acme.test", Role::Agent, true).await;
    login(&pool, "bo@acme.test").await;
    pool.close().await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_eleventh_login_attempt_in_a_minute_is_refused_per_ip(
    pool_opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_with_limit_clock(&pool_opts, &connect, one_second_into_a_window()).await;
    let acc = common::account(&pool, "acme").await;
    human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    for i in 0..10 {
        let input =
            LoginInput { ip: ip("2001:db8::1"), ..login_input(&format!("guess{i}@acme.test"), PASSWORD) };
        assert_eq!(auth::login(&pool, input).await.expect_err("unknown").code(), "unauthenticated");
    }
    // Same /64, different address: still the same client.
    let input = LoginInput { ip: ip("2001:db8::2"), ..login_input("ana@acme.test", PASSWORD) };
    let err = auth::login(&pool, input).await.expect_err("limited");
    assert!(is_rate_limited(&err), "{err:?}");
    // The refused attempts never reached the password check: no audit rows.
    assert_eq!(audit_rows(&pool, "login.failed").await.len(), 10);
    let input = LoginInput { ip: ip("192.0.2.200"), ..login_input("ana@acme.test", PASSWORD) };
    auth::login(&pool, input).await.expect("another client");
    pool.close().await;
}

// -------------------------------------------------------------- customers

async fn chat_type(pool: &PgPool, slug: &str) -> (AccountId, SupportTypeId) {
    let acc = common::account(pool, &format!("{slug}-acc")).await;
    let ty = common::support_type(pool, acc, slug, Routing::Manual).await;
    (acc, ty)
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_anonymous_chat_gets_a_token_for_its_session_only(pool: PgPool) {
    let (acc, _) = chat_type(&pool, "help").await;
    let opened = auth::open_chat(
        &pool,
        "help",
        OpenChat {
            name: Some("<script>alert(1)</script>".into()),
            email: Some("ana@example.com".into()),
            message: Some("Hello".into()),
            identity: None,
            ip: ip("192.0.2.1"),
        },
    )
    .await
    .expect("open");
    assert!(opened.token.starts_with("sc_") && opened.token.len() == 46);
    assert!((opened.expires_at - chrono::Utc::now()).num_days() >= 29);
    assert_eq!(opened.session.customer_id, opened.customer_id);
    let (name, email): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT name, email::text FROM customers WHERE id = $1")
            .bind(opened.customer_id)
            .fetch_one(&pool)
            .await
            .expect("customer");
    assert_eq!(
        (name.as_deref(), email.as_deref()),
        (Some("<script>alert(1)</script>"), Some("ana@example.com"))
    );
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM messages WHERE body = 'Hello' AND sender_kind = 'customer'")
            .await,
        1
    );

    let me = auth::authenticate_customer(&pool, &opened.token).await.expect("auth").expect("valid");
    assert_eq!(
        me,
        CustomerActor { customer_id: opened.customer_id, session_id: opened.session.id, account_id: acc }
    );
    let as_me = Actor::Customer(me);
    sessions::get_for_customer(&pool, &as_me, opened.session.id).await.expect("own session");

    // Another chat, even in the same account: not found for this token.
    let other = auth::open_chat(&pool, "help", OpenChat::default()).await.expect("other");
    assert_ne!(other.customer_id, opened.customer_id, "anonymous chats never share a customer");
    assert_eq!(
        sessions::get_for_customer(&pool, &as_me, other.session.id).await.expect_err("other").code(),
        "not_found"
    );
    assert_eq!(
        sessions::get_for_customer(&pool, &as_me, SessionId::new()).await.expect_err("guess").code(),
        "not_found"
    );

    // Junk, expired and revoked tokens are not customers.
    let junk = [
        "".to_owned(),
        "sc_".to_owned(),
        opened.token.replace("sc_", "ss_"),
        format!("sc_{}", "A".repeat(43)),
    ];
    for junk in &junk {
        assert_eq!(auth::authenticate_customer(&pool, junk).await.expect("junk"), None, "{junk}");
    }
    sqlx::query(
        "UPDATE customer_tokens SET created_at = now() - interval '31 days', expires_at = now() - interval '1 second'
         WHERE session_id = $1",
    )
    .bind(other.session.id)
    .execute(&pool)
    .await
    .expect("expire");
    assert_eq!(auth::authenticate_customer(&pool, &other.token).await.expect("expired"), None);
    auth::revoke_customer_token(&pool, &opened.token).await.expect("revoke");
    assert_eq!(auth::authenticate_customer(&pool, &opened.token).await.expect("revoked"), None);
    assert_eq!(
        auth::prune(&pool).await.expect("prune"),
        1,
        "the expired token goes; the revoked one stays a day"
    );

    // Unknown and archived types.
    let err = auth::open_chat(&pool, "nope", OpenChat::default()).await.expect_err("unknown");
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "support_type"), "{err:?}");
    sqlx::query("UPDATE support_types SET archived_at = now() WHERE slug = 'help'")
        .execute(&pool)
        .await
        .expect("archive");
    assert_eq!(
        auth::open_chat(&pool, "help", OpenChat::default()).await.expect_err("archived").code(),
        "support_type_archived"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_signed_identity_links_the_chat_to_the_known_customer(pool: PgPool) {
    let (acc, _) = chat_type(&pool, "help").await;
    let (_, _) = chat_type(&pool, "plain").await;
    let agent = human(&pool, Some(acc), "ana@acme.test", Role::Agent, false).await;
    // The customer is known from an earlier session, with a preferred agent.
    let (_, known) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "help".into(),
            customer: CustomerInput {
                name: Some("Bo".into()),
                email: Some("bo@shop.test".into()),
                external_ref: Some("cust-42".into()),
            },
            ..Default::default()
        },
    )
    .await
    .expect("earlier session");
    sqlx::query("UPDATE customers SET preferred_agent_id = $2 WHERE id = $1")
        .bind(known)
        .bind(agent)
        .execute(&pool)
        .await
        .expect("preferred");

    let no_secret = Identity { external_id: "cust-42".into(), email: None, signature: "00".repeat(32) };
    let err =
        auth::open_chat(&pool, "help", OpenChat { identity: Some(no_secret.clone()), ..Default::default() })
            .await
            .expect_err("not configured");
    assert_eq!(err, Error::invalid("identity", "identity verification is not configured for this account"));

    let secret_hex = accounts::rotate_identity_secret(&pool, &Actor::System, acc).await.expect("rotate");
    let secret: Vec<u8> =
        (0..32).map(|i| u8::from_str_radix(&secret_hex[2 * i..2 * i + 2], 16).expect("hex")).collect();
    let sign = |ext: &str, email: Option<&str>| auth::sign_identity(&secret, ext, email).expect("sign");

    // A forged or tampered identity is refused, and nothing is opened.
    let sessions_before = scalar_i64(&pool, "SELECT count(*) FROM sessions").await;
    for bad in [
        no_secret.clone(),
        Identity {
            external_id: "cust-43".into(),
            email: Some("bo@shop.test".into()),
            signature: sign("cust-42", Some("bo@shop.test")),
        },
        Identity {
            external_id: "cust-42".into(),
            email: Some("eve@evil.test".into()),
            signature: sign("cust-42", Some("bo@shop.test")),
        },
        Identity { external_id: "cust-42".into(), email: None, signature: "not hex".into() },
    ] {
        let err = auth::open_chat(&pool, "help", OpenChat { identity: Some(bad), ..Default::default() })
            .await
            .expect_err("forged");
        assert_eq!(err, Error::invalid("identity", "the identity signature does not match"));
    }
    assert_eq!(scalar_i64(&pool, "SELECT count(*) FROM sessions").await, sessions_before);

    // The right signature: the session belongs to the known customer; the
    // unsigned email in the request does not override the signed one.
    let identity = Identity {
        external_id: "cust-42".into(),
        email: Some("bo@shop.test".into()),
        signature: sign("cust-42", Some("bo@shop.test")),
    };
    let opened = auth::open_chat(
        &pool,
        "help",
        OpenChat {
            email: Some("eve@evil.test".into()),
            identity: Some(identity.clone()),
            ip: ip("192.0.2.1"),
            ..Default::default()
        },
    )
    .await
    .expect("verified");
    assert_eq!(opened.customer_id, known);
    let email: String = sqlx::query_scalar("SELECT email::text FROM customers WHERE id = $1")
        .bind(known)
        .fetch_one(&pool)
        .await
        .expect("e");
    assert_eq!(email, "bo@shop.test");
    assert_eq!(
        sessions::list(
            &pool,
            &Actor::System,
            sessions::SessionFilter { customer_id: Some(known), ..Default::default() },
            None,
            None
        )
        .await
        .expect("history")
        .items
        .len(),
        2
    );

    // The same identity is no good for another account's chat page.
    let err = auth::open_chat(&pool, "plain", OpenChat { identity: Some(identity), ..Default::default() })
        .await
        .expect_err("other account");
    assert_eq!(err.code(), "invalid");
    // A rotated secret invalidates signatures made with the old one.
    let old = Identity { external_id: "cust-7".into(), email: None, signature: sign("cust-7", None) };
    accounts::rotate_identity_secret(&pool, &Actor::System, acc).await.expect("rotate again");
    assert!(
        auth::open_chat(&pool, "help", OpenChat { identity: Some(old), ..Default::default() }).await.is_err()
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn chat_opening_and_messages_are_rate_limited(pool_opts: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_with_limit_clock(&pool_opts, &connect, one_second_into_a_window()).await;
    chat_type(&pool, "help").await;
    let from = |addr: &str| OpenChat { ip: ip(addr), ..Default::default() };
    let mut first = None;
    for _ in 0..10 {
        first = Some(auth::open_chat(&pool, "help", from("192.0.2.1")).await.expect("within the limit"));
    }
    let err = auth::open_chat(&pool, "help", from("192.0.2.1")).await.expect_err("11th");
    assert!(is_rate_limited(&err), "{err:?}");
    let opened = auth::open_chat(&pool, "help", from("192.0.2.2")).await.expect("another client");

    let me = auth::authenticate_customer(&pool, &opened.token).await.expect("auth").expect("valid");
    for _ in 0..30 {
        auth::chat_message_limits(&pool, &me, ip("192.0.2.2")).await.expect("within the limit");
    }
    let err = auth::chat_message_limits(&pool, &me, ip("192.0.2.3")).await.expect_err("31st in the session");
    assert!(is_rate_limited(&err), "{err:?}");
    // Another session from the same IP is within both of its limits.
    let other = first.expect("opened");
    let them = auth::authenticate_customer(&pool, &other.token).await.expect("auth").expect("valid");
    auth::chat_message_limits(&pool, &them, ip("192.0.2.2")).await.expect("other session");
    pool.close().await;
}

// --------------------------------------------------------------- accounts

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn widget_origins_are_validated_and_scoped_to_the_accounts_admins(pool: PgPool) {
    let (acc, _) = chat_type(&pool, "help").await;
    let (other, _) = chat_type(&pool, "elsewhere").await;
    let admin = as_actor(AgentId::new(), Some(acc), Role::Admin);
    let origins = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());

    let err = accounts::update(
        &pool,
        &admin,
        acc,
        UpdateAccount {
            widget_origins: origins(&["https://shop.example.com", "https://shop.example.com/embed"]),
            ..Default::default()
        },
    )
    .await
    .expect_err("path");
    assert!(
        matches!(&err, Error::Invalid { field, message }
        if field == "widget_origins" && message.contains("https://shop.example.com/embed")),
        "{err:?}"
    );

    let updated = accounts::update(
        &pool,
        &admin,
        acc,
        UpdateAccount {
            name: Some("  Acme Support ".into()),
            widget_origins: origins(&["https://Shop.Example.com/", "http://localhost:8080"]),
            presence_grace_secs: Some(120),
            time_zone: Some(" Europe/Stockholm ".into()),
        },
    )
    .await
    .expect("update");
    assert_eq!(updated.name, "Acme Support");
    assert_eq!(updated.presence_grace_secs, 120);
    assert_eq!(updated.time_zone, "Europe/Stockholm");
    let err = accounts::update(
        &pool,
        &admin,
        acc,
        UpdateAccount { time_zone: Some("Europe/Atlantis".into()), ..Default::default() },
    )
    .await
    .expect_err("no such zone");
    assert!(matches!(&err, Error::Invalid { field, .. } if field == "time_zone"), "{err:?}");
    let err = accounts::update(
        &pool,
        &admin,
        acc,
        UpdateAccount { presence_grace_secs: Some(5), ..Default::default() },
    )
    .await
    .expect_err("too short");
    assert!(matches!(&err, Error::Invalid { field, .. } if field == "presence_grace_secs"), "{err:?}");
    assert_eq!(updated.widget_origins, vec!["https://shop.example.com", "http://localhost:8080"]);
    assert_eq!(
        accounts::widget_origins_for_type(&pool, "HELP").await.expect("origins"),
        vec!["https://shop.example.com", "http://localhost:8080"]
    );
    assert!(accounts::widget_origins_for_type(&pool, "elsewhere").await.expect("none").is_empty());
    assert!(accounts::widget_origins_for_type(&pool, "no-such-type").await.expect("unknown").is_empty());
    assert_eq!(audit_rows(&pool, "account.updated").await.len(), 1);

    let change = || UpdateAccount { name: Some("Mine now".into()), ..Default::default() };
    let sup = as_actor(AgentId::new(), Some(acc), Role::Supervisor);
    assert_eq!(accounts::update(&pool, &sup, acc, change()).await.expect_err("sup").code(), "forbidden");
    assert_eq!(
        accounts::update(&pool, &admin, other, change()).await.expect_err("other").code(),
        "not_found"
    );
    let global = as_actor(AgentId::new(), None, Role::Admin);
    accounts::update(&pool, &global, other, change()).await.expect("global admin");
    assert_eq!(
        accounts::update(&pool, &global, AccountId::new(), change()).await.expect_err("missing").code(),
        "not_found"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_identity_secret_is_shown_once_and_never_part_of_an_account(pool: PgPool) {
    let (acc, _) = chat_type(&pool, "help").await;
    let (other, _) = chat_type(&pool, "elsewhere").await;
    let admin = as_actor(AgentId::new(), Some(acc), Role::Admin);
    assert!(!accounts::get(&pool, &admin, acc).await.expect("get").identity_verification);

    let secret = accounts::rotate_identity_secret(&pool, &admin, acc).await.expect("rotate");
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{secret}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts WHERE id = $1 AND encode(identity_secret, 'hex') = $2",
    )
    .bind(acc)
    .bind(&secret)
    .fetch_one(&pool)
    .await
    .expect("stored");
    assert_eq!(stored, 1);

    let account = accounts::get(&pool, &admin, acc).await.expect("get");
    assert!(account.identity_verification);
    let json = serde_json::to_string(&account).expect("json");
    assert!(!json.contains(&secret), "{json}");
    let listed =
        serde_json::to_string(&accounts::list(&pool, &Actor::System).await.expect("list")).expect("json");
    assert!(!listed.contains(&secret));

    let again = accounts::rotate_identity_secret(&pool, &admin, acc).await.expect("rotate again");
    assert_ne!(again, secret);
    let rotated = audit_rows(&pool, "identity_secret.rotated").await;
    assert_eq!(rotated.len(), 2);
    assert!(!rotated[0].3.to_string().contains(&secret), "the secret is not in the audit log");

    let sup = as_actor(AgentId::new(), Some(acc), Role::Supervisor);
    assert_eq!(
        accounts::rotate_identity_secret(&pool, &sup, acc).await.expect_err("sup").code(),
        "forbidden"
    );
    assert_eq!(
        accounts::rotate_identity_secret(&pool, &admin, other).await.expect_err("other").code(),
        "not_found"
    );

    let off = accounts::disable_identity_verification(&pool, &admin, acc).await.expect("disable");
    assert!(!off.identity_verification);
}

// -------------------------------------------------------------- audit log

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_read_the_audit_log_of_their_scope_newest_first(pool: PgPool) {
    let acc = common::account(&pool, "acme").await;
    let other = common::account(&pool, "globex").await;
    human(&pool, Some(acc), "ana@acme.test", Role::Agent, true).await;
    human(&pool, Some(other), "gus@globex.test", Role::Agent, true).await;
    login(&pool, "ana@acme.test").await;
    login(&pool, "gus@globex.test").await;
    let _ = auth::login(&pool, login_input("nobody@nowhere.test", PASSWORD)).await;
    accounts::rotate_identity_secret(&pool, &Actor::System, acc).await.expect("rotate");

    let global = as_actor(AgentId::new(), None, Role::Admin);
    let all = audit::list(&pool, &global, &AuditFilter::default(), None, None).await.expect("all");
    let actions: Vec<&str> = all.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["identity_secret.rotated", "login.failed", "login.succeeded", "login.succeeded"]);
    assert!(all.items.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!(all.items[1].account_id, None);

    let admin = as_actor(AgentId::new(), Some(acc), Role::Admin);
    let mine = audit::list(&pool, &admin, &AuditFilter::default(), None, None).await.expect("mine");
    assert_eq!(mine.items.len(), 2);
    assert!(mine.items.iter().all(|e| e.account_id == Some(acc)));
    assert_eq!(
        audit::list(&pool, &admin, &AuditFilter { account: Some(acc), ..AuditFilter::default() }, None, None)
            .await
            .expect("named")
            .items,
        mine.items
    );
    assert_eq!(
        audit::list(
            &pool,
            &admin,
            &AuditFilter { account: Some(other), ..AuditFilter::default() },
            None,
            None
        )
        .await
        .expect_err("other")
        .code(),
        "not_found"
    );
    let theirs = audit::list(
        &pool,
        &global,
        &AuditFilter { account: Some(other), ..AuditFilter::default() },
        None,
        None,
    )
    .await
    .expect("filter");
    assert_eq!(theirs.items.len(), 1);
    assert_eq!(theirs.items[0].account_id, Some(other));

    // Pages by id.
    let page = audit::list(&pool, &global, &AuditFilter::default(), None, Some(3)).await.expect("page");
    assert_eq!(page.items.len(), 3);
    let before: i64 = page.next_cursor.as_deref().expect("more").parse().expect("id");
    let rest =
        audit::list(&pool, &global, &AuditFilter::default(), Some(before), Some(3)).await.expect("rest");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next_cursor, None);

    // Narrowed by action (a whole one, or its start), actor and time.
    let filtered = |f: AuditFilter| {
        let pool = pool.clone();
        async move { audit::list(&pool, &global, &f, None, None).await }
    };
    let logins = filtered(AuditFilter { action: Some("login.".into()), ..AuditFilter::default() }).await;
    assert_eq!(logins.expect("logins").items.len(), 3);
    let failed =
        filtered(AuditFilter { action: Some("login.failed".into()), ..AuditFilter::default() }).await;
    assert_eq!(
        failed.expect("failed").items.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["login.failed"]
    );
    let ana =
        all.items.iter().find(|e| e.action == "login.succeeded" && e.account_id == Some(acc)).expect("ana");
    let by_ana =
        filtered(AuditFilter { actor: ana.actor_id, ..AuditFilter::default() }).await.expect("actor");
    assert!(!by_ana.items.is_empty() && by_ana.items.iter().all(|e| e.actor_id == ana.actor_id));
    let newest = all.items[0].created_at;
    let since = filtered(AuditFilter { since: Some(newest), ..AuditFilter::default() }).await.expect("since");
    assert!(since.items.iter().all(|e| e.created_at >= newest) && !since.items.is_empty());
    let until = filtered(AuditFilter { until: Some(newest), ..AuditFilter::default() }).await.expect("until");
    assert!(until.items.iter().all(|e| e.created_at < newest));
    assert_eq!(since.items.len() + until.items.len(), all.items.len(), "the two ranges split the log");
    let bad = filtered(AuditFilter { action: Some("login%".into()), ..AuditFilter::default() }).await;
    assert!(matches!(bad, Err(domain::Error::Invalid { ref field, .. }) if field == "action"), "{bad:?}");
    let backwards =
        filtered(AuditFilter { since: Some(newest), until: Some(newest), ..AuditFilter::default() }).await;
    assert!(matches!(backwards, Err(domain::Error::Invalid { ref field, .. }) if field == "until"));

    for (who, code) in [
        (as_actor(AgentId::new(), Some(acc), Role::Supervisor), "forbidden"),
        (as_actor(AgentId::new(), Some(acc), Role::Agent), "forbidden"),
        (
            Actor::Customer(CustomerActor {
                customer_id: CustomerId::new(),
                session_id: SessionId::new(),
                account_id: acc,
            }),
            "forbidden",
        ),
    ] {
        assert_eq!(
            audit::list(&pool, &who, &AuditFilter::default(), None, None).await.expect_err("refused").code(),
            code
        );
    }
}
