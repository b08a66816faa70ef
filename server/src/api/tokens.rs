//! `/agents/{id}/tokens` and `/tokens/{id}`: API tokens of agents and bots.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    tokens::{self, ApiToken},
    types::{AgentId, TokenId},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{ApiActor, ApiJson, ApiPath, ApiResult, error::ErrorBody};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewTokenBody {
    /// What the token is for; at most 100 characters.
    pub label: String,
}

/// A new token with its secret, which is shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// `sb_…`: send as `Authorization: Bearer <secret>`. Not stored; it
    /// cannot be shown again.
    pub secret: String,
}

/// Creates an API token for an agent or bot. Admins of the agent's account.
#[utoipa::path(post, path = "/api/v1/agents/{id}/tokens", tag = "agents", params(("id" = Uuid, Path)),
    request_body = NewTokenBody,
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
    body: Option<ApiJson<NewTokenBody>>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let body = body.map(|ApiJson(b)| b).unwrap_or_default();
    let (token, secret) = tokens::create(&pool, &actor, id, &body.label).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// An agent's tokens (never their secrets), newest first. Admins of the
/// agent's account and the agent themself.
#[utoipa::path(get, path = "/api/v1/agents/{id}/tokens", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<domain::tokens::ApiToken>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(tokens::list(&pool, &actor, id).await?))
}

/// Revokes a token; answers with the revoked token. Revoking twice changes
/// nothing. Admins of the agent's account and the agent themself.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::tokens::ApiToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<TokenId>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(tokens::revoke(&pool, &actor, id).await?))
}
