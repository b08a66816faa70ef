//! `/sessions`: open, read, list, and the lifecycle operations.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    sessions::{self, CustomerSession, OpenSession, Page, ReassignTarget, Session, SessionFilter},
    types::{AccountId, AgentId, CustomerId, ReasonId, SessionId, SessionStatus, SupportTypeId},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedSession {
    pub session: Session,
    pub customer_id: CustomerId,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSessions {
    pub status: Option<SessionStatus>,
    pub support_type_id: Option<SupportTypeId>,
    /// The owner.
    pub agent_id: Option<AgentId>,
    /// Global admins only; others see their own account.
    pub account_id: Option<AccountId>,
    pub customer_id: Option<CustomerId>,
    /// Only queued sessions of the support types the caller serves.
    pub queue: Option<bool>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AssignBody {
    /// The agent to assign; defaults to the caller.
    pub agent_id: Option<AgentId>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReassignBody {
    pub target: ReassignTarget,
    pub reason: sessions::ReassignReason,
    /// With reason `handoff`: why (required from bots) and a summary for
    /// the next agent. Someone is always notified of a handoff.
    pub handoff: Option<sessions::HandoffNote>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// A resolution reason of the session's account.
    pub reason_id: Option<ReasonId>,
}

/// Opens a session and queues it.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    request_body = domain::sessions::OpenSession,
    responses(
        (status = 201, body = OpenedSession),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn open(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<OpenSession>,
) -> ApiResult<(StatusCode, Json<OpenedSession>)> {
    let (session, customer_id) = sessions::open(&pool, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(OpenedSession { session, customer_id })))
}

/// Lists the sessions the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(ListSessions),
    responses((status = 200, body = domain::sessions::Page<domain::sessions::Session>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListSessions>,
) -> ApiResult<Json<Page<Session>>> {
    let filter = SessionFilter {
        status: q.status,
        support_type_id: q.support_type_id,
        owner_id: q.agent_id,
        account_id: q.account_id,
        customer_id: q.customer_id,
        queue: q.queue.unwrap_or(false),
    };
    Ok(Json(sessions::list(&pool, &actor, filter, q.cursor.as_deref(), q.limit).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchSessions {
    /// Words of a message (`websearch_to_tsquery`: every word, `"a phrase"`,
    /// `or`, `-word`), or part of the customer's name or e-mail.
    pub q: Option<String>,
    pub status: Option<SessionStatus>,
    pub support_type_id: Option<SupportTypeId>,
    /// A tag's name.
    pub tag: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// Searches the sessions the caller may see, newest first: by the words of
/// their messages (the newest match highlighted) and by the customer's name
/// or e-mail, narrowed by status, support type and tag.
#[utoipa::path(get, path = "/api/v1/search", tag = "sessions", params(SearchSessions),
    responses((status = 200, body = domain::sessions::Page<domain::search::SearchHit>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SearchSessions>,
) -> ApiResult<Json<Page<domain::search::SearchHit>>> {
    let query = domain::search::SearchQuery {
        q: q.q.unwrap_or_default(),
        status: q.status,
        support_type_id: q.support_type_id,
        tag: q.tag,
    };
    Ok(Json(domain::search::search(&pool, &actor, query, q.cursor.as_deref(), q.limit).await?))
}

/// A session as its reader may see it: the record for agents, the
/// customer's view (no agent ids) for a chat token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SessionView {
    Session(Box<Session>),
    Customer(CustomerSession),
}

/// One session: the full record for agents; for the session's chat token,
/// the customer's view (`CustomerSession`).
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(match actor {
        domain::actor::Actor::Customer(_) => {
            SessionView::Customer(sessions::get_for_customer(&pool, &actor, id).await?)
        }
        _ => SessionView::Session(Box::new(sessions::get(&pool, &actor, id).await?)),
    }))
}

/// Gives a queued session to an agent (by default the caller).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/assign", tag = "sessions", params(("id" = Uuid, Path)),
    request_body = AssignBody,
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    body: Option<ApiJson<AssignBody>>,
) -> ApiResult<Json<Session>> {
    let body = body.map(|ApiJson(b)| b).unwrap_or_default();
    Ok(Json(sessions::assign(&pool, &actor, id, body.agent_id).await?))
}

/// Moves a session to an agent, a support type's queue, or back into its queue.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/reassign", tag = "sessions", params(("id" = Uuid, Path)),
    request_body = ReassignBody,
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reassign(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        sessions::reassign_noted(&pool, &actor, id, body.target, body.reason.into(), body.handoff).await?,
    ))
}

/// Escalates a session along its support type's escalation path.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/escalate", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn escalate(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::escalate(&pool, &actor, id).await?))
}

/// Resolves a session, optionally with a resolution reason.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/resolve", tag = "sessions", params(("id" = Uuid, Path)),
    request_body = ResolveBody,
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resolve(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    body: Option<ApiJson<ResolveBody>>,
) -> ApiResult<Json<Session>> {
    let body = body.map(|ApiJson(b)| b).unwrap_or_default();
    Ok(Json(sessions::resolve(&pool, &actor, id, body.reason_id).await?))
}

/// Puts a resolved or abandoned session back into its queue.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/reopen", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn reopen(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::reopen(&pool, &actor, id).await?))
}

/// The customer asks for a person (the chat page's "Talk to a person"):
/// while a bot has the session, it goes to its type's queue as a
/// `customer_request` handoff from that bot, and people are told. Otherwise
/// nothing changes. Customers only, with their chat token.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/request-person", tag = "chat", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::sessions::CustomerSession), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_person(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<domain::sessions::CustomerSession>> {
    Ok(Json(sessions::request_person(&pool, &actor, id).await?))
}

/// Closes an open session that will not be resolved (the customer left).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/abandon", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = domain::sessions::Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn abandon(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::abandon(&pool, &actor, id).await?))
}
