//! The OpenAPI document of `/api/v1`, generated from the handlers. A copy is
//! committed as `openapi.json` at the repository root; a test keeps it current.

use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{conversation, error, sessions};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Sessions and their conversations, for bots and integrations. \
                       Authenticate with `Authorization: Bearer sb_…` (an API token of an agent or bot)."
    ),
    paths(
        sessions::open, sessions::list, sessions::get, sessions::assign, sessions::reassign,
        sessions::escalate, sessions::resolve, sessions::reopen, sessions::abandon,
        conversation::history, conversation::send, conversation::notes, conversation::add_note,
        conversation::tags, conversation::tag, conversation::untag,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "sessions", description = "Open, list and move support sessions"),
        (name = "conversation", description = "Messages, internal notes and tags of a session"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sb_ token")
                    .description(Some("An API token, created by an admin for an agent or bot."))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json` (no authentication).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
