//! The rollup row format of migration 0022: one row per metric, with a
//! histogram's buckets in an array and a breakdown's parts in an object.
//! The SQL functions that add a delta to a row agree with the domain's own
//! sums ([`Sums`]) and keep rows canonical, and the migration folds the old
//! per-bucket rows into the new ones without changing a sum.

use std::collections::BTreeMap;

use domain::reports::Sums;
use sqlx::PgPool;

/// A histogram as a row stores it: the first bucket and the counts from it.
type Counts = (i16, Vec<i64>);
/// A row's sums: n, total, lo, counts, parts.
type RowSums = (i64, i64, i16, Vec<i64>, serde_json::Value);

/// The histogram sums of `(lo, counts)`.
fn sums(lo: i16, counts: &[i64]) -> Sums {
    let mut s = Sums::default();
    s.add_counts(lo, counts);
    s
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn histogram_rows_add_like_the_domain_and_stay_trimmed(pool: PgPool) {
    let cases: Vec<(Counts, Counts)> = vec![
        ((0, vec![]), (73, vec![1, 0, 2])),
        ((73, vec![1, 0, 2]), (0, vec![])),
        ((5, vec![1, 2, 3]), (3, vec![1, 0, -1])),
        ((5, vec![1, 2, 3]), (9, vec![4])),
        ((5, vec![1, 2, 3]), (5, vec![-1, -2, -3])),
        ((5, vec![1, 2, 3]), (5, vec![-1, 0, 0])),
        ((5, vec![1, 2, 3]), (7, vec![-3])),
        ((70, vec![1]), (70, vec![-1, 0, 0, 0, 0, 1])),
        ((0, vec![2]), (300, vec![1])),
    ];
    for ((a_lo, a), (b_lo, b)) in cases {
        let sum = sqlx::query!(
            r#"SELECT lo AS "lo!", counts AS "counts!" FROM report_histogram_add($1, $2, $3, $4)"#,
            a_lo,
            &a,
            b_lo,
            &b
        )
        .fetch_one(&pool)
        .await
        .expect("report_histogram_add");
        let (lo, counts) = (sum.lo, sum.counts);
        let mut want = sums(a_lo, &a);
        want.merge(&sums(b_lo, &b));
        let (want_lo, want_counts) = want.trimmed_counts();
        assert_eq!((lo, counts.as_slice()), (want_lo, want_counts), "{a_lo} {a:?} + {b_lo} {b:?}");
        assert!(counts.first().is_none_or(|c| *c != 0) && counts.last().is_none_or(|c| *c != 0));
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn breakdown_rows_add_per_part_and_drop_zero_parts(pool: PgPool) {
    let parts = sqlx::query_scalar!(
        r#"SELECT report_parts_add('{"a": 2, "b": 1}', '{"b": -1, "c": 4}') AS "parts!""#
    )
    .fetch_one(&pool)
    .await
    .expect("report_parts_add");
    assert_eq!(parts, serde_json::json!({"a": 2, "c": 4}));
    let empty = sqlx::query_scalar!(r#"SELECT report_parts_add('{"a": 2}', '{"a": -2}') AS "parts!""#)
        .fetch_one(&pool)
        .await
        .expect("report_parts_add");
    assert_eq!(empty, serde_json::json!({}));
}

/// Rollups written in the layout before 0022 (a row per bucket, a metric
/// per reason) come out of the migration as the same sums.
#[sqlx::test(migrations = false)]
async fn the_migration_folds_bucket_rows_into_metric_rows(pool: PgPool) {
    // Runtime: the migrations' own texts, applied one by one up to 0021.
    for m in domain::db::MIGRATOR.iter().filter(|m| m.version < 22) {
        sqlx::raw_sql(m.sql.as_ref())
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", m.description));
    }
    let account =
        sqlx::query_scalar!("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("account");
    let (nil, agent, reason) = (uuid::Uuid::nil(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let reason_metric = format!("reason:{reason}");
    let old: [(uuid::Uuid, &str, i16, i64, i64); 9] = [
        (nil, "opened", -1, 5, 0),
        (nil, "wait", 80, 2, 7_000),
        (nil, "wait", 83, 1, 9_500),
        // A bucket a refresh emptied: not part of the row.
        (nil, "wait", 90, 0, 0),
        (nil, "csat", 4, 2, 8),
        (agent, &reason_metric, -1, 3, 0),
        (agent, "reason:other", -1, 0, 0),
        (agent, "handoff:low_confidence", -1, 1, 0),
        // A metric that counts nothing any more.
        (agent, "abandoned", -1, 0, 0),
    ];
    for (agent_id, metric, bucket, n, total) in old {
        // Runtime-checked: this is the layout before 0022 (a `bucket`
        // column), which the compile-time schema no longer has.
        sqlx::query(
            "INSERT INTO report_rollups (account_id, support_type_id, agent_id, grain, day, metric, bucket, n, total)
             VALUES ($1, $2, $3, 'd', '2026-11-10', $4, $5, $6, $7)",
        )
        .bind(account)
        .bind(nil)
        .bind(agent_id)
        .bind(metric)
        .bind(bucket)
        .bind(n)
        .bind(total)
        .execute(&pool)
        .await
        .expect("an old rollup row");
    }
    let last = domain::db::MIGRATOR.iter().find(|m| m.version == 22).expect("migration 0022");
    sqlx::raw_sql(last.sql.as_ref()).execute(&pool).await.expect("migration 0022");

    struct Row {
        agent_id: uuid::Uuid,
        metric: String,
        n: i64,
        total: i64,
        lo: i16,
        counts: Vec<i64>,
        parts: serde_json::Value,
    }
    let rows = sqlx::query_as!(
        Row,
        "SELECT agent_id, metric, n, total, lo, counts, parts FROM report_rollups ORDER BY agent_id, metric"
    )
    .fetch_all(&pool)
    .await
    .expect("new rows");
    let by: BTreeMap<(uuid::Uuid, String), RowSums> =
        rows.into_iter().map(|r| ((r.agent_id, r.metric), (r.n, r.total, r.lo, r.counts, r.parts))).collect();
    let empty = serde_json::json!({});
    assert_eq!(by.len(), 5, "{by:?}");
    assert_eq!(by[&(nil, "opened".into())], (5, 0, 0, vec![], empty.clone()));
    assert_eq!(by[&(nil, "wait".into())], (3, 16_500, 80, vec![2, 0, 0, 1], empty.clone()));
    assert_eq!(by[&(nil, "csat".into())], (2, 8, 4, vec![2], empty.clone()));
    assert_eq!(
        by[&(agent, "reason".into())],
        (3, 0, 0, vec![], serde_json::json!({ reason.to_string(): 3 }))
    );
    assert_eq!(by[&(agent, "handoff".into())], (1, 0, 0, vec![], serde_json::json!({"low_confidence": 1})));
}
