//! Imports through the REST API: an admin uploads an export and gets its
//! dry run, maps the groups, applies it and follows it to completion; bad
//! files are refused naming the problem (a wrong format, an oversized
//! upload with 413); agents and other accounts' admins are kept out.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../end2end/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn upload(
    app: &Api,
    token: &str,
    format: &str,
    name: &str,
    bytes: Vec<u8>,
    account: Option<&str>,
) -> Response {
    let mut path = format!("/imports?format={format}");
    if let Some(account) = account {
        path.push_str(&format!("&account_id={account}"));
    }
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    app.request(Method::POST, &path, token).multipart(form).send().await.expect("upload")
}

/// A limit small enough to exceed in a test.
const LIMIT: usize = 8 * 1024;

async fn app(pool: &PgPool) -> Api {
    let config = test_config_with(&[("IMPORT_MAX_BYTES", LIMIT.to_string())]);
    Api { app: spawn_app_with(config, pool.clone()).await }
}

async fn wait_for(app: &Api, token: &str, run: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let run = expect(app.get(&format!("/imports/{run}"), token).await, StatusCode::OK).await;
        if run["status"] == status {
            return run;
        }
        assert!(std::time::Instant::now() < deadline, "still {} : {run}", run["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_admin_uploads_maps_applies_and_follows_an_import(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = app(&pool).await;

    let run = expect(
        upload(&app, &admin, "zendesk", "zendesk.json", fixture("zendesk.json"), None).await,
        StatusCode::CREATED,
    )
    .await;
    let id = run["id"].as_str().expect("id").to_owned();
    assert_eq!(run["status"], "ready");
    assert_eq!(run["total"], 4);
    // "Billing" maps to the type of that name; the other groups to nothing.
    let plan = &run["plan"];
    assert_eq!(
        (plan["counts"]["created"].as_u64(), plan["counts"]["skipped"].as_u64()),
        (Some(1), Some(3)),
        "{plan}"
    );
    let billing = plan["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "Billing")
        .expect("row")
        .clone();
    assert_eq!(
        (billing["support_type_id"].as_str(), billing["how"].as_str()),
        (Some(acme.type_id.to_string().as_str()), Some("same name"))
    );
    assert_eq!(plan["skipped_by_kind"]["no_support_type"], 2);
    assert_eq!(
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM sessions"#)
            .fetch_one(&pool)
            .await
            .expect("count"),
        0,
        "a dry run writes nothing"
    );

    // The mapping screen: every group to the billing type.
    let mapping = json!({ "types": { "Technical Support": acme.type_id, "Legal": acme.type_id } });
    let run = expect(app.put(&format!("/imports/{id}/mapping"), &admin, mapping).await, StatusCode::OK).await;
    assert_eq!(
        (run["plan"]["counts"]["created"].as_u64(), run["plan"]["counts"]["skipped"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(run["plan"]["skips"][0]["kind"], "open");
    // A mapping that names another account's type is refused.
    let other = seed_account(&pool, "other").await;
    let wrong = json!({ "types": { "Legal": other.type_id } });
    let err = expect_error(
        app.put(&format!("/imports/{id}/mapping"), &admin, wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(err["field"], "mapping.types.Legal");

    let started =
        expect(app.post(&format!("/imports/{id}/apply"), &admin, json!({})).await, StatusCode::ACCEPTED)
            .await;
    assert!(["running", "completed"].contains(&started["status"].as_str().unwrap_or_default()), "{started}");
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(
        (done["position"].as_i64(), done["created"].as_i64(), done["skipped"].as_i64()),
        (Some(4), Some(3), Some(1)),
        "{done}"
    );
    let sessions =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM sessions WHERE account_id = $1"#, acme.id)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(sessions, 3);
    let kept = sqlx::query_scalar!("SELECT file_key FROM import_runs WHERE id = $1::text::uuid", id)
        .fetch_one(&pool)
        .await
        .expect("key");
    assert_eq!(kept, None, "the file is deleted once the run completes");
    // Finished is finished.
    expect_error(
        app.post(&format!("/imports/{id}/apply"), &admin, json!({})).await,
        StatusCode::CONFLICT,
        "import_finished",
    )
    .await;
    expect_error(
        app.post(&format!("/imports/{id}/cancel"), &admin, json!({})).await,
        StatusCode::CONFLICT,
        "import_finished",
    )
    .await;
    let list = expect(app.get("/imports", &admin).await, StatusCode::OK).await;
    assert_eq!(ids(&list), vec![id.as_str()]);

    // The same file again finds everything imported.
    let again = expect(
        upload(&app, &admin, "zendesk", "zendesk.json", fixture("zendesk.json"), None).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["plan"]["counts"]["matched"], 1, "{}", again["plan"]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_ready_run_can_be_cancelled_and_bad_uploads_name_the_problem(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let app = app(&pool).await;

    let err = expect_error(
        upload(&app, &admin, "deskpro", "zendesk.json", fixture("zendesk.json"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(err["field"], "file");
    assert!(err["message"].as_str().unwrap_or_default().contains("DeskPro"), "{err}");
    let res = upload(&app, &admin, "martian", "x.json", b"{}".to_vec(), None).await;
    let err = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(err["error"]["message"].as_str().unwrap_or_default().contains("martian"), "{err}");
    let err = expect_error(
        upload(&app, &admin, "jsonl", "big.jsonl", vec![b' '; LIMIT + 1], None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    assert!(err["message"].as_str().unwrap_or_default().contains("8 KiB"), "{err}");
    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let res = app
        .request(Method::POST, "/imports?format=jsonl", &admin)
        .multipart(form)
        .send()
        .await
        .expect("no file");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let runs = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM import_runs"#)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(runs, 0, "nothing was recorded");

    // Broken records are reported by line in the dry run.
    let run = expect(
        upload(&app, &admin, "jsonl", "broken.jsonl", fixture("broken.jsonl"), None).await,
        StatusCode::CREATED,
    )
    .await;
    let skips: Vec<&str> = run["plan"]["skips"]
        .as_array()
        .expect("skips")
        .iter()
        .map(|s| s["record"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(skips, vec!["line 2", "line 3", "line 4", "line 5", "line 7"]);
    let id = run["id"].as_str().expect("id");
    let cancelled =
        expect(app.post(&format!("/imports/{id}/cancel"), &admin, json!({})).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    // A cancelled run is applied later, from where it stood.
    expect(app.post(&format!("/imports/{id}/apply"), &admin, json!({})).await, StatusCode::ACCEPTED).await;
    let done = wait_for(&app, &admin, id, "completed").await;
    assert_eq!((done["created"].as_i64(), done["skipped"].as_i64()), (Some(2), Some(5)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn agents_and_other_accounts_admins_are_kept_out(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let other = seed_account(&pool, "other").await;
    let (_, admin) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "abe").await;
    let (_, stranger) = seed_agent(&pool, Some(&other), "admin", "olga").await;
    let app = app(&pool).await;

    expect_error(
        upload(&app, &agent, "jsonl", "generic.jsonl", fixture("generic.jsonl"), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let acme_id = acme.id.to_string();
    expect_error(
        upload(&app, &stranger, "jsonl", "generic.jsonl", fixture("generic.jsonl"), Some(&acme_id)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let run = expect(
        upload(&app, &admin, "jsonl", "generic.jsonl", fixture("generic.jsonl"), None).await,
        StatusCode::CREATED,
    )
    .await;
    let id = run["id"].as_str().expect("id");
    expect_error(app.get(&format!("/imports/{id}"), &agent).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(app.get(&format!("/imports/{id}"), &stranger).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    expect_error(
        app.post(&format!("/imports/{id}/apply"), &stranger, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.post(&format!("/imports/{id}/cancel"), &agent, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        app.put(&format!("/imports/{id}/mapping"), &stranger, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let theirs = expect(app.get("/imports", &stranger).await, StatusCode::OK).await;
    assert_eq!(theirs, json!([]), "another account's admin lists only their own");
    expect_error(
        app.get(&format!("/imports?account_id={acme_id}"), &stranger).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// A server stopped mid-import (a deploy, a crash) leaves its run
/// `running`, or `cancelling` if it was being cancelled. The next server to
/// start resumes the first from its checkpoint to completion and settles
/// the second as cancelled, which applying later resumes.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_restarted_server_resumes_the_imports_it_left_running(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, a_admin) = seed_agent(&pool, Some(&acme), "admin", "ada").await;
    let (_, g_admin) = seed_agent(&pool, Some(&globex), "admin", "gus").await;
    // Both servers keep files in one store, as one deployment does.
    let store = format!("{}/attachments/{}", env!("CARGO_TARGET_TMPDIR"), uuid::Uuid::new_v4());
    let config = || test_config_with(&[("ATTACHMENTS_DIR", store.clone())]);
    let first = Api { app: spawn_app_with(config(), pool.clone()).await };
    let mut ids = Vec::new();
    for admin in [&a_admin, &g_admin] {
        let run = expect(
            upload(&first, admin, "jsonl", "generic.jsonl", fixture("generic.jsonl"), None).await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(run["id"].as_str().expect("id").parse::<uuid::Uuid>().expect("uuid"));
    }
    drop(first);
    // What the stopped server left: no process holds either account's lock.
    sqlx::query!("UPDATE import_runs SET status = 'running', started_at = now() WHERE id = $1", ids[0])
        .execute(&pool)
        .await
        .expect("running");
    sqlx::query!("UPDATE import_runs SET status = 'cancelling', started_at = now() WHERE id = $1", ids[1])
        .execute(&pool)
        .await
        .expect("cancelling");

    let second = Api { app: spawn_app_with(config(), pool.clone()).await };
    let done = wait_for(&second, &a_admin, &ids[0].to_string(), "completed").await;
    let planned = done["plan"]["counts"]["created"].as_i64().expect("planned");
    assert!(planned > 0, "{done}");
    assert_eq!(done["created"].as_i64(), Some(planned), "{done}");
    let imported = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM import_map WHERE account_id = $1 AND kind = 'session'"#,
        acme.id
    )
    .fetch_one(&pool)
    .await
    .expect("map");
    assert_eq!(imported, planned);
    let cancelled = wait_for(&second, &g_admin, &ids[1].to_string(), "cancelled").await;
    assert_eq!(cancelled["position"], 0, "nothing of it was written: {cancelled}");
    // Applying it later resumes it.
    let g = ids[1].to_string();
    expect(second.post(&format!("/imports/{g}/apply"), &g_admin, json!({})).await, StatusCode::ACCEPTED)
        .await;
    let done = wait_for(&second, &g_admin, &g, "completed").await;
    // Every record is accounted for (its plan is older than acme's import,
    // which created the agents that globex now finds in another account).
    assert_eq!(done["position"], done["total"], "{done}");
    assert!(done["created"].as_i64() > Some(0), "{done}");
}
