//! `switchboard import` as an operator runs it: a dry run that writes
//! nothing, and an import killed with SIGKILL mid-run that, run again,
//! resumes from its checkpoint to exactly the counts of an uninterrupted
//! import: no batch half-written, none written twice.

use std::{process::Stdio, time::Duration};

use sqlx::PgPool;

const CONVERSATIONS: usize = 12_000;

fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
}

/// This test's own database, for the child process.
async fn url_of(pool: &PgPool) -> String {
    let name =
        sqlx::query_scalar!(r#"SELECT current_database() AS "name!""#).fetch_one(pool).await.expect("name");
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let base = base.split('?').next().unwrap_or_default();
    let (server, _) = base.rsplit_once('/').expect("a database URL");
    format!("{server}/{name}")
}

async fn world(pool: &PgPool) {
    let account =
        sqlx::query_scalar!("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("account");
    sqlx::query!(
        "INSERT INTO support_types (account_id, slug, name) VALUES ($1, 'acme-billing', 'Billing')",
        account
    )
    .execute(pool)
    .await
    .expect("type");
    sqlx::query!(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, 'ann@acme.test', 'Ann', 'agent')",
        account
    )
    .execute(pool)
    .await
    .expect("agent");
}

fn generated(dir: &std::path::Path) -> std::path::PathBuf {
    let mut out = String::new();
    for i in 0..CONVERSATIONS {
        let (h, m) = ((i / 60) % 24, i % 60);
        out.push_str(&format!(
            r#"{{"id":"k-{i}","type":"Billing","status":"resolved","created_at":"2024-09-0{d}T{h:02}:{m:02}:00Z","customer":{{"id":"c-{c}","email":"c{c}@customer.test"}},"agent":{{"email":"ann@acme.test"}},"tags":["t{t}"],"messages":[{{"from":"customer","body":"question {i}","created_at":"2024-09-0{d}T{h:02}:{m:02}:00Z"}},{{"from":"agent","author_email":"ann@acme.test","body":"answer {i}","created_at":"2024-09-0{d}T{h:02}:{m:02}:30Z"}}]}}"#,
            d = 1 + i % 9,
            c = i % 500,
            t = i % 7,
        ));
        out.push('\n');
    }
    let path = dir.join("history.jsonl");
    std::fs::write(&path, out).expect("write the file");
    path
}

/// A `count(*)`, compile-checked.
macro_rules! count {
    ($pool:expr, $sql:literal) => {
        sqlx::query_scalar!($sql).fetch_one($pool).await.expect($sql).unwrap_or_default()
    };
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_killed_import_resumes_from_its_checkpoint_to_the_same_counts(pool: PgPool) {
    world(&pool).await;
    let dir = std::env::temp_dir().join(format!("switchboard-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = generated(&dir);
    let url = url_of(&pool).await;
    let import = |extra: &[&str]| {
        let mut cmd = binary();
        cmd.args(["import", "--account", "acme", "--format", "jsonl"])
            .args(extra)
            .arg(&file)
            .env("DATABASE_URL", &url)
            .env("LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };

    // The dry run writes nothing.
    let dry = import(&["--dry-run"]).output().expect("dry run");
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let report = String::from_utf8_lossy(&dry.stdout);
    assert!(report.contains(&format!("created        {CONVERSATIONS} sessions")), "{report}");
    assert_eq!(count!(&pool, "SELECT count(*) FROM sessions"), 0);
    assert_eq!(count!(&pool, "SELECT count(*) FROM import_runs"), 0);

    // Killed once some batches have committed.
    let mut child = import(&[]).spawn().expect("import");
    let mut position = 0;
    for _ in 0..1200 {
        position = count!(&pool, "SELECT coalesce(max(position), 0)::int8 FROM import_runs");
        if position > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success());
    let position = count!(&pool, "SELECT position::int8 FROM import_runs").max(position);
    assert!(position > 0 && position < CONVERSATIONS as i64, "killed at {position} of {CONVERSATIONS}");
    // Every committed batch is whole: its sessions, messages and facts.
    let sessions = count!(&pool, "SELECT count(*) FROM sessions");
    assert_eq!(sessions, position, "sessions written match the checkpoint");
    assert_eq!(count!(&pool, "SELECT count(*) FROM messages"), 2 * sessions);
    assert_eq!(count!(&pool, "SELECT count(*) FROM report_facts"), sessions);

    // Run again: it resumes the same run and completes.
    let resumed = import(&[]).output().expect("resume");
    let out = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{out}\n{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(out.contains("resuming import"), "{out}");
    assert!(out.contains("completed"), "{out}");
    let n = CONVERSATIONS as i64;
    assert_eq!(count!(&pool, "SELECT count(*) FROM import_runs"), 1);
    assert_eq!(
        count!(&pool, "SELECT count(*) FROM import_runs WHERE status = 'completed' AND position = total"),
        1
    );
    assert_eq!(count!(&pool, "SELECT count(*) FROM sessions"), n);
    assert_eq!(count!(&pool, "SELECT count(*) FROM messages"), 2 * n);
    assert_eq!(count!(&pool, "SELECT count(*) FROM session_tags"), n);
    assert_eq!(count!(&pool, "SELECT count(*) FROM customers"), 500);
    assert_eq!(count!(&pool, "SELECT count(*) FROM tags"), 7);
    assert_eq!(count!(&pool, "SELECT count(*) FROM report_facts"), n);
    assert_eq!(count!(&pool, "SELECT count(*) FROM import_map WHERE kind = 'session'"), n);
    // The rollups count each session once.
    let opened: i64 = count!(&pool, "SELECT coalesce(sum(n), 0)::int8 FROM report_rollups
          WHERE metric = 'opened' AND grain = 'd' AND support_type_id = '00000000-0000-0000-0000-000000000000' AND agent_id = '00000000-0000-0000-0000-000000000000'");
    assert_eq!(opened, n);

    // A third run finds everything imported.
    let again = import(&[]).output().expect("third run");
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(out.contains(&format!("already there  {n}")), "{out}");
    assert_eq!(count!(&pool, "SELECT count(*) FROM sessions"), n);
    let _ = std::fs::remove_dir_all(&dir);
}
