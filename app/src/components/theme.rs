//! The colour theme of the agent and admin pages: light, dark, or the
//! system's (`prefers-color-scheme`). The palette swap itself is CSS, in one
//! place (`style/tailwind.css`); here is the choice: the `<html>` element's
//! `data-theme`, rendered by the server from the `sb_theme` cookie (so the
//! first paint is right, with no flash), and the header's toggle that
//! changes it at once and remembers it in that cookie.

use leptos::prelude::*;

use crate::AppError;

/// A reader's colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow the operating system's light or dark setting.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const COOKIE: &'static str = "sb_theme";

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The toggle's order: system → light → dark → system.
    fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }
}

/// The `data-theme` this request's page is rendered with: the remembered
/// choice, or the system's. `None` for the customer chat page (and its
/// embedded widget), which stays light whatever the visitor's setting, as
/// the sites that embed it expect.
pub fn for_request() -> Option<&'static str> {
    #[cfg(feature = "ssr")]
    {
        let parts = crate::ssr::request_parts()?;
        if parts.uri.path().starts_with("/chat/") {
            return None;
        }
        let chosen = crate::ssr::cookie(&parts.headers, Theme::COOKIE).and_then(|c| Theme::parse(&c));
        Some(chosen.unwrap_or_default().as_str())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Remembers the reader's theme (a year; HttpOnly like every cookie of ours,
/// since the server is the one that reads it).
#[server(endpoint = "theme")]
pub async fn set_theme(theme: String) -> Result<(), AppError> {
    let chosen = Theme::parse(theme.trim())
        .ok_or_else(|| domain::Error::invalid("theme", format!("{theme:?} is not light, dark or system")))?;
    let secure = if crate::ssr::secure_cookies() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}",
        Theme::COOKIE,
        chosen.as_str()
    );
    let value = http::HeaderValue::from_str(&cookie)
        .map_err(|e| AppError::from(domain::Error::internal("theme cookie", e.to_string())))?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(http::header::SET_COOKIE, value);
    Ok(())
}

/// The theme the page was rendered with: the server's reading of the
/// request, and in the browser the `<html>` element's, so both agree.
fn rendered() -> Theme {
    #[cfg(feature = "hydrate")]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("data-theme"))
            .and_then(|t| Theme::parse(&t))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        for_request().and_then(Theme::parse).unwrap_or_default()
    }
}

/// Shows the theme at once, before the server has remembered it.
fn show(_theme: Theme) {
    #[cfg(feature = "hydrate")]
    if let Some(html) = document().document_element() {
        let _ = html.set_attribute("data-theme", _theme.as_str());
    }
}

/// The header's theme button: each press moves to the next theme. A plain
/// form post without JavaScript (the server remembers it and sends the
/// reader back); with JavaScript the page changes at once and, if the
/// server refuses to remember it, changes back.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(rendered());
    let remember = ServerAction::<SetTheme>::new();
    let before = StoredValue::new(theme.get_untracked());
    Effect::new(move |_| {
        if let Some(Err(_)) = remember.value().get() {
            let was = before.get_value();
            theme.set(was);
            show(was);
        }
    });
    let press = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let now = theme.get_untracked();
        let next = now.next();
        before.set_value(now);
        theme.set(next);
        show(next);
        remember.dispatch(SetTheme { theme: next.as_str().to_owned() });
    };
    view! {
        <form method="post" action="/api/theme">
            <input type="hidden" name="theme" value=move || theme.get().next().as_str()/>
            <button type="submit" on:click=press data-testid="theme-toggle"
                aria-label=move || format!("Colour theme: {}. Switch to {}", theme.get().label(), theme.get().next().label())
                class="rounded-lg border border-slate-300 px-3 py-1.5 text-slate-700 hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                <span aria-hidden="true">{move || match theme.get() {
                    Theme::System => "◐ ",
                    Theme::Light => "☀ ",
                    Theme::Dark => "☾ ",
                }}</span>
                {move || theme.get().label()}
            </button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_read_back_and_cycle_through_all_three() {
        for t in [Theme::System, Theme::Light, Theme::Dark] {
            assert_eq!(Theme::parse(t.as_str()), Some(t));
        }
        assert_eq!(Theme::parse("Dark"), None);
        assert_eq!(Theme::parse(""), None);
        let mut seen = vec![Theme::default()];
        while seen.len() < 4 {
            seen.push(seen[seen.len() - 1].next());
        }
        assert_eq!(seen, [Theme::System, Theme::Light, Theme::Dark, Theme::System]);
    }
}
