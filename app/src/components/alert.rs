use leptos::prelude::*;

/// The error state of a card or page: what happened, in plain words.
#[component]
pub fn ErrorAlert(#[prop(into)] title: String, #[prop(into)] message: String) -> impl IntoView {
    view! {
        <div role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-4 text-sm text-rose-800">
            <p class="font-semibold">{title}</p>
            <p class="mt-1">{message}</p>
        </div>
    }
}
