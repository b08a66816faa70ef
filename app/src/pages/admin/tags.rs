//! `/admin/tags`: the account's tags and the rules that tag sessions by
//! themselves (a keyword or regex in a customer's message, a project
//! reference, a support type), with "Test this rule" on a sample before it
//! is saved: the domain's own check and matcher, the tagging consumer's.
//! Adding a tag or a rule works without JavaScript.

use domain::{
    config::{NewTag, NewTagRule, Tag, TagRule},
    support_types::{EditorChoice, EditorChoices},
    types::{AccountId, SupportTypeId, TagId, TagRuleId, TagRuleKind},
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
        table::TableHead,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

/// The page: tags, rules, and the accounts and types to choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagPageData {
    pub tags: Vec<Tag>,
    pub rules: Vec<TagRule>,
    pub choices: EditorChoices,
}

/// The new-tag form as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagForm {
    pub account_id: String,
    pub name: String,
    pub color: String,
}

/// The new-rule form as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagRuleForm {
    pub account_id: String,
    pub tag: String,
    pub kind: String,
    pub pattern: String,
    pub support_type_id: String,
}

impl TagForm {
    pub fn into_new(self) -> Parsed<NewTag> {
        Ok(NewTag {
            account_id: id("account_id", &self.account_id)?,
            name: self.name,
            color: Some(self.color).filter(|c| !c.is_empty()),
        })
    }
}

impl TagRuleForm {
    pub fn into_new(self) -> Parsed<NewTagRule> {
        Ok(NewTagRule {
            account_id: id("account_id", &self.account_id)?,
            tag: self.tag,
            kind: self
                .kind
                .parse()
                .map_err(|_| domain::Error::invalid("kind", "choose what the rule looks at"))?,
            pattern: self.pattern,
            support_type_id: id("support_type_id", &self.support_type_id)?,
        })
    }
}

#[cfg(feature = "ssr")]
async fn settings(pool: &sqlx::PgPool, actor: &domain::actor::Actor) -> Result<TagPageData, AppError> {
    // The editor's choices are for admins only: they refuse everyone else first.
    let choices = domain::support_types::editor_choices(pool, actor, None).await?;
    let tags = domain::config::list_tags(pool, actor, None).await?;
    let rules = domain::config::list_tag_rules(pool, actor, None).await?;
    Ok(TagPageData { tags, rules, choices })
}

#[server(endpoint = "admin/tags")]
pub async fn tag_settings() -> Result<TagPageData, AppError> {
    let (pool, actor) = caller().await?;
    settings(&pool, &actor).await
}

/// Adds a tag; answers with the page's fresh data.
#[server(endpoint = "admin/tag/create")]
pub async fn create_tag(form: TagForm) -> Result<TagPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::create_tag(&pool, &actor, form.into_new()?).await?;
    settings(&pool, &actor).await
}

/// Deletes a tag with its rules and its uses on sessions.
#[server(endpoint = "admin/tag/delete")]
pub async fn delete_tag(id: TagId) -> Result<TagPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::delete_tag(&pool, &actor, id).await?;
    settings(&pool, &actor).await
}

#[server(endpoint = "admin/tag-rule/create")]
pub async fn create_tag_rule(form: TagRuleForm) -> Result<TagPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::create_tag_rule(&pool, &actor, form.into_new()?).await?;
    settings(&pool, &actor).await
}

#[server(endpoint = "admin/tag-rule/delete")]
pub async fn delete_tag_rule(id: TagRuleId) -> Result<TagPageData, AppError> {
    let (pool, actor) = caller().await?;
    domain::config::delete_tag_rule(&pool, &actor, id).await?;
    settings(&pool, &actor).await
}

/// What "Test this rule" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTest {
    pub account_id: Option<AccountId>,
    pub matches: bool,
}

#[server(endpoint = "admin/tag-rule/test")]
pub async fn test_tag_rule(form: TagRuleForm, sample: String) -> Result<RuleTest, AppError> {
    let (pool, actor) = caller().await?;
    let input = form.into_new()?;
    let matches = domain::config::preview_tag_rule(&pool, &actor, &input, &sample).await?;
    Ok(RuleTest { account_id: actor.agent().and_then(|a| a.account_id).or(input.account_id), matches })
}

const KINDS: [(TagRuleKind, &str); 4] = [
    (TagRuleKind::Keyword, "A word in a customer's message"),
    (TagRuleKind::Regex, "A regular expression on a customer's message"),
    (TagRuleKind::ProjectRef, "The session's project reference"),
    (TagRuleKind::SupportType, "Every session of a support type"),
];

fn kind_label(kind: TagRuleKind) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == kind).map_or("", |(_, l)| l)
}

/// The chip classes of a tag colour (the palette of `TAG_COLORS`).
fn chip(color: &str) -> &'static str {
    match color {
        "indigo" => "bg-indigo-100 text-indigo-800",
        "emerald" => "bg-emerald-100 text-emerald-800",
        "amber" => "bg-amber-100 text-amber-900",
        "rose" => "bg-rose-100 text-rose-800",
        "sky" => "bg-sky-100 text-sky-900",
        "violet" => "bg-violet-100 text-violet-800",
        _ => "bg-slate-100 text-slate-800",
    }
}

fn type_name(types: &[EditorChoice], id: Option<SupportTypeId>) -> String {
    match id {
        None => "Any type".to_owned(),
        Some(id) => types
            .iter()
            .find(|t| t.id == id.0)
            .map_or_else(|| "(archived type)".to_owned(), |t| t.name.clone()),
    }
}

/// `/admin/tags`.
#[component]
pub fn TagsPage() -> impl IntoView {
    let add_tag = ServerAction::<CreateTag>::new();
    let add_rule = ServerAction::<CreateTagRule>::new();
    let remove_tag = ServerAction::<DeleteTag>::new();
    let remove_rule = ServerAction::<DeleteTagRule>::new();
    let toasts = Toasts::new();
    let data = Resource::new(|| (), |()| tag_settings());
    // Every change answers with the page's data: it replaces what is shown.
    let fresh = RwSignal::new(None::<TagPageData>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = data.get() {
            fresh.set(Some(s));
        }
    });
    let answered = move |value: Option<Result<TagPageData, AppError>>, done: &'static str| match value {
        Some(Ok(s)) => {
            fresh.set(Some(s));
            toasts.success(done);
        }
        Some(Err(e)) => toasts.error(format!("Not saved: {}", e.user_message())),
        None => {}
    };
    Effect::new(move |_| answered(add_tag.value().get(), "Tag added"));
    Effect::new(move |_| answered(add_rule.value().get(), "Rule added: it tags sessions from now on"));
    Effect::new(move |_| answered(remove_tag.value().get(), "Tag deleted"));
    Effect::new(move |_| answered(remove_rule.value().get(), "Rule deleted"));
    view! {
        <Title text="Tags and rules"/>
        <AdminFrame path="/admin/tags" section=Section::Tags title="Tags and rules".to_owned()>
            <Transition fallback=ListSkeleton>
                {move || data.get().map(|r| match r {
                    Ok(initial) => {
                        let current = Signal::derive(move || fresh.get().unwrap_or_else(|| initial.clone()));
                        view! {
                            <div class="max-w-3xl space-y-10">
                                <TagsSection current add_tag remove_tag/>
                                <RulesSection current add_rule remove_rule/>
                            </div>
                        }.into_any()
                    }
                    Err(e) => page_error("the tags", e),
                })}
            </Transition>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

#[component]
fn TagsSection(
    current: Signal<TagPageData>,
    add_tag: ServerAction<CreateTag>,
    remove_tag: ServerAction<DeleteTag>,
) -> impl IntoView {
    let error = Signal::derive(move || add_tag.value().get().and_then(Result::err));
    let name_error = field_error(error, "name");
    // The tag the dialog asks about, and whether it is open.
    let confirm = RwSignal::new(None::<Tag>);
    let open = RwSignal::new(false);
    view! {
        <section aria-labelledby="tags-heading" class="space-y-3">
            <h2 id="tags-heading" class="text-base font-semibold">"Tags"</h2>
            {move || {
                let tags = current.get().tags;
                if tags.is_empty() {
                    return view! { <p class="text-sm text-slate-500">"No tags yet. Add one below, or let a rule create its tag."</p> }.into_any();
                }
                view! {
                    <ul class="flex flex-wrap gap-2" data-testid="tags">
                        {tags.into_iter().map(|t| {
                            let name = t.name.clone();
                            let class = format!("inline-flex items-center gap-1 rounded-full px-3 py-1 text-sm {}", chip(&t.color));
                            view! {
                                <li class=class>
                                    {t.name.clone()}
                                    <button type="button" aria-label=format!("Delete tag {name}")
                                        class="rounded-full px-1 hover:bg-white/60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                        on:click=move |_| {
                                            confirm.set(Some(t.clone()));
                                            open.set(true);
                                        }>
                                        "×"
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=add_tag attr:class="flex flex-wrap items-end gap-3" attr:aria-label="Add a tag">
                <AccountChoice accounts=current.get_untracked().choices.accounts name="form[account_id]" id="tag-account"
                    none="Choose an account" error/>
                <div class="min-w-0 flex-1">
                    <label for="tag-name" class="block text-sm font-medium text-slate-700">"Tag name"</label>
                    <input id="tag-name" name="form[name]" class=INPUT
                        aria-invalid=move || name_error().is_some().then_some("true")
                        aria-describedby=move || name_error().is_some().then_some("tag-name-error")/>
                    <p id="tag-name-error" class="mt-1 text-sm text-rose-700" hidden=move || name_error().is_none()>{name_error}</p>
                </div>
                <div>
                    <label for="tag-color" class="block text-sm font-medium text-slate-700">"Colour"</label>
                    <select id="tag-color" name="form[color]" class=INPUT>
                        {domain::config::TAG_COLORS.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                    </select>
                </div>
                <SubmitButton pending=add_tag.pending() label="Add tag" busy="Adding…"/>
            </ActionForm>
            <ConfirmDialog open title="Delete this tag?" id="delete-tag" confirm="Delete tag".to_owned()
                on_confirm=Callback::new(move |()| {
                    if let Some(t) = confirm.get_untracked() {
                        remove_tag.dispatch(DeleteTag { id: t.id });
                    }
                })>
                {move || confirm.get().map(|t| format!("\u{201c}{}\u{201d} goes from every session that has it, with the rules that add it. This cannot be undone.", t.name))}
            </ConfirmDialog>
        </section>
    }
}

/// The rule form's fields the page knows; other errors show above it.
const RULE_FIELDS: [&str; 5] = ["account_id", "tag", "kind", "pattern", "support_type_id"];

#[component]
fn RulesSection(
    current: Signal<TagPageData>,
    add_rule: ServerAction<CreateTagRule>,
    remove_rule: ServerAction<DeleteTagRule>,
) -> impl IntoView {
    let test = ServerAction::<TestTagRule>::new();
    // The rule the delete dialog asks about.
    let rule_asked = RwSignal::new(None::<TagRuleId>);
    let rule_open = RwSignal::new(false);
    // The form's values, for "Test this rule" (the form still posts itself).
    // With one account, the form names it in a hidden field; so does the test.
    let account = RwSignal::new(match current.get_untracked().choices.accounts.as_slice() {
        [one] => one.id.to_string(),
        _ => String::new(),
    });
    let tag = RwSignal::new(String::new());
    let kind = RwSignal::new(TagRuleKind::Keyword.as_str().to_owned());
    let pattern = RwSignal::new(String::new());
    let type_id = RwSignal::new(String::new());
    let sample = RwSignal::new(String::new());
    // In the browser, the last of adding and testing to answer speaks for
    // the form; without JavaScript (rendered on the server, where effects do
    // not run) the failed add does.
    let last_error = RwSignal::new(None::<Option<AppError>>);
    Effect::new(move |_| {
        if let Some(answer) = add_rule.value().get() {
            last_error.set(Some(answer.err()));
        }
    });
    Effect::new(move |_| {
        if let Some(answer) = test.value().get() {
            last_error.set(Some(answer.err()));
        }
    });
    let error = Signal::derive(move || {
        last_error.get().unwrap_or_else(|| add_rule.value().get().and_then(Result::err))
    });
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. }))
            if RULE_FIELDS.contains(&field.as_str()) =>
        {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let message = move |f| field_error(error, f);
    let run_test = move |_| {
        test.dispatch(TestTagRule {
            form: TagRuleForm {
                account_id: account.get_untracked(),
                tag: tag.get_untracked(),
                kind: kind.get_untracked(),
                pattern: pattern.get_untracked(),
                support_type_id: type_id.get_untracked(),
            },
            sample: sample.get_untracked(),
        });
    };
    // A new answer to a test is only for the values tested: any edit clears it.
    let outcome = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(Ok(r)) = test.value().get() {
            outcome.set(Some(r.matches));
        }
    });
    Effect::new(move |_| {
        account.track();
        tag.track();
        kind.track();
        pattern.track();
        type_id.track();
        sample.track();
        outcome.set(None);
    });
    view! {
        <section aria-labelledby="rules-heading" class="space-y-3">
            <h2 id="rules-heading" class="text-base font-semibold">"Tag rules"</h2>
            <p class="text-sm text-slate-600">"Rules tag sessions as they open and as customers write. A word matches at the start of a word, ignoring case (refund matches Refunds, card does not match discard)."</p>
            {move || {
                let TagPageData { rules, tags, choices } = current.get();
                if rules.is_empty() {
                    return view! { <p class="text-sm text-slate-500">"No rules yet."</p> }.into_any();
                }
                view! {
                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                        <table class="min-w-full text-sm" data-testid="tag-rules">
                            <TableHead columns=&["Tag", "When", "Type", ""]/>
                            <tbody class="divide-y divide-slate-100">
                                {rules.into_iter().map(|r| {
                                    let tag_name = tags.iter().find(|t| t.id == r.tag_id).map(|t| t.name.clone()).unwrap_or_default();
                                    let id = r.id;
                                    let label = format!("Delete the rule for {tag_name}");
                                    view! {
                                        <tr>
                                            <td class="px-4 py-2 font-medium">{tag_name}</td>
                                            <td class="px-4 py-2">
                                                {kind_label(r.kind)}
                                                {(!r.pattern.is_empty()).then(|| view! { ": " <code class="rounded bg-slate-100 px-1 font-mono text-xs">{r.pattern.clone()}</code> })}
                                            </td>
                                            <td class="px-4 py-2 text-slate-600">{type_name(&choices.support_types, r.support_type_id)}</td>
                                            <td class="px-4 py-2 text-right">
                                                <button type="button" aria-label=label on:click=move |_| { rule_asked.set(Some(id)); rule_open.set(true); }
                                                    class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                                                    "Delete"
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <ConfirmDialog open=rule_open title="Delete this rule?" id="delete-rule" confirm="Delete rule".to_owned()
                on_confirm=Callback::new(move |()| {
                    if let Some(id) = rule_asked.get_untracked() {
                        remove_rule.dispatch(DeleteTagRule { id });
                    }
                })>
                "Sessions it tagged keep their tag; new ones are no longer tagged by it."
            </ConfirmDialog>
            <ActionForm action=add_rule attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-4" attr:aria-label="New tag rule">
                <h3 class="text-sm font-semibold">"New rule"</h3>
                <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>{other}</p>
                <AccountChoice accounts=current.get_untracked().choices.accounts name="form[account_id]" id="rule-account"
                    none="Choose an account" error on_pick=Callback::new(move |v| account.set(v))/>
                <Field field="tag" label="Tag" help="An existing tag, or a new name: the tag is created with the rule." error>
                    <input id="st-tag" name="form[tag]" list="known-tags" class=INPUT
                        on:input=move |ev| tag.set(event_target_value(&ev))
                        aria-invalid=move || message("tag")().is_some().then_some("true")
                        aria-describedby=described_by("tag", true, error)/>
                    <datalist id="known-tags">
                        {move || current.get().tags.into_iter().map(|t| view! { <option value=t.name></option> }).collect_view()}
                    </datalist>
                </Field>
                <Field field="kind" label="Tags a session when" error>
                    <select id="st-kind" name="form[kind]" class=INPUT prop:value=move || kind.get()
                        on:change=move |ev| kind.set(event_target_value(&ev))>
                        {KINDS.iter().map(|(k, l)| view! { <option value=k.as_str()>{*l}</option> }).collect_view()}
                    </select>
                </Field>
                <Field field="pattern" label="Word, expression or reference" help="Empty for a support type rule. Regular expressions are case-sensitive unless they start with (?i)." error>
                    <input id="st-pattern" name="form[pattern]" class=INPUT
                        on:input=move |ev| pattern.set(event_target_value(&ev))
                        aria-invalid=move || message("pattern")().is_some().then_some("true")
                        aria-describedby=described_by("pattern", true, error)/>
                </Field>
                <Field field="support_type_id" label="Support type" help="Only sessions of this type (required for a support type rule)." error>
                    <select id="st-support_type_id" name="form[support_type_id]" class=INPUT
                        prop:value=move || type_id.get()
                        on:change=move |ev| type_id.set(event_target_value(&ev))
                        aria-describedby=described_by("support_type_id", true, error)>
                        <option value="">"Any type"</option>
                        {move || current.get().choices.support_types.into_iter().map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                    </select>
                </Field>
                <div class="space-y-2 rounded-lg bg-slate-50 p-3">
                    <label for="rule-sample" class="block text-sm font-medium text-slate-700">"Test this rule on a sample message"</label>
                    <p id="rule-sample-help" class="text-xs text-slate-500">"A customer's message (or, for a project rule, the project reference). Nothing is saved."</p>
                    <textarea id="rule-sample" rows="2" aria-describedby="rule-sample-help" class=INPUT
                        on:input=move |ev| sample.set(event_target_value(&ev))></textarea>
                    <div class="flex flex-wrap items-center gap-3">
                        <button type="button" on:click=run_test disabled=move || test.pending().get()
                            class="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                            "Test rule"
                        </button>
                        <p role="status" data-testid="rule-test" class="text-sm">
                            {move || match outcome.get() {
                                Some(true) => format!("Matches: the session would be tagged \u{201c}{}\u{201d}.", tag.get().trim()),
                                Some(false) => "No match: this message would not be tagged.".to_owned(),
                                None => String::new(),
                            }}
                        </p>
                    </div>
                </div>
                <div class="flex justify-end">
                    <SubmitButton pending=add_rule.pending() label="Add rule" busy="Adding…"/>
                </div>
            </ActionForm>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_form_becomes_the_domains_input() {
        let t = uuid::Uuid::new_v4();
        let form = TagRuleForm {
            tag: "refunds".into(),
            kind: "keyword".into(),
            pattern: "refund".into(),
            support_type_id: t.to_string(),
            ..Default::default()
        };
        let rule = form.into_new().expect("valid");
        assert_eq!(
            (rule.kind, rule.support_type_id, rule.account_id),
            (TagRuleKind::Keyword, Some(SupportTypeId(t)), None)
        );
        let bad = TagRuleForm { kind: "sometimes".into(), ..Default::default() }.into_new();
        assert!(matches!(bad, Err(domain::Error::Invalid { field, .. }) if field == "kind"));
        let bad =
            TagRuleForm { kind: "regex".into(), support_type_id: "billing".into(), ..Default::default() }
                .into_new();
        assert!(matches!(bad, Err(domain::Error::Invalid { field, .. }) if field == "support_type_id"));
        let tag = TagForm { name: "vip".into(), color: String::new(), ..Default::default() }
            .into_new()
            .expect("tag");
        assert_eq!(tag.color, None);
    }
}
