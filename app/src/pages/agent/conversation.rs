//! The middle pane: the open conversation's transcript (paged back with
//! "Load earlier"), the customer's typing indicator, and the composer with
//! canned replies. Sending is idempotent: each message carries a client
//! message id (uuid v4), shown at once and reconciled when it is stored.

use domain::{config::CannedResponse, live::ClientFrame, types::*, workspace::customer_label};
use leptos::{html, prelude::*};

use super::{Delivery, Entry, Pane, Ws, api, clock};
use crate::{
    AppError,
    components::{
        alert::ErrorAlert,
        attachments::{AttachButton, MessageFiles, Tray, TrayView},
    },
    live::LiveLink,
};

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
/// "I am typing" is sent at most this often while typing…
const TYPING_EVERY_MS: f64 = 3_000.0;
/// …and "I stopped" after this long without a keystroke.
const TYPING_IDLE_MS: u64 = 4_000;
/// How many canned replies the picker lists.
const CANNED_SHOWN: usize = 8;

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

#[component]
pub fn ConversationPane(
    conversation: Resource<Result<Option<api::ConversationView>, AppError>>,
) -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <Transition fallback=ConversationSkeleton>
            {move || conversation.get().map(|r| match r {
                Ok(Some(v)) => {
                    ws.seed_conversation(&v);
                    view! { <Loaded id=v.session.id/> }.into_any()
                }
                Ok(None) => view! {
                    <div class="flex flex-1 flex-col items-center justify-center gap-2 p-8 text-center">
                        <h1 class="text-base font-semibold text-slate-900">"No conversation open"</h1>
                        <p class="max-w-sm text-sm text-slate-600">
                            "Open a session from your inbox or the waiting queue (j and k move, Enter opens)."
                        </p>
                    </div>
                }.into_any(),
                Err(e) => {
                    let message = match &e {
                        AppError::Domain(domain::Error::NotFound { .. }) => {
                            "This session does not exist, or it is not in your support types. Pick one from your inbox.".to_owned()
                        }
                        e => e.user_message(),
                    };
                    view! {
                        <div class="p-4">
                            <BackToList/>
                            <ErrorAlert title="Cannot open this conversation" message/>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ConversationSkeleton() -> impl IntoView {
    view! {
        <div class="space-y-4 p-4" aria-busy="true" aria-label="Loading the conversation">
            <div class="h-6 w-1/3 animate-pulse rounded bg-slate-200"></div>
            {(0..5).map(|i| {
                let side = if i % 2 == 0 { "mr-auto" } else { "ml-auto" };
                view! { <div class=format!("h-10 w-2/3 animate-pulse rounded-lg bg-slate-200 {side}")></div> }
            }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn BackToList() -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <button type="button" on:click=move |_| ws.pane.set(Pane::List)
            class=format!("mb-2 rounded-lg px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50 lg:hidden {FOCUS}")>
            "← Sessions"
        </button>
    }
    .into_any()
}

/// Whether the caller may write into the open session, and if not, why.
fn reply_block(ws: Ws) -> Option<&'static str> {
    let me = ws.me.get();
    let supervises = ws.conversation.with(|c| c.as_ref().is_some_and(|c| c.supervises));
    ws.current.with(|c| {
        let c = c.as_ref()?;
        Some(match c.status {
            SessionStatus::Resolved => "This session is resolved.",
            SessionStatus::Abandoned => "The customer left this session.",
            _ if supervises || (me.is_some() && c.owner_id == me) => return None,
            // A person who replies in a bot's session takes it over.
            SessionStatus::Active if c.with_bot => return None,
            SessionStatus::Queued => "This session is waiting in the queue. Pick it to reply.",
            SessionStatus::Active => "Another agent is working on this session.",
        })
    })
}

#[component]
fn Loaded(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let brief = move |f: fn(&domain::live::SessionBrief) -> String| {
        move || ws.current.with(|c| c.as_ref().map(f).unwrap_or_default())
    };
    let name = move || {
        let email = ws.conversation.with(|c| c.as_ref().and_then(|c| c.customer_email.clone()));
        ws.current
            .with(|c| customer_label(c.as_ref().and_then(|c| c.customer_name.as_deref()), email.as_deref()))
    };
    view! {
        <header class="flex items-center gap-3 border-b border-slate-200 bg-white px-4 py-3">
            <div class="lg:hidden"><BackToList/></div>
            <div class="min-w-0 flex-1">
                <h1 class="truncate text-base font-semibold text-slate-900" data-testid="customer-name">{name}</h1>
                <p class="truncate text-sm text-slate-600">
                    {brief(|b| b.support_type.clone())} " · " {brief(|b| b.status.to_string())}
                    {brief(|b| b.assigned_at.map(|a| format!(" · since {}", clock(a))).unwrap_or_default())}
                    {brief(|b| if b.priority > 0 { format!(" · priority {}", b.priority) } else { String::new() })}
                </p>
            </div>
            <button type="button" on:click=move |_| ws.pane.set(Pane::Details)
                class=format!("rounded-lg border border-slate-300 px-3 py-1 text-sm text-slate-700 hover:bg-slate-50 lg:hidden {FOCUS}")>
                "Details"
            </button>
        </header>
        {move || ws.current.with(|c| {
            c.as_ref().filter(|c| c.with_bot && c.status == SessionStatus::Active).map(|c| {
                let bot = c.owner_name.clone().unwrap_or_else(|| "A bot".to_owned());
                view! {
                    <p role="status" data-testid="bot-handled"
                        class="border-b border-indigo-100 bg-indigo-50 px-4 py-2 text-sm text-indigo-900">
                        {format!("{bot} (bot) is handling this chat. Your reply takes it over.")}
                    </p>
                }
            })
        })}
        <Transcript id/>
        <p data-testid="typing" class="min-h-5 px-4 text-xs italic text-slate-600" aria-live="polite">
            {move || ws.typing.get()}
        </p>
        <BotDrafts id/>
        <Composer id/>
    }
    .into_any()
}

/// The replies the session's bot drafted (mode `drafts`): each waits for a
/// person to send it as the bot (as written or edited) or to discard it.
/// The list is the details' and follows them live (`bot.drafted`).
#[component]
fn BotDrafts(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let drafts = Memo::new(move |_| {
        ws.details
            .with(|d| d.as_ref().filter(|d| d.session_id == id).map(|d| d.drafts.clone()).unwrap_or_default())
    });
    move || {
        let list = drafts.get();
        (!list.is_empty()).then(|| {
            view! {
                <section aria-label="Drafts by the bot" data-testid="bot-drafts"
                    class="mx-4 mb-2 space-y-2 rounded-xl border border-amber-200 bg-amber-50 p-3">
                    {list.into_iter().map(|d| view! { <DraftCard id draft=d/> }).collect_view()}
                </section>
            }
        })
    }
}

#[component]
fn DraftCard(id: SessionId, draft: domain::bot::Draft) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let text = RwSignal::new(draft.body.clone());
    let busy = RwSignal::new(false);
    let draft_id = draft.id;
    let decide = move |send: bool| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let body = send.then(|| text.get_untracked());
        leptos::task::spawn_local(async move {
            match api::decide_draft(id, draft_id, send, body).await {
                Ok(()) => {
                    ws.toasts.success(if send { "Sent as the bot." } else { "Draft discarded." }.to_owned())
                }
                Err(e) => ws.toasts.error(format!(
                    "The draft was not {}. {}",
                    if send { "sent" } else { "discarded" },
                    e.user_message()
                )),
            }
            busy.try_set(false);
            ws.refresh_details();
        });
    };
    let about = format!(
        "{} drafted {}{}",
        draft.bot_name,
        match draft.kind.as_str() {
            "greeting" => "a greeting",
            "clarify" => "a question",
            _ => "an answer",
        },
        draft.confidence.map(|c| format!(" (confidence {:.2})", c)).unwrap_or_default()
    );
    let label = format!("draft-{draft_id}");
    view! {
        <div class="space-y-2" data-testid="bot-draft">
            <label for=label.clone() class="block text-xs font-medium text-amber-900">{about}</label>
            <textarea id=label rows="3" prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                class=format!("block w-full rounded-lg border border-amber-300 bg-white px-3 py-2 text-sm text-slate-900 {FOCUS}")></textarea>
            <div class="flex gap-2">
                <button type="button" disabled=move || busy.get() on:click=move |_| decide(true)
                    class=format!("rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-50 {FOCUS}")>
                    "Send as the bot"
                </button>
                <button type="button" disabled=move || busy.get() on:click=move |_| decide(false)
                    class=format!("rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50 {FOCUS}")>
                    "Discard"
                </button>
            </div>
        </div>
    }
}

#[component]
fn Transcript(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let scroller = NodeRef::<html::Div>::new();
    // Follow new messages while the agent is at the bottom; keep the place
    // when earlier ones are loaded above.
    let stick = StoredValue::new(true);
    let keep_from_bottom = StoredValue::new(None::<i32>);
    let loading = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        ws.transcript.with(Vec::len);
        let Some(el) = scroller.get() else { return };
        if let Some(from_bottom) = keep_from_bottom.get_value() {
            keep_from_bottom.set_value(None);
            el.set_scroll_top(el.scroll_height() - from_bottom);
        } else if stick.get_value() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            stick.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 80);
        }
    };
    let load_earlier = move |_| {
        let Some(cursor) = ws.next_cursor.get_untracked() else { return };
        loading.set(true);
        leptos::task::spawn_local(async move {
            match api::history(id, Some(cursor)).await {
                Ok(page) => {
                    if ws.transcript_of.get_untracked() == Some(id) {
                        if let Some(el) = scroller.get_untracked() {
                            keep_from_bottom.set_value(Some(el.scroll_height() - el.scroll_top()));
                        }
                        ws.transcript.update(|t| {
                            for m in page.messages {
                                super::upsert(t, m, None);
                            }
                        });
                        ws.next_cursor.set(page.next_cursor);
                    }
                }
                Err(e) => ws.toasts.error(format!("Could not load earlier messages. {}", e.user_message())),
            }
            loading.set(false);
        });
    };
    // The newest agent message the customer has seen.
    let seen = Memo::new(move |_| {
        let read = ws.customer_read.get();
        ws.transcript.with(|t| {
            t.iter()
                .filter(|e| matches!(e.kind, SenderKind::Agent | SenderKind::Bot))
                .filter_map(|e| e.id)
                .filter(|i| *i <= read)
                .max()
        })
    });
    view! {
        <div node_ref=scroller on:scroll=on_scroll class="min-h-0 flex-1 overflow-y-auto" aria-label="Transcript" role="region" tabindex="0">
            <Show when=move || ws.next_cursor.with(Option::is_some)>
                <div class="flex justify-center pt-3">
                    <button type="button" on:click=load_earlier disabled=move || loading.get()
                        class=format!("rounded-lg border border-slate-300 bg-white px-3 py-1 text-sm text-slate-700 hover:bg-slate-50 disabled:opacity-60 {FOCUS}")>
                        {move || if loading.get() { "Loading…" } else { "Load earlier" }}
                    </button>
                </div>
            </Show>
            <Show when=move || ws.transcript.with(Vec::is_empty)>
                <p class="p-6 text-center text-sm text-slate-600">"No messages yet. Say hello."</p>
            </Show>
            <ol data-testid="transcript" class="space-y-3 px-4 py-4">
                <For each=move || ws.transcript.get()
                    // The text too: a stored message changes in place only when erased.
                    key=|e| (e.id, e.client_id.clone(), match &e.delivery { Delivery::Sent => 0, Delivery::Sending => 1, Delivery::Failed(_) => 2 }, e.body.clone(), e.attachments.len())
                    let:entry>
                    <MessageRow id entry seen/>
                </For>
            </ol>
        </div>
    }
    .into_any()
}

#[component]
fn MessageRow(id: SessionId, entry: Entry, seen: Memo<Option<i64>>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let mine = (entry.agent.is_some() && entry.agent == ws.me.get_untracked()) || entry.id.is_none();
    let who = match entry.kind {
        SenderKind::Customer => ws
            .current
            .with_untracked(|c| customer_label(c.as_ref().and_then(|c| c.customer_name.as_deref()), None)),
        SenderKind::System => "System".to_owned(),
        _ if mine => "You".to_owned(),
        SenderKind::Bot => entry.sender_name.clone().unwrap_or_else(|| "Bot".to_owned()),
        SenderKind::Agent => entry
            .sender_name
            .clone()
            .or_else(|| entry.agent.and_then(|a| ws.names.with_untracked(|n| n.get(&a).cloned())))
            .unwrap_or_else(|| "Agent".to_owned()),
    };
    let (row, bubble, meta_align) = match entry.kind {
        SenderKind::Customer => {
            ("flex justify-start", "border border-slate-200 bg-white text-slate-900", "text-left")
        }
        SenderKind::System => ("flex justify-center", "bg-slate-200 text-slate-800", "text-center"),
        _ => ("flex justify-end", "bg-indigo-600 text-white", "text-right"),
    };
    let message_id = entry.id;
    let delivery = entry.delivery.clone();
    let time = entry.at.map(clock).unwrap_or_default();
    let retry = {
        let (client_id, body) = (entry.client_id.clone(), entry.body.clone());
        let files: Vec<AttachmentId> = entry.attachments.iter().map(|a| a.id).collect();
        move |_| {
            if let Some(cid) = client_id.clone() {
                deliver(ws, id, cid, body.clone(), files.clone());
            }
        }
    };
    view! {
        <li class=row data-message-id=message_id.map(|i| i.to_string()) data-client-message-id=entry.client_id.clone()>
            <div class="max-w-[80%]">
                {(!entry.body.is_empty()).then(|| view! {
                    <div class=format!("whitespace-pre-wrap break-words rounded-lg px-3 py-2 text-sm {bubble}")>
                        <span class="sr-only">{who.clone()} ": "</span>
                        {entry.body.clone()}
                    </div>
                })}
                <MessageFiles attachments=entry.attachments.clone()/>
                <p class=format!("mt-1 text-xs text-slate-600 {meta_align}")>
                    {match delivery {
                        Delivery::Sent => view! {
                            <span aria-hidden="true">{who} " · " {time}</span>
                            {move || (message_id.is_some() && seen.get() == message_id).then_some(" · Seen")}
                        }.into_any(),
                        Delivery::Sending => view! { <span>"Sending…"</span> }.into_any(),
                        Delivery::Failed(why) => view! {
                            <span class="text-rose-700">"Not sent: " {why} " "</span>
                            <button type="button" on:click=retry
                                class=format!("rounded font-medium text-indigo-700 underline {FOCUS}")>"Retry"</button>
                        }.into_any(),
                    }}
                </p>
            </div>
        </li>
    }
    .into_any()
}

/// Sends (or re-sends) one message under its client message id.
fn deliver(ws: Ws, id: SessionId, client_id: String, body: String, files: Vec<AttachmentId>) {
    ws.transcript.update(|t| {
        if let Some(e) = t.iter_mut().find(|e| e.id.is_none() && e.client_id.as_deref() == Some(&client_id)) {
            e.delivery = Delivery::Sending;
        }
    });
    ws.outbox.push(move || async move {
        let files = (!files.is_empty()).then_some(files);
        match api::send_message(id, body, client_id.clone(), files).await {
            Ok(m) => ws.apply_message(m, None),
            Err(e) => ws.transcript.update(|t| {
                if let Some(p) =
                    t.iter_mut().find(|e| e.id.is_none() && e.client_id.as_deref() == Some(&client_id))
                {
                    p.delivery = Delivery::Failed(e.user_message());
                }
            }),
        }
    });
}

/// The canned replies matching what follows a leading `/`, if the draft is
/// a canned-reply query.
fn canned_matches(draft: &str, canned: &[CannedResponse]) -> Option<Vec<CannedResponse>> {
    let query = draft.strip_prefix('/')?;
    if query.chars().any(char::is_whitespace) {
        return None;
    }
    let q = query.to_lowercase();
    Some(
        canned
            .iter()
            .filter(|c| c.shortcut.to_lowercase().contains(&q) || c.title.to_lowercase().contains(&q))
            .take(CANNED_SHOWN)
            .cloned()
            .collect(),
    )
}

#[component]
fn Composer(id: SessionId) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let link = expect_context::<LiveLink>();
    let textarea = NodeRef::<html::Textarea>::new();
    let blocked = Memo::new(move |_| reply_block(ws));
    let tray = Tray::new(id, None);

    // Typing notices: "typing" at most every 3 s, "stopped" after 4 s idle.
    let last_typing = StoredValue::new(0.0_f64);
    let idle = StoredValue::new(None::<TimeoutHandle>);
    // Also runs at cleanup, when this component's values may be gone.
    let stop_typing = move || {
        if let Some(h) = idle.try_get_value().flatten() {
            h.clear();
            idle.try_set_value(None);
        }
        if last_typing.try_get_value().is_some_and(|t| t > 0.0) {
            last_typing.try_set_value(0.0);
            link.send(&ClientFrame::Typing { session_id: id, typing: false });
        }
    };
    let typed = move || {
        if ws.draft.with_untracked(|d| d.trim().is_empty()) {
            stop_typing();
            return;
        }
        let now = now_ms();
        if now - last_typing.get_value() >= TYPING_EVERY_MS {
            last_typing.set_value(now);
            link.send(&ClientFrame::Typing { session_id: id, typing: true });
        }
        if let Some(h) = idle.get_value() {
            h.clear();
        }
        idle.set_value(
            set_timeout_with_handle(stop_typing, std::time::Duration::from_millis(TYPING_IDLE_MS)).ok(),
        );
    };
    on_cleanup(stop_typing);

    // Canned replies: a leading `/` opens the picker.
    let canned = Memo::new(move |_| {
        ws.conversation.with(|c| c.as_ref().map(|c| c.canned.clone()).unwrap_or_default())
    });
    let dismissed = RwSignal::new(false);
    let active = RwSignal::new(0_usize);
    let matches = Memo::new(move |_| {
        if dismissed.get() {
            return None;
        }
        canned.with(|c| ws.draft.with(|d| canned_matches(d, c)))
    });
    let insert = move |c: CannedResponse| {
        ws.draft.set(c.body);
        dismissed.set(true);
        if let Some(t) = textarea.get_untracked() {
            let _ = t.focus();
        }
        typed();
    };

    // Suggested replies to the customer's newest message while it waits
    // for an answer: chips above the composer; a click (or Tab in an empty
    // composer, for the first) puts one in the draft to edit and send.
    // What became of each is logged: accepted, edited or dismissed.
    let waiting_on = Memo::new(move |_| {
        ws.transcript.with(|t| {
            t.iter()
                .rev()
                .find(|e| e.kind != SenderKind::System)
                .filter(|e| e.kind == SenderKind::Customer)
                .and_then(|e| e.id)
        })
    });
    let suggested = RwSignal::new(Vec::<domain::assist::Suggestion>::new());
    let chosen = StoredValue::new(None::<(i64, String)>);
    let record = move |suggestion: i64, outcome: domain::assist::Outcome| {
        leptos::task::spawn_local(async move {
            // Best effort: a lost outcome only thins the acceptance report.
            let _ = api::suggestion_outcome(id, suggestion, outcome.as_str().to_owned()).await;
        });
    };
    Effect::new(move |_| {
        let waiting = waiting_on.get();
        suggested.set(Vec::new());
        if waiting.is_none() || blocked.get_untracked().is_some() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(list) = api::suggestions(id).await
                && list.session_id == id
                && waiting_on.try_get_untracked().flatten() == waiting
            {
                suggested.try_set(list.items);
            }
        });
    });
    let use_suggestion = move |pick: domain::assist::Suggestion| {
        for other in suggested.get_untracked().iter().filter(|s| s.id != pick.id) {
            record(other.id, domain::assist::Outcome::Dismissed);
        }
        suggested.set(Vec::new());
        chosen.set_value(Some((pick.id, pick.body.trim().to_owned())));
        ws.draft.set(pick.body);
        if let Some(t) = textarea.get_untracked() {
            let _ = t.focus();
        }
        typed();
    };
    let dismiss_suggestions = move || {
        for s in suggested.get_untracked() {
            record(s.id, domain::assist::Outcome::Dismissed);
        }
        suggested.set(Vec::new());
    };

    let send = move || {
        if blocked.get_untracked().is_some() {
            return;
        }
        let body = ws.draft.get_untracked().trim().to_owned();
        if let Some((suggestion, offered)) = chosen.get_value()
            && !body.is_empty()
        {
            chosen.set_value(None);
            let outcome = if body == offered {
                domain::assist::Outcome::Accepted
            } else {
                domain::assist::Outcome::Edited
            };
            record(suggestion, outcome);
        }
        let files = tray.ready();
        if (body.is_empty() && files.is_empty()) || tray.uploading() {
            return;
        }
        tray.clear();
        stop_typing();
        let client_id = uuid::Uuid::new_v4().to_string();
        ws.transcript.update(|t| {
            t.push(Entry {
                id: None,
                client_id: Some(client_id.clone()),
                kind: SenderKind::Agent,
                agent: ws.me.get_untracked(),
                sender_name: None,
                body: body.clone(),
                at: None,
                delivery: Delivery::Sending,
                attachments: files.clone(),
            })
        });
        ws.draft.set(String::new());
        deliver(ws, id, client_id, body, files.iter().map(|a| a.id).collect());
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.is_composing() {
            return;
        }
        if let Some(list) = matches.get_untracked().filter(|m| !m.is_empty()) {
            let n = list.len();
            match ev.key().as_str() {
                "ArrowDown" => {
                    ev.prevent_default();
                    active.update(|a| *a = (*a + 1) % n);
                    return;
                }
                "ArrowUp" => {
                    ev.prevent_default();
                    active.update(|a| *a = (*a + n - 1) % n);
                    return;
                }
                "Enter" | "Tab" if !ev.shift_key() => {
                    ev.prevent_default();
                    if let Some(c) = list.get(active.get_untracked().min(n - 1)).cloned() {
                        insert(c);
                    }
                    return;
                }
                "Escape" => {
                    ev.prevent_default();
                    dismissed.set(true);
                    return;
                }
                _ => {}
            }
        }
        if ev.key() == "Tab"
            && !ev.shift_key()
            && ws.draft.with_untracked(|d| d.trim().is_empty())
            && let Some(first) = suggested.with_untracked(|s| s.first().cloned())
        {
            ev.prevent_default();
            use_suggestion(first);
            return;
        }
        if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            send();
        }
    };
    let option_id = |i: usize| format!("canned-{i}");
    view! {
        <div class="sticky bottom-0 border-t border-slate-200 bg-white p-3 lg:relative">
            {move || matches.get().map(|list| view! {
                <div class="absolute inset-x-3 bottom-full mb-2 max-h-64 overflow-y-auto rounded-lg border border-slate-200 bg-white shadow-lg">
                    {if list.is_empty() {
                        view! { <p class="px-3 py-2 text-sm text-slate-600">"No canned reply matches. Enter sends the text as it is."</p> }.into_any()
                    } else {
                        view! {
                            <ul id="canned-replies" role="listbox" aria-label="Canned replies" class="py-1">
                                {list.into_iter().enumerate().map(|(i, c)| {
                                    let chosen = c.clone();
                                    view! {
                                        <li id=option_id(i) role="option" aria-selected=move || (active.get() == i).to_string()
                                            on:mousedown=|ev| ev.prevent_default()
                                            on:click=move |_| insert(chosen.clone())
                                            class=move || format!("cursor-pointer px-3 py-2 text-sm {}",
                                                if active.get() == i { "bg-indigo-50" } else { "hover:bg-slate-50" })>
                                            <span class="font-medium text-slate-900">"/" {c.shortcut.clone()}</span>
                                            " " <span class="text-slate-700">{c.title.clone()}</span>
                                            <span class="block truncate text-slate-600">{domain::workspace::preview(&c.body)}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </div>
            })}
            <Show when=move || blocked.get().is_some()>
                <p class="mb-2 text-sm text-slate-600">{move || blocked.get()}</p>
            </Show>
            {move || suggested.with(|s| !s.is_empty()).then(|| view! {
                <div class="mb-2 flex flex-wrap items-center gap-2" role="group" aria-label="Suggested replies" data-testid="suggestions">
                    <span class="text-xs font-medium text-slate-600">"Suggested"</span>
                    {suggested.get().into_iter().enumerate().map(|(i, s)| {
                        let pick = s.clone();
                        view! {
                            <button type="button" title=s.body.clone() on:click=move |_| use_suggestion(pick.clone())
                                class=format!("max-w-xs truncate rounded-full border border-indigo-200 bg-indigo-50 px-3 py-1 text-left text-sm text-indigo-900 hover:bg-indigo-100 {FOCUS}")>
                                {s.title.clone()}
                                <span class="ml-1 text-xs text-indigo-800">{format!("{:.0}%", s.confidence * 100.0)}</span>
                                {(i == 0).then(|| view! { <kbd class="ml-1 rounded border border-indigo-200 px-1 text-xs text-indigo-800">"Tab"</kbd> })}
                            </button>
                        }
                    }).collect_view()}
                    <button type="button" aria-label="Dismiss the suggestions" on:click=move |_| dismiss_suggestions()
                        class=format!("rounded px-2 py-1 text-sm text-slate-600 hover:bg-slate-100 {FOCUS}")>
                        "Dismiss"
                    </button>
                </div>
            })}
            <TrayView tray/>
            <form class="flex items-end gap-2" on:submit=move |ev| { ev.prevent_default(); send(); }
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=tray.on_drop()>
                <AttachButton tray id="agent-attach"/>
                <textarea node_ref=textarea aria-label="Message" rows="2" maxlength="10000"
                    on:paste=tray.on_paste()
                    placeholder="Write a reply. / for canned replies."
                    disabled=move || blocked.get().is_some()
                    aria-autocomplete="list"
                    aria-controls=move || matches.with(|m| m.as_ref().is_some_and(|m| !m.is_empty())).then_some("canned-replies")
                    aria-activedescendant=move || matches.with(|m| m.as_ref().is_some_and(|m| !m.is_empty())).then(|| option_id(active.get()))
                    prop:value=move || ws.draft.get()
                    on:input=move |ev| {
                        ws.draft.set(event_target_value(&ev));
                        dismissed.set(false);
                        active.set(0);
                        typed();
                    }
                    on:keydown=on_keydown
                    class=format!("min-h-[2.75rem] flex-1 resize-y rounded-lg border border-slate-300 px-3 py-2 text-sm placeholder:text-slate-500 disabled:bg-slate-100 {FOCUS}")>
                </textarea>
                <button type="submit" disabled=move || blocked.get().is_some() || tray.uploading()
                    class=format!("rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 {FOCUS} focus-visible:ring-offset-2")>
                    {move || if tray.uploading() { "Uploading…" } else { "Send" }}
                </button>
            </form>
            <p class="mt-1 text-xs text-slate-600">"Enter sends · Shift+Enter adds a line"</p>
        </div>
    }
    .into_any()
}
