//! Business hours with an IANA time zone against a real database: a support
//! type stores a zone, the old fixed offset is normalised on the way in and
//! by migration 0009, and a bad zone is a 422 naming `business_hours`.
#![cfg(feature = "server")]

use domain::{
    Error,
    actor::{Actor, AgentActor},
    business_hours::BusinessHours,
    support_types::{self as types, NewSupportType},
    types::*,
};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn admin(pool: &PgPool) -> Actor {
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("account");
    let id: AgentId = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, 'ada@acme.test', 'Ada', 'admin')
         RETURNING id",
    )
    .bind(account)
    .fetch_one(pool)
    .await
    .expect("admin");
    Actor::Agent(AgentActor { id, account_id: Some(account), role: Role::Admin })
}

fn with_hours(slug: &str, hours: Value) -> NewSupportType {
    NewSupportType { slug: slug.into(), name: slug.into(), business_hours: Some(hours), ..Default::default() }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_support_type_keeps_its_time_zone_and_old_offsets_become_zones(pool: PgPool) {
    let admin = admin(&pool).await;
    let berlin = json!({ "time_zone": "Europe/Berlin", "open": { "mon": ["09:00", "17:00"] } });
    let ty = types::create(&pool, &admin, with_hours("berlin", berlin)).await.expect("create");
    let hours = BusinessHours::parse(ty.business_hours.as_ref().expect("hours")).expect("stored hours parse");
    assert_eq!(hours.time_zone.as_deref(), Some("Europe/Berlin"));
    // Monday 30 March 2026, the day after the change to summer time.
    assert!(hours.is_open("2026-03-30T07:00:00Z".parse().expect("time")));

    // The deprecated field is still accepted, and stored as the zone.
    let old = json!({ "utc_offset_minutes": 120, "open": {} });
    let ty = types::create(&pool, &admin, with_hours("cairo", old)).await.expect("create");
    let stored = ty.business_hours.expect("hours");
    assert_eq!(stored["time_zone"], "Etc/GMT-2");
    assert!(stored.get("utc_offset_minutes").is_none(), "{stored}");

    let bad = json!({ "time_zone": "Mars/Olympus_Mons", "open": {} });
    match types::create(&pool, &admin, with_hours("mars", bad)).await {
        Err(Error::Invalid { field, message }) => {
            assert_eq!(field, "business_hours");
            assert!(message.contains("Mars/Olympus_Mons"), "{message}");
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn migration_0009_maps_whole_hour_offsets_to_zones_and_keeps_the_others(pool: PgPool) {
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("account");
    let rows = [
        ("plus-one", json!({ "utc_offset_minutes": 60, "open": {} })),
        ("minus-five", json!({ "utc_offset_minutes": -300, "open": {} })),
        ("zero", json!({ "utc_offset_minutes": 0, "open": {} })),
        ("none", json!({ "open": {} })),
        ("india", json!({ "utc_offset_minutes": 330, "open": {} })),
        ("kiribati", json!({ "utc_offset_minutes": 840, "open": {} })),
    ];
    for (slug, hours) in &rows {
        // Written the way the old code stored them, past today's validation.
        sqlx::query(
            "INSERT INTO support_types (account_id, slug, name, business_hours) VALUES ($1, $2, $2, $3)",
        )
        .bind(account)
        .bind(slug)
        .bind(hours)
        .execute(&pool)
        .await
        .expect("type");
    }
    let migration = include_str!("../../migrations/0009_mail_outbox_and_time_zones.sql");
    let at = migration.find("-- Business hours:").expect("the business hours part");
    sqlx::raw_sql(&migration[at..]).execute(&pool).await.expect("migrate");

    let stored: Vec<(String, Value)> =
        sqlx::query_as("SELECT slug, business_hours FROM support_types ORDER BY created_at, slug")
            .fetch_all(&pool)
            .await
            .expect("types");
    let by_slug = |slug: &str| stored.iter().find(|(s, _)| s == slug).map(|(_, h)| h.clone()).expect(slug);
    assert_eq!(by_slug("plus-one"), json!({ "time_zone": "Etc/GMT-1", "open": {} }));
    assert_eq!(by_slug("minus-five"), json!({ "time_zone": "Etc/GMT+5", "open": {} }));
    assert_eq!(by_slug("zero"), json!({ "time_zone": "UTC", "open": {} }));
    assert_eq!(by_slug("none"), json!({ "time_zone": "UTC", "open": {} }));
    assert_eq!(by_slug("kiribati"), json!({ "time_zone": "Etc/GMT-14", "open": {} }));
    assert_eq!(
        by_slug("india"),
        json!({ "utc_offset_minutes": 330, "open": {} }),
        "kept, still a fixed offset"
    );
    // Every zone the migration wrote is one chrono-tz knows.
    for (slug, hours) in &stored {
        let parsed = BusinessHours::parse(hours).unwrap_or_else(|e| panic!("{slug}: {e}"));
        assert!(parsed.time_zone.is_some() || parsed.utc_offset_minutes == Some(330), "{slug}");
    }
}
