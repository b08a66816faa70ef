//! `switchboard import`: the dry run's report, or the run with a progress
//! bar (`indicatif`). Ctrl-C asks the run to stop after its current batch;
//! running the same command again resumes it.

use std::path::Path;

use domain::{
    actor::Actor,
    attachments::Files,
    import::{
        Counts, Format, Mapping, Plan,
        files::ImportFiles,
        parse,
        run::{self, FileInfo, Finish, Importer},
    },
    types::AccountId,
};
use sqlx::PgPool;

/// How many skips the terminal lists (all are counted).
const LISTED: usize = 20;

#[allow(clippy::too_many_arguments)]
pub async fn run(
    pool: &PgPool,
    files: &Files,
    account: AccountId,
    file: &Path,
    format: Format,
    source: Option<String>,
    dry_run: bool,
    mapping: Mapping,
) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let info = FileInfo::new(account, format, source, &name, &bytes);
    let entries = parse::parse(format, &bytes)?;
    drop(bytes);
    if dry_run {
        let source = info.source.clone().unwrap_or_else(|| format.as_str().to_owned());
        let plan = run::plan(pool, &Actor::System, account, &source, &entries, mapping).await?;
        print_plan(&plan);
        return Ok(());
    }
    let importer = Importer::start(pool, &Actor::System, &info, entries, mapping)
        .await?
        .with_files(ImportFiles::configured(files));
    let run_id = importer.run_id();
    if importer.position() > 0 {
        println!("resuming import {run_id} at {}/{}", importer.position(), importer.total());
    }
    let cancel_pool = pool.clone();
    let on_ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ncancelling after the current batch…");
            let _ = run::cancel(&cancel_pool, &Actor::System, run_id).await;
        }
    });
    let bar = indicatif::ProgressBar::new(importer.total());
    bar.set_position(importer.position());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {pos}/{len} conversations ({per_sec}, {eta} left) {msg}",
        )?
        .progress_chars("=> "),
    );
    let mut skips = Vec::new();
    let mut file_skips = Vec::new();
    let started = std::time::Instant::now();
    let result = importer
        .run(|p| {
            bar.set_position(p.position);
            bar.set_message(format!("{} created, {} skipped", p.counts.created, p.counts.skipped));
            for s in &p.skips {
                if skips.len() < LISTED {
                    skips.push(format!("  {}: {}", s.record, s.reason));
                }
            }
            for f in &p.file_skips {
                if file_skips.len() < LISTED {
                    file_skips.push(format!("  {}: {}: {}", f.record, f.file_name, f.reason));
                }
            }
        })
        .await;
    on_ctrl_c.abort();
    bar.finish_and_clear();
    let (finish, counts) = result?;
    let secs = started.elapsed().as_secs_f64();
    match finish {
        Finish::Completed => println!("import {run_id} completed in {secs:.1} s"),
        Finish::Cancelled => println!("import {run_id} cancelled; run the same command again to resume"),
    }
    print_counts(&counts);
    if !skips.is_empty() {
        println!("skipped (the first {}):", skips.len());
        for s in &skips {
            println!("{s}");
        }
    }
    if !file_skips.is_empty() {
        println!("files not imported (the first {}):", file_skips.len());
        for f in &file_skips {
            println!("{f}");
        }
    }
    Ok(())
}

fn print_counts(c: &Counts) {
    println!("  conversations  {}", c.conversations);
    println!(
        "  created        {} sessions, {} messages, {} notes, {} ratings, {} tags",
        c.created, c.messages, c.notes, c.csat, c.tags
    );
    println!("  already there  {}", c.matched);
    println!("  skipped        {}", c.skipped);
    println!("  customers      {} created, {} matched", c.customers_created, c.customers_matched);
    println!("  agents         {} created (deactivated)", c.agents_created);
    println!("  files          {} imported, {} not (listed on the run)", c.files, c.files_skipped);
}

fn print_plan(plan: &Plan) {
    println!("dry run: nothing was written");
    print_counts(&plan.counts);
    if !plan.groups.is_empty() {
        println!("support types:");
        for g in &plan.groups {
            let name = if g.name.is_empty() { "(none)" } else { g.name.as_str() };
            match g.support_type_id {
                Some(t) => println!("  {name:30} {:>6} conversations → {} ({})", g.conversations, t.0, g.how),
                None => println!(
                    "  {name:30} {:>6} conversations → not mapped: --map-type or --default-type",
                    g.conversations
                ),
            }
        }
    }
    if !plan.agents.is_empty() {
        println!("agents:");
        for a in &plan.agents {
            let who = a.email.clone().or(a.name.clone()).unwrap_or_default();
            let action = match &a.action {
                domain::import::AgentAction::Matched { agent_id } => format!("matched {}", agent_id.0),
                domain::import::AgentAction::Mapped { agent_id } => format!("mapped to {}", agent_id.0),
                domain::import::AgentAction::Create => "created, deactivated".to_owned(),
                domain::import::AgentAction::Foreign => "belongs to another account: --map-agent".to_owned(),
            };
            println!("  {who:40} {action}");
        }
    }
    for (kind, n) in &plan.skipped_by_kind {
        println!("skipped as {kind}: {n}");
    }
    for s in plan.skips.iter().take(LISTED) {
        println!("  {}: {}", s.record, s.reason);
    }
    if plan.skips.len() > LISTED {
        println!("  … and {} more", plan.counts.skipped as usize - LISTED);
    }
}
