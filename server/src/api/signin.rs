//! `/auth/*`: signing in and out with the browser session cookie (the same
//! domain operations as the login page), who am I, and password changes; and
//! `/chat/{slug}/sessions`, where an anonymous customer opens a chat and gets
//! the token for that one session.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use domain::{
    actor::Actor,
    agents::Agent,
    auth::{self, LoginInput, OpenChat},
    sessions::CustomerSession,
    types::{AgentId, CustomerId},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{ApiActor, ApiError, ApiJson, ApiPath, ApiResult, auth::ClientIp, error::ErrorBody};
use crate::{AppState, security};

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub agent: Agent,
    /// When the session ends at the latest (it also ends after 12 h unused).
    pub expires_at: DateTime<Utc>,
}

/// Signs in with e-mail and password and sets the session cookie (HttpOnly,
/// SameSite=Lax, Secure in production). A previous session cookie is ended
/// (rotation). 10 attempts per minute per address and per IP, then 429.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let outcome = auth::login(
        &state.pool,
        LoginInput {
            email: body.email,
            password: body.password,
            ip,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
            replace_session: security::session_token(&headers),
        },
    )
    .await?;
    let max_age = (outcome.expires_at - Utc::now()).num_seconds().max(0);
    let cookie = security::session_cookie(&outcome.token, max_age, state.security.production);
    let body = LoginResponse { agent: outcome.agent, expires_at: outcome.expires_at };
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(body)).into_response())
}

/// Ends the browser session (server-side) and clears the cookie. Always 204.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(()), responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = security::session_token(&headers) {
        auth::logout(&state.pool, &token).await?;
    }
    let clear = security::clear_session_cookie(state.security.production);
    Ok((StatusCode::NO_CONTENT, AppendHeaders([(header::SET_COOKIE, clear)])).into_response())
}

/// Who is calling: an agent (role, account) or a customer (their session).
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)))]
pub async fn me(ApiActor(actor): ApiActor) -> Json<Actor> {
    Json(actor)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    /// Whose password; default: the caller's own.
    pub agent_id: Option<AgentId>,
    /// Required when changing one's own password.
    pub current_password: Option<String>,
    pub new_password: String,
}

/// Changes a password: one's own (with the current password) or, for an
/// admin, an agent's of their account. Every other session of that agent ends;
/// the caller's current one is kept.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    let agent = body
        .agent_id
        .or(actor.agent_id())
        .ok_or_else(|| ApiError::Domain(domain::Error::forbidden("customers have no password")))?;
    let keep = security::session_token(&headers);
    auth::change_password(&pool, &actor, agent, body.current_password, body.new_password, keep.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedChatResponse {
    /// The new session as the customer sees it.
    pub session: CustomerSession,
    pub customer_id: CustomerId,
    /// `Authorization: Bearer <token>` for this session's messages and CSAT,
    /// and nothing else. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Opens a chat as an anonymous customer (no credentials). With `identity`,
/// the host site vouches for who the customer is (HMAC-SHA256 of
/// `"{external_id}:{email}"` with the account's identity secret) and the chat
/// joins that customer's history. 10 per minute per IP.
#[utoipa::path(post, path = "/api/v1/chat/{slug}/sessions", tag = "chat", params(("slug" = String, Path)),
    request_body = domain::auth::OpenChat, security(()),
    responses((status = 201, body = OpenedChatResponse), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn open_chat(
    State(pool): State<PgPool>,
    ClientIp(ip): ClientIp,
    ApiPath(slug): ApiPath<String>,
    ApiJson(mut input): ApiJson<OpenChat>,
) -> ApiResult<(StatusCode, Json<OpenedChatResponse>)> {
    input.ip = ip;
    let opened = auth::open_chat(&pool, &slug, input).await?;
    let customer = domain::actor::Actor::Customer(domain::actor::CustomerActor {
        customer_id: opened.customer_id,
        session_id: opened.session.id,
        account_id: opened.session.account_id,
    });
    let session = domain::sessions::get_for_customer(&pool, &customer, opened.session.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(OpenedChatResponse {
            session,
            customer_id: opened.customer_id,
            token: opened.token,
            expires_at: opened.expires_at,
        }),
    ))
}
