//! `/blasts`: an admin's message to a segment of the account's customers,
//! sent in the background at a bounded rate, with progress counters.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    blasts::{self, BlastProgress, NewBlast},
    types::{AccountId, BlastId},
};
use serde::Deserialize;
use sqlx::PgPool;

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Deserialize)]
pub struct ListBlasts {
    /// Global admins only; others see their own account.
    pub account_id: Option<AccountId>,
}

/// The account's blasts, newest first (at most 200), with their progress.
/// Admins of the account.
#[utoipa::path(get, path = "/api/v1/blasts", tag = "blasts", params(("account_id" = Option<Uuid>, Query)),
    responses((status = 200, body = Vec<BlastProgress>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListBlasts>,
) -> ApiResult<Json<Vec<BlastProgress>>> {
    Ok(Json(blasts::list(&pool, &actor, q.account_id).await?))
}

/// Creates a blast: its recipients (the segment's customers) are fixed now,
/// and the blast worker posts the message into each one's open session (or a
/// new outbound session of `support_type_id`), at most `rate_per_minute` a
/// minute. Admins of the account.
#[utoipa::path(post, path = "/api/v1/blasts", tag = "blasts", request_body = domain::blasts::NewBlast,
    responses((status = 201, body = BlastProgress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewBlast>,
) -> ApiResult<(StatusCode, Json<BlastProgress>)> {
    Ok((StatusCode::CREATED, Json(blasts::create(&pool, &actor, input).await?)))
}

/// One blast with its progress counters. Admins of the account.
#[utoipa::path(get, path = "/api/v1/blasts/{id}", tag = "blasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = BlastProgress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BlastId>,
) -> ApiResult<Json<BlastProgress>> {
    Ok(Json(blasts::get(&pool, &actor, id).await?))
}

/// Cancels a pending or running blast: nothing more is sent and the
/// recipients not reached yet are counted as skipped. Cancelling a finished
/// blast changes nothing. Admins of the account.
#[utoipa::path(post, path = "/api/v1/blasts/{id}/cancel", tag = "blasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = BlastProgress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn cancel(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BlastId>,
) -> ApiResult<Json<BlastProgress>> {
    Ok(Json(blasts::cancel(&pool, &actor, id).await?))
}
