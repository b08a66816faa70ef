//! `/agent/sessions/{id}`: one session as an agent sees it: the transcript,
//! the customer, notes and tags. Every piece of text here came from someone
//! else (customers, agents, bots) and is rendered as text, never as markup.

use domain::{
    conversation::{Message, Note, SessionTag},
    customers::Customer,
    sessions::Session,
    types::{SenderKind, SessionId},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::{
    AppError,
    components::{alert::ErrorAlert, shell::RequireSignIn},
    pages::agent::ListSkeleton,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub session: Session,
    pub support_type: String,
    pub customer: Option<Customer>,
    /// Oldest first.
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    pub tags: Vec<SessionTag>,
}

#[server(endpoint = "agent/session")]
pub async fn session_detail(id: SessionId) -> Result<SessionView, AppError> {
    use domain::{actor::Actor, conversation, customers, sessions, support_types};
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    let actor = Actor::Agent(me.actor);
    let session = sessions::get(&pool, &actor, id).await?;
    let support_type = support_types::get(&pool, &actor, session.support_type_id)
        .await
        .map(|t| t.name)
        .unwrap_or_else(|_| "Support".to_owned());
    let customer = customers::get(&pool, &actor, session.customer_id).await.ok();
    let mut messages = conversation::history(&pool, &actor, id, None, Some(200)).await?.items;
    messages.reverse();
    let notes = conversation::notes(&pool, &actor, id).await?;
    let tags = conversation::tags(&pool, &actor, id).await?;
    Ok(SessionView { session, support_type, customer, messages, notes, tags })
}

#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<SessionId>().ok());
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => session_detail(id).await.map(Some),
            None => Ok(None),
        }
    });
    let path = move || format!("/agent/sessions/{}", params.read().get("id").unwrap_or_default());
    view! {
        <Title text="Session"/>
        <RequireSignIn path=path() render=move |_me| view! { <Detail detail/> }/>
    }
}

#[component]
fn Detail(detail: Resource<Result<Option<SessionView>, AppError>>) -> impl IntoView {
    view! {
        <main class="mx-auto max-w-6xl px-6 py-8">
            <a href="/agent" class="text-sm text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">"← Workspace"</a>
            <Transition fallback=ListSkeleton>
                {move || detail.get().map(|r| match r {
                    Ok(Some(d)) => view! { <Loaded d/> }.into_any(),
                    Ok(None) => view! { <ErrorAlert title="No such session" message="Check the address."/> }.into_any(),
                    Err(e) => view! { <ErrorAlert title="Cannot show this session" message=e.user_message()/> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn Loaded(d: SessionView) -> impl IntoView {
    let customer_name = d
        .customer
        .as_ref()
        .and_then(|c| c.name.clone().or_else(|| c.email.clone()))
        .unwrap_or_else(|| "Anonymous customer".to_owned());
    let customer_email = d.customer.as_ref().and_then(|c| c.email.clone());
    view! {
        <div class="mt-4 grid gap-6 lg:grid-cols-[1fr_18rem]">
            <section aria-label="Conversation" class="rounded-xl border border-slate-200 bg-white">
                <header class="border-b border-slate-200 px-4 py-3">
                    <h1 class="text-base font-semibold" data-testid="customer-name">{customer_name.clone()}</h1>
                    <p class="text-sm text-slate-500">{d.support_type} " · " {d.session.status.to_string()}</p>
                </header>
                <ol class="space-y-3 p-4" data-testid="transcript" aria-live="polite">
                    {d.messages.into_iter().map(|m| {
                        let (row, bubble) = match m.sender_kind {
                            SenderKind::Customer => ("flex justify-start", "bg-slate-100 text-slate-900"),
                            SenderKind::System => ("flex justify-center", "bg-transparent text-slate-500 text-xs"),
                            _ => ("flex justify-end", "bg-indigo-600 text-white"),
                        };
                        view! {
                            <li class=row>
                                <div class=format!("max-w-[75%] whitespace-pre-wrap break-words rounded-lg px-3 py-2 text-sm {bubble}")>
                                    <span class="sr-only">{m.sender_kind.to_string()} ": "</span>
                                    {m.body}
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </section>
            <aside class="space-y-4" aria-label="Details">
                <section class="rounded-xl border border-slate-200 bg-white p-4">
                    <h2 class="text-sm font-semibold">"Customer"</h2>
                    <p class="mt-1 text-sm">{customer_name}</p>
                    {customer_email.map(|e| view! { <p class="text-sm text-slate-500">{e}</p> })}
                </section>
                <section class="rounded-xl border border-slate-200 bg-white p-4">
                    <h2 class="text-sm font-semibold">"Tags"</h2>
                    <ul class="mt-2 flex flex-wrap gap-2" data-testid="tags">
                        {d.tags.into_iter().map(|t| view! {
                            <li class="rounded-lg bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{t.name}</li>
                        }).collect_view()}
                    </ul>
                </section>
                <section class="rounded-xl border border-slate-200 bg-white p-4">
                    <h2 class="text-sm font-semibold">"Notes"</h2>
                    <ul class="mt-2 space-y-2" data-testid="notes">
                        {d.notes.into_iter().map(|n| view! {
                            <li class="whitespace-pre-wrap break-words rounded-lg bg-amber-50 px-3 py-2 text-sm text-slate-800">{n.body}</li>
                        }).collect_view()}
                    </ul>
                </section>
            </aside>
        </div>
    }
}
