//! Imports through the browser and the REST API: the uploaded file is kept
//! in the attachments' object store (`imports/{run id}`) from the upload
//! to the run's completion, so that planning again, applying, and resuming
//! after a restart all read the same bytes.

use bytes::Bytes;
use sqlx::PgPool;
use uuid::Uuid;

use super::files::ImportFiles;
use super::{
    Format, Mapping, Run, RunStatus,
    parse::{self, Entry},
    run::{self, FileInfo, Importer},
    validate_source,
};
use crate::{Error, Result, actor::Actor, attachments::Files, types::AccountId};

/// An uploaded export.
pub struct Upload {
    pub account: AccountId,
    pub format: Format,
    pub source: Option<String>,
    pub file_name: String,
    pub bytes: Bytes,
}

fn key(run_id: Uuid) -> String {
    format!("imports/{run_id}")
}

/// Parsing is CPU work proportional to the file: off the async threads.
async fn parse_off_thread(format: Format, bytes: Bytes) -> Result<Vec<Entry>> {
    tokio::task::spawn_blocking(move || parse::parse(format, &bytes))
        .await
        .map_err(|e| Error::internal("reading an import file", e))?
}

/// Reads the upload, plans it with the default mapping, keeps the file and
/// records the run as ready. A file that is not of its format is refused
/// here, with what is missing.
pub async fn create(pool: &PgPool, files: &Files, actor: &Actor, upload: Upload) -> Result<Run> {
    actor.require_admin_of(upload.account, "import")?;
    let info =
        FileInfo::new(upload.account, upload.format, upload.source.clone(), &upload.file_name, &upload.bytes);
    let source = upload.source.clone().unwrap_or_else(|| upload.format.as_str().to_owned());
    validate_source(&source)?;
    let entries = parse_off_thread(upload.format, upload.bytes.clone()).await?;
    let plan = run::plan(pool, actor, upload.account, &source, &entries, Mapping::default()).await?;
    let run_id = Uuid::new_v4();
    files.put(&key(run_id), upload.bytes).await?;
    let plan = serde_json::to_value(&plan).map_err(|e| Error::internal("an import plan", e))?;
    let inserted = sqlx::query!(
        "INSERT INTO import_runs (id, account_id, created_by, format, source, file_name, file_key, file_sha256,
                                  file_bytes, status, plan, total)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ready', $10, $11)",
        run_id,
        upload.account.0,
        actor.agent_id().map(|a| a.0),
        upload.format.as_str(),
        source,
        info.file_name,
        key(run_id),
        &info.sha256[..],
        info.bytes,
        plan,
        entries.len() as i32
    )
    .execute(pool)
    .await;
    if let Err(e) = inserted {
        files.delete(&[key(run_id)]).await;
        return Err(e.into());
    }
    run::get(pool, actor, run_id).await
}

/// Customers are refused before any account is looked at.
pub fn staff_only(actor: &Actor) -> Result<()> {
    if matches!(actor, Actor::Customer(_)) {
        return Err(Error::forbidden("only an admin may import history"));
    }
    Ok(())
}

/// The account's runs, newest first.
pub async fn list(pool: &PgPool, actor: &Actor, account: Option<AccountId>) -> Result<Vec<Run>> {
    staff_only(actor)?;
    let account = actor.target_account(account)?;
    actor.require_admin_of(account, "import")?;
    let ids = sqlx::query_scalar!(
        "SELECT id FROM import_runs WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100",
        account.0
    )
    .fetch_all(pool)
    .await?;
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        runs.push(run::get(pool, actor, id).await?);
    }
    Ok(runs)
}

/// The run's kept file, read again.
async fn entries_of(files: &Files, run: &Run, file_key: Option<String>) -> Result<Vec<Entry>> {
    let key = file_key.ok_or_else(|| {
        Error::conflict("import_file_gone", "this import's file is no longer kept: upload it again")
    })?;
    let bytes = files.get(&key).await?;
    parse_off_thread(run.format, bytes).await
}

async fn file_key(pool: &PgPool, run_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!("SELECT file_key FROM import_runs WHERE id = $1", run_id).fetch_one(pool).await?)
}

/// Plans the run again with `mapping`, and keeps both.
pub async fn set_mapping(
    pool: &PgPool,
    files: &Files,
    actor: &Actor,
    run_id: Uuid,
    mapping: Mapping,
) -> Result<Run> {
    let run = run::get(pool, actor, run_id).await?;
    if matches!(run.status, RunStatus::Running | RunStatus::Cancelling) {
        return Err(Error::conflict(
            "import_running",
            "this import is running: cancel it to change its mapping",
        ));
    }
    if run.status == RunStatus::Completed {
        return Err(Error::conflict("import_finished", "this import has completed"));
    }
    let entries = entries_of(files, &run, file_key(pool, run_id).await?).await?;
    let plan = run::plan(pool, actor, run.account_id, &run.source, &entries, mapping.clone()).await?;
    let to_json =
        |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Error::internal("an import plan", e));
    sqlx::query!(
        "UPDATE import_runs SET mapping = $2, plan = $3, updated_at = now() WHERE id = $1",
        run_id,
        to_json(serde_json::to_value(&mapping))?,
        to_json(serde_json::to_value(&plan))?
    )
    .execute(pool)
    .await?;
    run::get(pool, actor, run_id).await
}

/// Takes the account's import lock and marks the run running, from its
/// checkpoint; the caller then drives it with [`finish`].
pub async fn prepare(pool: &PgPool, files: &Files, actor: &Actor, run_id: Uuid) -> Result<Importer> {
    let run = run::get(pool, actor, run_id).await?;
    if run.status == RunStatus::Completed {
        return Err(Error::conflict(
            "import_finished",
            "this import has completed; upload the file again to re-check it",
        ));
    }
    let entries = entries_of(files, &run, file_key(pool, run_id).await?).await?;
    Ok(Importer::resume(pool, actor, run_id, entries).await?.with_files(ImportFiles::configured(files)))
}

/// Starts the run in the background (or resumes it from its checkpoint)
/// and answers it as it stands: `running`. What the REST API's `apply`
/// and the import page's button do.
pub async fn apply(pool: &PgPool, files: &Files, actor: &Actor, run_id: Uuid) -> Result<Run> {
    let importer = prepare(pool, files, actor, run_id).await?;
    let run = run::get(pool, actor, run_id).await?;
    tokio::spawn(finish(pool.clone(), files.clone(), importer));
    Ok(run)
}

/// At start-up: the uploaded runs a stopped server left `running` are
/// resumed from their checkpoints, and those it left `cancelling` become
/// `cancelled`. A run whose account lock another server holds is alive
/// there and is left alone. Runs of the CLI keep no file here: the same
/// command resumes them. Answers how many were resumed.
pub async fn resume_interrupted(pool: &PgPool, files: &Files) -> Result<usize> {
    let runs = sqlx::query!(
        r#"SELECT id, status AS "status: RunStatus" FROM import_runs
            WHERE status IN ('running', 'cancelling') AND file_key IS NOT NULL
            ORDER BY created_at"#
    )
    .fetch_all(pool)
    .await?;
    let mut resumed = 0;
    for r in runs {
        let outcome = if r.status == RunStatus::Cancelling {
            run::settle_cancel(pool, r.id).await
        } else {
            apply(pool, files, &Actor::System, r.id).await.map(|_| resumed += 1)
        };
        match outcome {
            // Its account's lock is held: it runs in another process.
            Ok(()) | Err(Error::Conflict { .. }) => {}
            Err(e) => tracing::warn!(run_id = %r.id, error = %e, "an interrupted import could not resume"),
        }
    }
    Ok(resumed)
}

/// Runs the import to its end; a completed run's file is deleted. Errors
/// are on the run (`failed`, with the reason), for its page.
pub async fn finish(pool: PgPool, files: Files, importer: Importer) {
    let run_id = importer.run_id();
    match importer.run(|_| {}).await {
        Ok((run::Finish::Completed, _)) => {
            if let Ok(Some(key)) = file_key(&pool, run_id).await {
                files.delete(&[key]).await;
                let _ = sqlx::query!("UPDATE import_runs SET file_key = NULL WHERE id = $1", run_id)
                    .execute(&pool)
                    .await;
            }
        }
        Ok((run::Finish::Cancelled, _)) => {}
        Err(e) => tracing::warn!(%run_id, error = %e, "an import failed"),
    }
}
