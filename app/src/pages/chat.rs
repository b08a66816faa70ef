//! `/chat/{support-type-slug}`: the customer's chat. A single column that
//! looks like a messenger: start form, place in the queue with an estimated
//! wait, "Dana joined", messages both ways with typing and "Seen", an
//! end-chat action and the rating form after resolution.
//!
//! The chat token lives in the browser's localStorage (per type), so the
//! transcript survives a reload; the live link replays what a dropped
//! network missed. Everything anyone typed is rendered as text.

use domain::{
    conversation::Message,
    csat::Csat,
    live::{ClientFrame, ServerFrame, SessionBrief, wait_in_words},
    support_types::PublicSupportType,
    types::{AttachmentId, SenderKind, SessionId, SessionStatus},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::{
    AppError,
    components::{
        alert::ErrorAlert,
        attachments::{AttachButton, Links, MessageFiles, Tray, TrayView, fetch_links},
    },
    live::LinkState,
    sending::InOrder,
};

/// Everything the chat page shows, for the holder of a chat token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatView {
    pub session: SessionBrief,
    /// Oldest first; the latest 200.
    pub messages: Vec<Message>,
    /// Display names of the agents who wrote, by message id.
    pub names: Vec<(i64, String)>,
    pub position: Option<(i64, i64)>,
    pub csat: Option<Csat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatStarted {
    pub token: String,
    pub state: ChatView,
}

/// The customer holding `token`, and their session.
#[cfg(feature = "ssr")]
async fn customer(token: &str) -> Result<(domain::actor::Actor, domain::actor::CustomerActor), AppError> {
    let pool = crate::ssr::pool()?;
    let c = domain::auth::authenticate_customer(&pool, token).await?.ok_or_else(|| {
        AppError::from(domain::Error::Unauthenticated {
            message: "this chat has ended or expired".to_owned(),
        })
    })?;
    Ok((domain::actor::Actor::Customer(c), c))
}

#[cfg(feature = "ssr")]
async fn load_state(
    pool: &sqlx::PgPool,
    actor: &domain::actor::Actor,
    id: SessionId,
) -> Result<ChatView, AppError> {
    use domain::{conversation, csat, live};
    let session = live::brief(pool, actor, id).await?;
    // The customer's view: names resolved in the one query, no agent ids.
    let mut page = conversation::history_for_customer(pool, actor, id, None, Some(200)).await?.items;
    page.reverse();
    let names = page.iter().filter_map(|m| Some((m.id, m.sender_name.clone()?))).collect();
    let messages = page
        .into_iter()
        .map(|m| Message {
            id: m.id,
            session_id: m.session_id,
            sender_kind: m.sender_kind,
            sender_agent_id: None,
            body: m.body,
            client_message_id: m.client_message_id,
            created_at: m.created_at,
            attachments: m.attachments,
        })
        .collect();
    let position = if session.status == SessionStatus::Queued {
        live::queue_position(pool, id).await?.map(|p| (p.position, p.eta_secs))
    } else {
        None
    };
    let csat = csat::get(pool, actor, id).await?;
    Ok(ChatView { session, messages, names, position, csat })
}

/// The public face of a support type (no sign-in).
#[server(endpoint = "chat/type")]
pub async fn chat_type(slug: String) -> Result<Option<PublicSupportType>, AppError> {
    let pool = crate::ssr::pool()?;
    Ok(domain::support_types::get_by_slug_public(&pool, &slug).await?.filter(|t| !t.archived))
}

/// Opens a chat; the token is the customer's key to it from now on.
#[server(endpoint = "chat/open")]
pub async fn chat_open(
    slug: String,
    name: Option<String>,
    email: Option<String>,
    message: String,
) -> Result<ChatStarted, AppError> {
    let pool = crate::ssr::pool()?;
    let blank = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let opened = domain::auth::open_chat(
        &pool,
        &slug,
        domain::auth::OpenChat {
            name: blank(name),
            email: blank(email),
            message: Some(message),
            identity: None,
            ip: crate::ssr::client_ip(),
        },
    )
    .await?;
    let (actor, _) = customer(&opened.token).await?;
    let state = load_state(&pool, &actor, opened.session.id).await?;
    Ok(ChatStarted { token: opened.token, state })
}

#[server(endpoint = "chat/state")]
pub async fn chat_state(token: String) -> Result<ChatView, AppError> {
    let (actor, c) = customer(&token).await?;
    load_state(&crate::ssr::pool()?, &actor, c.session_id).await
}

#[server(endpoint = "chat/send")]
pub async fn chat_send(
    token: String,
    body: String,
    client_message_id: String,
    /// Uploads the message carries (`POST /api/v1/sessions/{id}/attachments`).
    attachment_ids: Option<Vec<AttachmentId>>,
) -> Result<Message, AppError> {
    let pool = crate::ssr::pool()?;
    let (actor, c) = customer(&token).await?;
    let input = domain::conversation::SendMessage {
        body,
        client_message_id: Some(client_message_id),
        ip: crate::ssr::client_ip(),
        attachment_ids: attachment_ids.unwrap_or_default(),
    };
    Ok(domain::conversation::send(&pool, &actor, c.session_id, input).await?)
}

/// The customer asks for a person while a bot has the chat: it goes to the
/// type's queue as a `customer_request` handoff (nothing changes when a
/// person already has it or will).
#[server(endpoint = "chat/person")]
pub async fn chat_person(token: String) -> Result<ChatView, AppError> {
    let pool = crate::ssr::pool()?;
    let (actor, c) = customer(&token).await?;
    domain::sessions::request_person(&pool, &actor, c.session_id).await?;
    load_state(&pool, &actor, c.session_id).await
}

/// The customer says the bot's answer helped ("That helped"): the bot
/// resolves the chat, a `confirmed` resolution in the reports.
#[server(endpoint = "chat/helped")]
pub async fn chat_helped(token: String) -> Result<ChatView, AppError> {
    let pool = crate::ssr::pool()?;
    let (actor, c) = customer(&token).await?;
    domain::bot::helped(&pool, &actor, c.session_id).await?;
    load_state(&pool, &actor, c.session_id).await
}

/// The customer leaves: the session ends (abandoned) wherever it stands.
#[server(endpoint = "chat/end")]
pub async fn chat_end(token: String) -> Result<(), AppError> {
    let pool = crate::ssr::pool()?;
    let (actor, c) = customer(&token).await?;
    domain::sessions::abandon(&pool, &actor, c.session_id).await?;
    Ok(())
}

#[server(endpoint = "chat/rate")]
pub async fn chat_rate(token: String, score: i16, comment: Option<String>) -> Result<Csat, AppError> {
    let pool = crate::ssr::pool()?;
    let (actor, c) = customer(&token).await?;
    let input = domain::csat::SubmitCsat { score, comment };
    Ok(domain::csat::submit(&pool, &actor, c.session_id, input).await?)
}

fn storage_key(slug: &str) -> String {
    format!("switchboard.chat.{slug}")
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn load_token(slug: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        storage().and_then(|s| s.get_item(&storage_key(slug)).ok().flatten())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = storage_key(slug);
        None
    }
}

fn save_token(slug: &str, token: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = match token {
            Some(t) => s.set_item(&storage_key(slug), t),
            None => s.remove_item(&storage_key(slug)),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (slug, token);
}

fn new_client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One line of the transcript: stored, or sent and not yet confirmed.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    message: Message,
    sender_name: Option<String>,
    pending: bool,
    failed: bool,
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let kind = Resource::new(slug, chat_type);
    view! {
        <Title text="Chat"/>
        <main class="flex min-h-full justify-center bg-slate-50 sm:px-4 sm:py-6">
            <Suspense fallback=|| view! { <ChatSkeleton/> }>
                {move || kind.get().map(|r| match r {
                    Ok(Some(t)) => view! { <Chat kind=t/> }.into_any(),
                    Ok(None) => view! {
                        <div class="w-full max-w-md p-6">
                            <ErrorAlert title="No such chat" message="This chat address does not exist or is no longer in use. Check the link you followed."/>
                        </div>
                    }.into_any(),
                    Err(e) => view! {
                        <div class="w-full max-w-md p-6"><ErrorAlert title="The chat is unavailable" message=e.user_message()/></div>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn ChatSkeleton() -> impl IntoView {
    view! {
        <div class="w-full max-w-md space-y-3 p-6" aria-busy="true" aria-label="Loading">
            <div class="h-6 w-1/2 animate-pulse rounded bg-slate-200"></div>
            <div class="h-24 animate-pulse rounded-xl bg-slate-100"></div>
        </div>
    }
}

#[component]
fn Chat(kind: PublicSupportType) -> impl IntoView {
    let slug = kind.slug.clone();
    let token = RwSignal::new(None::<String>);
    let state = RwSignal::new(None::<SessionBrief>);
    let lines = RwSignal::new(Vec::<Line>::new());
    // The customer's sends, one at a time, in the order written.
    let outbox = InOrder::new();
    let position = RwSignal::new(None::<(i64, i64)>);
    let csat = RwSignal::new(None::<Csat>);
    let typing = RwSignal::new(None::<String>);
    let typing_seq = StoredValue::new(0u64);
    let notice = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let link = RwSignal::new(None::<crate::live::LiveLink>);
    // Signed links for the transcript's files: an <img> cannot send the token.
    let links: Links = RwSignal::new(Default::default());
    Effect::new(move |_| {
        let Some(t) = token.get() else { return };
        let ids: Vec<AttachmentId> =
            lines.with(|ls| ls.iter().flat_map(|l| l.message.attachments.iter().map(|a| a.id)).collect());
        fetch_links(links, t, ids);
    });

    // A snapshot merges into what is shown (never drops a message a live
    // frame brought in the meantime, nor one still being sent).
    let apply_state = move |s: ChatView| {
        let names: std::collections::HashMap<i64, String> = s.names.into_iter().collect();
        lines.update(|ls| {
            for m in s.messages {
                let name = names.get(&m.id).cloned();
                merge(ls, m, name);
            }
        });
        position.set(s.position);
        csat.set(s.csat);
        state.set(Some(s.session));
    };
    let forget = {
        let slug = slug.clone();
        move || {
            save_token(&slug, None);
            token.set(None);
            state.set(None);
            lines.set(Vec::new());
            csat.set(None);
            position.set(None);
        }
    };

    // In the browser: pick the chat up where it was.
    Effect::new({
        let slug = slug.clone();
        let forget = forget.clone();
        move |_| {
            let Some(saved) = load_token(&slug) else {
                loading.set(false);
                return;
            };
            let forget = forget.clone();
            spawn_local(async move {
                match chat_state(saved.clone()).await {
                    Ok(s) => {
                        apply_state(s);
                        token.set(Some(saved));
                    }
                    Err(AppError::Domain(domain::Error::Unauthenticated { .. })) => forget(),
                    Err(e) => error.set(Some(e.user_message())),
                }
                loading.set(false);
            });
        }
    });

    // The live link, once there is a token (and again for a new chat).
    let welcomed = StoredValue::new(false);
    let on_frame = move |frame: ServerFrame| match frame {
        // What happened between loading the chat and the link being up
        // (the agent may have joined already): load it once more.
        ServerFrame::Welcome { .. } if !welcomed.get_value() => {
            welcomed.set_value(true);
            if let Some(t) = token.get_untracked() {
                spawn_local(async move {
                    if let Ok(s) = chat_state(t).await {
                        apply_state(s);
                    }
                });
            }
        }
        ServerFrame::Message { message, sender_name, .. } => {
            if message.sender_kind != SenderKind::Customer {
                typing.set(None);
            }
            lines.update(|ls| merge(ls, message, sender_name));
        }
        ServerFrame::Session { session, topic, .. } => {
            if topic == domain::outbox::topic::SESSION_ASSIGNED
                && let Some(name) = &session.owner_name
            {
                notice.set(Some(format!("{name} joined the chat")));
            }
            if session.status != SessionStatus::Queued {
                position.set(None);
            }
            state.set(Some(session));
        }
        ServerFrame::Queue { position: p, eta_secs, .. } => position.set(Some((p, eta_secs))),
        ServerFrame::Typing { sender_kind, name, typing: on, .. } if sender_kind != SenderKind::Customer => {
            typing_seq.update_value(|n| *n += 1);
            let seq = typing_seq.get_value();
            typing.set(on.then(|| name.unwrap_or_else(|| "The agent".to_owned())));
            if on {
                set_timeout(
                    move || {
                        // The page may be gone by now: try_*.
                        if typing_seq.try_get_value() == Some(seq) {
                            typing.try_set(None);
                        }
                    },
                    std::time::Duration::from_secs(6),
                );
            }
        }
        ServerFrame::Read { reader, message_id, .. } if reader != SenderKind::Customer => {
            state.update(|s| {
                if let Some(s) = s {
                    s.agent_read_message_id = s.agent_read_message_id.max(message_id);
                }
            });
        }
        ServerFrame::CsatRequested { .. } => state.update(|s| {
            if let Some(s) = s {
                s.csat_requested = true;
            }
        }),
        ServerFrame::Resync { .. } => {
            if let Some(t) = token.get_untracked() {
                spawn_local(async move {
                    if let Ok(s) = chat_state(t).await {
                        apply_state(s);
                    }
                });
            }
        }
        _ => {}
    };
    Effect::new(move |_| {
        if let Some(t) = token.get() {
            welcomed.set_value(false);
            link.set(Some(crate::live::connect(Some(t), on_frame)));
        }
    });

    // Tell the agent what the customer has seen.
    Effect::new(move |_| {
        let newest = lines.with(|ls| {
            ls.iter()
                .rev()
                .find(|l| !l.pending && l.message.sender_kind != SenderKind::Customer)
                .map(|l| l.message.id)
        });
        if let (Some(id), Some(l), Some(s)) = (newest, link.get(), state.get_untracked())
            && s.customer_read_message_id < id
        {
            l.send(&ClientFrame::Read { session_id: s.id, message_id: id });
        }
    });

    // Re-render the panes only when the chat itself changes, not on every
    // update of its state.
    let current = Memo::new(move |_| state.with(|s| s.as_ref().map(|s| s.id)));
    // Keep the newest message in view.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        lines.track();
        typing.track();
        request_animation_frame(|| {
            if let Some(el) = document().get_element_by_id("chat-scroll") {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    let link_state = move || link.get().map(|l| l.state.get());
    let asking = RwSignal::new(false);
    let status_line = move || {
        let s = state.get()?;
        Some(match s.status {
            SessionStatus::Queued => match position.get() {
                Some((p, eta)) => format!("You are #{p} in the queue · {}", wait_in_words(eta)),
                None => "Waiting for an agent…".to_owned(),
            },
            SessionStatus::Active => match s.owner_name {
                Some(name) if s.with_bot => format!("{name}, an automated assistant, is answering"),
                Some(name) => format!("{name} joined"),
                None => "An agent is with you".to_owned(),
            },
            SessionStatus::Resolved => "This chat has been resolved".to_owned(),
            SessionStatus::Abandoned => "You ended this chat".to_owned(),
        })
    };

    let title = kind.name.clone();
    let greeting = kind.greeting.clone();
    let csat_on = kind.csat_enabled;
    view! {
        <section class="flex h-[100dvh] w-full max-w-md flex-col bg-white sm:h-[calc(100dvh-3rem)] sm:rounded-xl sm:border sm:border-slate-200"
            aria-label="Chat">
            <header class="border-b border-slate-200 px-4 py-3">
                <h1 class="text-base font-semibold">{title}</h1>
                <p class="text-sm text-slate-600" data-testid="chat-status" aria-live="polite">
                    {move || status_line().unwrap_or_else(|| "We usually answer within minutes.".to_owned())}
                </p>
                {move || {
                    let with_bot = state.with(|s| s.as_ref().is_some_and(|s| s.with_bot && s.status == SessionStatus::Active));
                    with_bot.then(|| view! {
                        <button type="button" data-testid="talk-to-person"
                            class="mt-2 rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60"
                            disabled=move || asking.get()
                            on:click=move |_| {
                                let Some(t) = token.get_untracked() else { return };
                                asking.set(true);
                                spawn_local(async move {
                                    match chat_person(t).await {
                                        Ok(view) => apply_state(view),
                                        Err(e) => error.set(Some(e.to_string())),
                                    }
                                    asking.set(false);
                                });
                            }>
                            {move || if asking.get() { "Asking for a person…" } else { "Talk to a person" }}
                        </button>
                    })
                }}
                // After the bot answered something the customer asked: "That
                // helped" ends the chat as resolved by the bot.
                {move || {
                    let with_bot = state.with(|s| s.as_ref().is_some_and(|s| s.with_bot && s.status == SessionStatus::Active));
                    let answered = lines.with(|ls| {
                        let mut spoken = ls.iter().filter(|l| !l.pending && l.message.sender_kind != SenderKind::System);
                        spoken.clone().any(|l| l.message.sender_kind == SenderKind::Customer)
                            && spoken.next_back().is_some_and(|l| l.message.sender_kind == SenderKind::Bot)
                    });
                    (with_bot && answered).then(|| view! {
                        <button type="button" data-testid="that-helped"
                            class="mt-2 ml-2 rounded-md border border-emerald-300 bg-emerald-50 px-3 py-1.5 text-sm font-medium text-emerald-900 hover:bg-emerald-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60"
                            disabled=move || asking.get()
                            on:click=move |_| {
                                let Some(t) = token.get_untracked() else { return };
                                asking.set(true);
                                spawn_local(async move {
                                    match chat_helped(t).await {
                                        Ok(view) => apply_state(view),
                                        Err(e) => error.set(Some(e.to_string())),
                                    }
                                    asking.set(false);
                                });
                            }>
                            "That helped, thanks"
                        </button>
                    })
                }}
                {move || link_state().filter(|s| *s != LinkState::Live && *s != LinkState::Connecting).map(|s| view! {
                    <p class="mt-1 text-xs text-amber-700" role="status" data-testid="link-state">{s.label()}</p>
                })}
            </header>
            <noscript>
                <p class="p-4 text-sm text-slate-700">"The chat needs JavaScript. Please turn it on, or write to us by e-mail."</p>
            </noscript>
            {move || error.get().map(|m| view! { <div class="p-4"><ErrorAlert title="Something went wrong" message=m/></div> })}
            {
                let slug = slug.clone();
                let forget = forget.clone();
                let greeting = greeting.clone();
                move || {
                    if loading.get() {
                        return view! { <ChatSkeleton/> }.into_any();
                    }
                    match current.get() {
                        None => view! {
                            <StartForm slug=slug.clone() greeting=greeting.clone() on_started=move |started: ChatStarted| {
                                apply_state(started.state);
                                token.set(Some(started.token));
                            }/>
                        }.into_any(),
                        Some(_) => view! {
                            <Conversation lines links typing notice state token outbox/>
                            <Footer csat_on csat token link lines state outbox forget=forget.clone()/>
                        }.into_any(),
                    }
                }
            }
        </section>
    }
}

/// Puts a stored message in its place: replaces the pending copy with the
/// same client id, ignores one already there, keeps the order by id.
fn merge(lines: &mut Vec<Line>, message: Message, sender_name: Option<String>) {
    if lines.iter().any(|l| !l.pending && l.message.id == message.id) {
        return;
    }
    let line = Line { message, sender_name, pending: false, failed: false };
    if let Some(cid) = line.message.client_message_id.clone()
        && let Some(pos) =
            lines.iter().position(|l| l.pending && l.message.client_message_id.as_deref() == Some(&cid))
    {
        lines.remove(pos);
    }
    let at = lines
        .iter()
        .position(|l| !l.pending && l.message.id > line.message.id)
        .unwrap_or_else(|| lines.iter().position(|l| l.pending).unwrap_or(lines.len()));
    lines.insert(at, line);
}

/// Sends a customer's message (idempotent by `cid`) and settles its line:
/// the stored message replaces the pending one, or the line is marked
/// failed (the Retry button sends the same id again).
fn deliver(
    outbox: InOrder,
    token: String,
    body: String,
    cid: String,
    files: Vec<AttachmentId>,
    lines: RwSignal<Vec<Line>>,
) {
    outbox.push(move || async move {
        let files = (!files.is_empty()).then_some(files);
        let result = chat_send(token, body, cid.clone(), files).await;
        lines.update(|ls| match result {
            Ok(m) => merge(ls, m, None),
            Err(_) => {
                if let Some(l) = ls.iter_mut().find(|l| l.message.client_message_id.as_deref() == Some(&cid))
                {
                    l.failed = true;
                }
            }
        });
    });
}

#[component]
fn StartForm(
    slug: String,
    greeting: Option<String>,
    on_started: impl Fn(ChatStarted) + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if message.get_untracked().trim().is_empty() {
            problem.set(Some("Write your question first.".to_owned()));
            return;
        }
        busy.set(true);
        problem.set(None);
        let (slug, on_started) = (slug.clone(), on_started.clone());
        let opt = |s: String| (!s.trim().is_empty()).then_some(s);
        let (n, e, m) = (opt(name.get_untracked()), opt(email.get_untracked()), message.get_untracked());
        spawn_local(async move {
            match chat_open(slug.clone(), n, e, m).await {
                Ok(started) => {
                    save_token(&slug, Some(&started.token));
                    on_started(started);
                }
                Err(err) => problem.set(Some(err.user_message())),
            }
            busy.set(false);
        });
    };
    let field = "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
    view! {
        <form class="flex-1 space-y-4 overflow-y-auto p-4" on:submit=submit aria-label="Start a chat">
            <p class="text-sm text-slate-700">{greeting.unwrap_or_else(|| "Hi! How can we help?".to_owned())}</p>
            <div>
                <label for="chat-name" class="block text-sm font-medium text-slate-700">"Your name " <span class="font-normal text-slate-500">"(optional)"</span></label>
                <input id="chat-name" autocomplete="name" class=field maxlength="200"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </div>
            <div>
                <label for="chat-email" class="block text-sm font-medium text-slate-700">"E-mail " <span class="font-normal text-slate-500">"(optional, for a reply if you leave)"</span></label>
                <input id="chat-email" type="email" autocomplete="email" class=field maxlength="320"
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
            </div>
            <div>
                <label for="chat-first" class="block text-sm font-medium text-slate-700">"Your question"</label>
                <textarea id="chat-first" rows="4" required class=field maxlength="10000"
                    prop:value=move || message.get() on:input=move |ev| message.set(event_target_value(&ev))></textarea>
            </div>
            <div aria-live="polite">
                {move || problem.get().map(|m| view! { <ErrorAlert title="The chat could not start" message=m/> })}
            </div>
            <button type="submit" disabled=move || busy.get()
                class="w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                {move || if busy.get() { "Starting…" } else { "Start chat" }}
            </button>
        </form>
    }
}

#[component]
fn Conversation(
    lines: RwSignal<Vec<Line>>,
    links: Links,
    typing: RwSignal<Option<String>>,
    notice: RwSignal<Option<String>>,
    state: RwSignal<Option<SessionBrief>>,
    token: RwSignal<Option<String>>,
    outbox: InOrder,
) -> impl IntoView {
    let seen_up_to = move || state.with(|s| s.as_ref().map_or(0, |s| s.agent_read_message_id));
    let last_own = move || {
        lines.with(|ls| {
            ls.iter()
                .rev()
                .find(|l| l.message.sender_kind == SenderKind::Customer && !l.pending)
                .map(|l| l.message.id)
        })
    };
    let retry = move |line: Line| {
        let Some(t) = token.get_untracked() else { return };
        let cid = line.message.client_message_id.clone().unwrap_or_else(new_client_id);
        lines.update(|ls| {
            if let Some(l) = ls.iter_mut().find(|l| l.message.client_message_id.as_deref() == Some(&cid)) {
                l.failed = false;
            }
        });
        let files = line.message.attachments.iter().map(|a| a.id).collect();
        deliver(outbox, t, line.message.body.clone(), cid, files, lines);
    };
    view! {
        <div class="flex-1 overflow-y-auto px-4 py-3" id="chat-scroll">
            <ol class="space-y-2" data-testid="transcript" aria-label="Messages" aria-live="polite" aria-relevant="additions">
                <For each=move || lines.get() key=|l| (l.message.id, l.message.client_message_id.clone(), l.failed) let:line>
                    {
                        let (row, bubble) = match line.message.sender_kind {
                            SenderKind::Customer => ("flex justify-end", "bg-indigo-600 text-white"),
                            SenderKind::System => ("flex justify-center", "bg-transparent text-slate-600 text-xs italic"),
                            _ => ("flex justify-start", "bg-slate-100 text-slate-900"),
                        };
                        let who = match line.message.sender_kind {
                            SenderKind::Customer => "You".to_owned(),
                            SenderKind::System => "Notice".to_owned(),
                            _ => line.sender_name.clone().unwrap_or_else(|| "Agent".to_owned()),
                        };
                        let id = line.message.id;
                        let own = line.message.sender_kind == SenderKind::Customer;
                        let failed = line.failed;
                        let pending = line.pending;
                        let again = line.clone();
                        view! {
                            <li class=row data-message-id=(!pending).then_some(id) data-pending=pending.then_some("true")>
                                <div class="max-w-[80%]">
                                    {(!line.message.body.is_empty()).then(|| view! {
                                        <div class=format!("whitespace-pre-wrap break-words rounded-lg px-3 py-2 text-sm {bubble}")>
                                            <span class="sr-only">{who.clone()} ": "</span>
                                            {line.message.body.clone()}
                                        </div>
                                    })}
                                    <MessageFiles attachments=line.message.attachments.clone() links/>
                                    {(own && failed).then(|| view! {
                                        <p class="mt-1 text-right text-xs text-rose-700">"Not sent. "
                                            <button type="button" class="underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                                on:click=move |_| retry(again.clone())>"Retry"</button>
                                        </p>
                                    })}
                                    {(own && pending && !failed).then(|| view! { <p class="mt-1 text-right text-xs text-slate-500">"Sending…"</p> })}
                                    {move || (own && !pending && last_own() == Some(id) && seen_up_to() >= id).then(|| view! {
                                        <p class="mt-1 text-right text-xs text-slate-500" data-testid="seen">"Seen"</p>
                                    })}
                                </div>
                            </li>
                        }
                    }
                </For>
            </ol>
            {move || notice.get().map(|n| view! { <p class="mt-3 text-center text-xs text-slate-600" data-testid="joined">{n}</p> })}
            <p class="mt-2 h-5 text-xs text-slate-600" data-testid="typing" aria-live="polite">
                {move || typing.get().map(|name| format!("{name} is typing…"))}
            </p>
        </div>
    }
}

#[component]
fn Footer(
    csat_on: bool,
    csat: RwSignal<Option<Csat>>,
    token: RwSignal<Option<String>>,
    link: RwSignal<Option<crate::live::LiveLink>>,
    lines: RwSignal<Vec<Line>>,
    state: RwSignal<Option<SessionBrief>>,
    outbox: InOrder,
    forget: impl Fn() + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let Some(id) = state.with_untracked(|s| s.as_ref().map(|s| s.id)) else { return ().into_any() };
    // A memo: the composer is rebuilt only when the chat opens or closes,
    // not on every change of the session (read receipts, names…).
    let open = Memo::new(move |_| state.with(|s| s.as_ref().is_some_and(|s| s.status.is_open())));
    let wants_rating = Memo::new(move |_| {
        state.with(|s| {
            s.as_ref().is_some_and(|s| {
                s.status == SessionStatus::Resolved && (csat_on || s.csat_enabled || s.csat_requested)
            })
        })
    });
    view! {
        {move || if open.get() {
            view! { <Composer session=id token link lines outbox/> }.into_any()
        } else {
            let forget = forget.clone();
            view! {
                <div class="space-y-3 border-t border-slate-200 p-4">
                    {move || (wants_rating.get() && csat.get().is_none()).then(|| view! { <Rating token csat/> })}
                    {move || csat.get().map(|c| view! {
                        <p class="text-sm text-emerald-700" role="status" data-testid="csat-thanks">
                            {format!("Thank you for rating us {} out of 5.", c.score)}
                        </p>
                    })}
                    <button type="button" on:click={let forget = forget.clone(); move |_| forget()}
                        class="w-full rounded-lg border border-slate-300 px-4 py-2 text-sm text-slate-700 hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                        "Start a new chat"
                    </button>
                </div>
            }.into_any()
        }}
    }
    .into_any()
}

#[component]
fn Composer(
    session: SessionId,
    token: RwSignal<Option<String>>,
    link: RwSignal<Option<crate::live::LiveLink>>,
    lines: RwSignal<Vec<Line>>,
    outbox: InOrder,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let last_typing = StoredValue::new(0.0f64);
    let idle_seq = StoredValue::new(0u64);
    let ending = RwSignal::new(false);
    let end_error = RwSignal::new(None::<String>);
    let tray = Tray::new(session, Some(token));
    let typing = move |on: bool| {
        if let Some(l) = link.try_get_untracked().flatten() {
            l.send(&ClientFrame::Typing { session_id: session, typing: on });
        }
    };
    let send = move || {
        let body = draft.get_untracked();
        let files = tray.ready();
        if (body.trim().is_empty() && files.is_empty()) || tray.uploading() {
            return;
        }
        let Some(t) = token.get_untracked() else { return };
        tray.clear();
        let cid = new_client_id();
        draft.set(String::new());
        typing(false);
        last_typing.set_value(0.0);
        let pending = Message {
            id: i64::MAX,
            session_id: session,
            sender_kind: SenderKind::Customer,
            sender_agent_id: None,
            body: body.clone(),
            client_message_id: Some(cid.clone()),
            created_at: chrono::Utc::now(),
            attachments: files.clone(),
        };
        lines
            .update(|ls| ls.push(Line { message: pending, sender_name: None, pending: true, failed: false }));
        deliver(outbox, t, body, cid, files.iter().map(|a| a.id).collect(), lines);
    };
    let on_input = move |ev| {
        draft.set(event_target_value(&ev));
        let now = chrono::Utc::now().timestamp_millis() as f64;
        if now - last_typing.get_value() > 3000.0 {
            last_typing.set_value(now);
            typing(true);
        }
        idle_seq.update_value(|n| *n += 1);
        let seq = idle_seq.get_value();
        set_timeout(
            move || {
                // The composer may be gone by now (the chat ended): try_*.
                if idle_seq.try_get_value() == Some(seq) {
                    last_typing.try_set_value(0.0);
                    typing(false);
                }
            },
            std::time::Duration::from_secs(4),
        );
    };
    let end = move |_| {
        let Some(t) = token.get_untracked() else { return };
        ending.set(true);
        spawn_local(async move {
            if let Err(e) = chat_end(t).await {
                end_error.set(Some(e.user_message()));
            }
            ending.set(false);
        });
    };
    view! {
        <form class="border-t border-slate-200 p-3" aria-label="Write a message"
            on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); send(); }
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=tray.on_drop()>
            <label for="chat-message" class="sr-only">"Message"</label>
            <TrayView tray/>
            <div class="flex items-end gap-2">
                <AttachButton tray id="chat-attach"/>
                <textarea id="chat-message" rows="2" maxlength="10000" placeholder="Write a message…"
                    on:paste=tray.on_paste()
                    class="block w-full resize-none rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                    prop:value=move || draft.get()
                    on:input=on_input
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            send();
                        }
                    }></textarea>
                <button type="submit" disabled=move || tray.uploading()
                    class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                    {move || if tray.uploading() { "Uploading…" } else { "Send" }}
                </button>
            </div>
            <div class="mt-2 flex items-center justify-between text-xs text-slate-600">
                <span>"Enter sends · Shift+Enter for a new line · paste or drop files"</span>
                <button type="button" on:click=end disabled=move || ending.get()
                    class="rounded-lg px-2 py-1 text-rose-700 hover:bg-rose-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "End chat"
                </button>
            </div>
            {move || end_error.get().map(|m| view! { <div class="mt-2"><ErrorAlert title="Could not end the chat" message=m/></div> })}
        </form>
    }
}

#[component]
fn Rating(token: RwSignal<Option<String>>, csat: RwSignal<Option<Csat>>) -> impl IntoView {
    let score = RwSignal::new(None::<i16>);
    let comment = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(s) = score.get_untracked() else {
            problem.set(Some("Pick a score from 1 to 5.".to_owned()));
            return;
        };
        let Some(t) = token.get_untracked() else { return };
        busy.set(true);
        let c = comment.get_untracked();
        spawn_local(async move {
            match chat_rate(t, s, (!c.trim().is_empty()).then_some(c)).await {
                Ok(rated) => csat.set(Some(rated)),
                Err(e) => problem.set(Some(e.user_message())),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="space-y-3" on:submit=submit aria-label="Rate this chat" data-testid="csat-form">
            <fieldset>
                <legend class="text-sm font-medium text-slate-800">"How did we do?"</legend>
                <div class="mt-2 flex gap-2">
                    {(1..=5i16).map(|n| view! {
                        <label class="flex-1">
                            <input type="radio" name="score" class="peer sr-only" value=n.to_string()
                                on:change=move |_| score.set(Some(n))/>
                            <span class="block cursor-pointer rounded-lg border border-slate-300 py-2 text-center text-sm peer-checked:border-indigo-600 peer-checked:bg-indigo-50 peer-checked:text-indigo-800 peer-focus-visible:ring-2 peer-focus-visible:ring-indigo-500">
                                {n.to_string()}<span class="sr-only">{format!(" out of 5{}", match n { 1 => ", poor", 5 => ", excellent", _ => "" })}</span>
                            </span>
                        </label>
                    }).collect_view()}
                </div>
            </fieldset>
            <div>
                <label for="csat-comment" class="block text-sm font-medium text-slate-700">"Comment " <span class="font-normal text-slate-500">"(optional)"</span></label>
                <textarea id="csat-comment" rows="2" maxlength="2000"
                    class="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                    prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            </div>
            {move || problem.get().map(|m| view! { <ErrorAlert title="Could not send your rating" message=m/> })}
            <button type="submit" disabled=move || busy.get()
                class="w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                "Send rating"
            </button>
        </form>
    }
}
