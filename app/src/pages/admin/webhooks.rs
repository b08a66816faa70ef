//! `/admin/webhooks`: an account's outgoing webhooks. Create one with a URL
//! and the events it receives (a picker of the real topics, or patterns),
//! and see its signing secret once; send a test delivery; read the delivery
//! log (attempts, status, error, next retry); disable, re-enable (which
//! resets the failure streak) and delete. The domain (`domain::webhooks`)
//! checks every input and the caller's role.

use domain::{
    sessions::Page,
    support_types::EditorChoice,
    types::{AccountId, WebhookId},
    webhooks::{Delivery, Webhook},
};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{AdminFrame, Section, page_error, support_types::INPUT};
use crate::{
    AppError,
    components::{
        dialog::ConfirmDialog,
        secret::ShownOnce,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const BUTTON: &str = "rounded-lg border border-slate-300 bg-white px-3 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-60";
const PRIMARY: &str = "rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:ring-offset-2";

/// The page: the chosen account's webhooks, the topics to pick from, and
/// the accounts the caller administers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhooksPageData {
    pub account_id: Option<AccountId>,
    pub accounts: Vec<EditorChoice>,
    pub webhooks: Vec<Webhook>,
    pub topics: Vec<String>,
}

/// A webhook as it stands, with a page of its delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookLog {
    pub webhook: Webhook,
    pub deliveries: Page<Delivery>,
}

#[cfg(feature = "ssr")]
async fn log_of(
    pool: &sqlx::PgPool,
    actor: &domain::actor::Actor,
    id: WebhookId,
    cursor: Option<&str>,
) -> Result<WebhookLog, AppError> {
    let deliveries = domain::webhooks::deliveries(pool, actor, id, cursor, Some(20)).await?;
    Ok(WebhookLog { webhook: domain::webhooks::get(pool, actor, id).await?, deliveries })
}

/// A new webhook with its secret, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedHook {
    pub webhook: Webhook,
    pub secret: String,
}

#[cfg(feature = "ssr")]
async fn page_data(
    pool: &sqlx::PgPool,
    actor: &domain::actor::Actor,
    account: Option<AccountId>,
) -> Result<WebhooksPageData, AppError> {
    // The editor's choices are for admins only: they refuse everyone else first.
    let accounts = domain::support_types::editor_choices(pool, actor, None).await?.accounts;
    // A global admin looks at one account at a time: the chosen one, or the first.
    let account = account.or_else(|| match actor {
        domain::actor::Actor::Agent(a) if a.account_id.is_none() => accounts.first().map(|a| AccountId(a.id)),
        _ => None,
    });
    let webhooks = match account {
        None if accounts.is_empty() => Vec::new(),
        account => domain::webhooks::list(pool, actor, account).await?,
    };
    let topics = domain::outbox::topic::for_webhooks().map(str::to_owned).collect();
    Ok(WebhooksPageData { account_id: account, accounts, webhooks, topics })
}

#[server(endpoint = "admin/webhooks")]
pub async fn webhooks_page(account: Option<AccountId>) -> Result<WebhooksPageData, AppError> {
    let (pool, actor) = caller().await?;
    page_data(&pool, &actor, account).await
}

#[server(endpoint = "admin/webhook/create")]
pub async fn create_webhook(
    account: Option<AccountId>,
    url: String,
    #[server(default)] events: Vec<String>,
) -> Result<CreatedHook, AppError> {
    let (pool, actor) = caller().await?;
    let input = domain::webhooks::NewWebhook { account_id: account, url, events };
    let (webhook, secret) = domain::webhooks::create(&pool, &actor, input).await?;
    Ok(CreatedHook { webhook, secret })
}

/// Turns a webhook off (`false`) or on again (`true`: its failure streak
/// starts over).
#[server(endpoint = "admin/webhook/active")]
pub async fn set_webhook_active(id: WebhookId, active: bool) -> Result<Webhook, AppError> {
    let (pool, actor) = caller().await?;
    let change = domain::webhooks::UpdateWebhook { active: Some(active), ..Default::default() };
    Ok(domain::webhooks::update(&pool, &actor, id, change).await?)
}

/// Deletes a webhook; answers with the account's page as it is now.
#[server(endpoint = "admin/webhook/delete")]
pub async fn delete_webhook(id: WebhookId) -> Result<WebhooksPageData, AppError> {
    let (pool, actor) = caller().await?;
    let account = domain::webhooks::get(&pool, &actor, id).await?.account_id;
    domain::webhooks::delete(&pool, &actor, id).await?;
    page_data(&pool, &actor, Some(account)).await
}

/// Queues a test delivery; answers with the log, the test on top.
#[server(endpoint = "admin/webhook/test")]
pub async fn test_webhook(id: WebhookId) -> Result<WebhookLog, AppError> {
    let (pool, actor) = caller().await?;
    domain::webhooks::send_test(&pool, &actor, id).await?;
    log_of(&pool, &actor, id, None).await
}

/// The webhook as it stands (its failure streak moves as deliveries fail)
/// and a page of its delivery log, newest first.
#[server(endpoint = "admin/webhook/deliveries")]
pub async fn webhook_deliveries(id: WebhookId, cursor: Option<String>) -> Result<WebhookLog, AppError> {
    let (pool, actor) = caller().await?;
    log_of(&pool, &actor, id, cursor.as_deref()).await
}

/// The patterns a form asks for: the picked topics, then the typed
/// patterns (separated by commas, spaces or lines), without repeats. The
/// domain checks each.
pub fn chosen_events(picked: &[String], typed: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let typed = typed.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty());
    for p in picked.iter().map(String::as_str).chain(typed) {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    out
}

/// A delivery's state in words.
pub fn delivery_state(d: &Delivery) -> String {
    match (d.delivered_at, d.next_attempt_at, d.status_code) {
        (Some(_), _, Some(code)) => format!("Delivered ({code})"),
        (Some(_), _, None) => "Delivered".to_owned(),
        (None, Some(_), _) if d.attempt == 0 => "Queued".to_owned(),
        (None, Some(_), _) => "Retrying".to_owned(),
        (None, None, _) => "Given up".to_owned(),
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "–".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `/admin/webhooks`.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let account = RwSignal::new(None::<AccountId>);
    let data = Resource::new(move || account.get(), webhooks_page);
    let toasts = Toasts::new();
    view! {
        <Title text="Webhooks"/>
        <AdminFrame path="/admin/webhooks" section=Section::Webhooks title="Webhooks".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <Hooks data=d account toasts reload=Callback::new(move |()| data.refetch())/> }.into_any(),
                    Err(e) => page_error("the webhooks", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

#[component]
fn Hooks(
    data: WebhooksPageData,
    account: RwSignal<Option<AccountId>>,
    toasts: Toasts,
    reload: Callback<()>,
) -> impl IntoView {
    let WebhooksPageData { account_id, accounts, webhooks, topics } = data;
    let list = RwSignal::new(webhooks);
    let secret = RwSignal::new(None::<String>);
    let picker = (accounts.len() > 1).then(|| {
        let chosen = account_id.map(|a| a.to_string()).unwrap_or_default();
        view! {
            <div class="max-w-sm">
                <label for="webhooks-account" class="block text-sm font-medium text-slate-700">"Account"</label>
                <select id="webhooks-account" class=INPUT
                    on:change=move |ev| account.set(event_target_value(&ev).parse().ok().map(AccountId))>
                    {accounts.iter().map(|a| {
                        let value = a.id.to_string();
                        let selected = value == chosen;
                        view! { <option value=value selected=selected>{a.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    });
    let created = Callback::new(move |c: CreatedHook| {
        list.update(|l| l.push(c.webhook));
        secret.set(Some(c.secret));
        toasts.success("Webhook created");
    });
    view! {
        <div class="max-w-4xl space-y-8">
            <p class="text-sm text-slate-600">
                "Each matching event of the account is POSTed as JSON to the URL, signed with the webhook's secret. "
                "Failed deliveries are retried with growing delays; after 5 failures in a row the webhook is disabled until you re-enable it."
            </p>
            {picker}
            <ShownOnce shown=secret label="Signing secret" id="webhook-secret" testid="new-webhook-secret"
                warning="Copy this signing secret now: it is not shown again." copied="Secret copied" toasts>
                <p class="text-amber-900">"Check each delivery's signature with it:"</p>
                <pre class="overflow-x-auto rounded-lg bg-white p-2 font-mono text-xs text-slate-800">"X-Switchboard-Signature: sha256=hex(HMAC-SHA256(secret, X-Switchboard-Timestamp + \".\" + body))\n// Node.js: the key is the secret's text as shown\ncrypto.createHmac('sha256', SECRET).update(`${timestamp}.${rawBody}`).digest('hex')"</pre>
            </ShownOnce>
            <HookList list toasts/>
            <NewHook account=account_id topics created/>
            <p class="text-xs text-slate-500">
                <button type="button" class=format!("underline hover:no-underline {FOCUS}") on:click=move |_| reload.run(())>"Reload the list"</button>
            </p>
        </div>
    }
}

#[component]
fn HookList(list: RwSignal<Vec<Webhook>>, toasts: Toasts) -> impl IntoView {
    let confirm = RwSignal::new(None::<Webhook>);
    let open = RwSignal::new(false);
    let remove = move |()| {
        let Some(hook) = confirm.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match delete_webhook(hook.id).await {
                Ok(page) => {
                    list.set(page.webhooks);
                    toasts.success("Webhook deleted");
                }
                Err(e) => toasts.error(format!("Not deleted: {}", e.user_message())),
            }
        });
    };
    view! {
        <Show when=move || list.with(Vec::is_empty)>
            <p class="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-600" data-testid="no-webhooks">
                "No webhook yet. Add one below to send this account's events to your systems."
            </p>
        </Show>
        // Keyed: a webhook's row (its open log, say) stays while the list
        // changes; the row reads its own changes from the list.
        <ul class="space-y-3" data-testid="webhooks" hidden=move || list.with(Vec::is_empty)>
            <For each=move || list.get() key=|h| h.id let:h>
                <Hook hook=h list toasts confirm open/>
            </For>
        </ul>
        <ConfirmDialog open title="Delete this webhook?" id="delete-webhook" confirm="Delete webhook".to_owned()
            on_confirm=Callback::new(remove)>
            {move || confirm.get().map(|h| format!("{} stops receiving events, and its delivery log is deleted.", h.url))}
        </ConfirmDialog>
    }
}

#[component]
fn Hook(
    hook: Webhook,
    list: RwSignal<Vec<Webhook>>,
    toasts: Toasts,
    confirm: RwSignal<Option<Webhook>>,
    open: RwSignal<bool>,
) -> impl IntoView {
    let id = hook.id;
    let log_open = RwSignal::new(false);
    let log = RwSignal::new(None::<Result<Vec<Delivery>, AppError>>);
    let older = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let replace =
        move |h: Webhook| list.update(|l| l.iter_mut().filter(|x| x.id == h.id).for_each(|x| *x = h.clone()));
    let show = move |answer: Result<WebhookLog, AppError>| match answer {
        Ok(l) => {
            replace(l.webhook);
            older.set(l.deliveries.next_cursor);
            log.set(Some(Ok(l.deliveries.items)));
        }
        Err(e) => log.set(Some(Err(e))),
    };
    let load_log = move || {
        leptos::task::spawn_local(async move { show(webhook_deliveries(id, None).await) });
    };
    let set_active = move |active: bool| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match set_webhook_active(id, active).await {
                Ok(h) => {
                    replace(h);
                    toasts.success(if active { "Webhook re-enabled" } else { "Webhook disabled" });
                }
                Err(e) => toasts.error(e.user_message()),
            }
            busy.set(false);
        });
    };
    let test = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match test_webhook(id).await {
                Ok(l) => {
                    toasts.success("Test delivery queued: it shows in the delivery log.");
                    log_open.set(true);
                    show(Ok(l));
                    // The worker sends it within a second or two: show the outcome.
                    set_timeout(load_log, std::time::Duration::from_secs(3));
                }
                Err(e) => toasts.error(format!("No test sent: {}", e.user_message())),
            }
            busy.set(false);
        });
    };
    let more = move |_| {
        let Some(cursor) = older.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            if let Ok(l) = webhook_deliveries(id, Some(cursor)).await {
                older.set(l.deliveries.next_cursor);
                log.update(|log| {
                    if let Some(Ok(items)) = log {
                        items.extend(l.deliveries.items);
                    }
                });
            }
        });
    };
    let toggle_log = move |_| {
        let opening = !log_open.get_untracked();
        log_open.set(opening);
        if opening {
            load_log();
        }
    };
    let hook_for_delete = hook.clone();
    let current = move || list.with(|l| l.iter().find(|h| h.id == id).cloned());
    let active = move || current().is_some_and(|h| h.active);
    let status = move || match current() {
        Some(h) if h.active && h.consecutive_failures > 0 => {
            (format!("Active · {} failed in a row", h.consecutive_failures), "bg-amber-100 text-amber-900")
        }
        Some(h) if h.active => ("Active".to_owned(), "bg-emerald-100 text-emerald-800"),
        Some(h) => (format!("Disabled {}", when(h.disabled_at)), "bg-rose-100 text-rose-800"),
        None => (String::new(), ""),
    };
    let url = hook.url.clone();
    view! {
        <li class="space-y-3 rounded-xl border border-slate-200 bg-white p-4" data-url=hook.url.clone()>
            <div class="flex flex-wrap items-start justify-between gap-2">
                <div class="min-w-0 space-y-1">
                    <p class="break-all font-mono text-sm text-slate-900">{url.clone()}</p>
                    <ul class="flex flex-wrap gap-1" aria-label="Events">
                        {hook.events.iter().map(|e| view! {
                            <li class="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700">{e.clone()}</li>
                        }).collect_view()}
                    </ul>
                </div>
                <span data-testid="webhook-status" class=move || format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status().1)>{move || status().0}</span>
            </div>
            <div class="flex flex-wrap gap-2">
                <button type="button" class=format!("{BUTTON} {FOCUS}") disabled=move || busy.get() || !active() on:click=test
                    title=move || (!active()).then_some("Re-enable the webhook first")>
                    "Send test delivery"
                </button>
                <button type="button" class=format!("{BUTTON} {FOCUS}") aria-expanded=move || log_open.get().to_string() on:click=toggle_log>
                    {move || if log_open.get() { "Hide delivery log" } else { "Delivery log" }}
                </button>
                {move || if active() {
                    view! { <button type="button" class=format!("{BUTTON} {FOCUS}") disabled=move || busy.get() on:click=move |_| set_active(false)>"Disable"</button> }.into_any()
                } else {
                    view! { <button type="button" class=format!("{BUTTON} {FOCUS}") disabled=move || busy.get() on:click=move |_| set_active(true)>"Re-enable"</button> }.into_any()
                }}
                <button type="button" aria-label=format!("Delete the webhook to {url}")
                    on:click=move |_| { confirm.set(Some(hook_for_delete.clone())); open.set(true); }
                    class=format!("rounded-lg border border-rose-300 px-3 py-1 text-xs font-medium text-rose-700 hover:bg-rose-50 {FOCUS}")>
                    "Delete"
                </button>
            </div>
            <Show when=move || log_open.get()>
                <div class="space-y-2">
                    <div class="flex justify-end">
                        <button type="button" class=format!("{BUTTON} {FOCUS}") on:click=move |_| load_log()>"Refresh"</button>
                    </div>
                    {move || match log.get() {
                        None => view! { <div class="h-16 animate-pulse rounded-lg bg-slate-100" aria-busy="true" aria-label="Loading the delivery log"></div> }.into_any(),
                        Some(Err(e)) => view! { <p role="alert" class="text-sm text-rose-700">"Cannot load the delivery log: " {e.user_message()}</p> }.into_any(),
                        Some(Ok(items)) if items.is_empty() => view! { <p class="text-sm text-slate-600">"No delivery yet. Send a test delivery, or wait for a matching event."</p> }.into_any(),
                        Some(Ok(items)) => view! { <DeliveryTable items/> }.into_any(),
                    }}
                    {move || older.get().is_some().then(|| view! {
                        <button type="button" class=format!("{BUTTON} {FOCUS}") on:click=more>"Older deliveries"</button>
                    })}
                </div>
            </Show>
        </li>
    }
}

#[component]
fn DeliveryTable(items: Vec<Delivery>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200">
            <table class="min-w-full text-xs" data-testid="deliveries">
                <thead class="bg-slate-50 text-left uppercase tracking-wide text-slate-600">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Event"</th>
                        <th scope="col" class="px-3 py-2">"State"</th>
                        <th scope="col" class="px-3 py-2 text-right">"Attempts"</th>
                        <th scope="col" class="px-3 py-2">"Error"</th>
                        <th scope="col" class="px-3 py-2">"Next retry"</th>
                        <th scope="col" class="px-3 py-2">"Created"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {items.into_iter().map(|d| {
                        let state = delivery_state(&d);
                        let retry = if d.delivered_at.is_some() { "–".to_owned() } else { when(d.next_attempt_at) };
                        view! {
                            <tr data-topic=d.topic.clone()>
                                <td class="px-3 py-2 font-mono">{d.topic.clone()}</td>
                                <td class="px-3 py-2" data-testid="delivery-state">{state}</td>
                                <td class="px-3 py-2 text-right tabular-nums">{d.attempt}</td>
                                <td class="max-w-xs break-words px-3 py-2 text-rose-700">{d.error.clone().unwrap_or_default()}</td>
                                <td class="whitespace-nowrap px-3 py-2">{retry}</td>
                                <td class="whitespace-nowrap px-3 py-2">{when(Some(d.created_at))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn NewHook(account: Option<AccountId>, topics: Vec<String>, created: Callback<CreatedHook>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let picked = RwSignal::new(Vec::<String>::new());
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let message = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Domain(domain::Error::Invalid { field: f, message })) if f == field => {
                Some(message)
            }
            _ => None,
        }
    };
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. }))
            if field == "url" || field == "events" =>
        {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let events = chosen_events(&picked.get_untracked(), &typed.get_untracked());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_webhook(account, url.get_untracked(), events).await {
                Ok(c) => {
                    error.set(None);
                    url.set(String::new());
                    picked.set(Vec::new());
                    typed.set(String::new());
                    created.run(c);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    // The topics, grouped by their first word.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for t in topics {
        let head = t.split('.').next().unwrap_or_default().to_owned();
        match groups.iter_mut().find(|(h, _)| *h == head) {
            Some((_, list)) => list.push(t),
            None => groups.push((head, vec![t])),
        }
    }
    let url_error = message("url");
    let events_error = message("events");
    view! {
        <section aria-labelledby="new-webhook-heading" class="space-y-3">
            <h2 id="new-webhook-heading" class="text-base font-semibold">"New webhook"</h2>
            <form class="space-y-4 rounded-xl border border-slate-200 bg-white p-4" aria-label="New webhook" on:submit=submit>
                <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>{other}</p>
                <div>
                    <label for="webhook-url" class="block text-sm font-medium text-slate-700">"URL"</label>
                    <p id="webhook-url-help" class="mt-0.5 text-xs text-slate-500">"http:// or https://, reachable from this server (not a private address)."</p>
                    <input id="webhook-url" type="url" required placeholder="https://example.com/hooks/switchboard" class=INPUT
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))
                        aria-invalid=move || url_error().is_some().then_some("true")
                        aria-describedby=move || if url_error().is_some() { "webhook-url-help webhook-url-error" } else { "webhook-url-help" }/>
                    <p id="webhook-url-error" class="mt-1 text-sm text-rose-700" hidden=move || url_error().is_none()>{url_error}</p>
                </div>
                <fieldset class="space-y-2" aria-describedby="webhook-events-error">
                    <legend class="text-sm font-medium text-slate-700">"Events"</legend>
                    <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
                        {groups.into_iter().map(|(head, list)| view! {
                            <div>
                                <p class="text-xs font-semibold uppercase tracking-wide text-slate-500">{head}</p>
                                {list.into_iter().map(|t| {
                                    let value = t.clone();
                                    let checked = {
                                        let t = t.clone();
                                        move || picked.with(|p| p.contains(&t))
                                    };
                                    view! {
                                        <label class="flex items-center gap-2 text-sm text-slate-700">
                                            <input type="checkbox" class="h-4 w-4 rounded border-slate-300 text-indigo-600" prop:checked=checked
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    let v = value.clone();
                                                    picked.update(|p| if on { if !p.contains(&v) { p.push(v) } } else { p.retain(|x| *x != v) });
                                                }/>
                                            <span class="font-mono text-xs">{t}</span>
                                        </label>
                                    }
                                }).collect_view()}
                            </div>
                        }).collect_view()}
                    </div>
                    <div>
                        <label for="webhook-patterns" class="block text-sm font-medium text-slate-700">"Or patterns"</label>
                        <p id="webhook-patterns-help" class="mt-0.5 text-xs text-slate-500">"Separated by commas: * is one word, # any number, e.g. session.* or # for everything."</p>
                        <input id="webhook-patterns" class=INPUT aria-describedby="webhook-patterns-help"
                            prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))/>
                    </div>
                    <p id="webhook-events-error" class="text-sm text-rose-700" hidden=move || events_error().is_none()>{events_error}</p>
                </fieldset>
                <div class="flex justify-end">
                    <button type="submit" disabled=move || busy.get() class=format!("{PRIMARY} {FOCUS}")>
                        {move || if busy.get() { "Creating…" } else { "Create webhook" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_topics_and_typed_patterns_make_one_list() {
        let picked = vec!["session.opened".to_owned(), "message.created".to_owned()];
        assert_eq!(
            chosen_events(&picked, " session.*, message.created\n#"),
            ["session.opened", "message.created", "session.*", "#"]
        );
        assert!(chosen_events(&[], "  ").is_empty());
    }

    #[test]
    fn a_delivery_says_where_it_stands() {
        let now = chrono::Utc::now();
        let mut d = Delivery {
            id: 1,
            webhook_id: WebhookId(uuid::Uuid::new_v4()),
            event_id: uuid::Uuid::new_v4(),
            topic: "webhook.test".into(),
            attempt: 0,
            status_code: None,
            error: None,
            next_attempt_at: Some(now),
            delivered_at: None,
            created_at: now,
        };
        assert_eq!(delivery_state(&d), "Queued");
        d.attempt = 2;
        d.error = Some("connection refused".into());
        assert_eq!(delivery_state(&d), "Retrying");
        d.next_attempt_at = None;
        assert_eq!(delivery_state(&d), "Given up");
        d.delivered_at = Some(now);
        d.status_code = Some(204);
        assert_eq!(delivery_state(&d), "Delivered (204)");
    }
}
