//! `/admin`: for administrators. The audit log of security-relevant actions
//! (logins, failures, tokens, role changes, supervisor reassignments).

use domain::{audit::AuditEntry, sessions::Page};
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

#[component]
pub fn AdminPage() -> impl IntoView {
    // Created once, outside the guard's reactive closure (see AgentPage).
    let (before, set_before) = signal(None::<i64>);
    let page = Resource::new(move || before.get(), audit_log);
    view! {
        <Title text="Admin"/>
        <RequireSignIn path="/admin" render=move |_me| view! { <AuditLog page set_before/> }/>
    }
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
