//! Bearer-token authentication for the REST API: the [`ApiActor`] extractor.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use domain::actor::Actor;
use sqlx::PgPool;

use super::error::ApiError;

/// The authenticated caller of an API request: the agent (human or bot) that
/// owns the bearer token. Missing, malformed, unknown and revoked tokens are
/// all answered with the same 401.
#[derive(Debug, Clone, Copy)]
pub struct ApiActor(pub Actor);

impl<S> FromRequestParts<S> for ApiActor
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthenticated)?;
        let pool = PgPool::from_ref(state);
        match domain::tokens::authenticate(&pool, token).await? {
            Some(agent) => Ok(Self(Actor::Agent(agent))),
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive, as RFC 7235 says).
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
