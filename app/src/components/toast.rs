//! Toasts: short confirmations of an action, auto-dismissed and announced
//! politely; errors stay until dismissed and are announced at once.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
}

/// A page's toasts. Cheap to copy into handlers.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

/// How long a success toast stays.
const SUCCESS_MS: u64 = 5_000;
/// At most this many toasts are shown; older ones make room.
const MAX: usize = 4;

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

impl Toasts {
    pub fn new() -> Self {
        Self { list: RwSignal::new(Vec::new()), next: StoredValue::new(1) }
    }

    fn push(&self, kind: ToastKind, text: String) -> u64 {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Toast { id, kind, text });
            while l.len() > MAX {
                l.remove(0);
            }
        });
        id
    }

    /// A confirmation, dismissed after a few seconds.
    pub fn success(&self, text: impl Into<String>) {
        let id = self.push(ToastKind::Success, text.into());
        let this = *self;
        set_timeout(move || this.dismiss(id), std::time::Duration::from_millis(SUCCESS_MS));
    }

    /// A failure in plain words; stays until dismissed.
    pub fn error(&self, text: impl Into<String>) {
        self.push(ToastKind::Error, text.into());
    }

    pub fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

/// Where a page's toasts appear: bottom right, above everything.
#[component]
pub fn ToastRegion(toasts: Toasts) -> impl IntoView {
    let of_kind = move |kind: ToastKind| {
        move || toasts.list.with(|l| l.iter().filter(|t| t.kind == kind).cloned().collect::<Vec<_>>())
    };
    view! {
        <div class="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex flex-col items-center gap-2 px-4 sm:items-end">
            <div role="status" aria-live="polite" class="flex flex-col items-end gap-2" data-testid="toasts">
                <For each=of_kind(ToastKind::Success) key=|t| t.id let:t>
                    <p class="pointer-events-auto rounded-lg bg-slate-900 px-4 py-2 text-sm text-white shadow-lg">{t.text}</p>
                </For>
            </div>
            <div role="alert" class="flex flex-col items-end gap-2">
                <For each=of_kind(ToastKind::Error) key=|t| t.id let:t>
                    <div class="pointer-events-auto flex max-w-md items-start gap-3 rounded-lg border border-rose-200 bg-rose-50 px-4 py-2 text-sm text-rose-800 shadow-lg">
                        <p>{t.text}</p>
                        <button type="button" on:click=move |_| toasts.dismiss(t.id)
                            class="rounded font-medium text-rose-800 underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                            "Dismiss"
                        </button>
                    </div>
                </For>
            </div>
        </div>
    }
    .into_any()
}
