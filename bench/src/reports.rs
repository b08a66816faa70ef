//! Reports over a busy account's 90 days (`BENCH_ONLY=reports`).
//!
//! Loads `BENCH_REPORT_SESSIONS` (default 1,000,000) resolved sessions in one
//! account with plain SQL, as a bulk import would: 28 support types with 3
//! reasons each, 50 agents, an assignment, a first reply, a CSAT for every
//! third session and a tag on every tenth. Then:
//! - rebuilds the report facts and rollups from scratch (sessions/s), beside
//!   its raw limit: computing the same facts without writing anything;
//! - reads reports sequentially (one reader, so the latency is the query's
//!   own, not queueing) for the shapes the page asks, each beside the raw
//!   limit of a bare `sum()` over the same rollup rows.
//!
//! Like the other in-process scenarios it links `domain` (issue 14 moves the
//! benches behind HTTP).

use std::time::Instant;

use domain::{
    actor::{Actor, AgentActor},
    reports::{self, Count, DrillDown, Grouping, ReportFilter, facts},
    types::*,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Error, Stats};

const TYPES: i64 = 28;
const AGENTS: i64 = 50;
const READS: usize = 100;

pub async fn run(pool: &PgPool) -> Result<(), Error> {
    let n = crate::env_count("BENCH_REPORT_SESSIONS", 1_000_000);
    let t = Instant::now();
    let (account, admin, a_type, an_agent, tag) = load(pool, n).await?;
    println!(
        "loaded {n} sessions (with assignments, replies, CSAT, tags) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    println!("| scenario | count | throughput | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|---|");

    // The raw limit of a rebuild: the same facts computed, nothing written.
    let ids: Vec<SessionId> =
        sqlx::query_scalar("SELECT id FROM sessions ORDER BY id").fetch_all(pool).await?;
    let sample = &ids[..ids.len().min(50_000)];
    let t = Instant::now();
    for chunk in sample.chunks(500) {
        let mut conn = pool.acquire().await?;
        facts::compute(&mut conn, chunk).await?;
    }
    let raw = sample.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "| raw limit: compute facts, no writes ({} sessions) | {} | {raw:.0}/s | - | - | - |",
        sample.len(),
        sample.len()
    );
    let t = Instant::now();
    let done = facts::rebuild(pool, None, |_, _| {}).await?;
    let rate = done as f64 / t.elapsed().as_secs_f64();
    println!(
        "| `switchboard rollups rebuild` (facts + rollups, from scratch) | {done} | {rate:.0}/s ({:.2}× raw) | - | - | - |",
        rate / raw
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM report_rollups").fetch_one(pool).await?;
    println!("| rollup rows written | {rows} | - | - | - | - |");

    let today = chrono::Utc::now().date_naive();
    let base = ReportFilter::last_days(today, 90);
    let shapes: Vec<(&str, ReportFilter)> = vec![
        ("report: 90 days by day, whole account (rollups)", base.clone()),
        (
            "report: 90 days by week, one support type (rollups)",
            ReportFilter { group: Grouping::Week, support_type_id: Some(a_type), ..base.clone() },
        ),
        (
            "report: 90 days by day, one agent (rollups)",
            ReportFilter { agent_id: Some(an_agent), ..base.clone() },
        ),
        (
            "report: 7 days by day, one tag (facts)",
            ReportFilter { tag_id: Some(tag), ..ReportFilter::last_days(today, 7) },
        ),
        (
            "report: yesterday by hour (facts)",
            ReportFilter {
                group: Grouping::Hour,
                ..ReportFilter::last_days(today - chrono::Duration::days(1), 1)
            },
        ),
    ];
    for (name, filter) in shapes {
        let mut latencies = Vec::with_capacity(READS);
        let started = Instant::now();
        for _ in 0..READS {
            let t = Instant::now();
            let r = reports::report(pool, &admin, filter.clone()).await?;
            latencies.push(t.elapsed());
            assert!(r.totals.opened > 0 || r.totals.resolved > 0, "{name}: an empty report measures nothing");
        }
        Stats::from_latencies(latencies, started.elapsed()).print(name);
    }
    // The raw limit: the account level's rows of the 90 days, read and
    // nothing done with them.
    let mut latencies = Vec::with_capacity(READS);
    let started = Instant::now();
    for _ in 0..READS {
        let t = Instant::now();
        let rows = sqlx::query!(
            "SELECT metric, n, total, lo, counts, parts FROM report_rollups
              WHERE account_id = $1 AND support_type_id = $2 AND agent_id = $2 AND grain = 'd' AND day >= $3",
            account,
            Uuid::nil(),
            base.from
        )
        .fetch_all(pool)
        .await?;
        assert!(!rows.is_empty(), "the raw limit read no rollup rows");
        latencies.push(t.elapsed());
    }
    Stats::from_latencies(latencies, started.elapsed())
        .print("raw limit: the account level's rows of 90 days, read");

    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let d = DrillDown {
        count: Count::Resolved,
        start: yesterday - chrono::Duration::hours(12),
        end: yesterday + chrono::Duration::hours(12),
        account_id: None,
        support_type_id: None,
        agent_id: None,
        tag_id: None,
        reason_id: None,
    };
    let mut latencies = Vec::with_capacity(READS);
    let started = Instant::now();
    for _ in 0..READS {
        let t = Instant::now();
        let page = reports::sessions_behind(pool, &admin, &d, None, Some(50)).await?;
        latencies.push(t.elapsed());
        assert_eq!(page.items.len(), 50);
    }
    Stats::from_latencies(latencies, started.elapsed())
        .print("drill-down: the first 50 sessions behind a day's bar");
    Ok(())
}

/// The data set, bulk-loaded; returns the account, its admin, a type, an
/// agent and the tag.
async fn load(pool: &PgPool, n: i64) -> Result<(Uuid, Actor, SupportTypeId, AgentId, TagId), Error> {
    let account: Uuid =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('busy', 'Busy') RETURNING id")
            .fetch_one(pool)
            .await?;
    let admin: Uuid = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, 'boss@busy.test', 'Boss', 'admin')
         RETURNING id",
    )
    .bind(account)
    .fetch_one(pool)
    .await?;
    let mut tx = pool.begin().await?;
    // Runtime SQL throughout: a bench's fixture, like the seed's bulk load.
    sqlx::query(
        "INSERT INTO support_types (account_id, slug, name, queue_sla_secs, first_response_sla_secs)
         SELECT $1, 'busy-' || g, 'Type ' || g, 300, 120 FROM generate_series(1, $2) g",
    )
    .bind(account)
    .bind(TYPES)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO agents (account_id, email, display_name, role, max_concurrent)
         SELECT $1, 'a' || g || '@busy.test', 'Agent ' || g, 'agent', 10 FROM generate_series(1, $2) g",
    )
    .bind(account)
    .bind(AGENTS)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "INSERT INTO resolution_reasons (support_type_id, label, position)
         SELECT t.id, r.label, r.p FROM support_types t,
                (VALUES ('Solved', 1), ('Explained', 2), ('Duplicate', 3)) r(label, p) WHERE t.account_id = $1",
        "INSERT INTO customers (account_id, name) SELECT $1, 'Customer ' || g FROM generate_series(1, 20000) g",
        "INSERT INTO tags (account_id, name) VALUES ($1, 'vip')",
    ] {
        sqlx::query(sql).bind(account).execute(&mut *tx).await.map_err(|e| Error::from(format!("{e}: {sql}")))?;
    }
    // Runtime SQL: the temporary table is invisible to compile-time checks.
    sqlx::query(
        "CREATE TEMP TABLE gen ON COMMIT DROP AS
         SELECT g AS i, gen_random_uuid() AS id,
                t.ids[1 + g % array_length(t.ids, 1)] AS type_id,
                c.ids[1 + g % array_length(c.ids, 1)] AS customer_id,
                a.ids[1 + (g / 7) % array_length(a.ids, 1)] AS agent_id,
                now() - interval '90 days' + (g::float8 / $2) * interval '90 days' AS created_at,
                ((g * 7919) % 600) * interval '1 second' AS wait,
                ((g * 104729) % 300 + 5) * interval '1 second' AS frt,
                ((g * 31) % 3600 + 400) * interval '1 second' AS handle
           FROM generate_series(1, $2::bigint) g,
                (SELECT array_agg(id ORDER BY id) ids FROM support_types WHERE account_id = $1) t,
                (SELECT array_agg(id ORDER BY id) ids FROM customers WHERE account_id = $1) c,
                (SELECT array_agg(id ORDER BY id) ids FROM agents WHERE account_id = $1 AND role = 'agent') a",
    )
    .bind(account)
    .bind(n)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "INSERT INTO sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at,
                               assigned_at, first_response_at, resolved_at, resolved_by_id, resolution_reason_id)
         SELECT g.id, $1, g.type_id, g.customer_id, 'resolved', g.created_at, g.created_at, g.created_at + g.wait,
                g.created_at + g.wait + g.frt, g.created_at + g.wait + g.handle, g.agent_id, r.ids[1 + g.i % 3]
           FROM gen g
           JOIN (SELECT support_type_id, array_agg(id ORDER BY position) ids FROM resolution_reasons
                  GROUP BY support_type_id) r ON r.support_type_id = g.type_id",
        "INSERT INTO assignments (session_id, agent_id, reason, started_at, responded_at, ended_at, end_reason)
         SELECT id, agent_id, 'auto', created_at + wait, created_at + wait + frt, created_at + wait + handle,
                'resolved' FROM gen",
        "INSERT INTO messages (session_id, sender_kind, sender_agent_id, body, created_at)
         SELECT id, 'agent', agent_id, 'Hello, how can I help?', created_at + wait + frt FROM gen",
        "INSERT INTO csat (session_id, score, created_at)
         SELECT id, 1 + i % 5, created_at + wait + handle FROM gen WHERE i % 3 = 0",
        "INSERT INTO session_tags (session_id, tag_id, source)
         SELECT g.id, t.id, 'rule' FROM gen g, tags t WHERE t.account_id = $1 AND g.i % 10 = 0",
    ] {
        sqlx::query(sql).bind(account).execute(&mut *tx).await.map_err(|e| Error::from(format!("{e}: {sql}")))?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    let a_type: SupportTypeId =
        sqlx::query_scalar("SELECT id FROM support_types WHERE account_id = $1 ORDER BY id LIMIT 1")
            .bind(account)
            .fetch_one(pool)
            .await?;
    let an_agent: AgentId = sqlx::query_scalar(
        "SELECT id FROM agents WHERE account_id = $1 AND role = 'agent' ORDER BY id LIMIT 1",
    )
    .bind(account)
    .fetch_one(pool)
    .await?;
    let tag: TagId =
        sqlx::query_scalar("SELECT id FROM tags WHERE account_id = $1").bind(account).fetch_one(pool).await?;
    let actor = Actor::Agent(AgentActor {
        id: AgentId(admin),
        account_id: Some(AccountId(account)),
        role: Role::Admin,
    });
    Ok((account, actor, a_type, an_agent, tag))
}
