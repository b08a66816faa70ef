//! `/admin/canned`: canned replies, per support type or for every type, each
//! with the shortcut agents type after `/` in the composer. Each reply is
//! previewed as the customer will see it (as text: what an agent sends is
//! never markup). Adding one works without JavaScript.

use domain::{
    config::{CannedResponse, NewCannedResponse, UpdateCannedResponse},
    support_types::{EditorChoice, EditorChoices},
    types::{CannedResponseId, SupportTypeId},
};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{
    AccountChoice, AdminFrame, Section, page_error,
    support_type_form::{Parsed, id},
    support_types::{Field, INPUT, SubmitButton, described_by, field_error},
};
use crate::{
    AppError,
    components::{
        dialog::ConfirmDialog,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

/// The page: the replies, and the accounts and types to choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CannedPageData {
    pub replies: Vec<CannedResponse>,
    pub choices: EditorChoices,
}

/// A reply's form as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CannedForm {
    pub account_id: String,
    pub support_type_id: String,
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

impl CannedForm {
    pub fn into_new(self) -> Parsed<NewCannedResponse> {
        Ok(NewCannedResponse {
            account_id: id("account_id", &self.account_id)?,
            support_type_id: id("support_type_id", &self.support_type_id)?,
            shortcut: self.shortcut,
            title: self.title,
            body: self.body,
        })
    }

    /// Every field as the form holds it: an empty type makes the reply
    /// offered for every type.
    pub fn into_update(self) -> Parsed<UpdateCannedResponse> {
        let support_type_id = id("support_type_id", &self.support_type_id)?;
        Ok(UpdateCannedResponse {
            shortcut: Some(self.shortcut),
            title: Some(self.title),
            body: Some(self.body),
            clear_support_type: support_type_id.is_none(),
            support_type_id,
        })
    }
}

#[cfg(feature = "ssr")]
async fn page_data(pool: &sqlx::PgPool, actor: &domain::actor::Actor) -> Result<CannedPageData, AppError> {
    // The editor's choices are for admins only: they refuse everyone else first.
    let choices = domain::support_types::editor_choices(pool, actor, None).await?;
    let replies = domain::config::list_canned(pool, actor, None, None).await?;
    Ok(CannedPageData { replies, choices })
}

#[server(endpoint = "admin/canned")]
pub async fn canned_page() -> Result<CannedPageData, AppError> {
    let (pool, actor) = caller().await?;
    page_data(&pool, &actor).await
}

#[server(endpoint = "admin/canned/create")]
pub async fn create_canned(form: CannedForm) -> Result<CannedPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::create_canned(&pool, &actor, form.into_new()?).await?;
    page_data(&pool, &actor).await
}

#[server(endpoint = "admin/canned/save")]
pub async fn save_canned(id: CannedResponseId, form: CannedForm) -> Result<CannedPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::update_canned(&pool, &actor, id, form.into_update()?).await?;
    page_data(&pool, &actor).await
}

#[server(endpoint = "admin/canned/delete")]
pub async fn delete_canned(id: CannedResponseId) -> Result<CannedPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::delete_canned(&pool, &actor, id).await?;
    page_data(&pool, &actor).await
}

fn type_name(types: &[EditorChoice], id: Option<SupportTypeId>) -> String {
    match id {
        None => "Every type".to_owned(),
        Some(id) => types
            .iter()
            .find(|t| t.id == id.0)
            .map_or_else(|| "(archived type)".to_owned(), |t| t.name.clone()),
    }
}

/// The reply as the customer sees it: an agent's bubble, as text.
#[component]
fn Bubble(#[prop(into)] body: Signal<String>) -> impl IntoView {
    view! {
        <div class="max-w-md whitespace-pre-wrap break-words rounded-2xl rounded-bl-sm bg-slate-100 px-3 py-2 text-sm text-slate-900">
            {move || body.get()}
        </div>
    }
}

/// `/admin/canned`.
#[component]
pub fn CannedPage() -> impl IntoView {
    let create = ServerAction::<CreateCanned>::new();
    let save = ServerAction::<SaveCanned>::new();
    let remove = ServerAction::<DeleteCanned>::new();
    let toasts = Toasts::new();
    let data = Resource::new(|| (), |()| canned_page());
    let fresh = RwSignal::new(None::<CannedPageData>);
    let editing = RwSignal::new(None::<CannedResponseId>);
    let answered = move |value: Option<Result<CannedPageData, AppError>>, done: &'static str| match value {
        Some(Ok(d)) => {
            fresh.set(Some(d));
            editing.set(None);
            toasts.success(done);
        }
        Some(Err(_)) => toasts.error("Not saved: see the message in the form."),
        None => {}
    };
    Effect::new(move |_| answered(create.value().get(), "Canned reply added"));
    Effect::new(move |_| answered(save.value().get(), "Canned reply saved"));
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(d)) => {
            fresh.set(Some(d));
            toasts.success("Canned reply deleted");
        }
        Some(Err(e)) => toasts.error(e.user_message()),
        None => {}
    });
    let search = RwSignal::new(String::new());
    view! {
        <Title text="Canned replies"/>
        <AdminFrame path="/admin/canned" section=Section::Canned title="Canned replies".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || data.get().map(|r| match r {
                    Ok(initial) => {
                        let current = Signal::derive(move || fresh.get().unwrap_or_else(|| initial.clone()));
                        view! {
                            <div class="max-w-3xl space-y-8">
                                <p class="text-sm text-slate-600">"Agents insert a reply by typing / and its shortcut in the composer. A reply for one support type is offered only in its sessions."</p>
                                <div class="max-w-sm">
                                    <label for="canned-search" class="block text-sm font-medium text-slate-700">"Search replies"</label>
                                    <input id="canned-search" type="search" placeholder="Shortcut or title" class=INPUT
                                        on:input=move |ev| search.set(event_target_value(&ev))/>
                                </div>
                                // The reply being edited, outside the list: searching or
                                // deleting another reply does not rebuild its form.
                                {move || editing.get().and_then(|id| {
                                    let data = current.get_untracked();
                                    data.replies.into_iter().find(|r| r.id == id).map(|r| view! {
                                        <section aria-labelledby="edit-canned-heading" class="space-y-3 rounded-xl border border-indigo-200 bg-white p-4">
                                            <div class="flex items-center justify-between">
                                                <h2 id="edit-canned-heading" class="text-base font-semibold">{format!("Editing /{}", r.shortcut)}</h2>
                                                <button type="button" on:click=move |_| editing.set(None)
                                                    class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                                    "Cancel"
                                                </button>
                                            </div>
                                            <EditReply reply=r types=data.choices.support_types save/>
                                        </section>
                                    })
                                })}
                                <ReplyList current search editing remove/>
                                // One reply form at a time (their fields share ids).
                                {move || editing.get().is_none().then(|| view! { <NewReply current create/> })}
                            </div>
                        }.into_any()
                    }
                    Err(e) => page_error("the canned replies", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

#[component]
fn ReplyList(
    current: Signal<CannedPageData>,
    search: RwSignal<String>,
    editing: RwSignal<Option<CannedResponseId>>,
    remove: ServerAction<DeleteCanned>,
) -> impl IntoView {
    let confirm = RwSignal::new(None::<CannedResponse>);
    let open = RwSignal::new(false);
    view! {
        {move || {
            let CannedPageData { replies, choices } = current.get();
            let needle = search.get().trim().to_lowercase();
            let shown: Vec<CannedResponse> = replies.into_iter()
                .filter(|r| needle.is_empty() || r.shortcut.contains(&needle) || r.title.to_lowercase().contains(&needle))
                .collect();
            if shown.is_empty() {
                return view! { <p class="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500">"No canned replies here yet. Add one below."</p> }.into_any();
            }
            let types = choices.support_types;
            view! {
                <ul class="space-y-3" data-testid="canned">
                    {shown.into_iter().map(|r| {
                        let id = r.id;
                        let type_label = type_name(&types, r.support_type_id);
                        let title = r.title.clone();
                        let body = r.body.clone();
                        let reply = r.clone();
                        let shortcut = r.shortcut.clone();
                        let slash = format!("/{}", r.shortcut);
                        view! {
                            <li class="space-y-2 rounded-xl border border-slate-200 bg-white p-4" data-shortcut=shortcut>
                                <div class="flex flex-wrap items-center justify-between gap-2">
                                    <div class="flex items-center gap-2">
                                        <code class="rounded bg-indigo-50 px-1.5 py-0.5 font-mono text-xs text-indigo-800">{slash}</code>
                                        <span class="font-medium">{title.clone()}</span>
                                        <span class="text-xs text-slate-500">{type_label}</span>
                                    </div>
                                    <div class="flex gap-2">
                                        <button type="button" aria-label=format!("Edit {title}") on:click=move |_| editing.set(Some(id))
                                            class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                            "Edit"
                                        </button>
                                        <button type="button" aria-label=format!("Delete {title}")
                                            on:click=move |_| { confirm.set(Some(reply.clone())); open.set(true); }
                                            class="rounded-lg border border-rose-300 px-3 py-1 text-xs font-medium text-rose-700 hover:bg-rose-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                            "Delete"
                                        </button>
                                    </div>
                                </div>
                                <Bubble body=body.clone()/>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <ConfirmDialog open title="Delete this canned reply?" id="delete-canned" confirm="Delete reply".to_owned()
            on_confirm=Callback::new(move |()| {
                if let Some(c) = confirm.get_untracked() {
                    remove.dispatch(DeleteCanned { id: c.id });
                }
            })>
            {move || confirm.get().map(|c| format!("/{} ({}) is no longer offered to agents. Messages already sent keep their text.", c.shortcut, c.title))}
        </ConfirmDialog>
    }
}

/// The fields of a reply; other errors show above them.
const FIELDS: [&str; 5] = ["account_id", "support_type_id", "shortcut", "title", "body"];

#[component]
fn ReplyFields(
    form: CannedForm,
    types: Vec<EditorChoice>,
    accounts: Vec<EditorChoice>,
    error: Signal<Option<AppError>>,
    /// `form` or the edited reply's prefix, and an id prefix for the labels.
    prefix: &'static str,
) -> impl IntoView {
    let body = RwSignal::new(form.body.clone());
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if FIELDS.contains(&field.as_str()) => {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let invalid = move |f: &'static str| move || field_error(error, f)().is_some().then_some("true");
    let chosen = form.support_type_id.clone();
    view! {
        <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>{other}</p>
        <AccountChoice accounts name="form[account_id]" id="st-account_id" none="Choose an account" error/>
        <div class="grid gap-4 sm:grid-cols-2">
            <Field field="shortcut" label="Shortcut" help="Typed after / in the composer: lowercase letters, digits, _ or -." error>
                <input id="st-shortcut" name=format!("{prefix}[shortcut]") value=form.shortcut class=INPUT
                    aria-invalid=invalid("shortcut") aria-describedby=described_by("shortcut", true, error)/>
            </Field>
            <Field field="support_type_id" label="Offered in" error>
                <select id="st-support_type_id" name=format!("{prefix}[support_type_id]") class=INPUT
                    aria-describedby=described_by("support_type_id", false, error)>
                    <option value="" selected=chosen.is_empty()>"Every support type"</option>
                    {types.into_iter().map(|t| {
                        let value = t.id.to_string();
                        let selected = value == chosen;
                        view! { <option value=value selected=selected>{t.name}</option> }
                    }).collect_view()}
                </select>
            </Field>
        </div>
        <Field field="title" label="Title" error>
            <input id="st-title" name=format!("{prefix}[title]") value=form.title class=INPUT
                aria-invalid=invalid("title") aria-describedby=described_by("title", false, error)/>
        </Field>
        <Field field="body" label="Reply" error>
            <textarea id="st-body" name=format!("{prefix}[body]") rows="4" class=INPUT prop:value=form.body
                on:input=move |ev| body.set(event_target_value(&ev))
                aria-invalid=invalid("body") aria-describedby=described_by("body", false, error)></textarea>
        </Field>
        <div class="space-y-1">
            <p class="text-xs font-medium uppercase tracking-wide text-slate-500">"Preview"</p>
            <div data-testid="canned-preview"><Bubble body/></div>
        </div>
    }
}

#[component]
fn NewReply(current: Signal<CannedPageData>, create: ServerAction<CreateCanned>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <section aria-labelledby="new-canned-heading" class="space-y-3">
            <h2 id="new-canned-heading" class="text-base font-semibold">"New canned reply"</h2>
            <ActionForm action=create attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-4" attr:aria-label="New canned reply">
                {
                    let choices = current.get_untracked().choices;
                    view! { <ReplyFields form=CannedForm::default() types=choices.support_types accounts=choices.accounts error prefix="form"/> }
                }
                <div class="flex justify-end">
                    <SubmitButton pending=create.pending() label="Add canned reply" busy="Adding…"/>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn EditReply(
    reply: CannedResponse,
    types: Vec<EditorChoice>,
    save: ServerAction<SaveCanned>,
) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let form = CannedForm {
        account_id: reply.account_id.to_string(),
        support_type_id: reply.support_type_id.map(|t| t.to_string()).unwrap_or_default(),
        shortcut: reply.shortcut.clone(),
        title: reply.title.clone(),
        body: reply.body.clone(),
    };
    view! {
        <ActionForm action=save attr:class="space-y-4" attr:aria-label=format!("Edit {}", reply.title)>
            <input type="hidden" name="id" value=reply.id.to_string()/>
            <ReplyFields form types accounts=Vec::new() error prefix="form"/>
            <div class="flex justify-end">
                <SubmitButton pending=save.pending() label="Save reply" busy="Saving…"/>
            </div>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_type_offers_the_reply_for_every_type() {
        let t = uuid::Uuid::new_v4();
        let form = CannedForm {
            shortcut: "hi".into(),
            title: "Hi".into(),
            body: "Hello!".into(),
            ..Default::default()
        };
        let update = form.clone().into_update().expect("update");
        assert!(update.clear_support_type && update.support_type_id.is_none());
        let typed = CannedForm { support_type_id: t.to_string(), ..form.clone() };
        assert_eq!(typed.into_new().expect("new").support_type_id, Some(SupportTypeId(t)));
        let bad = CannedForm { support_type_id: "billing".into(), ..form }.into_update();
        assert!(matches!(bad, Err(domain::Error::Invalid { field, .. }) if field == "support_type_id"));
    }
}
