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
    /// `TRUSTED_PROXIES`: peers whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
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

/// Records the client's address as [`app::ssr::ClientIp`] for rate limits
/// and the audit log: the TCP peer, or, when the peer is a trusted proxy,
/// the address the proxies forwarded ([`TrustedProxies::client`]).
pub async fn client_ip(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer =
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let ip = state.security.trusted_proxies.client(peer, request.headers());
        request.extensions_mut().insert(app::ssr::ClientIp(ip));
    }
    next.run(request).await
}

/// The reverse proxies (`TRUSTED_PROXIES`, comma-separated CIDRs or
/// addresses) whose `X-Forwarded-For` / `Forwarded` headers name the
/// client. Empty (the default) trusts nobody: the client is the TCP peer,
/// whatever the headers say.
///
/// No crate was used for the header walk: `axum-client-ip` takes the
/// right-most `X-Forwarded-For` entry, which is right for exactly one proxy
/// but not for a chain (a load balancer in front of nginx) and knows no
/// trusted networks. The rule here is the usual one: read the hops right to
/// left (each proxy appends the address it got the request from), skip the
/// trusted ones, and take the first that is not; entries to its left were
/// written by the client and are ignored.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses `TRUSTED_PROXIES`; the error names the entry that is wrong.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{entry:?} is neither a CIDR such as 10.0.0.0/8 nor an IP address"))?;
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    /// `X-Forwarded-For` is read when present, else `Forwarded`, and only
    /// when `peer` is trusted. An entry that is not an address (`unknown`,
    /// an obfuscated name, garbage) ends the walk at the hop that wrote it.
    pub fn client(&self, peer: std::net::IpAddr, headers: &HeaderMap) -> std::net::IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop else { return client };
            client = *ip;
            if !self.trusts(*ip) {
                return client;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 addresses they are.
fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `X-Forwarded-For` (all its header lines, in order), or else
/// of `Forwarded`'s `for=` parameters, left to right; `None` for an entry
/// that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<std::net::IpAddr>> {
    let joined = |name: header::HeaderName| -> Option<String> {
        let values: Vec<&str> =
            headers.get_all(name).iter().map(|v| v.to_str().unwrap_or("not-an-address")).collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(xff) = joined(header::HeaderName::from_static("x-forwarded-for")) {
        return xff.split(',').map(|hop| parse_hop(hop.trim())).collect();
    }
    let Some(forwarded) = joined(header::FORWARDED) else { return Vec::new() };
    forwarded
        .split(',')
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value.trim().trim_matches('"')))
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = hop.parse::<std::net::IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(v6, _)| v6.parse().ok()).map(canonical);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|a| canonical(a.ip()))
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

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let xff = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(none.client(ip("10.0.0.2"), &xff), ip("10.0.0.2"), "trust nobody by default");

        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1,fd00::/8").expect("list");
        assert_eq!(trusted.client(ip("10.0.0.2"), &xff), ip("198.51.100.7"));
        assert_eq!(trusted.client(ip("203.0.113.9"), &xff), ip("203.0.113.9"), "untrusted peer");
        // A chain: the right-most untrusted hop; what the client wrote on
        // the left is ignored.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(trusted.client(ip("192.168.1.1"), &chain), ip("198.51.100.7"));
        // Several header lines read as one list.
        let lines = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &lines), ip("198.51.100.8"));
        // Ports, brackets, mapped addresses.
        let ported = headers(&[("x-forwarded-for", "[2001:db8::5]:4711")]);
        assert_eq!(trusted.client(ip("::ffff:10.0.0.2"), &ported), ip("2001:db8::5"));
        // Every hop trusted: the left-most.
        let inner = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &inner), ip("10.9.9.9"));
        // Garbage stops the walk at the proxy that wrote it.
        let junk = headers(&[("x-forwarded-for", "198.51.100.7, nonsense, 10.1.1.1")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &junk), ip("10.1.1.1"));
        // RFC 7239 Forwarded, when there is no X-Forwarded-For.
        let fwd = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https"#)]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &fwd), ip("2001:db8:cafe::17"));
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &hidden), ip("10.0.0.2"));
        // No header: the peer.
        assert_eq!(trusted.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));

        assert!(TrustedProxies::parse("").expect("empty").0.is_empty());
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.local").expect_err("bad");
        assert!(err.contains("proxy.local"), "{err}");
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
