//! `/admin/agents`: the people and bots who work sessions. The list shows
//! presence and load (active sessions against the limit) and what each
//! serves; `/new` creates an agent with their skills in one step (without
//! JavaScript too); `/{id}` edits name, role, limit and skills, deactivates
//! and reactivates, sets a new password, and manages a bot's API tokens
//! (shown once, revoked, last use).

use domain::{
    agents::{Agent, RosterEntry, Skill},
    support_types::{EditorChoice, EditorChoices},
    tokens::ApiToken,
    types::{AgentId, Presence, Role, SupportTypeId, TokenId},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{
    AccountChoice, AdminFrame, Section,
    agent_form::{AgentForm, AgentSettingsForm, SkillsForm, skill_key, skills_form},
    page_error,
    support_types::{Field, INPUT, SubmitButton, described_by, field_error},
    width_class,
};
use crate::{
    AppError,
    components::{
        dialog::ConfirmDialog,
        secret::ShownOnce,
        table::TableHead,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

/// The list: every agent the caller administers, and the support types
/// (to name skills).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roster {
    pub agents: Vec<RosterEntry>,
    pub types: Vec<EditorChoice>,
}

/// What the editor needs: the agent, their skills, the choices of their
/// account, and their API tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub agent: Agent,
    pub skills: Vec<Skill>,
    pub choices: EditorChoices,
    pub tokens: Vec<ApiToken>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

#[server(endpoint = "admin/agents")]
pub async fn agent_roster() -> Result<Roster, AppError> {
    let (pool, actor) = caller().await?;
    let agents = domain::agents::roster(&pool, &actor).await?;
    let types = domain::support_types::editor_choices(&pool, &actor, None).await?.support_types;
    Ok(Roster { agents, types })
}

/// The new-agent form's choices (accounts and support types).
#[server(endpoint = "admin/agent-choices")]
pub async fn agent_choices() -> Result<EditorChoices, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::support_types::editor_choices(&pool, &actor, None).await?)
}

#[server(endpoint = "admin/agent")]
pub async fn agent_editor(id: AgentId) -> Result<AgentProfile, AppError> {
    let (pool, actor) = caller().await?;
    let agent = domain::agents::get_administered(&pool, &actor, id).await?;
    let skills = domain::agents::skills(&pool, &actor, id).await?;
    let choices = domain::support_types::editor_choices(&pool, &actor, agent.account_id).await?;
    let tokens = domain::tokens::list(&pool, &actor, id).await?;
    Ok(AgentProfile { agent, skills, choices, tokens })
}

/// Creates an agent with their skills and goes to the editor (a real
/// redirect without JavaScript).
#[server(endpoint = "admin/agent/create")]
pub async fn create_agent(form: AgentForm) -> Result<Agent, AppError> {
    let (pool, actor) = caller().await?;
    let (new, skills) = form.into_new()?;
    let (agent, _) = domain::agents::create_with_skills(&pool, &actor, new, skills).await?;
    leptos_axum::redirect(&format!("/admin/agents/{}?created", agent.id));
    Ok(agent)
}

#[server(endpoint = "admin/agent/save")]
pub async fn save_agent(id: AgentId, form: AgentSettingsForm) -> Result<Agent, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::agents::update(&pool, &actor, id, form.into_update()?).await?)
}

/// Replaces the agent's skills; answers with the agent.
#[server(endpoint = "admin/agent/skills")]
pub async fn save_agent_skills(
    id: AgentId,
    #[server(default)] skills: SkillsForm,
) -> Result<Agent, AppError> {
    let (pool, actor) = caller().await?;
    domain::agents::set_skills(&pool, &actor, id, super::agent_form::skills(&skills)?).await?;
    Ok(domain::agents::get_administered(&pool, &actor, id).await?)
}

/// Deactivates (`active` false) or reactivates an agent.
#[server(endpoint = "admin/agent/activation")]
pub async fn set_agent_active(id: AgentId, active: bool) -> Result<Agent, AppError> {
    let (pool, actor) = caller().await?;
    let changes = domain::agents::UpdateAgent { deactivated: Some(!active), ..Default::default() };
    Ok(domain::agents::update(&pool, &actor, id, changes).await?)
}

/// Sets a new password (the agent is signed out everywhere); answers with
/// the agent.
#[server(endpoint = "admin/agent/password")]
pub async fn reset_agent_password(id: AgentId, password: String) -> Result<Agent, AppError> {
    let (pool, actor) = caller().await?;
    domain::auth::change_password(&pool, &actor, id, None, password, None).await?;
    Ok(domain::agents::get_administered(&pool, &actor, id).await?)
}

#[server(endpoint = "admin/agent/token/create")]
pub async fn create_agent_token(id: AgentId, label: String) -> Result<CreatedToken, AppError> {
    let (pool, actor) = caller().await?;
    let (token, secret) = domain::tokens::create(&pool, &actor, id, &label).await?;
    Ok(CreatedToken { token, secret })
}

#[server(endpoint = "admin/agent/token/revoke")]
pub async fn revoke_agent_token(token_id: TokenId) -> Result<ApiToken, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::tokens::revoke(&pool, &actor, token_id).await?)
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Supervisor => "Supervisor",
        Role::Agent => "Agent",
        Role::Bot => "Bot",
    }
}

/// The dot's colour and the word, for a presence.
fn presence_look(p: Presence) -> (&'static str, &'static str) {
    match p {
        Presence::Online => ("bg-emerald-500", "Online"),
        Presence::Away => ("bg-amber-500", "Away"),
        Presence::Offline => ("bg-slate-400", "Offline"),
    }
}

fn matches(entry: &RosterEntry, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    needle.is_empty()
        || entry.agent.display_name.to_lowercase().contains(&needle)
        || entry.agent.email.to_lowercase().contains(&needle)
}

/// `/admin/agents`.
#[component]
pub fn AgentsPage() -> impl IntoView {
    let roster = Resource::new(|| (), |()| agent_roster());
    let query = use_query_map();
    let search = RwSignal::new(query.read_untracked().get("q").unwrap_or_default());
    view! {
        <Title text="Agents"/>
        <AdminFrame path="/admin/agents" section=Section::Agents title="Agents".to_owned()
            action=("New agent", "/admin/agents/new")>
            <form method="get" action="/admin/agents" role="search" class="mb-4 max-w-sm" on:submit=|ev| ev.prevent_default()>
                <label for="agent-search" class="block text-sm font-medium text-slate-700">"Search agents"</label>
                <input id="agent-search" name="q" type="search" placeholder="Name or e-mail" class=INPUT
                    prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            </form>
            <Transition fallback=ListSkeleton>
                {move || roster.get().map(|r| match r {
                    Ok(roster) => view! { <AgentTable roster search/> }.into_any(),
                    Err(e) => page_error("the agents", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

#[component]
fn AgentTable(roster: Roster, search: RwSignal<String>) -> impl IntoView {
    if roster.agents.is_empty() {
        return view! {
            <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-500">
                "No agents yet. " <a href="/admin/agents/new" class="font-medium text-indigo-700 underline">"Create the first"</a> "."
            </p>
        }
        .into_any();
    }
    let types = StoredValue::new(roster.types);
    let agents = StoredValue::new(roster.agents);
    let type_name = move |s: &Skill| {
        types.with_value(|t| {
            t.iter()
                .find(|c| c.id == s.support_type_id.0)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| "(archived type)".into())
        })
    };
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="agents">
                <TableHead columns=&["Agent", "Role", "Presence", "Load", "Serves", "State"]/>
                <tbody class="divide-y divide-slate-100">
                    {move || agents.with_value(|list| list.iter().filter(|e| matches(e, &search.get())).cloned().collect::<Vec<_>>())
                        .into_iter().map(|e| {
                            let a = e.agent;
                            let (dot, word) = presence_look(a.presence);
                            let load = format!("{} / {}", a.active_count, a.max_concurrent);
                            let bar = format!("h-1.5 rounded bg-indigo-600 {}", width_class(a.active_count, a.max_concurrent.max(1)));
                            let serves = e.skills.iter().map(|s| match s.tier {
                                Some(t) => format!("{} (tier {t})", type_name(s)),
                                None => type_name(s),
                            }).collect::<Vec<_>>().join(", ");
                            view! {
                                <tr data-email=a.email.clone()>
                                    <td class="px-4 py-2">
                                        <a href=format!("/admin/agents/{}", a.id) class="font-medium text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                            {a.display_name.clone()}
                                        </a>
                                        <span class="block text-xs text-slate-500">{a.email.clone()}</span>
                                    </td>
                                    <td class="px-4 py-2">{role_label(a.role)}</td>
                                    <td class="px-4 py-2">
                                        <span class="inline-flex items-center gap-1.5">
                                            <span aria-hidden="true" class=format!("h-2 w-2 rounded-full {dot}")></span>
                                            {word}
                                        </span>
                                    </td>
                                    <td class="px-4 py-2">
                                        <div role="meter" aria-label=format!("Load of {}", a.display_name) aria-valuemin="0"
                                            aria-valuemax=a.max_concurrent.to_string() aria-valuenow=a.active_count.to_string()
                                            class="h-1.5 w-24 overflow-hidden rounded bg-slate-200">
                                            <div class=bar></div>
                                        </div>
                                        <span class="mt-1 block text-xs tabular-nums text-slate-500">{load}</span>
                                    </td>
                                    <td class="max-w-xs px-4 py-2 text-slate-600">
                                        {if serves.is_empty() { "—".to_owned() } else { serves }}
                                    </td>
                                    <td class="px-4 py-2">
                                        {if a.deactivated_at.is_some() {
                                            view! { <span class="rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-700">"Deactivated"</span> }.into_any()
                                        } else {
                                            view! { <span class="rounded-full bg-emerald-50 px-2 py-0.5 text-xs text-emerald-800">"Active"</span> }.into_any()
                                        }}
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

/// The fields the new-agent form knows; an invalid field outside them is
/// shown above the form.
const FIELDS: [&str; 7] =
    ["account_id", "display_name", "email", "role", "max_concurrent", "password", "skills"];

/// An error the form has no field for, in plain words.
fn other_error(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl Fn() -> Option<String> + Copy {
    move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if fields.contains(&field.as_str()) => {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    }
}

/// `/admin/agents/new`.
#[component]
pub fn NewAgentPage() -> impl IntoView {
    let choices = Resource::new(|| (), |()| agent_choices());
    let create = ServerAction::<CreateAgent>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let other = other_error(error, &FIELDS);
    view! {
        <Title text="New agent"/>
        <AdminFrame path="/admin/agents/new" section=Section::Agents title="New agent".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || choices.get().map(|r| match r {
                    Ok(choices) => view! {
                        <ActionForm action=create attr:class="max-w-2xl space-y-6" attr:aria-label="New agent">
                            <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>
                                {other}
                            </p>
                            <AccountChoice accounts=choices.accounts.clone() name="form[account_id]" id="st-account_id"
                                none="No account: a global admin" error/>
                            <TextField field="display_name" label="Name" kind="text" autocomplete="off" error/>
                            <TextField field="email" label="E-mail address" kind="email" autocomplete="off" error/>
                            <RoleField current=Role::Agent error/>
                            <Field field="max_concurrent" label="Concurrent sessions" help="How many sessions they work at once (0 pauses new assignments)." error>
                                <input id="st-max_concurrent" name="form[max_concurrent]" type="number" min="0" step="1" value="5" class=INPUT
                                    aria-describedby=described_by("max_concurrent", true, error)/>
                            </Field>
                            <Field field="password" label="Password" help="At least 12 characters; they can change it after signing in. Leave empty for a bot: bots use API tokens." error>
                                <input id="st-password" name="form[password]" type="password" autocomplete="new-password" class=INPUT
                                    aria-describedby=described_by("password", true, error)/>
                            </Field>
                            <SkillsPicker types=choices.support_types.clone() chosen=Vec::new() name_prefix="form[skills]" error/>
                            <div class="flex justify-end">
                                <SubmitButton pending=create.pending() label="Create agent" busy="Creating…"/>
                            </div>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => page_error("the form", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

#[component]
fn TextField(
    field: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional, into)] value: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = field_error(error, field);
    view! {
        <Field field label error>
            <input id=format!("st-{field}") name=format!("form[{field}]") type=kind autocomplete=autocomplete value=value class=INPUT
                aria-invalid=move || message().is_some().then_some("true") aria-describedby=described_by(field, false, error)/>
        </Field>
    }
}

#[component]
fn RoleField(current: Role, error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <Field field="role" label="Role" help="Agents work sessions; supervisors also reassign and watch the queues; admins change settings; bots answer through the API." error>
            <select id="st-role" name="form[role]" class=INPUT aria-describedby=described_by("role", true, error)>
                {Role::ALL.iter().map(|r| view! {
                    <option value=r.as_str() selected=*r == current>{role_label(*r)}</option>
                }).collect_view()}
            </select>
        </Field>
    }
}

/// A checkbox per support type with its tier: the types an agent serves.
#[component]
fn SkillsPicker(
    types: Vec<EditorChoice>,
    chosen: Vec<Skill>,
    /// The form's name for the map (`form[skills]` or `skills`).
    name_prefix: &'static str,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = field_error(error, "skills");
    let ticked = skills_form(&chosen);
    // Skills on archived types (not offered here) are kept as they are.
    let kept: Vec<Skill> =
        chosen.iter().filter(|s| !types.iter().any(|t| t.id == s.support_type_id.0)).copied().collect();
    view! {
        <fieldset class="space-y-2"
            aria-describedby=move || if message().is_some() { "st-skills-help st-skills-error" } else { "st-skills-help" }>
            <legend class="text-sm font-medium text-slate-700">"Serves these support types"</legend>
            <p id="st-skills-help" class="text-xs text-slate-500">"Tier 1 is asked first; leave the tier empty to serve without one."</p>
            {kept.into_iter().map(|s| {
                let key = skill_key(s.support_type_id);
                view! {
                    <input type="hidden" name=format!("{name_prefix}[{key}][on]") value="on"/>
                    <input type="hidden" name=format!("{name_prefix}[{key}][tier]") value=s.tier.map(|t| t.to_string()).unwrap_or_default()/>
                }
            }).collect_view()}
            {if types.is_empty() {
                view! { <p class="text-sm text-slate-500">"The account has no support types yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="grid gap-1 sm:grid-cols-2" data-testid="skills">
                        {types.into_iter().map(|t| {
                            let key = skill_key(SupportTypeId(t.id));
                            let current = ticked.get(&key).cloned().unwrap_or_default();
                            let box_id = format!("skill-{key}");
                            let tier_id = format!("tier-{key}");
                            view! {
                                <li class="flex items-center justify-between gap-2 rounded-lg border border-slate-200 px-3 py-1.5">
                                    <span class="flex items-center gap-2">
                                        <input id=box_id.clone() type="checkbox" name=format!("{name_prefix}[{key}][on]") checked=current.on.is_some()
                                            class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                                        <label for=box_id class="text-sm">{t.name.clone()}</label>
                                    </span>
                                    <label for=tier_id.clone() class="sr-only">{format!("Tier for {}", t.name)}</label>
                                    <select id=tier_id name=format!("{name_prefix}[{key}][tier]")
                                        class="rounded-md border border-slate-300 px-1.5 py-1 text-xs focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                        <option value="" selected=current.tier.is_empty()>"No tier"</option>
                                        {(1..=9).map(|n| {
                                            let v = n.to_string();
                                            let selected = current.tier == v;
                                            view! { <option value=v.clone() selected=selected>{format!("Tier {n}")}</option> }
                                        }).collect_view()}
                                    </select>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <p id="st-skills-error" class="text-sm text-rose-700" hidden=move || message().is_none()>{message}</p>
        </fieldset>
    }
}

/// `/admin/agents/{id}`.
#[component]
pub fn EditAgentPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<AgentId>().ok());
    let editor = Resource::new(id, |id| async move {
        match id {
            Some(id) => agent_editor(id).await,
            None => Err(AppError::Domain(domain::Error::not_found("agent"))),
        }
    });
    let toasts = Toasts::new();
    let title = Signal::derive(move || {
        editor.get().and_then(Result::ok).map_or_else(|| "Agent".to_owned(), |e| e.agent.display_name)
    });
    let created = move || query.read().get("created").is_some();
    view! {
        <Title text=move || title.get()/>
        <AdminFrame path=format!("/admin/agents/{}", id().map(|i| i.to_string()).unwrap_or_default())
            section=Section::Agents title>
            {move || created().then(|| view! {
                <p role="status" class="mb-4 rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-800">
                    "Agent created. They can sign in now with the e-mail address and password you gave."
                </p>
            })}
            <Transition fallback=ListSkeleton>
                {move || editor.get().map(|r| match r {
                    Ok(e) => view! { <AgentEditorView editor=e toasts refetch=Callback::new(move |()| editor.refetch())/> }.into_any(),
                    Err(e) => page_error("the agent", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

const SECONDARY: &str = "rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

#[component]
fn AgentEditorView(editor: AgentProfile, toasts: Toasts, refetch: Callback<()>) -> impl IntoView {
    let AgentProfile { agent, skills: chosen, choices, tokens } = editor;
    let id = agent.id;
    let save = ServerAction::<SaveAgent>::new();
    let save_skills = ServerAction::<SaveAgentSkills>::new();
    let activation = ServerAction::<SetAgentActive>::new();
    let password = ServerAction::<ResetAgentPassword>::new();
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    let skills_error = Signal::derive(move || save_skills.value().get().and_then(Result::err));
    let password_error = Signal::derive(move || password.value().get().and_then(Result::err));
    let save_other = other_error(save_error, &["display_name", "role", "max_concurrent"]);
    let skills_other = other_error(skills_error, &["skills"]);
    let password_other = other_error(password_error, &["password"]);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(a)) => {
            toasts.success(format!("Saved {}", a.display_name));
            refetch.run(());
        }
        Some(Err(_)) => toasts.error("Not saved: see the message in the form."),
        None => {}
    });
    Effect::new(move |_| match save_skills.value().get() {
        Some(Ok(a)) => toasts.success(format!("Saved what {} serves", a.display_name)),
        Some(Err(_)) => toasts.error("Skills not saved: see the message in the form."),
        None => {}
    });
    Effect::new(move |_| match activation.value().get() {
        Some(Ok(a)) => {
            let verb = if a.deactivated_at.is_some() { "Deactivated" } else { "Reactivated" };
            toasts.success(format!("{verb} {}", a.display_name));
            refetch.run(());
        }
        Some(Err(e)) => toasts.error(e.user_message()),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(a)) = password.value().get() {
            toasts
                .success(format!("New password set for {}; they were signed out everywhere", a.display_name));
        }
    });
    let is_bot = agent.role == Role::Bot;
    let settings = AgentSettingsForm {
        display_name: agent.display_name.clone(),
        role: agent.role.as_str().to_owned(),
        max_concurrent: agent.max_concurrent.to_string(),
    };
    let save_message = move |f| field_error(save_error, f);
    view! {
        <div class="max-w-2xl space-y-8">
            <ActivationBar agent=agent.clone() activation/>
            <p class="text-sm text-slate-600">
                {agent.email.clone()} " · " {presence_look(agent.presence).1} " · "
                {format!("{} of {} sessions", agent.active_count, agent.max_concurrent)}
            </p>
            <ActionForm action=save attr:class="space-y-6" attr:aria-label="Agent settings">
                <input type="hidden" name="id" value=id.to_string()/>
                <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || save_other().is_none()>
                    {save_other}
                </p>
                <Field field="display_name" label="Name" error=save_error>
                    <input id="st-display_name" name="form[display_name]" value=settings.display_name class=INPUT
                        aria-invalid=move || save_message("display_name")().is_some().then_some("true")
                        aria-describedby=described_by("display_name", false, save_error)/>
                </Field>
                <RoleField current=agent.role error=save_error/>
                <Field field="max_concurrent" label="Concurrent sessions" help="How many sessions they work at once (0 pauses new assignments)." error=save_error>
                    <input id="st-max_concurrent" name="form[max_concurrent]" type="number" min="0" step="1" value=settings.max_concurrent class=INPUT
                        aria-invalid=move || save_message("max_concurrent")().is_some().then_some("true")
                        aria-describedby=described_by("max_concurrent", true, save_error)/>
                </Field>
                <div class="flex justify-end">
                    <SubmitButton pending=save.pending() label="Save changes" busy="Saving…"/>
                </div>
            </ActionForm>
            <ActionForm action=save_skills attr:class="space-y-4" attr:aria-label="Skills">
                <input type="hidden" name="id" value=id.to_string()/>
                <p role="alert" class="text-sm text-rose-700" hidden=move || skills_other().is_none()>{skills_other}</p>
                <SkillsPicker types=choices.support_types.clone() chosen name_prefix="skills" error=skills_error/>
                <div class="flex justify-end">
                    <SubmitButton pending=save_skills.pending() label="Save skills" busy="Saving…"/>
                </div>
            </ActionForm>
            {(!is_bot).then(|| view! {
                <section aria-labelledby="password-heading" class="space-y-3">
                    <h2 id="password-heading" class="text-base font-semibold">"Set a new password"</h2>
                    <ActionForm action=password attr:class="space-y-3" attr:aria-label="Set a new password">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <p role="alert" class="text-sm text-rose-700" hidden=move || password_other().is_none()>{password_other}</p>
                        <Field field="password" label="New password" help="At least 12 characters. They are signed out everywhere and sign in with this one." error=password_error>
                            <input id="st-password" name="password" type="password" autocomplete="new-password" class=INPUT
                                aria-describedby=described_by("password", true, password_error)/>
                        </Field>
                        <div class="flex justify-end">
                            <SubmitButton pending=password.pending() label="Set password" busy="Setting…"/>
                        </div>
                    </ActionForm>
                </section>
            })}
            {is_bot.then(|| view! { <Tokens agent=id tokens toasts/> })}
        </div>
    }
}

/// Active or deactivated, with deactivate (asked once, naming the agent)
/// or reactivate.
#[component]
fn ActivationBar(agent: Agent, activation: ServerAction<SetAgentActive>) -> impl IntoView {
    let open = RwSignal::new(false);
    let id = agent.id;
    let name = agent.display_name.clone();
    if agent.deactivated_at.is_some() {
        return view! {
            <div class="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-slate-200 bg-slate-50 p-4 text-sm">
                <p data-testid="agent-state">"Deactivated: cannot sign in or receive sessions."</p>
                <button type="button" class=SECONDARY on:click=move |_| { activation.dispatch(SetAgentActive { id, active: true }); }>
                    "Reactivate"
                </button>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-slate-200 bg-white p-4 text-sm">
            <p data-testid="agent-state">{format!("Active: {} {}.", role_label(agent.role), if agent.role == Role::Bot { "answering through the API" } else { "who can sign in" })}</p>
            <button type="button" on:click=move |_| open.set(true)
                class="rounded-lg border border-rose-300 px-3 py-1.5 font-medium text-rose-700 hover:bg-rose-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Deactivate"
            </button>
        </div>
        <ConfirmDialog open title=format!("Deactivate {name}?") id="deactivate-agent" confirm=format!("Deactivate {name}")
            on_confirm=Callback::new(move |()| { activation.dispatch(SetAgentActive { id, active: false }); })>
            "They go offline, cannot sign in, and get no new sessions. Sessions they hold stay with them until reassigned. You can reactivate them later."
        </ConfirmDialog>
    }
    .into_any()
}

/// A bot's API tokens: create (the secret shown once, with Copy), the
/// list with last use, revoke.
#[component]
fn Tokens(agent: AgentId, tokens: Vec<ApiToken>, toasts: Toasts) -> impl IntoView {
    let list = RwSignal::new(tokens);
    let create = ServerAction::<CreateAgentToken>::new();
    let revoke = ServerAction::<RevokeAgentToken>::new();
    let shown = RwSignal::new(None::<String>);
    let label = RwSignal::new(String::new());
    // The token the revoke dialog asks about.
    let asked = RwSignal::new(None::<TokenId>);
    let open = RwSignal::new(false);
    Effect::new(move |_| match create.value().get() {
        Some(Ok(CreatedToken { token, secret })) => {
            list.update(|l| l.insert(0, token));
            shown.set(Some(secret));
            label.set(String::new());
        }
        Some(Err(e)) => toasts.error(format!("No token created: {}", e.user_message())),
        None => {}
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(t)) => {
            toasts.success(format!("Revoked {}", if t.label.is_empty() { "the token" } else { &t.label }));
            list.update(|l| {
                if let Some(x) = l.iter_mut().find(|x| x.id == t.id) {
                    *x = t.clone();
                }
            });
        }
        Some(Err(e)) => toasts.error(format!("Not revoked: {}", e.user_message())),
        None => {}
    });
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    view! {
        <section aria-labelledby="tokens-heading" class="space-y-3">
            <h2 id="tokens-heading" class="text-base font-semibold">"API tokens"</h2>
            <p class="text-sm text-slate-600">"The bot signs its API requests with one of these (Authorization: Bearer …)."</p>
            <ShownOnce shown label="New API token" id="new-token-value" testid="new-token"
                warning="Copy this token now: it is not shown again." copied="Token copied" toasts/>
            <form class="flex flex-wrap items-end gap-2" aria-label="Create an API token"
                on:submit=move |ev| { ev.prevent_default(); create.dispatch(CreateAgentToken { id: agent, label: label.get_untracked() }); }>
                <div class="min-w-0 flex-1">
                    <label for="token-label" class="block text-sm font-medium text-slate-700">"Label"</label>
                    <input id="token-label" placeholder="e.g. production" class=INPUT
                        prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
                </div>
                <button type="submit" disabled=move || create.pending().get()
                    class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                    "Create token"
                </button>
            </form>
            {move || {
                let tokens = list.get();
                if tokens.is_empty() {
                    return view! { <p class="text-sm text-slate-500">"No tokens yet: the bot cannot call the API until it has one."</p> }.into_any();
                }
                view! {
                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                        <table class="min-w-full text-sm" data-testid="tokens">
                            <TableHead columns=&["Label", "Created", "Last used", ""]/>
                            <tbody class="divide-y divide-slate-100">
                                {tokens.into_iter().map(|t| {
                                    let token_id = t.id;
                                    let name = if t.label.is_empty() { "(no label)".to_owned() } else { t.label.clone() };
                                    view! {
                                        <tr>
                                            <td class="px-4 py-2 font-medium">{name.clone()}</td>
                                            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{when(Some(t.created_at))}</td>
                                            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{when(t.last_used_at)}</td>
                                            <td class="px-4 py-2 text-right">
                                                {if t.revoked_at.is_some() {
                                                    view! { <span class="text-xs text-slate-500">"Revoked"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <button type="button" class=SECONDARY aria-label=format!("Revoke {name}")
                                                            on:click=move |_| { asked.set(Some(token_id)); open.set(true); }>
                                                            "Revoke"
                                                        </button>
                                                    }.into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <ConfirmDialog open title="Revoke this token?" id="revoke-token" confirm="Revoke the token".to_owned()
                on_confirm=Callback::new(move |()| {
                    if let Some(token_id) = asked.get_untracked() {
                        revoke.dispatch(RevokeAgentToken { token_id });
                    }
                })>
                "Requests signed with it fail from now on. The bot needs another token to call the API."
            </ConfirmDialog>
        </section>
    }
}
