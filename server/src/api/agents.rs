//! `/agents`: the directory of agents and bots, their presence, heartbeat and
//! skills.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    agents::{self, Agent, AgentFilter, NewAgent, Skill, UpdateAgent},
    types::{AccountId, AgentId, Presence, Role},
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAgents {
    /// Global admins only; others see their own account.
    pub account_id: Option<AccountId>,
    pub role: Option<Role>,
    pub presence: Option<Presence>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PresenceBody {
    pub presence: Presence,
    /// Why, e.g. "lunch"; at most 200 characters.
    pub reason: Option<String>,
}

/// The agents the caller may see, by display name (deactivated ones included).
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", params(ListAgents),
    responses((status = 200, body = Vec<domain::agents::Agent>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListAgents>,
) -> ApiResult<Json<Vec<Agent>>> {
    let filter = AgentFilter { account_id: q.account_id, role: q.role, presence: q.presence };
    Ok(Json(agents::list(&pool, &actor, filter).await?))
}

/// Creates an agent or bot. Admins of the account.
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = domain::agents::NewAgent,
    responses((status = 201, body = domain::agents::Agent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<NewAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    Ok((StatusCode::CREATED, Json(agents::create(&pool, &actor, input).await?)))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::agents::Agent), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<Json<Agent>> {
    Ok(Json(agents::get(&pool, &actor, id).await?))
}

/// Changes an agent's name, role, limit or activation. Admins of the account.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = Uuid, Path)),
    request_body = domain::agents::UpdateAgent,
    responses((status = 200, body = domain::agents::Agent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(changes): ApiJson<UpdateAgent>,
) -> ApiResult<Json<Agent>> {
    Ok(Json(agents::update(&pool, &actor, id, changes).await?))
}

/// Sets an agent's presence: the agent themself, or a supervisor or admin.
#[utoipa::path(put, path = "/api/v1/agents/{id}/presence", tag = "agents", params(("id" = Uuid, Path)),
    request_body = PresenceBody,
    responses((status = 200, body = domain::agents::Agent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_presence(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(body): ApiJson<PresenceBody>,
) -> ApiResult<Json<Agent>> {
    Ok(Json(agents::set_presence(&pool, &actor, id, body.presence, body.reason).await?))
}

/// Records that the agent's client is alive. The agent themself only.
#[utoipa::path(post, path = "/api/v1/agents/{id}/heartbeat", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn heartbeat(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<StatusCode> {
    agents::heartbeat(&pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The support types an agent serves.
#[utoipa::path(get, path = "/api/v1/agents/{id}/skills", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<domain::agents::Skill>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn skills(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<Json<Vec<Skill>>> {
    Ok(Json(agents::skills(&pool, &actor, id).await?))
}

/// Replaces the support types an agent serves. Admins of the account; every
/// type must belong to the agent's account.
#[utoipa::path(put, path = "/api/v1/agents/{id}/skills", tag = "agents", params(("id" = Uuid, Path)),
    request_body = Vec<domain::agents::Skill>,
    responses((status = 200, body = Vec<domain::agents::Skill>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_skills(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(skills): ApiJson<Vec<Skill>>,
) -> ApiResult<Json<Vec<Skill>>> {
    Ok(Json(agents::set_skills(&pool, &actor, id, skills).await?))
}
