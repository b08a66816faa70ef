//! Bearer-token authentication for the REST API: the [`ApiActor`] extractor.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use domain::actor::Actor;
use sqlx::PgPool;

use super::error::ApiError;

/// The authenticated caller of an API request:
/// - `Authorization: Bearer sb_…`: the agent or bot owning the API token;
/// - `Authorization: Bearer sc_…`: the customer of one chat session;
/// - otherwise the browser session cookie of a signed-in agent (state-changing
///   cookie requests have passed the CSRF check by the time they get here).
///
/// Missing, malformed, unknown, expired and revoked credentials are all
/// answered with the same 401.
#[derive(Debug, Clone, Copy)]
pub struct ApiActor(pub Actor);

impl<S> FromRequestParts<S> for ApiActor
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let pool = PgPool::from_ref(state);
        let actor = match bearer_token(parts) {
            Some(token) if token.starts_with("sc_") => {
                domain::auth::authenticate_customer(&pool, token).await?.map(Actor::Customer)
            }
            Some(token) => domain::tokens::authenticate(&pool, token).await?.map(Actor::Agent),
            None => match app::ssr::session_token(&parts.headers) {
                Some(cookie) => {
                    domain::auth::authenticate_session(&pool, &cookie).await?.map(|s| Actor::Agent(s.actor))
                }
                None => None,
            },
        };
        actor.map(Self).ok_or(ApiError::Unauthenticated)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive, as RFC 7235 says).
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The client's IP address as the server recorded it (see
/// `security::client_ip`).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<app::ssr::ClientIp>().map(|ip| ip.0)))
    }
}
