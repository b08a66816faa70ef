//! `/login`: e-mail and password. Works without JavaScript (a plain form
//! post to the server function), and comes back to `?next=` afterwards.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    auth::{Login, safe_next},
    components::alert::ErrorAlert,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || safe_next(query.read().get("next").as_deref());
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(Result::err).map(|e| e.user_message());

    view! {
        <Title text="Sign in"/>
        <main class="flex min-h-full items-center justify-center px-6 py-16">
            <div class="w-full max-w-sm">
                <a href="/" class="flex items-center justify-center gap-2 text-lg font-semibold tracking-tight">
                    <span aria-hidden="true" class="inline-block h-6 w-6 rounded-lg bg-indigo-600"></span>
                    "Switchboard"
                </a>
                <h1 class="mt-8 text-center text-2xl font-bold tracking-tight">"Sign in"</h1>
                <p class="mt-2 text-center text-sm text-slate-600">"For agents, supervisors and admins."</p>
                <div class="mt-8 rounded-xl border border-slate-200 bg-white p-6">
                    <ActionForm action=login attr:class="space-y-4" attr:aria-label="Sign in">
                        <input type="hidden" name="next" value=next/>
                        <div>
                            <label for="email" class="block text-sm font-medium text-slate-700">"E-mail address"</label>
                            <input id="email" name="email" type="email" autocomplete="username" required
                                class="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-none focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                        </div>
                        <div>
                            <label for="password" class="block text-sm font-medium text-slate-700">"Password"</label>
                            <input id="password" name="password" type="password" autocomplete="current-password" required
                                class="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                        </div>
                        <div aria-live="polite">
                            {move || error().map(|message| view! { <ErrorAlert title="Could not sign in" message/> })}
                        </div>
                        <button type="submit" disabled=move || login.pending().get()
                            class="w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">
                            {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
}
