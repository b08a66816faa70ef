//! The left pane: the presence toggle, the link's state, the inbox and the
//! waiting queue. j/k or the arrow keys move between rows; Enter opens one.

use domain::{
    types::*,
    workspace::{Board, WorkItem},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::{ListSkeleton, Ws, api, clock, presence_label};
use crate::{
    AppError,
    components::alert::ErrorAlert,
    live::{LinkState, LiveLink},
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

#[component]
pub fn LeftPane(board: Resource<Result<Board, AppError>>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <Transition fallback=|| view! {
            <div class="space-y-3 p-3"><ListSkeleton/><ListSkeleton/></div>
        }>
            {move || board.get().map(|r| match r {
                Ok(b) => {
                    ws.seed_board(&b);
                    view! {
                        <div class="space-y-2 border-b border-slate-200 p-3">
                            <PresenceControl/>
                            <LinkStatus/>
                        </div>
                        <div class="min-h-0 flex-1 overflow-y-auto">
                            <SessionList kind=ListKind::Inbox/>
                            <SessionList kind=ListKind::Queue/>
                        </div>
                    }.into_any()
                }
                Err(e) => view! {
                    <div class="p-3">
                        <ErrorAlert title="Cannot load your sessions" message=format!("{} Reload the page to try again.", e.user_message())/>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
    .into_any()
}

fn dot_class(p: Presence) -> &'static str {
    match p {
        Presence::Online => "bg-emerald-500",
        Presence::Away => "bg-amber-400",
        Presence::Offline => "bg-slate-400",
    }
}

#[component]
fn PresenceControl() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let reason = RwSignal::new(ws.presence.get_untracked().reason.unwrap_or_default());
    let saving = RwSignal::new(false);
    let save = move |value: String, why: Option<String>| {
        let Ok(p) = value.parse::<Presence>() else { return };
        let before = ws.presence.get_untracked();
        ws.presence.set(api::PresenceState { presence: p, reason: why.clone() });
        saving.set(true);
        leptos::task::spawn_local(async move {
            match api::set_presence(value, why).await {
                Ok(state) => {
                    let label = presence_label(state.presence).to_lowercase();
                    ws.toasts.success(match &state.reason {
                        Some(r) => format!("You are {label}: {r}."),
                        None => format!("You are {label}."),
                    });
                    ws.presence.set(state);
                }
                Err(e) => {
                    ws.presence.set(before);
                    ws.toasts.error(format!("Your presence did not change. {}", e.user_message()));
                }
            }
            saving.set(false);
        });
    };
    let is = move |p: Presence| move || ws.presence.with(|s| s.presence == p);
    view! {
        <div class="flex items-center gap-2">
            <span aria-hidden="true"
                class=move || format!("inline-block h-2.5 w-2.5 shrink-0 rounded-full {}", dot_class(ws.presence.get().presence))></span>
            <select data-testid="presence" aria-label="Presence" disabled=move || saving.get()
                on:change=move |ev| save(event_target_value(&ev), None)
                class=format!("rounded-lg border border-slate-300 bg-white py-1 pl-2 pr-8 text-sm font-medium text-slate-900 {FOCUS}")>
                {[Presence::Online, Presence::Away, Presence::Offline].into_iter().map(|p| view! {
                    <option value=p.as_str() selected=is(p) prop:selected=is(p)>{presence_label(p)}</option>
                }).collect_view()}
            </select>
        </div>
        {move || ws.presence.with(|s| s.presence == Presence::Away).then(|| view! {
            <form class="flex items-center gap-2" on:submit=move |ev| {
                ev.prevent_default();
                let why = reason.get_untracked();
                save("away".to_owned(), Some(why.trim().to_owned()).filter(|r| !r.is_empty()));
            }>
                <label for="away-reason" class="sr-only">"Reason for being away (optional)"</label>
                <input id="away-reason" type="text" maxlength="200" placeholder="Reason (optional)"
                    prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))
                    class=format!("min-w-0 flex-1 rounded-lg border border-slate-300 px-2 py-1 text-sm placeholder:text-slate-500 {FOCUS}")/>
                <button type="submit" disabled=move || saving.get()
                    class=format!("rounded-lg border border-slate-300 px-2 py-1 text-sm text-slate-700 hover:bg-slate-50 {FOCUS}")>
                    "Save"
                </button>
            </form>
        })}
    }
    .into_any()
}

/// The live link's state, only when it is not live.
#[component]
fn LinkStatus() -> impl IntoView {
    let link = expect_context::<LiveLink>();
    view! {
        <p role="status" class="text-xs text-slate-600" data-testid="link-state">
            {move || { let s = link.state.get(); (s != LinkState::Live).then(|| s.label()) }}
        </p>
    }
    .into_any()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Inbox,
    Queue,
}

/// Moves focus to the next (`+1`) or previous (`-1`) row's link, across
/// the inbox and the queue.
#[cfg(feature = "hydrate")]
fn move_focus(step: i32) -> bool {
    use wasm_bindgen::JsCast;
    let Ok(links) = document().query_selector_all("li[data-session-id] > a") else { return false };
    let links: Vec<web_sys::HtmlElement> =
        (0..links.length()).filter_map(|i| links.item(i)?.dyn_into::<web_sys::HtmlElement>().ok()).collect();
    let active = document().active_element();
    let current = active.as_ref().and_then(|a| {
        let li = a.closest("li[data-session-id]").ok().flatten()?;
        links.iter().position(|l| l.parent_element().as_ref() == Some(&li))
    });
    let next = match current {
        Some(i) => i as i64 + i64::from(step),
        None => 0,
    };
    usize::try_from(next).ok().and_then(|n| links.get(n)).is_some_and(|l| l.focus().is_ok())
}

#[component]
fn SessionList(kind: ListKind) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let list = match kind {
        ListKind::Inbox => ws.inbox,
        ListKind::Queue => ws.queue,
    };
    let (title, testid, empty) = match kind {
        ListKind::Inbox => {
            ("Your sessions", "inbox", "No active sessions. New ones arrive here while you are online.")
        }
        ListKind::Queue => ("Waiting", "queue", "No sessions waiting. Nice."),
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let step = match ev.key().as_str() {
            "j" | "ArrowDown" => 1,
            "k" | "ArrowUp" => -1,
            _ => return,
        };
        #[cfg(feature = "hydrate")]
        if move_focus(step) {
            ev.prevent_default();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = step;
    };
    view! {
        <section aria-label=title data-testid=testid class="py-2">
            <h2 class="flex items-center justify-between px-3 py-1 text-xs font-semibold uppercase tracking-wide text-slate-600">
                <span>{title}</span>
                <span class="rounded-full bg-slate-100 px-2 py-0.5 text-slate-700">
                    <span class="sr-only">"Count: "</span>{move || list.with(Vec::len)}
                </span>
            </h2>
            <Show when=move || list.with(Vec::is_empty)>
                <p class="px-3 py-2 text-sm text-slate-600">{empty}</p>
            </Show>
            <ul class="divide-y divide-slate-100" on:keydown=on_keydown>
                <For each=move || list.get() key=|r| r.id let:row>
                    <Row id=row.id list kind/>
                </For>
            </ul>
        </section>
    }
    .into_any()
}

#[component]
fn Row(id: SessionId, list: RwSignal<Vec<WorkItem>>, kind: ListKind) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let navigate = use_navigate();
    let row = Memo::new(move |_| list.with(|l| l.iter().find(|r| r.id == id).cloned()));
    let get = move |f: fn(&WorkItem) -> String| move || row.with(|r| r.as_ref().map(f).unwrap_or_default());
    let current = move || ws.selected.get().session() == Some(id);
    let href = format!("/agent/sessions/{id}");
    let name_id = format!("row-{id}-name");
    let picking = RwSignal::new(false);
    let pick = move |_| {
        picking.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::pick(id).await {
                Ok(s) => {
                    ws.apply_session(&s);
                    ws.toasts.success("Session picked. It is in your inbox now.");
                    navigate(&format!("/agent/sessions/{id}"), Default::default());
                }
                Err(e) => ws.toasts.error(format!("Could not pick the session. {}", e.user_message())),
            }
            picking.set(false);
        });
    };
    let pickable = move || {
        kind == ListKind::Queue
            && row.with(|r| {
                r.as_ref().is_some_and(|r| r.status == SessionStatus::Queued && r.routing == Routing::Manual)
            })
    };
    let unread = move || row.with(|r| r.as_ref().map_or(0, |r| r.unread));
    let since = move || {
        row.with(|r| {
            r.as_ref()
                .map(|r| clock(r.last_message_at.or(r.assigned_at).unwrap_or(r.queued_at)))
                .unwrap_or_default()
        })
    };
    view! {
        <li data-session-id=id.to_string()
            class=move || format!("flex items-stretch {}", if current() { "bg-indigo-50" } else { "" })>
            <a href=href aria-current=move || current().then_some("page")
                class=format!("block min-w-0 flex-1 px-3 py-2 hover:bg-slate-50 focus-visible:ring-inset {FOCUS}")>
                <span class="flex items-baseline justify-between gap-2">
                    <span id=name_id.clone() class="truncate text-sm font-medium text-slate-900">{get(WorkItem::customer_label)}</span>
                    <span class="shrink-0 text-xs text-slate-600">{since}</span>
                </span>
                <span class="flex items-center justify-between gap-2">
                    <span class="truncate text-xs text-slate-600">
                        {get(|r| r.support_type.clone())}
                        {move || row.with(|r| r.as_ref().filter(|r| r.priority > 0).map(|r| format!(" · priority {}", r.priority)))}
                    </span>
                    <Show when=move || { unread() > 0 }>
                        <span class="shrink-0 rounded-full bg-indigo-600 px-2 text-xs font-semibold text-white">
                            <span class="sr-only">"Unread messages: "</span>
                            <span data-testid="unread">{unread}</span>
                        </span>
                    </Show>
                </span>
                <span class="block truncate text-sm text-slate-600">
                    {get(|r| r.last_message.as_deref().map(domain::workspace::preview).unwrap_or_default())}
                </span>
            </a>
            <Show when=pickable>
                <div class="flex items-center pr-3">
                    <button type="button" on:click=pick.clone() disabled=move || picking.get() aria-describedby=name_id.clone()
                        class=format!("rounded-lg bg-indigo-600 px-3 py-1 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 {FOCUS} focus-visible:ring-offset-2")>
                        "Pick"
                    </button>
                </div>
            </Show>
        </li>
    }
    .into_any()
}
