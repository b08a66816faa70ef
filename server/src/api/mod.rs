//! The REST API, `/api/v1`: thin handlers over the domain operations for
//! bots and integrations, authenticated by bearer token, documented by the
//! OpenAPI document at `/api/v1/openapi.json`.

pub mod auth;
pub mod conversation;
pub mod error;
pub mod openapi;
pub mod schema;
pub mod sessions;

use axum::{
    Router,
    extract::{FromRequest, FromRequestParts},
    routing::{delete, get, post},
};

use crate::AppState;
pub use auth::ApiActor;
pub use error::ApiError;

/// A JSON request body whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// An optional JSON body: absent when the request has no JSON content type
/// (so `POST …/assign` with an empty body means "all defaults").
impl<T, S> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    axum::Json<T>: axum::extract::OptionalFromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let json = <axum::Json<T> as axum::extract::OptionalFromRequest<S>>::from_request(req, state).await?;
        Ok(json.map(|axum::Json(value)| Self(value)))
    }
}

/// Path parameters whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The routes of `/api/v1`, to be nested there. Unknown paths and methods get
/// JSON errors, never the web app's HTML.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/sessions", post(sessions::open).get(sessions::list))
        .route("/sessions/{id}", get(sessions::get))
        .route("/sessions/{id}/assign", post(sessions::assign))
        .route("/sessions/{id}/reassign", post(sessions::reassign))
        .route("/sessions/{id}/escalate", post(sessions::escalate))
        .route("/sessions/{id}/resolve", post(sessions::resolve))
        .route("/sessions/{id}/reopen", post(sessions::reopen))
        .route("/sessions/{id}/abandon", post(sessions::abandon))
        .route("/sessions/{id}/messages", get(conversation::history).post(conversation::send))
        .route("/sessions/{id}/notes", get(conversation::notes).post(conversation::add_note))
        .route("/sessions/{id}/tags", get(conversation::tags).post(conversation::tag))
        .route("/sessions/{id}/tags/{tag_id}", delete(conversation::untag))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
}
