//! Scenario 5: large data, the legacy platform's "missing index" lesson (its
//! AI agents made 6× the threads of its people, and a query met an index
//! nobody had needed).
//!
//! 1. Setup as an operator would: support types, people and bots over the
//!    API; then history bulk-loaded with `COPY … FROM STDIN` through `psql`
//!    (customers, resolved sessions with their assignment, ten messages
//!    each), bots owning 6× the sessions of people. The question and answer
//!    pairs of people's sessions are taken into the past answers with one
//!    SQL statement (the automated chat consumer does it per resolve, which
//!    a bulk load skips), and `switchboard rollups rebuild` computes the
//!    report rollups, as after an import.
//! 2. Live state through the product: chats opened over the customer
//!    endpoint, some taken by the online people, some waiting in a type
//!    nobody serves.
//! 3. Every hot query, over HTTP, one request at a time (so the latency is
//!    the query's own, not queueing): p50, p99, max. Its plan is read from
//!    outside too: PostgreSQL's own counters (`pg_stat_user_tables`,
//!    `pg_stat_user_indexes`) before and after each query's requests name
//!    the indexes it read and any sequential scan of a large table.
//!
//! Raw limits in the same run: the server's cheapest request (`/healthz`),
//! one at a time, is the floor under every query's latency; the load stands
//! beside `COPY` of the same message rows into a table with no index,
//! constraint or trigger.

use std::{
    collections::HashMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::{
    Row,
    common::{self, Api, Error, id, percentiles},
};

/// Ordinary words: each message has four of them, so one word is in about
/// 4 / VOCABULARY of all messages.
const VOCABULARY: usize = 1_000;
const MESSAGES_PER_SESSION: usize = 10;
const PEOPLE: usize = 50;
const BOTS: usize = 2;
/// Tables this large must never be read whole by a hot query.
const LARGE_TABLE: i64 = 10_000;
/// PostgreSQL publishes an idle backend's table and index counters at
/// most 10 s after its last statement (`PGSTAT_IDLE_INTERVAL`).
const STATS_SETTLE: Duration = Duration::from_millis(10_500);

/// What scenario 5 needs beside the API.
pub struct Setup<'a> {
    pub api: &'a Api,
    pub admin: &'a str,
    pub account: &'a str,
    pub account_slug: &'a str,
    /// The product's database, for `psql` (the load and the counters).
    pub database: &'a str,
    /// The `switchboard` CLI of the release build.
    pub cli: &'a str,
    pub sessions: usize,
    pub quick: bool,
}

/// A session's id, known before it is loaded.
fn session_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

fn customer_id(c: usize) -> String {
    format!("00000000-0000-4000-9000-{c:012x}")
}

/// The order number that session `i`'s messages mention: rare, one session.
fn order_of(i: usize) -> usize {
    i * 7_919 % 1_000_000
}

/// A message's text (no `"`: the CSV quotes it as it is).
fn body(i: usize, k: usize) -> String {
    let w = VOCABULARY;
    format!(
        "Hello, about word{} and word{}: word{} word{}, order {}",
        (i * 31 + k * 7) % w,
        (i * 17 + k * 13) % w,
        (i * 7 + k * 3) % w,
        (i + k * 101) % w,
        order_of(i)
    )
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string()
}

/// Runs `sql` with `psql`; its unaligned output.
async fn psql(db: &str, sql: &str) -> Result<String, Error> {
    let out = tokio::process::Command::new("psql")
        .args(["-AtqX", "-v", "ON_ERROR_STOP=1", "-F", "\t", db, "-c", sql])
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!("psql: {}: {sql}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `COPY target FROM STDIN` of `count` CSV rows that `row(i, buf)` writes,
/// streamed through `psql`; how long it took.
async fn copy(
    db: &str,
    target: &str,
    count: usize,
    mut row: impl FnMut(usize, &mut String),
) -> Result<Duration, Error> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new("psql")
        .args(["-qX", "-v", "ON_ERROR_STOP=1", db])
        .args(["-c", "SET synchronous_commit = off"])
        .args(["-c", &format!("COPY {target} FROM STDIN (FORMAT csv)")])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("psql has no stdin")?;
    let mut buf = String::with_capacity(1 << 22);
    for i in 0..count {
        row(i, &mut buf);
        if buf.len() > (1 << 22) - 1024 {
            stdin.write_all(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    stdin.write_all(buf.as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        return Err(format!("COPY {target}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(started.elapsed())
}

/// The table and index counters of the product's database.
#[derive(Default)]
struct Counters {
    /// Table → (rows, sequential scans).
    tables: HashMap<String, (i64, i64)>,
    /// Index → (its table's rows, scans).
    indexes: HashMap<String, (i64, i64)>,
}

impl Counters {
    async fn read(db: &str) -> Result<Self, Error> {
        let text = psql(
            db,
            "SELECT 't', relname, n_live_tup, seq_scan FROM pg_stat_user_tables
             UNION ALL SELECT 'i', i.indexrelname, t.n_live_tup, i.idx_scan
               FROM pg_stat_user_indexes i JOIN pg_stat_user_tables t USING (relid)",
        )
        .await?;
        let mut c = Self::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let [kind, name, rows, scans] = f[..] else { continue };
            let (rows, scans) = (rows.parse().unwrap_or(0), scans.parse().unwrap_or(0));
            if kind == "t" {
                c.tables.insert(name.to_owned(), (rows, scans));
            } else {
                c.indexes.insert(name.to_owned(), (rows, scans));
            }
        }
        Ok(c)
    }

    /// Waits until the server's backends have published their counters.
    async fn settled(db: &str) -> Result<Self, Error> {
        tokio::time::sleep(STATS_SETTLE).await;
        Self::read(db).await
    }

    /// What happened between `self` and `later`, for `requests` requests:
    /// the indexes of large tables read at least once per request (the
    /// background's own reads are fewer), and the large tables read whole.
    fn plan(&self, later: &Self, requests: usize) -> Plan {
        let mut indexes: Vec<(String, i64)> = later
            .indexes
            .iter()
            .filter(|(_, (rows, _))| *rows >= LARGE_TABLE)
            .map(|(name, (_, n))| (name.clone(), n - self.indexes.get(name).map_or(0, |i| i.1)))
            .filter(|(_, d)| *d >= requests as i64)
            .collect();
        indexes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seq_scans: Vec<(String, i64)> = later
            .tables
            .iter()
            .filter(|(_, (rows, _))| *rows >= LARGE_TABLE)
            .map(|(name, (_, n))| (name.clone(), n - self.tables.get(name).map_or(0, |t| t.1)))
            .filter(|(_, d)| *d > 0)
            .collect();
        seq_scans.sort();
        Plan { indexes, seq_scans }
    }
}

struct Plan {
    indexes: Vec<(String, i64)>,
    seq_scans: Vec<(String, i64)>,
}

impl Plan {
    fn describe(&self) -> String {
        let per =
            |v: &[(String, i64)]| v.iter().map(|(n, d)| format!("{n} ×{d}")).collect::<Vec<_>>().join(", ");
        let indexes = if self.indexes.is_empty() { "none".to_owned() } else { per(&self.indexes) };
        let indexes = format!("indexes of large tables read: {indexes}");
        let seq = if self.seq_scans.is_empty() {
            "no sequential scan of a large table".to_owned()
        } else {
            format!("**sequential scans: {}**", per(&self.seq_scans))
        };
        format!("{indexes}; {seq}")
    }

    fn json(&self) -> Value {
        json!({ "indexes": self.indexes.iter().map(|(n, d)| json!({ "index": n, "scans": d })).collect::<Vec<_>>(),
                "sequential_scans": self.seq_scans.iter().map(|(n, d)| json!({ "table": n, "scans": d })).collect::<Vec<_>>() })
    }
}

/// The `r`-th request of a query.
type Request = Box<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>;
/// Checks an answer, so that a query that finds nothing cannot pass as fast.
type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// One hot query: a name, its goal in ms, and how to ask it once.
struct Query {
    name: String,
    goal_ms: f64,
    request: Request,
    check: Check,
}

/// `n` reads of `query` one after another (after 5 unmeasured), or as many
/// as `budget` allows (at least 10).
async fn time(query: &Query, reads: usize, budget: Duration) -> Result<Vec<Duration>, Error> {
    let mut latencies = Vec::with_capacity(reads);
    let mut started = Instant::now();
    let mut i = 0;
    loop {
        if i == 5 {
            started = Instant::now();
        }
        if i >= 5 && (latencies.len() >= reads || (latencies.len() >= 10 && started.elapsed() > budget)) {
            break;
        }
        let t = Instant::now();
        let res = (query.request)(i).send().await?;
        let status = res.status();
        let text = res.text().await?;
        let took = t.elapsed();
        if !status.is_success() {
            return Err(format!("{}: {status}: {text}", query.name).into());
        }
        let v: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? };
        (query.check)(&v).map_err(|e| format!("{}: {e}", query.name))?;
        if i >= 5 {
            latencies.push(took);
        }
        i += 1;
    }
    Ok(latencies)
}

fn items(v: &Value) -> &[Value] {
    v["items"].as_array().map_or(&[], Vec::as_slice)
}

fn nonempty(v: &Value) -> Result<(), String> {
    if items(v).is_empty() {
        Err("the answer lists nothing: it would measure nothing".into())
    } else {
        Ok(())
    }
}

pub async fn large(s: Setup<'_>) -> Result<Vec<Row>, Error> {
    let Setup { api, admin, account, account_slug, database: db, cli, sessions: n, quick } = s;
    let customers = (n / 10).max(100);
    let base = api.base.clone();

    // Types, people (online, serving the first three types) and bots.
    let mut types = Vec::new();
    for i in 0..4 {
        types.push(common::support_type(api, admin, account, &format!("large-{i}")).await?);
    }
    let mut people = Vec::new();
    let mut tokens = HashMap::new();
    for p in 0..PEOPLE {
        let (agent, token) = common::agent(api, admin, account, 100_000 + p, 3, &types[..3], None).await?;
        tokens.insert(agent.clone(), token);
        people.push(agent);
    }
    let mut bots = Vec::new();
    for b in 0..BOTS {
        bots.push(id(&api
            .post(
                admin,
                "/agents",
                json!({ "account_id": account, "email": format!("bot{b}@large.test"),
                        "display_name": format!("Bot {b}"), "role": "bot", "max_concurrent": 1000 }),
            )
            .await?)?);
    }

    // The history: session i is of type i % 4, of customer i·7 mod C; one in
    // seven is a person's, the others a bot's (6× as many).
    let year_ago = Utc::now() - chrono::Duration::days(365);
    let created = |i: usize| {
        year_ago + chrono::Duration::milliseconds((i as f64 / n as f64 * 364.0 * 86_400_000.0) as i64)
    };
    let owner = |i: usize| {
        if i.is_multiple_of(7) { (&people[(i / 7) % PEOPLE], false) } else { (&bots[i % BOTS], true) }
    };
    let load = Instant::now();
    let t_customers = copy(db, "customers (id, account_id, name, email)", customers, |c, buf| {
        let _ = writeln!(buf, "{},{account},Customer {c},c{c}@large.test", customer_id(c));
    })
    .await?;
    let t_sessions = copy(
        db,
        "sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at, assigned_at, \
         first_response_at, resolved_at, resolved_by_id, updated_at)",
        n,
        |i, buf| {
            let t = created(i);
            let (agent, _) = owner(i);
            let done = stamp(t + chrono::Duration::minutes(10));
            let _ = writeln!(
                buf,
                "{},{account},{},{},resolved,{},{},{},{},{done},{agent},{done}",
                session_id(i),
                types[i % 4],
                customer_id(i * 7 % customers),
                stamp(t),
                stamp(t),
                stamp(t + chrono::Duration::minutes(1)),
                stamp(t + chrono::Duration::minutes(2)),
            );
        },
    )
    .await?;
    let t_assignments = copy(
        db,
        "assignments (session_id, agent_id, reason, started_at, responded_at, ended_at, end_reason)",
        n,
        |i, buf| {
            let t = created(i);
            let (agent, _) = owner(i);
            let _ = writeln!(
                buf,
                "{},{agent},auto,{},{},{},resolved",
                session_id(i),
                stamp(t + chrono::Duration::minutes(1)),
                stamp(t + chrono::Duration::minutes(2)),
                stamp(t + chrono::Duration::minutes(10)),
            );
        },
    )
    .await?;
    let messages = n * MESSAGES_PER_SESSION;
    let message_row = |m: usize, buf: &mut String| {
        let (i, k) = (m / MESSAGES_PER_SESSION, m % MESSAGES_PER_SESSION);
        let (agent, bot) = owner(i);
        let at = stamp(created(i) + chrono::Duration::seconds(30 * k as i64));
        let _ = if k.is_multiple_of(2) {
            writeln!(buf, "{},customer,,\"{}\",{at}", session_id(i), body(i, k))
        } else {
            writeln!(
                buf,
                "{},{},{agent},\"{}\",{at}",
                session_id(i),
                if bot { "bot" } else { "agent" },
                body(i, k)
            )
        };
    };
    let t_messages = copy(
        db,
        "messages (session_id, sender_kind, sender_agent_id, body, created_at)",
        messages,
        message_row,
    )
    .await?;
    // People's replies teach suggestions: each agent message with the
    // customer's message just before it (the pairs the consumer harvests).
    let t = Instant::now();
    psql(
        db,
        "INSERT INTO past_answers (account_id, support_type_id, session_id, question_message_id,
                                   answer_message_id, language, question, answer)
         SELECT s.account_id, s.support_type_id, s.id, q.id, m.id, t.language, q.body, m.body
           FROM messages m
           JOIN messages q ON q.id = m.id - 1 AND q.session_id = m.session_id AND q.sender_kind = 'customer'
           JOIN sessions s ON s.id = m.session_id
           JOIN support_types t ON t.id = s.support_type_id
          WHERE m.sender_kind = 'agent'",
    )
    .await?;
    psql(db, "ANALYZE").await?;
    let t_harvest = t.elapsed();
    let t = Instant::now();
    let out = tokio::process::Command::new(cli)
        .args(["rollups", "rebuild", "--account", account_slug])
        .stdout(std::process::Stdio::null())
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!("rollups rebuild: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let t_rollups = t.elapsed();
    let loaded = load.elapsed();
    let counts = psql(
        db,
        "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages),
                (SELECT count(*) FROM past_answers), pg_size_pretty(pg_database_size(current_database()))",
    )
    .await?;
    eprintln!(
        "scenario 5 loaded in {:.0} s: sessions, messages, past answers, size: {}",
        loaded.as_secs_f64(),
        counts.trim()
    );

    // The raw limit of the load: the same message rows into a bare table.
    let sample = messages.min(1_000_000);
    psql(
        db,
        "DROP TABLE IF EXISTS bench_bare_messages;
         CREATE UNLOGGED TABLE bench_bare_messages (session_id uuid, sender_kind text, sender_agent_id uuid,
                                                     body text, created_at timestamptz)",
    )
    .await?;
    let t_bare = copy(db, "bench_bare_messages", sample, message_row).await?;
    psql(db, "DROP TABLE bench_bare_messages").await?;
    let bare_rate = sample as f64 / t_bare.as_secs_f64();
    let message_rate = messages as f64 / t_messages.as_secs_f64();

    // The people come (back) online and keep their heartbeat, as their
    // browsers do: the load outlasts the account's presence grace period,
    // and the sweep has set them away.
    for p in &people {
        api.put(&tokens[p], &format!("/agents/{p}/presence"), json!({ "presence": "online" })).await?;
    }
    let heartbeats = tokio::spawn({
        let (api, people, tokens) = (api.clone(), people.clone(), tokens.clone());
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            loop {
                every.tick().await;
                for p in &people {
                    // A missed beat only risks the sweep; the queries report errors.
                    let _ = api.post(&tokens[p], &format!("/agents/{p}/heartbeat"), json!({})).await;
                }
            }
        }
    });

    // Live state: 100 chats taken by the people (two each), 100 waiting in
    // the type nobody serves.
    let live = if quick { 40 } else { 100 };
    let mut active = Vec::new();
    for i in 0..live {
        let (session, _) = common::open_chat(api, "large-0", &body(n / 2 + i, 0)).await?;
        active.push(session);
        common::open_chat(api, "large-3", "Hello, is anybody there?").await?;
    }
    let mut owned: Vec<(String, String)> = Vec::new();
    for session in &active {
        owned.push((session.clone(), common::owner_of(api, admin, session).await?));
    }

    // The hot queries.
    let get = {
        let (http, base) = (api.http.clone(), base.clone());
        move |path: String, token: &str| http.get(format!("{base}/api/v1{path}")).bearer_auth(token)
    };
    let admin_t = admin.to_owned();
    let (inbox_session, inbox_agent) = owned[0].clone();
    let inbox_token = tokens[&inbox_agent].clone();
    let person = people[0].clone();
    let person_token = tokens[&person].clone();
    let today = Utc::now().date_naive();
    let from = today - chrono::Duration::days(89);
    // The rare token: a session of the second type, in the middle of the year.
    let middle = n / 2 - (n / 2) % 4 + 1;
    let order = order_of(middle).to_string();
    let served: Vec<String> = types[..3].to_vec();
    let day = (Utc::now() - chrono::Duration::days(30)).date_naive();
    let drill_start = format!("{day}T00:00:00Z");
    let drill_end = format!("{}T00:00:00Z", day + chrono::Duration::days(1));
    let mut queries: Vec<Query> = Vec::new();
    let mk = |name: &str, goal_ms: f64, request: Request| Query {
        name: name.to_owned(),
        goal_ms,
        request,
        check: Box::new(nonempty),
    };
    queries.push(mk(
        "inbox: an agent's active sessions (`GET /sessions?agent_id=…&status=active`, as the agent)",
        10.0,
        {
            let (get, token, agent) = (get.clone(), inbox_token.clone(), inbox_agent.clone());
            Box::new(move |_| get(format!("/sessions?agent_id={agent}&status=active"), &token))
        },
    ));
    queries.push(mk(
        "queue: the account's waiting chats, in pick order (`GET /sessions?queue=true`, as admin)",
        10.0,
        {
            let (get, token, account) = (get.clone(), admin_t.clone(), account.to_owned());
            Box::new(move |_| get(format!("/sessions?queue=true&account_id={account}&limit=50"), &token))
        },
    ));
    queries.push(mk("history page: 50 messages of a past session (`GET /sessions/{id}/messages`)", 10.0, {
        let (get, token) = (get.clone(), admin_t.clone());
        Box::new(move |r| {
            get(format!("/sessions/{}/messages?limit=50", session_id((r * 104_729) % n)), &token)
        })
    }));
    queries.push(mk(
        "previous sessions: a customer's, newest first (`GET /sessions?customer_id=…`, as an agent)",
        10.0,
        {
            let (get, token) = (get.clone(), person_token.clone());
            Box::new(move |r| {
                // Customers of the agent's types (i ≡ 0..2 mod 4 ⇒ customer i·7 mod C).
                let i = (r * 4 * 997 + 8) % n;
                get(format!("/sessions?customer_id={}&limit=20", customer_id(i * 7 % customers)), &token)
            })
        },
    ));
    for (who, token) in [("admin", admin_t.clone()), ("agent", person_token.clone())] {
        queries.push(mk(&format!("search as {who}: a rare token (an order number)"), 10.0, {
            let (get, token, order) = (get.clone(), token.clone(), order.clone());
            Box::new(move |_| get(format!("/search?q={order}&limit=25"), &token))
        }));
        queries.push(mk(&format!("search as {who}: one common word (~40,000 messages)"), 10.0, {
            let (get, token) = (get.clone(), token.clone());
            Box::new(move |_| get("/search?q=word17&limit=25".to_owned(), &token))
        }));
    }
    queries.push(mk(
        "suggestions: ranked replies for an open chat (`GET /sessions/{id}/suggestions`, as its owner)",
        10.0,
        {
            let (get, token, session) = (get.clone(), inbox_token.clone(), inbox_session.clone());
            Box::new(move |_| get(format!("/sessions/{session}/suggestions"), &token))
        },
    ));
    queries.push(mk("report: 90 days by day, whole account (`GET /reports`)", 200.0, {
        let (get, token, account) = (get.clone(), admin_t.clone(), account.to_owned());
        Box::new(move |_| {
            get(format!("/reports?account_id={account}&from={from}&to={today}&group=day"), &token)
        })
    }));
    queries.push(mk("report: 90 days by day, one bot (its 6× sessions)", 200.0, {
        let (get, token, account, bot) = (get.clone(), admin_t.clone(), account.to_owned(), bots[0].clone());
        Box::new(move |_| {
            get(
                format!("/reports?account_id={account}&agent_id={bot}&from={from}&to={today}&group=day"),
                &token,
            )
        })
    }));
    queries.push(mk("report drill-down: the first sessions behind a day's bar (`GET /reports/sessions`)", 200.0, {
        let (get, token, account) = (get.clone(), admin_t.clone(), account.to_owned());
        Box::new(move |_| {
            get(format!("/reports/sessions?account_id={account}&count=resolved&start={drill_start}&end={drill_end}"), &token)
        })
    }));
    // A report has no `items`: it must have counted resolved sessions.
    for q in queries.iter_mut().filter(|q| q.name.starts_with("report:")) {
        q.check = Box::new(|v| match v["totals"]["resolved"].as_i64() {
            Some(r) if r > 0 => Ok(()),
            _ => Err(format!("the report counted no resolved session: {}", v["totals"])),
        });
    }
    // Search as the agent must stay in the agent's types.
    for q in queries.iter_mut().filter(|q| q.name.starts_with("search as agent")) {
        let served = served.clone();
        q.check = Box::new(move |v| {
            nonempty(v)?;
            match items(v).iter().find(|h| !served.iter().any(|t| h["support_type_id"].as_str() == Some(t))) {
                Some(stray) => Err(format!("a session out of the agent's scope: {stray}")),
                None => Ok(()),
            }
        });
    }

    let (reads, budget) = if quick { (30, Duration::from_secs(5)) } else { (100, Duration::from_secs(20)) };
    // The floor: the cheapest request, one at a time.
    let floor = Query {
        name: "GET /healthz".into(),
        goal_ms: f64::NAN,
        request: Box::new({
            let (http, base) = (api.http.clone(), base.clone());
            move |_| http.get(format!("{base}/healthz"))
        }),
        check: Box::new(|_| Ok(())),
    };
    let (_, floor_p99, _) = percentiles(time(&floor, reads, budget).await?);
    let mut rows = vec![Row {
        scenario: format!(
            "5. large data: load {n} sessions ({}% bots', 6× people's), {messages} messages, {customers} customers with COPY through psql",
            100 * 6 / 7
        ),
        figure: format!(
            "{:.0} s in all: messages {:.0} rows/s ({:.0} s), sessions {:.0} s, assignments {:.0} s, customers {:.0} s, past answers and ANALYZE {:.0} s, `switchboard rollups rebuild` {:.0} s; {}",
            loaded.as_secs_f64(),
            message_rate,
            t_messages.as_secs_f64(),
            t_sessions.as_secs_f64(),
            t_assignments.as_secs_f64(),
            t_customers.as_secs_f64(),
            t_harvest.as_secs_f64(),
            t_rollups.as_secs_f64(),
            counts.trim().replace('\t', " / ")
        ),
        goal: "-",
        raw: format!("COPY of {sample} of the same message rows into a bare table: {bare_rate:.0} rows/s"),
        ratio: format!("{:.2}× raw", message_rate / bare_rate),
        json: json!({ "sessions": n, "messages": messages, "customers": customers, "seconds": loaded.as_secs_f64(),
                      "messages_per_s": message_rate, "bare_messages_per_s": bare_rate,
                      "rollups_rebuild_s": t_rollups.as_secs_f64() }),
    }];

    // Each query, then its counters once they are published.
    let mut before = Counters::settled(db).await?;
    let mut results = Vec::new();
    for q in &queries {
        let latencies = time(q, reads, budget).await?;
        let count = latencies.len() + 5;
        let after = if quick { Counters::read(db).await? } else { Counters::settled(db).await? };
        results.push((
            q,
            percentiles(latencies),
            count,
            if quick { None } else { Some(before.plan(&after, count)) },
        ));
        before = after;
    }
    // The next-agent pick: an open while somebody is free assigns in the
    // open's transaction; the owner resolves at once, freeing the slot.
    let pick = {
        let mut latencies = Vec::new();
        let mut later = 0;
        let rounds = if quick { 30 } else { 100 };
        let start = Counters::read(db).await?;
        for r in 0..rounds {
            let t = Instant::now();
            let (session, _) = common::open_chat(api, "large-1", &body(r, 0)).await?;
            latencies.push(t.elapsed());
            let s = api.call(reqwest::Method::GET, admin, &format!("/sessions/{session}"), None).await?;
            if s["owner_id"].is_null() {
                later += 1;
            }
            let owner = common::owner_of(api, admin, &session).await?;
            api.post(&tokens[&owner], &format!("/sessions/{session}/resolve"), json!({})).await?;
        }
        let plan = if quick { None } else { Some(start.plan(&Counters::settled(db).await?, rounds)) };
        (percentiles(latencies), rounds, later, plan)
    };

    let goal_note = |p99: f64, goal: f64, plan: &Option<Plan>| {
        let indexed = plan.as_ref().map(|p| p.seq_scans.is_empty());
        match (p99 < goal, indexed) {
            (true, Some(true)) => "**goal met**",
            (true, None) => "p99 met (plans not read in --quick)",
            (true, Some(false)) => "p99 met, not index-backed",
            (false, _) => "goal not met",
        }
    };
    for (q, (p50, p99, max), count, plan) in &results {
        rows.push(Row {
            scenario: format!("5. {}", q.name),
            figure: format!(
                "p50 {p50:.1} / p99 {p99:.1} / max {max:.1} ms ({count} requests, one at a time); {}",
                plan.as_ref().map_or("plan not read (--quick)".to_owned(), Plan::describe)
            ),
            goal: if q.goal_ms > 10.0 { "index-backed, p99 < 200 ms" } else { "index-backed, p99 < 10 ms" },
            raw: format!("`GET /healthz` p99 {floor_p99:.1} ms"),
            ratio: format!("p99 {:.1}× floor; {}", p99 / floor_p99, goal_note(*p99, q.goal_ms, plan)),
            json: json!({ "p50_ms": p50, "p99_ms": p99, "max_ms": max, "requests": count, "goal_ms": q.goal_ms,
                          "plan": plan.as_ref().map(Plan::json) }),
        });
    }
    let ((p50, p99, max), rounds, later, plan) = pick;
    rows.push(Row {
        scenario: "5. next-agent pick: a customer's open while people are free (`POST /chat/{slug}/sessions`), among 50 online people".into(),
        figure: format!(
            "p50 {p50:.1} / p99 {p99:.1} / max {max:.1} ms ({rounds} opens, each resolved before the next; {later} not assigned in the open); {}",
            plan.as_ref().map_or("plan not read (--quick)".to_owned(), Plan::describe)
        ),
        goal: "index-backed, p99 < 10 ms",
        raw: format!("`GET /healthz` p99 {floor_p99:.1} ms"),
        ratio: format!("p99 {:.1}× floor; {}", p99 / floor_p99, goal_note(p99, 10.0, &plan)),
        json: json!({ "p50_ms": p50, "p99_ms": p99, "max_ms": max, "opens": rounds, "assigned_later": later,
                      "plan": plan.as_ref().map(Plan::json) }),
    });
    heartbeats.abort();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(tables: &[(&str, i64, i64)], indexes: &[(&str, i64, i64)]) -> Counters {
        Counters {
            tables: tables.iter().map(|(n, rows, seq)| ((*n).to_owned(), (*rows, *seq))).collect(),
            indexes: indexes.iter().map(|(n, rows, s)| ((*n).to_owned(), (*rows, *s))).collect(),
        }
    }

    #[test]
    fn a_plan_names_the_indexes_each_request_read_and_the_large_tables_read_whole() {
        let before = counters(
            &[("sessions", 1_000_000, 4), ("agents", 50, 100)],
            &[
                ("sessions_inbox", 1_000_000, 10),
                ("messages_history", 10_000_000, 0),
                ("sessions_pkey", 1_000_000, 7),
                ("agents_pkey", 50, 0),
            ],
        );
        let after = counters(
            &[("sessions", 1_000_000, 6), ("agents", 50, 900)],
            &[
                ("sessions_inbox", 1_000_000, 110),
                ("messages_history", 10_000_000, 250),
                ("sessions_pkey", 1_000_000, 12),
                ("agents_pkey", 50, 400),
            ],
        );
        let plan = before.plan(&after, 100);
        // sessions_pkey moved by 5 in 100 requests: the background's, not the
        // query's; agents is small, its index is not the question.
        assert_eq!(
            plan.indexes,
            vec![("messages_history".to_owned(), 250), ("sessions_inbox".to_owned(), 100)]
        );
        // A small table read whole is the planner's right choice; a large one is not.
        assert_eq!(plan.seq_scans, vec![("sessions".to_owned(), 2)]);
        assert!(plan.describe().contains("**sequential scans: sessions ×2**"));
        let quiet = before.plan(&before, 100);
        assert!(quiet.seq_scans.is_empty());
        assert!(quiet.describe().ends_with("no sequential scan of a large table"), "{}", quiet.describe());
    }

    #[test]
    fn the_history_is_deterministic_and_each_order_number_is_one_sessions() {
        assert_eq!(session_id(255), "00000000-0000-4000-8000-0000000000ff");
        assert_ne!(session_id(1), customer_id(1));
        let orders: std::collections::HashSet<usize> = (0..100_000).map(order_of).collect();
        assert_eq!(orders.len(), 100_000);
        assert!(body(42, 3).ends_with(&format!("order {}", order_of(42))));
    }
}
