//! `/support-types` and their resolution reasons.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    support_types::{
        self, NewSupportType, ResolutionReason, SupportType, SupportTypeFilter, UpdateSupportType,
    },
    types::{AccountId, ReasonId, SupportTypeId},
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSupportTypes {
    /// Global admins only; others see their own account.
    pub account_id: Option<AccountId>,
    /// Default false.
    pub include_archived: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListReasons {
    /// Default false.
    pub include_archived: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewReasonBody {
    /// Unique within the type, ignoring case; at most 120 characters.
    pub label: String,
}

/// Absent fields are left unchanged.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateReasonBody {
    pub label: Option<String>,
    /// The 1-based place in the type's list (clamped to its length).
    pub position: Option<i32>,
    pub archived: Option<bool>,
}

/// The support types of the caller's account (global admins: of all
/// accounts, or the one named), by name.
#[utoipa::path(get, path = "/api/v1/support-types", tag = "support types", params(ListSupportTypes),
    responses((status = 200, body = Vec<domain::support_types::SupportType>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListSupportTypes>,
) -> ApiResult<Json<Vec<SupportType>>> {
    let filter =
        SupportTypeFilter { account_id: q.account_id, include_archived: q.include_archived.unwrap_or(false) };
    Ok(Json(support_types::list(&pool, &actor, filter).await?))
}

/// Creates a support type. Admins of the account.
#[utoipa::path(post, path = "/api/v1/support-types", tag = "support types", request_body = domain::support_types::NewSupportType,
    responses((status = 201, body = domain::support_types::SupportType), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewSupportType>,
) -> ApiResult<(StatusCode, Json<SupportType>)> {
    Ok((StatusCode::CREATED, Json(support_types::create(&pool, &actor, input).await?)))
}

/// One support type.
#[utoipa::path(get, path = "/api/v1/support-types/{id}", tag = "support types", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::support_types::SupportType), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
) -> ApiResult<Json<SupportType>> {
    Ok(Json(support_types::get(&pool, &actor, id).await?))
}

/// Changes a support type. Admins of the account.
#[utoipa::path(patch, path = "/api/v1/support-types/{id}", tag = "support types", params(("id" = Uuid, Path)),
    request_body = domain::support_types::UpdateSupportType,
    responses((status = 200, body = domain::support_types::SupportType), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
    ApiJson(input): ApiJson<UpdateSupportType>,
) -> ApiResult<Json<SupportType>> {
    Ok(Json(support_types::update(&pool, &actor, id, input).await?))
}

/// Archives a support type (types are never deleted): it accepts no new
/// sessions; open ones are unaffected. Answers with the archived type;
/// archiving twice changes nothing.
#[utoipa::path(delete, path = "/api/v1/support-types/{id}", tag = "support types", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::support_types::SupportType), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn archive(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
) -> ApiResult<Json<SupportType>> {
    Ok(Json(support_types::archive(&pool, &actor, id).await?))
}

/// The type's resolution reasons, in order.
#[utoipa::path(get, path = "/api/v1/support-types/{id}/resolution-reasons", tag = "support types",
    params(("id" = Uuid, Path), ListReasons),
    responses((status = 200, body = Vec<domain::support_types::ResolutionReason>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn reasons(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
    ApiQuery(q): ApiQuery<ListReasons>,
) -> ApiResult<Json<Vec<ResolutionReason>>> {
    Ok(Json(support_types::list_reasons(&pool, &actor, id, q.include_archived.unwrap_or(false)).await?))
}

/// Adds a resolution reason at the end of the type's list. Admins of the account.
#[utoipa::path(post, path = "/api/v1/support-types/{id}/resolution-reasons", tag = "support types",
    params(("id" = Uuid, Path)), request_body = NewReasonBody,
    responses((status = 201, body = domain::support_types::ResolutionReason), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_reason(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
    ApiJson(body): ApiJson<NewReasonBody>,
) -> ApiResult<(StatusCode, Json<ResolutionReason>)> {
    Ok((StatusCode::CREATED, Json(support_types::create_reason(&pool, &actor, id, &body.label).await?)))
}

/// Relabels, moves and/or (un)archives a resolution reason. Admins of the account.
#[utoipa::path(patch, path = "/api/v1/support-types/{id}/resolution-reasons/{reason_id}", tag = "support types",
    params(("id" = Uuid, Path), ("reason_id" = Uuid, Path)), request_body = UpdateReasonBody,
    responses((status = 200, body = domain::support_types::ResolutionReason), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_reason(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath((id, reason_id)): ApiPath<(SupportTypeId, ReasonId)>,
    ApiJson(body): ApiJson<UpdateReasonBody>,
) -> ApiResult<Json<ResolutionReason>> {
    let reason = support_types::update_reason(
        &pool,
        &actor,
        id,
        reason_id,
        body.label.as_deref(),
        body.position,
        body.archived,
    )
    .await?;
    Ok(Json(reason))
}

/// How the type's bot behaves: `external` (a program drives it through this
/// API) or `auto` (the built-in bot answers), its threshold, turn limit,
/// handoff keywords and instructions for the model. Admins of the account.
#[utoipa::path(get, path = "/api/v1/support-types/{id}/bot", tag = "support types", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::bot::BotSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn bot(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
) -> ApiResult<Json<domain::bot::BotSettings>> {
    Ok(Json(domain::bot::settings(&pool, &actor, id).await?))
}

/// Saves the type's bot settings (all fields). Admins of the account.
#[utoipa::path(put, path = "/api/v1/support-types/{id}/bot", tag = "support types", params(("id" = Uuid, Path)),
    request_body = domain::bot::BotSettings,
    responses((status = 200, body = domain::bot::BotSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_bot(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SupportTypeId>,
    ApiJson(input): ApiJson<domain::bot::BotSettings>,
) -> ApiResult<Json<domain::bot::BotSettings>> {
    Ok(Json(domain::bot::update_settings(&pool, &actor, id, input).await?))
}
