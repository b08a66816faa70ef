//! `/admin/attachments`: the account's limits on files in chat (issue 15):
//! the largest file, files per message, and the kinds customers and agents
//! may send. Saving works without JavaScript.

use domain::{
    accounts::Account,
    attachments::AttachmentPolicy,
    types::{AccountId, AttachmentKind},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::{
    AdminFrame, Section, page_error,
    support_types::{Field, INPUT, SubmitButton, described_by, field_error},
};
use crate::{
    AppError,
    components::toast::{ToastRegion, Toasts},
    pages::agent::ListSkeleton,
};

/// The page: the account's policy, and the accounts a global admin may pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    pub account: Account,
    pub accounts: Vec<Account>,
    pub policy: AttachmentPolicy,
}

/// A saved policy, with its account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPolicy {
    pub account_id: AccountId,
    pub policy: AttachmentPolicy,
}

/// The form as posted: sizes in MiB, a checkbox per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyForm {
    pub account_id: AccountId,
    pub max_mib: String,
    pub max_per_message: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub pdf: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub office: Option<String>,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The kinds, with what the page calls them.
const KINDS: [(AttachmentKind, &str, &str); 4] = [
    (AttachmentKind::Image, "image", "Images (PNG, JPEG, GIF, WebP; SVG only as a download)"),
    (AttachmentKind::Pdf, "pdf", "PDF documents"),
    (AttachmentKind::Text, "text", "Plain text"),
    (AttachmentKind::Office, "office", "Office documents (Word, Excel, PowerPoint, OpenDocument)"),
];

impl PolicyForm {
    /// The policy it asks for, or the field that cannot be read.
    pub fn policy(&self) -> Result<AttachmentPolicy, domain::Error> {
        let mib: f64 = self
            .max_mib
            .trim()
            .parse()
            .ok()
            .filter(|m: &f64| m.is_finite())
            .ok_or_else(|| domain::Error::invalid("max_bytes", "enter a size in MiB, such as 10"))?;
        let max_per_message = self
            .max_per_message
            .trim()
            .parse()
            .map_err(|_| domain::Error::invalid("max_per_message", "enter a whole number, such as 10"))?;
        let on = [&self.image, &self.pdf, &self.text, &self.office];
        let kinds = KINDS.iter().zip(on).filter(|(_, v)| v.is_some()).map(|((k, _, _), _)| *k).collect();
        Ok(AttachmentPolicy { max_bytes: (mib * MIB).round() as i64, max_per_message, kinds })
    }
}

#[server(endpoint = "admin/attachment-policy")]
pub async fn load_attachment_policy(account: Option<AccountId>) -> Result<PolicyView, AppError> {
    use domain::{accounts, attachments};
    let (pool, actor) = crate::ssr::caller().await?;
    let accounts = accounts::list(&pool, &actor).await?;
    let account = match account {
        Some(id) => accounts.iter().find(|a| a.id == id),
        None => accounts.first(),
    }
    .cloned()
    .ok_or_else(|| domain::Error::not_found("account"))?;
    let policy = attachments::editable_policy(&pool, &actor, account.id).await?;
    Ok(PolicyView { account, accounts, policy })
}

#[server(endpoint = "admin/attachment-policy/save")]
pub async fn save_attachment_policy(form: PolicyForm) -> Result<SavedPolicy, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    let policy = form.policy()?;
    let policy = domain::attachments::set_policy(&pool, &actor, form.account_id, policy).await?;
    Ok(SavedPolicy { account_id: form.account_id, policy })
}

/// `/admin/attachments`.
#[component]
pub fn AttachmentsPage() -> impl IntoView {
    let query = use_query_map();
    let account = move || query.read().get("account").and_then(|a| a.parse::<AccountId>().ok());
    let view_ = Resource::new(account, load_attachment_policy);
    let save = ServerAction::<SaveAttachmentPolicy>::new();
    let toasts = Toasts::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            toasts.success("Attachment limits saved.");
            view_.refetch();
        }
        Some(Err(_)) => toasts.error("Not saved: see the message in the form."),
        None => {}
    });
    view! {
        <Title text="Attachments"/>
        <AdminFrame path="/admin/attachments" section=Section::Attachments title="Attachments".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || view_.get().map(|r| match r {
                    Ok(v) => view! { <PolicyEditor v save error/> }.into_any(),
                    Err(e) => page_error("the attachment limits", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

#[component]
fn PolicyEditor(
    v: PolicyView,
    save: ServerAction<SaveAttachmentPolicy>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let PolicyView { account, accounts, policy } = v;
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. }))
            if ["max_bytes", "max_per_message", "kinds"].contains(&field.as_str()) =>
        {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let invalid = move |field: &'static str| move || field_error(error, field)().is_some().then_some("true");
    let mib = policy.max_bytes as f64 / MIB;
    let mib = format!("{mib:.3}").trim_end_matches('0').trim_end_matches('.').to_owned();
    let picker = (accounts.len() > 1).then(|| {
        let current = account.id;
        let navigate = leptos_router::hooks::use_navigate();
        view! {
            <form method="get" action="/admin/attachments" class="flex items-end gap-2">
                <div>
                    <label for="policy-account" class="block text-sm font-medium text-slate-700">"Account"</label>
                    <select id="policy-account" name="account" class=INPUT
                        on:change=move |ev| navigate(&format!("/admin/attachments?account={}", event_target_value(&ev)), Default::default())>
                        {accounts.into_iter().map(|a| view! {
                            <option value=a.id.to_string() selected=a.id == current>{a.name}</option>
                        }).collect_view()}
                    </select>
                </div>
                <noscript>
                    <button type="submit" class="rounded-lg border border-slate-300 px-3 py-2 text-sm">"Show"</button>
                </noscript>
            </form>
        }
    });
    let kinds_message = field_error(error, "kinds");
    view! {
        <div class="max-w-2xl space-y-6">
            {picker}
            <p class="text-sm text-slate-600">
                "What customers, agents and bots of " <strong>{account.name.clone()}</strong>
                " may attach in chat. The type of every file is read from its bytes; executables, scripts and "
                "archives are never accepted, whatever is allowed here."
            </p>
            <ActionForm action=save attr:class="space-y-6" attr:aria-label="Attachment limits">
                <input type="hidden" name="form[account_id]" value=account.id.to_string()/>
                {move || other().map(|m| view! { <p role="alert" class="text-sm text-rose-700">{m}</p> })}
                <div class="space-y-6">
                    <Field field="max_bytes" label="Largest file (MiB)" help="From 1 KiB (0.001) to 100 MiB. Larger files are refused with a message naming this limit." error>
                        <input id="st-max_bytes" name="form[max_mib]" type="text" inputmode="decimal"
                            value=mib class=INPUT aria-invalid=invalid("max_bytes")
                            aria-describedby=described_by("max_bytes", true, error)/>
                    </Field>
                    <Field field="max_per_message" label="Files per message" help="From 1 to 20." error>
                        <input id="st-max_per_message" name="form[max_per_message]" type="text" inputmode="numeric"
                            value=policy.max_per_message.to_string() class=INPUT aria-invalid=invalid("max_per_message")
                            aria-describedby=described_by("max_per_message", true, error)/>
                    </Field>
                    <fieldset aria-describedby="st-kinds-error">
                        <legend class="text-sm font-medium text-slate-700">"Kinds of file allowed"</legend>
                        <div class="mt-2 space-y-2">
                            {KINDS.iter().map(|(kind, name, label)| view! {
                                <label class="flex items-center gap-2 text-sm text-slate-800">
                                    <input type="checkbox" name=format!("form[{name}]") checked=policy.kinds.contains(kind)
                                        class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                                    {*label}
                                </label>
                            }).collect_view()}
                        </div>
                        <p id="st-kinds-error" class="mt-1 text-sm text-rose-700" hidden=move || kinds_message().is_none()>
                            {kinds_message}
                        </p>
                    </fieldset>
                </div>
                <div class="flex justify-end">
                    <SubmitButton pending=save.pending() label="Save limits" busy="Saving…"/>
                </div>
            </ActionForm>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_as_the_policy_it_asks_for() {
        let form = PolicyForm {
            account_id: AccountId(uuid::Uuid::nil()),
            max_mib: " 2.5 ".into(),
            max_per_message: "3".into(),
            pdf: Some("on".into()),
            office: Some("on".into()),
            ..PolicyForm::default()
        };
        let policy = form.policy().expect("policy");
        assert_eq!(policy.max_bytes, 2_621_440);
        assert_eq!(policy.max_per_message, 3);
        assert_eq!(policy.kinds, vec![AttachmentKind::Pdf, AttachmentKind::Office]);
        let bad = PolicyForm { max_mib: "ten".into(), ..form.clone() };
        assert!(matches!(bad.policy(), Err(domain::Error::Invalid { field, .. }) if field == "max_bytes"));
        let bad = PolicyForm { max_per_message: "1.5".into(), ..form };
        assert!(
            matches!(bad.policy(), Err(domain::Error::Invalid { field, .. }) if field == "max_per_message")
        );
    }
}
