//! Importing history through the real server over HTTP
//! (`BENCH_ONLY=imports`): an admin uploads a generic JSONL export of
//! `BENCH_IMPORT_CONVERSATIONS` (default 100,000) resolved conversations,
//! each with three messages, a customer out of 5,000, a tag out of 20 and
//! every fifth with a rating; the upload answers the dry run; then apply,
//! and poll until the run completes. Beside it, the raw limit measured in
//! the same run: the same rows (sessions, assignments, messages) written by
//! PostgreSQL alone with `INSERT … SELECT generate_series`, no parsing, no
//! report facts, no checkpoints.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::Error;

fn export(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 520);
    for i in 0..n {
        let day = 1 + (i / 4_000) % 28;
        let (h, m) = ((i / 60) % 24, i % 60);
        let at = |s: usize| format!("2024-02-{day:02}T{h:02}:{m:02}:{s:02}Z");
        let csat = if i % 5 == 0 { format!(r#","csat":{}"#, 1 + i % 5) } else { String::new() };
        out.push_str(&format!(
            r#"{{"id":"b-{i}","type":"general","status":"resolved","created_at":"{}","resolved_at":"{}","customer":{{"id":"c-{c}","email":"c{c}@customer.test","name":"Customer {c}"}},"agent":{{"email":"agent{a}@bench.test"}},"tags":["t{t}"]{csat},"messages":[{{"from":"customer","body":"Hello, question number {i} about my order","created_at":"{}"}},{{"from":"agent","author_email":"agent{a}@bench.test","body":"<p>Thanks! Here is the <a href=\"https://help.test/{i}\">answer</a>.</p>","html":true,"created_at":"{}"}},{{"from":"customer","body":"Great, thank you","created_at":"{}"}}]}}"#,
            at(0),
            at(50),
            at(0),
            at(20),
            at(40),
            c = i % 5_000,
            a = i % 50,
            t = i % 20,
        ));
        out.push('\n');
    }
    out.into_bytes()
}

pub async fn run(pool: &PgPool) -> Result<(), Error> {
    let n: usize =
        std::env::var("BENCH_IMPORT_CONVERSATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let account = sqlx::query_scalar!(
        "INSERT INTO accounts (slug, name) VALUES ('bench-import', 'Import') RETURNING id"
    )
    .fetch_one(pool)
    .await?;
    sqlx::query!(
        "INSERT INTO support_types (account_id, slug, name) VALUES ($1, 'general', 'General')",
        account
    )
    .execute(pool)
    .await?;
    for a in 0..50 {
        sqlx::query!(
            "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, $2, $2::citext::text, 'agent')",
            account,
            format!("agent{a}@bench.test")
        )
        .execute(pool)
        .await?;
    }
    let admin = sqlx::query_scalar!(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, 'admin@bench.test', 'Admin', 'admin')
         RETURNING id",
        account
    )
    .fetch_one(pool)
    .await?;
    let (_, token) =
        domain::tokens::create(pool, &domain::actor::Actor::System, domain::types::AgentId(admin), "bench")
            .await?;

    let server = crate::Server::start(pool, "imports", &[]).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();

    println!("| scenario | count | throughput | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|---|");

    // The raw limit: PostgreSQL writing the same rows by itself.
    let raw_n = n.min(50_000) as i64;
    let t = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "CREATE TEMP TABLE raw_ids ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, i FROM generate_series(1, $1) i",
    )
    .bind(raw_n)
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO customers (account_id, name) SELECT $1, 'raw ' || i FROM generate_series(1, 5000) i",
        account
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at, resolved_at)
         SELECT r.id, $1, (SELECT id FROM support_types WHERE slug = 'general'),
                (SELECT id FROM customers WHERE account_id = $1 LIMIT 1), 'resolved', now(), now(), now()
           FROM raw_ids r",
    )
    .bind(account)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO assignments (session_id, agent_id, reason, started_at, ended_at, end_reason)
         SELECT r.id, $1, 'manual', now(), now(), 'resolved' FROM raw_ids r",
    )
    .bind(admin)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO messages (session_id, sender_kind, body) SELECT r.id, 'customer', 'raw message ' || k
           FROM raw_ids r, generate_series(1, 3) k",
    )
    .execute(&mut *tx)
    .await?;
    tx.rollback().await?;
    let raw = raw_n as f64 / t.elapsed().as_secs_f64();
    println!(
        "| raw limit: the same rows by INSERT … SELECT alone ({raw_n} sessions, 3 messages each; rolled back) | {raw_n} | {raw:.0}/s | - | - | - |"
    );

    let file = export(n);
    let mb = file.len() as f64 / 1e6;
    let t = Instant::now();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file).file_name("history.jsonl"));
    let res = client
        .post(format!("{base}/api/v1/imports?format=jsonl"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await?;
    let status = res.status();
    let run: serde_json::Value = res.json().await?;
    if status != reqwest::StatusCode::CREATED {
        return Err(format!("upload: {status} {run}").into());
    }
    let planned = t.elapsed();
    println!(
        "| upload {mb:.0} MB and dry run (parse, resolve every conversation, nothing written) | {n} | {:.0}/s | - | - | - |",
        n as f64 / planned.as_secs_f64()
    );
    let id = run["id"].as_str().ok_or("no run id")?.to_owned();
    let t = Instant::now();
    let res = client.post(format!("{base}/api/v1/imports/{id}/apply")).bearer_auth(&token).send().await?;
    if res.status() != reqwest::StatusCode::ACCEPTED {
        return Err(format!("apply: {}", res.status()).into());
    }
    let done = loop {
        let run: serde_json::Value = client
            .get(format!("{base}/api/v1/imports/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        match run["status"].as_str() {
            Some("completed") => break run,
            Some("running") => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return Err(format!("the import ended {other:?}: {run}").into()),
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let created = done["created"].as_i64().unwrap_or_default();
    println!(
        "| apply: sessions with 3 messages, assignment, tags, CSAT and report facts, batches of 500 | {created} | {:.0}/s | - | - | - |",
        created as f64 / secs
    );
    println!("(imported {created} conversations in {secs:.1} s)");
    server.stop().await;
    Ok(())
}
