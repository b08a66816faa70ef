//! The client address behind a reverse proxy, over real HTTP: forwarding
//! headers from an untrusted peer change nothing (every such request counts
//! against the peer), and behind a trusted proxy each forwarded client gets
//! its own rate limit. The test's connections come from 127.0.0.1.

use reqwest::{StatusCode, header};
use serde_json::json;
use server::config::Config;
use sqlx::PgPool;

mod common;
use common::{SWAGGER_UI_DIR, spawn_app_with};

fn config(trusted_proxies: Option<&str>) -> Config {
    Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "SWAGGER_UI_DIR" => Some(SWAGGER_UI_DIR.to_owned()),
        "TRUSTED_PROXIES" => trusted_proxies.map(str::to_owned),
        _ => None,
    })
    .expect("config")
}

/// One failed sign-in with `headers`; each uses a fresh e-mail address, so
/// only the per-address limit (`login:ip:…`) is shared between them.
async fn login(app: &common::TestApp, n: usize, headers: &[(&str, &str)]) -> StatusCode {
    let mut req =
        app.client.post(format!("{}/api/v1/auth/login", app.base)).header(header::ORIGIN, &app.base).json(
            &json!({ "email": format!("nobody{n}@example.test"), "password": "not a password at all" }),
        );
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("login").status()
}

/// Uses up the sign-in limit of `address` in this minute and the next (so a
/// minute boundary during the test changes nothing).
async fn exhaust(pool: &PgPool, address: &str) {
    sqlx::query(
        "INSERT INTO rate_limits (key, window_start, count)
         SELECT $1, date_bin(interval '60 seconds', now() + make_interval(mins => m), TIMESTAMPTZ '2000-01-01 00:00:00+00'), $2
         FROM generate_series(0, 1) AS m
         ON CONFLICT (key, window_start) DO UPDATE SET count = greatest(rate_limits.count, EXCLUDED.count)",
    )
    .bind(format!("login:ip:{address}"))
    .bind(domain::auth::LOGIN_LIMIT as i32)
    .execute(pool)
    .await
    .expect("exhaust");
}

/// Sign-in attempts counted per client address (over every window).
async fn per_address(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT key, sum(count)::bigint FROM rate_limits WHERE key LIKE 'login:ip:%' GROUP BY key ORDER BY key",
    )
    .fetch_all(pool)
    .await
    .expect("rate limits")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored(pool: PgPool) {
    let app = spawn_app_with(config(None), pool.clone()).await;
    for n in 0..3 {
        let client = format!("198.51.100.{n}");
        let forwarded = format!("for={client}");
        let headers = [("x-forwarded-for", client.as_str()), ("forwarded", forwarded.as_str())];
        assert_eq!(login(&app, n, &headers).await, StatusCode::UNAUTHORIZED);
    }
    // Three "different clients" are one peer: all counted against it.
    assert_eq!(per_address(&pool).await, [("login:ip:127.0.0.1".to_owned(), 3)]);
    // Once the peer is over its limit, no forwarded address gets it out.
    exhaust(&pool, "127.0.0.1").await;
    let status = login(&app, 9, &[("x-forwarded-for", "203.0.113.50")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(pool: PgPool) {
    let app = spawn_app_with(config(Some("127.0.0.1/32, 10.0.0.0/8")), pool.clone()).await;
    // Client A through two trusted proxies; what A wrote first is ignored.
    for n in 0..3 {
        let status = login(&app, n, &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Client B, through one.
    assert_eq!(login(&app, 10, &[("x-forwarded-for", "203.0.113.20")]).await, StatusCode::UNAUTHORIZED);
    // Client C, named by an RFC 7239 proxy.
    let status = login(&app, 11, &[("forwarded", r#"for="[2001:db8:1:2::99]:4711";proto=https"#)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // No header: the proxy itself.
    assert_eq!(login(&app, 12, &[]).await, StatusCode::UNAUTHORIZED);

    assert_eq!(
        per_address(&pool).await,
        [
            ("login:ip:127.0.0.1".to_owned(), 1),
            ("login:ip:198.51.100.7".to_owned(), 3),
            ("login:ip:2001:db8:1:2::/64".to_owned(), 1),
            ("login:ip:203.0.113.20".to_owned(), 1),
        ]
    );

    // One client over its limit does not lock out the others behind the
    // same proxy.
    exhaust(&pool, "198.51.100.66").await;
    let status = login(&app, 20, &[("x-forwarded-for", "198.51.100.66, 10.1.2.3")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login(&app, 21, &[("x-forwarded-for", "203.0.113.20")]).await, StatusCode::UNAUTHORIZED);
}
