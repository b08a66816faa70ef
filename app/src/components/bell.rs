//! The notification bell in the workspace's header: the unread count, kept
//! live by the page's link (`notification` frames), the latest alerts in a
//! panel, marking read, and two opt-ins remembered in this browser: desktop
//! notifications (the browser's Notification API, after its permission
//! prompt) and a short sound for a new assignment.
//!
//! The page that owns the live link provides a [`Bell`] as context and
//! hands it the frames; the header shows the button wherever one is
//! provided.

use domain::{live::ServerFrame, notifications::Notification, sessions::Page};
use leptos::prelude::*;

use crate::error::AppError;

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
/// How many alerts the panel shows.
const SHOWN: i64 = 20;
/// The browser's storage keys of the two opt-ins.
const DESKTOP_KEY: &str = "switchboard.bell.desktop";
const SOUND_KEY: &str = "switchboard.bell.sound";

#[cfg(feature = "ssr")]
use crate::ssr::caller;

/// How many of the caller's alerts are unread.
#[server(endpoint = "notifications/unread")]
pub async fn unread_count() -> Result<i64, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::notifications::unread_count(&pool, &actor).await?)
}

/// The caller's latest alerts, newest first.
#[server(endpoint = "notifications/recent")]
pub async fn recent() -> Result<Page<Notification>, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::notifications::list(&pool, &actor, None, Some(SHOWN), false).await?)
}

/// Marks one of the caller's alerts read.
#[server(endpoint = "notifications/read")]
pub async fn read_one(id: i64) -> Result<(), AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::notifications::mark_read(&pool, &actor, id).await?)
}

/// Marks all of the caller's alerts read; returns how many were unread.
#[server(endpoint = "notifications/read-all")]
pub async fn read_all() -> Result<u64, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::notifications::mark_all_read(&pool, &actor).await?)
}

/// The bell's state. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Bell {
    /// `None` until the first count arrived.
    pub unread: RwSignal<Option<i64>>,
    /// The panel's alerts, once it was opened.
    pub items: RwSignal<Option<Result<Vec<Notification>, AppError>>>,
    pub open: RwSignal<bool>,
    pub desktop: RwSignal<bool>,
    pub sound: RwSignal<bool>,
    /// What the screen reader hears of a new alert.
    pub announce: RwSignal<String>,
}

impl Default for Bell {
    fn default() -> Self {
        Self::new()
    }
}

impl Bell {
    pub fn new() -> Self {
        Self {
            unread: RwSignal::new(None),
            items: RwSignal::new(None),
            open: RwSignal::new(false),
            desktop: RwSignal::new(false),
            sound: RwSignal::new(false),
            announce: RwSignal::new(String::new()),
        }
    }

    /// Loads the count again (at the link's first welcome and after a
    /// resync: what happened while it was down).
    pub fn refresh(&self) {
        let this = *self;
        leptos::task::spawn_local(async move {
            if let Ok(n) = unread_count().await {
                this.unread.set(Some(n));
            }
            if this.open.get_untracked() {
                this.load_items();
            }
        });
    }

    fn load_items(&self) {
        let this = *self;
        leptos::task::spawn_local(async move {
            this.items.set(Some(recent().await.map(|p| p.items)));
        });
    }

    /// The page's live link hands every frame here; the bell takes its own.
    pub fn on_frame(&self, frame: &ServerFrame) {
        match frame {
            ServerFrame::Welcome { .. } | ServerFrame::Resync { .. } => self.refresh(),
            ServerFrame::Notification { notification, .. } => self.arrived(notification.clone()),
            _ => {}
        }
    }

    /// A new alert: counted, listed, announced, and (if opted in) shown on
    /// the desktop and sounded.
    fn arrived(&self, n: Notification) {
        let already = self.items.with_untracked(|i| {
            i.as_ref().and_then(|r| r.as_ref().ok()).is_some_and(|l| l.iter().any(|x| x.id == n.id))
        });
        if already {
            return;
        }
        if n.read_at.is_none() {
            self.unread.update(|u| *u = Some(u.unwrap_or(0) + 1));
        }
        self.announce.set(format!("New notification: {}", n.body));
        if self.desktop.get_untracked() {
            browser::desktop(&n);
        }
        if self.sound.get_untracked() && n.kind == domain::notifications::kind::SESSION_ASSIGNED {
            browser::chime();
        }
        self.items.update(|i| {
            if let Some(Ok(list)) = i {
                list.insert(0, n);
                list.truncate(SHOWN as usize);
            }
        });
    }

    fn mark_read_locally(&self, id: i64) {
        let mut was_unread = false;
        self.items.update(|i| {
            if let Some(Ok(list)) = i
                && let Some(n) = list.iter_mut().find(|n| n.id == id)
                && n.read_at.is_none()
            {
                n.read_at = Some(chrono::Utc::now());
                was_unread = true;
            }
        });
        if was_unread {
            self.unread.update(|u| *u = u.map(|n| (n - 1).max(0)));
        }
    }
}

/// The link an alert opens.
pub fn target(n: &Notification) -> Option<String> {
    n.session_id.map(|s| format!("/agent/sessions/{s}"))
}

/// "3 unread", for the button's name.
pub fn label(unread: Option<i64>) -> String {
    match unread {
        None | Some(0) => "Notifications".to_owned(),
        Some(1) => "Notifications, 1 unread".to_owned(),
        Some(n) => format!("Notifications, {n} unread"),
    }
}

/// The badge's text: the count, capped so it fits.
pub fn badge(unread: i64) -> String {
    if unread > 99 { "99+".to_owned() } else { unread.to_string() }
}

/// The header's bell button and its panel.
#[component]
pub fn BellButton(bell: Bell) -> impl IntoView {
    Effect::new(move |_| {
        bell.desktop.set(browser::remembered(DESKTOP_KEY) && browser::desktop_allowed());
        bell.sound.set(browser::remembered(SOUND_KEY));
        bell.refresh();
    });
    let toggle = move |_| {
        let opening = !bell.open.get_untracked();
        bell.open.set(opening);
        if opening {
            bell.load_items();
        }
    };
    let mark_all = move |_| {
        leptos::task::spawn_local(async move {
            if read_all().await.is_ok() {
                bell.unread.set(Some(0));
                bell.items.update(|i| {
                    if let Some(Ok(list)) = i {
                        let now = chrono::Utc::now();
                        for n in list.iter_mut().filter(|n| n.read_at.is_none()) {
                            n.read_at = Some(now);
                        }
                    }
                });
            }
        });
    };
    let on_desktop = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        browser::remember(DESKTOP_KEY, on);
        if on {
            leptos::task::spawn_local(async move {
                let allowed = browser::ask_desktop().await;
                bell.desktop.set(allowed);
                if !allowed {
                    browser::remember(DESKTOP_KEY, false);
                    bell.announce.set("The browser did not allow desktop notifications.".to_owned());
                }
            });
        } else {
            bell.desktop.set(false);
        }
    };
    let on_sound = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        browser::remember(SOUND_KEY, on);
        bell.sound.set(on);
        if on {
            // A click is the gesture browsers want before they play sound.
            browser::chime();
        }
    };
    let close_on_escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            bell.open.set(false);
        }
    };
    view! {
        <div class="relative" on:keydown=close_on_escape>
            <button type="button" data-testid="bell" aria-haspopup="true"
                aria-expanded=move || bell.open.get().to_string() aria-controls="bell-panel"
                aria-label=move || label(bell.unread.get())
                on:click=toggle
                class=format!("relative rounded-lg p-1.5 text-slate-600 hover:bg-slate-100 hover:text-slate-900 {FOCUS}")>
                <svg aria-hidden="true" viewBox="0 0 24 24" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">
                    <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>
                    <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>
                </svg>
                {move || bell.unread.get().filter(|n| *n > 0).map(|n| view! {
                    <span data-testid="bell-count" aria-hidden="true"
                        class="absolute -right-1 -top-1 min-w-[1.25rem] rounded-full bg-rose-600 px-1 text-center text-xs font-semibold leading-5 text-white">
                        {badge(n)}
                    </span>
                })}
            </button>
            <p class="sr-only" aria-live="polite">{move || bell.announce.get()}</p>
            <Show when=move || bell.open.get()>
                <div id="bell-panel" role="region" aria-label="Notifications"
                    class="absolute right-0 z-30 mt-2 w-80 max-w-[90vw] rounded-xl border border-slate-200 bg-white shadow-lg">
                    <div class="flex items-center justify-between border-b border-slate-200 px-3 py-2">
                        <h2 class="text-sm font-semibold text-slate-900">"Notifications"</h2>
                        <button type="button" on:click=mark_all disabled=move || bell.unread.get().unwrap_or(0) == 0
                            class=format!("rounded px-1.5 py-0.5 text-xs font-medium text-indigo-700 hover:bg-indigo-50 disabled:text-slate-400 {FOCUS}")>
                            "Mark all read"
                        </button>
                    </div>
                    <div class="max-h-96 overflow-y-auto">
                        {move || match bell.items.get() {
                            None => view! {
                                <div class="space-y-2 p-3" aria-busy="true" aria-label="Loading notifications">
                                    <div class="h-10 animate-pulse rounded-lg bg-slate-100"></div>
                                    <div class="h-10 animate-pulse rounded-lg bg-slate-100"></div>
                                </div>
                            }.into_any(),
                            Some(Err(e)) => view! {
                                <p role="alert" class="p-3 text-sm text-rose-700">"Cannot load notifications: " {e.user_message()}</p>
                            }.into_any(),
                            Some(Ok(list)) if list.is_empty() => view! {
                                <p class="p-3 text-sm text-slate-600">"Nothing yet. New assignments and handoffs appear here."</p>
                            }.into_any(),
                            Some(Ok(list)) => view! {
                                <ul class="divide-y divide-slate-100" data-testid="bell-items">
                                    {list.into_iter().map(|n| view! { <Item bell n/> }).collect_view()}
                                </ul>
                            }.into_any(),
                        }}
                    </div>
                    <fieldset class="space-y-1 border-t border-slate-200 px-3 py-2 text-sm text-slate-700">
                        <legend class="sr-only">"Alert me"</legend>
                        <label class="flex items-center gap-2">
                            <input type="checkbox" prop:checked=move || bell.desktop.get() on:change=on_desktop
                                class="h-4 w-4 rounded border-slate-300 text-indigo-600"/>
                            "Desktop notifications"
                        </label>
                        <label class="flex items-center gap-2">
                            <input type="checkbox" prop:checked=move || bell.sound.get() on:change=on_sound
                                class="h-4 w-4 rounded border-slate-300 text-indigo-600"/>
                            "Sound for a new assignment"
                        </label>
                    </fieldset>
                </div>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn Item(bell: Bell, n: Notification) -> impl IntoView {
    let id = n.id;
    let unread = n.read_at.is_none();
    let href = target(&n);
    let when = n.created_at.format("%H:%M").to_string();
    let mark = move |_| {
        bell.mark_read_locally(id);
        bell.open.set(false);
        leptos::task::spawn_local(async move {
            let _ = read_one(id).await;
        });
    };
    let body = n.body.clone();
    let text = view! {
        <span class="block text-slate-800">{body}</span>
        <span class="block text-xs text-slate-500">
            <time datetime=n.created_at.to_rfc3339()>{when}</time>
            {unread.then_some(" · unread")}
        </span>
    };
    let class = format!(
        "block w-full px-3 py-2 text-left text-sm hover:bg-slate-50 {FOCUS} {}",
        if unread { "border-l-4 border-indigo-500 bg-indigo-50/40" } else { "" }
    );
    view! {
        <li>
            {match href {
                Some(href) => view! { <a href=href on:click=mark class=class>{text}</a> }.into_any(),
                None => view! { <button type="button" on:click=mark class=class>{text}</button> }.into_any(),
            }}
        </li>
    }
}

/// What only a browser can do; nothing on the server.
mod browser {
    use super::*;

    pub fn remembered(key: &str) -> bool {
        #[cfg(feature = "hydrate")]
        {
            window().local_storage().ok().flatten().and_then(|s| s.get_item(key).ok().flatten()).as_deref()
                == Some("on")
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = key;
            false
        }
    }

    pub fn remember(key: &str, on: bool) {
        #[cfg(feature = "hydrate")]
        if let Some(s) = window().local_storage().ok().flatten() {
            let _ = if on { s.set_item(key, "on") } else { s.remove_item(key) };
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (key, on);
    }

    pub fn desktop_allowed() -> bool {
        #[cfg(feature = "hydrate")]
        {
            web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
        }
        #[cfg(not(feature = "hydrate"))]
        false
    }

    /// Asks the browser (it prompts once); whether it allows.
    pub async fn ask_desktop() -> bool {
        #[cfg(feature = "hydrate")]
        {
            if desktop_allowed() {
                return true;
            }
            let Ok(promise) = web_sys::Notification::request_permission() else { return false };
            let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
            answer.ok().and_then(|v| v.as_string()).as_deref() == Some("granted")
        }
        #[cfg(not(feature = "hydrate"))]
        false
    }

    pub fn desktop(n: &Notification) {
        #[cfg(feature = "hydrate")]
        {
            if !desktop_allowed() {
                return;
            }
            let options = web_sys::NotificationOptions::new();
            options.set_body(&n.body);
            options.set_tag(&format!("switchboard-{}", n.id));
            if let Ok(shown) = web_sys::Notification::new_with_options("Switchboard", &options)
                && let Some(href) = target(n)
            {
                let open = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                    let _ = window().focus();
                    let _ = window().location().set_href(&href);
                });
                shown.set_onclick(Some(wasm_bindgen::JsCast::unchecked_ref(open.as_ref())));
                open.forget();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = n;
    }

    /// A short two-note chime (Web Audio: no file to fetch).
    pub fn chime() {
        #[cfg(feature = "hydrate")]
        {
            let Ok(ctx) = web_sys::AudioContext::new() else { return };
            let _ = ctx.resume();
            let now = ctx.current_time();
            for (i, freq) in [880.0_f32, 1320.0].into_iter().enumerate() {
                let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else { return };
                let start = now + i as f64 * 0.15;
                osc.frequency().set_value(freq);
                let _ = gain.gain().set_value_at_time(0.12, start);
                let _ = gain.gain().exponential_ramp_to_value_at_time(0.001, start + 0.14);
                let _ = osc.connect_with_audio_node(&gain);
                let _ = gain.connect_with_audio_node(&ctx.destination());
                let _ = osc.start_with_when(start);
                let _ = osc.stop_with_when(start + 0.15);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_button_names_its_count() {
        assert_eq!(label(None), "Notifications");
        assert_eq!(label(Some(0)), "Notifications");
        assert_eq!(label(Some(1)), "Notifications, 1 unread");
        assert_eq!(label(Some(7)), "Notifications, 7 unread");
        assert_eq!(badge(7), "7");
        assert_eq!(badge(120), "99+");
    }
}
