//! `/admin/monitor`: the live queue monitor, for admins and supervisors.
//!
//! The page shows the domain's snapshot ([`domain::monitor::snapshot`]) and
//! takes a new one whenever the live link reports a session's lifecycle
//! event or an agent's presence change (at most one request in flight, and
//! one more queued behind it), so it follows the queue without polling.
//! Between snapshots the waits tick on a one-second clock in the browser,
//! counted from the database's time of the snapshot.
//!
//! A supervisor moves a waiting session from here with the workspace's own
//! transfer dialog (the same `reassign` operation).

use chrono::{DateTime, Utc};
use domain::{
    live::ServerFrame,
    monitor::{AgentLine, BotChat, Monitor, TypeLine, WaitingSession},
    types::{Presence, Role, SessionId},
};
use leptos::prelude::*;
use leptos_meta::Title;

use super::{AdminFrame, Section, page_error};
use crate::{
    AppError,
    components::toast::{ToastRegion, Toasts},
    pages::agent::{ListSkeleton, TransferDialog, presence_label},
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// The monitor for the caller's account (admins and supervisors).
#[server(endpoint = "admin/monitor")]
pub async fn load_monitor() -> Result<Monitor, AppError> {
    let (pool, actor) = super::caller().await?;
    Ok(domain::monitor::snapshot(&pool, &actor, None).await?)
}

/// A wait in words: "45 s", "3 min 05 s", "1 h 12 min".
pub fn wait_text(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// Which frames change what the monitor shows.
fn moves_the_monitor(frame: &ServerFrame) -> bool {
    matches!(
        frame,
        ServerFrame::Session { .. }
            | ServerFrame::Presence { .. }
            | ServerFrame::Details { .. }
            | ServerFrame::Resync { .. }
    )
}

#[component]
pub fn MonitorPage() -> impl IntoView {
    let snapshot = Resource::new(|| (), |()| load_monitor());
    // At most one refresh in flight; frames during it ask for one more.
    let (busy, again) = (StoredValue::new(false), StoredValue::new(false));
    let updated = RwSignal::new(0u64);
    fn refresh(
        snapshot: Resource<Result<Monitor, AppError>>,
        busy: StoredValue<bool>,
        again: StoredValue<bool>,
        updated: RwSignal<u64>,
    ) {
        if busy.get_value() {
            again.set_value(true);
            return;
        }
        busy.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                again.set_value(false);
                let next = load_monitor().await;
                snapshot.set(Some(next));
                updated.update(|n| *n += 1);
                if !again.get_value() {
                    break;
                }
            }
            busy.set_value(false);
        });
    }
    let welcomed = StoredValue::new(false);
    let link = crate::live::connect(None, move |frame| {
        // What changed between rendering and connecting: take one fresh look.
        let first = matches!(frame, ServerFrame::Welcome { .. }) && !welcomed.get_value();
        if first {
            welcomed.set_value(true);
        }
        if first || moves_the_monitor(&frame) {
            refresh(snapshot, busy, again, updated);
        }
    });
    // The waits tick between snapshots.
    let now = RwSignal::new(None::<DateTime<Utc>>);
    let toasts = Toasts::new();
    // The session to assign, and whom it is for (named in the dialog).
    let transfer = RwSignal::new(None::<(SessionId, String)>);
    #[cfg(feature = "hydrate")]
    {
        let handle =
            set_interval_with_handle(move || now.set(Some(Utc::now())), std::time::Duration::from_secs(1));
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let live = move || link.state.get().label();
    view! {
        <Title text="Live monitor"/>
        <AdminFrame path="/admin/monitor" section=Section::Monitor title="Live queue monitor".to_owned()>
            <p class="-mt-4 mb-2 text-xs text-slate-500" aria-live="polite" data-testid="monitor-live">
                {move || format!("Live updates: {}", live())}
            </p>
            <Transition fallback=ListSkeleton>
                {move || snapshot.get().map(|r| match r {
                    Ok(m) => view! { <Board m now transfer/> }.into_any(),
                    Err(e) => page_error("the monitor", e),
                })}
            </Transition>
            {move || transfer.get().map(|(id, subject)| {
                let open = RwSignal::new(true);
                Effect::new(move |_| {
                    if !open.get() {
                        transfer.set(None);
                    }
                });
                let done = Callback::new(move |(_, label): (domain::sessions::Session, String)| {
                    toasts.success(format!("Session moved to {label}."));
                    refresh(snapshot, busy, again, updated);
                });
                view! { <TransferDialog id open done subject/> }
            })}
            <ToastRegion toasts/>
        </AdminFrame>
    }
}

/// Seconds between `since` and the browser's tick (or the snapshot's time
/// before the first tick), corrected by the snapshot's clock.
fn waited(since: DateTime<Utc>, at: DateTime<Utc>, now: Option<DateTime<Utc>>, taken: DateTime<Utc>) -> i64 {
    // The browser's clock may be off: count from the snapshot's time and
    // add only how long ago, by the browser's clock, it arrived.
    let elapsed = now.map_or(0, |n| (n - taken).num_seconds().max(0));
    (at - since).num_seconds() + elapsed
}

#[component]
fn Board(
    m: Monitor,
    now: RwSignal<Option<DateTime<Utc>>>,
    transfer: RwSignal<Option<(SessionId, String)>>,
) -> impl IntoView {
    let at = m.at;
    // The browser's time when this snapshot arrived.
    let taken = now.get_untracked().unwrap_or(at);
    let Monitor { types, agents, oldest, waiting_total, bot_chats, bot_chats_total, .. } = m;
    let people = agents.iter().filter(|a| a.role != Role::Bot).count();
    let online = agents.iter().filter(|a| a.role != Role::Bot && a.presence == Presence::Online).count();
    let queue_breaches: i64 = types.iter().map(|t| t.queue_breaches_hour).sum();
    let frt_breaches: i64 = types.iter().map(|t| t.first_response_breaches_hour).sum();
    view! {
        <div class="space-y-8">
            <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4">
                <Stat label="Waiting now" value=waiting_total.to_string() testid="total-waiting"/>
                <Stat label="Agents online" value=format!("{online} of {people}") testid="total-online"/>
                <Stat label="Queue SLA breaches (1 h)" value=queue_breaches.to_string() testid="total-queue-breaches"/>
                <Stat label="Reply SLA breaches (1 h)" value=frt_breaches.to_string() testid="total-frt-breaches"/>
            </dl>
            <section aria-labelledby="types-heading" class="space-y-2">
                <h2 id="types-heading" class="text-base font-semibold text-slate-900">"Support types"</h2>
                <Types types now at taken/>
            </section>
            <section aria-labelledby="oldest-heading" class="space-y-2">
                <h2 id="oldest-heading" class="text-base font-semibold text-slate-900">"Waiting longest"</h2>
                <Oldest oldest now at taken transfer/>
            </section>
            <section aria-labelledby="bots-heading" class="space-y-2">
                <h2 id="bots-heading" class="text-base font-semibold text-slate-900">
                    {format!("Bot chats now ({bot_chats_total})")}
                </h2>
                <BotChats chats=bot_chats total=bot_chats_total/>
            </section>
            <section aria-labelledby="agents-heading" class="space-y-2">
                <h2 id="agents-heading" class="text-base font-semibold text-slate-900">"Agents"</h2>
                <Agents agents/>
            </section>
        </div>
    }
}

#[component]
fn Stat(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white px-4 py-3">
            <dt class="text-xs font-medium text-slate-600">{label}</dt>
            <dd class="mt-1 text-2xl font-semibold tabular-nums text-slate-900" data-testid=testid>{value}</dd>
        </div>
    }
}

#[component]
fn Types(
    types: Vec<TypeLine>,
    now: RwSignal<Option<DateTime<Utc>>>,
    at: DateTime<Utc>,
    taken: DateTime<Utc>,
) -> impl IntoView {
    if types.is_empty() {
        return view! {
            <p class="text-sm text-slate-600">
                "No support type yet. "
                <a href="/admin/support-types/new" class="text-indigo-700 underline hover:no-underline">"Create one"</a>
            </p>
        }
        .into_any();
    }
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="monitor-types">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-600">
                    <tr>
                        <th scope="col" class="px-4 py-2">"Support type"</th>
                        <th scope="col" class="px-4 py-2 text-right">"Waiting"</th>
                        <th scope="col" class="px-4 py-2">"Longest wait"</th>
                        <th scope="col" class="px-4 py-2 text-right">"SLA breaches (1 h)"</th>
                        <th scope="col" class="px-4 py-2">"Online · away · offline"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {types.into_iter().map(|t| {
                        let sla = t.queue_sla_secs;
                        let oldest = t.oldest_queued_at;
                        let longest = move || oldest.map(|since| waited(since, at, now.get(), taken));
                        let over = move || longest().is_some_and(|w| domain::monitor::past_sla(w, sla));
                        let breaches = t.queue_breaches_hour + t.first_response_breaches_hour;
                        let breach_class = if breaches > 0 { "font-semibold text-rose-700" } else { "text-slate-700" };
                        let breach_title = format!(
                            "{} past the queue SLA, {} past the first-reply SLA",
                            t.queue_breaches_hour, t.first_response_breaches_hour
                        );
                        view! {
                            <tr data-type=t.name.clone()>
                                <th scope="row" class="px-4 py-2 text-left font-medium text-slate-900">
                                    <a href=format!("/admin/support-types/{}", t.id) class=format!("hover:underline {FOCUS}")>{t.name.clone()}</a>
                                </th>
                                <td class="px-4 py-2 text-right tabular-nums" data-testid="waiting">{t.waiting}</td>
                                <td class="px-4 py-2 tabular-nums">
                                    {move || match longest() {
                                        None => view! { <span class="text-slate-500">"–"</span> }.into_any(),
                                        Some(w) => view! {
                                            <span class=move || if over() { "font-semibold text-rose-700" } else { "text-slate-800" }>
                                                {wait_text(w)}
                                                {move || over().then_some(" · over SLA")}
                                            </span>
                                        }.into_any(),
                                    }}
                                </td>
                                <td class="px-4 py-2 text-right tabular-nums" title=breach_title>
                                    <span class=breach_class>{breaches}</span>
                                </td>
                                <td class="px-4 py-2 tabular-nums text-slate-700">
                                    <span class="text-emerald-700">{t.online}</span>" · "
                                    <span class="text-amber-700">{t.away}</span>" · "
                                    <span class="text-slate-600">{t.offline}</span>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Oldest(
    oldest: Vec<WaitingSession>,
    now: RwSignal<Option<DateTime<Utc>>>,
    at: DateTime<Utc>,
    taken: DateTime<Utc>,
    transfer: RwSignal<Option<(SessionId, String)>>,
) -> impl IntoView {
    if oldest.is_empty() {
        return view! {
            <p class="rounded-xl border border-dashed border-slate-300 bg-white px-4 py-6 text-center text-sm text-slate-600" data-testid="nobody-waiting">
                "Nobody is waiting."
            </p>
        }
        .into_any();
    }
    view! {
        <ul class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white" data-testid="monitor-waiting">
            {oldest.into_iter().map(|s| {
                let since = s.queued_at;
                let who = s.customer_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Anonymous".to_owned());
                let id = s.id;
                let subject = format!("{who} · {}", s.support_type);
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 px-4 py-2 text-sm" data-session=id.to_string()>
                        <div class="min-w-0">
                            <a href=format!("/agent/sessions/{id}") class=format!("font-medium text-indigo-700 hover:underline {FOCUS}")>{who}</a>
                            <span class="text-slate-600">" · " {s.support_type.clone()}</span>
                            {(s.priority > 0).then(|| view! {
                                <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800">{format!("priority {}", s.priority)}</span>
                            })}
                        </div>
                        <div class="flex items-center gap-3">
                            <span class="tabular-nums text-slate-700">
                                {move || format!("waiting {}", wait_text(waited(since, at, now.get(), taken)))}
                            </span>
                            <button type="button" on:click=move |_| transfer.set(Some((id, subject.clone())))
                                class=format!("rounded-lg border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 {FOCUS}")>
                                "Assign…"
                            </button>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The chats bots have now: open one to watch it live (and to take it over
/// by replying), or to send the replies a drafting bot wrote.
#[component]
fn BotChats(chats: Vec<BotChat>, total: i64) -> impl IntoView {
    if chats.is_empty() {
        return view! {
            <p class="rounded-xl border border-dashed border-slate-300 bg-white px-4 py-6 text-center text-sm text-slate-600" data-testid="no-bot-chats">
                "No bot has a chat right now."
            </p>
        }
        .into_any();
    }
    let shown = chats.len() as i64;
    view! {
        <ul class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white" data-testid="monitor-bot-chats">
            {chats.into_iter().map(|c| {
                let who = c.customer_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Anonymous".to_owned());
                let id = c.id;
                let last = c.last_message_at.map(|t| format!(" · last message {}", t.format("%H:%M"))).unwrap_or_default();
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 px-4 py-2 text-sm" data-session=id.to_string()>
                        <div class="min-w-0">
                            <a href=format!("/agent/sessions/{id}") class=format!("font-medium text-indigo-700 hover:underline {FOCUS}")>{who}</a>
                            <span class="text-slate-600">{format!(" · {} · {} (bot)", c.support_type, c.bot_name)}</span>
                        </div>
                        <div class="flex items-center gap-3 text-slate-700">
                            <span class="tabular-nums">{format!("{} messages{last}", c.messages)}</span>
                            {(c.drafts_waiting > 0).then(|| view! {
                                <span class="rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800" data-testid="drafts-waiting">
                                    {format!("{} draft{} waiting", c.drafts_waiting, if c.drafts_waiting == 1 { "" } else { "s" })}
                                </span>
                            })}
                            <a href=format!("/agent/sessions/{id}") class=format!("rounded-lg border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 {FOCUS}")>
                                "Watch"
                            </a>
                        </div>
                    </li>
                }
            }).collect_view()}
            {(total > shown).then(|| view! {
                <li class="px-4 py-2 text-xs text-slate-600">{format!("{} more not listed.", total - shown)}</li>
            })}
        </ul>
    }
    .into_any()
}

#[component]
fn Agents(agents: Vec<AgentLine>) -> impl IntoView {
    if agents.is_empty() {
        return view! {
            <p class="text-sm text-slate-600">
                "No agent yet. "
                <a href="/admin/agents/new" class="text-indigo-700 underline hover:no-underline">"Add one"</a>
            </p>
        }
        .into_any();
    }
    view! {
        <ul class="grid gap-2 sm:grid-cols-2 lg:grid-cols-3" data-testid="monitor-agents">
            {agents.into_iter().map(|a| {
                let dot = match a.presence {
                    Presence::Online => "bg-emerald-500",
                    Presence::Away => "bg-amber-500",
                    Presence::Offline => "bg-slate-400",
                };
                let full = a.limit > 0 && a.active >= a.limit;
                // Widths by class: the CSP bars inline styles.
                let bar = format!(
                    "h-full {} {}",
                    if full { "bg-rose-500" } else { "bg-indigo-500" },
                    if a.limit <= 0 { "w-0" } else { super::width_class(a.active, a.limit) }
                );
                let status = match &a.presence_reason {
                    Some(r) if a.presence == Presence::Away => format!("{} ({r})", presence_label(a.presence)),
                    _ => presence_label(a.presence).to_owned(),
                };
                view! {
                    <li class="rounded-xl border border-slate-200 bg-white px-3 py-2 text-sm" data-agent=a.name.clone()>
                        <div class="flex items-center justify-between gap-2">
                            <span class="flex min-w-0 items-center gap-2">
                                <span aria-hidden="true" class=format!("inline-block h-2 w-2 shrink-0 rounded-full {dot}")></span>
                                <span class="truncate font-medium text-slate-900">{a.name.clone()}</span>
                                {(a.role == Role::Bot).then(|| view! {
                                    <span class="rounded bg-violet-100 px-1.5 text-xs font-medium text-violet-800">"bot"</span>
                                })}
                            </span>
                            <span class="shrink-0 text-xs text-slate-600" data-testid="presence">{status}</span>
                        </div>
                        <div class="mt-2 flex items-center gap-2">
                            <div class="h-2 flex-1 overflow-hidden rounded-full bg-slate-100" role="meter"
                                aria-label=format!("{}'s load", a.name) aria-valuemin="0" aria-valuemax=a.limit.to_string()
                                aria-valuenow=a.active.to_string()>
                                <div class=bar></div>
                            </div>
                            <span class="text-xs tabular-nums text-slate-700" data-testid="load">{format!("{}/{}", a.active, a.limit)}</span>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_at_a_glance() {
        assert_eq!(wait_text(-3), "0 s");
        assert_eq!(wait_text(45), "45 s");
        assert_eq!(wait_text(185), "3 min 05 s");
        assert_eq!(wait_text(4320), "1 h 12 min");
    }

    #[test]
    fn waits_count_from_the_snapshot_clock() {
        let at = Utc::now();
        let since = at - chrono::Duration::seconds(30);
        // The browser's clock is an hour off; only the time since arrival counts.
        let taken = at + chrono::Duration::hours(1);
        assert_eq!(waited(since, at, None, taken), 30);
        assert_eq!(waited(since, at, Some(taken + chrono::Duration::seconds(5)), taken), 35);
    }
}
