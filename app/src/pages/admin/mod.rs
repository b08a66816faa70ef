//! `/admin`: the admin console. A left nav over the console's pages, each
//! with its title and primary action; what a page shows is decided by the
//! domain (agents and bots are told "Administrators only" when it refuses).
//!
//! This module holds the frame and the two oldest pages: the account's
//! blasts with their progress, and the audit log of security-relevant
//! actions (logins, failures, tokens, role changes, supervisor
//! reassignments). Support types (with their resolution reasons) live in
//! [`support_types`], agents and bots in [`agents`].

pub mod accounts;
pub mod agent_form;
pub mod agents;
pub mod attachments;
pub mod blasts;
pub mod bot_settings;
pub mod canned;
pub mod import;
pub mod monitor;
pub mod reasons;
pub mod reports;
pub mod support_type_form;
pub mod support_types;
pub mod tags;
pub mod webhooks;

use domain::{audit::AuditEntry, blasts::BlastProgress, sessions::Page};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    AppError,
    components::{alert::ErrorAlert, shell::RequireSignIn},
    pages::agent::ListSkeleton,
};

#[cfg(feature = "ssr")]
pub(crate) use crate::ssr::caller;

#[server(endpoint = "admin/audit")]
pub async fn audit_log(
    before: Option<i64>,
    filter: Option<domain::audit::AuditFilter>,
) -> Result<Page<AuditEntry>, AppError> {
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    let filter = filter.unwrap_or_default();
    Ok(domain::audit::list(&pool, &domain::actor::Actor::Agent(me.actor), &filter, before, Some(50)).await?)
}

/// The audit page's filters as its address carries them (`?action=login.&from=2026-12-01&to=2026-12-04`):
/// whole days in UTC, `to` included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub action: String,
    pub from: String,
    pub to: String,
}

impl AuditQuery {
    /// The domain's filter, or the field that cannot be read.
    pub fn filter(&self) -> Result<domain::audit::AuditFilter, domain::Error> {
        let day = |field: &str, text: &str| -> Result<Option<chrono::NaiveDate>, domain::Error> {
            match text.trim() {
                "" => Ok(None),
                t => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| domain::Error::invalid(field, "use a date such as 2026-12-01")),
            }
        };
        let start = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        Ok(domain::audit::AuditFilter {
            action: Some(self.action.trim().to_owned()).filter(|a| !a.is_empty()),
            since: day("since", &self.from)?.and_then(start),
            until: day("until", &self.to)?.and_then(|d| d.succ_opt()).and_then(start),
            ..Default::default()
        })
    }
}

/// The caller's account's blasts, newest first, with their progress.
#[server(endpoint = "admin/blasts")]
pub async fn blast_list() -> Result<Vec<BlastProgress>, AppError> {
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    Ok(domain::blasts::list(&pool, &domain::actor::Actor::Agent(me.actor), None).await?)
}

/// The console's pages that exist, in the nav's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Monitor,
    SupportTypes,
    Agents,
    Tags,
    Canned,
    Accounts,
    Webhooks,
    Blasts,
    Reports,
    Import,
    Attachments,
    AuditLog,
}

const SECTIONS: [(Section, &str, &str); 13] = [
    (Section::Overview, "Overview", "/admin"),
    (Section::Monitor, "Live monitor", "/admin/monitor"),
    (Section::SupportTypes, "Support types", "/admin/support-types"),
    (Section::Agents, "Agents", "/admin/agents"),
    (Section::Tags, "Tags and rules", "/admin/tags"),
    (Section::Canned, "Canned replies", "/admin/canned"),
    (Section::Accounts, "Accounts", "/admin/accounts"),
    (Section::Webhooks, "Webhooks", "/admin/webhooks"),
    (Section::Blasts, "Blasts", "/admin/blasts"),
    (Section::Reports, "Reports", "/admin/reports"),
    (Section::Import, "Import", "/admin/import"),
    (Section::Attachments, "Attachments", "/admin/attachments"),
    (Section::AuditLog, "Audit log", "/admin/audit"),
];

/// A console page: the sign-in guard, the left nav, the page title with its
/// primary action top right, and the content.
#[component]
pub fn AdminFrame(
    /// Where sign-in comes back to.
    #[prop(into)]
    path: String,
    section: Section,
    #[prop(into)] title: Signal<String>,
    /// The primary action: label and address.
    #[prop(optional)]
    action: Option<(&'static str, &'static str)>,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <RequireSignIn path render=move |_me| view! {
            <div class="mx-auto flex max-w-7xl flex-col gap-6 px-4 py-6 sm:px-6 md:flex-row">
                <nav aria-label="Admin" class="md:w-48 md:shrink-0">
                    <ul class="flex flex-wrap gap-1 text-sm md:flex-col">
                        {SECTIONS.iter().map(|(s, label, href)| {
                            let current = *s == section;
                            view! {
                                <li>
                                    <a href=*href aria-current=current.then_some("page")
                                        class=if current {
                                            "block rounded-lg bg-indigo-50 px-3 py-2 font-medium text-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                        } else {
                                            "block rounded-lg px-3 py-2 text-slate-700 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                        }>
                                        {*label}
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </nav>
                <main class="min-w-0 flex-1" data-hydrated=move || hydrated.get().then_some("true")>
                    <div class="flex flex-wrap items-center justify-between gap-3">
                        <h1 class="text-xl font-semibold">{move || title.get()}</h1>
                        {action.map(|(label, href)| view! {
                            <a href=href class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                                {label}
                            </a>
                        })}
                    </div>
                    <div class="mt-6">{children.with_value(|c| c())}</div>
                </main>
            </div>
        }/>
    }
}

/// The account a new thing belongs to: a select when the caller
/// administers several (a global admin), otherwise that one account as a
/// hidden field, so that the form always names it.
#[component]
pub(crate) fn AccountChoice(
    accounts: Vec<domain::support_types::EditorChoice>,
    /// The posted name (`form[account_id]`) and the select's id.
    name: &'static str,
    id: &'static str,
    /// The select's empty choice ("Choose an account").
    none: &'static str,
    error: Signal<Option<AppError>>,
    /// Told of each choice, for a form's live preview.
    #[prop(optional)]
    on_pick: Option<Callback<String>>,
) -> impl IntoView {
    let message = support_types::field_error(error, "account_id");
    match accounts.as_slice() {
        [] => ().into_any(),
        [one] => view! { <input type="hidden" name=name value=one.id.to_string()/> }.into_any(),
        many => {
            let options = many.to_vec();
            view! {
                <div>
                    <label for=id class="block text-sm font-medium text-slate-700">"Account"</label>
                    <select id=id name=name class=support_types::INPUT
                        aria-invalid=move || message().is_some().then_some("true")
                        aria-describedby=move || message().is_some().then(|| format!("{id}-error"))
                        on:change=move |ev| if let Some(cb) = on_pick { cb.run(event_target_value(&ev)) }>
                        <option value="">{none}</option>
                        {options.into_iter().map(|a| view! { <option value=a.id.to_string()>{a.name}</option> }).collect_view()}
                    </select>
                    <p id=format!("{id}-error") class="mt-1 text-sm text-rose-700" hidden=move || message().is_none()>{message}</p>
                </div>
            }
            .into_any()
        }
    }
}

/// What an agent or a bot sees where the domain refused: plain words.
#[component]
pub fn AdminsOnly() -> impl IntoView {
    view! {
        <ErrorAlert title="Administrators only" message="This page is for your account's administrators. Ask one if you need a change here."/>
    }
}

/// The error state of a console page: "Administrators only" when refused.
pub fn page_error(what: &str, err: AppError) -> AnyView {
    match err {
        AppError::Domain(domain::Error::Forbidden { .. }) => view! { <AdminsOnly/> }.into_any(),
        e => view! { <ErrorAlert title=format!("Cannot load {what}") message=e.user_message()/> }.into_any(),
    }
}

/// `/admin`: the recent blasts and the audit log at a glance.
#[component]
pub fn AdminOverview() -> impl IntoView {
    let (before, set_before) = signal(None::<i64>);
    let page = Resource::new(move || before.get(), |before| audit_log(before, None));
    let blasts = Resource::new(|| (), |()| blast_list());
    view! {
        <Title text="Admin"/>
        <AdminFrame path="/admin" section=Section::Overview title="Admin console".to_owned()
            action=("New support type", "/admin/support-types/new")>
            <section aria-labelledby="blasts-heading" class="space-y-2">
                <h2 id="blasts-heading" class="text-base font-semibold">"Blasts"</h2>
                <Blasts blasts/>
            </section>
            <section aria-labelledby="audit-heading" class="mt-8 space-y-2">
                <h2 id="audit-heading" class="text-base font-semibold">"Audit log"</h2>
                <AuditLog page set_before/>
            </section>
        </AdminFrame>
    }
}

/// `/admin/audit`, narrowed by action and days (a GET form, so it works
/// without JavaScript and the address can be shared).
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let read = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditQuery { action: get("action"), from: get("from"), to: get("to") }
    };
    // Created once, outside the guard's reactive closure (see AgentPage).
    let (before, set_before) = signal(None::<i64>);
    let page = Resource::new(
        move || (before.get(), read()),
        |(before, q)| async move {
            let filter = q.filter().map_err(AppError::Domain)?;
            audit_log(before, Some(filter)).await
        },
    );
    // A new filter starts from the newest entries.
    Effect::new(move |_| {
        read();
        set_before.set(None);
    });
    const INPUT: &str = "mt-1 block rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
    view! {
        <Title text="Audit log"/>
        <AdminFrame path="/admin/audit" section=Section::AuditLog title="Audit log".to_owned()>
            <form method="get" action="/admin/audit" aria-label="Filter the audit log" class="mb-6 flex flex-wrap items-end gap-3">
                <div>
                    <label for="audit-action" class="block text-sm font-medium text-slate-700">"Action starts with"</label>
                    <input id="audit-action" name="action" list="audit-actions" placeholder="login." class=INPUT
                        prop:value=move || read().action/>
                    <datalist id="audit-actions">
                        {["login.", "login.failed", "password.", "token.", "agent.", "customer.erased", "blast.created",
                          "attachment_policy.updated", "identity_secret.rotated"]
                            .into_iter().map(|a| view! { <option value=a></option> }).collect_view()}
                    </datalist>
                </div>
                <div>
                    <label for="audit-from" class="block text-sm font-medium text-slate-700">"From (UTC)"</label>
                    <input id="audit-from" name="from" type="date" class=INPUT prop:value=move || read().from/>
                </div>
                <div>
                    <label for="audit-to" class="block text-sm font-medium text-slate-700">"To (UTC, included)"</label>
                    <input id="audit-to" name="to" type="date" class=INPUT prop:value=move || read().to/>
                </div>
                <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                    "Filter"
                </button>
                <a href="/admin/audit" class="rounded-lg px-3 py-2 text-sm text-indigo-700 hover:bg-indigo-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Clear"
                </a>
            </form>
            <AuditLog page set_before/>
        </AdminFrame>
    }
}

/// Tailwind width classes in twelfths (inline styles are barred by the CSP).
const WIDTHS: [&str; 13] = [
    "w-0", "w-1/12", "w-2/12", "w-3/12", "w-4/12", "w-5/12", "w-6/12", "w-7/12", "w-8/12", "w-9/12",
    "w-10/12", "w-11/12", "w-full",
];

/// The width class for `done` of `total`, rounded down (full only when done).
pub(crate) fn width_class(done: i32, total: i32) -> &'static str {
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
                    <p class="text-sm text-slate-600">
                        "Messages to a segment of your customers, sent in the background. "
                        <a href="/admin/blasts" class="text-indigo-700 underline hover:no-underline">"Compose one"</a>
                    </p>
                    <div class="mt-4"><blasts::BlastTable list=Signal::stored(Some(list)) cancel=None/></div>
                }.into_any(),
                Err(e) => page_error("the blasts", e),
            })}
        </Transition>
    }
}

#[component]
fn AuditLog(
    page: Resource<Result<Page<AuditEntry>, AppError>>,
    set_before: WriteSignal<Option<i64>>,
) -> impl IntoView {
    view! {
        <div>
            <p class="text-sm text-slate-600">"Sign-ins, failures, API tokens, role changes and supervisor reassignments, newest first."</p>
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
                        Err(e) => page_error("the audit log", e),
                    })}
                </Transition>
            </div>
        </div>
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

#[cfg(test)]
mod audit_query_tests {
    use super::AuditQuery;

    #[test]
    fn days_are_whole_and_the_last_one_is_included() {
        let q = AuditQuery { action: " login. ".into(), from: "2026-12-01".into(), to: "2026-12-04".into() };
        let f = q.filter().expect("filter");
        assert_eq!(f.action.as_deref(), Some("login."));
        assert_eq!(f.since.map(|t| t.to_rfc3339()), Some("2026-12-01T00:00:00+00:00".into()));
        assert_eq!(f.until.map(|t| t.to_rfc3339()), Some("2026-12-05T00:00:00+00:00".into()));
        assert_eq!(AuditQuery::default().filter().expect("empty"), Default::default());
        let bad = AuditQuery { to: "04/12/2026".into(), ..AuditQuery::default() };
        assert!(matches!(bad.filter(), Err(domain::Error::Invalid { field, .. }) if field == "until"));
    }
}
