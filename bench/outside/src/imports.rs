//! Importing history: an admin uploads a generic JSONL export of resolved
//! conversations (`POST /api/v1/imports?format=jsonl`), each with three
//! messages (one HTML), a customer out of 5,000, an agent out of 50, a tag
//! out of 20 and a rating on every fifth. The upload answers with the dry
//! run; then `POST /imports/{id}/apply`, and the run is polled until it
//! completes.
//!
//! Raw limit in the same run: PostgreSQL writing comparable rows by itself
//! (sessions, assignments, three messages each) with `INSERT … SELECT
//! generate_series` and no parsing, report facts or checkpoints, in the
//! raw limit's scratch database, rolled back (`raw/import.sql`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, Api, Error};

fn export(n: usize, slug: &str) -> Vec<u8> {
    let mut out = String::with_capacity(n * 520);
    for i in 0..n {
        let day = 1 + (i / 4_000) % 28;
        let (h, m) = ((i / 60) % 24, i % 60);
        let at = |s: usize| format!("2024-02-{day:02}T{h:02}:{m:02}:{s:02}Z");
        let csat = if i.is_multiple_of(5) { format!(r#","csat":{}"#, 1 + i % 5) } else { String::new() };
        out.push_str(&format!(
            r#"{{"id":"b-{i}","type":"{slug}","status":"resolved","created_at":"{}","resolved_at":"{}","customer":{{"id":"c-{c}","email":"c{c}@customer.test","name":"Customer {c}"}},"agent":{{"email":"importer{a}@bench.test"}},"tags":["t{t}"]{csat},"messages":[{{"from":"customer","body":"Hello, question number {i} about my order","created_at":"{}"}},{{"from":"agent","author_email":"importer{a}@bench.test","body":"<p>Thanks! Here is the <a href=\"https://help.test/{i}\">answer</a>.</p>","html":true,"created_at":"{}"}},{{"from":"customer","body":"Great, thank you","created_at":"{}"}}]}}"#,
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

/// Sessions per second of `raw/import.sql` (`rows` sessions) on `raw_db`.
fn raw_limit(raw_db: &str, rows: usize) -> Result<f64, Error> {
    let t = Instant::now();
    let out = std::process::Command::new("psql")
        .args([
            "-qX",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            &format!("rows={rows}"),
            "-f",
            "bench/outside/raw/import.sql",
        ])
        .arg(raw_db)
        .output()?;
    if !out.status.success() {
        return Err(format!("raw/import.sql: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(rows as f64 / t.elapsed().as_secs_f64())
}

/// Returns the figure, the raw limit, the ratio and the data.
pub async fn import(
    api: &Api,
    admin: &str,
    account: &str,
    raw_db: &str,
    n: usize,
) -> Result<(String, String, String, Value), Error> {
    common::support_type(api, admin, account, "imported").await?;
    for a in 0..50 {
        api.post(
            admin,
            "/agents",
            json!({ "account_id": account, "email": format!("importer{a}@bench.test"),
                    "display_name": format!("Importer {a}"), "role": "agent" }),
        )
        .await?;
    }
    let raw_rows = n.min(50_000);
    let raw = raw_limit(raw_db, raw_rows)?;

    let file = export(n, "imported");
    let mb = file.len() as f64 / 1e6;
    let t = Instant::now();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file).file_name("history.jsonl"));
    let res = api
        .http
        .post(format!("{}/api/v1/imports?format=jsonl&account_id={account}", api.base))
        .bearer_auth(admin)
        .multipart(form)
        .send()
        .await?;
    let run = common::created(res, "upload").await?;
    let planned = t.elapsed().as_secs_f64();
    let id = common::id(&run)?;
    let t = Instant::now();
    api.post(admin, &format!("/imports/{id}/apply"), json!({})).await?;
    let done = loop {
        let run = api.call(reqwest::Method::GET, admin, &format!("/imports/{id}"), None).await?;
        match run["status"].as_str() {
            Some("completed") => break run,
            Some("ready" | "running") => tokio::time::sleep(Duration::from_millis(200)).await,
            other => return Err(format!("the import ended {other:?}: {run}").into()),
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let created = done["created"].as_i64().unwrap_or_default();
    if created != n as i64 {
        return Err(format!("the import created {created} of {n} conversations: {done}").into());
    }
    let rate = created as f64 / secs;
    Ok((
        format!(
            "upload {mb:.0} MB and dry run (parse, resolve every conversation, nothing written): {planned:.1} s ({:.0}/s); apply (sessions, 3 messages, assignment, tags, CSAT, report facts, batches of 500): {secs:.1} s, {rate:.0} conversations/s",
            n as f64 / planned
        ),
        format!(
            "{raw:.0} sessions/s: the same rows by INSERT … SELECT alone ({raw_rows} sessions with 3 messages, rolled back)"
        ),
        format!("{:.2}× raw", rate / raw),
        json!({ "conversations": n, "megabytes": mb, "dry_run_s": planned, "apply_s": secs,
                "per_s": rate, "raw_per_s": raw }),
    ))
}
