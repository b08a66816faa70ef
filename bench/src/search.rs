//! Search over a large history (`BENCH_ONLY=search`).
//!
//! Bulk-loads `BENCH_SEARCH_SESSIONS` (default 1,000,000) resolved sessions
//! with ten messages each (10,000,000 by default) into one busy account,
//! plus a second account with the same words, with plain SQL as a bulk
//! import would (the full-text index built once, after the rows). Then
//! times `GET /api/v1/search` through the real server, one reader at a time
//! (so the latency is the request's own, not queueing), as an admin (the
//! whole account) and as an agent (the types they serve), for the shapes
//! people search with: a rare token (an order number, ~10 messages), two
//! ordinary words together, one common word (~40,000 messages), and a
//! customer's name. Beside each, its raw limit in the same run: the same
//! domain query without HTTP, and the plan, which must use the index.
//!
//! Every answer is checked: results were found, and none belongs to the
//! other account.

use std::time::Instant;

use domain::{
    actor::{Actor, AgentActor},
    search::{self, SearchQuery},
    types::*,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Error, Stats};

/// Reads per figure: 100, or as many as 20 s allow (at least 10), so a slow
/// shape reports its slowness without taking the run's whole time.
const READS: usize = 100;
const MIN_READS: usize = 10;
const BUDGET: std::time::Duration = std::time::Duration::from_secs(20);
const WARM: usize = 5;

fn more(done: usize, started: Instant) -> bool {
    done < READS && (done < MIN_READS || started.elapsed() < BUDGET)
}
/// Ordinary words: each message has four of them, so one word is in about
/// 4 / VOCABULARY of all messages.
const VOCABULARY: i64 = 1_000;

// Runtime SQL throughout this file, like the other bench fixtures: DDL, a
// temporary table the macros cannot see, and bench/ is to become an outside
// client that links no crate of the workspace (issue 14), so no `.sqlx`.
pub async fn run(pool: &PgPool) -> Result<(), Error> {
    let n = crate::env_count("BENCH_SEARCH_SESSIONS", 1_000_000);
    let t = Instant::now();
    let busy = load(pool, "busy", n).await?;
    // A second account with the same words: never found by the first's readers.
    load(pool, "other", (n / 10).max(1)).await?;
    let t_load = t.elapsed();
    let t = Instant::now();
    sqlx::query("CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', body))")
        .execute(pool)
        .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(pool).await?;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(pool).await?;
    println!(
        "loaded {sessions} sessions and {messages} messages in {:.0} s; full-text index built in {:.0} s",
        t_load.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );

    let admin = person(pool, busy, "admin", Role::Admin, None).await?;
    let a_type: SupportTypeId =
        sqlx::query_scalar("SELECT id FROM support_types WHERE account_id = $1 ORDER BY slug LIMIT 1")
            .bind(busy)
            .fetch_one(pool)
            .await?;
    let agent = person(pool, busy, "agent", Role::Agent, Some(a_type)).await?;

    let server = crate::Server::start(pool, "search", &[]).await?;
    let http = reqwest::Client::new();

    println!("| scenario | count | throughput | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|---|");
    // The rare token: the order number of one session in the middle of the
    // year, of the agent's type (the first by slug: every fourth session);
    // two words together: the first two of that session's first message.
    // (+4: a multiple of 1,000 would make both words word0.)
    let middle = n / 8 * 4 + 4;
    let order = format!("{}", middle * 7_919 % 1_000_000);
    let pair = format!("word{} word{}", middle * 31 % VOCABULARY, middle * 17 % VOCABULARY);
    let shapes: Vec<(&str, String)> = vec![
        ("a rare token (an order number)", order),
        ("two ordinary words together", pair),
        ("one common word", "word17".to_owned()),
        ("a customer's name", "Customer 4242".to_owned()),
    ];
    for (who, reader) in [("admin", &admin), ("agent", &agent)] {
        for (shape, q) in &shapes {
            let query = SearchQuery { q: q.clone(), status: None, support_type_id: None, tag: None };
            // Through the product: HTTP, the cookie, the scope, JSON.
            let mut latencies = Vec::with_capacity(READS);
            let mut started = Instant::now();
            let mut i: usize = 0;
            while more(i.saturating_sub(WARM), started) {
                i += 1;
                if i == WARM + 1 {
                    started = Instant::now();
                }
                let t = Instant::now();
                let response = http
                    .get(format!("{}/api/v1/search", server.base))
                    .query(&[("q", q.as_str()), ("limit", "25")])
                    .header(reqwest::header::COOKIE, format!("sb_session={}", reader.token))
                    .send()
                    .await?;
                let status = response.status();
                let page: serde_json::Value = response.json().await?;
                if i > WARM {
                    latencies.push(t.elapsed());
                }
                if !status.is_success() {
                    return Err(format!("search {q:?} as {who}: {status} {page}").into());
                }
                let items = page["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    return Err(
                        format!("search {q:?} as {who} found nothing: it would measure nothing").into()
                    );
                }
                let types = reader.types.clone();
                if let Some(stray) = items.iter().find(|h| {
                    !types.iter().any(|t| h["support_type_id"].as_str() == Some(t.to_string().as_str()))
                }) {
                    return Err(
                        format!("search {q:?} as {who} returned a session out of scope: {stray}").into()
                    );
                }
            }
            Stats::from_latencies(latencies, started.elapsed())
                .print(&format!("search as {who}: {shape}, HTTP"));
            // Raw limit: the same query in-process.
            let mut latencies = Vec::with_capacity(READS);
            let started = Instant::now();
            while more(latencies.len(), started) {
                let t = Instant::now();
                let page = search::search(pool, &reader.actor, query.clone(), None, Some(25)).await?;
                latencies.push(t.elapsed());
                assert!(!page.items.is_empty());
            }
            Stats::from_latencies(latencies, started.elapsed())
                .print(&format!("raw limit: the same query without HTTP ({who}: {shape})"));
            let indexes = plan_indexes(pool, &reader.actor, &query).await?;
            println!("| plan ({who}: {shape}): {indexes} | - | - | - | - | - |");
            if !q.starts_with("Customer") && !indexes.contains("messages_search") {
                return Err(format!("{shape}: the plan does not use the full-text index: {indexes}").into());
            }
        }
    }
    server.stop().await;
    Ok(())
}

/// A signed-in reader of the busy account.
struct Reader {
    actor: Actor,
    token: String,
    /// The support types whose sessions they may find.
    types: Vec<SupportTypeId>,
}

async fn person(
    pool: &PgPool,
    account: Uuid,
    name: &str,
    role: Role,
    serves: Option<SupportTypeId>,
) -> Result<Reader, Error> {
    let email = format!("{name}@search.test");
    let password = "bench password 1".to_owned();
    let created = domain::agents::create(
        pool,
        &Actor::System,
        domain::agents::NewAgent {
            account_id: Some(AccountId(account)),
            email: email.clone(),
            display_name: name.to_owned(),
            role,
            max_concurrent: None,
            password: Some(password.clone()),
        },
    )
    .await?;
    if let Some(t) = serves {
        sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)")
            .bind(created.id)
            .bind(t)
            .execute(pool)
            .await?;
    }
    let login = domain::auth::login(
        pool,
        domain::auth::LoginInput { email, password, ip: None, user_agent: None, replace_session: None },
    )
    .await?;
    let types: Vec<SupportTypeId> = match serves {
        Some(t) => vec![t],
        None => {
            sqlx::query_scalar("SELECT id FROM support_types WHERE account_id = $1")
                .bind(account)
                .fetch_all(pool)
                .await?
        }
    };
    let actor = Actor::Agent(AgentActor { id: created.id, account_id: Some(AccountId(account)), role });
    Ok(Reader { actor, token: login.token, types })
}

/// The indexes the search's plan reads, in plan order.
async fn plan_indexes(pool: &PgPool, actor: &Actor, query: &SearchQuery) -> Result<String, Error> {
    let mut conn = pool.acquire().await?;
    let scope = domain::scope::Scope::of(&mut conn, actor).await?;
    let mut q = sqlx::QueryBuilder::new("EXPLAIN (FORMAT TEXT) ");
    search::sql::push_query(&mut q, &scope, &query.clone().checked()?, None, 25);
    let lines: Vec<String> = q.build_query_scalar().fetch_all(&mut *conn).await?;
    let mut seen: Vec<String> = Vec::new();
    for line in &lines {
        // "Index Scan using <index> on <table>", "Bitmap Index Scan on <index>".
        let index = match (line.contains("Index"), line.find(" using "), line.find(" on ")) {
            (false, _, _) => None,
            (true, Some(i), _) => Some(&line[i + 7..]),
            (true, None, Some(i)) => Some(&line[i + 4..]),
            (true, None, None) => None,
        };
        if let Some(name) = index.and_then(|rest| rest.split_whitespace().next())
            && !seen.iter().any(|s| s == name)
        {
            seen.push(name.to_owned());
        }
        if line.contains("Seq Scan on sessions") || line.contains("Seq Scan on messages") {
            return Err(format!("the search scans a whole table: {}", lines.join("\n")).into());
        }
    }
    Ok(seen.join(", "))
}

/// One account's history, bulk-loaded; returns the account. The full-text
/// index is dropped first (the caller builds it once, after every row).
async fn load(pool: &PgPool, slug: &str, n: i64) -> Result<Uuid, Error> {
    sqlx::query("DROP INDEX IF EXISTS messages_search").execute(pool).await?;
    let account: Uuid = sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ($1, $1) RETURNING id")
        .bind(slug)
        .fetch_one(pool)
        .await?;
    let mut tx = pool.begin().await?;
    // Runtime SQL throughout: a bench's fixture, like the seed's bulk load.
    for sql in [
        "INSERT INTO support_types (account_id, slug, name)
         SELECT $1, $2 || '-' || g, 'Type ' || g FROM generate_series(1, 4) g",
        "INSERT INTO agents (account_id, email, display_name, role, max_concurrent)
         SELECT $1, 'a' || g || '@' || $2 || '.test', 'Agent ' || g, 'agent', 10 FROM generate_series(1, 50) g",
        "INSERT INTO customers (account_id, name, email)
         SELECT $1, 'Customer ' || g, 'c' || g || '@' || $2 || '.test' FROM generate_series(1, 100000) g",
    ] {
        execute(&mut tx, sql, account, slug).await?;
    }
    // Runtime SQL: the temporary table is invisible to compile-time checks.
    sqlx::query(
        "CREATE TEMP TABLE gen ON COMMIT DROP AS
         SELECT g AS i, gen_random_uuid() AS id,
                t.ids[1 + g % array_length(t.ids, 1)] AS type_id,
                c.ids[1 + (g * 7) % array_length(c.ids, 1)] AS customer_id,
                a.ids[1 + (g / 7) % array_length(a.ids, 1)] AS agent_id,
                now() - interval '365 days' + (g::float8 / $2) * interval '365 days' AS created_at
           FROM generate_series(1, $2::bigint) g,
                (SELECT array_agg(id ORDER BY slug) ids FROM support_types WHERE account_id = $1) t,
                (SELECT array_agg(id ORDER BY id) ids FROM customers WHERE account_id = $1) c,
                (SELECT array_agg(id ORDER BY id) ids FROM agents WHERE account_id = $1) a",
    )
    .bind(account)
    .bind(n)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "INSERT INTO sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at,
                               assigned_at, first_response_at, resolved_at, resolved_by_id)
         SELECT id, $1, type_id, customer_id, 'resolved', created_at, created_at, created_at + interval '1 minute',
                created_at + interval '2 minutes', created_at + interval '10 minutes', agent_id
           FROM gen",
        // Ten messages a session, alternating customer and agent: four
        // ordinary words (word0 … word999) and an order number that about
        // ten messages share.
        "INSERT INTO messages (session_id, sender_kind, sender_agent_id, body, created_at)
         SELECT g.id, CASE WHEN k % 2 = 0 THEN 'customer' ELSE 'agent' END,
                CASE WHEN k % 2 = 0 THEN NULL ELSE g.agent_id END,
                'Hello, about word' || (g.i * 31 + k * 7) % $2 || ' and word' || (g.i * 17 + k * 13) % $2
                  || ': word' || (g.i * 7 + k * 3) % $2 || ' word' || (g.i + k * 101) % $2
                  || ', order ' || ((g.i * 10 + k) / 10) * 7919 % 1000000,
                g.created_at + k * interval '30 seconds'
           FROM gen g, generate_series(0, 9) k",
    ] {
        execute(&mut tx, sql, account, VOCABULARY).await?;
    }
    tx.commit().await?;
    Ok(account)
}

/// One fixture statement with its two parameters; an error names it.
async fn execute<T>(tx: &mut sqlx::PgConnection, sql: &str, account: Uuid, second: T) -> Result<(), Error>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    sqlx::query(sql)
        .bind(account)
        .bind(second)
        .execute(tx)
        .await
        .map(drop)
        .map_err(|e| Error::from(format!("{e}: {sql}")))
}
