//! The head row of the console's tables.

use leptos::prelude::*;

/// A `<thead>` with one column per label; an empty label is an actions
/// column, named for screen readers only.
#[component]
pub fn TableHead(columns: &'static [&'static str]) -> impl IntoView {
    view! {
        <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
            <tr>
                {columns.iter().map(|c| if c.is_empty() {
                    view! { <th scope="col" class="px-4 py-2"><span class="sr-only">"Actions"</span></th> }.into_any()
                } else {
                    view! { <th scope="col" class="px-4 py-2">{*c}</th> }.into_any()
                }).collect_view()}
            </tr>
        </thead>
    }
}
