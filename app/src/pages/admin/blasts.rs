//! `/admin/blasts`: compose a message to a segment of the account's
//! customers, see how many it reaches before sending, send it (after a
//! question), and watch every blast's progress live: the bars move with the
//! `blast_progress` frames of the WebSocket, without a reload. A pending or
//! running blast can be cancelled.

use domain::{
    blasts::{BlastProgress, NewBlast, Segment},
    support_types::{EditorChoice, EditorChoices},
    types::{AccountId, BlastId, BlastStatus},
};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use super::{
    AccountChoice, AdminFrame, Section, page_error,
    support_type_form::{Parsed, id, number},
    support_types::INPUT,
    width_class,
};
use crate::{
    AppError,
    components::{
        dialog::ConfirmDialog,
        toast::{ToastRegion, Toasts},
    },
    pages::agent::ListSkeleton,
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// The compose form as the page holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlastForm {
    pub account_id: String,
    pub body: String,
    /// `type`, `account` or `recent`.
    pub segment: String,
    /// The segment's support type (for `type`).
    pub segment_type: String,
    /// The segment's days (for `recent`).
    pub days: String,
    /// The type of sessions opened for customers without an open one;
    /// empty: the segment's type.
    pub support_type_id: String,
    pub rate_per_minute: String,
}

impl BlastForm {
    pub fn segment(&self) -> Parsed<Segment> {
        match self.segment.as_str() {
            "type" => match id("segment.support_type_id", &self.segment_type)? {
                Some(support_type_id) => Ok(Segment::SupportType { support_type_id }),
                None => Err(domain::Error::invalid("segment.support_type_id", "choose a support type")),
            },
            "account" => Ok(Segment::Account),
            "recent" => match number("segment.days", &self.days)? {
                Some(days) => Ok(Segment::Recent { days }),
                None => Err(domain::Error::invalid("segment.days", "enter a number of days")),
            },
            _ => Err(domain::Error::invalid("segment", "choose who receives the blast")),
        }
    }

    pub fn into_new(self) -> Parsed<NewBlast> {
        Ok(NewBlast {
            account_id: id("account_id", &self.account_id)?,
            segment: self.segment()?,
            support_type_id: id("support_type_id", &self.support_type_id)?,
            rate_per_minute: number("rate_per_minute", &self.rate_per_minute)?,
            body: self.body,
            attachment_id: None,
        })
    }
}

/// The accounts and support types to compose with. Admins only.
#[server(endpoint = "admin/blast/choices")]
pub async fn blast_choices() -> Result<EditorChoices, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::support_types::editor_choices(&pool, &actor, None).await?)
}

/// How many customers a segment of an account reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub account_id: AccountId,
    pub customers: i64,
}

/// How many customers the form's segment reaches now.
#[server(endpoint = "admin/blast/audience")]
pub async fn blast_audience(form: BlastForm) -> Result<Audience, AppError> {
    let (pool, actor) = caller().await?;
    let account = actor.target_account(id("account_id", &form.account_id)?)?;
    let customers = domain::blasts::audience(&pool, &actor, Some(account), form.segment()?).await?;
    Ok(Audience { account_id: account, customers })
}

#[server(endpoint = "admin/blast/create")]
pub async fn create_blast(form: BlastForm) -> Result<BlastProgress, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::blasts::create(&pool, &actor, form.into_new()?).await?)
}

#[server(endpoint = "admin/blast/cancel")]
pub async fn cancel_blast(id: BlastId) -> Result<BlastProgress, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::blasts::cancel(&pool, &actor, id).await?)
}

/// Applies a `blast_progress` frame to the list; false when the blast is
/// not in it (the page then loads the list again).
pub fn apply_progress(
    list: &mut [BlastProgress],
    id: BlastId,
    status: BlastStatus,
    counts: (i32, i32, i32, i32),
) -> bool {
    let Some(p) = list.iter_mut().find(|p| p.blast.id == id) else { return false };
    let (total, sent, failed, skipped) = counts;
    // Frames may arrive after a fresher answer: never move backwards.
    if sent + failed + skipped < p.blast.sent + p.blast.failed + p.blast.skipped {
        return true;
    }
    let b = &mut p.blast;
    (b.status, b.total, b.sent, b.failed, b.skipped) = (status, total, sent, failed, skipped);
    p.pending = b.pending();
    true
}

/// `/admin/blasts`.
#[component]
pub fn BlastsPage() -> impl IntoView {
    let data = Resource::new(|| (), |()| super::blast_list());
    let choices = Resource::new(|| (), |()| blast_choices());
    let list = RwSignal::new(None::<Vec<BlastProgress>>);
    let toasts = Toasts::new();
    let link = crate::live::connect(None, move |frame| {
        use domain::live::ServerFrame;
        if let ServerFrame::BlastProgress { blast_id, status, total, sent, failed, skipped, .. } = frame {
            let mut known = true;
            list.update(|l| {
                if let Some(l) = l {
                    known = apply_progress(l, blast_id, status, (total, sent, failed, skipped));
                }
            });
            if !known {
                data.refetch();
            }
        } else if matches!(frame, ServerFrame::Resync { .. }) {
            data.refetch();
        }
    });
    let live = move || link.state.get().label();
    view! {
        <Title text="Blasts"/>
        <AdminFrame path="/admin/blasts" section=Section::Blasts title="Blasts".to_owned()>
            <div class="max-w-4xl space-y-8">
                <p class="text-sm text-slate-600">"Messages to a segment of your customers, sent in the background at a steady pace. Each customer gets it in their open chat, or in a new one of the type you choose; offline customers with an address also get it by e-mail."</p>
                <Transition fallback=ListSkeleton>
                    {move || choices.get().map(|r| match r {
                        Ok(c) => view! {
                            <Compose choices=c toasts created=Callback::new(move |p: BlastProgress| {
                                list.update(|l| l.get_or_insert_with(Vec::new).insert(0, p));
                            })/>
                        }.into_any(),
                        Err(e) => page_error("the blasts", e),
                    })}
                </Transition>
                <section aria-labelledby="sent-heading" class="space-y-2">
                    <h2 id="sent-heading" class="text-base font-semibold">"Sent blasts"</h2>
                    <p class="text-xs text-slate-500" aria-live="polite" data-testid="blasts-live">{move || format!("Live updates: {}", live())}</p>
                    <Transition fallback=ListSkeleton>
                        {move || data.get().map(|r| match r {
                            Ok(fresh) => {
                                list.set(Some(fresh));
                                view! { <BlastTable list=list.into() cancel=Some(toasts)/> }.into_any()
                            }
                            Err(e) => page_error("the blasts", e),
                        })}
                    </Transition>
                </section>
            </div>
        </AdminFrame>
        <ToastRegion toasts/>
    }
}

fn types_of(types: &[EditorChoice], account: &str) -> Vec<EditorChoice> {
    types.iter().filter(|t| account.is_empty() || t.account_id.to_string() == account).cloned().collect()
}

#[component]
fn Compose(choices: EditorChoices, toasts: Toasts, created: Callback<BlastProgress>) -> impl IntoView {
    let EditorChoices { accounts, support_types, .. } = choices;
    let form = RwSignal::new(BlastForm {
        account_id: if accounts.len() == 1 { accounts[0].id.to_string() } else { String::new() },
        segment: "type".to_owned(),
        days: "30".to_owned(),
        ..Default::default()
    });
    let error = RwSignal::new(None::<AppError>);
    let count = RwSignal::new(None::<Result<i64, String>>);
    let asked = StoredValue::new(0u64);
    let busy = RwSignal::new(false);
    let confirm = RwSignal::new(false);
    // The count follows the segment: the latest answer wins.
    Effect::new(move |_| {
        let f = form.get();
        let key = (f.account_id.clone(), f.segment.clone(), f.segment_type.clone(), f.days.clone());
        let _ = key;
        let n = asked.get_value() + 1;
        asked.set_value(n);
        if f.segment().is_err() {
            count.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = blast_audience(f).await.map(|a| a.customers).map_err(|e| e.user_message());
            if asked.get_value() == n {
                count.set(Some(answer));
            }
        });
    });
    let set = move |apply: fn(&mut BlastForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| apply(f, value));
            error.set(None);
        }
    };
    let field_error = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Domain(domain::Error::Invalid { field: f, message })) if f == field => {
                Some(message)
            }
            _ => None,
        }
    };
    const FIELDS: [&str; 7] = [
        "account_id",
        "body",
        "segment",
        "segment.support_type_id",
        "segment.days",
        "support_type_id",
        "rate_per_minute",
    ];
    let other = move || match error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if FIELDS.contains(&field.as_str()) => {
            None
        }
        Some(e) => Some(e.user_message()),
        None => None,
    };
    let reach = move || match count.get() {
        None => "Choose who receives it to see how many customers it reaches.".to_owned(),
        Some(Ok(1)) => "Reaches 1 customer.".to_owned(),
        Some(Ok(n)) => format!("Reaches {n} customers."),
        Some(Err(e)) => format!("Cannot count the recipients: {e}"),
    };
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form.get_untracked().into_new() {
            Err(e) => error.set(Some(AppError::Domain(e))),
            Ok(_) => confirm.set(true),
        }
    };
    let send = move |()| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_blast(form.get_untracked()).await {
                Ok(p) => {
                    toasts.success(format!("Blast sending to {} customers", p.blast.total));
                    form.update(|f| f.body.clear());
                    created.run(p);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let all_types = StoredValue::new(support_types);
    let types = move || all_types.with_value(|t| types_of(t, &form.with(|f| f.account_id.clone())));
    let body_error = field_error("body");
    let type_error = field_error("segment.support_type_id");
    let days_error = field_error("segment.days");
    let outbound_error = field_error("support_type_id");
    let rate_error = field_error("rate_per_minute");
    let error_signal = Signal::derive(move || error.get());
    view! {
        <section aria-labelledby="compose-heading" class="space-y-3">
            <h2 id="compose-heading" class="text-base font-semibold">"New blast"</h2>
            <form class="space-y-4 rounded-xl border border-slate-200 bg-white p-4" aria-label="New blast" on:submit=ask>
                <p role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" hidden=move || other().is_none()>{other}</p>
                <AccountChoice accounts name="account" id="blast-account" none="Choose an account" error=error_signal
                    on_pick=Callback::new(move |v: String| form.update(|f| { f.account_id = v; f.segment_type.clear(); f.support_type_id.clear(); }))/>
                <div>
                    <label for="blast-body" class="block text-sm font-medium text-slate-700">"Message"</label>
                    <textarea id="blast-body" rows="4" maxlength="10000" class=INPUT prop:value=move || form.with(|f| f.body.clone())
                        on:input=set(|f, v| f.body = v)
                        aria-invalid=move || body_error().is_some().then_some("true")
                        aria-describedby=move || body_error().is_some().then_some("blast-body-error")></textarea>
                    <p id="blast-body-error" class="mt-1 text-sm text-rose-700" hidden=move || body_error().is_none()>{body_error}</p>
                </div>
                <fieldset class="space-y-2">
                    <legend class="text-sm font-medium text-slate-700">"Send to"</legend>
                    <div class="grid gap-3 sm:grid-cols-3">
                        <div>
                            <label for="blast-segment" class="block text-xs text-slate-600">"Segment"</label>
                            <select id="blast-segment" class=INPUT on:change=set(|f, v| f.segment = v)>
                                <option value="type" selected=true>"Customers of a support type"</option>
                                <option value="account">"Every customer of the account"</option>
                                <option value="recent">"Customers with a recent session"</option>
                            </select>
                        </div>
                        <Show when=move || form.with(|f| f.segment == "type")>
                            <div>
                                <label for="blast-segment-type" class="block text-xs text-slate-600">"Support type"</label>
                                <select id="blast-segment-type" class=INPUT on:change=set(|f, v| f.segment_type = v)
                                    aria-describedby=move || type_error().is_some().then_some("blast-segment-type-error")>
                                    <option value="">"Choose a support type"</option>
                                    {move || types().into_iter().map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                                </select>
                                <p id="blast-segment-type-error" class="mt-1 text-sm text-rose-700" hidden=move || type_error().is_none()>{type_error}</p>
                            </div>
                        </Show>
                        <Show when=move || form.with(|f| f.segment == "recent")>
                            <div>
                                <label for="blast-days" class="block text-xs text-slate-600">"Session in the last (days)"</label>
                                <input id="blast-days" type="number" min="1" max="365" class=INPUT
                                    prop:value=move || form.with(|f| f.days.clone()) on:input=set(|f, v| f.days = v)
                                    aria-describedby=move || days_error().is_some().then_some("blast-days-error")/>
                                <p id="blast-days-error" class="mt-1 text-sm text-rose-700" hidden=move || days_error().is_none()>{days_error}</p>
                            </div>
                        </Show>
                    </div>
                    <p class="text-sm font-medium text-slate-900" aria-live="polite" data-testid="blast-reach">{reach}</p>
                </fieldset>
                <div class="grid gap-3 sm:grid-cols-2">
                    <div>
                        <label for="blast-outbound" class="block text-sm font-medium text-slate-700">"New chats open in"</label>
                        <p id="blast-outbound-help" class="mt-0.5 text-xs text-slate-500">"For customers without an open chat. Empty: the segment's support type."</p>
                        <select id="blast-outbound" class=INPUT on:change=set(|f, v| f.support_type_id = v)
                            aria-describedby=move || if outbound_error().is_some() { "blast-outbound-help blast-outbound-error" } else { "blast-outbound-help" }>
                            <option value="">"The segment's support type"</option>
                            {move || types().into_iter().map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                        </select>
                        <p id="blast-outbound-error" class="mt-1 text-sm text-rose-700" hidden=move || outbound_error().is_none()>{outbound_error}</p>
                    </div>
                    <div>
                        <label for="blast-rate" class="block text-sm font-medium text-slate-700">"Messages per minute"</label>
                        <p id="blast-rate-help" class="mt-0.5 text-xs text-slate-500">"Empty: 600."</p>
                        <input id="blast-rate" type="number" min="1" class=INPUT placeholder="600"
                            prop:value=move || form.with(|f| f.rate_per_minute.clone()) on:input=set(|f, v| f.rate_per_minute = v)
                            aria-describedby=move || if rate_error().is_some() { "blast-rate-help blast-rate-error" } else { "blast-rate-help" }/>
                        <p id="blast-rate-error" class="mt-1 text-sm text-rose-700" hidden=move || rate_error().is_none()>{rate_error}</p>
                    </div>
                </div>
                <div class="flex justify-end">
                    <button type="submit" disabled=move || busy.get()
                        class=format!("rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:ring-offset-2 {FOCUS}")>
                        {move || if busy.get() { "Sending…" } else { "Send blast…" }}
                    </button>
                </div>
            </form>
            <ConfirmDialog open=confirm title="Send this blast?" id="send-blast" confirm=Signal::derive(move || "Send blast".to_owned())
                on_confirm=Callback::new(send)>
                {move || match count.get() {
                    Some(Ok(n)) => format!("It goes to {n} customers now and cannot be unsent; you can cancel what is still pending."),
                    _ => "It goes to every customer of the segment and cannot be unsent; you can cancel what is still pending.".to_owned(),
                }}
            </ConfirmDialog>
        </section>
    }
}

/// The blasts with their progress bars; with `cancel`, a Cancel button on
/// those still sending.
#[component]
pub fn BlastTable(list: Signal<Option<Vec<BlastProgress>>>, cancel: Option<Toasts>) -> impl IntoView {
    let stop = move |id: BlastId| {
        leptos::task::spawn_local(async move {
            match cancel_blast(id).await {
                Ok(_) => {
                    if let Some(t) = cancel {
                        t.success("Blast cancelled: nobody else gets it.");
                    }
                }
                Err(e) => {
                    if let Some(t) = cancel {
                        t.error(format!("Not cancelled: {}", e.user_message()));
                    }
                }
            }
        });
    };
    move || {
        let blasts = list.get().unwrap_or_default();
        if blasts.is_empty() {
            return view! { <p class="text-sm text-slate-500" data-testid="no-blasts">"No blasts yet."</p> }
                .into_any();
        }
        view! {
            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                <table class="min-w-full text-sm" data-testid="blasts">
                    <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-600">
                        <tr>
                            <th scope="col" class="px-4 py-2">"Created"</th>
                            <th scope="col" class="px-4 py-2">"Message"</th>
                            <th scope="col" class="px-4 py-2">"Status"</th>
                            <th scope="col" class="px-4 py-2">"Progress"</th>
                            {cancel.is_some().then(|| view! { <th scope="col" class="px-4 py-2"><span class="sr-only">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {blasts.into_iter().map(|p| {
                            let b = p.blast;
                            let id = b.id;
                            let done = b.sent + b.failed + b.skipped;
                            let label = format!("{} of {} sent", b.sent, b.total);
                            let detail = format!(
                                "{} sent, {} failed, {} skipped, {} pending, {} to e-mail",
                                b.sent, b.failed, b.skipped, p.pending, p.email_pending
                            );
                            let bar = format!("h-2 rounded bg-indigo-600 transition-all {}", width_class(done, b.total));
                            let open = matches!(b.status, BlastStatus::Pending | BlastStatus::Running);
                            view! {
                                <tr data-blast=id.to_string()>
                                    <td class="whitespace-nowrap px-4 py-2 text-slate-600">{b.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                    <td class="max-w-md truncate px-4 py-2">{b.body}</td>
                                    <td class="px-4 py-2 font-medium" data-testid="blast-status">{b.status.as_str()}</td>
                                    <td class="px-4 py-2">
                                        <div role="progressbar" aria-valuemin="0" aria-valuemax=b.total.to_string()
                                            aria-valuenow=done.to_string() aria-valuetext=label.clone()
                                            aria-label="Blast progress" title=detail.clone()
                                            class="h-2 w-40 overflow-hidden rounded bg-slate-200">
                                            <div class=bar></div>
                                        </div>
                                        <span class="mt-1 block text-xs text-slate-600" data-testid="blast-progress">{label}</span>
                                        {(b.failed > 0).then(|| view! { <span class="block text-xs text-rose-700">{format!("{} failed", b.failed)}</span> })}
                                    </td>
                                    {cancel.is_some().then(|| view! {
                                        <td class="px-4 py-2 text-right">
                                            {open.then(|| view! {
                                                <button type="button" on:click=move |_| stop(id)
                                                    class=format!("rounded-lg border border-rose-300 px-3 py-1 text-xs font-medium text-rose-700 hover:bg-rose-50 {FOCUS}")>
                                                    "Cancel"
                                                </button>
                                            })}
                                        </td>
                                    })}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_names_its_segment_or_the_field_that_is_wrong() {
        let t = uuid::Uuid::new_v4();
        let form = BlastForm {
            segment: "type".into(),
            segment_type: t.to_string(),
            body: "Hi".into(),
            ..Default::default()
        };
        assert_eq!(
            form.segment().expect("type"),
            Segment::SupportType { support_type_id: domain::types::SupportTypeId(t) }
        );
        let missing = BlastForm { segment_type: String::new(), ..form.clone() }.segment();
        assert!(
            matches!(missing, Err(domain::Error::Invalid { field, .. }) if field == "segment.support_type_id")
        );
        let recent = BlastForm { segment: "recent".into(), days: "7".into(), ..form.clone() };
        assert_eq!(recent.segment().expect("recent"), Segment::Recent { days: 7 });
        let bad = BlastForm { segment: "recent".into(), days: "a week".into(), ..form.clone() }.segment();
        assert!(matches!(bad, Err(domain::Error::Invalid { field, .. }) if field == "segment.days"));
        let all = BlastForm { segment: "account".into(), rate_per_minute: "fast".into(), ..form }.into_new();
        assert!(matches!(all, Err(domain::Error::Invalid { field, .. }) if field == "rate_per_minute"));
    }

    #[test]
    fn progress_frames_move_a_blast_forward_only() {
        let now = chrono::Utc::now();
        let id = BlastId(uuid::Uuid::new_v4());
        let blast = domain::blasts::Blast {
            id,
            account_id: domain::types::AccountId(uuid::Uuid::new_v4()),
            created_by: domain::types::AgentId(uuid::Uuid::new_v4()),
            body: "Hi".into(),
            segment: Segment::Account,
            support_type_id: domain::types::SupportTypeId(uuid::Uuid::new_v4()),
            attachment_id: None,
            status: BlastStatus::Running,
            rate_per_minute: 600,
            total: 4,
            sent: 1,
            failed: 0,
            skipped: 0,
            created_at: now,
            started_at: Some(now),
            finished_at: None,
        };
        let mut list = vec![BlastProgress { blast, pending: 3, email_pending: 0 }];
        assert!(apply_progress(&mut list, id, BlastStatus::Running, (4, 3, 0, 0)));
        assert_eq!((list[0].blast.sent, list[0].pending), (3, 1));
        // An older frame changes nothing.
        assert!(apply_progress(&mut list, id, BlastStatus::Running, (4, 2, 0, 0)));
        assert_eq!(list[0].blast.sent, 3);
        assert!(apply_progress(&mut list, id, BlastStatus::Done, (4, 4, 0, 0)));
        assert_eq!((list[0].blast.status, list[0].pending), (BlastStatus::Done, 0));
        assert!(!apply_progress(&mut list, BlastId(uuid::Uuid::new_v4()), BlastStatus::Done, (1, 1, 0, 0)));
    }
}
