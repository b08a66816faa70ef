//! `seed-demo` loads the documented demo data once, and a second run changes nothing.

use server::seed;
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn seed_demo_is_complete_and_idempotent(pool: PgPool) {
    let first = seed::seed_demo(&pool).await.expect("seed");
    assert!(first.history_sessions > 1_000, "history: {}", first.history_sessions);

    assert_eq!(count(&pool, "SELECT count(*) FROM accounts").await, 3);
    assert!(count(&pool, "SELECT count(*) FROM support_types").await >= 28);
    assert_eq!(count(&pool, "SELECT count(*) FROM agents WHERE role = 'agent'").await, 30);
    assert_eq!(count(&pool, "SELECT count(*) FROM agents WHERE role = 'bot'").await, 2);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM support_types t WHERE NOT EXISTS (SELECT 1 FROM resolution_reasons r WHERE r.support_type_id = t.id)").await,
        0,
        "every type has resolution reasons"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM agents WHERE email IN ('admin@example.com', 'supervisor@example.com', 'agent1@example.com', 'agent30@example.com') AND password_hash IS NOT NULL").await,
        4
    );
    let admin_scope: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT account_id FROM agents WHERE email = 'admin@example.com'")
            .fetch_one(&pool)
            .await
            .expect("admin");
    assert_eq!(admin_scope, None, "admin@example.com is a global admin");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM agents WHERE email = 'agent7@example.com'")
            .fetch_one(&pool)
            .await
            .expect("hash");
    assert!(domain::agents::password::verify(seed::DEMO_PASSWORD, &hash));
    let oldest_days: f64 =
        sqlx::query_scalar("SELECT extract(day FROM now() - min(created_at))::float8 FROM sessions")
            .fetch_one(&pool)
            .await
            .expect("age");
    assert!(oldest_days >= 28.0, "history spans 30 days, got {oldest_days}");
    assert!(count(&pool, "SELECT count(*) FROM csat").await > 500);
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM sessions WHERE status = 'resolved' AND resolution_reason_id IS NULL"
        )
        .await
            == 0
    );

    let before = count(&pool, "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM agents) + (SELECT count(*) FROM messages)").await;
    let second = seed::seed_demo(&pool).await.expect("seed again");
    assert!(second.created.is_empty(), "second run created {:?}", second.created);
    assert_eq!(second.history_sessions, 0);
    let after = count(&pool, "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM agents) + (SELECT count(*) FROM messages)").await;
    assert_eq!(before, after);
}
