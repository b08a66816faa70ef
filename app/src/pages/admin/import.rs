//! `/admin/import`: bring the history of the helpdesk being replaced into
//! the account, in three steps on two pages:
//! 1. upload an export (`POST /api/v1/imports`, through `XMLHttpRequest`
//!    for its progress bar); the server reads it and answers the dry run;
//! 2. on `/admin/import/{id}`, read the dry run (what would be created,
//!    matched and skipped, and why) and map the file's departments, groups
//!    or inboxes to support types and its agents to agents; "Check again"
//!    plans anew with the mapping;
//! 3. apply, and follow the progress bar, which moves with the run's
//!    `import_progress` frames over the WebSocket; cancel stops it after the
//!    batch it is writing, and applying again resumes from the checkpoint.
//!
//! What may be imported, and how, is the domain's (`domain::import`); these
//! server functions only call it with the signed-in agent.

use std::collections::BTreeMap;

use domain::{
    import::{AgentAction, Counts, Format, Mapping, Plan, Run, RunStatus, Unmatched},
    types::{AgentId, SupportTypeId},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminFrame, Section, page_error, width_class};
use crate::{
    AppError,
    components::{
        alert::ErrorAlert,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const PRIMARY: &str = "rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";
const SECONDARY: &str = "rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const SELECT: &str = "rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// Something a mapping can point at: a support type or an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: Uuid,
    pub label: String,
}

/// A run with what its mapping screen offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run: Run,
    pub types: Vec<Choice>,
    pub agents: Vec<Choice>,
}

/// The account's runs, newest first.
#[server(endpoint = "admin/imports")]
pub async fn import_runs() -> Result<Vec<Run>, AppError> {
    let me = crate::ssr::require_agent().await?;
    let actor = domain::actor::Actor::Agent(me.actor);
    Ok(domain::import::service::list(&crate::ssr::pool()?, &actor, None).await?)
}

/// One run, with the account's support types and agents for its mapping.
#[server(endpoint = "admin/import")]
pub async fn import_run(id: Uuid) -> Result<RunView, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    let run = domain::import::run::get(&pool, &actor, id).await?;
    let filter = domain::support_types::SupportTypeFilter {
        account_id: Some(run.account_id),
        include_archived: false,
    };
    let types = domain::support_types::list(&pool, &actor, filter)
        .await?
        .into_iter()
        .map(|t| Choice { id: t.id.0, label: t.name })
        .collect();
    let filter = domain::agents::AgentFilter { account_id: Some(run.account_id), ..Default::default() };
    let agents = domain::agents::list(&pool, &actor, filter)
        .await?
        .into_iter()
        .map(|a| {
            let gone = if a.deactivated_at.is_some() { " (deactivated)" } else { "" };
            Choice { id: a.id.0, label: format!("{} <{}>{gone}", a.display_name, a.email) }
        })
        .collect();
    Ok(RunView { run, types, agents })
}

/// Plans the run again with `mapping` (the mapping screen's choices, as
/// JSON: group names and e-mails are free text, which a form body would
/// have to nest).
#[server(endpoint = "admin/import/mapping")]
pub async fn import_set_mapping(id: Uuid, mapping: String) -> Result<Run, AppError> {
    let me = crate::ssr::require_agent().await?;
    let actor = domain::actor::Actor::Agent(me.actor);
    let mapping: Mapping = serde_json::from_str(&mapping)
        .map_err(|e| domain::Error::invalid("mapping", format!("the mapping cannot be read: {e}")))?;
    let (pool, files) = (crate::ssr::pool()?, crate::ssr::files()?);
    Ok(domain::import::service::set_mapping(&pool, &files, &actor, id, mapping).await?)
}

/// Starts the run (or resumes it from its checkpoint) in the background.
#[server(endpoint = "admin/import/apply")]
pub async fn import_apply(id: Uuid) -> Result<Run, AppError> {
    let me = crate::ssr::require_agent().await?;
    let actor = domain::actor::Actor::Agent(me.actor);
    let (pool, files) = (crate::ssr::pool()?, crate::ssr::files()?);
    Ok(domain::import::service::apply(&pool, &files, &actor, id).await?)
}

/// Stops the run after the batch it is writing.
#[server(endpoint = "admin/import/cancel")]
pub async fn import_cancel(id: Uuid) -> Result<Run, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    domain::import::run::cancel(&pool, &actor, id).await?;
    Ok(domain::import::run::get(&pool, &actor, id).await?)
}

fn status_label(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Ready => "Ready to apply",
        RunStatus::Running => "Importing",
        RunStatus::Cancelling => "Stopping after this batch",
        RunStatus::Cancelled => "Cancelled",
        RunStatus::Failed => "Interrupted",
        RunStatus::Completed => "Completed",
    }
}

fn status_class(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800",
        RunStatus::Failed => "rounded-full bg-rose-50 px-2 py-0.5 text-xs font-medium text-rose-800",
        RunStatus::Running | RunStatus::Cancelling => {
            "rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-800"
        }
        RunStatus::Ready | RunStatus::Cancelled => {
            "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700"
        }
    }
}

/// `12345` → `12,345`.
fn thousands(n: impl Into<i64>) -> String {
    let n = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Where a run stands, as its progress bar shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Progress {
    status: RunStatus,
    position: i64,
    total: i64,
    created: i64,
    matched: i64,
    skipped: i64,
}

impl Progress {
    fn of(run: &Run) -> Self {
        Self {
            status: run.status,
            position: run.position.into(),
            total: run.total.into(),
            created: run.created.into(),
            matched: run.matched.into(),
            skipped: run.skipped.into(),
        }
    }
}

#[component]
fn ProgressBar(progress: Signal<Progress>) -> impl IntoView {
    let label = move || {
        let p = progress.get();
        format!("{} of {} conversations", thousands(p.position), thousands(p.total))
    };
    let bar = move || {
        let p = progress.get();
        let (done, total) =
            (p.position.min(i64::from(i32::MAX)) as i32, p.total.min(i64::from(i32::MAX)) as i32);
        format!("h-2 rounded bg-indigo-600 transition-all {}", width_class(done, total))
    };
    view! {
        <div>
            <div role="progressbar" aria-label="Import progress" aria-valuemin="0"
                aria-valuemax=move || progress.get().total.to_string()
                aria-valuenow=move || progress.get().position.to_string()
                aria-valuetext=label
                class="h-2 w-full overflow-hidden rounded bg-slate-200" data-testid="import-progress">
                <div class=bar></div>
            </div>
            <p class="mt-1 text-xs text-slate-600" data-testid="import-progress-text">
                {label} " · "
                {move || {
                    let p = progress.get();
                    format!("{} created, {} already imported, {} skipped",
                        thousands(p.created), thousands(p.matched), thousands(p.skipped))
                }}
            </p>
        </div>
    }
}

// ---- /admin/import -------------------------------------------------------

/// Where the upload stands.
#[derive(Debug, Clone, PartialEq)]
// Uploads start in the browser only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Upload {
    Idle,
    /// The share sent so far, 0 to 1.
    Sending(f64),
    /// Sent: the server reads the file and plans it.
    Reading,
    Failed(String),
}

/// `/admin/import`: the upload form and the account's runs.
#[component]
pub fn ImportPage() -> impl IntoView {
    let runs = Resource::new(|| (), |()| import_runs());
    view! {
        <Title text="Import"/>
        <AdminFrame path="/admin/import" section=Section::Import title="Import history".to_owned()>
            <p class="max-w-3xl text-sm text-slate-600">
                "Bring the conversations of the helpdesk you are replacing into this account, with their dates, "
                "notes, ratings and tags, so that the reports start with your history. Nothing is imported until "
                "you have seen the dry run and applied it; imported conversations send no e-mail, webhook or alert."
            </p>
            <UploadForm/>
            <section aria-labelledby="runs-heading" class="mt-8 space-y-2">
                <h2 id="runs-heading" class="text-base font-semibold">"Imports"</h2>
                <Transition fallback=ListSkeleton>
                    {move || runs.get().map(|r| match r {
                        Ok(list) => run_table(list).into_any(),
                        Err(e) => page_error("the imports", e),
                    })}
                </Transition>
            </section>
        </AdminFrame>
    }
}

/// Format, source label and file; the upload's progress, then its error or
/// the run's page.
#[component]
fn UploadForm() -> impl IntoView {
    let upload = RwSignal::new(Upload::Idle);
    let busy = move || matches!(upload.get(), Upload::Sending(_) | Upload::Reading);
    let format = RwSignal::new(Format::Deskpro.as_str().to_owned());
    let source = RwSignal::new(String::new());
    let file_input = NodeRef::<leptos::html::Input>::new();
    // Taken here, in the component: the upload's callback runs outside it.
    let navigate = leptos_router::hooks::use_navigate();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = file_input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0)) else {
                upload.set(Upload::Failed("Choose the export file first.".to_owned()));
                return;
            };
            let navigate = navigate.clone();
            let open = move |run: Uuid| navigate(&format!("/admin/import/{run}"), Default::default());
            send(file, format.get_untracked(), source.get_untracked(), upload, open);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (file_input, upload, &navigate);
    };
    view! {
        <form class="mt-6 max-w-3xl space-y-4 rounded-xl border border-slate-200 bg-white p-4"
            aria-label="Upload an export" on:submit=on_submit>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for="import-format" class="block text-sm font-medium text-slate-700">"Format"</label>
                    <select id="import-format" class=format!("mt-1 w-full {SELECT}")
                        on:change=move |ev| format.set(event_target_value(&ev))>
                        {Format::ALL.iter().map(|f| view! {
                            <option value=f.as_str() selected=*f == Format::Deskpro>{f.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for="import-source" class="block text-sm font-medium text-slate-700">"Source label (optional)"</label>
                    <input id="import-source" type="text" placeholder="the format's name" maxlength="63"
                        aria-describedby="import-source-help"
                        class="mt-1 w-full rounded-lg border border-slate-300 px-3 py-1.5 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                        on:input=move |ev| source.set(event_target_value(&ev))/>
                    <p id="import-source-help" class="mt-1 text-xs text-slate-500">
                        "Names the helpdesk the ids come from; give two instances of one helpdesk different labels."
                    </p>
                </div>
            </div>
            <div>
                <label for="import-file" class="block text-sm font-medium text-slate-700">"Export file"</label>
                <input id="import-file" node_ref=file_input type="file" accept=".json,.jsonl,.ndjson,.csv,application/json,text/csv"
                    class=format!("mt-1 block w-full text-sm text-slate-700 file:mr-3 file:rounded-lg file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium hover:file:bg-slate-200 {FOCUS}")
                    data-testid="import-file"/>
                <p class="mt-1 text-xs text-slate-500">"JSON, JSONL or CSV, up to 256 MB (or the limit your server sets)."</p>
            </div>
            <div class="flex flex-wrap items-center gap-3">
                <button type="submit" class=PRIMARY disabled=busy>
                    {move || if busy() { "Uploading…" } else { "Upload and check" }}
                </button>
                {move || match upload.get() {
                    Upload::Sending(share) => view! {
                        <div class="flex items-center gap-2 text-sm text-slate-600" role="status">
                            <progress max="1" value=share.to_string() aria-label="Uploading the export"
                                class="h-2 w-48 overflow-hidden rounded accent-indigo-600"></progress>
                            {format!("Uploading… {:.0}%", share * 100.0)}
                        </div>
                    }.into_any(),
                    Upload::Reading => view! {
                        <p class="text-sm text-slate-600" role="status">
                            "Uploaded. Reading the file and preparing the dry run…"
                        </p>
                    }.into_any(),
                    Upload::Failed(why) => view! {
                        <p class="text-sm text-rose-700" role="alert" data-testid="import-error">{why}</p>
                    }.into_any(),
                    Upload::Idle => ().into_any(),
                }}
            </div>
        </form>
    }
}

/// Uploads `file` and, once the server has planned it, opens its run.
#[cfg(feature = "hydrate")]
fn send(
    file: web_sys::File,
    format: String,
    source: String,
    upload: RwSignal<Upload>,
    open: impl FnOnce(Uuid) + 'static,
) {
    let mut url = format!("/api/v1/imports?format={format}");
    let source = source.trim();
    if !source.is_empty() {
        url.push_str("&source=");
        url.push_str(&String::from(js_sys::encode_uri_component(source)));
    }
    upload.set(Upload::Sending(0.0));
    crate::components::upload::post_file(
        &url,
        &file,
        None,
        move |share| upload.set(if share >= 1.0 { Upload::Reading } else { Upload::Sending(share) }),
        move |answer| match answer.map(|text| serde_json::from_str::<Run>(&text)) {
            Ok(Ok(run)) => {
                upload.set(Upload::Idle);
                open(run.id);
            }
            Ok(Err(_)) => upload.set(Upload::Failed("The server's answer could not be read.".to_owned())),
            Err(why) => upload.set(Upload::Failed(why)),
        },
    );
}

fn run_table(runs: Vec<Run>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="text-sm text-slate-500">"No imports yet."</p> }.into_any();
    }
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="import-runs">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-4 py-2">"Uploaded"</th>
                        <th scope="col" class="px-4 py-2">"File"</th>
                        <th scope="col" class="px-4 py-2">"Status"</th>
                        <th scope="col" class="px-4 py-2 text-right">"Conversations"</th>
                        <th scope="col" class="px-4 py-2 text-right">"Created"</th>
                        <th scope="col" class="px-4 py-2 text-right">"Skipped"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {runs.into_iter().map(|r| view! {
                        <tr>
                            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{r.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                            <td class="px-4 py-2">
                                <a href=format!("/admin/import/{}", r.id) class="font-medium text-indigo-700 underline hover:no-underline">
                                    {r.file_name.clone()}
                                </a>
                                <span class="ml-2 text-xs text-slate-500">{r.format.as_str()}</span>
                            </td>
                            <td class="px-4 py-2"><span class=status_class(r.status)>{status_label(r.status)}</span></td>
                            <td class="px-4 py-2 text-right tabular-nums">{format!("{} of {}", thousands(r.position), thousands(r.total))}</td>
                            <td class="px-4 py-2 text-right tabular-nums">{thousands(r.created)}</td>
                            <td class="px-4 py-2 text-right tabular-nums">{thousands(r.skipped)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

// ---- /admin/import/{id} --------------------------------------------------

/// `/admin/import/{id}`: the dry run, the mapping screen, and the run.
#[component]
pub fn ImportRunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let view_of = Resource::new(id, |id| async move {
        match id {
            Some(id) => import_run(id).await,
            None => Err(AppError::Domain(domain::Error::not_found("import"))),
        }
    });
    // The run's progress as the WebSocket reports it (None: as loaded).
    let live = RwSignal::new(None::<Progress>);
    let link = crate::live::connect(None, move |frame| {
        let domain::live::ServerFrame::ImportProgress {
            run_id,
            status,
            position,
            total,
            created,
            matched,
            skipped,
            ..
        } = frame
        else {
            return;
        };
        if Some(run_id) != id() {
            return;
        }
        live.set(Some(Progress { status, position, total, created, matched, skipped }));
        if !matches!(status, RunStatus::Running | RunStatus::Cancelling) {
            // Finished: the final counts and skips are on the run.
            view_of.refetch();
        }
    });
    let toasts = Toasts::new();
    let title = Signal::derive(move || {
        view_of.get().and_then(Result::ok).map_or_else(|| "Import".to_owned(), |v| v.run.file_name)
    });
    view! {
        <Title text=move || title.get()/>
        <AdminFrame path=format!("/admin/import/{}", id().map(|i| i.to_string()).unwrap_or_default())
            section=Section::Import title>
            <p class="-mt-4 mb-4 text-sm text-slate-600">
                <a href="/admin/import" class="text-indigo-700 underline hover:no-underline">"All imports"</a>
                <span class="ml-3 text-xs text-slate-500" aria-live="polite" data-testid="import-live">
                    {move || format!("Live progress: {}", link.state.get().label())}
                </span>
            </p>
            <Transition fallback=ListSkeleton>
                {move || view_of.get().map(|r| match r {
                    Ok(v) => {
                        live.set(None);
                        view! { <RunDetail view=v live toasts reload=move || view_of.refetch()/> }.into_any()
                    }
                    Err(e) => page_error("the import", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

#[component]
fn RunDetail(
    view: RunView,
    live: RwSignal<Option<Progress>>,
    toasts: Toasts,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let RunView { run, types, agents } = view;
    let loaded = Progress::of(&run);
    let progress = Signal::derive(move || live.get().unwrap_or(loaded));
    let run_id = run.id;
    let apply = Action::new(move |(): &()| import_apply(run_id));
    let cancel = Action::new(move |(): &()| import_cancel(run_id));
    for action in [apply, cancel] {
        Effect::new(move |_| match action.value().get() {
            Some(Ok(r)) => {
                live.set(Some(Progress::of(&r)));
                reload();
            }
            Some(Err(e)) => toasts.error(e.user_message()),
            None => {}
        });
    }
    let status = move || progress.get().status;
    let editable = move || matches!(status(), RunStatus::Ready | RunStatus::Cancelled | RunStatus::Failed);
    let dirty = RwSignal::new(false);
    let resumes = run.position > 0;
    let started = run.started_at.is_some();
    let plan = run.plan.clone().unwrap_or_default();
    let summary = format!(
        "{} · {} · {}",
        run.format.label(),
        domain::attachments::size_label(run.file_bytes as f64),
        run.source
    );
    view! {
        <div class="space-y-8">
            <section aria-labelledby="run-heading" class="space-y-3 rounded-xl border border-slate-200 bg-white p-4">
                <div class="flex flex-wrap items-center justify-between gap-3">
                    <div>
                        <h2 id="run-heading" class="text-base font-semibold">
                            <span class=move || status_class(status()) data-testid="import-status">{move || status_label(status())}</span>
                        </h2>
                        <p class="mt-1 text-xs text-slate-500">{summary}</p>
                    </div>
                    <div class="flex flex-wrap gap-2">
                        <Show when=move || matches!(status(), RunStatus::Running)>
                            <button type="button" class=SECONDARY disabled=move || cancel.pending().get()
                                on:click=move |_| { cancel.dispatch(()); }>
                                "Cancel import"
                            </button>
                        </Show>
                        <Show when=editable>
                            <button type="button" class=PRIMARY
                                disabled=move || apply.pending().get() || dirty.get()
                                aria-describedby="apply-help"
                                on:click=move |_| { apply.dispatch(()); }>
                                {move || if apply.pending().get() { "Starting…" }
                                    else if resumes { "Resume import" } else { "Apply import" }}
                            </button>
                        </Show>
                    </div>
                </div>
                <p id="apply-help" class="text-xs text-slate-500">
                    {move || if dirty.get() {
                        "You changed the mapping: check it again to see its dry run before applying."
                    } else if editable() && resumes {
                        "Applying again continues from the last checkpoint; nothing is imported twice."
                    } else if editable() {
                        "Applying imports the conversations below in batches of 500; you can cancel at any time and resume later."
                    } else {
                        ""
                    }}
                </p>
                <Show when=move || started || !matches!(status(), RunStatus::Ready)>
                    <ProgressBar progress/>
                </Show>
                {run.error.clone().filter(|_| run.status == RunStatus::Failed).map(|e| view! {
                    <ErrorAlert title="The import stopped" message=e/>
                })}
                <Show when=move || status() == RunStatus::Completed>
                    <p role="status" class="rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-800">
                        "Imported. The history is in the "
                        <a href="/admin/reports" class="underline hover:no-underline">"reports"</a>
                        " on its original dates: choose their range there."
                    </p>
                </Show>
            </section>
            {(run.status == RunStatus::Completed).then(|| view! {
                <section aria-labelledby="done-heading" class="space-y-2">
                    <h2 id="done-heading" class="text-base font-semibold">"What was imported"</h2>
                    <Skips skips=run.skips.clone() by_kind=BTreeMap::new()/>
                    <FileSkips skips=run.file_skips.clone() title="Files not imported"/>
                </section>
            })}
            <section aria-labelledby="plan-heading" class="space-y-3">
                <h2 id="plan-heading" class="text-base font-semibold">"Dry run"</h2>
                <p class="text-sm text-slate-600">"What applying this file with the mapping below does. Nothing is written until you apply it."</p>
                <PlanCounts counts=plan.counts/>
                <Skips skips=plan.skips.clone() by_kind=plan.skipped_by_kind.clone()/>
                <FileSkips skips=plan.file_skips.clone() title="Files that cannot be imported"/>
            </section>
            <MappingForm run_id mapping=run.mapping.clone() plan types agents editable dirty toasts reload/>
        </div>
    }
}

#[component]
fn PlanCounts(counts: Counts) -> impl IntoView {
    let rows = [
        ("Conversations in the file", counts.conversations),
        ("Sessions to create", counts.created),
        ("Already imported", counts.matched),
        ("Skipped", counts.skipped),
        ("Messages", counts.messages),
        ("Notes", counts.notes),
        ("Ratings (CSAT)", counts.csat),
        ("Tags", counts.tags),
        ("Customers to create", counts.customers_created),
        ("Customers matched", counts.customers_matched),
        ("Agents to create (deactivated)", counts.agents_created),
        ("Files", counts.files),
        ("Files not imported", counts.files_skipped),
    ];
    view! {
        <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4" data-testid="import-plan">
            {rows.into_iter().map(|(label, n)| view! {
                <div class="rounded-lg border border-slate-200 bg-white p-3">
                    <dt class="text-xs text-slate-500">{label}</dt>
                    <dd class="mt-1 text-lg font-semibold tabular-nums">{thousands(n as i64)}</dd>
                </div>
            }).collect_view()}
        </dl>
    }
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "invalid" => "Unreadable record",
        "open" => "Still open in the source",
        "deleted" => "Deleted or spam in the source",
        "no_support_type" => "No support type for its group",
        "agent" => "Agent of another account, not mapped",
        "refused" => "Refused by the database",
        other => other,
    }
}

/// Skips by kind, then the first ones with their records and reasons.
#[component]
fn Skips(skips: Vec<domain::import::Skip>, by_kind: BTreeMap<String, u64>) -> impl IntoView {
    if skips.is_empty() && by_kind.is_empty() {
        return view! { <p class="text-sm text-slate-500">"Nothing is skipped."</p> }.into_any();
    }
    let total = skips.len();
    view! {
        <div class="space-y-2">
            {(!by_kind.is_empty()).then(|| view! {
                <ul class="flex flex-wrap gap-2 text-sm" aria-label="Skipped, by reason">
                    {by_kind.into_iter().map(|(k, n)| view! {
                        <li class="rounded-full bg-amber-50 px-3 py-1 text-amber-900">
                            {kind_label(&k).to_owned()} ": " <span class="font-semibold tabular-nums">{thousands(n as i64)}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            <SkipTable summary=format!("Skipped records ({})", thousands(total as i64)) testid="import-skips" total
                headers=&["Record", "Why", "Field", "Reason"]
                rows=skips.into_iter().take(SHOWN).map(|s| view! {
                    <tr>
                        <td class="whitespace-nowrap px-4 py-2 font-mono text-xs">
                            {s.record}{s.source_id.map(|id| format!(" (id {id})"))}
                        </td>
                        <td class="px-4 py-2">{kind_label(s.kind.as_str()).to_owned()}</td>
                        <td class="px-4 py-2 font-mono text-xs">{s.field.unwrap_or_default()}</td>
                        <td class="px-4 py-2 text-slate-700">{s.reason}</td>
                    </tr>
                }.into_any()).collect()/>
        </div>
    }
    .into_any()
}

/// Messages' files that were not imported (their conversations were),
/// with the reasons: unreachable, refused by the account's limits, on a
/// note.
#[component]
fn FileSkips(skips: Vec<domain::import::FileSkip>, title: &'static str) -> impl IntoView {
    if skips.is_empty() {
        return ().into_any();
    }
    let total = skips.len();
    view! {
        <SkipTable summary=format!("{title} ({})", thousands(total as i64)) testid="import-file-skips" total
            headers=&["Record", "File", "Reason"]
            rows=skips.into_iter().take(SHOWN).map(|s| view! {
                <tr>
                    <td class="whitespace-nowrap px-4 py-2 font-mono text-xs">
                        {s.record}{s.source_id.map(|id| format!(" (id {id})"))}
                    </td>
                    <td class="px-4 py-2">{s.file_name}</td>
                    <td class="px-4 py-2 text-slate-700">{s.reason}</td>
                </tr>
            }.into_any()).collect()/>
    }
    .into_any()
}

/// How many skipped records or files a page lists (the API has the first 1,000).
const SHOWN: usize = 200;

/// A list of skipped things as a table that opens by itself when short;
/// `rows` are the first [`SHOWN`] of `total`.
#[component]
fn SkipTable(
    summary: String,
    testid: &'static str,
    total: usize,
    headers: &'static [&'static str],
    rows: Vec<AnyView>,
) -> impl IntoView {
    let more = total.saturating_sub(rows.len());
    view! {
        <details class="rounded-xl border border-slate-200 bg-white" open=total <= 20>
            <summary class=format!("cursor-pointer px-4 py-2 text-sm font-medium {FOCUS}")>{summary}</summary>
            <div class="overflow-x-auto">
                <table class="min-w-full text-sm" data-testid=testid>
                    <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                        <tr>
                            {headers.iter().map(|h| view! { <th scope="col" class="px-4 py-2">{*h}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">{rows}</tbody>
                </table>
            </div>
            {(more > 0).then(|| view! {
                <p class="px-4 py-2 text-xs text-slate-500">{format!("and {} more (the API lists the first 1,000)", thousands(more as i64))}</p>
            })}
        </details>
    }
}

/// The mapping screen: each group to a support type, each unmatched agent
/// to an agent (or created), and "Check again" to plan with it.
#[component]
fn MappingForm(
    run_id: Uuid,
    mapping: Mapping,
    plan: Plan,
    types: Vec<Choice>,
    agents: Vec<Choice>,
    editable: impl Fn() -> bool + Copy + Send + Sync + 'static,
    dirty: RwSignal<bool>,
    toasts: Toasts,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let choice = RwSignal::new(mapping);
    let check = Action::new(move |m: &Mapping| {
        let json = serde_json::to_string(m).unwrap_or_default();
        import_set_mapping(run_id, json)
    });
    Effect::new(move |_| match check.value().get() {
        Some(Ok(_)) => {
            dirty.set(false);
            toasts.success("Checked again with your mapping");
            reload();
        }
        Some(Err(e)) => toasts.error(e.user_message()),
        None => {}
    });
    let types = StoredValue::new(types);
    let agents = StoredValue::new(agents);
    let type_name = move |id: Option<SupportTypeId>| {
        id.and_then(|id| types.with_value(|t| t.iter().find(|c| c.id == id.0).map(|c| c.label.clone())))
    };
    let agent_name = move |id: AgentId| {
        agents.with_value(|a| a.iter().find(|c| c.id == id.0).map(|c| c.label.clone())).unwrap_or_default()
    };
    let type_options = move |selected: Option<SupportTypeId>| {
        types.with_value(|t| {
            t.iter()
                .map(|c| view! { <option value=c.id.to_string() selected=selected.is_some_and(|s| s.0 == c.id)>{c.label.clone()}</option> })
                .collect_view()
        })
    };
    let agent_options = move |selected: Option<AgentId>| {
        agents.with_value(|a| {
            a.iter()
                .map(|c| view! { <option value=c.id.to_string() selected=selected.is_some_and(|s| s.0 == c.id)>{c.label.clone()}</option> })
                .collect_view()
        })
    };
    let set = move |f: Box<dyn FnOnce(&mut Mapping)>| {
        choice.update(|m| f(m));
        dirty.set(true);
    };
    let initial = choice.get_untracked();
    let default_type = initial.default_type;
    let unmatched_to = match initial.unmatched_agents {
        Unmatched::MapTo(a) => Some(a),
        Unmatched::Create => None,
    };
    let groups = plan.groups.clone();
    let file_agents = plan.agents.clone();
    view! {
        <section aria-labelledby="mapping-heading" class="space-y-4">
            <h2 id="mapping-heading" class="text-base font-semibold">"Mapping"</h2>
            <fieldset disabled=move || !editable() class="min-w-0 space-y-6">
                <div class="space-y-2">
                    <h3 class="text-sm font-semibold text-slate-700">"Departments, groups and inboxes → support types"</h3>
                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                        <table class="min-w-full text-sm" data-testid="import-groups">
                            <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                                <tr>
                                    <th scope="col" class="px-4 py-2">"In the file"</th>
                                    <th scope="col" class="px-4 py-2 text-right">"Conversations"</th>
                                    <th scope="col" class="px-4 py-2">"Now"</th>
                                    <th scope="col" class="px-4 py-2">"Support type"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {groups.into_iter().enumerate().map(|(i, g)| {
                                    let name = g.name.clone();
                                    let shown = if name.is_empty() { "(none)".to_owned() } else { name.clone() };
                                    let now = match (type_name(g.support_type_id), g.how.as_str()) {
                                        (Some(t), "mapped") => format!("{t} (mapped)"),
                                        (Some(t), "same name") => format!("{t} (same name)"),
                                        (Some(t), _) => format!("{t} (default)"),
                                        (None, _) => "Skipped: no support type".to_owned(),
                                    };
                                    let selected = initial.types.get(&name).copied();
                                    let select_id = format!("group-{i}");
                                    view! {
                                        <tr>
                                            <th scope="row" class="px-4 py-2 text-left font-medium">
                                                <label for=select_id.clone()>{shown}</label>
                                            </th>
                                            <td class="px-4 py-2 text-right tabular-nums">{thousands(g.conversations as i64)}</td>
                                            <td class="px-4 py-2 text-slate-600">{now}</td>
                                            <td class="px-4 py-2">
                                                <select id=select_id class=SELECT data-testid="group-type"
                                                    on:change=move |ev| {
                                                        let value = event_target_value(&ev);
                                                        let name = name.clone();
                                                        set(Box::new(move |m| match value.parse::<Uuid>() {
                                                            Ok(id) => { m.types.insert(name, SupportTypeId(id)); }
                                                            Err(_) => { m.types.remove(&name); }
                                                        }));
                                                    }>
                                                    <option value="" selected=selected.is_none()>"Automatic: same name, else the default"</option>
                                                    {type_options(selected)}
                                                </select>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="flex flex-wrap items-center gap-2 text-sm">
                        <label for="default-type" class="text-slate-700">"Any other group goes to"</label>
                        <select id="default-type" class=SELECT on:change=move |ev| {
                            let value = event_target_value(&ev).parse::<Uuid>().ok().map(SupportTypeId);
                            set(Box::new(move |m| m.default_type = value));
                        }>
                            <option value="" selected=default_type.is_none()>"nowhere: skip its conversations"</option>
                            {type_options(default_type)}
                        </select>
                    </div>
                </div>
                <div class="space-y-2">
                    <h3 class="text-sm font-semibold text-slate-700">"Agents"</h3>
                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                        <table class="min-w-full text-sm" data-testid="import-agents">
                            <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                                <tr>
                                    <th scope="col" class="px-4 py-2">"In the file"</th>
                                    <th scope="col" class="px-4 py-2 text-right">"Mentions"</th>
                                    <th scope="col" class="px-4 py-2">"Now"</th>
                                    <th scope="col" class="px-4 py-2">"Credit to"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {file_agents.into_iter().enumerate().map(|(i, a)| {
                                    let now = match a.action {
                                        AgentAction::Matched { agent_id } => format!("Matched: {}", agent_name(agent_id)),
                                        AgentAction::Mapped { agent_id } => format!("Mapped: {}", agent_name(agent_id)),
                                        AgentAction::Create => "Will be created, deactivated".to_owned(),
                                        AgentAction::Foreign => "Belongs to another account: map it".to_owned(),
                                    };
                                    let who = match (&a.name, &a.email) {
                                        (Some(n), Some(e)) => format!("{n} <{e}>"),
                                        (None, Some(e)) => e.clone(),
                                        (Some(n), None) => n.clone(),
                                        (None, None) => "(unnamed)".to_owned(),
                                    };
                                    let email = a.email.clone().map(|e| e.to_lowercase());
                                    let selected = email.as_ref().and_then(|e| initial.agents.get(e).copied());
                                    let select_id = format!("agent-{i}");
                                    view! {
                                        <tr>
                                            <th scope="row" class="px-4 py-2 text-left font-medium">
                                                <label for=select_id.clone()>{who}</label>
                                            </th>
                                            <td class="px-4 py-2 text-right tabular-nums">{thousands(a.mentions as i64)}</td>
                                            <td class="px-4 py-2 text-slate-600">{now}</td>
                                            <td class="px-4 py-2">
                                                {match email {
                                                    Some(email) => view! {
                                                        <select id=select_id class=SELECT data-testid="agent-map"
                                                            on:change=move |ev| {
                                                                let value = event_target_value(&ev);
                                                                let email = email.clone();
                                                                set(Box::new(move |m| match value.parse::<Uuid>() {
                                                                    Ok(id) => { m.agents.insert(email, AgentId(id)); }
                                                                    Err(_) => { m.agents.remove(&email); }
                                                                }));
                                                            }>
                                                            <option value="" selected=selected.is_none()>"Automatic: by e-mail, else below"</option>
                                                            {agent_options(selected)}
                                                        </select>
                                                    }.into_any(),
                                                    None => view! { <span id=select_id class="text-slate-500">"Without an e-mail: as below"</span> }.into_any(),
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="flex flex-wrap items-center gap-2 text-sm">
                        <label for="unmatched-agents" class="text-slate-700">"Agents this account does not have"</label>
                        <select id="unmatched-agents" class=SELECT on:change=move |ev| {
                            let value = event_target_value(&ev).parse::<Uuid>().ok().map(AgentId);
                            set(Box::new(move |m| {
                                m.unmatched_agents = value.map_or(Unmatched::Create, Unmatched::MapTo);
                            }));
                        }>
                            <option value="" selected=unmatched_to.is_none()>"are created, deactivated (they keep their names)"</option>
                            {agent_options(unmatched_to)}
                        </select>
                    </div>
                </div>
                <div class="flex items-center gap-3">
                    <button type="button" class=SECONDARY disabled=move || check.pending().get()
                        on:click=move |_| { check.dispatch(choice.get_untracked()); }>
                        {move || if check.pending().get() { "Checking…" } else { "Check again with this mapping" }}
                    </button>
                    <Show when=move || dirty.get()>
                        <span class="text-xs text-amber-800">"Changed: not checked yet"</span>
                    </Show>
                </div>
            </fieldset>
        </section>
    }
}
