//! `/webhooks`: outgoing webhooks of an account and their delivery log, for
//! its admins; `/notifications`: the calling agent's in-app alerts.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    notifications::{self, Notification},
    sessions::Page,
    types::WebhookId,
    webhooks::{self, Delivery, NewWebhook, UpdateWebhook, Webhook},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{AccountQuery, ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page (older entries).
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `next_cursor` of the previous page (older notifications).
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
    /// Only notifications not yet marked read.
    #[serde(default)]
    pub unread: bool,
}

/// A new webhook with its signing secret, which is shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// 64 hex characters. Each delivery carries `X-Switchboard-Signature:
    /// sha256=<hex HMAC-SHA256 of "{X-Switchboard-Timestamp}.{body}">` keyed
    /// with this string (its ASCII bytes). Not shown again.
    pub secret: String,
}

/// The account's webhooks (never their secrets). Admins of the account.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(AccountQuery),
    responses((status = 200, body = Vec<domain::webhooks::Webhook>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(webhooks::list(&pool, &actor, q.account_id).await?))
}

/// Registers a webhook; answers with its secret, once. Admins of the account.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = domain::webhooks::NewWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let (webhook, secret) = webhooks::create(&pool, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(CreatedWebhook { webhook, secret })))
}

/// Changes a webhook's URL, patterns or state (`active: true` re-enables a
/// disabled one). Admins of the account.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = domain::webhooks::UpdateWebhook,
    responses((status = 200, body = domain::webhooks::Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(input): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(webhooks::update(&pool, &actor, id, input).await?))
}

/// Deletes a webhook and its delivery log. Admins of the account.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries, newest first: attempts, last status or error,
/// next retry. Admins of the account.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = domain::sessions::Page<domain::webhooks::Delivery>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deliveries(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<WebhookId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    Ok(Json(webhooks::deliveries(&pool, &actor, id, q.cursor.as_deref(), q.limit).await?))
}

/// The calling agent's own notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationQuery),
    responses((status = 200, body = domain::sessions::Page<domain::notifications::Notification>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn notifications(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> ApiResult<Json<Page<Notification>>> {
    Ok(Json(notifications::list(&pool, &actor, q.cursor.as_deref(), q.limit, q.unread).await?))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn mark_read(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    notifications::mark_read(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many of the caller's notifications are unread.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// The calling agent's unread count (the bell's).
#[utoipa::path(get, path = "/api/v1/notifications/unread", tag = "notifications",
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn unread(State(pool): State<PgPool>, ApiActor(actor): ApiActor) -> ApiResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount { unread: notifications::unread_count(&pool, &actor).await? }))
}

/// How many notifications were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// Marks every unread notification of the caller read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn mark_all_read(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<MarkedRead>> {
    Ok(Json(MarkedRead { marked: notifications::mark_all_read(&pool, &actor).await? }))
}

/// Queues a test delivery (`webhook.test`) to an active webhook; it shows in
/// the delivery log like any other. A disabled webhook is refused (409).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = domain::webhooks::Delivery), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn test(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<(StatusCode, Json<Delivery>)> {
    Ok((StatusCode::ACCEPTED, Json(webhooks::send_test(&pool, &actor, id).await?)))
}
