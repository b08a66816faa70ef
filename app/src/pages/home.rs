//! The landing page: what Switchboard is, where its areas live, and a live
//! status card read from PostgreSQL through a server function.

use domain::system::SystemStatus;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{AppError, components::alert::ErrorAlert};

/// Reads the database clock and the schema version.
#[server(endpoint = "system_status")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    let pool = crate::ssr::pool()?;
    Ok(domain::system::status(&pool).await?)
}

struct Area {
    path: &'static str,
    title: &'static str,
    body: &'static str,
}

const AREAS: [Area; 3] = [
    Area {
        path: "/agent",
        title: "Agent workspace",
        body: "Inbox, waiting queue and conversations, with canned replies and one-key actions.",
    },
    Area {
        path: "/admin",
        title: "Administration",
        body: "Support types, agents, routing rules, reports and the live queue monitor.",
    },
    Area {
        path: "/chat/general",
        title: "Customer chat",
        body: "The page customers chat on, per support type, also embeddable as a widget.",
    },
];

#[component]
pub fn Home() -> impl IntoView {
    let (checks, set_checks) = signal(1u32);
    let status = Resource::new(move || checks.get(), |_| get_system_status());

    view! {
        <Title text="Customer support that routes itself"/>
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between px-6 py-4">
                <a href="/" class="flex items-center gap-2 text-lg font-semibold tracking-tight">
                    <span aria-hidden="true" class="inline-block h-6 w-6 rounded-lg bg-indigo-600"></span>
                    "Switchboard"
                </a>
                <nav aria-label="Main" class="flex gap-4 text-sm text-slate-600">
                    {AREAS.iter().map(|a| view! {
                        <a href=a.path class="rounded-lg px-2 py-1 hover:text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{a.title}</a>
                    }).collect_view()}
                </nav>
            </div>
        </header>
        <main class="mx-auto max-w-5xl px-6 py-12">
            <section aria-labelledby="intro">
                <h1 id="intro" class="text-4xl font-bold tracking-tight text-slate-900">
                    "Customer support that routes itself."
                </h1>
                <p class="mt-4 max-w-2xl text-lg text-slate-600">
                    "Switchboard is an open-source support platform. Customers chat on a web page; "
                    "sessions are routed to agents by round robin, capacity or preferred agent, and "
                    "escalated when they wait too long. Bots work the same sessions through the same API, "
                    "and hand off to people with the same reassign call."
                </p>
            </section>

            <section aria-label="Areas" class="mt-10 grid gap-4 sm:grid-cols-3">
                {AREAS.iter().map(|a| view! {
                    <a href=a.path class="group rounded-xl border border-slate-200 bg-white p-5 hover:border-indigo-300 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                        <h2 class="font-semibold text-slate-900 group-hover:text-indigo-700">{a.title}</h2>
                        <p class="mt-1 font-mono text-xs text-slate-500">{a.path}</p>
                        <p class="mt-3 text-sm text-slate-600">{a.body}</p>
                    </a>
                }).collect_view()}
            </section>

            <section aria-labelledby="status-title" class="mt-10 rounded-xl border border-slate-200 bg-white p-5">
                <div class="flex items-center justify-between gap-4">
                    <h2 id="status-title" class="font-semibold">"System status"</h2>
                    <button
                        type="button"
                        data-testid="refresh-status"
                        on:click=move |_| set_checks.update(|n| *n += 1)
                        class="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
                    >
                        "Check again"
                    </button>
                </div>
                <p class="mt-1 text-sm text-slate-500" data-testid="check-count" aria-live="polite">
                    {move || match checks.get() {
                        1 => "Checked once since this page loaded.".to_owned(),
                        n => format!("Checked {n} times since this page loaded."),
                    }}
                </p>
                <div class="mt-4">
                    <Transition fallback=StatusSkeleton>
                        {move || status.get().map(|result| match result {
                            Ok(s) => view! { <StatusFacts status=s/> }.into_any(),
                            Err(e) => view! {
                                <ErrorAlert title="Status unavailable" message=e.user_message()/>
                            }.into_any(),
                        })}
                    </Transition>
                </div>
            </section>
        </main>
    }
}

#[component]
fn StatusFacts(status: SystemStatus) -> impl IntoView {
    let schema = match (status.schema_version, status.schema_description) {
        (Some(v), Some(d)) => format!("{v} ({d})"),
        (Some(v), None) => v.to_string(),
        _ => "no migrations applied".to_owned(),
    };
    let time = status.database_time.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    view! {
        <dl class="grid gap-4 sm:grid-cols-2" data-testid="system-status">
            <div>
                <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">"Database time"</dt>
                <dd class="mt-1 font-mono text-sm" data-testid="database-time">{time}</dd>
            </div>
            <div>
                <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">"Schema version"</dt>
                <dd class="mt-1 font-mono text-sm" data-testid="schema-version">{schema}</dd>
            </div>
        </dl>
    }
}

#[component]
fn StatusSkeleton() -> impl IntoView {
    view! {
        <div class="grid gap-4 sm:grid-cols-2" aria-busy="true" aria-label="Loading status">
            {(0..2).map(|_| view! {
                <div class="space-y-2">
                    <div class="h-3 w-24 animate-pulse rounded bg-slate-200"></div>
                    <div class="h-4 w-40 animate-pulse rounded bg-slate-100"></div>
                </div>
            }).collect_view()}
        </div>
    }
}
