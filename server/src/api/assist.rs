//! `/sessions/{id}/suggestions`: suggested replies from the built-in
//! provider, and what the agent did with each (the same operations the agent
//! composer uses).

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    assist::{self, Outcome, Suggestion},
    types::SessionId,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{ApiActor, ApiJson, ApiPath, ApiResult, error::ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionList {
    /// Best first; empty when the last message is not the customer's or
    /// nothing matches it.
    pub items: Vec<Suggestion>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OutcomeBody {
    pub outcome: Outcome,
}

/// Suggested replies to the customer's latest messages, from the type's
/// canned replies and past answers, ranked with their score and source.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/suggestions", tag = "conversation", params(("id" = Uuid, Path)),
    responses((status = 200, body = SuggestionList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn suggestions(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<SuggestionList>> {
    Ok(Json(SuggestionList { items: assist::suggestions(&pool, &actor, id).await? }))
}

/// Records whether the agent accepted, edited or dismissed a suggestion.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/suggestions/{suggestion_id}/outcome", tag = "conversation",
    params(("id" = Uuid, Path), ("suggestion_id" = i64, Path)), request_body = OutcomeBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn outcome(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath((id, suggestion)): ApiPath<(SessionId, i64)>,
    ApiJson(body): ApiJson<OutcomeBody>,
) -> ApiResult<StatusCode> {
    assist::record_outcome(&pool, &actor, id, suggestion, body.outcome).await?;
    Ok(StatusCode::NO_CONTENT)
}
