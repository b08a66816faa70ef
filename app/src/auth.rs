//! Signing in and out in the browser. The server functions call the same
//! domain operations as `POST /api/v1/auth/login` and `/logout`; the session
//! lives server-side in PostgreSQL and the browser holds only an HttpOnly
//! cookie.

use domain::types::{AccountId, AgentId, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The signed-in agent, as pages need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: AgentId,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub account_id: Option<AccountId>,
}

/// Where to go after signing in: a path on this site, never elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/agent".to_owned(),
    }
}

/// The login page's address that comes back to `path` afterwards.
pub fn login_path(path: &str) -> String {
    let encoded: String = path
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/login?next={encoded}")
}

#[server(endpoint = "auth/whoami")]
pub async fn whoami() -> Result<Option<Me>, AppError> {
    Ok(crate::ssr::current_agent().await?.map(|s| Me {
        id: s.actor.id,
        display_name: s.display_name,
        email: s.email,
        role: s.actor.role,
        account_id: s.actor.account_id,
    }))
}

#[server(endpoint = "auth/login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let pool = ssr::pool()?;
    let outcome = domain::auth::login(
        &pool,
        domain::auth::LoginInput {
            email,
            password,
            ip: ssr::client_ip(),
            user_agent: ssr::user_agent(),
            replace_session: ssr::request_session_token(),
        },
    )
    .await?;
    let max_age = (outcome.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        http::header::SET_COOKIE,
        ssr::session_cookie(&outcome.token, max_age, ssr::secure_cookies()),
    );
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr;
    if let Some(token) = ssr::request_session_token() {
        domain::auth::logout(&ssr::pool()?, &token).await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(http::header::SET_COOKIE, ssr::clear_session_cookie(ssr::secure_cookies()));
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/admin?tab=audit")), "/admin?tab=audit");
        assert_eq!(safe_next(Some("//evil.test/x")), "/agent");
        assert_eq!(safe_next(Some("https://evil.test")), "/agent");
        assert_eq!(safe_next(Some("/\\evil.test")), "/agent");
        assert_eq!(safe_next(None), "/agent");
        assert_eq!(login_path("/admin?x=1"), "/login?next=/admin%3Fx%3D1");
    }
}
