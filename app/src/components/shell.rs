//! The signed-in frame: who is signed in, a sign-out button, and the guard
//! that sends anonymous visitors to `/login?next=…` and back.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::{
    auth::{Logout, Me, login_path, whoami},
    components::{
        alert::ErrorAlert,
        bell::{Bell, BellButton},
        theme::ThemeToggle,
    },
};

/// Renders `render(me)` with the signed-in agent, or redirects to the login
/// page (a real 302 on the server, since the routes render in async mode).
#[component]
pub fn RequireSignIn<F, V>(#[prop(into)] path: String, render: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let me = Resource::new_blocking(|| (), |_| whoami());
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || me.get().map(|result| match result {
                Ok(Some(me)) => view! { <SignedIn me=me.clone()/> {render(me)} }.into_any(),
                Ok(None) => view! { <Redirect path=login_path(&path)/> }.into_any(),
                Err(e) => view! {
                    <div class="p-6"><ErrorAlert title="Cannot check your sign-in" message=e.user_message()/></div>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn SignedIn(me: Me) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3 sm:px-6">
                <nav aria-label="Main" class="flex items-center gap-4 text-sm">
                    <a href="/" class="flex items-center gap-2 font-semibold tracking-tight">
                        <span aria-hidden="true" class="inline-block h-5 w-5 rounded-lg bg-indigo-600"></span>
                        "Switchboard"
                    </a>
                    <a href="/agent" class="rounded-lg px-2 py-1 text-slate-600 hover:text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">"Workspace"</a>
                    <a href="/admin" class="rounded-lg px-2 py-1 text-slate-600 hover:text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">"Admin"</a>
                </nav>
                <form method="get" action="/search" role="search" aria-label="Search sessions" class="order-last w-full sm:order-none sm:w-auto">
                    <label for="header-search" class="sr-only">"Search sessions"</label>
                    <input id="header-search" name="q" type="search" maxlength="200" placeholder="Search sessions…"
                        class="w-full rounded-lg border border-slate-300 px-3 py-1.5 text-sm sm:w-64 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                </form>
                <div class="flex items-center gap-3 text-sm">
                    // Where the page has a live link (the workspace), its bell.
                    {use_context::<Bell>().map(|bell| view! { <BellButton bell/> }.into_any())}
                    <span class="text-slate-600" data-testid="signed-in-as">
                        {me.display_name.clone()} " · " {me.role.to_string()}
                    </span>
                    <ThemeToggle/>
                    <ActionForm action=logout>
                        <button type="submit" class="rounded-lg border border-slate-300 px-3 py-1.5 text-slate-700 hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                            "Sign out"
                        </button>
                    </ActionForm>
                </div>
            </div>
        </header>
    }
}
