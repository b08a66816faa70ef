//! A secret shown once (an API token, a webhook's signing secret, an
//! identity secret): the value in a read-only field, Copy, Done, and what
//! to do with it.

use leptos::prelude::*;

use crate::components::toast::Toasts;

const BUTTON: &str = "rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// Shows `shown`'s value until Done; nothing while it is `None`.
#[component]
pub fn ShownOnce(
    shown: RwSignal<Option<String>>,
    /// The field's accessible name ("New API token").
    label: &'static str,
    /// The field's id and the panel's test id.
    id: &'static str,
    testid: &'static str,
    /// The warning on top ("Copy this token now: it is not shown again.").
    warning: &'static str,
    /// What "Copy" confirms ("Token copied").
    copied: &'static str,
    toasts: Toasts,
    /// How to use it (a recipe), under the value.
    #[prop(optional)]
    children: Option<ChildrenFn>,
) -> impl IntoView {
    let children = StoredValue::new(children);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(s) = shown.get_untracked() {
            // The browser may refuse the clipboard; the value stays selectable.
            let _ = window().navigator().clipboard().write_text(&s);
        }
        toasts.success(copied);
    };
    move || {
        shown.get().map(|secret| {
            view! {
                <div role="status" class="space-y-2 rounded-xl border border-amber-300 bg-amber-50 p-4 text-sm" data-testid=testid>
                    <p class="font-medium text-amber-900">{warning}</p>
                    <label for=id class="sr-only">{label}</label>
                    <input id=id readonly value=secret.clone() prop:value=secret
                        class="block w-full rounded-lg border border-amber-300 bg-white px-3 py-2 font-mono text-xs"/>
                    {children.with_value(|c| c.as_ref().map(|c| c()))}
                    <div class="flex justify-end gap-2">
                        <button type="button" class=BUTTON on:click=copy>"Copy"</button>
                        <button type="button" class=BUTTON on:click=move |_| shown.set(None)>"Done"</button>
                    </div>
                </div>
            }
        })
    }
}
