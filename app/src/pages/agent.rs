//! `/agent` and `/agent/sessions/{id}`: the agent workspace. Three panes on
//! a desktop (presence, inbox and queue; the conversation; the customer,
//! notes, tags and actions), one at a time on a small screen.
//!
//! The first state comes from server functions (rendered on the server, so
//! the page is complete before any script runs); the live link then keeps it
//! current: session changes move rows between the inbox and the queue,
//! messages update previews, unread counts and the transcript. While the
//! link is down the page polls, so it keeps working without it.
//!
//! Every piece of text here came from someone else (customers, agents, bots)
//! and is rendered as text, never as markup.

pub mod api;
mod conversation;
mod lists;
mod sidebar;

pub use sidebar::TransferDialog;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{
    conversation::Message,
    live::{ServerFrame, SessionBrief},
    sessions::Session,
    types::*,
    workspace::{Board, WorkItem},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Outlet, hooks::use_location};

use crate::{
    AppError,
    components::{
        shell::RequireSignIn,
        toast::{ToastRegion, Toasts},
    },
    live::LiveLink,
};
use api::{ConversationView, PresenceState, SessionDetails};

/// What the address selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    Nothing,
    Session(SessionId),
    /// `/agent/sessions/{not a session id}`.
    Invalid,
}

impl Selected {
    pub fn from_path(path: &str) -> Self {
        match path.strip_prefix("/agent/sessions/") {
            None => Self::Nothing,
            Some(rest) => {
                rest.trim_end_matches('/').parse::<SessionId>().map_or(Self::Invalid, Self::Session)
            }
        }
    }

    pub fn session(self) -> Option<SessionId> {
        match self {
            Self::Session(id) => Some(id),
            _ => None,
        }
    }
}

/// Which pane a small screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Conversation,
    Details,
}

/// How far a message of the transcript got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Sending,
    Failed(String),
}

/// One line of the transcript: a stored message, or one of ours on its way.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: Option<i64>,
    pub client_id: Option<String>,
    pub kind: SenderKind,
    pub agent: Option<AgentId>,
    /// From a live frame; otherwise looked up among the participants.
    pub sender_name: Option<String>,
    pub body: String,
    pub at: Option<DateTime<Utc>>,
    pub delivery: Delivery,
    pub attachments: Vec<domain::attachments::Attachment>,
}

impl Entry {
    fn stored(m: Message, sender_name: Option<String>) -> Self {
        Self {
            id: Some(m.id),
            client_id: m.client_message_id,
            kind: m.sender_kind,
            agent: m.sender_agent_id,
            sender_name,
            body: m.body,
            at: Some(m.created_at),
            delivery: Delivery::Sent,
            attachments: m.attachments,
        }
    }
}

/// Inserts a stored message once: it replaces our pending copy (same client
/// message id) or goes in id order before the pending ones.
pub fn upsert(entries: &mut Vec<Entry>, m: Message, sender_name: Option<String>) {
    if entries.iter().any(|e| e.id == Some(m.id)) {
        return;
    }
    if let Some(cid) = m.client_message_id.as_deref()
        && let Some(pending) =
            entries.iter_mut().find(|e| e.id.is_none() && e.client_id.as_deref() == Some(cid))
    {
        let name = pending.sender_name.take().or(sender_name);
        *pending = Entry::stored(m, name);
        // It may have been overtaken by messages stored meanwhile.
        entries.sort_by_key(|e| (e.id.is_none(), e.id));
        return;
    }
    let at = entries.iter().position(|e| e.id.is_none_or(|id| id > m.id)).unwrap_or(entries.len());
    entries.insert(at, Entry::stored(m, sender_name));
}

/// The workspace's state, shared by its panes. Signals only: cheap to copy.
#[derive(Clone, Copy)]
pub struct Ws {
    pub me: RwSignal<Option<AgentId>>,
    pub presence: RwSignal<PresenceState>,
    pub inbox: RwSignal<Vec<WorkItem>>,
    pub queue: RwSignal<Vec<WorkItem>>,
    /// Routing by type, learnt from the rows, for rows a live change adds.
    routing: RwSignal<HashMap<SupportTypeId, Routing>>,
    pub selected: Memo<Selected>,
    pub pane: RwSignal<Pane>,
    /// The open session as the live link last described it.
    pub current: RwSignal<Option<SessionBrief>>,
    pub conversation: RwSignal<Option<ConversationView>>,
    pub details: RwSignal<Option<SessionDetails>>,
    pub transcript: RwSignal<Vec<Entry>>,
    /// The session the transcript belongs to.
    pub transcript_of: RwSignal<Option<SessionId>>,
    pub next_cursor: RwSignal<Option<String>>,
    pub names: RwSignal<HashMap<AgentId, String>>,
    /// "Ana is typing…", while the customer types.
    pub typing: RwSignal<Option<String>>,
    typing_timer: StoredValue<Option<TimeoutHandle>>,
    pub draft: RwSignal<String>,
    /// Read by the customer up to this message.
    pub customer_read: RwSignal<i64>,
    pub tab_visible: RwSignal<bool>,
    /// Sentences for screen readers (new messages).
    pub announce: RwSignal<String>,
    pub toasts: Toasts,
    welcomed: StoredValue<bool>,
    /// The composer's sends, one at a time, in the order written.
    pub outbox: crate::sending::InOrder,
}

/// How long a customer's typing indicator lasts without renewal.
const TYPING_SHOWN_MS: u64 = 6_000;
/// How often the page polls while the live link is down.
#[cfg(feature = "hydrate")]
const POLL_EVERY_SECS: u64 = 10;

impl Ws {
    fn new(selected: Memo<Selected>) -> Self {
        let initial = selected.get_untracked();
        Self {
            me: RwSignal::new(None),
            presence: RwSignal::new(PresenceState { presence: Presence::Offline, reason: None }),
            inbox: RwSignal::new(Vec::new()),
            queue: RwSignal::new(Vec::new()),
            routing: RwSignal::new(HashMap::new()),
            selected,
            pane: RwSignal::new(if initial == Selected::Nothing { Pane::List } else { Pane::Conversation }),
            current: RwSignal::new(None),
            conversation: RwSignal::new(None),
            details: RwSignal::new(None),
            transcript: RwSignal::new(Vec::new()),
            transcript_of: RwSignal::new(None),
            next_cursor: RwSignal::new(None),
            names: RwSignal::new(HashMap::new()),
            typing: RwSignal::new(None),
            typing_timer: StoredValue::new(None),
            draft: RwSignal::new(String::new()),
            customer_read: RwSignal::new(0),
            tab_visible: RwSignal::new(true),
            announce: RwSignal::new(String::new()),
            toasts: Toasts::new(),
            welcomed: StoredValue::new(false),
            outbox: crate::sending::InOrder::new(),
        }
    }

    /// The inbox or queue row of a session.
    pub fn row(&self, id: SessionId) -> Option<WorkItem> {
        let find = |l: &Vec<WorkItem>| l.iter().find(|r| r.id == id).cloned();
        self.inbox.with_untracked(find).or_else(|| self.queue.with_untracked(find))
    }

    pub fn open_session(&self) -> Option<SessionId> {
        self.selected.get_untracked().session()
    }

    /// Whether the agent is looking at this session's conversation now.
    fn reading(&self, id: SessionId) -> bool {
        self.open_session() == Some(id)
            && self.tab_visible.get_untracked()
            && self.pane.get_untracked() == Pane::Conversation
    }

    pub fn seed_board(&self, b: &Board) {
        self.me.set(Some(b.me));
        self.presence.set(PresenceState { presence: b.presence, reason: b.presence_reason.clone() });
        self.routing.update(|r| {
            for row in b.inbox.iter().chain(&b.queue) {
                r.insert(row.support_type_id, row.routing);
            }
        });
        let mut inbox = b.inbox.clone();
        // The server may not have the read receipt of what is on screen yet.
        for row in inbox.iter_mut().filter(|r| self.reading(r.id)) {
            row.unread = 0;
        }
        self.inbox.set(inbox);
        self.queue.set(b.queue.clone());
    }

    pub fn seed_conversation(&self, v: &ConversationView) {
        let id = v.session.id;
        let same = self.transcript_of.get_untracked() == Some(id);
        self.names.update(|n| {
            for p in &v.participants {
                n.insert(p.id, p.display_name.clone());
            }
        });
        self.transcript.update(|t| {
            if !same {
                t.clear();
            }
            for m in v.messages.iter().cloned() {
                upsert(t, m, None);
            }
        });
        if !same {
            self.next_cursor.set(v.next_cursor.clone());
            self.typing.set(None);
            self.draft.set(String::new());
        }
        self.customer_read.set(v.session.customer_read_message_id);
        self.transcript_of.set(Some(id));
        self.current.set(Some(v.session.clone()));
        self.conversation.set(Some(v.clone()));
    }

    /// Reloads the board without re-rendering the lists' frames.
    pub fn refresh_board(&self) {
        let ws = *self;
        leptos::task::spawn_local(async move {
            if let Ok(b) = api::load_board().await {
                ws.seed_board(&b);
            }
        });
    }

    pub fn refresh_conversation(&self) {
        let Some(id) = self.open_session() else { return };
        let ws = *self;
        leptos::task::spawn_local(async move {
            if let Ok(v) = api::conversation(id).await
                && ws.open_session() == Some(id)
            {
                ws.seed_conversation(&v);
            }
        });
    }

    /// Reloads the open conversation from scratch: its stored messages
    /// changed in place (an erasure), which a refresh would keep.
    pub fn reload_conversation(&self) {
        self.transcript_of.set(None);
        self.refresh_conversation();
    }

    pub fn refresh_details(&self) {
        let Some(id) = self.open_session() else { return };
        let ws = *self;
        leptos::task::spawn_local(async move {
            if let Ok(d) = api::details(id).await
                && ws.open_session() == Some(id)
            {
                ws.details.set(Some(d));
            }
        });
    }

    fn sort(inbox: &mut [WorkItem], queue: &mut [WorkItem]) {
        inbox.sort_by_key(|r| (r.assigned_at, r.id));
        queue.sort_by(|a, b| domain::scope::queue_order(&a.queue_key(), &b.queue_key()));
    }

    /// A session changed (live): it belongs in the inbox iff it is active
    /// and ours, in the queue iff it is queued. Rows it enters are
    /// completed (preview, unread) from the server.
    pub fn apply_brief(&self, b: &SessionBrief) {
        let me = self.me.get_untracked();
        let in_inbox = b.status == SessionStatus::Active && b.owner_id.is_some() && b.owner_id == me;
        let in_queue = b.status == SessionStatus::Queued;
        let routing = self.routing.with_untracked(|r| r.get(&b.support_type_id).copied());
        let mut added = false;
        let place = |list: &mut Vec<WorkItem>, belongs: bool, added: &mut bool| match (
            list.iter_mut().find(|r| r.id == b.id),
            belongs,
        ) {
            (Some(row), true) => {
                row.status = b.status;
                row.owner_id = b.owner_id;
                row.support_type_id = b.support_type_id;
                row.support_type = b.support_type.clone();
                row.customer_name = b.customer_name.clone();
                row.priority = b.priority;
                row.queued_at = b.queued_at;
                row.assigned_at = b.assigned_at;
                if let Some(r) = routing {
                    row.routing = r;
                }
            }
            (Some(_), false) => list.retain(|r| r.id != b.id),
            (None, true) => {
                *added = true;
                list.push(WorkItem {
                    id: b.id,
                    status: b.status,
                    support_type_id: b.support_type_id,
                    support_type: b.support_type.clone(),
                    routing: routing.unwrap_or(Routing::RoundRobin),
                    owner_id: b.owner_id,
                    customer_id: b.customer_id,
                    customer_name: b.customer_name.clone(),
                    customer_email: None,
                    priority: b.priority,
                    queued_at: b.queued_at,
                    assigned_at: b.assigned_at,
                    last_message_id: None,
                    last_message: None,
                    last_sender: None,
                    last_message_at: None,
                    unread: 0,
                });
            }
            (None, false) => {}
        };
        self.inbox.update(|l| place(l, in_inbox, &mut added));
        self.queue.update(|l| place(l, in_queue, &mut added));
        self.inbox.update(|i| self.queue.update(|q| Self::sort(i, q)));
        if added {
            let ws = *self;
            let id = b.id;
            leptos::task::spawn_local(async move {
                if let Ok(item) = api::item(id).await {
                    ws.merge_item(item);
                }
            });
        }
        if self.open_session() == Some(b.id) {
            self.current.set(Some(b.clone()));
            self.customer_read.update(|r| *r = (*r).max(b.customer_read_message_id));
        }
    }

    /// Completes a row with what the server knows, unless the row has moved
    /// on since (a newer change will be applied by its own frame).
    fn merge_item(&self, item: WorkItem) {
        self.routing.update(|r| {
            r.insert(item.support_type_id, item.routing);
        });
        let merge = |list: &mut Vec<WorkItem>| {
            if let Some(row) = list.iter_mut().find(|r| r.id == item.id)
                && row.status == item.status
                && row.owner_id == item.owner_id
            {
                let newer = row.last_message_id > item.last_message_id;
                let mut fresh = item.clone();
                if newer {
                    fresh.last_message_id = row.last_message_id;
                    fresh.last_message = row.last_message.clone();
                    fresh.last_sender = row.last_sender;
                    fresh.last_message_at = row.last_message_at;
                    fresh.unread = fresh.unread.max(row.unread);
                }
                if self.reading(item.id) {
                    fresh.unread = 0;
                }
                *row = fresh;
            }
        };
        self.inbox.update(merge);
        self.queue.update(merge);
    }

    /// Our own action changed a session: move it at once (the live frame
    /// will say the same).
    pub fn apply_session(&self, s: &Session) {
        let me = self.me.get_untracked();
        let existing = self.row(s.id);
        let in_inbox = s.status == SessionStatus::Active && s.owner_id.is_some() && s.owner_id == me;
        let in_queue = s.status == SessionStatus::Queued;
        self.inbox.update(|l| l.retain(|r| r.id != s.id));
        self.queue.update(|l| l.retain(|r| r.id != s.id));
        if let Some(mut row) = existing {
            row.status = s.status;
            row.owner_id = s.owner_id;
            row.priority = s.priority;
            row.queued_at = s.queued_at;
            row.assigned_at = s.assigned_at;
            if in_inbox {
                self.inbox.update(|l| l.push(row));
            } else if in_queue && row.support_type_id == s.support_type_id {
                self.queue.update(|l| l.push(row));
            }
        }
        self.inbox.update(|i| self.queue.update(|q| Self::sort(i, q)));
        if self.open_session() == Some(s.id) {
            self.current.update(|c| {
                if let Some(c) = c {
                    c.status = s.status;
                    c.owner_id = s.owner_id;
                    c.priority = s.priority;
                }
            });
        }
    }

    /// A message was stored (live, or the answer to our send).
    pub fn apply_message(&self, m: Message, sender_name: Option<String>) {
        let reading = self.reading(m.session_id);
        let from_customer = m.sender_kind == SenderKind::Customer;
        let touch = |list: &mut Vec<WorkItem>| {
            if let Some(row) = list.iter_mut().find(|r| r.id == m.session_id)
                && row.last_message_id.is_none_or(|last| last < m.id)
            {
                row.last_message_id = Some(m.id);
                row.last_message = Some(m.body.clone());
                row.last_sender = Some(m.sender_kind);
                row.last_message_at = Some(m.created_at);
                if from_customer && !reading {
                    row.unread += 1;
                }
            }
        };
        self.inbox.update(touch);
        self.queue.update(touch);
        if from_customer {
            let who = self
                .row(m.session_id)
                .map(|r| r.customer_label())
                .or_else(|| sender_name.clone())
                .unwrap_or_else(|| "A customer".to_owned());
            if self.open_session() == Some(m.session_id) {
                self.announce.set(format!("{who} wrote: {}", domain::workspace::preview(&m.body)));
                self.typing.set(None);
            } else if self.inbox.with_untracked(|l| l.iter().any(|r| r.id == m.session_id)) {
                self.announce.set(format!("New message from {who}"));
            }
        }
        if self.transcript_of.get_untracked() == Some(m.session_id) {
            self.transcript.update(|t| upsert(t, m, sender_name));
        }
    }

    fn show_typing(&self, name: Option<String>, typing: bool) {
        if let Some(h) = self.typing_timer.try_get_value().flatten() {
            h.clear();
            self.typing_timer.set_value(None);
        }
        if !typing {
            self.typing.set(None);
            return;
        }
        let name = name
            .or_else(|| self.current.with_untracked(|c| c.as_ref().and_then(|c| c.customer_name.clone())))
            .unwrap_or_else(|| "The customer".to_owned());
        self.typing.set(Some(format!("{name} is typing…")));
        let typing = self.typing;
        self.typing_timer.set_value(
            set_timeout_with_handle(
                move || typing.set(None),
                std::time::Duration::from_millis(TYPING_SHOWN_MS),
            )
            .ok(),
        );
    }

    /// Every frame of the live link, once.
    pub fn on_frame(&self, frame: ServerFrame) {
        match frame {
            // What happened between rendering and connecting is not
            // replayed to a fresh link: load it once.
            ServerFrame::Welcome { .. } if !self.welcomed.get_value() => {
                self.welcomed.set_value(true);
                self.refresh_board();
                self.refresh_conversation();
            }
            ServerFrame::Resync { .. } => {
                self.refresh_board();
                self.refresh_conversation();
                self.refresh_details();
            }
            ServerFrame::Session { session, .. } => self.apply_brief(&session),
            ServerFrame::Message { message, sender_name, .. } => self.apply_message(message, sender_name),
            ServerFrame::Details { session_id, .. } if self.open_session() == Some(session_id) => {
                self.refresh_details();
            }
            ServerFrame::Typing { session_id, sender_kind: SenderKind::Customer, name, typing }
                if self.open_session() == Some(session_id) =>
            {
                self.show_typing(name, typing);
            }
            ServerFrame::Read { session_id, reader, message_id } => match reader {
                SenderKind::Customer => {
                    if self.open_session() == Some(session_id) {
                        self.customer_read.update(|r| *r = (*r).max(message_id));
                    }
                }
                _ => self.inbox.update(|l| {
                    if let Some(row) = l.iter_mut().find(|r| r.id == session_id)
                        && row.last_message_id.is_none_or(|last| last <= message_id)
                    {
                        row.unread = 0;
                    }
                }),
            },
            // Supervisors also hear of their agents' presence (the monitor's).
            ServerFrame::Presence { agent_id, presence, reason, .. }
                if self.me.get_untracked() == Some(agent_id) =>
            {
                let before = self.presence.get_untracked().presence;
                self.presence.set(PresenceState { presence, reason: reason.clone() });
                if before != presence {
                    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    self.toasts
                        .success(format!("You are now {}{why}.", presence_label(presence).to_lowercase()));
                }
            }
            _ => {}
        }
    }
}

pub fn presence_label(p: Presence) -> &'static str {
    match p {
        Presence::Online => "Online",
        Presence::Away => "Away",
        Presence::Offline => "Offline",
    }
}

#[component]
pub fn AgentPage() -> impl IntoView {
    let location = use_location();
    let selected = Memo::new(move |_| Selected::from_path(&location.pathname.get()));
    let ws = Ws::new(selected);
    provide_context(ws);
    // The header's bell hears the same link.
    let bell = crate::components::bell::Bell::new();
    provide_context(bell);
    let link = crate::live::connect(None, move |frame| {
        bell.on_frame(&frame);
        ws.on_frame(frame);
    });
    provide_context(link);

    // Created once, here: a resource made inside the guard's reactive
    // closure would be re-created (and orphaned) on every re-render. Later
    // refreshes write into the signals instead (see `Ws::refresh_*`).
    let board = Resource::new(|| (), |_| api::load_board());
    let conversation = Resource::new(
        move || selected.get(),
        |selected| async move {
            match selected {
                Selected::Session(id) => api::conversation(id).await.map(Some),
                Selected::Nothing => Ok(None),
                Selected::Invalid => Err(AppError::from(domain::Error::not_found("session"))),
            }
        },
    );
    let details = Resource::new(
        move || selected.get().session(),
        |id| async move {
            match id {
                Some(id) => api::details(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    live_effects(ws, link);

    view! {
        <Title text="Workspace"/>
        <RequireSignIn path=location.pathname.get_untracked() render=move |_me| view! {
            <Workspace board conversation details/>
        }/>
        <ToastRegion toasts=ws.toasts/>
        // The child routes render nothing, but the router completes a
        // navigation (and updates the address bar) once they are in place.
        <Outlet/>
    }
    .into_any()
}

/// Browser-only wiring: subscriptions to the open session, read receipts,
/// the tab's visibility, and polling while the link is down.
fn live_effects(ws: Ws, link: LiveLink) {
    #[cfg(feature = "hydrate")]
    {
        use crate::live::LinkState;
        use domain::live::ClientFrame;

        // Follow the open conversation.
        Effect::new(move |prev: Option<Option<SessionId>>| {
            let now = ws.selected.get().session();
            if let Some(Some(before)) = prev
                && Some(before) != now
            {
                link.unsubscribe(before);
            }
            if let Some(id) = now
                && prev != Some(Some(id))
            {
                link.subscribe(id);
            }
            if now.is_some() {
                ws.pane.set(Pane::Conversation);
            } else {
                ws.pane.set(Pane::List);
            }
            now
        });

        let visible = move || document().visibility_state() == web_sys::VisibilityState::Visible;
        ws.tab_visible.set(visible());
        let handle =
            window_event_listener_untyped("visibilitychange", move |_| ws.tab_visible.set(visible()));
        on_cleanup(move || handle.remove());

        // Read receipts: the newest message of the open conversation, when
        // it is on screen and ours.
        let last_read = StoredValue::new(None::<(SessionId, i64)>);
        Effect::new(move |_| {
            let Some(id) = ws.selected.get().session() else { return };
            if ws.transcript_of.get() != Some(id)
                || !ws.tab_visible.get()
                || ws.pane.get() != Pane::Conversation
            {
                return;
            }
            let me = ws.me.get();
            let ours = ws
                .current
                .with(|c| c.as_ref().is_some_and(|c| c.id == id && me.is_some() && c.owner_id == me));
            let Some(newest) = ws.transcript.with(|t| t.iter().filter_map(|e| e.id).max()) else { return };
            ws.inbox.update(|l| {
                if let Some(row) = l.iter_mut().find(|r| r.id == id) {
                    row.unread = 0;
                }
            });
            if !ours || last_read.get_value().is_some_and(|(s, m)| s == id && m >= newest) {
                return;
            }
            last_read.set_value(Some((id, newest)));
            if link.state.get_untracked() == LinkState::Live {
                link.send(&ClientFrame::Read { session_id: id, message_id: newest });
            } else {
                leptos::task::spawn_local(async move {
                    let _ = api::mark_read(id, newest).await;
                });
            }
        });

        // Without the live link, poll.
        let poller = StoredValue::new(None::<IntervalHandle>);
        Effect::new(move |_| {
            let live = link.state.get() == LinkState::Live;
            match (live, poller.get_value()) {
                (true, Some(h)) => {
                    h.clear();
                    poller.set_value(None);
                }
                (false, None) => {
                    poller.set_value(
                        set_interval_with_handle(
                            move || {
                                ws.refresh_board();
                                ws.refresh_conversation();
                            },
                            std::time::Duration::from_secs(POLL_EVERY_SECS),
                        )
                        .ok(),
                    );
                }
                _ => {}
            }
        });
        on_cleanup(move || {
            if let Some(h) = poller.get_value() {
                h.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ws, link);
}

#[component]
fn Workspace(
    board: Resource<Result<Board, AppError>>,
    conversation: Resource<Result<Option<ConversationView>, AppError>>,
    details: Resource<Result<Option<SessionDetails>, AppError>>,
) -> impl IntoView {
    let ws = expect_context::<Ws>();
    // One pane at a time below `lg`; all three from `lg` up.
    let pane_class = move |pane: Pane, base: &'static str| {
        move || {
            let shown = if ws.pane.get() == pane { "flex" } else { "hidden" };
            format!("{shown} lg:flex min-h-0 flex-col {base}")
        }
    };
    // Set once the page is interactive (effects run only in the browser),
    // for tests and tools that must not type into a page still hydrating.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <main data-hydrated=move || hydrated.get().then_some("true")
            class="grid min-h-[calc(100dvh-7rem)] grid-cols-1 lg:h-[calc(100dvh-3.6rem)] lg:min-h-[32rem] lg:grid-cols-[19rem_minmax(0,1fr)_20rem]">
            <div class=pane_class(Pane::List, "border-r border-slate-200 bg-white")>
                <lists::LeftPane board/>
            </div>
            <div class=pane_class(Pane::Conversation, "bg-slate-50")>
                <conversation::ConversationPane conversation/>
            </div>
            <div class=pane_class(Pane::Details, "border-l border-slate-200 bg-white")>
                <sidebar::Sidebar details/>
            </div>
            <p class="sr-only" aria-live="polite" data-testid="announcer">{move || ws.announce.get()}</p>
        </main>
    }
    .into_any()
}

/// The child routes render nothing: the workspace reads the open session
/// from the address itself.
#[component]
pub fn NoSession() -> impl IntoView {}

#[component]
pub fn ListSkeleton() -> impl IntoView {
    view! {
        <div class="space-y-2 rounded-xl border border-slate-200 bg-white p-4" aria-busy="true" aria-label="Loading">
            {(0..4).map(|_| view! { <div class="h-4 animate-pulse rounded bg-slate-100"></div> }).collect_view()}
        </div>
    }
    .into_any()
}

/// "HH:MM" in UTC, the same on the server and in the browser.
pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, client: Option<&str>) -> Message {
        Message {
            id,
            session_id: SessionId(uuid::Uuid::nil()),
            sender_kind: SenderKind::Agent,
            sender_agent_id: None,
            body: format!("m{id}"),
            client_message_id: client.map(str::to_owned),
            created_at: Utc::now(),
            attachments: Vec::new(),
        }
    }

    fn pending(client: &str) -> Entry {
        Entry {
            id: None,
            client_id: Some(client.to_owned()),
            kind: SenderKind::Agent,
            agent: None,
            sender_name: None,
            body: "hi".into(),
            at: None,
            delivery: Delivery::Sending,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn the_address_selects_a_session() {
        let id = SessionId::new();
        assert_eq!(Selected::from_path("/agent"), Selected::Nothing);
        assert_eq!(Selected::from_path(&format!("/agent/sessions/{id}")), Selected::Session(id));
        assert_eq!(Selected::from_path(&format!("/agent/sessions/{id}/")), Selected::Session(id));
        assert_eq!(Selected::from_path("/agent/sessions/nope"), Selected::Invalid);
    }

    #[test]
    fn stored_messages_replace_their_pending_copy_once_and_keep_order() {
        let mut t = vec![pending("a")];
        upsert(&mut t, message(5, None), None);
        assert_eq!(t.iter().map(|e| e.id).collect::<Vec<_>>(), [Some(5), None], "pending stays last");
        upsert(&mut t, message(7, Some("a")), None);
        upsert(&mut t, message(7, Some("a")), None);
        assert_eq!(t.iter().map(|e| e.id).collect::<Vec<_>>(), [Some(5), Some(7)]);
        assert_eq!(t[1].delivery, Delivery::Sent);
        upsert(&mut t, message(6, None), None);
        assert_eq!(t.iter().map(|e| e.id).collect::<Vec<_>>(), [Some(5), Some(6), Some(7)]);
    }
}
