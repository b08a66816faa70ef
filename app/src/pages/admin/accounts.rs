//! `/admin/accounts`: the accounts the caller administers (every one for a
//! global admin, who also creates them), and `/{id}`: an account's name,
//! report time zone, presence grace, the origins allowed to embed its chat
//! widget (normalised by the domain, shown as chips), and the identity
//! secret, rotated after a question and shown once with the recipe to sign
//! with it.

use domain::{
    accounts::{Account, UpdateAccount},
    types::AccountId,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{
    AdminFrame, Section, page_error,
    support_type_form::{Parsed, number},
    support_types::{Field, INPUT, SubmitButton, described_by, field_error},
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

/// An account's settings as the form posts them; the origins one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountForm {
    pub name: String,
    pub time_zone: String,
    pub presence_grace_secs: String,
    pub widget_origins: String,
}

impl AccountForm {
    pub fn from_account(a: &Account) -> Self {
        Self {
            name: a.name.clone(),
            time_zone: a.time_zone.clone(),
            presence_grace_secs: a.presence_grace_secs.to_string(),
            widget_origins: a.widget_origins.join("\n"),
        }
    }

    /// Every field as the form holds it (the origins replace the list).
    pub fn into_update(self) -> Parsed<UpdateAccount> {
        let origins = self.widget_origins.split(['\n', ',', ' ']).map(str::trim).filter(|o| !o.is_empty());
        Ok(UpdateAccount {
            name: Some(self.name),
            widget_origins: Some(origins.map(str::to_owned).collect()),
            presence_grace_secs: number("presence_grace_secs", &self.presence_grace_secs)?,
            time_zone: Some(self.time_zone.trim().to_owned()).filter(|z| !z.is_empty()),
        })
    }
}

/// The list, and whether the caller may create accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountsView {
    pub accounts: Vec<Account>,
    pub can_create: bool,
}

#[server(endpoint = "admin/accounts")]
pub async fn account_list() -> Result<AccountsView, AppError> {
    let (pool, actor) = caller().await?;
    let accounts = domain::accounts::administered(&pool, &actor).await?;
    Ok(AccountsView { accounts, can_create: actor.is_global() })
}

/// Creates an account (global admins) and goes to its settings.
#[server(endpoint = "admin/account/create")]
pub async fn create_account(slug: String, name: String) -> Result<Account, AppError> {
    let (pool, actor) = caller().await?;
    let account =
        domain::accounts::create(&pool, &actor, domain::accounts::NewAccount { slug, name }).await?;
    leptos_axum::redirect(&format!("/admin/accounts/{}?created", account.id));
    Ok(account)
}

#[server(endpoint = "admin/account")]
pub async fn account_settings(id: AccountId) -> Result<Account, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::accounts::get_administered(&pool, &actor, id).await?)
}

#[server(endpoint = "admin/account/save")]
pub async fn save_account(id: AccountId, form: AccountForm) -> Result<Account, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::accounts::update(&pool, &actor, id, form.into_update()?).await?)
}

/// A new identity secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedSecret {
    pub account_id: AccountId,
    pub secret: String,
}

#[server(endpoint = "admin/account/identity-secret")]
pub async fn rotate_identity_secret(id: AccountId) -> Result<RotatedSecret, AppError> {
    let (pool, actor) = caller().await?;
    let secret = domain::accounts::rotate_identity_secret(&pool, &actor, id).await?;
    Ok(RotatedSecret { account_id: id, secret })
}

/// `/admin/accounts`.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let list = Resource::new(|| (), |()| account_list());
    let create = ServerAction::<CreateAccount>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. }))
            if field == "slug" || field == "name" =>
        {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    view! {
        <Title text="Accounts"/>
        <AdminFrame path="/admin/accounts" section=Section::Accounts title="Accounts".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || list.get().map(|r| match r {
                    Ok(AccountsView { accounts, can_create }) => view! {
                        <div class="max-w-3xl space-y-8">
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full text-sm" data-testid="accounts">
                                    <TableHead columns=&["Account", "Slug", "Widget origins", "Identity"]/>
                                    <tbody class="divide-y divide-slate-100">
                                        {accounts.into_iter().map(|a| view! {
                                            <tr data-slug=a.slug.clone()>
                                                <td class="px-4 py-2">
                                                    <a href=format!("/admin/accounts/{}", a.id) class="font-medium text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{a.name.clone()}</a>
                                                </td>
                                                <td class="px-4 py-2 font-mono text-xs">{a.slug.clone()}</td>
                                                <td class="px-4 py-2 text-slate-600">{a.widget_origins.len()}</td>
                                                <td class="px-4 py-2 text-slate-600">{if a.identity_verification { "Verified" } else { "Off" }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {can_create.then(|| view! {
                                <ActionForm action=create attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-4" attr:aria-label="New account">
                                    <h2 class="text-base font-semibold">"New account"</h2>
                                    <p role="alert" class="text-sm text-rose-700" hidden=move || other().is_none()>{other}</p>
                                    <div class="grid gap-4 sm:grid-cols-2">
                                        <Field field="name" label="Name" error>
                                            <input id="st-name" name="name" class=INPUT aria-describedby=described_by("name", false, error)/>
                                        </Field>
                                        <Field field="slug" label="Slug" help="Lowercase letters, digits and dashes." error>
                                            <input id="st-slug" name="slug" class=INPUT aria-describedby=described_by("slug", true, error)/>
                                        </Field>
                                    </div>
                                    <div class="flex justify-end">
                                        <SubmitButton pending=create.pending() label="Create account" busy="Creating…"/>
                                    </div>
                                </ActionForm>
                            })}
                        </div>
                    }.into_any(),
                    Err(e) => page_error("the accounts", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

/// `/admin/accounts/{id}`.
#[component]
pub fn AccountPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<AccountId>().ok());
    let account = Resource::new(id, |id| async move {
        match id {
            Some(id) => account_settings(id).await,
            None => Err(AppError::Domain(domain::Error::not_found("account"))),
        }
    });
    let save = ServerAction::<SaveAccount>::new();
    let toasts = Toasts::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(a)) => {
            toasts.success(format!("Saved {}", a.name));
            account.refetch();
        }
        Some(Err(_)) => toasts.error("Not saved: see the message in the form."),
        None => {}
    });
    let title = Signal::derive(move || {
        account.get().and_then(Result::ok).map_or_else(|| "Account".to_owned(), |a| a.name)
    });
    let created = move || query.read().get("created").is_some();
    view! {
        <Title text=move || title.get()/>
        <AdminFrame path=format!("/admin/accounts/{}", id().map(|i| i.to_string()).unwrap_or_default())
            section=Section::Accounts title>
            {move || created().then(|| view! {
                <p role="status" class="mb-4 rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-800">
                    "Account created. Add its support types and agents next."
                </p>
            })}
            <Transition fallback=ListSkeleton>
                {move || account.get().map(|r| match r {
                    Ok(a) => view! {
                        <div class="max-w-2xl space-y-8">
                            <AccountFields account=a.clone() save/>
                            <IdentitySecret account=a toasts/>
                        </div>
                    }.into_any(),
                    Err(e) => page_error("the account", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

const FIELDS: [&str; 4] = ["name", "time_zone", "presence_grace_secs", "widget_origins"];

#[component]
fn AccountFields(account: Account, save: ServerAction<SaveAccount>) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let form = AccountForm::from_account(&account);
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if FIELDS.contains(&field.as_str()) => {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let invalid = move |f: &'static str| move || field_error(error, f)().is_some().then_some("true");
    view! {
        <ActionForm action=save attr:class="space-y-6" attr:aria-label="Account settings">
            <input type="hidden" name="id" value=account.id.to_string()/>
            <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>{other}</p>
            <p class="text-sm text-slate-600">"Slug: " <span class="font-mono">{account.slug.clone()}</span></p>
            <Field field="name" label="Name" error>
                <input id="st-name" name="form[name]" value=form.name class=INPUT aria-invalid=invalid("name")
                    aria-describedby=described_by("name", false, error)/>
            </Field>
            <div class="grid gap-4 sm:grid-cols-2">
                <Field field="time_zone" label="Time zone" help="The days of the account's reports, e.g. Europe/Berlin." error>
                    <input id="st-time_zone" name="form[time_zone]" value=form.time_zone class=INPUT aria-invalid=invalid("time_zone")
                        aria-describedby=described_by("time_zone", true, error)/>
                </Field>
                <Field field="presence_grace_secs" label="Presence grace (seconds)" help="Without a heartbeat for this long, an agent is set away." error>
                    <input id="st-presence_grace_secs" name="form[presence_grace_secs]" type="number" min="10" max="3600" value=form.presence_grace_secs class=INPUT
                        aria-invalid=invalid("presence_grace_secs") aria-describedby=described_by("presence_grace_secs", true, error)/>
                </Field>
            </div>
            <Field field="widget_origins" label="Widget origins" help="The sites allowed to embed the chat widget, one per line: https://shop.example.com. Saved in their normal form." error>
                <textarea id="st-widget_origins" name="form[widget_origins]" rows="3" class=INPUT
                    aria-invalid=invalid("widget_origins") aria-describedby=described_by("widget_origins", true, error)>{form.widget_origins.clone()}</textarea>
            </Field>
            <ul class="flex flex-wrap gap-2" aria-label="Saved widget origins" data-testid="origins">
                {account.widget_origins.iter().map(|o| view! {
                    <li class="rounded-full bg-slate-100 px-3 py-1 font-mono text-xs text-slate-800">{o.clone()}</li>
                }).collect_view()}
            </ul>
            <div class="flex justify-end">
                <SubmitButton pending=save.pending() label="Save changes" busy="Saving…"/>
            </div>
        </ActionForm>
    }
}

/// The identity secret: rotate (asked once), then the new secret once,
/// with Copy and the recipe a host site signs with.
#[component]
fn IdentitySecret(account: Account, toasts: Toasts) -> impl IntoView {
    let rotate = ServerAction::<RotateIdentitySecret>::new();
    let open = RwSignal::new(false);
    let shown = RwSignal::new(None::<String>);
    Effect::new(move |_| match rotate.value().get() {
        Some(Ok(r)) => shown.set(Some(r.secret)),
        Some(Err(e)) => toasts.error(format!("Not rotated: {}", e.user_message())),
        None => {}
    });
    let id = account.id;
    let state = if account.identity_verification {
        "On: chats may carry a customer identity signed with the current secret."
    } else {
        "Off: no secret is set, so chats carry no verified identity."
    };
    view! {
        <section aria-labelledby="identity-heading" class="space-y-3">
            <h2 id="identity-heading" class="text-base font-semibold">"Identity verification"</h2>
            <p class="text-sm text-slate-600" data-testid="identity-state">{state}</p>
            <ShownOnce shown label="New identity secret" id="identity-secret" testid="new-secret"
                warning="Copy this secret now: it is not shown again. The previous one no longer works."
                copied="Secret copied" toasts>
                <p class="text-amber-900">"Your site signs each customer with it (the key is the secret's 32 bytes, decoded from hex):"</p>
                <pre class="overflow-x-auto rounded-lg bg-white p-2 font-mono text-xs text-slate-800">"signature = hex(HMAC-SHA256(key, external_id + \":\" + (email or \"\")))\n// Node.js\ncrypto.createHmac('sha256', Buffer.from(SECRET, 'hex'))\n  .update(`${externalId}:${email ?? ''}`).digest('hex')"</pre>
            </ShownOnce>
            <div class="flex justify-end">
                <button type="button" on:click=move |_| open.set(true)
                    class="rounded-lg border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Rotate the identity secret"
                </button>
            </div>
            <ConfirmDialog open title="Rotate the identity secret?" id="rotate-secret" confirm="Rotate the secret".to_owned()
                on_confirm=Callback::new(move |()| { rotate.dispatch(RotateIdentitySecret { id }); })>
                "The current secret stops working at once: signed chats from your site fail until it signs with the new one."
            </ConfirmDialog>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_one_per_line_and_blank_lines_are_dropped() {
        let form = AccountForm {
            name: "Acme".into(),
            widget_origins: "https://shop.example.com\n\n  https://help.example.com:8443 \n".into(),
            presence_grace_secs: "90".into(),
            time_zone: " ".into(),
        };
        let update = form.into_update().expect("valid");
        assert_eq!(
            update.widget_origins,
            Some(vec!["https://shop.example.com".to_owned(), "https://help.example.com:8443".to_owned()])
        );
        assert_eq!((update.presence_grace_secs, update.time_zone), (Some(90), None));
        let bad = AccountForm { presence_grace_secs: "soon".into(), ..Default::default() }.into_update();
        assert!(matches!(bad, Err(domain::Error::Invalid { field, .. }) if field == "presence_grace_secs"));
    }
}
