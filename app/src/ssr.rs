//! Server-only helpers for server functions: reading what the server provided
//! as context, and the browser session cookie (shared with the REST layer).

use crate::AppError;

/// The database pool the server provides to every render and server function.
pub fn pool() -> Result<sqlx::PgPool, AppError> {
    leptos::prelude::use_context::<sqlx::PgPool>()
        .ok_or_else(|| AppError::from(domain::Error::internal("context", "no PgPool in context")))
}

use http::{HeaderMap, HeaderValue, header};

pub const SESSION_COOKIE: &str = "sb_session";

/// `Set-Cookie` for a new browser session: HttpOnly, SameSite=Lax, Secure in
/// production, host-only, whole site.
pub fn session_cookie(token: &str, max_age_secs: i64, production: bool) -> HeaderValue {
    let secure = if production { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sb_session=; Path=/; Max-Age=0"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(production: bool) -> HeaderValue {
    if production {
        HeaderValue::from_static("sb_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure")
    } else {
        HeaderValue::from_static("sb_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The named cookie's value, if the request carries it (and it is not empty).
pub fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("v"),
            );
        }
        h
    }

    #[test]
    fn the_session_cookie_is_read_among_others_and_set_safely() {
        let h = headers(&[("cookie", "a=1; sb_session=ss_abc; b=2")]);
        assert_eq!(session_token(&h).as_deref(), Some("ss_abc"));
        assert_eq!(session_token(&headers(&[("cookie", "sb_session=")])), None);
        let dev = session_cookie("ss_x", 60, false);
        assert_eq!(dev, "sb_session=ss_x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
        let prod = session_cookie("ss_x", 60, true);
        assert!(prod.to_str().expect("ascii").ends_with("; Secure"));
    }
}

/// The client's IP address, put into the request by the server (from the
/// TCP peer) for rate limits and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

/// Whether cookies must be `Secure` (production). Provided by the server.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub secure: bool,
}

pub fn request_parts() -> Option<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>()
}

pub fn client_ip() -> Option<std::net::IpAddr> {
    request_parts().and_then(|p| p.extensions.get::<ClientIp>().map(|ip| ip.0))
}

pub fn user_agent() -> Option<String> {
    request_parts().and_then(|p| {
        p.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect())
    })
}

pub fn request_session_token() -> Option<String> {
    request_parts().and_then(|p| session_token(&p.headers))
}

pub fn secure_cookies() -> bool {
    leptos::prelude::use_context::<CookiePolicy>().is_some_and(|p| p.secure)
}

/// The agent signed in with this request's session cookie, if any.
pub async fn current_agent() -> Result<Option<domain::auth::SessionAgent>, AppError> {
    let Some(token) = request_session_token() else { return Ok(None) };
    Ok(domain::auth::authenticate_session(&pool()?, &token).await?)
}

/// The signed-in agent, or `Unauthenticated`.
pub async fn require_agent() -> Result<domain::auth::SessionAgent, AppError> {
    current_agent()
        .await?
        .ok_or_else(|| AppError::from(domain::Error::Unauthenticated { message: "sign in first".to_owned() }))
}

/// The signed-in agent as the domain's actor, with the pool: what a server
/// function for agents and admins starts with.
pub async fn caller() -> Result<(sqlx::PgPool, domain::actor::Actor), AppError> {
    let me = require_agent().await?;
    Ok((pool()?, domain::actor::Actor::Agent(me.actor)))
}

/// Sets the HTTP status (and `Retry-After`) for a domain error when the
/// current request is a server-function call (page renders keep their own
/// status). The status is the domain's one mapping, as in the REST API.
pub fn set_error_status(err: &domain::Error) {
    let Some(parts) = request_parts() else { return };
    let is_server_fn = parts.uri.path().starts_with("/api/");
    // A plain form post (no JavaScript) is answered with a redirect back to
    // the form, which shows the error (server_fn's form redirects): that
    // answer keeps its 302.
    let from_plain_form = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() else { return };
    if !is_server_fn || from_plain_form {
        return;
    }
    response.set_status(
        http::StatusCode::from_u16(err.http_status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let Some(secs) = err.retry_after_secs() {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

/// The attachments' object store (imports keep their files there).
pub fn files() -> Result<domain::attachments::Files, AppError> {
    leptos::prelude::use_context::<domain::attachments::Files>()
        .ok_or_else(|| AppError::from(domain::Error::internal("context", "no file store in context")))
}
