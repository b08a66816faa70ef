//! HTTP-level protections that apply to every route: security headers (a
//! Content-Security-Policy with a per-request nonce for Leptos' scripts,
//! `nosniff`, `Referrer-Policy`, `frame-ancestors`), the CSRF check on
//! state-changing requests, and the browser session cookie.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;

use crate::AppState;

/// Settings that differ between development and production.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Production: cookies are `Secure`.
    pub production: bool,
    /// `PUBLIC_URL`'s origin (e.g. `https://support.example.com`). When set,
    /// state-changing browser requests must come from it; otherwise from the
    /// request's own `Host`.
    pub public_origin: Option<String>,
}

/// The CSP nonce of this request; Leptos puts it on its inline scripts.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

pub use app::ssr::{SESSION_COOKIE, clear_session_cookie, session_cookie, session_token};

/// The signed-in areas. An anonymous visit is redirected to the login page,
/// which comes back afterwards.
const GUARDED: [&str; 2] = ["/agent", "/admin"];

/// Redirects page requests for the signed-in areas to `/login?next=…` when
/// the request has no valid session. (The pages check again when rendering,
/// for client-side navigation after a session ended.)
pub async fn require_sign_in(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let guarded = GUARDED.iter().any(|g| path == *g || path.starts_with(&format!("{g}/")));
    if !guarded || *request.method() != Method::GET {
        return next.run(request).await;
    }
    let signed_in = match session_token(request.headers()) {
        Some(token) => matches!(domain::auth::authenticate_session(&state.pool, &token).await, Ok(Some(_))),
        None => false,
    };
    if signed_in {
        return next.run(request).await;
    }
    let target = request.uri().path_and_query().map_or(path, |pq| pq.as_str());
    let location = app::auth::login_path(target);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Records the TCP peer's address as [`app::ssr::ClientIp`] for rate limits
/// and the audit log. (Behind a reverse proxy this is the proxy: configure
/// the proxy to rate-limit by client, or extend this with a trusted
/// `X-Forwarded-For`.)
pub async fn client_ip(mut request: Request, next: Next) -> Response {
    let peer =
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = peer {
        request.extensions_mut().insert(app::ssr::ClientIp(ip));
    }
    next.run(request).await
}

/// Sign-in endpoints: checked even without a cookie, against login CSRF
/// (signing a victim into the attacker's account).
const SIGN_IN_PATHS: [&str; 2] = ["/api/v1/auth/login", "/api/auth/login"];

/// Rejects cross-site state-changing requests made with the browser's
/// ambient credentials: a request that carries the session cookie (or signs
/// in) must name this site in `Origin` (or, failing that, `Referer`).
/// Requests with an `Authorization` header (API and customer tokens) carry
/// their credential explicitly and are exempt, as are requests with no
/// cookie at all (they have nothing to abuse). GET never changes state.
pub async fn csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let ambient = session_token(request.headers()).is_some() || SIGN_IN_PATHS.contains(&request.uri().path());
    if safe || request.headers().contains_key(header::AUTHORIZATION) || !ambient {
        return next.run(request).await;
    }
    match same_origin(request.headers(), state.security.public_origin.as_deref()) {
        Ok(()) => next.run(request).await,
        Err(why) => {
            tracing::warn!(path = %request.uri().path(), why, "cross-site request refused");
            let body = serde_json::json!({ "error": {
                "code": "csrf",
                "message": format!("cross-site request refused: {why}"),
                "field": null,
            }});
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
    }
}

pub(crate) fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), &'static str> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_owned)
        .or_else(|| headers.get(header::REFERER).and_then(|v| v.to_str().ok()).and_then(origin_of))
        .ok_or("the request names no Origin or Referer")?;
    let expected_host = match public_origin {
        Some(public) => {
            return if origin.eq_ignore_ascii_case(public) { Ok(()) } else { Err("Origin is not this site") };
        }
        None => headers.get(header::HOST).and_then(|v| v.to_str().ok()).ok_or("the request has no Host")?,
    };
    let host = origin.split_once("://").map(|(_, rest)| rest).ok_or("Origin is not a URL origin")?;
    if host.eq_ignore_ascii_case(expected_host) { Ok(()) } else { Err("Origin is not this site") }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Adds the security headers. HTML responses get a CSP whose script source is
/// this request's nonce (placed in the request so that Leptos uses it);
/// everything else gets a CSP that allows nothing. Frames: only the customer
/// chat may be embedded, and only by the origins its account allows.
pub async fn headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let frame_ancestors = frame_ancestors(&state, request.uri().path()).await;
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let html = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        let csp = if html {
            format!(
                "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
                 style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
            )
        } else {
            format!("default-src 'none'; frame-ancestors {frame_ancestors}")
        };
        if let Ok(value) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// `'none'`, except for `/chat/{slug}`: that page may be framed by the
/// origins its account configured for the widget.
async fn frame_ancestors(state: &AppState, path: &str) -> String {
    let Some(slug) =
        path.strip_prefix("/chat/").map(|s| s.trim_end_matches('/')).filter(|s| !s.contains('/'))
    else {
        return "'none'".to_owned();
    };
    match domain::accounts::widget_origins_for_type(&state.pool, slug).await {
        Ok(origins) if !origins.is_empty() => format!("'self' {}", origins.join(" ")),
        Ok(_) => "'self'".to_owned(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read widget origins; refusing to be framed");
            "'none'".to_owned()
        }
    }
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
    fn same_origin_accepts_this_site_only() {
        let ok = headers(&[("host", "support.test:3000"), ("origin", "http://support.test:3000")]);
        assert!(same_origin(&ok, None).is_ok());
        let evil = headers(&[("host", "support.test:3000"), ("origin", "https://evil.test")]);
        assert_eq!(same_origin(&evil, None), Err("Origin is not this site"));
        let referer = headers(&[("host", "support.test"), ("referer", "https://support.test/agent?x=1")]);
        assert!(same_origin(&referer, None).is_ok());
        let none = headers(&[("host", "support.test")]);
        assert!(same_origin(&none, None).is_err());
        let null = headers(&[("host", "support.test"), ("origin", "null")]);
        assert!(same_origin(&null, None).is_err());
        let public = headers(&[("host", "10.0.0.5:3000"), ("origin", "https://support.example.com")]);
        assert!(same_origin(&public, Some("https://support.example.com")).is_ok());
        assert!(same_origin(&public, Some("https://other.example.com")).is_err());
    }
}
