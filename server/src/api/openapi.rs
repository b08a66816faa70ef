//! The OpenAPI document of `/api/v1`, generated from the handlers. A copy is
//! committed as `openapi.json` at the repository root; a test keeps it current.

use axum::Json;
use std::collections::BTreeSet;

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder, Schema,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{
    agents, assist, attachments, audit, blasts, config, conversation, csat, directory, error, imports,
    reports, sessions, signin, support_types, tokens, webhooks,
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
        sessions::open, sessions::list, sessions::search, sessions::get, sessions::assign, sessions::reassign,
        sessions::escalate, sessions::resolve, sessions::reopen, sessions::abandon, sessions::request_person,
        conversation::history, conversation::send, conversation::notes, conversation::add_note,
        conversation::tags, conversation::tag, conversation::untag, assist::suggestions, assist::outcome,
        assist::drafts, assist::decide_draft, assist::helped,
        attachments::upload, attachments::download, attachments::thumbnail, attachments::links,
        attachments::policy, attachments::set_policy, attachments::stage_for_blast,
        csat::get, csat::submit, csat::request,
        agents::list, agents::create, agents::get, agents::update, agents::set_presence, agents::heartbeat,
        agents::skills, agents::set_skills, tokens::create, tokens::list, tokens::revoke,
        support_types::list, support_types::create, support_types::get, support_types::update,
        support_types::archive, support_types::reasons, support_types::create_reason,
        support_types::update_reason, support_types::bot, support_types::set_bot,
        config::tags, config::create_tag, config::delete_tag, config::tag_rules, config::create_tag_rule,
        config::delete_tag_rule, config::canned, config::create_canned, config::update_canned,
        config::delete_canned,
        directory::accounts, directory::create_account, directory::account, directory::update_account,
        directory::rotate_identity_secret, directory::customer, directory::update_customer,
        directory::erase_customer,
        signin::login, signin::logout, signin::me, signin::change_password, signin::open_chat,
        audit::list,
        reports::report, reports::bots, reports::sessions, reports::export_periods, reports::export_sessions,
        blasts::list, blasts::create, blasts::get, blasts::cancel,
        imports::create, imports::list, imports::get, imports::set_mapping, imports::apply, imports::cancel,
        webhooks::list, webhooks::create, webhooks::update, webhooks::delete, webhooks::deliveries, webhooks::test,
        webhooks::notifications, webhooks::mark_read, webhooks::unread, webhooks::mark_all_read,
        reports::monitor,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth, &CommonResponses, &ResponseFieldsRequired),
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
        (name = "reports", description = "Reports for admins and supervisors: percentiles, drill-downs and CSV exports"),
        (name = "imports", description = "Importing another helpdesk's history: upload, dry run, mapping, apply, cancel"),
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

/// The statuses that operations answer by their shape rather than by what
/// they do, added in one place so that none is forgotten: a request that
/// cannot be read, a missing credential, a refusal or a cross-site cookie
/// request, an unknown resource, a body of the wrong shape, and the server's
/// own failures. Each is a shared response under `components/responses`; an
/// operation's own entry for a status is kept (a blank description filled in).
struct CommonResponses;

/// `(status, component name, description)` of the shared error responses.
const COMMON: [(u16, &str, &str); 7] = [
    (
        400,
        "BadRequest",
        "The request cannot be read: malformed JSON, a body without `Content-Type: application/json`, \
         or a path or query parameter of the wrong type (`bad_request`).",
    ),
    (401, "Unauthenticated", "No valid credential (`unauthenticated`)."),
    (
        403,
        "Forbidden",
        "Not allowed for the caller (`forbidden`), or a cookie-authenticated request that does not come \
         from this site (`csrf`).",
    ),
    (404, "NotFound", "No such resource, or not one the caller may see (`not_found`)."),
    (
        422,
        "Unprocessable",
        "Well-formed JSON of the wrong shape, or a value out of range (`invalid`, with the offending `field`).",
    ),
    (500, "Internal", "An unexpected failure, logged under `reference` (`internal`)."),
    (503, "Unavailable", "The database is unavailable; retry later (`unavailable`)."),
];

/// Descriptions for the statuses that operations list themselves without one.
const DESCRIPTIONS: [(&str, &str); 5] = [
    ("200", "OK."),
    ("201", "Created."),
    ("204", "Done; no body."),
    (
        "409",
        "Conflicts with the current state; `code` says how (e.g. `session_closed`, `agent_at_capacity`).",
    ),
    ("429", "Too many attempts; retry after the `Retry-After` header's seconds (`rate_limited`)."),
];

impl CommonResponses {
    fn add(op: &mut Operation, status: u16) {
        let (_, name, description) = COMMON.iter().find(|(s, ..)| *s == status).expect("a common status");
        let entry = op
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        if let RefOr::T(response) = entry
            && response.description.is_empty()
        {
            response.description = (*description).to_owned();
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in COMMON {
            let error = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            let response = ResponseBuilder::new().description(description).content("application/json", error);
            components.responses.insert(name.to_owned(), RefOr::T(response.build()));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                (false, item.get.as_mut()),
                (true, item.put.as_mut()),
                (true, item.post.as_mut()),
                (true, item.delete.as_mut()),
                (true, item.patch.as_mut()),
            ];
            for (changes_state, op) in ops {
                let Some(op) = op else { continue };
                let public = op.security.as_ref().is_some_and(|s| s.iter().all(|r| *r == Default::default()));
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                // A path id, or an `…_id` filter, that names nothing the
                // caller may see.
                let names_a_resource =
                    path.contains('{') || op.parameters.iter().flatten().any(|p| p.name.ends_with("_id"));
                if has_params || has_body {
                    Self::add(op, 400);
                }
                if !public {
                    Self::add(op, 401);
                }
                // A caller of the wrong kind or role (a chat token reading
                // configuration), or a cross-site cookie request.
                if !public || changes_state {
                    Self::add(op, 403);
                }
                if names_a_resource {
                    Self::add(op, 404);
                }
                if has_body {
                    Self::add(op, 422);
                }
                Self::add(op, 500);
                Self::add(op, 503);
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                        && let Some((_, text)) = DESCRIPTIONS.iter().find(|(s, _)| s == status)
                    {
                        response.description = (*text).to_owned();
                    }
                }
            }
        }
    }
}

/// The schemas that only responses use list every property as required:
/// serde writes each field of a response, `null` when it is empty, so a
/// client may rely on its presence. (Request schemas keep optional fields
/// optional: an absent `Option` is `None`.)
struct ResponseFieldsRequired;

impl ResponseFieldsRequired {
    /// The component names that `value` refers to, directly or through
    /// other components.
    fn reachable(value: &serde_json::Value, schemas: &serde_json::Value, found: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(object) => {
                if let Some(name) = object
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && found.insert(name.to_owned())
                {
                    Self::reachable(&schemas[name], schemas, found);
                }
                object.values().for_each(|v| Self::reachable(v, schemas, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| Self::reachable(v, schemas, found)),
            _ => {}
        }
    }
}

impl Modify for ResponseFieldsRequired {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let doc = serde_json::to_value(&*openapi).expect("the document is JSON");
        let schemas = &doc["components"]["schemas"];
        let (mut requested, mut answered) = (BTreeSet::new(), BTreeSet::new());
        for item in doc["paths"].as_object().into_iter().flat_map(|p| p.values()) {
            for op in item.as_object().into_iter().flat_map(|i| i.values()) {
                Self::reachable(&op["requestBody"], schemas, &mut requested);
                Self::reachable(&op["parameters"], schemas, &mut requested);
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    if status.starts_with('2') {
                        Self::reachable(response, schemas, &mut answered);
                    }
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else { return };
        for name in answered.difference(&requested) {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.required = object.properties.keys().cloned().collect();
            }
        }
    }
}

/// The document `/api/v1/openapi.json` serves.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json` (no authentication).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(spec())
}
