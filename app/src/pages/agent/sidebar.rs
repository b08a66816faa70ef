//! The right pane: the customer, their other sessions, notes and tags, and
//! the actions on the open session (transfer, escalate, resolve).

use domain::{
    sessions::Session,
    types::*,
    workspace::{TransferTargets, customer_label},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::{Pane, Ws, api, clock};
use crate::{AppError, components::alert::ErrorAlert, components::dialog::Modal};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const BUTTON: &str = "rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-60";
const PRIMARY: &str = "rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60";
const CARD: &str = "space-y-2 border-b border-slate-200 p-4";
const H2: &str = "text-xs font-semibold uppercase tracking-wide text-slate-600";

#[component]
pub fn Sidebar(details: Resource<Result<Option<api::SessionDetails>, AppError>>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <div class="min-h-0 flex-1 overflow-y-auto">
            <Transition fallback=|| view! { <div class="p-4"><super::ListSkeleton/></div> }>
                {move || details.get().map(|r| match r {
                    Ok(Some(d)) => {
                        let id = d.session_id;
                        ws.details.set(Some(d));
                        view! { <Loaded id/> }.into_any()
                    }
                    Ok(None) => view! {
                        <p class="p-4 text-sm text-slate-600">
                            "The customer, their history, notes and tags show here when a conversation is open."
                        </p>
                    }.into_any(),
                    // The conversation pane says what went wrong.
                    Err(AppError::Domain(domain::Error::NotFound { .. })) => ().into_any(),
                    Err(e) => view! {
                        <div class="p-4"><ErrorAlert title="Cannot load the details" message=e.user_message()/></div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn Loaded(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let with = move |f: fn(&api::SessionDetails) -> String| {
        move || ws.details.with(|d| d.as_ref().map(f).unwrap_or_default())
    };
    let email = move || ws.details.with(|d| d.as_ref().and_then(|d| d.customer.email.clone()));
    view! {
        <div class="border-b border-slate-200 p-2 lg:hidden">
            <button type="button" on:click=move |_| ws.pane.set(Pane::Conversation)
                class=format!("rounded-lg px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50 {FOCUS}")>
                "← Conversation"
            </button>
        </div>
        <section class=CARD aria-labelledby="customer-heading">
            <h2 id="customer-heading" class=H2>"Customer"</h2>
            <p class="text-sm font-medium text-slate-900">
                {with(|d| customer_label(d.customer.name.as_deref(), d.customer.email.as_deref()))}
            </p>
            {move || email().map(|e| view! { <p class="break-all text-sm text-slate-600">{e}</p> })}
            {move || ws.details.with(|d| d.as_ref().and_then(|d| d.customer.erased_at)).map(|at| view! {
                <p class="text-sm text-slate-600" data-testid="customer-erased">
                    "Their data was erased on " {at.format("%Y-%m-%d").to_string()} "."
                </p>
            })}
            <Show when=move || ws.details.with(|d| d.as_ref().is_some_and(|d| d.may_erase && d.customer.erased_at.is_none()))>
                <EraseCustomer id/>
            </Show>
        </section>
        <Actions id/>
        <section class=CARD aria-labelledby="previous-heading">
            <h2 id="previous-heading" class=H2>"Previous sessions"</h2>
            {move || ws.details.with(|d| {
                let previous = d.as_ref().map(|d| d.previous.clone()).unwrap_or_default();
                if previous.is_empty() {
                    view! { <p class="text-sm text-slate-600">"No other sessions with this customer."</p> }.into_any()
                } else {
                    view! {
                        <ul class="space-y-1">
                            {previous.into_iter().map(|p| view! {
                                <li>
                                    <a href=format!("/agent/sessions/{}", p.id)
                                        class=format!("block rounded-lg px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50 {FOCUS}")>
                                        {p.support_type} " · " {p.status.to_string()}
                                        <span class="block text-xs text-slate-600">{p.created_at.format("%Y-%m-%d %H:%M").to_string()}</span>
                                    </a>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        </section>
        <Notes id/>
        <Tags id/>
    }
    .into_any()
}

#[component]
fn Notes(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    // A form that also works without JavaScript.
    let add = ServerAction::<api::AddNote>::new();
    let draft = RwSignal::new(String::new());
    Effect::new(move |_| {
        if add.version().get() == 0 {
            return;
        }
        match add.value().get_untracked() {
            Some(Ok(_)) => {
                draft.set(String::new());
                ws.toasts.success("Note added.");
                ws.refresh_details();
            }
            Some(Err(e)) => ws.toasts.error(format!("The note was not added. {}", e.user_message())),
            None => {}
        }
    });
    let author = move |a: AgentId| {
        ws.details.with(|d| {
            d.as_ref()
                .and_then(|d| d.participants.iter().find(|p| p.id == a).map(|p| p.display_name.clone()))
                .unwrap_or_else(|| "An agent".to_owned())
        })
    };
    view! {
        <section class=CARD aria-labelledby="notes-heading">
            <h2 id="notes-heading" class=H2>"Notes"</h2>
            <ul class="space-y-2" data-testid="notes">
                {move || ws.details.with(|d| d.as_ref().map(|d| d.notes.clone()).unwrap_or_default()).into_iter().map(|n| view! {
                    <li class="rounded-lg bg-amber-50 px-3 py-2 text-sm text-slate-800">
                        <p class="whitespace-pre-wrap break-words">{n.body}</p>
                        <p class="mt-1 text-xs text-slate-600">{author(n.author_id)} " · " {clock(n.created_at)}</p>
                    </li>
                }).collect_view()}
            </ul>
            <Show when=move || ws.details.with(|d| d.as_ref().is_some_and(|d| d.notes.is_empty()))>
                <p class="text-sm text-slate-600">"No notes yet. Notes are for agents only."</p>
            </Show>
            <ActionForm action=add attr:class="space-y-2">
                <input type="hidden" name="id" value=id.to_string()/>
                <label for="new-note" class="sr-only">"New note"</label>
                <textarea id="new-note" name="body" rows="2" required maxlength="10000" placeholder="Add a note for agents"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))
                    class=format!("w-full rounded-lg border border-slate-300 px-3 py-2 text-sm placeholder:text-slate-500 {FOCUS}")>
                </textarea>
                <button type="submit" disabled=move || add.pending().get() class=format!("{BUTTON} {FOCUS}")>"Add note"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn Tags(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let add = ServerAction::<api::AddTag>::new();
    let draft = RwSignal::new(String::new());
    let set_tags = move |tags: Vec<domain::conversation::SessionTag>| {
        ws.details.update(|d| {
            if let Some(d) = d.as_mut().filter(|d| d.session_id == id) {
                d.tags = tags;
            }
        });
    };
    Effect::new(move |_| {
        if add.version().get() == 0 {
            return;
        }
        match add.value().get_untracked() {
            Some(Ok(view)) => {
                draft.set(String::new());
                set_tags(view.tags);
                ws.toasts.success("Tag added.");
            }
            Some(Err(e)) => ws.toasts.error(format!("The tag was not added. {}", e.user_message())),
            None => {}
        }
    });
    let remove = move |tag: TagId, name: String| {
        leptos::task::spawn_local(async move {
            match api::remove_tag(id, tag).await {
                Ok(view) => {
                    set_tags(view.tags);
                    ws.toasts.success(format!("Tag “{name}” removed."));
                }
                Err(e) => ws.toasts.error(format!("The tag was not removed. {}", e.user_message())),
            }
        });
    };
    view! {
        <section class=CARD aria-labelledby="tags-heading">
            <h2 id="tags-heading" class=H2>"Tags"</h2>
            <ul class="flex flex-wrap gap-2" data-testid="tags">
                {move || ws.details.with(|d| d.as_ref().map(|d| d.tags.clone()).unwrap_or_default()).into_iter().map(|t| {
                    let (tag, name) = (t.tag_id, t.name.clone());
                    view! {
                        <li class="flex items-center gap-1 rounded-lg bg-slate-100 py-0.5 pl-2 pr-1 text-xs text-slate-800">
                            <span>{t.name.clone()}</span>
                            <button type="button" aria-label=format!("Remove tag {}", t.name)
                                on:click=move |_| remove(tag, name.clone())
                                class=format!("rounded px-1 text-slate-600 hover:bg-slate-200 hover:text-slate-900 {FOCUS}")>
                                "×"
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || ws.details.with(|d| d.as_ref().is_some_and(|d| d.tags.is_empty()))>
                <p class="text-sm text-slate-600">"No tags yet."</p>
            </Show>
            <ActionForm action=add attr:class="flex gap-2">
                <input type="hidden" name="id" value=id.to_string()/>
                <label for="new-tag" class="sr-only">"New tag"</label>
                <input id="new-tag" name="name" type="text" required maxlength="63" placeholder="Add a tag"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))
                    class=format!("min-w-0 flex-1 rounded-lg border border-slate-300 px-2 py-1 text-sm placeholder:text-slate-500 {FOCUS}")/>
                <button type="submit" disabled=move || add.pending().get() class=format!("{BUTTON} {FOCUS}")>"Add tag"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// After our own action: the session moved; leave it if it is no longer ours.
fn after_action(ws: Ws, s: &Session, navigate: &impl Fn(&str, leptos_router::NavigateOptions)) {
    ws.apply_session(s);
    let ours =
        s.status == SessionStatus::Active && s.owner_id.is_some() && s.owner_id == ws.me.get_untracked();
    if !ours && ws.conversation.with_untracked(|c| c.as_ref().is_some_and(|c| !c.supervises)) {
        navigate("/agent", Default::default());
    }
}

#[component]
fn Actions(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let navigate = use_navigate();
    let can_act = move || {
        let me = ws.me.get();
        let supervises = ws.conversation.with(|c| c.as_ref().is_some_and(|c| c.supervises));
        ws.current.with(|c| {
            c.as_ref().is_some_and(|c| {
                c.id == id
                    && (c.status == SessionStatus::Active && me.is_some() && c.owner_id == me
                        || supervises && c.status.is_open())
            })
        })
    };
    let transfer_open = RwSignal::new(false);
    let resolve_open = RwSignal::new(false);
    let escalating = RwSignal::new(false);
    let escalate = {
        let navigate = navigate.clone();
        move |_| {
            escalating.set(true);
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                match api::escalate(id).await {
                    Ok(s) => {
                        ws.toasts.success(
                            if s.support_type_id
                                != ws.current.with_untracked(|c| {
                                    c.as_ref().map_or(s.support_type_id, |c| c.support_type_id)
                                })
                            {
                                "Session escalated to the next team's queue.".to_owned()
                            } else {
                                format!("Session escalated: priority is now {}.", s.priority)
                            },
                        );
                        after_action(ws, &s, &navigate);
                    }
                    Err(e) => ws.toasts.error(format!("The session was not escalated. {}", e.user_message())),
                }
                escalating.set(false);
            });
        }
    };
    view! {
        <Show when=can_act>
            <section class=CARD aria-labelledby="actions-heading">
                <h2 id="actions-heading" class=H2>"Actions"</h2>
                <div class="flex flex-wrap gap-2">
                    <button type="button" on:click=move |_| transfer_open.set(true) class=format!("{BUTTON} {FOCUS}")>"Transfer"</button>
                    <button type="button" on:click=escalate.clone() disabled=move || escalating.get() class=format!("{BUTTON} {FOCUS}")>"Escalate"</button>
                    <button type="button" on:click=move |_| resolve_open.set(true) class=format!("{PRIMARY} {FOCUS} focus-visible:ring-offset-2")>"Resolve"</button>
                </div>
            </section>
        </Show>
        <TransferDialog id open=transfer_open done=Callback::new({
            let navigate = navigate.clone();
            move |(s, label): (Session, String)| {
                ws.toasts.success(format!("Session transferred to {label}."));
                after_action(ws, &s, &navigate);
            }
        })/>
        <ResolveDialog id open=resolve_open/>
    }
    .into_any()
}

/// Moves a session to an agent or a support type's queue (the `reassign`
/// operation): in the workspace, and from the live queue monitor. `done`
/// gets the moved session and the target's name. `subject` names the
/// session (its customer and type) where the dialog opens away from it, as
/// on the monitor, whose list moves while the supervisor reads it.
#[component]
pub fn TransferDialog(
    id: SessionId,
    open: RwSignal<bool>,
    done: Callback<(Session, String)>,
    #[prop(optional)] subject: Option<String>,
) -> impl IntoView {
    let targets = RwSignal::new(None::<Result<TransferTargets, AppError>>);
    let choice = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let select = NodeRef::<leptos::html::Select>::new();
    // Load the targets each time the dialog opens: presence changes.
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        targets.set(None);
        choice.set(String::new());
        error.set(None);
        leptos::task::spawn_local(async move {
            targets.set(Some(api::load_transfer_targets(id).await));
            // The dialog opened on its first control; now that the choice
            // is there, start on it.
            request_animation_frame(move || {
                if let Some(select) = select.get_untracked() {
                    let _ = select.focus();
                }
            });
        });
    });
    let label_of = move |value: &str| {
        targets.with_untracked(|t| {
            let t = t.as_ref()?.as_ref().ok()?;
            t.agents
                .iter()
                .find(|a| format!("agent:{}", a.id) == value)
                .map(|a| a.display_name.clone())
                .or_else(|| {
                    t.support_types
                        .iter()
                        .find(|s| format!("type:{}", s.id) == value)
                        .map(|s| format!("the {} queue", s.name))
                })
        })
    };
    let confirm = move |_| {
        let target = choice.get_untracked();
        if target.is_empty() {
            error.set(Some("Choose an agent or a support type.".to_owned()));
            return;
        }
        let label = label_of(&target).unwrap_or_else(|| "the chosen target".to_owned());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::transfer(id, target).await {
                Ok(s) => {
                    open.set(false);
                    done.run((s, label));
                }
                Err(e) => error.set(Some(e.user_message())),
            }
            busy.set(false);
        });
    };
    view! {
        <Modal open title="Transfer session" id="transfer-dialog">
            {subject.map(|subject| view! {
                <p class="text-sm font-medium text-slate-900" data-testid="transfer-subject">{subject}</p>
            })}
            <p class="text-sm text-slate-600">"An agent gets the session at once; a support type puts it in that queue."</p>
            {move || match targets.get() {
                None => view! { <div class="h-9 animate-pulse rounded-lg bg-slate-100" aria-busy="true" aria-label="Loading"></div> }.into_any(),
                Some(Err(e)) => view! { <ErrorAlert title="Cannot list where to transfer" message=e.user_message()/> }.into_any(),
                Some(Ok(t)) => view! {
                    <div class="space-y-1">
                        <label for="transfer-to" class="text-sm font-medium text-slate-900">"Transfer to"</label>
                        <select node_ref=select id="transfer-to" aria-label="Transfer to" on:change=move |ev| { choice.set(event_target_value(&ev)); error.set(None); }
                            class=format!("block w-full rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm {FOCUS}")>
                            <option value="">"Choose an agent or a support type…"</option>
                            <optgroup label="Agents">
                                {t.agents.is_empty().then(|| view! {
                                    <option value="" disabled=true>"No other agent serves this type"</option>
                                })}
                                {t.agents.into_iter().map(|a| {
                                    let note = match (a.available(), a.presence) {
                                        (true, _) => String::new(),
                                        (false, Presence::Online) => " (no room)".to_owned(),
                                        (false, p) => format!(" ({})", super::presence_label(p).to_lowercase()),
                                    };
                                    let (value, unavailable) = (format!("agent:{}", a.id), !a.available());
                                    view! { <option value=value disabled=unavailable>{a.display_name} {note}</option> }
                                }).collect_view()}
                            </optgroup>
                            <optgroup label="Support types">
                                {t.support_types.into_iter().map(|s| view! {
                                    <option value=format!("type:{}", s.id)>{s.name}</option>
                                }).collect_view()}
                            </optgroup>
                        </select>
                    </div>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-700">{e}</p> })}
            <div class="flex justify-end gap-2">
                <button type="button" on:click=move |_| open.set(false) class=format!("{BUTTON} {FOCUS}")>"Cancel"</button>
                <button type="button" on:click=confirm disabled=move || busy.get() class=format!("{PRIMARY} {FOCUS} focus-visible:ring-offset-2")>
                    "Transfer session"
                </button>
            </div>
        </Modal>
    }
    .into_any()
}

/// An admin's button and dialog to erase the customer's data.
#[component]
fn EraseCustomer(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let open = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let name = move || {
        ws.details.with(|d| {
            d.as_ref().map(|d| customer_label(d.customer.name.as_deref(), d.customer.email.as_deref()))
        })
    };
    let confirm = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::erase_customer(id).await {
                Ok(api::ErasedView { erasure: e, .. }) => {
                    open.set(false);
                    ws.toasts.success(format!(
                        "Erased: {} message{}, {} note{} and {} file{} across {} session{}.",
                        e.messages,
                        plural(e.messages),
                        e.notes,
                        plural(e.notes),
                        e.attachments,
                        plural(e.attachments),
                        e.sessions,
                        plural(e.sessions)
                    ));
                    ws.refresh_details();
                    ws.reload_conversation();
                }
                Err(e) => error.set(Some(e.user_message())),
            }
            busy.set(false);
        });
    };
    view! {
        <button type="button" on:click=move |_| { error.set(None); open.set(true); }
            class=format!("rounded-lg px-2 py-1 text-sm text-rose-700 hover:bg-rose-50 {FOCUS}")>
            "Erase customer data…"
        </button>
        <Modal open title="Erase customer data" id="erase-dialog">
            <p class="text-sm text-slate-700">
                "This removes " <strong>{name}</strong> "'s name and e-mail, the text of every message and note in "
                "their sessions, their files and the mail about them. The sessions stay, without their words, so "
                "that reports keep counting them. This cannot be undone."
            </p>
            {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-700">{e}</p> })}
            <div class="flex justify-end gap-2">
                <button type="button" on:click=move |_| open.set(false) class=format!("{BUTTON} {FOCUS}")>"Cancel"</button>
                <button type="button" on:click=confirm disabled=move || busy.get()
                    class=format!("rounded-lg bg-rose-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-rose-700 disabled:opacity-60 {FOCUS} focus-visible:ring-offset-2")>
                    "Erase their data"
                </button>
            </div>
        </Modal>
    }
    .into_any()
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[component]
fn ResolveDialog(id: SessionId, open: RwSignal<bool>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let navigate = use_navigate();
    let choice = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let required = move || ws.conversation.with(|c| c.as_ref().is_some_and(|c| c.reason_required));
    Effect::new(move |_| {
        if open.get() {
            choice.set(String::new());
            error.set(None);
        }
    });
    let confirm = move |_| {
        let reason = choice.get_untracked();
        if reason.is_empty() && required() {
            error.set(Some("Choose a resolution reason: this support type asks for one.".to_owned()));
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::resolve(id, Some(reason).filter(|r| !r.is_empty())).await {
                Ok(s) => {
                    open.set(false);
                    ws.toasts.success("Session resolved.");
                    after_action(ws, &s, &navigate);
                }
                Err(e) => error.set(Some(e.user_message())),
            }
            busy.set(false);
        });
    };
    view! {
        <Modal open title="Resolve session" id="resolve-dialog">
            <div class="space-y-1">
                <label for="resolution-reason" class="text-sm font-medium text-slate-900">
                    "Resolution reason" {move || (!required()).then_some(" (optional)")}
                </label>
                <select id="resolution-reason" aria-label="Resolution reason"
                    prop:value=move || choice.get()
                    on:change=move |ev| { choice.set(event_target_value(&ev)); error.set(None); }
                    class=format!("block w-full rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm {FOCUS}")>
                    <option value="">{move || if required() { "Choose a reason…" } else { "No reason" }}</option>
                    {move || ws.conversation.with(|c| c.as_ref().map(|c| c.reasons.clone()).unwrap_or_default()).into_iter().map(|r| view! {
                        <option value=r.id.to_string()>{r.label}</option>
                    }).collect_view()}
                </select>
            </div>
            {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-700">{e}</p> })}
            <div class="flex justify-end gap-2">
                <button type="button" on:click=move |_| open.set(false) class=format!("{BUTTON} {FOCUS}")>"Cancel"</button>
                <button type="button" on:click=confirm disabled=move || busy.get() class=format!("{PRIMARY} {FOCUS} focus-visible:ring-offset-2")>
                    "Resolve session"
                </button>
            </div>
        </Modal>
    }
    .into_any()
}
