//! `/search?q=…`: the one search box's results, for agents and admins —
//! sessions by the words of their messages (highlighted) and by the
//! customer's name or address, narrowed by status and tag, within what the
//! reader may see (the scope rule, in `domain::search`). A plain GET form
//! and links, so it works without JavaScript and a search can be shared by
//! its address.

use domain::{search::SearchHit, sessions::Page};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    AppError,
    components::{alert::ErrorAlert, shell::RequireSignIn},
    pages::agent::ListSkeleton,
};

/// The form's fields as they come (flat, so that a plain form post reads
/// the same); the status is read here, the rest is the domain's to check.
#[server(endpoint = "agent/search")]
pub async fn search_sessions(
    q: String,
    status: Option<String>,
    tag: Option<String>,
    support_type: Option<String>,
    cursor: Option<String>,
) -> Result<Page<SearchHit>, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<domain::types::SessionStatus>().map_err(|_| {
            domain::Error::invalid("status", format!("{s:?} is not queued, active, resolved or abandoned"))
        })?),
    };
    let support_type_id = match support_type.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(domain::types::SupportTypeId(s.parse().map_err(|_| {
            domain::Error::invalid("support_type", format!("{s:?} is not a support type id"))
        })?)),
    };
    let query = domain::search::SearchQuery { q, status, support_type_id, tag };
    let cursor = cursor.filter(|c| !c.is_empty());
    Ok(domain::search::search(&pool, &actor, query, cursor.as_deref(), Some(25)).await?)
}

/// A support type to narrow the search to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TypeOption {
    pub id: String,
    pub name: String,
    pub archived: bool,
}

/// The support types the reader may search in: their account's (every
/// account's for a global admin), archived ones too, since their sessions
/// remain.
#[server(endpoint = "agent/search-types")]
pub async fn search_types() -> Result<Vec<TypeOption>, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    let filter = domain::support_types::SupportTypeFilter { account_id: None, include_archived: true };
    let types = domain::support_types::list(&pool, &actor, filter).await?;
    Ok(types
        .into_iter()
        .map(|t| TypeOption { id: t.id.to_string(), name: t.name, archived: t.archived_at.is_some() })
        .collect())
}

/// The search as its address carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Asked {
    q: String,
    status: String,
    tag: String,
    support_type: String,
    cursor: String,
}

impl Asked {
    /// The address of the next page.
    fn next(&self, cursor: &str) -> String {
        let enc = |s: &str| percent_encode(s);
        format!(
            "/search?q={}&status={}&tag={}&type={}&cursor={}",
            enc(&self.q),
            enc(&self.status),
            enc(&self.tag),
            enc(&self.support_type),
            enc(cursor)
        )
    }
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const INPUT: &str = "mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

#[component]
pub fn SearchPage() -> impl IntoView {
    let params = use_query_map();
    let asked = move || {
        let p = params.read();
        let get = |k: &str| p.get(k).unwrap_or_default();
        Asked {
            q: get("q"),
            status: get("status"),
            tag: get("tag"),
            support_type: get("type"),
            cursor: get("cursor"),
        }
    };
    let results = Resource::new(asked, |a| async move {
        if a.q.trim().is_empty()
            && a.status.is_empty()
            && a.tag.trim().is_empty()
            && a.support_type.is_empty()
        {
            return Ok(None);
        }
        search_sessions(a.q, Some(a.status), Some(a.tag), Some(a.support_type), Some(a.cursor))
            .await
            .map(Some)
    });
    let types = Resource::new(|| (), |_| search_types());
    view! {
        <Title text="Search"/>
        <RequireSignIn path="/search" render=move |_| view! {
            <main class="mx-auto max-w-4xl space-y-6 px-4 py-6 sm:px-6">
                <h1 class="text-xl font-semibold tracking-tight">"Search sessions"</h1>
                <form method="get" action="/search" role="search" aria-label="Search sessions"
                    class="grid gap-3 sm:grid-cols-[1fr_10rem_10rem_10rem_auto] sm:items-end">
                    <div>
                        <label for="search-q" class="block text-sm font-medium">"Words, a name or an e-mail"</label>
                        <input id="search-q" name="q" type="search" maxlength="200" class=INPUT
                            aria-describedby="search-help" prop:value=move || asked().q/>
                    </div>
                    <div>
                        <label for="search-status" class="block text-sm font-medium">"Status"</label>
                        <select id="search-status" name="status" class=INPUT prop:value=move || asked().status>
                            <option value="">"Any"</option>
                            {["queued", "active", "resolved", "abandoned"].into_iter().map(|s| view! {
                                <option value=s selected=move || asked().status == s>{s}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label for="search-tag" class="block text-sm font-medium">"Tag"</label>
                        <input id="search-tag" name="tag" class=INPUT prop:value=move || asked().tag/>
                    </div>
                    <div>
                        <label for="search-type" class="block text-sm font-medium">"Support type"</label>
                        <Suspense fallback=|| view! { <select id="search-type" name="type" class=INPUT disabled><option>"Any"</option></select> }>
                            <select id="search-type" name="type" class=INPUT>
                                <option value="">"Any"</option>
                                {move || types.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|t| {
                                    let id = t.id.clone();
                                    let label = if t.archived { format!("{} (archived)", t.name) } else { t.name };
                                    view! { <option value=t.id selected=move || asked().support_type == id>{label}</option> }
                                }).collect_view()}
                            </select>
                        </Suspense>
                    </div>
                    <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                        "Search"
                    </button>
                    <p id="search-help" class="text-xs text-slate-500 sm:col-span-5">
                        "Every word must appear; \"a phrase\" in quotes, refund or return for either, -word to leave one out."
                    </p>
                </form>
                <Transition fallback=ListSkeleton>
                    {move || results.get().map(|r| match r {
                        Ok(None) => view! {
                            <p class="text-sm text-slate-500">"Type a few words of a message, or a customer's name or e-mail."</p>
                        }.into_any(),
                        Ok(Some(page)) => view! { <Results page asked=asked()/> }.into_any(),
                        Err(e) => view! { <ErrorAlert title="Cannot search" message=e.user_message()/> }.into_any(),
                    })}
                </Transition>
            </main>
        }/>
    }
}

#[component]
fn Results(page: Page<SearchHit>, asked: Asked) -> impl IntoView {
    if page.items.is_empty() {
        return view! {
            <p class="text-sm text-slate-500" role="status">
                "No sessions match. Try fewer words, or \"this or that\"."
            </p>
        }
        .into_any();
    }
    let next = page.next_cursor.as_deref().map(|c| asked.next(c));
    view! {
        <ol class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white"
            aria-label="Sessions found" data-testid="search-results">
            {page.items.into_iter().map(|hit| view! { <Hit hit/> }).collect_view()}
        </ol>
        {next.map(|href| view! {
            <a href=href class="inline-block rounded-lg border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Older sessions"
            </a>
        })}
    }
    .into_any()
}

#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let who = hit
        .customer_name
        .clone()
        .or(hit.customer_email.clone())
        .unwrap_or_else(|| "Anonymous customer".to_owned());
    let email = hit.customer_email.clone().filter(|_| hit.customer_name.is_some());
    view! {
        <li>
            <a href=format!("/agent/sessions/{}", hit.session_id)
                class="block px-4 py-3 hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-indigo-500">
                <div class="flex flex-wrap items-baseline justify-between gap-2">
                    <span class="font-medium">{who}{email.map(|e| view! { <span class="ml-2 text-sm font-normal text-slate-500">{e}</span> })}</span>
                    <span class="text-xs text-slate-500">
                        {hit.support_type_name.clone()} " · " {hit.status.to_string()} " · "
                        <time datetime=hit.created_at.to_rfc3339()>{hit.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</time>
                    </span>
                </div>
                {(!hit.snippet.is_empty()).then(|| view! {
                    <p class="mt-1 text-sm text-slate-700" data-testid="search-snippet">
                        {hit.snippet.into_iter().map(|h| if h.hit {
                            view! { <mark class="rounded bg-amber-100 px-0.5 text-slate-900">{h.text}</mark> }.into_any()
                        } else {
                            view! { <span>{h.text}</span> }.into_any()
                        }).collect_view()}
                    </p>
                })}
            </a>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_search() {
        let asked = Asked {
            q: "invoice & co".into(),
            status: "queued".into(),
            tag: String::new(),
            support_type: "7c0e".into(),
            cursor: String::new(),
        };
        assert_eq!(
            asked.next("17_ab"),
            "/search?q=invoice%20%26%20co&status=queued&tag=&type=7c0e&cursor=17%5Fab"
        );
    }
}
