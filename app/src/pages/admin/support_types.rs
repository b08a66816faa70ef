//! `/admin/support-types`: the account's support types with how busy they
//! are (searchable, sortable), and the editor for every setting of one
//! (`/new` and `/{id}`): routing, SLAs, escalation, CSAT, greeting,
//! business hours, the bot that answers first and how it answers
//! ([`super::bot_settings`]), archive and unarchive, the
//! resolution reasons ([`super::reasons`]) and the widget's embed snippet.
//! Creating works without JavaScript.

use domain::{
    support_types::{EditorChoices, ResolutionReason, SupportType, SupportTypeLoad},
    types::{Routing, SupportTypeId},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{
    AdminFrame, Section,
    bot_settings::BotSettingsEditor,
    page_error,
    reasons::ReasonsEditor,
    support_type_form::{SupportTypeForm, WEEKDAYS},
};
use crate::{
    AppError,
    components::{
        alert::ErrorAlert,
        dialog::ConfirmDialog,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

/// What the editor needs: the type (none when creating) and the choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Editor {
    pub support_type: Option<SupportType>,
    pub choices: EditorChoices,
    /// The type's resolution reasons, archived ones too.
    pub reasons: Vec<ResolutionReason>,
}

/// Every type the caller administers, archived ones too, with its load.
#[server(endpoint = "admin/support-types")]
pub async fn support_type_list() -> Result<Vec<SupportTypeLoad>, AppError> {
    let (pool, actor) = caller().await?;
    let filter = domain::support_types::SupportTypeFilter { account_id: None, include_archived: true };
    Ok(domain::support_types::list_with_load(&pool, &actor, filter).await?)
}

/// The editor for a type (or for a new one, without `id`).
#[server(endpoint = "admin/support-type")]
pub async fn support_type_editor(id: Option<SupportTypeId>) -> Result<Editor, AppError> {
    let (pool, actor) = caller().await?;
    let support_type = match id {
        Some(id) => Some(domain::support_types::get(&pool, &actor, id).await?),
        None => None,
    };
    let account = support_type.as_ref().map(|t| t.account_id);
    let choices = domain::support_types::editor_choices(&pool, &actor, account).await?;
    let reasons = match id {
        Some(id) => domain::support_types::list_reasons(&pool, &actor, id, true).await?,
        None => Vec::new(),
    };
    Ok(Editor { support_type, choices, reasons })
}

/// Creates a type and goes to its editor (a real redirect without JavaScript).
#[server(endpoint = "admin/support-type/create")]
pub async fn create_support_type(form: SupportTypeForm) -> Result<SupportType, AppError> {
    let (pool, actor) = caller().await?;
    let created = domain::support_types::create(&pool, &actor, form.into_new()?).await?;
    leptos_axum::redirect(&format!("/admin/support-types/{}?created", created.id));
    Ok(created)
}

/// Saves every setting of the form at once.
#[server(endpoint = "admin/support-type/save")]
pub async fn save_support_type(id: SupportTypeId, form: SupportTypeForm) -> Result<SupportType, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::support_types::update(&pool, &actor, id, form.into_update()?).await?)
}

/// Archives (`archived`) or unarchives a type.
#[server(endpoint = "admin/support-type/archive")]
pub async fn set_support_type_archived(id: SupportTypeId, archived: bool) -> Result<SupportType, AppError> {
    let (pool, actor) = caller().await?;
    Ok(if archived {
        domain::support_types::archive(&pool, &actor, id).await?
    } else {
        domain::support_types::restore(&pool, &actor, id).await?
    })
}

/// "5 min", "90 s", "2 h"; "—" for none.
pub fn duration_label(secs: Option<i32>) -> String {
    match secs {
        None => "—".to_owned(),
        Some(s) if s % 3600 == 0 => format!("{} h", s / 3600),
        Some(s) if s % 60 == 0 => format!("{} min", s / 60),
        Some(s) => format!("{s} s"),
    }
}

pub fn routing_label(r: Routing) -> &'static str {
    match r {
        Routing::RoundRobin => "Round robin",
        Routing::LeastLoaded => "Least loaded",
        Routing::Manual => "Manual",
        Routing::BotFirst => "Bot first",
    }
}

/// The list's columns, by the `sort` query parameter's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Name,
    Slug,
    Routing,
    Waiting,
    Online,
    Sla,
    State,
}

const COLUMNS: [(SortKey, &str, &str); 7] = [
    (SortKey::Name, "name", "Name"),
    (SortKey::Slug, "slug", "Slug"),
    (SortKey::Routing, "routing", "Routing"),
    (SortKey::Waiting, "waiting", "Waiting now"),
    (SortKey::Online, "online", "Agents online"),
    (SortKey::Sla, "sla", "Queue SLA"),
    (SortKey::State, "state", "State"),
];

fn sort_rows(rows: &mut [SupportTypeLoad], key: SortKey, descending: bool) {
    rows.sort_by(|a, b| {
        let (x, y) = (&a.support_type, &b.support_type);
        let order = match key {
            SortKey::Name => x.name.to_lowercase().cmp(&y.name.to_lowercase()),
            SortKey::Slug => x.slug.cmp(&y.slug),
            SortKey::Routing => routing_label(x.routing).cmp(routing_label(y.routing)),
            SortKey::Waiting => a.waiting_now.cmp(&b.waiting_now),
            SortKey::Online => a.agents_online.cmp(&b.agents_online),
            SortKey::Sla => x.queue_sla_secs.cmp(&y.queue_sla_secs),
            SortKey::State => x.archived_at.is_some().cmp(&y.archived_at.is_some()),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| x.name.cmp(&y.name))
    });
}

fn matches(row: &SupportTypeLoad, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    needle.is_empty()
        || row.support_type.name.to_lowercase().contains(&needle)
        || row.support_type.slug.contains(&needle)
}

/// `/admin` and `/admin/support-types`.
#[component]
pub fn SupportTypesPage() -> impl IntoView {
    let list = Resource::new(|| (), |()| support_type_list());
    let query = use_query_map();
    // The search works as a plain GET form without JavaScript, and filters
    // as one types with it.
    let search = RwSignal::new(query.read_untracked().get("q").unwrap_or_default());
    let sort = Memo::new(move |_| {
        let q = query.read();
        let key = COLUMNS
            .iter()
            .find(|(_, name, _)| q.get("sort").as_deref() == Some(*name))
            .map_or(SortKey::Name, |(k, _, _)| *k);
        (key, q.get("dir").as_deref() == Some("desc"))
    });
    view! {
        <Title text="Support types"/>
        <AdminFrame path="/admin/support-types" section=Section::SupportTypes title="Support types".to_owned()
            action=("New support type", "/admin/support-types/new")>
            <form method="get" action="/admin/support-types" role="search" class="mb-4 flex max-w-md gap-2">
                <label for="type-search" class="sr-only">"Search support types"</label>
                <input id="type-search" name="q" type="search" placeholder="Search by name or slug"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))
                    class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                <button type="submit" class="rounded-lg border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">"Search"</button>
            </form>
            <Transition fallback=ListSkeleton>
                {move || list.get().map(|r| match r {
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="text-sm text-slate-600">
                            "No support types yet. Create the first one so that customers can reach you. "
                            <a href="/admin/support-types/new" class="font-medium text-indigo-700 underline">"New support type"</a>
                        </p>
                    }.into_any(),
                    Ok(rows) => view! { <TypeTable rows search sort/> }.into_any(),
                    Err(e) => page_error("the support types", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

#[component]
fn TypeTable(
    rows: Vec<SupportTypeLoad>,
    search: RwSignal<String>,
    sort: Memo<(SortKey, bool)>,
) -> impl IntoView {
    let rows = StoredValue::new(rows);
    let shown = move || {
        let needle = search.get();
        let (key, descending) = sort.get();
        let mut shown: Vec<SupportTypeLoad> =
            rows.with_value(|r| r.iter().filter(|row| matches(row, &needle)).cloned().collect());
        sort_rows(&mut shown, key, descending);
        shown
    };
    let header = move |(key, name, label): (SortKey, &'static str, &'static str)| {
        let (current, descending) = sort.get();
        let active = current == key;
        let next_desc = active && !descending;
        let q = search.get();
        let href = format!(
            "/admin/support-types?sort={name}&dir={}{}",
            if next_desc { "desc" } else { "asc" },
            if q.is_empty() { String::new() } else { format!("&q={}", urlencode(&q)) }
        );
        let aria = active.then_some(if descending { "descending" } else { "ascending" });
        view! {
            <th scope="col" class="px-4 py-2" aria-sort=aria>
                <a href=href class="inline-flex items-center gap-1 rounded hover:text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    {label}
                    <span aria-hidden="true">{if active { if descending { "↓" } else { "↑" } } else { "" }}</span>
                </a>
            </th>
        }
    };
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="support-types">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>{move || COLUMNS.iter().map(|c| header(*c)).collect_view()}</tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {move || {
                        let shown = shown();
                        if shown.is_empty() {
                            return view! {
                                <tr><td colspan="7" class="px-4 py-6 text-slate-600">
                                    {format!("No support type matches \u{201c}{}\u{201d}.", search.get())}
                                </td></tr>
                            }.into_any();
                        }
                        shown.into_iter().map(|row| {
                            let t = row.support_type;
                            let archived = t.archived_at.is_some();
                            let slug_attr = t.slug.clone();
                            view! {
                                <tr data-slug=slug_attr>
                                    <td class="px-4 py-2 font-medium">
                                        <a href=format!("/admin/support-types/{}", t.id) class="text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{t.name}</a>
                                    </td>
                                    <td class="px-4 py-2 font-mono text-xs text-slate-600">{t.slug}</td>
                                    <td class="px-4 py-2">{routing_label(t.routing)}</td>
                                    <td class="px-4 py-2 tabular-nums">{row.waiting_now}</td>
                                    <td class="px-4 py-2 tabular-nums">{row.agents_online}</td>
                                    <td class="px-4 py-2">{duration_label(t.queue_sla_secs)}</td>
                                    <td class="px-4 py-2">
                                        {if archived {
                                            view! { <span class="rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-700">"Archived"</span> }.into_any()
                                        } else {
                                            view! { <span class="rounded-full bg-emerald-50 px-2 py-0.5 text-xs text-emerald-800">"Active"</span> }.into_any()
                                        }}
                                    </td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </div>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/admin/support-types/new`.
#[component]
pub fn NewSupportTypePage() -> impl IntoView {
    let editor = Resource::new(|| (), |()| support_type_editor(None));
    let create = ServerAction::<CreateSupportType>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="New support type"/>
        <AdminFrame path="/admin/support-types/new" section=Section::SupportTypes title="New support type".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || editor.get().map(|r| match r {
                    Ok(editor) => view! {
                        <ActionForm action=create attr:class="max-w-2xl space-y-6" attr:aria-label="New support type">
                            <SupportTypeFields form=SupportTypeForm::from_type(None) this=None choices=editor.choices error/>
                            <div class="flex justify-end">
                                <SubmitButton pending=create.pending() label="Create support type" busy="Creating…"/>
                            </div>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => page_error("the editor", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

#[component]
pub(crate) fn SubmitButton(pending: Memo<bool>, label: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" disabled=move || pending.get()
            class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
            {move || if pending.get() { busy } else { label }}
        </button>
    }
}

/// `/admin/support-types/{id}`.
#[component]
pub fn EditSupportTypePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<SupportTypeId>().ok());
    let editor = Resource::new(id, |id| async move {
        match id {
            Some(id) => support_type_editor(Some(id)).await,
            None => Err(AppError::Domain(domain::Error::not_found("support type"))),
        }
    });
    let save = ServerAction::<SaveSupportType>::new();
    let archive = ServerAction::<SetSupportTypeArchived>::new();
    let toasts = Toasts::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(ty)) => {
            toasts.success(format!("Saved {}", ty.name));
            editor.refetch();
        }
        Some(Err(_)) => toasts.error("Not saved: see the message in the form."),
        None => {}
    });
    Effect::new(move |_| match archive.value().get() {
        Some(Ok(ty)) => {
            let verb = if ty.archived_at.is_some() { "Archived" } else { "Unarchived" };
            toasts.success(format!("{verb} {}", ty.name));
            editor.refetch();
        }
        Some(Err(e)) => toasts.error(e.user_message()),
        None => {}
    });
    let title = Signal::derive(move || {
        editor
            .get()
            .and_then(Result::ok)
            .and_then(|e| e.support_type)
            .map_or_else(|| "Support type".to_owned(), |t| t.name)
    });
    let created = move || query.read().get("created").is_some();
    view! {
        <Title text=move || title.get()/>
        <AdminFrame path=format!("/admin/support-types/{}", id().map(|i| i.to_string()).unwrap_or_default())
            section=Section::SupportTypes title>
            {move || created().then(|| view! {
                <p role="status" class="mb-4 rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-800">
                    "Support type created. Customers can chat with it now; review the settings below."
                </p>
            })}
            <Transition fallback=ListSkeleton>
                {move || editor.get().map(|r| match r {
                    Ok(Editor { support_type: Some(ty), choices, reasons }) => {
                        let form = SupportTypeForm::from_type(Some(&ty));
                        let id = ty.id;
                        view! {
                        <div class="max-w-2xl space-y-8">
                            <ArchiveBar ty=ty.clone() archive/>
                            <ActionForm action=save attr:class="space-y-6" attr:aria-label="Support type settings">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <SupportTypeFields form this=Some(id) choices error/>
                                <div class="flex justify-end">
                                    <SubmitButton pending=save.pending() label="Save changes" busy="Saving…"/>
                                </div>
                            </ActionForm>
                            <ReasonsEditor type_id=id reasons toasts/>
                            <BotSettingsEditor type_id=id toasts/>
                            <EmbedSnippet ty toasts/>
                        </div>
                    }.into_any()},
                    Ok(Editor { support_type: None, .. }) => page_error("the support type", AppError::Domain(domain::Error::not_found("support type"))),
                    Err(e) => page_error("the support type", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

/// The type's state, with archive (asked once, in a dialog that names the
/// type) or unarchive.
#[component]
fn ArchiveBar(ty: SupportType, archive: ServerAction<SetSupportTypeArchived>) -> impl IntoView {
    let open = RwSignal::new(false);
    let id = ty.id;
    let name = ty.name.clone();
    if ty.archived_at.is_some() {
        return view! {
            <div class="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-slate-200 bg-slate-50 p-4 text-sm">
                <p data-testid="type-state">"Archived: customers cannot start new chats of this type."</p>
                <button type="button" on:click=move |_| { archive.dispatch(SetSupportTypeArchived { id, archived: false }); }
                    class="rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Unarchive"
                </button>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-slate-200 bg-white p-4 text-sm">
            <p data-testid="type-state">"Active: customers can chat at " <span class="font-mono">{format!("/chat/{}", ty.slug)}</span> "."</p>
            <button type="button" on:click=move |_| open.set(true)
                class="rounded-lg border border-rose-300 px-3 py-1.5 font-medium text-rose-700 hover:bg-rose-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Archive"
            </button>
        </div>
        <ConfirmDialog open title=format!("Archive {name}?") id="archive-type" confirm=format!("Archive {name}")
            on_confirm=Callback::new(move |()| { archive.dispatch(SetSupportTypeArchived { id, archived: true }); })>
            "Customers can no longer start chats of this type. Open sessions are not affected, and you can unarchive it later."
        </ConfirmDialog>
    }
    .into_any()
}

/// The widget: the chat page in an iframe, ready to paste, with Copy.
#[component]
fn EmbedSnippet(ty: SupportType, toasts: Toasts) -> impl IntoView {
    let origin = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(o) = window().location().origin() {
            origin.set(o);
        }
    });
    let slug = ty.slug.clone();
    let name = ty.name.clone();
    let snippet = Signal::derive(move || {
        format!(
            "<iframe src=\"{}/chat/{slug}\" title=\"{name} chat\" width=\"400\" height=\"600\" style=\"border:0\"></iframe>",
            origin.get()
        )
    });
    let copy = move |_| {
        // The browser may refuse the clipboard; the snippet stays selectable.
        #[cfg(feature = "hydrate")]
        let _ = window().navigator().clipboard().write_text(&snippet.get_untracked());
        toasts.success("Snippet copied");
    };
    view! {
        <section aria-labelledby="embed-heading" class="space-y-2">
            <h2 id="embed-heading" class="text-base font-semibold">"Embed the chat widget"</h2>
            <p id="embed-help" class="text-sm text-slate-600">"Paste this into your site's HTML. Allow the site's origin in the account's widget origins."</p>
            <label for="embed-snippet" class="sr-only">"Embed snippet"</label>
            <textarea id="embed-snippet" readonly rows="3" aria-describedby="embed-help" prop:value=snippet
                class="block w-full rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{snippet}</textarea>
            <div class="flex justify-end">
                <button type="button" on:click=copy
                    class="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Copy"
                </button>
            </div>
        </section>
    }
}

pub(crate) const INPUT: &str = "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const CHECKBOX: &str =
    "h-4 w-4 rounded border-slate-300 text-indigo-600 focus-visible:ring-2 focus-visible:ring-indigo-500";

/// The domain's message for `field`, if the last attempt failed on it.
pub(crate) fn field_error(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy {
    move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field: f, message })) if f == field => Some(message),
        _ => None,
    }
}

/// The fields the form knows; an invalid field outside them is shown above.
const FIELDS: [&str; 13] = [
    "account_id",
    "name",
    "slug",
    "routing",
    "queue_sla_secs",
    "first_response_sla_secs",
    "escalation_target_id",
    "escalation_priority_bump",
    "preferred_wait_secs",
    "bot_agent_id",
    "greeting",
    "business_hours",
    "after_hours_message",
];

/// A labelled field: label above, help under the label, the control, and
/// the domain's error under it (`aria-describedby` names both).
#[component]
pub(crate) fn Field(
    field: &'static str,
    label: &'static str,
    #[prop(optional)] help: Option<&'static str>,
    error: Signal<Option<AppError>>,
    children: Children,
) -> impl IntoView {
    let message = field_error(error, field);
    view! {
        <div>
            <label for=format!("st-{field}") class="block text-sm font-medium text-slate-700">{label}</label>
            {help.map(|h| view! { <p id=format!("st-{field}-help") class="mt-0.5 text-xs text-slate-500">{h}</p> })}
            {children()}
            <p id=format!("st-{field}-error") class="mt-1 text-sm text-rose-700" hidden=move || message().is_none()>
                {message}
            </p>
        </div>
    }
}

/// `aria-describedby` for a field's control.
pub(crate) fn described_by(
    field: &'static str,
    help: bool,
    error: Signal<Option<AppError>>,
) -> impl Fn() -> Option<String> {
    let message = field_error(error, field);
    move || {
        let mut ids = Vec::new();
        if help {
            ids.push(format!("st-{field}-help"));
        }
        if message().is_some() {
            ids.push(format!("st-{field}-error"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// A whole number of something, as a [`Field`].
#[component]
fn NumberField(
    field: &'static str,
    label: &'static str,
    help: &'static str,
    value: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = field_error(error, field);
    view! {
        <Field field label help error>
            <input id=format!("st-{field}") name=format!("form[{field}]") type="number" step="1" value=value class=INPUT
                aria-invalid=move || message().is_some().then_some("true") aria-describedby=described_by(field, true, error)/>
        </Field>
    }
}

#[component]
fn SupportTypeFields(
    form: SupportTypeForm,
    /// The type being edited (not offered as its own escalation target).
    this: Option<SupportTypeId>,
    choices: EditorChoices,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if FIELDS.contains(&field.as_str()) => {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let invalid = move |field: &'static str| move || field_error(error, field)().is_some().then_some("true");
    let many_accounts = choices.accounts.len() > 1;
    let accounts = StoredValue::new(choices.accounts.clone());
    let label_of = move |name: &str, account: domain::types::AccountId| {
        if !many_accounts {
            return name.to_owned();
        }
        let account = accounts.with_value(|all| {
            all.iter().find(|a| a.account_id == account).map(|a| a.name.clone()).unwrap_or_default()
        });
        format!("{name} ({account})")
    };
    let selected = |current: &str, id: &str| current == id;
    view! {
        <div aria-live="polite">
            {move || other().map(|message| view! { <ErrorAlert title="Not saved" message/> })}
        </div>
        <fieldset class="space-y-4">
            <legend class="text-base font-semibold">"Basics"</legend>
            {(this.is_none() && many_accounts).then(|| view! {
                <Field field="account_id" label="Account" error>
                    <select id="st-account_id" name="form[account_id]" class=INPUT
                        aria-invalid=invalid("account_id") aria-describedby=described_by("account_id", false, error)>
                        <option value="">"Choose the account"</option>
                        {choices.accounts.iter().map(|a| view! {
                            <option value=a.id.to_string() selected=selected(&form.account_id, &a.id.to_string())>{a.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </Field>
            })}
            <Field field="name" label="Name" help="What customers and agents see, e.g. Billing." error>
                <input id="st-name" name="form[name]" type="text" value=form.name.clone() class=INPUT
                    aria-invalid=invalid("name") aria-describedby=described_by("name", true, error)/>
            </Field>
            <Field field="slug" label="Slug" help="Lowercase letters, digits and dashes; the chat lives at /chat/{slug}." error>
                <input id="st-slug" name="form[slug]" type="text" value=form.slug.clone() class=INPUT autocomplete="off"
                    aria-invalid=invalid("slug") aria-describedby=described_by("slug", true, error)/>
            </Field>
            <Field field="greeting" label="Greeting" help="The first message a customer reads. Leave empty for none." error>
                <textarea id="st-greeting" name="form[greeting]" rows="2" class=INPUT
                    aria-invalid=invalid("greeting") aria-describedby=described_by("greeting", true, error)>{form.greeting.clone()}</textarea>
            </Field>
        </fieldset>
        <fieldset class="space-y-4">
            <legend class="text-base font-semibold">"Routing"</legend>
            <Field field="routing" label="Routing strategy" error>
                <select id="st-routing" name="form[routing]" class=INPUT
                    aria-invalid=invalid("routing") aria-describedby=described_by("routing", false, error)>
                    {Routing::ALL.iter().map(|r| view! {
                        <option value=r.as_str() selected=selected(&form.routing, r.as_str())>{routing_label(*r)}</option>
                    }).collect_view()}
                </select>
            </Field>
            <Field field="bot_agent_id" label="Bot that answers first" help="Needed for bot-first routing." error>
                <select id="st-bot_agent_id" name="form[bot_agent_id]" class=INPUT
                    aria-invalid=invalid("bot_agent_id") aria-describedby=described_by("bot_agent_id", true, error)>
                    <option value="">"No bot"</option>
                    {choices.bots.iter().map(|b| view! {
                        <option value=b.id.to_string() selected=selected(&form.bot_agent_id, &b.id.to_string())>{label_of(&b.name, b.account_id)}</option>
                    }).collect_view()}
                </select>
            </Field>
            <NumberField field="preferred_wait_secs" label="Preferred-agent wait (seconds)" help="How long a session waits for the customer's preferred agent before anyone else takes it." value=form.preferred_wait_secs.clone() error/>
        </fieldset>
        <fieldset class="space-y-4">
            <legend class="text-base font-semibold">"Service levels and escalation"</legend>
            <NumberField field="queue_sla_secs" label="Queue SLA (seconds)" help="The longest wait in the queue before the session escalates. Empty for none." value=form.queue_sla_secs.clone() error/>
            <NumberField field="first_response_sla_secs" label="First-response SLA (seconds)" help="An owner who does not reply in time loses the session to the queue. Empty for none." value=form.first_response_sla_secs.clone() error/>
            <Field field="escalation_target_id" label="Escalation target" help="Where a session goes when it escalates. None keeps it in this type." error>
                <select id="st-escalation_target_id" name="form[escalation_target_id]" class=INPUT
                    aria-invalid=invalid("escalation_target_id") aria-describedby=described_by("escalation_target_id", true, error)>
                    <option value="">"None"</option>
                    {choices.support_types.iter().filter(|t| Some(SupportTypeId(t.id)) != this).map(|t| view! {
                        <option value=t.id.to_string() selected=selected(&form.escalation_target_id, &t.id.to_string())>{label_of(&t.name, t.account_id)}</option>
                    }).collect_view()}
                </select>
            </Field>
            <NumberField field="escalation_priority_bump" label="Priority bump on escalation" help="0 to 100; higher priority is served first." value=form.escalation_priority_bump.clone() error/>
        </fieldset>
        <fieldset class="space-y-3">
            <legend class="text-base font-semibold">"Resolution and feedback"</legend>
            <div class="flex items-center gap-2">
                <input id="st-csat_enabled" name="form[csat_enabled]" type="checkbox" checked=form.csat_enabled.is_some() class=CHECKBOX/>
                <label for="st-csat_enabled" class="text-sm text-slate-700">"Ask the customer for a rating (CSAT) after the chat"</label>
            </div>
            <div class="flex items-center gap-2">
                <input id="st-reason_required" name="form[reason_required]" type="checkbox" checked=form.reason_required.is_some() class=CHECKBOX/>
                <label for="st-reason_required" class="text-sm text-slate-700">"Resolving needs a resolution reason"</label>
            </div>
        </fieldset>
        <fieldset class="space-y-4" aria-describedby=described_by("business_hours", false, error)>
            <legend class="text-base font-semibold">"Business hours"</legend>
            <div class="flex items-center gap-2">
                <input id="st-business_hours" name="form[business_hours]" type="checkbox" checked=form.business_hours.is_some() class=CHECKBOX/>
                <label for="st-business_hours" class="text-sm text-slate-700">"Open only during business hours"</label>
            </div>
            <p id="st-business_hours-error" class="text-sm text-rose-700" hidden=move || field_error(error, "business_hours")().is_none()>
                {field_error(error, "business_hours")}
            </p>
            <div class="space-y-4">
                <div>
                    <label for="st-time_zone" class="block text-sm font-medium text-slate-700">"Time zone"</label>
                    <p id="st-time_zone-help" class="mt-0.5 text-xs text-slate-500">"An IANA name such as Europe/Berlin; daylight saving is followed."</p>
                    <input id="st-time_zone" name="form[time_zone]" type="text" value=form.time_zone.clone() class=INPUT
                        aria-describedby="st-time_zone-help"/>
                </div>
                <table class="text-sm">
                    <caption class="sr-only">"Opening hours per weekday"</caption>
                    <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                        <tr><th scope="col" class="py-1 pr-4">"Day"</th><th scope="col" class="py-1 pr-4">"Opens"</th><th scope="col" class="py-1">"Closes"</th></tr>
                    </thead>
                    <tbody>
                        {WEEKDAYS.iter().map(|(day, label)| {
                            let d = form.days.get(*day).cloned().unwrap_or_default();
                            let (from, to) = if d.from.is_empty() { ("09:00".to_owned(), "17:00".to_owned()) } else { (d.from, d.to) };
                            view! {
                                <tr>
                                    <td class="py-1 pr-4">
                                        <label class="flex items-center gap-2">
                                            <input type="checkbox" name=format!("form[days][{day}][open]") checked=d.open.is_some() class=CHECKBOX/>
                                            {format!("{label} open")}
                                        </label>
                                    </td>
                                    <td class="py-1 pr-4">
                                        <input type="time" name=format!("form[days][{day}][from]") value=from aria-label=format!("{label} opens")
                                            class="rounded-lg border border-slate-300 px-2 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                                    </td>
                                    <td class="py-1">
                                        <input type="time" name=format!("form[days][{day}][to]") value=to aria-label=format!("{label} closes")
                                            class="rounded-lg border border-slate-300 px-2 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Field field="after_hours_message" label="After-hours message" help="What customers read when they write outside these hours." error>
                    <textarea id="st-after_hours_message" name="form[after_hours_message]" rows="2" class=INPUT
                        aria-describedby=described_by("after_hours_message", true, error)>{form.after_hours_message.clone()}</textarea>
                </Field>
            </div>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration_label(Some(300)), "5 min");
        assert_eq!(duration_label(Some(7200)), "2 h");
        assert_eq!(duration_label(Some(90)), "90 s");
        assert_eq!(duration_label(None), "—");
    }
}
