//! `/agent`: the signed-in agent's inbox and waiting queue. (The full
//! three-pane workspace, live over WebSocket, builds on this page.)

use domain::types::SessionId;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    AppError,
    components::{alert::ErrorAlert, shell::RequireSignIn},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: SessionId,
    pub support_type: String,
    pub status: String,
    pub waiting_since: chrono::DateTime<chrono::Utc>,
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub inbox: Vec<SessionRow>,
    pub queue: Vec<SessionRow>,
}

#[server(endpoint = "agent/overview")]
pub async fn agent_overview() -> Result<Overview, AppError> {
    use domain::{actor::Actor, sessions, sessions::Session, support_types, types::SupportTypeId};
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    let actor = Actor::Agent(me.actor);
    let names: std::collections::HashMap<SupportTypeId, String> =
        support_types::list(&pool, &actor, support_types::SupportTypeFilter::default())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
    let row = |s: Session| SessionRow {
        id: s.id,
        support_type: names.get(&s.support_type_id).cloned().unwrap_or_else(|| "Support".to_owned()),
        status: s.status.to_string(),
        waiting_since: s.assigned_at.unwrap_or(s.queued_at),
        priority: s.priority,
    };
    let inbox = sessions::inbox(&pool, &actor, me.actor.id).await?.into_iter().map(row).collect();
    let queue = sessions::queue(&pool, &actor, None, Some(50)).await?.into_iter().map(row).collect();
    Ok(Overview { inbox, queue })
}

#[component]
pub fn AgentPage() -> impl IntoView {
    // Created once, here: a resource made inside the guard's reactive
    // closure would be re-created (and orphaned) on every re-render.
    let overview = Resource::new(|| (), |_| agent_overview());
    view! {
        <Title text="Workspace"/>
        <RequireSignIn path="/agent" render=move |_me| view! { <Workspace overview/> }/>
    }
}

#[component]
fn Workspace(overview: Resource<Result<Overview, AppError>>) -> impl IntoView {
    view! {
        <main class="mx-auto grid max-w-6xl gap-6 px-6 py-8 md:grid-cols-2">
            <Transition fallback=|| view! { <ListSkeleton/> <ListSkeleton/> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) => view! {
                        <SessionList title="Your sessions" testid="inbox" rows=o.inbox
                            empty="No active sessions. New ones arrive here when you are online."/>
                        <SessionList title="Waiting" testid="queue" rows=o.queue
                            empty="No sessions waiting. Nice."/>
                    }.into_any(),
                    Err(e) => view! { <ErrorAlert title="Cannot load your sessions" message=e.user_message()/> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn SessionList(
    title: &'static str,
    testid: &'static str,
    rows: Vec<SessionRow>,
    empty: &'static str,
) -> impl IntoView {
    let count = rows.len();
    view! {
        <section class="rounded-xl border border-slate-200 bg-white" data-testid=testid aria-label=title>
            <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold">{title} " (" {count} ")"</h2>
            {if rows.is_empty() {
                view! { <p class="px-4 py-6 text-sm text-slate-500">{empty}</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100">
                        {rows.into_iter().map(|r| view! {
                            <li class="flex items-center justify-between px-4 py-2 text-sm">
                                <a href=format!("/agent/sessions/{}", r.id)
                                    class="font-medium text-slate-800 hover:text-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                    {r.support_type}
                                </a>
                                <span class="text-slate-500">
                                    {r.status} " · since " {r.waiting_since.format("%H:%M").to_string()}
                                    {(r.priority > 0).then(|| format!(" · priority {}", r.priority))}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn ListSkeleton() -> impl IntoView {
    view! {
        <div class="space-y-2 rounded-xl border border-slate-200 bg-white p-4" aria-busy="true" aria-label="Loading">
            {(0..4).map(|_| view! { <div class="h-4 animate-pulse rounded bg-slate-100"></div> }).collect_view()}
        </div>
    }
}
