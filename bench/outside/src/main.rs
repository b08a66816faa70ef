//! Switchboard's benchmark from outside. It links no crate of this
//! workspace: it drives a running release server over HTTP and WebSocket,
//! as a real team's load tool would, and measures each raw limit in the
//! same run, so that every figure stands beside what this machine allows.
//!
//! `scripts/bench --outside` prepares it all: a fresh database,
//! the release server in embedded mode, a global admin and its API token
//! from the `switchboard` CLI, and a scratch database for the raw limit.
//!
//! Environment:
//! - `SWITCHBOARD_URL`: the server, e.g. `http://127.0.0.1:3901`;
//! - `BENCH_ADMIN_TOKEN`: a global admin's API token;
//! - `BENCH_RAW_DATABASE_URL`: the raw limit's database (migrations applied,
//!   `raw/seed.sql` loaded);
//! - `BENCH_RATE_LIMIT_SCALE`: what the server's `RATE_LIMIT_SCALE` was set
//!   to, reported beside the figures;
//! - `BENCH_SERVER_PID`: the server's process id, whose CPU and memory are
//!   read from `/proc`;
//! - `BENCH_SITE_ROOT`: the release site (default `target/site`);
//! - `BENCH_QUICK=1`: the quick run (smaller rounds, under 5 minutes);
//! - `BENCH_ONLY`: the scenarios to run, e.g. `2,3` or `attachments,imports`
//!   (default: all);
//! - `BENCH_METRICS_URLS`: the `/metrics` pages that scenario 6 scrapes,
//!   comma-separated (the server's, and in RabbitMQ mode the sidecar's);
//! - `BENCH_DATABASE_URL`: the product's database, which scenario 5 loads
//!   with `psql` and whose table and index counters it reads;
//! - `BENCH_CLI`: the release `switchboard` CLI (default
//!   `target/release/switchboard`), for `rollups rebuild` after the load;
//! - `BENCH_LARGE_SESSIONS`: scenario 5's sessions (default 1,000,000, or
//!   20,000 in the quick run), ten messages each;
//! - `BENCH_MODE`: how events travel, `embedded` or `rabbitmq`, for the
//!   report.
//!
//! Scenarios so far: 1 (assignment), 2 (chat delivery), 3 (WebSocket
//! capacity), 4 (the agent's inbox page), 5 (large data), 6 (outbox to consumer, under
//! scenario 1's first round) and 7 (the WASM bundle); beyond the issue's
//! seven, `attachments` (uploads and thumbnails), `imports` (a history
//! export through the importer) and `answers` (suggested replies' quality
//! on a public FAQ, `FAQ_DATA`).
//! `switchboard-bench-outside relay` is the minimal relay that scenarios 2
//! and 3 stand beside, `switchboard-bench-outside static <file>` the static
//! handler beside scenario 4.

mod answers;
mod assignment;
mod bundle;
mod chat;
mod common;
mod events;
mod files;
mod imports;
mod inbox;
mod large;
mod relay;

use serde_json::{Value, json};

use common::{Api, Error, env, id};

/// One row of the report.
struct Row {
    scenario: String,
    figure: String,
    goal: &'static str,
    raw: String,
    ratio: String,
    json: Value,
}

/// Keeps a finished scenario's row and shows it at once.
fn done(rows: &mut Vec<Row>, row: Row) {
    eprintln!("{}\n  {}\n  raw: {} ({})", row.scenario, row.figure, row.raw, row.ratio);
    rows.push(row);
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::args().nth(1).as_deref() {
        Some("relay") => return relay::serve().await,
        Some("static") => return inbox::serve(&std::env::args().nth(2).ok_or("static <file>")?).await,
        _ => {}
    }
    let api = Api {
        http: reqwest::Client::builder().pool_max_idle_per_host(256).build()?,
        base: env("SWITCHBOARD_URL")?,
    };
    let admin = env("BENCH_ADMIN_TOKEN")?;
    let raw_db = env("BENCH_RAW_DATABASE_URL")?;
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let scale = std::env::var("BENCH_RATE_LIMIT_SCALE").unwrap_or_else(|_| "1".into());
    let site = std::env::var("BENCH_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runs = |n: &str| only.is_empty() || only.split(',').any(|o| o.trim() == n);
    let mode = std::env::var("BENCH_MODE").unwrap_or_else(|_| "embedded".into());
    let metrics_urls: Vec<String> = std::env::var("BENCH_METRICS_URLS")
        .unwrap_or_default()
        .split(',')
        .filter(|u| !u.trim().is_empty())
        .map(|u| u.trim().to_owned())
        .collect();
    let mut rows = Vec::new();

    if runs("7") {
        let (figure, raw, kib, json) = bundle::sizes(&site)?;
        done(
            &mut rows,
            Row {
                scenario: "7. WASM bundle: the release site's WASM and JS".into(),
                figure,
                goal: "< 400 KiB gzip",
                raw,
                ratio: format!("{:.2}× goal", kib / 400.0),
                json,
            },
        );
    }

    let account = id(&api.post(&admin, "/accounts", json!({ "slug": "bench", "name": "Bench" })).await?)?;
    let mut agent_no = 0;

    if runs("4") {
        let secs = if quick { 10 } else { 30 };
        let (figure, raw, ratio, json) = inbox::inbox_page(&api, &admin, &account, agent_no, secs).await?;
        agent_no += 1;
        done(
            &mut rows,
            Row {
                scenario: "4. agent inbox page (SSR, GET /agent) for a signed-in agent with 20 open sessions"
                    .into(),
                figure,
                goal: "p99 < 50 ms at 200 req/s",
                raw,
                ratio,
                json,
            },
        );
    }

    if runs("3") {
        let connections = 10_000;
        let (figure, raw, ratio, json) =
            chat::capacity(&api, &admin, &account, agent_no, connections).await?;
        agent_no += chat::agents_for(connections);
        done(
            &mut rows,
            Row {
                scenario: format!(
                    "3. WebSocket capacity: {connections} idle authenticated sockets, half agents (10 per agent), half customers"
                ),
                figure,
                goal: "10,000 in < 1 GiB",
                raw,
                ratio,
                json,
            },
        );
    }

    if runs("2") {
        let (chats, secs) = if quick { (200, 15) } else { (1_000, 30) };
        let (figure, raw, ratio, json) =
            chat::delivery(&api, &admin, &account, agent_no, chats, secs).await?;
        agent_no += chats.div_ceil(10);
        done(
            &mut rows,
            Row {
                scenario: format!(
                    "2. chat delivery: {chats} chats, customer and agent sockets, each side sending every 2 s for {secs} s (POST /sessions/{{id}}/messages)"
                ),
                figure,
                goal: "p99 < 50 ms",
                raw,
                ratio,
                json,
            },
        );
    }

    // Scenario 6 watches the consumers under scenario 1's first round.
    if runs("1") || runs("6") {
        let mut types = Vec::new();
        for i in 0..4 {
            types.push(common::support_type(&api, &admin, &account, &format!("bench-{i}")).await?);
        }
        let rounds: &[(usize, usize, usize)] =
            if quick { &[(50, 1_500, 50)] } else { &[(50, 3_000, 100), (500, 3_000, 150)] };
        for (round, &(agents, sessions, clients)) in rounds.iter().enumerate() {
            let watch = runs("6") && round == 0;
            if !runs("1") && !watch {
                continue;
            }
            let raw = if runs("1") {
                Some(assignment::raw_limit(&raw_db, if quick { 10 } else { 20 })?)
            } else {
                None
            };
            let watcher =
                if watch { Some(events::Watcher::start(metrics_urls.clone()).await?) } else { None };
            let (figure, rate, json) =
                assignment::assignment(&api, &admin, &account, &types, agent_no, agents, sessions, clients)
                    .await?;
            agent_no += agents;
            let load = format!(
                "{sessions} chats opened by {clients} clients, {agents} agents (limits 1-3) resolving as they go"
            );
            if let Some(raw) = raw {
                done(
                    &mut rows,
                    Row {
                        scenario: format!("1. assignment through the product ({mode}): {load}"),
                        figure,
                        goal: "≥ 1,000/s and ≥ 0.5× raw",
                        raw: format!("{raw:.0} tx/s (pgbench, the open+assign SQL, 8 clients)"),
                        ratio: format!("{:.2}× raw", rate / raw),
                        json: json!({ "agents": agents, "sessions": sessions, "clients": clients, "raw_tx_per_s": raw, "product": json }),
                    },
                );
            }
            if let Some(watcher) = watcher {
                let patience = std::time::Duration::from_secs(if quick { 60 } else { 180 });
                let (figure, json) = watcher.finish(patience, &mode).await?;
                let raw = events::raw_limit(&raw_db, if quick { 10 } else { 20 })?;
                let worst = json["worst_p95_ms"].as_f64().unwrap_or(f64::NAN);
                let busiest = json["busiest_events_per_s"].as_f64().unwrap_or(f64::NAN);
                done(
                    &mut rows,
                    Row {
                        scenario: format!(
                            "6. outbox to consumer ({mode}), each consumer, under scenario 1's load: {load}"
                        ),
                        figure,
                        goal: "≥ 1,000 events/s, p95 < 250 ms",
                        raw: format!(
                            "{raw:.0} events/s (pgbench, one event's outbox→inbox→processed SQL, 8 clients)"
                        ),
                        ratio: format!(
                            "worst p95 {:.2}× goal; busiest consumer {:.2}× raw",
                            worst / 250.0,
                            busiest / raw
                        ),
                        json: json!({ "raw_events_per_s": raw, "product": json }),
                    },
                );
            }
        }
    }

    if runs("attachments") {
        let uploads = if quick { 64 } else { 200 };
        let (figure, raw, ratio, json) = files::attachments(&api, &admin, &account, uploads).await?;
        done(
            &mut rows,
            Row {
                scenario: format!(
                    "attachments: {uploads} screenshot uploads into 32 chats (POST /sessions/{{id}}/attachments), then thumbnails fetched"
                ),
                figure,
                goal: "-",
                raw,
                ratio,
                json,
            },
        );
    }

    if runs("imports") {
        let conversations = if quick { 10_000 } else { 100_000 };
        let (figure, raw, ratio, json) =
            imports::import(&api, &admin, &account, &raw_db, conversations).await?;
        done(
            &mut rows,
            Row {
                scenario: format!(
                    "imports: a JSONL export of {conversations} resolved conversations uploaded, dry-run and applied over HTTP"
                ),
                figure,
                goal: "-",
                raw,
                ratio,
                json,
            },
        );
    }

    if runs("answers") {
        let faq = env("FAQ_DATA")?;
        // Two sets of reworded questions: the first (60) was used while the
        // ranking was built; the second (79, other entries) was written
        // later, to tune on, so that the first keeps a figure nothing was
        // fitted to.
        let sets: &[(&str, &str)] = if quick {
            &[("faq", "faq-paraphrases.jsonl")]
        } else {
            &[("faq", "faq-paraphrases.jsonl"), ("faq-dev", "faq-paraphrases-dev.jsonl")]
        };
        for (slug, file) in sets {
            let (figure, raw, ratio, json) =
                answers::quality(&api, &admin, &account, agent_no, slug, &faq, &format!("bench/data/{file}"))
                    .await?;
            agent_no += 1;
            done(
                &mut rows,
                Row {
                    scenario: format!(
                        "answers: suggested replies (`GET /sessions/{{id}}/suggestions`) for reworded customer questions ({file}), 503 FAQ entries as canned replies"
                    ),
                    figure,
                    goal: "-",
                    raw,
                    ratio,
                    json,
                },
            );
        }
    }

    // Last: its million sessions would change the others' database.
    if runs("5") {
        let sessions = std::env::var("BENCH_LARGE_SESSIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 20_000 } else { 1_000_000 });
        let cli = std::env::var("BENCH_CLI").unwrap_or_else(|_| "target/release/switchboard".into());
        let found = large::large(large::Setup {
            api: &api,
            admin: &admin,
            account: &account,
            account_slug: "bench",
            database: &env("BENCH_DATABASE_URL")?,
            cli: &cli,
            sessions,
            quick,
        })
        .await?;
        for row in found {
            done(&mut rows, row);
        }
    }

    println!("Customer rate limits scaled ×{scale} for the run (RATE_LIMIT_SCALE).");
    println!();
    println!("| scenario | figure | goal | raw limit | ratio |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!("| {} | {} | {} | {} | {} |", r.scenario, r.figure, r.goal, r.raw, r.ratio);
    }
    if !quick {
        std::fs::create_dir_all("target/bench")?;
        let path =
            format!("target/bench/outside-{mode}-{}.json", chrono::Utc::now().format("%Y-%m-%dT%H%M%SZ"));
        let all: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({ "scenario": r.scenario, "figure": r.figure, "goal": r.goal, "raw": r.raw,
                             "ratio": r.ratio, "data": r.json })
            })
            .collect();
        std::fs::write(&path, serde_json::to_string_pretty(&all)?)?;
        println!();
        println!("written to {path}");
    }
    Ok(())
}
