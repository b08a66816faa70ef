//! `/admin`: for administrators. The account's blasts with their progress,
//! and the audit log of security-relevant actions (logins, failures, tokens,
//! role changes, supervisor reassignments).

use domain::{audit::AuditEntry, blasts::BlastProgress, sessions::Page};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    AppError,
    components::{alert::ErrorAlert, shell::RequireSignIn},
    pages::agent::ListSkeleton,
};

#[server(endpoint = "admin/audit")]
pub async fn audit_log(before: Option<i64>) -> Result<Page<AuditEntry>, AppError> {
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    Ok(domain::audit::list(&pool, &domain::actor::Actor::Agent(me.actor), None, before, Some(50)).await?)
}

/// The caller's account's blasts, newest first, with their progress.
#[server(endpoint = "admin/blasts")]
pub async fn blast_list() -> Result<Vec<BlastProgress>, AppError> {
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    Ok(domain::blasts::list(&pool, &domain::actor::Actor::Agent(me.actor), None).await?)
}

#[component]
pub fn AdminPage() -> impl IntoView {
    // Created once, outside the guard's reactive closure (see AgentPage).
    let (before, set_before) = signal(None::<i64>);
    let page = Resource::new(move || before.get(), audit_log);
    let blasts = Resource::new(|| (), |()| blast_list());
    view! {
        <Title text="Admin"/>
        <RequireSignIn path="/admin" render=move |_me| view! {
            <Blasts blasts/>
            <AuditLog page set_before/>
        }/>
    }
}

/// Tailwind width classes in twelfths (inline styles are barred by the CSP).
const WIDTHS: [&str; 13] = [
    "w-0", "w-1/12", "w-2/12", "w-3/12", "w-4/12", "w-5/12", "w-6/12", "w-7/12", "w-8/12", "w-9/12",
    "w-10/12", "w-11/12", "w-full",
];

/// The width class for `done` of `total`, rounded down (full only when done).
fn width_class(done: i32, total: i32) -> &'static str {
    if total <= 0 {
        return WIDTHS[12];
    }
    let twelfths = (i64::from(done.clamp(0, total)) * 12 / i64::from(total)) as usize;
    WIDTHS[twelfths.min(12)]
}

#[component]
fn Blasts(blasts: Resource<Result<Vec<BlastProgress>, AppError>>) -> impl IntoView {
    view! {
        <Transition fallback=ListSkeleton>
            {move || blasts.get().map(|r| match r {
                Ok(list) => view! {
                    <section class="mx-auto max-w-6xl px-6 pt-8" aria-labelledby="blasts-heading">
                        <h2 id="blasts-heading" class="text-xl font-semibold">"Blasts"</h2>
                        <p class="mt-1 text-sm text-slate-600">"Messages to a segment of your customers, sent in the background."</p>
                        <BlastTable blasts=list/>
                    </section>
                }.into_any(),
                // Not an administrator: the audit log below says so.
                Err(AppError::Domain(domain::Error::Forbidden { .. })) => ().into_any(),
                Err(e) => view! { <ErrorAlert title="Cannot load the blasts" message=e.user_message()/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn BlastTable(blasts: Vec<BlastProgress>) -> impl IntoView {
    if blasts.is_empty() {
        return view! { <p class="mt-4 text-sm text-slate-500">"No blasts yet."</p> }.into_any();
    }
    view! {
        <div class="mt-4 overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="blasts">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-4 py-2">"Created"</th>
                        <th scope="col" class="px-4 py-2">"Message"</th>
                        <th scope="col" class="px-4 py-2">"Status"</th>
                        <th scope="col" class="px-4 py-2">"Progress"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {blasts.into_iter().map(|p| {
                        let b = p.blast;
                        let label = format!("{} of {} sent", b.sent, b.total);
                        let detail = format!(
                            "{} sent, {} failed, {} skipped, {} pending, {} to e-mail",
                            b.sent, b.failed, b.skipped, p.pending, p.email_pending
                        );
                        let bar = format!("h-2 rounded bg-indigo-600 {}", width_class(b.sent, b.total));
                        view! {
                            <tr>
                                <td class="whitespace-nowrap px-4 py-2 text-slate-600">{b.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                <td class="max-w-md truncate px-4 py-2">{b.body}</td>
                                <td class="px-4 py-2 font-medium">{b.status.as_str()}</td>
                                <td class="px-4 py-2">
                                    <div role="progressbar" aria-valuemin="0" aria-valuemax=b.total.to_string()
                                        aria-valuenow=b.sent.to_string() aria-valuetext=label.clone()
                                        aria-label="Blast progress" title=detail
                                        class="h-2 w-40 overflow-hidden rounded bg-slate-200">
                                        <div class=bar></div>
                                    </div>
                                    <span class="mt-1 block text-xs text-slate-500">{label}</span>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}

#[component]
fn AuditLog(
    page: Resource<Result<Page<AuditEntry>, AppError>>,
    set_before: WriteSignal<Option<i64>>,
) -> impl IntoView {
    view! {
        <main class="mx-auto max-w-6xl px-6 py-8">
            <h1 class="text-xl font-semibold">"Audit log"</h1>
            <p class="mt-1 text-sm text-slate-600">"Sign-ins, failures, API tokens, role changes and supervisor reassignments, newest first."</p>
            <div class="mt-6">
                <Transition fallback=ListSkeleton>
                    {move || page.get().map(|r| match r {
                        Ok(p) => {
                            let next = p.next_cursor.clone().and_then(|c| c.parse::<i64>().ok());
                            view! {
                                <AuditTable entries=p.items/>
                                {next.map(|n| view! {
                                    <button type="button" on:click=move |_| set_before.set(Some(n))
                                        class="mt-4 rounded-lg border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                        "Older entries"
                                    </button>
                                })}
                            }.into_any()
                        }
                        Err(AppError::Domain(domain::Error::Forbidden { .. })) => view! {
                            <ErrorAlert title="Administrators only" message="Ask an administrator if you need to see the audit log."/>
                        }.into_any(),
                        Err(e) => view! { <ErrorAlert title="Cannot load the audit log" message=e.user_message()/> }.into_any(),
                    })}
                </Transition>
            </div>
        </main>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="text-sm text-slate-500">"Nothing recorded yet."</p> }.into_any();
    }
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="audit-log">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-4 py-2">"When"</th>
                        <th scope="col" class="px-4 py-2">"Action"</th>
                        <th scope="col" class="px-4 py-2">"Target"</th>
                        <th scope="col" class="px-4 py-2">"Details"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {entries.into_iter().map(|e| view! {
                        <tr>
                            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{e.created_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                            <td class="px-4 py-2 font-medium">{e.action}</td>
                            <td class="px-4 py-2 font-mono text-xs text-slate-600">{e.target.unwrap_or_default()}</td>
                            <td class="px-4 py-2 font-mono text-xs text-slate-500">{e.details.to_string()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}
