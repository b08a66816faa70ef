//! The Leptos application: the HTML shell, the router, one module per page,
//! shared components, and thin server functions over `domain`.
// The support type editor's view type is deep (the hydrate build's layout).
#![recursion_limit = "256"]

pub mod auth;
pub mod components;
pub mod error;
pub mod live;
pub mod pages;
pub mod sending;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{ParentRoute, Route, Router, Routes},
};

pub use error::AppError;

/// The HTML document every page is rendered into.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full bg-slate-50" data-theme=crate::components::theme::for_request()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <MetaTags/>
            </head>
            <body class="h-full font-sans text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/switchboard.css"/>
        <Title formatter=|text: String| {
            if text.is_empty() { "Switchboard".to_owned() } else { format!("{text} · Switchboard") }
        }/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                // Async: the status card is part of the first HTML, so the page
                // is complete without JavaScript.
                <Route path=StaticSegment("") view=pages::home::Home ssr=SsrMode::Async/>
                <Route path=StaticSegment("login") view=pages::login::LoginPage/>
                <Route path=StaticSegment("search") view=pages::search::SearchPage ssr=SsrMode::Async/>
                // Async: the support type's name and greeting are in the first HTML.
                <Route path=(StaticSegment("chat"), ParamSegment("slug")) view=pages::chat::ChatPage ssr=SsrMode::Async/>
                // Async: the sign-in guard answers with a real redirect.
                // The workspace stays mounted (and its live link open) while
                // the open session changes: both addresses are children of
                // one parent route, and the page reads the session from the path.
                <ParentRoute path=StaticSegment("agent") view=pages::agent::AgentPage ssr=SsrMode::Async>
                    <Route path=StaticSegment("") view=pages::agent::NoSession ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("sessions"), ParamSegment("id"))
                        view=pages::agent::NoSession
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
                // The admin console; /admin is its overview (blasts and the audit log).
                <Route path=StaticSegment("admin") view=pages::admin::AdminOverview ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("admin"), StaticSegment("support-types"))
                    view=pages::admin::support_types::SupportTypesPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("support-types"), StaticSegment("new"))
                    view=pages::admin::support_types::NewSupportTypePage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("support-types"), ParamSegment("id"))
                    view=pages::admin::support_types::EditSupportTypePage
                    ssr=SsrMode::Async
                />
                <Route path=(StaticSegment("admin"), StaticSegment("agents")) view=pages::admin::agents::AgentsPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("tags")) view=pages::admin::tags::TagsPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("canned")) view=pages::admin::canned::CannedPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("accounts")) view=pages::admin::accounts::AccountsPage ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("admin"), StaticSegment("accounts"), ParamSegment("id"))
                    view=pages::admin::accounts::AccountPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("agents"), StaticSegment("new"))
                    view=pages::admin::agents::NewAgentPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("agents"), ParamSegment("id"))
                    view=pages::admin::agents::EditAgentPage
                    ssr=SsrMode::Async
                />
                <Route path=(StaticSegment("admin"), StaticSegment("blasts")) view=pages::admin::blasts::BlastsPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("audit")) view=pages::admin::AuditPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("reports")) view=pages::admin::reports::ReportsPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("monitor")) view=pages::admin::monitor::MonitorPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("webhooks")) view=pages::admin::webhooks::WebhooksPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("import")) view=pages::admin::import::ImportPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("admin"), StaticSegment("attachments")) view=pages::admin::attachments::AttachmentsPage ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("admin"), StaticSegment("import"), ParamSegment("id"))
                    view=pages::admin::import::ImportRunPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("reports"), StaticSegment("sessions"))
                    view=pages::admin::reports::ReportSessionsPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}
