//! The REST API, `/api/v1`: thin handlers over the domain operations for
//! bots and integrations, authenticated by bearer token, documented by the
//! OpenAPI document at `/api/v1/openapi.json`.

pub mod agents;
pub mod assist;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod blasts;
pub mod config;
pub mod conversation;
pub mod csat;
pub mod directory;
pub mod docs;
pub mod error;
pub mod imports;
pub mod openapi;
pub mod reports;
pub mod sessions;
pub mod signin;
pub mod support_types;
pub mod tokens;
pub mod webhooks;

use axum::{
    Router,
    extract::{FromRequest, FromRequestParts},
    routing::{delete, get, patch, post, put},
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

/// The result of every handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `?account_id=`: global admins pick an account; others see their own.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Global admins only; others see their own account.
    pub account_id: Option<domain::types::AccountId>,
}

/// The routes of `/api/v1`, to be nested there. Unknown paths and methods get
/// JSON errors, never the web app's HTML.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/auth/login", post(signin::login))
        .route("/auth/logout", post(signin::logout))
        .route("/auth/me", get(signin::me))
        .route("/auth/password", post(signin::change_password))
        .route("/chat/{slug}/sessions", post(signin::open_chat))
        .route("/audit-log", get(audit::list))
        .route("/reports", get(reports::report))
        .route("/reports/sessions", get(reports::sessions))
        .route("/reports/bots", get(reports::bots))
        .route("/reports/export.csv", get(reports::export_periods))
        .route("/reports/sessions.csv", get(reports::export_sessions))
        .route("/sessions", post(sessions::open).get(sessions::list))
        .route("/search", get(sessions::search))
        .route("/sessions/{id}", get(sessions::get))
        .route("/sessions/{id}/assign", post(sessions::assign))
        .route("/sessions/{id}/reassign", post(sessions::reassign))
        .route("/sessions/{id}/escalate", post(sessions::escalate))
        .route("/sessions/{id}/resolve", post(sessions::resolve))
        .route("/sessions/{id}/reopen", post(sessions::reopen))
        .route("/sessions/{id}/abandon", post(sessions::abandon))
        .route("/sessions/{id}/request-person", post(sessions::request_person))
        .route("/sessions/{id}/messages", get(conversation::history).post(conversation::send))
        .route(
            "/sessions/{id}/attachments",
            post(attachments::upload)
                .layer(axum::extract::DefaultBodyLimit::max(attachments::UPLOAD_BODY_LIMIT)),
        )
        .route("/attachments/{id}", get(attachments::download))
        .route("/attachments/{id}/thumbnail", get(attachments::thumbnail))
        .route("/attachments/{id}/links", get(attachments::links))
        .route("/sessions/{id}/suggestions", get(assist::suggestions))
        .route("/sessions/{id}/suggestions/{suggestion_id}/outcome", post(assist::outcome))
        .route("/sessions/{id}/drafts", get(assist::drafts))
        .route("/drafts/{draft_id}", post(assist::decide_draft))
        .route("/sessions/{id}/helped", post(assist::helped))
        .route("/sessions/{id}/notes", get(conversation::notes).post(conversation::add_note))
        .route("/sessions/{id}/tags", get(conversation::tags).post(conversation::tag))
        .route("/sessions/{id}/tags/{tag_id}", delete(conversation::untag))
        .route("/sessions/{id}/csat", get(csat::get).post(csat::submit))
        .route("/sessions/{id}/csat/request", post(csat::request))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{id}", get(agents::get).patch(agents::update))
        .route("/agents/{id}/presence", put(agents::set_presence))
        .route("/agents/{id}/heartbeat", post(agents::heartbeat))
        .route("/agents/{id}/skills", get(agents::skills).put(agents::set_skills))
        .route("/agents/{id}/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/support-types", get(support_types::list).post(support_types::create))
        .route(
            "/support-types/{id}",
            get(support_types::get).patch(support_types::update).delete(support_types::archive),
        )
        .route(
            "/support-types/{id}/resolution-reasons",
            get(support_types::reasons).post(support_types::create_reason),
        )
        .route("/support-types/{id}/resolution-reasons/{reason_id}", patch(support_types::update_reason))
        .route("/support-types/{id}/bot", get(support_types::bot).put(support_types::set_bot))
        .route("/tags", get(config::tags).post(config::create_tag))
        .route("/tags/{id}", delete(config::delete_tag))
        .route("/tag-rules", get(config::tag_rules).post(config::create_tag_rule))
        .route("/tag-rules/{id}", delete(config::delete_tag_rule))
        .route("/canned-responses", get(config::canned).post(config::create_canned))
        .route("/canned-responses/{id}", patch(config::update_canned).delete(config::delete_canned))
        .route("/accounts", get(directory::accounts).post(directory::create_account))
        .route("/accounts/{id}", get(directory::account).patch(directory::update_account))
        .route("/accounts/{id}/attachment-policy", get(attachments::policy).put(attachments::set_policy))
        .route(
            "/accounts/{id}/attachments",
            post(attachments::stage_for_blast)
                .layer(axum::extract::DefaultBodyLimit::max(attachments::UPLOAD_BODY_LIMIT)),
        )
        .route("/accounts/{id}/identity-secret", post(directory::rotate_identity_secret))
        .route(
            "/customers/{id}",
            get(directory::customer).patch(directory::update_customer).delete(directory::erase_customer),
        )
        .route(
            "/imports",
            get(imports::list)
                .post(imports::create)
                .layer(axum::extract::DefaultBodyLimit::max(imports::ImportLimit::HARD.body_limit())),
        )
        .route("/imports/{id}", get(imports::get))
        .route("/imports/{id}/mapping", put(imports::set_mapping))
        .route("/imports/{id}/apply", post(imports::apply))
        .route("/imports/{id}/cancel", post(imports::cancel))
        .route("/blasts", get(blasts::list).post(blasts::create))
        .route("/blasts/{id}", get(blasts::get))
        .route("/blasts/{id}/cancel", post(blasts::cancel))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", patch(webhooks::update).delete(webhooks::delete))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/notifications", get(webhooks::notifications))
        .route("/notifications/unread", get(webhooks::unread))
        .route("/notifications/read-all", post(webhooks::mark_all_read))
        .route("/notifications/{id}/read", post(webhooks::mark_read))
        .route("/monitor", get(reports::monitor))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
}
