//! The browser end of the real-time link (`/ws`): one WebSocket that
//! reconnects by itself (backoff, and at once when the network comes back),
//! says where it stopped (`after`), applies every durable event once, pings
//! to notice a dead link, and re-sends its subscriptions after a reconnect.
//!
//! On the server this is inert: pages render their state from server
//! functions and go live once hydrated.

use domain::{
    live::{ClientFrame, ServerFrame},
    types::SessionId,
};
use leptos::prelude::*;

/// What the page tells the user about the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Live,
    /// Lost; trying again.
    Reconnecting,
    /// The browser says there is no network.
    Offline,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Live => "Connected",
            Self::Reconnecting => "Connection lost. Reconnecting…",
            Self::Offline => "You are offline. Messages will arrive when you are back.",
        }
    }
}

/// A handle on the page's link. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct LiveLink {
    pub state: ReadSignal<LinkState>,
    #[cfg(feature = "hydrate")]
    inner: StoredValue<Option<send_wrapper::SendWrapper<client::Shared>>>,
}

impl LiveLink {
    /// Sends a frame now if the link is up; ephemeral frames (typing, read)
    /// are simply dropped while it is down.
    pub fn send(&self, frame: &ClientFrame) {
        #[cfg(feature = "hydrate")]
        self.inner.try_with_value(|i| {
            if let Some(i) = i {
                client::send(i, frame);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = frame;
    }

    /// Follows a session's conversation, now and after every reconnect.
    pub fn subscribe(&self, session_id: SessionId) {
        #[cfg(feature = "hydrate")]
        self.inner.try_with_value(|i| {
            if let Some(i) = i {
                i.borrow_mut().subscriptions.insert(session_id);
                client::send(i, &ClientFrame::Subscribe { session_id });
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = session_id;
    }

    pub fn unsubscribe(&self, session_id: SessionId) {
        #[cfg(feature = "hydrate")]
        self.inner.try_with_value(|i| {
            if let Some(i) = i {
                i.borrow_mut().subscriptions.remove(&session_id);
                client::send(i, &ClientFrame::Unsubscribe { session_id });
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = session_id;
    }
}

/// Opens the link for this page (in the browser; a no-op on the server).
/// `token` is a customer's chat token; agents are known by their cookie.
/// `on_frame` gets every frame once, durable ones in event order.
pub fn connect(token: Option<String>, on_frame: impl Fn(ServerFrame) + 'static) -> LiveLink {
    let (state, set_state) = signal(LinkState::Connecting);
    #[cfg(feature = "hydrate")]
    {
        let shared = client::start(token, std::rc::Rc::new(on_frame), set_state);
        let inner = StoredValue::new(Some(send_wrapper::SendWrapper::new(shared.clone())));
        let closing = send_wrapper::SendWrapper::new(shared);
        on_cleanup(move || client::stop(&closing));
        LiveLink { state, inner }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (token, on_frame, set_state);
        LiveLink { state }
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::{
        cell::RefCell,
        collections::{BTreeSet, HashSet, VecDeque},
        rc::Rc,
        time::Duration,
    };

    use super::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    /// How often the client pings; a link silent for `DEAD_AFTER` is
    /// closed and opened again.
    const PING_EVERY: Duration = Duration::from_secs(20);
    const DEAD_AFTER_MS: f64 = 45_000.0;
    /// Event ids remembered to skip duplicates (replay overlaps live).
    const SEEN: usize = 2048;

    pub type Shared = Rc<RefCell<Inner>>;

    pub struct Inner {
        ws: Option<WebSocket>,
        token: Option<String>,
        last_event_id: i64,
        seen: HashSet<i64>,
        seen_order: VecDeque<i64>,
        pub subscriptions: BTreeSet<SessionId>,
        on_frame: Rc<dyn Fn(ServerFrame)>,
        set_state: WriteSignal<LinkState>,
        backoff_ms: u32,
        stopped: bool,
        last_heard: f64,
        handlers: Vec<Closure<dyn FnMut(JsValueEvent)>>,
        ticker: Option<IntervalHandle>,
        listeners: Vec<WindowListenerHandle>,
        generation: u64,
    }

    /// Any DOM event; the closures downcast.
    type JsValueEvent = wasm_bindgen::JsValue;

    pub fn start(
        token: Option<String>,
        on_frame: Rc<dyn Fn(ServerFrame)>,
        set_state: WriteSignal<LinkState>,
    ) -> Shared {
        let shared = Rc::new(RefCell::new(Inner {
            ws: None,
            token,
            last_event_id: 0,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            subscriptions: BTreeSet::new(),
            on_frame,
            set_state,
            backoff_ms: 500,
            stopped: false,
            last_heard: js_sys::Date::now(),
            handlers: Vec::new(),
            ticker: None,
            listeners: Vec::new(),
            generation: 0,
        }));
        let weak = Rc::downgrade(&shared);
        let ticker = set_interval_with_handle(
            move || {
                let Some(s) = weak.upgrade() else { return };
                let (open, silent) = {
                    let i = s.borrow();
                    let open = i.ws.as_ref().is_some_and(|w| w.ready_state() == WebSocket::OPEN);
                    (open, js_sys::Date::now() - i.last_heard > DEAD_AFTER_MS)
                };
                if open && silent {
                    // Half-open link: drop it and start over.
                    close_socket(&s);
                    schedule(&s, 0);
                } else if open {
                    send(&s, &ClientFrame::Ping);
                }
            },
            PING_EVERY,
        )
        .ok();
        let (on, off) = (Rc::downgrade(&shared), Rc::downgrade(&shared));
        let online = window_event_listener(leptos::ev::online, move |_| {
            if let Some(s) = on.upgrade() {
                s.borrow_mut().backoff_ms = 500;
                open(&s);
            }
        });
        let offline = window_event_listener(leptos::ev::offline, move |_| {
            if let Some(s) = off.upgrade() {
                close_socket(&s);
                s.borrow().set_state.set(LinkState::Offline);
            }
        });
        {
            let mut i = shared.borrow_mut();
            i.ticker = ticker;
            i.listeners = vec![online, offline];
        }
        open(&shared);
        shared
    }

    pub fn stop(shared: &Shared) {
        let mut i = shared.borrow_mut();
        i.stopped = true;
        if let Some(t) = i.ticker.take() {
            t.clear();
        }
        for l in i.listeners.drain(..) {
            l.remove();
        }
        if let Some(ws) = i.ws.take() {
            ws.set_onclose(None);
            let _ = ws.close();
        }
        i.handlers.clear();
    }

    pub fn send(shared: &Shared, frame: &ClientFrame) {
        let i = shared.borrow();
        if let Some(ws) = i.ws.as_ref().filter(|w| w.ready_state() == WebSocket::OPEN)
            && let Ok(text) = serde_json::to_string(frame)
        {
            let _ = ws.send_with_str(&text);
        }
    }

    fn url() -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
        Some(format!("{scheme}://{}/ws", location.host().ok()?))
    }

    fn close_socket(shared: &Shared) {
        let mut i = shared.borrow_mut();
        i.generation += 1;
        if let Some(ws) = i.ws.take() {
            ws.set_onclose(None);
            ws.set_onmessage(None);
            ws.set_onopen(None);
            let _ = ws.close();
        }
        i.handlers.clear();
    }

    fn schedule(shared: &Shared, delay_ms: u32) {
        let weak = Rc::downgrade(shared);
        set_timeout(
            move || {
                if let Some(s) = weak.upgrade() {
                    open(&s);
                }
            },
            Duration::from_millis(u64::from(delay_ms)),
        );
    }

    fn open(shared: &Shared) {
        if shared.borrow().stopped {
            return;
        }
        if window().navigator().on_line() {
            shared.borrow().set_state.update(|s| {
                if *s != LinkState::Live {
                    *s = if *s == LinkState::Connecting {
                        LinkState::Connecting
                    } else {
                        LinkState::Reconnecting
                    }
                }
            });
        } else {
            shared.borrow().set_state.set(LinkState::Offline);
            return; // the `online` event opens it
        }
        close_socket(shared);
        let Some(url) = url() else { return };
        let Ok(ws) = WebSocket::new(&url) else {
            retry(shared);
            return;
        };
        let generation = shared.borrow().generation;

        let weak = Rc::downgrade(shared);
        let on_open = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            let Some(s) = weak.upgrade() else { return };
            let hello = {
                let i = s.borrow();
                ClientFrame::Hello {
                    token: i.token.clone(),
                    after: (i.last_event_id > 0).then_some(i.last_event_id),
                }
            };
            send(&s, &hello);
            let subs: Vec<SessionId> = s.borrow().subscriptions.iter().copied().collect();
            for session_id in subs {
                send(&s, &ClientFrame::Subscribe { session_id });
            }
        });
        let weak = Rc::downgrade(shared);
        let on_message = Closure::<dyn FnMut(JsValueEvent)>::new(move |e: JsValueEvent| {
            let Some(s) = weak.upgrade() else { return };
            let Some(text) = e.dyn_into::<MessageEvent>().ok().and_then(|m| m.data().as_string()) else {
                return;
            };
            s.borrow_mut().last_heard = js_sys::Date::now();
            let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else { return };
            deliver(&s, frame);
        });
        let weak = Rc::downgrade(shared);
        let on_close = Closure::<dyn FnMut(JsValueEvent)>::new(move |e: JsValueEvent| {
            let Some(s) = weak.upgrade() else { return };
            if s.borrow().generation != generation {
                return;
            }
            let code = e.dyn_into::<CloseEvent>().map(|c| c.code()).unwrap_or(1006);
            s.borrow_mut().ws = None;
            if code == 4401 {
                // Not signed in (or the chat ended): nothing to retry.
                let i = s.borrow();
                i.set_state.set(LinkState::Reconnecting);
                (i.on_frame)(ServerFrame::Error {
                    code: "unauthenticated".into(),
                    message: "This conversation is no longer available here.".into(),
                });
                return;
            }
            retry(&s);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut i = shared.borrow_mut();
        i.handlers = vec![on_open, on_message, on_close];
        i.ws = Some(ws);
        i.last_heard = js_sys::Date::now();
    }

    fn retry(shared: &Shared) {
        let delay = {
            let mut i = shared.borrow_mut();
            if i.stopped {
                return;
            }
            let d = i.backoff_ms;
            i.backoff_ms = (i.backoff_ms * 2).min(10_000);
            i.set_state.set(if window().navigator().on_line() {
                LinkState::Reconnecting
            } else {
                LinkState::Offline
            });
            // Jitter, so a restarted server is not hit by everyone at once.
            d / 2 + (js_sys::Math::random() * f64::from(d / 2)) as u32
        };
        schedule(shared, delay);
    }

    fn deliver(shared: &Shared, frame: ServerFrame) {
        if let Some(id) = frame.event_id() {
            let mut i = shared.borrow_mut();
            if !i.seen.insert(id) {
                return;
            }
            i.seen_order.push_back(id);
            if i.seen_order.len() > SEEN
                && let Some(old) = i.seen_order.pop_front()
            {
                i.seen.remove(&old);
            }
            i.last_event_id = i.last_event_id.max(id);
        }
        match &frame {
            ServerFrame::Welcome { last_event_id } | ServerFrame::Resync { last_event_id } => {
                let mut i = shared.borrow_mut();
                i.last_event_id = i.last_event_id.max(*last_event_id);
                i.backoff_ms = 500;
                i.set_state.set(LinkState::Live);
            }
            ServerFrame::Pong => return,
            _ => {}
        }
        let on_frame = shared.borrow().on_frame.clone();
        on_frame(frame);
    }
}
