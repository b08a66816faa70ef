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

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftList {
    /// Oldest first; empty unless the session's bot (mode `drafts`) owns it
    /// and has written replies that wait for a person.
    pub items: Vec<domain::bot::Draft>,
}

/// The replies a bot in mode `drafts` wrote for this session, waiting for a
/// person to send, edit or discard them. Agents and bots who see the session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/drafts", tag = "conversation", params(("id" = Uuid, Path)),
    responses((status = 200, body = DraftList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn drafts(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<DraftList>> {
    Ok(Json(DraftList { items: domain::bot::drafts(&pool, &actor, id).await? }))
}

/// Sends (as written, or with `body` edited) or discards a bot's draft. The
/// message is the bot's, refused with 409 `not_owner` once the bot no longer
/// owns the session; a draft already decided is 409 `draft_decided`.
/// Returns the message sent, or nothing for a discard.
#[utoipa::path(post, path = "/api/v1/drafts/{draft_id}", tag = "conversation", params(("draft_id" = i64, Path)),
    request_body = domain::bot::DraftDecision,
    responses((status = 200, body = Option<domain::conversation::Message>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_draft(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(draft): ApiPath<i64>,
    ApiJson(body): ApiJson<domain::bot::DraftDecision>,
) -> ApiResult<Json<Option<domain::conversation::Message>>> {
    Ok(Json(domain::bot::decide_draft(&pool, &actor, draft, body).await?))
}

/// The customer says the bot's answer helped: the bot resolves the session
/// (a `confirmed` resolution in the reports). Customers only, while a bot
/// owns the session and has answered; otherwise 409 `no_bot_answer`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/helped", tag = "chat", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn helped(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<StatusCode> {
    domain::bot::helped(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
