//! `/sessions/{id}/csat`: the customer's rating of a resolved session.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    csat::{self, Csat, SubmitCsat},
    types::SessionId,
};
use sqlx::PgPool;

use super::{ApiActor, ApiJson, ApiPath, ApiResult, error::ErrorBody};

/// The session's rating; 404 `not_found` while it has none.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/csat", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::csat::Csat), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Csat>> {
    let rating = csat::get(&pool, &actor, id).await?.ok_or_else(|| domain::Error::not_found("rating"))?;
    Ok(Json(rating))
}

/// Rates a resolved session, once. Only the session's customer (or the
/// system) may rate it: customers are not API clients yet, so agents and
/// bots calling this get 403.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/csat", tag = "sessions", params(("id" = Uuid, Path)),
    request_body = domain::csat::SubmitCsat,
    responses((status = 201, body = domain::csat::Csat), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(input): ApiJson<SubmitCsat>,
) -> ApiResult<(StatusCode, Json<Csat>)> {
    Ok((StatusCode::CREATED, Json(csat::submit(&pool, &actor, id, input).await?)))
}

/// Asks the customer of a resolved session for a rating, also when the
/// type does not ask by itself: their chat page shows the form. The
/// session's last agent, a supervisor or an admin may ask; asking again
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/csat/request", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<StatusCode> {
    csat::request(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
