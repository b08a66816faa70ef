//! Load generator for the session core, against a real PostgreSQL. It creates
//! a scratch database (`switchboard_bench` on the server of `DATABASE_URL`),
//! seeds agents and types, then measures the operations every client uses:
//! opening sessions, the assignment engine, sending messages and reading
//! history. Each scenario is bounded in count; results print as a Markdown
//! table for the README.
//!
//! `BENCH_SCALE` (default 1) multiplies the counts.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use domain::{
    actor::{Actor, AgentActor},
    conversation::{self, SendMessage},
    engine,
    sessions::{self, OpenSession},
    types::*,
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::sync::Mutex;

const CONCURRENCY: usize = 32;
const AGENTS: usize = 40;

type Error = Box<dyn std::error::Error + Send + Sync>;

mod answers;
mod files;
mod imports;
mod live;
mod reports;
mod search;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let scale: usize = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s).to_owned();
    let admin = PgPoolOptions::new().max_connections(1).connect(&format!("{server}/postgres")).await?;
    sqlx::query("DROP DATABASE IF EXISTS switchboard_bench WITH (FORCE)").execute(&admin).await?;
    sqlx::query("CREATE DATABASE switchboard_bench").execute(&admin).await?;
    // The application's own connection settings (`domain::db`), so the
    // in-process server and the domain calls run as they do in production.
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect_with(domain::db::connect_options(&format!("{server}/switchboard_bench"))?)
        .await?;
    domain::db::migrate(&pool).await?;
    if std::env::var("BENCH_ONLY").as_deref() == Ok("answers") {
        return answers::report(&pool).await;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("reports") {
        return reports::run(&pool).await;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("search") {
        return search::run(&pool).await;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("imports") {
        return imports::run(&pool).await;
    }
    let agents = seed(&pool).await?;

    println!("| scenario | count | throughput | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|---|");

    // 1. Customers open sessions (nobody online: they queue).
    let opened = Arc::new(Mutex::new(Vec::new()));
    let n = 2_000 * scale;
    let stats = run(n, {
        let (pool, opened) = (pool.clone(), opened.clone());
        move |i| {
            let (pool, opened) = (pool.clone(), opened.clone());
            async move {
                let slug = format!("type-{}", i % 4);
                let (s, _) = sessions::open(
                    &pool,
                    &Actor::System,
                    OpenSession {
                        support_type: slug,
                        message: Some("Hello, I need help".into()),
                        ..Default::default()
                    },
                )
                .await?;
                opened.lock().await.push(s.id);
                Ok(())
            }
        }
    })
    .await?;
    stats.print("open session (with first message)");

    // 2. The engine drains the queue as agents come online with room.
    sqlx::query("UPDATE agents SET presence = 'online'").execute(&pool).await?;
    let started = Instant::now();
    let mut assigned = 0;
    loop {
        let got = engine::run_pass(&pool).await?;
        assigned += got;
        if got == 0 {
            break;
        }
    }
    let took = started.elapsed();
    println!(
        "| assignment engine pass (capacity {}) | {assigned} | {:.0}/s | - | - | - |",
        AGENTS * 5,
        assigned as f64 / took.as_secs_f64()
    );

    // 3. Owners reply in their active sessions.
    let active: Vec<(SessionId, AgentId)> =
        sqlx::query_as("SELECT id, owner_id FROM sessions WHERE status = 'active'").fetch_all(&pool).await?;
    let active = Arc::new(active);
    let n = 5_000 * scale;
    let stats = run(n, {
        let (pool, active, agents) = (pool.clone(), active.clone(), agents.clone());
        move |i| {
            let (pool, active, agents) = (pool.clone(), active.clone(), agents.clone());
            async move {
                let (session, owner) = active[i % active.len()];
                let account = agents[0].1;
                let actor =
                    Actor::Agent(AgentActor { id: owner, account_id: Some(account), role: Role::Agent });
                conversation::send(
                    &pool,
                    &actor,
                    session,
                    SendMessage {
                        body: format!("reply {i}"),
                        client_message_id: Some(format!("m-{i}")),
                        ..Default::default()
                    },
                )
                .await?;
                Ok(())
            }
        }
    })
    .await?;
    stats.print("agent sends a message (idempotent)");

    // 4. History pages.
    let n = 5_000 * scale;
    let stats = run(n, {
        let (pool, active) = (pool.clone(), active.clone());
        move |i| {
            let (pool, active) = (pool.clone(), active.clone());
            async move {
                let (session, _) = active[i % active.len()];
                conversation::history(&pool, &Actor::System, session, None, Some(50)).await?;
                Ok(())
            }
        }
    })
    .await?;
    stats.print("read a history page (50)");

    // 5. Resolve, which frees capacity; the engine refills it.
    let n = active.len();
    let stats = run(n, {
        let (pool, active) = (pool.clone(), active.clone());
        move |i| {
            let (pool, active) = (pool.clone(), active.clone());
            async move {
                sessions::resolve(&pool, &Actor::System, active[i].0, None).await?;
                Ok(())
            }
        }
    })
    .await?;
    stats.print("resolve");
    let started = Instant::now();
    let refill = engine::run_pass(&pool).await?;
    println!(
        "| engine refill after resolves | {refill} | {:.0}/s | - | - | - |",
        refill as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );

    // 6. The embedded event pipeline: relay every event written above into
    //    the consumers' inboxes, then let the tagging consumer drain its own.
    let handlers = consumers::handlers::all()?;
    let publisher = consumers::relay::InboxPublisher::new(&handlers);
    let started = Instant::now();
    let mut relayed = 0;
    loop {
        let n = consumers::relay::relay_batch(&pool, &publisher).await?;
        if n == 0 {
            break;
        }
        relayed += n;
    }
    println!(
        "| relay outbox → consumer inboxes (embedded) | {relayed} | {:.0}/s | - | - | - |",
        relayed as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    let tagging = handlers.iter().find(|h| h.name() == "tagging").ok_or("no tagging consumer")?;
    let started = Instant::now();
    let drained = consumers::embedded::drain(&pool, tagging.as_ref(), &Default::default()).await?;
    println!(
        "| tagging consumer drains its inbox (exactly-once) | {drained} | {:.0}/s | - | - | - |",
        drained as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );

    // 7. Live delivery over WebSocket, through the real server.
    live::live_delivery(&pool, agents[0].0, 1_000 * scale).await?;

    // 8. Attachments: uploads with their thumbnails, and thumbnail reads.
    files::attachments(&pool, scale).await?;

    // 9. Answer quality of the built-in provider, on a public FAQ data set.
    answers::report(&pool).await?;

    pool.close().await;
    sqlx::query("DROP DATABASE IF EXISTS switchboard_bench WITH (FORCE)").execute(&admin).await?;
    Ok(())
}

async fn seed(pool: &PgPool) -> Result<Vec<(AgentId, AccountId)>, Error> {
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('bench', 'Bench') RETURNING id")
            .fetch_one(pool)
            .await?;
    let mut types = Vec::new();
    for i in 0..4 {
        let id: SupportTypeId = sqlx::query_scalar(
            "INSERT INTO support_types (account_id, slug, name, routing, reason_required)
             VALUES ($1, $2, $2, $3, false) RETURNING id",
        )
        .bind(account)
        .bind(format!("type-{i}"))
        .bind(if i % 2 == 0 { "round_robin" } else { "least_loaded" })
        .fetch_one(pool)
        .await?;
        types.push(id);
    }
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let id: AgentId = sqlx::query_scalar(
            "INSERT INTO agents (account_id, email, display_name, role, max_concurrent)
             VALUES ($1, $2, $2, 'agent', 5) RETURNING id",
        )
        .bind(account)
        .bind(format!("bench{i}@example.com"))
        .fetch_one(pool)
        .await?;
        for t in &types {
            sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)")
                .bind(id)
                .bind(t)
                .execute(pool)
                .await?;
        }
        agents.push((id, account));
    }
    Ok(agents)
}

struct Stats {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort();
        Self { count: latencies.len(), elapsed, latencies }
    }

    fn pct(&self, p: f64) -> String {
        if self.latencies.is_empty() {
            return "-".to_owned();
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        format!("{:.1} ms", self.latencies[i].as_secs_f64() * 1000.0)
    }

    fn print(&self, name: &str) {
        println!(
            "| {name} | {} | {:.0}/s | {} | {} | {} |",
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            self.pct(0.5),
            self.pct(0.95),
            self.pct(0.99)
        );
    }
}

/// A count from the environment (`name`), or `default`.
fn env_count(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The real server (embedded mode) on `pool`, on a free port, keeping
/// files in a fresh temporary directory.
struct Server {
    base: String,
    dir: std::path::PathBuf,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(pool: &PgPool, name: &str, extra: &[(&str, &str)]) -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!("switchboard-bench-{name}-{}", std::process::id()));
        let dir_text = dir.display().to_string();
        let config = server::config::Config::from_lookup(|key| match key {
            "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
            "LOG" => Some("warn".to_owned()),
            "ATTACHMENTS_DIR" => Some(dir_text.clone()),
            _ => extra.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned()),
        })?;
        let app = server::Application::build_with_pool(config, pool.clone()).await?;
        let base = format!("http://{}", app.local_addr());
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(app.run(stop.clone()));
        Ok(Self { base, dir, stop, task })
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `op(0..n)` with [`CONCURRENCY`] workers and collects latencies.
async fn run<F, Fut>(n: usize, op: F) -> Result<Stats, Error>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, Error>(latencies);
                }
                let t = Instant::now();
                op(i).await?;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(Stats { count: n, elapsed, latencies })
}
