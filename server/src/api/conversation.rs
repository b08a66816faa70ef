//! `/sessions/{id}/messages`, `/notes` and `/tags`: the conversation inside a
//! session.

use axum::{Json, extract::State, http::StatusCode};
use domain::{
    conversation::{self, Message, Note, SendMessage, SessionTag},
    sessions::Page,
    types::{SessionId, TagId, TagSource},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, auth::ClientIp, error::ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// `next_cursor` of the previous page (older messages).
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteBody {
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TagBody {
    /// The tag's name; created in the account if new.
    pub name: String,
}

/// The session's messages, newest first.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/messages", tag = "conversation",
    params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = HistoryView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn history(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryView>> {
    let (cursor, limit) = (q.cursor.as_deref(), q.limit);
    Ok(Json(match actor {
        domain::actor::Actor::Customer(_) => {
            HistoryView::Customer(conversation::history_for_customer(&pool, &actor, id, cursor, limit).await?)
        }
        _ => HistoryView::Agents(conversation::history(&pool, &actor, id, cursor, limit).await?),
    }))
}

/// Messages as their reader may see them: agents get the stored messages,
/// the session's chat token the customer's view (names, no agent ids).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum HistoryView {
    Agents(Page<Message>),
    Customer(Page<conversation::CustomerMessage>),
}

/// Sends a message. Idempotent by `client_message_id`: sending the same id
/// again returns the stored message (also with 201) and stores nothing new.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/messages", tag = "conversation", params(("id" = Uuid, Path)),
    request_body = domain::conversation::SendMessage,
    responses((status = 201, body = domain::conversation::Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(input): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let input = SendMessage { ip, ..input };
    Ok((StatusCode::CREATED, Json(conversation::send(&pool, &actor, id, input).await?)))
}

/// The session's internal notes, oldest first.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/notes", tag = "conversation", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<domain::conversation::Note>), (status = 404, body = ErrorBody)))]
pub async fn notes(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Vec<Note>>> {
    Ok(Json(conversation::notes(&pool, &actor, id).await?))
}

/// Adds an internal note.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/notes", tag = "conversation", params(("id" = Uuid, Path)),
    request_body = NoteBody,
    responses((status = 201, body = domain::conversation::Note), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_note(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(body): ApiJson<NoteBody>,
) -> ApiResult<(StatusCode, Json<Note>)> {
    Ok((StatusCode::CREATED, Json(conversation::add_note(&pool, &actor, id, &body.body).await?)))
}

/// The session's tags.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/tags", tag = "conversation", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<domain::conversation::SessionTag>), (status = 404, body = ErrorBody)))]
pub async fn tags(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<Json<Vec<SessionTag>>> {
    Ok(Json(conversation::tags(&pool, &actor, id).await?))
}

/// Tags the session by name. Tagging twice is a no-op, so this answers 200
/// with all of the session's tags rather than 201.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/tags", tag = "conversation", params(("id" = Uuid, Path)),
    request_body = TagBody,
    responses((status = 200, body = Vec<domain::conversation::SessionTag>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn tag(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(body): ApiJson<TagBody>,
) -> ApiResult<Json<Vec<SessionTag>>> {
    Ok(Json(conversation::tag(&pool, &actor, id, &body.name, TagSource::Manual).await?))
}

/// Removes a tag from the session; answers with the remaining tags.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/tags/{tag_id}", tag = "conversation",
    params(("id" = Uuid, Path), ("tag_id" = Uuid, Path)),
    responses((status = 200, body = Vec<domain::conversation::SessionTag>), (status = 404, body = ErrorBody)))]
pub async fn untag(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath((id, tag_id)): ApiPath<(SessionId, TagId)>,
) -> ApiResult<Json<Vec<SessionTag>>> {
    Ok(Json(conversation::untag(&pool, &actor, id, tag_id).await?))
}
