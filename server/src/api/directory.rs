//! `/accounts` and `/customers`: the directory around the sessions.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    accounts::{self, Account, NewAccount, UpdateAccount},
    attachments::Files,
    customers::{self, Customer, Erasure},
    types::{AccountId, AgentId, CustomerId},
};
use serde::{Deserialize, Deserializer};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{ApiActor, ApiJson, ApiPath, ApiResult, error::ErrorBody};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateCustomerBody {
    /// The agent the engine tries first for this customer; null clears it,
    /// absent leaves it unchanged.
    #[serde(default, deserialize_with = "present")]
    pub preferred_agent_id: Option<Option<AgentId>>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The accounts the caller may see: all for global admins, else their own.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, body = Vec<domain::accounts::Account>), (status = 401, body = ErrorBody)))]
pub async fn accounts(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<Account>>> {
    Ok(Json(accounts::list(&pool, &actor).await?))
}

/// Creates an account. Global admins only.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = domain::accounts::NewAccount,
    responses((status = 201, body = domain::accounts::Account), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_account(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    Ok((StatusCode::CREATED, Json(accounts::create(&pool, &actor, input).await?)))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::accounts::Account), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn account(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts::get(&pool, &actor, id).await?))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::customers::Customer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn customer(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(customers::get(&pool, &actor, id).await?))
}

/// Sets or clears the customer's preferred agent. Supervisors and admins of
/// the customer's account.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    request_body = UpdateCustomerBody,
    responses((status = 200, body = domain::customers::Customer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_customer(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<UpdateCustomerBody>,
) -> ApiResult<Json<Customer>> {
    let customer = match body.preferred_agent_id {
        Some(agent) => customers::set_preferred_agent(&pool, &actor, id, agent).await?,
        None => customers::get(&pool, &actor, id).await?,
    };
    Ok(Json(customer))
}

/// Erases a customer's data: their name and address, the text of their
/// sessions' messages and notes, their files, the mail about them. The
/// sessions stay, with their times, so reports stay true. Admins of the
/// customer's account, once none of the customer's sessions is open (409
/// otherwise); erasing again is harmless.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::customers::Erasure), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn erase_customer(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Erasure>> {
    Ok(Json(customers::erase(&pool, &files, &actor, id).await?))
}

/// Renames an account or replaces the origins allowed to embed its chat widget.
/// Admins of the account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    request_body = domain::accounts::UpdateAccount,
    responses((status = 200, body = domain::accounts::Account), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_account(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(input): ApiJson<UpdateAccount>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts::update(&pool, &actor, id, input).await?))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct IdentitySecretResponse {
    /// 64 hex characters. Shown once: store it on the host site, which signs
    /// `"{external_id}:{email}"` with HMAC-SHA256 under it.
    pub secret: String,
}

/// Sets a new identity-verification secret for the account (the old one stops
/// working at once). Admins of the account.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/identity-secret", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 201, body = IdentitySecretResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_identity_secret(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<(StatusCode, Json<IdentitySecretResponse>)> {
    let secret = accounts::rotate_identity_secret(&pool, &actor, id).await?;
    Ok((StatusCode::CREATED, Json(IdentitySecretResponse { secret })))
}
