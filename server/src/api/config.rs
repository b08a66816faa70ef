//! `/tags`, `/tag-rules` and `/canned-responses`: account configuration that
//! is not a support type or an agent.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    config::{
        self, CannedResponse, NewCannedResponse, NewTag, NewTagRule, Tag, TagRule, UpdateCannedResponse,
    },
    types::{AccountId, CannedResponseId, SupportTypeId, TagId, TagRuleId},
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use super::{AccountQuery, ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCanned {
    /// Global admins only; others see their own account.
    pub account_id: Option<AccountId>,
    /// The responses offered for this type (its own and the account-wide ones).
    pub support_type_id: Option<SupportTypeId>,
}

/// The account's tags, by name.
#[utoipa::path(get, path = "/api/v1/tags", tag = "configuration", params(AccountQuery),
    responses((status = 200, body = Vec<domain::config::Tag>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tags(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<Tag>>> {
    Ok(Json(config::list_tags(&pool, &actor, q.account_id).await?))
}

/// Creates a tag. Admins of the account.
#[utoipa::path(post, path = "/api/v1/tags", tag = "configuration", request_body = domain::config::NewTag,
    responses((status = 201, body = domain::config::Tag), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_tag(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewTag>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    Ok((StatusCode::CREATED, Json(config::create_tag(&pool, &actor, input).await?)))
}

/// Deletes a tag, its rules and its uses on sessions. Admins of the account.
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "configuration", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_tag(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<TagId>,
) -> ApiResult<StatusCode> {
    config::delete_tag(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's tag rules, oldest first.
#[utoipa::path(get, path = "/api/v1/tag-rules", tag = "configuration", params(AccountQuery),
    responses((status = 200, body = Vec<domain::config::TagRule>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tag_rules(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<TagRule>>> {
    Ok(Json(config::list_tag_rules(&pool, &actor, q.account_id).await?))
}

/// Creates a tag rule (and its tag, if new). Admins of the account.
#[utoipa::path(post, path = "/api/v1/tag-rules", tag = "configuration", request_body = domain::config::NewTagRule,
    responses((status = 201, body = domain::config::TagRule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_tag_rule(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewTagRule>,
) -> ApiResult<(StatusCode, Json<TagRule>)> {
    Ok((StatusCode::CREATED, Json(config::create_tag_rule(&pool, &actor, input).await?)))
}

/// Deletes a tag rule. Admins of the account.
#[utoipa::path(delete, path = "/api/v1/tag-rules/{id}", tag = "configuration", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_tag_rule(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<TagRuleId>,
) -> ApiResult<StatusCode> {
    config::delete_tag_rule(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's canned responses, by shortcut.
#[utoipa::path(get, path = "/api/v1/canned-responses", tag = "configuration", params(ListCanned),
    responses((status = 200, body = Vec<domain::config::CannedResponse>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn canned(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListCanned>,
) -> ApiResult<Json<Vec<CannedResponse>>> {
    Ok(Json(config::list_canned(&pool, &actor, q.account_id, q.support_type_id).await?))
}

/// Creates a canned response. Admins of the account.
#[utoipa::path(post, path = "/api/v1/canned-responses", tag = "configuration", request_body = domain::config::NewCannedResponse,
    responses((status = 201, body = domain::config::CannedResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_canned(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewCannedResponse>,
) -> ApiResult<(StatusCode, Json<CannedResponse>)> {
    Ok((StatusCode::CREATED, Json(config::create_canned(&pool, &actor, input).await?)))
}

/// Changes a canned response. Admins of the account.
#[utoipa::path(patch, path = "/api/v1/canned-responses/{id}", tag = "configuration", params(("id" = Uuid, Path)),
    request_body = domain::config::UpdateCannedResponse,
    responses((status = 200, body = domain::config::CannedResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_canned(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<CannedResponseId>,
    ApiJson(input): ApiJson<UpdateCannedResponse>,
) -> ApiResult<Json<CannedResponse>> {
    Ok(Json(config::update_canned(&pool, &actor, id, input).await?))
}

/// Deletes a canned response. Admins of the account.
#[utoipa::path(delete, path = "/api/v1/canned-responses/{id}", tag = "configuration", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_canned(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<CannedResponseId>,
) -> ApiResult<StatusCode> {
    config::delete_canned(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
