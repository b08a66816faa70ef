//! A modal dialog on the native `<dialog>` element: focus moves into it when
//! it opens (its first control), the rest of the page is inert so Tab stays
//! inside, Esc closes it, and focus returns to what opened it.

use leptos::{html, prelude::*};

#[component]
pub fn Modal(
    /// Opens and closes the dialog; set back to `false` when it closes by
    /// itself (Esc).
    open: RwSignal<bool>,
    #[prop(into)] title: String,
    #[prop(into)] id: String,
    /// Room for an image (a lightbox) rather than a form.
    #[prop(optional)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    #[cfg(feature = "hydrate")]
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(el) = dialog.get() else { return };
        if open.get() {
            if !el.open() {
                use wasm_bindgen::JsCast;
                opener.set_value(
                    document().active_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
                );
                let _ = el.show_modal();
            }
        } else if el.open() {
            el.close();
        }
    });
    // Closed by Esc or by the effect above: sync the signal and give focus
    // back to the control that opened the dialog.
    let on_close = move |_| {
        open.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(o) = opener.get_value() {
            let _ = o.focus();
        }
    };
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    view! {
        <dialog node_ref=dialog on:close=on_close aria-labelledby=labelled_by id=id
            class=format!("m-auto w-[calc(100%-2rem)] {} rounded-xl bg-white p-0 text-slate-900 shadow-lg backdrop:bg-slate-900/40",
                if wide { "max-w-4xl" } else { "max-w-md" })>
            <div class="space-y-4 p-5">
                <h2 id=title_id class="text-base font-semibold">{title}</h2>
                {children()}
            </div>
        </dialog>
    }
    .into_any()
}

/// A question before a change that cannot be taken back lightly: the
/// dialog's text, Cancel, and the button that does it (red, named after
/// what it does). Closes itself either way.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: String,
    #[prop(into)] id: String,
    /// The confirming button's label ("Archive Billing").
    #[prop(into)]
    confirm: Signal<String>,
    on_confirm: Callback<()>,
    children: Children,
) -> impl IntoView {
    view! {
        <Modal open title id>
            <div class="text-sm text-slate-600">{children()}</div>
            <div class="flex justify-end gap-2">
                <button type="button" on:click=move |_| open.set(false)
                    class="rounded-lg border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Cancel"
                </button>
                <button type="button"
                    on:click=move |_| { on_confirm.run(()); open.set(false); }
                    class="rounded-lg bg-rose-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-rose-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    {move || confirm.get()}
                </button>
            </div>
        </Modal>
    }
}
