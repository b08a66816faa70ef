//! Outbound HTTP to addresses that others choose: webhook targets, and the
//! files an imported export links to. One guard against server-side
//! request forgery for both.
//!
//! Internal targets are refused where it cannot be raced: the client's DNS
//! resolver ([`PublicResolver`]) drops private, loopback, link-local,
//! CGNAT and metadata addresses ([`crate::webhooks::is_private_ip`]), so
//! the address checked is the address connected to (no
//! check-then-resolve-again window for DNS rebinding). URLs that name an IP
//! literally never reach a resolver: [`refusal`] checks them before the
//! request, and a client that follows redirects checks every hop with it.
//! Clients use no HTTP proxy (a proxy would resolve the name itself, past
//! the check).

use std::{net::SocketAddr, sync::Arc};

use crate::webhooks;

/// Whether internal targets are allowed, asked at each resolution (so a
/// setting applied at startup reaches clients built before it).
pub type Allowance = Arc<dyn Fn() -> bool + Send + Sync>;

/// Resolves with the system resolver and refuses a name if any of its
/// addresses is internal (unless internal targets are allowed). Refusing
/// the whole name, not just its internal addresses, keeps a name that
/// mixes public and internal addresses from reaching the internal one on a
/// retry.
#[derive(Clone)]
pub struct PublicResolver {
    allow_private: Allowance,
}

impl PublicResolver {
    pub fn new(allow_private: Allowance) -> Self {
        Self { allow_private }
    }
}

/// Why a request was refused before it left; logs and skip lists show this
/// text.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(pub String);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private()
                && let Some(internal) = addrs.iter().find(|a| webhooks::is_private_ip(a.ip()))
            {
                let why = format!("{host} resolves to a private address ({})", internal.ip());
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A resolver that answers nothing: the fallback when a client cannot be
/// built safely.
#[derive(Debug, Clone, Copy)]
struct RefuseAll;

impl reqwest::dns::Resolve for RefuseAll {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            Err(Box::new(Refused("the outbound HTTP client is not available".into()))
                as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

/// `base` (timeouts, redirects, user agent) with no proxy and names
/// resolved by [`PublicResolver`].
pub fn client(base: reqwest::ClientBuilder, allow_private: Allowance) -> reqwest::Client {
    base.no_proxy().dns_resolver(Arc::new(PublicResolver::new(allow_private))).build().unwrap_or_else(|err| {
        // Building fails only without a TLS backend: then nothing could be
        // sent safely, so send nothing.
        tracing::error!(error = %err, "cannot build an outbound HTTP client; its requests will fail");
        reqwest::Client::builder().dns_resolver(Arc::new(RefuseAll)).no_proxy().build().unwrap_or_default()
    })
}

/// Why a URL must not be requested before any name is resolved: it is not
/// an http(s) URL, or it names an internal address literally.
pub fn refusal(url: &str) -> Option<String> {
    let Some(parsed) = webhooks::parse_url(url) else {
        return Some("refused: not an http(s) URL".to_owned());
    };
    let ip = webhooks::literal_ip(&parsed)?;
    webhooks::is_private_ip(ip).then(|| format!("refused: the URL points at a private address ({ip})"))
}

/// A redirect policy that follows up to `max` hops and checks each with
/// [`refusal`] (a redirect to an IP literal never reaches the resolver).
pub fn checked_redirects(max: usize, allow_private: Allowance) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= max {
            return attempt.error(Refused(format!("more than {max} redirects")));
        }
        let why = if allow_private() {
            webhooks::parse_url(attempt.url().as_str())
                .is_none()
                .then(|| "refused: redirected to a URL that is not http(s)".to_owned())
        } else {
            refusal(attempt.url().as_str())
        };
        match why {
            Some(why) => attempt.error(Refused(why.trim_start_matches("refused: ").to_owned())),
            None => attempt.follow(),
        }
    })
}

/// A failed request, for logs and lists: the guard's refusal if that was
/// the cause, else the error and its causes, never the URL (which may hold
/// credentials).
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut source = std::error::Error::source(&err);
    let mut text = err.to_string();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
