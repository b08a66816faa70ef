//! The OpenAPI document of `/api/v1`, generated from the handlers. A copy is
//! committed as `openapi.json` at the repository root; a test keeps it current.

use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    agents, audit, blasts, config, conversation, csat, directory, error, sessions, signin, support_types,
    tokens, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Sessions, their conversations, and the configuration around them, for bots and \
                       integrations. Swagger UI: `/api/docs`. \
                       Authenticate with `Authorization: Bearer sb_…` (an API token of an agent or bot), \
                       `Authorization: Bearer sc_…` (a customer's token for one chat session), or the browser \
                       session cookie set by `POST /api/v1/auth/login` (state-changing cookie requests must \
                       come from this site's Origin)."
    ),
    paths(
        sessions::open, sessions::list, sessions::get, sessions::assign, sessions::reassign,
        sessions::escalate, sessions::resolve, sessions::reopen, sessions::abandon,
        conversation::history, conversation::send, conversation::notes, conversation::add_note,
        conversation::tags, conversation::tag, conversation::untag,
        csat::get, csat::submit, csat::request,
        agents::list, agents::create, agents::get, agents::update, agents::set_presence, agents::heartbeat,
        agents::skills, agents::set_skills, tokens::create, tokens::list, tokens::revoke,
        support_types::list, support_types::create, support_types::get, support_types::update,
        support_types::archive, support_types::reasons, support_types::create_reason,
        support_types::update_reason,
        config::tags, config::create_tag, config::delete_tag, config::tag_rules, config::create_tag_rule,
        config::delete_tag_rule, config::canned, config::create_canned, config::update_canned,
        config::delete_canned,
        directory::accounts, directory::create_account, directory::account, directory::update_account,
        directory::rotate_identity_secret, directory::customer, directory::update_customer,
        signin::login, signin::logout, signin::me, signin::change_password, signin::open_chat,
        audit::list,
        blasts::list, blasts::create, blasts::get, blasts::cancel,
        webhooks::list, webhooks::create, webhooks::update, webhooks::delete, webhooks::deliveries,
        webhooks::notifications, webhooks::mark_read,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "sessions", description = "Open, list and move support sessions"),
        (name = "conversation", description = "Messages, internal notes and tags of a session"),
        (name = "agents", description = "Agents and bots: directory, presence, heartbeat, skills, API tokens"),
        (name = "support types", description = "Support types and their resolution reasons"),
        (name = "configuration", description = "Tags, tag rules and canned responses"),
        (name = "accounts", description = "Accounts, customers and the audit log"),
        (name = "auth", description = "Browser sign-in with a session cookie, and passwords"),
        (name = "chat", description = "Customers: open a chat and get its token"),
        (name = "blasts", description = "Messages from an admin to a segment of the account's customers"),
        (name = "webhooks", description = "Outgoing webhooks: signed event deliveries, retries and the delivery log"),
        (name = "notifications", description = "The calling agent's in-app notifications"),
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
