//! Files in chat, for the customer's page and the agent workspace alike:
//! - [`Tray`]: the files a composer is about to send. Each file uploads at
//!   once, in a request of its own (`POST /api/v1/sessions/{id}/attachments`),
//!   with its own progress bar and its own error; the message then carries
//!   the ids of the uploads that finished;
//! - [`AttachButton`] and the [`Tray`]'s paste and drop handlers: the three
//!   ways in;
//! - [`MessageFiles`]: a message's files in a transcript. Images show their
//!   server-made thumbnail with its size reserved (nothing jumps when it
//!   loads) and open in a lightbox with a download button; other files are
//!   cards with their name, size and type.
//!
//! Agents fetch files with their session cookie. A customer's page has only
//! its chat token, which an `<img>` cannot send, so it asks for short-lived
//! signed links ([`Links`]).

use std::collections::HashMap;

use domain::{
    attachments::{Attachment, AttachmentLink, size_label},
    types::{AttachmentId, SessionId},
};
use leptos::{html, prelude::*};

use crate::components::dialog::Modal;

const FOCUS: &str = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// Signed links by attachment, for a page that authenticates with a bearer token.
pub type Links = RwSignal<HashMap<AttachmentId, AttachmentLink>>;

/// Where one upload stands.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadState {
    /// The share sent so far, 0 to 1.
    Uploading(f64),
    Done(Attachment),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub key: u64,
    pub name: String,
    pub size: f64,
    pub state: UploadState,
}

/// The files a composer is about to send.
#[derive(Clone, Copy)]
// Uploads start in the browser only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct Tray {
    pub uploads: RwSignal<Vec<Upload>>,
    next: StoredValue<u64>,
    session: SessionId,
    /// The customer's chat token; agents send their cookie instead.
    bearer: Option<RwSignal<Option<String>>>,
}

impl Tray {
    pub fn new(session: SessionId, bearer: Option<RwSignal<Option<String>>>) -> Self {
        Self { uploads: RwSignal::new(Vec::new()), next: StoredValue::new(0), session, bearer }
    }

    /// The uploads that finished, in the order they were added.
    pub fn ready(&self) -> Vec<Attachment> {
        self.uploads.with_untracked(|u| {
            u.iter()
                .filter_map(|u| match &u.state {
                    UploadState::Done(a) => Some(a.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    /// Whether a file is still on its way (the message waits for it).
    pub fn uploading(&self) -> bool {
        self.uploads.with(|u| u.iter().any(|u| matches!(u.state, UploadState::Uploading(_))))
    }

    /// Empties the tray once its files went out with a message.
    pub fn clear(&self) {
        self.uploads.set(Vec::new());
    }

    pub fn remove(&self, key: u64) {
        self.uploads.update(|u| u.retain(|u| u.key != key));
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn set(&self, key: u64, state: UploadState) {
        self.uploads.update(|list| {
            if let Some(u) = list.iter_mut().find(|u| u.key == key) {
                u.state = state;
            }
        });
    }

    /// Starts uploading each file of `files`.
    #[cfg(feature = "hydrate")]
    pub fn add(&self, files: web_sys::FileList) {
        for i in 0..files.length() {
            if let Some(file) = files.get(i) {
                let key = self.next.get_value();
                self.next.set_value(key + 1);
                self.uploads.update(|u| {
                    u.push(Upload {
                        key,
                        name: file.name(),
                        size: file.size(),
                        state: UploadState::Uploading(0.0),
                    })
                });
                self.start(key, file);
            }
        }
    }

    #[cfg(feature = "hydrate")]
    fn start(self, key: u64, file: web_sys::File) {
        let url = format!("/api/v1/sessions/{}/attachments", self.session);
        crate::components::upload::post_file(
            &url,
            &file,
            self.bearer.and_then(|b| b.get_untracked()),
            // Stay below 1 until the server has answered.
            move |share| self.set(key, UploadState::Uploading(share.min(0.99))),
            move |answer| {
                let state = match answer.map(|text| serde_json::from_str::<Attachment>(&text)) {
                    Ok(Ok(a)) => UploadState::Done(a),
                    Ok(Err(_)) => UploadState::Failed("The server's answer could not be read.".to_owned()),
                    Err(why) => UploadState::Failed(why),
                };
                self.set(key, state);
            },
        );
    }

    /// A paste into the composer: pasted files (a screenshot) join the
    /// tray; pasted text is left to the text field.
    pub fn on_paste(self) -> impl Fn(leptos::ev::ClipboardEvent) + Copy + 'static {
        move |ev| {
            #[cfg(feature = "hydrate")]
            if let Some(files) = ev.clipboard_data().and_then(|d| d.files()).filter(|f| f.length() > 0) {
                ev.prevent_default();
                self.add(files);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = ev;
        }
    }

    /// A drop on the composer.
    pub fn on_drop(self) -> impl Fn(leptos::ev::DragEvent) + Copy + 'static {
        move |ev| {
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
                self.add(files);
            }
        }
    }
}

/// The message of an API error body (`{"error": {"message"}}`), as a sentence.
pub fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value["error"]["message"].as_str()?;
    let mut chars = message.chars();
    let first = chars.next()?.to_uppercase().collect::<String>();
    Some(format!("{first}{}.", chars.as_str().trim_end_matches('.')))
}

/// The paperclip: opens the file picker (several files at once).
#[component]
pub fn AttachButton(tray: Tray, #[prop(into)] id: String) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = input.get_untracked() {
            if let Some(files) = el.files() {
                tray.add(files);
            }
            // The same file may be picked again after a failure.
            el.set_value("");
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = tray;
    };
    view! {
        <input node_ref=input id=id type="file" multiple class="sr-only" tabindex="-1" aria-hidden="true"
            accept="image/*,application/pdf,text/plain,text/csv,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.rtf"
            data-testid="attach-input" on:change=on_change/>
        <button type="button" title="Attach files" aria-label="Attach files"
            on:click=move |_| { if let Some(el) = input.get_untracked() { el.click(); } }
            class=format!("rounded-lg border border-slate-300 px-3 py-2 text-sm text-slate-700 hover:bg-slate-50 {FOCUS}")>
            <svg aria-hidden="true" viewBox="0 0 20 20" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="1.6">
                <path d="M14.5 9.5 9 15a3.5 3.5 0 0 1-5-5l6.5-6.5a2.3 2.3 0 0 1 3.3 3.3L7.3 13.3a1.2 1.2 0 0 1-1.7-1.7L11 6.2" stroke-linecap="round" stroke-linejoin="round"/>
            </svg>
        </button>
    }
}

/// The files about to be sent: name, size, a progress bar while uploading,
/// the error if it failed, and a button to remove each.
#[component]
pub fn TrayView(tray: Tray) -> impl IntoView {
    view! {
        <Show when=move || tray.uploads.with(|u| !u.is_empty())>
            <ul class="mb-2 space-y-1" aria-label="Files to send" data-testid="upload-tray">
                {move || tray.uploads.get().into_iter().map(|u| {
                    let (key, name) = (u.key, u.name.clone());
                    let status = match &u.state {
                        UploadState::Uploading(p) => view! {
                            <progress max="1" value=p.to_string() aria-label=format!("Uploading {name}")
                                class="h-1.5 w-24 overflow-hidden rounded accent-indigo-600"></progress>
                        }.into_any(),
                        UploadState::Done(_) => view! { <span class="text-emerald-700" data-testid="upload-ready">"Ready"</span> }.into_any(),
                        UploadState::Failed(why) => view! {
                            <span class="text-rose-700" role="alert" data-testid="upload-error">{why.clone()}</span>
                        }.into_any(),
                    };
                    view! {
                        <li class="flex items-center gap-2 rounded-lg border border-slate-200 bg-slate-50 px-2 py-1 text-xs text-slate-700">
                            <span class="min-w-0 flex-1 truncate font-medium text-slate-900">{u.name.clone()}</span>
                            <span class="shrink-0">{size_label(u.size)}</span>
                            <span class="shrink-0">{status}</span>
                            <button type="button" on:click=move |_| tray.remove(key) aria-label=format!("Remove {}", u.name)
                                class=format!("shrink-0 rounded px-1 text-slate-600 hover:bg-slate-200 {FOCUS}")>"×"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Show>
    }
}

/// A message's files in a transcript.
#[component]
pub fn MessageFiles(
    attachments: Vec<Attachment>,
    /// Signed links (the customer's page); `None` uses the session cookie.
    #[prop(optional)]
    links: Option<Links>,
) -> impl IntoView {
    if attachments.is_empty() {
        return ().into_any();
    }
    view! {
        <ul class="mt-1 flex flex-wrap gap-2" aria-label="Attachments">
            {attachments.into_iter().map(|a| view! { <li><FileView a links/></li> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn FileView(a: Attachment, links: Option<Links>) -> impl IntoView {
    let (id, name) = (a.id, a.file_name.clone());
    let (path, thumb_path) = (a.path(), a.thumbnail_path());
    let url = move || match links {
        None => Some(path.clone()),
        Some(l) => l.with(|m| m.get(&id).map(|k| k.url.clone())),
    };
    match (a.thumbnail_width, a.thumbnail_height, a.width, a.height) {
        (Some(tw), Some(th), Some(w), Some(h)) => {
            let open = RwSignal::new(false);
            let thumb = move || match links {
                None => thumb_path.clone(),
                Some(l) => l.with(|m| m.get(&id).and_then(|k| k.thumbnail_url.clone())),
            };
            let url = StoredValue::new(url);
            let full = move || url.with_value(|u| u());
            view! {
                <button type="button" on:click=move |_| open.set(true) aria-label=format!("Open {name}")
                    data-testid="attachment-thumbnail"
                    class=format!("block overflow-hidden rounded-lg border border-slate-200 bg-slate-100 {FOCUS}")>
                    <img src=thumb width=tw height=th alt=name.clone() loading="lazy"
                        style=format!("aspect-ratio: {tw} / {th}") class="block h-auto max-w-full"/>
                </button>
                <Modal open title=name.clone() id=format!("lightbox-{id}") wide=true>
                    <div data-testid="lightbox" class="space-y-4">
                        <img src=full width=w height=h alt=name.clone() style=format!("aspect-ratio: {w} / {h}")
                            class="mx-auto block h-auto max-h-[70vh] w-auto max-w-full"/>
                        <div class="flex justify-end gap-2">
                            <a href=full download=name.clone()
                                class=format!("rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 {FOCUS}")>
                                "Download"
                            </a>
                            <button type="button" on:click=move |_| open.set(false)
                                class=format!("rounded-lg border border-slate-300 px-4 py-2 text-sm text-slate-700 hover:bg-slate-50 {FOCUS}")>
                                "Close"
                            </button>
                        </div>
                    </div>
                </Modal>
            }
            .into_any()
        }
        _ => {
            let kind = a.file_name.rsplit_once('.').map(|(_, e)| e.to_uppercase()).filter(|e| e.len() <= 4);
            let kind = kind.unwrap_or_else(|| a.kind.as_str().to_uppercase());
            view! {
                <a href=url download=name.clone() data-testid="attachment-file"
                    class=format!("flex max-w-xs items-center gap-3 rounded-lg border border-slate-200 bg-white px-3 py-2 text-left text-sm text-slate-900 hover:bg-slate-50 {FOCUS}")>
                    <span aria-hidden="true" class="rounded bg-slate-100 px-1.5 py-0.5 text-xs font-semibold text-slate-700">{kind}</span>
                    <span class="min-w-0">
                        <span class="block truncate font-medium">{name.clone()}</span>
                        <span class="block text-xs text-slate-600">{a.size_label()} " · " {a.content_type.clone()}</span>
                    </span>
                </a>
            }
            .into_any()
        }
    }
}

/// Fetches signed links for the files of `attachments` that have none yet.
/// Each link is asked for again shortly before it expires, so that a page
/// left open for hours keeps showing its images.
pub fn fetch_links(links: Links, token: String, attachments: Vec<AttachmentId>) {
    #[cfg(feature = "hydrate")]
    for id in attachments {
        if links.with_untracked(|m| m.contains_key(&id)) {
            continue;
        }
        request_link(links, token.clone(), id);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (links, token, attachments);
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// Links asked for and not answered yet: asked once, not on every change of the transcript.
    static ASKED: std::cell::RefCell<std::collections::HashSet<AttachmentId>> = Default::default();
}

/// Asks for `id`'s links; on the answer, stores them and asks again five
/// minutes before they expire (while the page holds them).
#[cfg(feature = "hydrate")]
fn request_link(links: Links, token: String, id: AttachmentId) {
    use wasm_bindgen::JsCast;
    if !ASKED.with(|a| a.borrow_mut().insert(id)) {
        return;
    }
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else { return };
    if xhr.open_with_async("GET", &format!("/api/v1/attachments/{id}/links"), true).is_err() {
        return;
    }
    let _ = xhr.set_request_header("Authorization", &format!("Bearer {token}"));
    let answered = xhr.clone();
    let done = wasm_bindgen::closure::Closure::once_into_js(move || {
        ASKED.with(|a| a.borrow_mut().remove(&id));
        let Some(link) = (answered.status().ok() == Some(200))
            .then(|| answered.response_text().ok().flatten())
            .flatten()
            .and_then(|t| serde_json::from_str::<AttachmentLink>(&t).ok())
        else {
            return;
        };
        let renew_in = link.expires_at.timestamp_millis() as f64 - js_sys::Date::now() - 5.0 * 60_000.0;
        // The page may be gone by now: then nothing is kept or renewed.
        if links.try_update(|m| m.insert(id, link)).is_some() {
            let wait = std::time::Duration::from_millis(renew_in.max(30_000.0) as u64);
            set_timeout(move || request_link(links, token, id), wait);
        }
    });
    xhr.set_onloadend(Some(done.unchecked_ref()));
    let _ = xhr.send();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_read_as_sentences() {
        let body = r#"{"error":{"code":"too_large","message":"the file is larger than this account's limit of 10 MiB","field":null}}"#;
        assert_eq!(
            error_message(body).as_deref(),
            Some("The file is larger than this account's limit of 10 MiB.")
        );
        assert_eq!(error_message("<html>"), None);
        assert_eq!(size_label(2_400_000.0), "2.4 MB");
    }
}
