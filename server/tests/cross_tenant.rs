//! The cross-tenant / IDOR suite (issue 4): every REST route of `/api/v1`,
//! called by four kinds of callers who must not reach account A's data:
//!
//! - **another account**: an admin of account B with an API token, aiming at A's ids;
//! - **an agent without the skill**: an agent of A who does not serve the
//!   support type of the target session (session routes);
//! - **another customer**: the customer of another session of A, with the
//!   `sc_…` token that `POST /chat/{slug}/sessions` gave them;
//! - **nobody**: no credentials at all.
//!
//! Each call is refused (403 or 404; 401 without credentials), and:
//! - no body holds any of A's ids, names, slugs, e-mails, message, note or
//!   CSAT texts, tokens or secrets (a value the caller sent itself may be
//!   echoed);
//! - a 404 looks exactly like the 404 for ids that exist nowhere (same status,
//!   same body), so A's ids cannot be probed;
//! - lists answer with the caller's own data only;
//! - no refused call changes anything in the database.
//!
//! The table ([`routes`]) must name every route: [`every_route_has_an_entry`]
//! compares it with the served OpenAPI document and with the router.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use domain::{
    actor::Actor,
    csat::SubmitCsat,
    types::{AgentId, SessionId},
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

// ---- The table ----

/// What fills a path parameter (or a query or body field): one of account A's
/// things. The target sessions are in different states so that each call
/// would be a valid one for someone allowed to make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// Active, owned by A's agent Alice; has messages, a note and a tag.
    ActiveSession,
    /// Queued, nobody has taken it.
    QueuedSession,
    /// Resolved and rated (CSAT with a comment).
    RatedSession,
    /// Resolved, not rated yet.
    UnratedSession,
    /// Alice, an agent of A.
    Agent,
    /// The support type of every target session.
    SupportType,
    /// Its slug (the public chat page's name).
    TypeSlug,
    /// A resolution reason of that type.
    Reason,
    /// The tag on the active session.
    Tag,
    TagRule,
    Canned,
    Account,
    /// The customer of the target sessions.
    Customer,
    /// Alice's API token (its id).
    Token,
    /// A blast of A's admin.
    Blast,
    /// A's webhook.
    Webhook,
    /// An in-app notification of Alice's.
    Notification,
    /// An image Alice sent in the active session.
    Attachment,
    /// A suggested reply shown to Alice in the active session.
    Suggestion,
    Draft,
    /// An import run A's admin uploaded (ready, not applied).
    Import,
}

/// Account A's values for each [`Arg`]; or, for the probe, values that exist
/// nowhere.
#[derive(Debug, Clone)]
struct Ids {
    active_session: String,
    queued_session: String,
    rated_session: String,
    unrated_session: String,
    agent: String,
    agent_email: String,
    support_type: String,
    type_slug: String,
    reason: String,
    tag: String,
    tag_rule: String,
    canned: String,
    account: String,
    customer: String,
    token: String,
    blast: String,
    webhook: String,
    notification: String,
    attachment: String,
    suggestion: String,
    draft: String,
    import: String,
}

impl Ids {
    fn get(&self, arg: Arg) -> &str {
        match arg {
            Arg::ActiveSession => &self.active_session,
            Arg::QueuedSession => &self.queued_session,
            Arg::RatedSession => &self.rated_session,
            Arg::UnratedSession => &self.unrated_session,
            Arg::Agent => &self.agent,
            Arg::SupportType => &self.support_type,
            Arg::TypeSlug => &self.type_slug,
            Arg::Reason => &self.reason,
            Arg::Tag => &self.tag,
            Arg::TagRule => &self.tag_rule,
            Arg::Canned => &self.canned,
            Arg::Account => &self.account,
            Arg::Customer => &self.customer,
            Arg::Token => &self.token,
            Arg::Blast => &self.blast,
            Arg::Webhook => &self.webhook,
            Arg::Notification => &self.notification,
            Arg::Attachment => &self.attachment,
            Arg::Suggestion => &self.suggestion,
            Arg::Draft => &self.draft,
            Arg::Import => &self.import,
        }
    }

    /// Fresh ids that name nothing, and a slug and an e-mail nobody has.
    fn nowhere() -> Self {
        let new = || Uuid::new_v4().to_string();
        Self {
            active_session: new(),
            queued_session: new(),
            rated_session: new(),
            unrated_session: new(),
            agent: new(),
            agent_email: "nobody-zq@nowhere.test".to_owned(),
            support_type: new(),
            type_slug: "nowhere-zq-type".to_owned(),
            reason: new(),
            tag: new(),
            tag_rule: new(),
            canned: new(),
            account: new(),
            customer: new(),
            token: new(),
            blast: new(),
            webhook: new(),
            notification: i64::MAX.to_string(),
            attachment: new(),
            suggestion: i64::MAX.to_string(),
            draft: i64::MAX.to_string(),
            import: new(),
        }
    }

    fn values(&self) -> [&str; 22] {
        [
            &self.active_session,
            &self.queued_session,
            &self.rated_session,
            &self.unrated_session,
            &self.agent,
            &self.agent_email,
            &self.support_type,
            &self.type_slug,
            &self.reason,
            &self.tag,
            &self.tag_rule,
            &self.canned,
            &self.account,
            &self.customer,
            &self.token,
            &self.blast,
            &self.webhook,
            &self.notification,
            &self.attachment,
            &self.suggestion,
            &self.draft,
            &self.import,
        ]
    }
}

/// What a caller gets from a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 404 `not_found`, exactly like the answer for ids that exist nowhere.
    NotFound,
    /// 403 `forbidden`.
    Forbidden,
    /// 422 `invalid` naming this field, exactly like the answer for a
    /// reference to nothing: the id or slug is in the body, and a body field
    /// naming something the caller cannot see is "no such thing" (the API's
    /// contract for unknown references).
    UnknownReference(&'static str),
    /// 200 with the caller's own data only (lists).
    Own,
    /// 200 with the caller's own identity (`/auth/me` is about the caller).
    Me,
    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer`.
    Unauthenticated,
    /// No credentials needed, by design (anonymous callers only).
    Public {
        status: u16,
        why: &'static str,
        /// Answered exactly as for values that exist nowhere.
        like_unknown: bool,
        /// Checked for A's data (not when the answer is the caller's own new
        /// thing, which belongs to A by design).
        leak_checked: bool,
    },
    /// The caller kind does not apply to this route, for the reason given.
    NotApplicable(&'static str),
}

use Expect::*;

const PUBLIC: Expect = NotApplicable("a public route: it takes no bearer token (see the anonymous entry)");
const SAME_ACCOUNT: Expect = NotApplicable(
    "not a session route: within their own account an agent's reach is decided by role, not by skill \
     (api_config.rs tests the role rules)",
);
const UNSET: Expect = NotApplicable("");

type Body = fn(&Ids) -> Option<Value>;

fn no_body(_: &Ids) -> Option<Value> {
    None
}

#[derive(Clone, Copy)]
struct Route {
    method: &'static str,
    /// The path under `/api/v1`, spelled as in the OpenAPI document.
    path: &'static str,
    /// What fills the path's `{…}` parameters, in order.
    args: &'static [Arg],
    /// An optional query parameter, `?name=<arg>`.
    query: Option<(&'static str, Arg)>,
    /// Fixed query parameters the route needs (`a=1&b=2`), before `query`.
    fixed: &'static str,
    body: Body,
    other_account: Expect,
    no_skill: Expect,
    other_customer: Expect,
    anonymous: Expect,
}

fn route(method: &'static str, path: &'static str, args: &'static [Arg]) -> Route {
    Route {
        method,
        path,
        args,
        query: None,
        fixed: "",
        body: no_body,
        other_account: UNSET,
        no_skill: UNSET,
        other_customer: UNSET,
        anonymous: Unauthenticated,
    }
}

impl Route {
    fn query(mut self, name: &'static str, arg: Arg) -> Self {
        self.query = Some((name, arg));
        self
    }

    fn fixed(mut self, query: &'static str) -> Self {
        self.fixed = query;
        self
    }

    fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Expectations for another account's admin, the agent without the
    /// skill, and another session's customer (anonymous: 401).
    fn expect(mut self, other_account: Expect, no_skill: Expect, other_customer: Expect) -> Self {
        self.other_account = other_account;
        self.no_skill = no_skill;
        self.other_customer = other_customer;
        self
    }

    fn public(mut self, anonymous: Expect) -> Self {
        self.other_account = PUBLIC;
        self.no_skill = PUBLIC;
        self.other_customer = PUBLIC;
        self.anonymous = anonymous;
        self
    }

    fn expectation(&self, caller: Caller) -> Expect {
        match caller {
            Caller::OtherAccount => self.other_account,
            Caller::NoSkill => self.no_skill,
            Caller::OtherCustomer => self.other_customer,
            Caller::Anonymous => self.anonymous,
        }
    }

    fn label(&self) -> String {
        match self.query {
            Some((name, _)) => format!("{} {}?{name}=…", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The number of `{…}` parameters in the path.
    fn placeholders(&self) -> usize {
        self.path.matches('{').count()
    }

    /// The path and query under `/api/v1` with `ids` filled in.
    fn url(&self, ids: &Ids) -> String {
        assert_eq!(self.placeholders(), self.args.len(), "{}: one Arg per path parameter", self.label());
        let mut url = String::new();
        let mut rest = self.path;
        for arg in self.args {
            let (before, after) = rest.split_once('{').expect("a parameter");
            let (_, after) = after.split_once('}').expect("a closed parameter");
            url.push_str(before);
            url.push_str(ids.get(*arg));
            rest = after;
        }
        url.push_str(rest);
        let mut sep = '?';
        if !self.fixed.is_empty() {
            url.push_str(&format!("?{}", self.fixed));
            sep = '&';
        }
        if let Some((name, arg)) = self.query {
            url.push_str(&format!("{sep}{name}={}", ids.get(arg)));
        }
        url
    }
}

/// Every route of `/api/v1`, with what each kind of caller gets. A new route
/// needs an entry here, or [`every_route_has_an_entry`] fails.
/// The drill-down's own parameters: every session opened, ever.
const DRILL: &str = "count=opened&start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z";

fn routes() -> Vec<Route> {
    use Arg::*;
    vec![
        // ---- Public: no credentials by design ----
        route("GET", "/openapi.json", &[]).public(Public {
            status: 200,
            why: "the API's own description, needed before anyone signs in; it holds no account data",
            like_unknown: false,
            leak_checked: true,
        }),
        route("POST", "/auth/login", &[])
            .body(|a| Some(json!({ "email": a.agent_email, "password": "not the password 123" })))
            .public(Public {
                status: 401,
                why: "signing in is how credentials are obtained; a wrong password for A's agent is answered \
                      exactly like an unknown e-mail",
                like_unknown: true,
                leak_checked: true,
            }),
        route("POST", "/auth/logout", &[]).public(Public {
            status: 204,
            why: "ends the caller's own cookie session, if any; without one it does nothing",
            like_unknown: false,
            leak_checked: true,
        }),
        route("POST", "/chat/{slug}/sessions", &[TypeSlug])
            .body(|_| Some(json!({ "name": "Walk-in Zz", "message": "Hello" })))
            .public(Public {
                status: 201,
                why: "anyone may open a chat on a support type's public chat page; the answer is the caller's \
                      own new session and the token for it alone",
                like_unknown: false,
                leak_checked: false,
            }),
        // ---- Who am I, passwords, audit ----
        route("GET", "/auth/me", &[]).expect(Me, Me, Me),
        route("POST", "/auth/password", &[])
            .body(|a| Some(json!({ "agent_id": a.agent, "new_password": "intruder password 123" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/audit-log", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/audit-log", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // Naming A's agent as the actor shows B's admin nothing of A's.
        route("GET", "/audit-log", &[]).query("actor_id", Agent).expect(Own, SAME_ACCOUNT, Forbidden),
        // ---- Reports: whole-account readers only ----
        route("GET", "/reports", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // The live queue monitor: the same whole-account readers.
        route("GET", "/monitor", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/monitor", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/sessions", &[]).fixed(DRILL).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/sessions", &[])
            .fixed(DRILL)
            .query("account_id", Account)
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/bots", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/bots", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/export.csv", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/export.csv", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/sessions.csv", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/reports/sessions.csv", &[])
            .query("account_id", Account)
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Sessions ----
        route("POST", "/sessions", &[])
            .body(|a| {
                Some(json!({ "support_type": a.type_slug, "message": "Intruder question",
                             "customer": { "name": "Mallory Zz" } }))
            })
            .expect(
                UnknownReference("support_type"),
                NotApplicable(
                    "opening a session reads nothing: any agent of the account may open one of its types, and \
                     the answer is the caller's own new session",
                ),
                Forbidden,
            ),
        route("GET", "/sessions", &[]).expect(Own, Own, Forbidden),
        route("GET", "/search", &[]).fixed("status=active").expect(Own, Own, Forbidden),
        route("GET", "/sessions", &[]).query("account_id", Account).expect(NotFound, Own, Forbidden),
        route("GET", "/sessions", &[]).query("customer_id", Customer).expect(Own, Own, Forbidden),
        route("GET", "/sessions/{id}", &[ActiveSession]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/assign", &[QueuedSession])
            .body(|_| Some(json!({})))
            .expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/reassign", &[ActiveSession])
            .body(|_| Some(json!({ "target": { "kind": "queue" }, "reason": "transfer" })))
            .expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/escalate", &[ActiveSession]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/resolve", &[ActiveSession])
            .body(|a| Some(json!({ "reason_id": a.reason })))
            .expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/reopen", &[UnratedSession]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/abandon", &[ActiveSession]).expect(NotFound, NotFound, NotFound),
        // Only the session's own customer asks for a person: anyone else is
        // refused before any lookup; another customer does not find it.
        route("POST", "/sessions/{id}/request-person", &[ActiveSession]).expect(Forbidden, Forbidden, NotFound),
        route("GET", "/sessions/{id}/messages", &[ActiveSession]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/messages", &[ActiveSession])
            .body(|_| Some(json!({ "body": "Intruder message" })))
            .expect(NotFound, NotFound, NotFound),
        // Notes and tags are for agents: a customer is refused before any lookup.
        route("GET", "/sessions/{id}/notes", &[ActiveSession]).expect(NotFound, NotFound, Forbidden),
        // Files: one may upload into, and read the files of, the sessions one may see.
        route("POST", "/sessions/{id}/attachments", &[ActiveSession]).expect(NotFound, NotFound, NotFound),
        route("GET", "/attachments/{id}", &[Attachment]).expect(NotFound, NotFound, NotFound),
        route("GET", "/attachments/{id}/thumbnail", &[Attachment]).expect(NotFound, NotFound, NotFound),
        route("GET", "/attachments/{id}/links", &[Attachment]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/notes", &[ActiveSession])
            .body(|_| Some(json!({ "body": "Intruder note" })))
            .expect(NotFound, NotFound, Forbidden),
        route("GET", "/sessions/{id}/tags", &[ActiveSession]).expect(NotFound, NotFound, Forbidden),
        // Suggestions are for agents too.
        route("GET", "/sessions/{id}/suggestions", &[ActiveSession]).expect(NotFound, NotFound, Forbidden),
        // Bot drafts: people who see the session; customers are refused first.
        route("GET", "/sessions/{id}/drafts", &[ActiveSession]).expect(NotFound, NotFound, Forbidden),
        route("POST", "/drafts/{draft_id}", &[Draft])
            .body(|_| Some(json!({ "action": "discard" })))
            .expect(NotFound, NotFound, Forbidden),
        // Only the session's own customer says the bot helped.
        route("POST", "/sessions/{id}/helped", &[ActiveSession]).expect(Forbidden, Forbidden, NotFound),
        route("POST", "/sessions/{id}/suggestions/{suggestion_id}/outcome", &[ActiveSession, Suggestion])
            .body(|_| Some(json!({ "outcome": "dismissed" })))
            .expect(NotFound, NotFound, Forbidden),
        route("POST", "/sessions/{id}/tags", &[ActiveSession])
            .body(|_| Some(json!({ "name": "intruder-zz" })))
            .expect(NotFound, NotFound, Forbidden),
        route("DELETE", "/sessions/{id}/tags/{tag_id}", &[ActiveSession, Tag]).expect(
            NotFound,
            NotFound,
            Forbidden,
        ),
        route("GET", "/sessions/{id}/csat", &[RatedSession]).expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/csat", &[UnratedSession])
            .body(|_| Some(json!({ "score": 1, "comment": "Intruder" })))
            .expect(NotFound, NotFound, NotFound),
        route("POST", "/sessions/{id}/csat/request", &[UnratedSession]).expect(NotFound, NotFound, NotFound),
        // ---- Agents and their tokens ----
        route("GET", "/agents", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/agents", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/agents", &[])
            .body(|a| {
                Some(json!({ "account_id": a.account, "email": "mallory-zz@intruder.test",
                             "display_name": "Mallory Zz", "role": "admin" }))
            })
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/agents/{id}", &[Agent]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/agents/{id}", &[Agent])
            .body(|_| Some(json!({ "display_name": "Mallory Zz" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PUT", "/agents/{id}/presence", &[Agent])
            .body(|_| Some(json!({ "presence": "offline" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        // Only the agent themself: refused before any lookup, whatever the id.
        route("POST", "/agents/{id}/heartbeat", &[Agent]).expect(Forbidden, SAME_ACCOUNT, Forbidden),
        route("GET", "/agents/{id}/skills", &[Agent]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PUT", "/agents/{id}/skills", &[Agent])
            .body(|a| Some(json!([{ "support_type_id": a.support_type }])))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/agents/{id}/tokens", &[Agent]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/agents/{id}/tokens", &[Agent])
            .body(|_| Some(json!({ "label": "intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/tokens/{id}", &[Token]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Support types and resolution reasons ----
        route("GET", "/support-types", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/support-types", &[]).query("account_id", Account).expect(
            NotFound,
            SAME_ACCOUNT,
            Forbidden,
        ),
        route("POST", "/support-types", &[])
            .body(|a| Some(json!({ "account_id": a.account, "slug": "intruder-zz", "name": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/support-types/{id}", &[SupportType]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/support-types/{id}", &[SupportType])
            .body(|_| Some(json!({ "name": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/support-types/{id}", &[SupportType]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/support-types/{id}/resolution-reasons", &[SupportType]).expect(
            NotFound,
            SAME_ACCOUNT,
            Forbidden,
        ),
        route("POST", "/support-types/{id}/resolution-reasons", &[SupportType])
            .body(|_| Some(json!({ "label": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/support-types/{id}/resolution-reasons/{reason_id}", &[SupportType, Reason])
            .body(|_| Some(json!({ "label": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/support-types/{id}/bot", &[SupportType]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PUT", "/support-types/{id}/bot", &[SupportType])
            .body(|_| Some(json!({ "mode": "auto", "threshold": 0.1, "turn_limit": 50, "instructions": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Tags, tag rules, canned responses ----
        route("GET", "/tags", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/tags", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/tags", &[])
            .body(|a| Some(json!({ "account_id": a.account, "name": "intruder-zz" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/tags/{id}", &[Tag]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/tag-rules", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/tag-rules", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/tag-rules", &[])
            .body(|a| {
                Some(json!({ "account_id": a.account, "tag": "intruder-zz", "kind": "keyword",
                             "pattern": "intruder", "support_type_id": a.support_type }))
            })
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/tag-rules/{id}", &[TagRule]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/canned-responses", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/canned-responses", &[]).query("account_id", Account).expect(
            NotFound,
            SAME_ACCOUNT,
            Forbidden,
        ),
        route("GET", "/canned-responses", &[]).query("support_type_id", SupportType).expect(
            Own,
            SAME_ACCOUNT,
            Forbidden,
        ),
        route("POST", "/canned-responses", &[])
            .body(|a| {
                Some(json!({ "account_id": a.account, "support_type_id": a.support_type,
                             "shortcut": "intruderzz", "title": "Intruder", "body": "Intruder" }))
            })
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/canned-responses/{id}", &[Canned])
            .body(|_| Some(json!({ "title": "Intruder" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/canned-responses/{id}", &[Canned]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Accounts and customers ----
        // A customer's token is for their session's messages and CSAT, nothing
        // else (issue 4): not even their account's record.
        route("GET", "/accounts", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        // Global admins only; names no account, so nothing to find.
        route("POST", "/accounts", &[])
            .body(|_| Some(json!({ "slug": "intruder-zz", "name": "Intruder" })))
            .expect(Forbidden, SAME_ACCOUNT, Forbidden),
        route("GET", "/accounts/{id}", &[Account]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/accounts/{id}", &[Account])
            .body(|_| Some(json!({ "name": "Intruder", "widget_origins": ["https://intruder.example"] })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/accounts/{id}/identity-secret", &[Account]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/accounts/{id}/attachment-policy", &[Account]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PUT", "/accounts/{id}/attachment-policy", &[Account])
            .body(|_| Some(json!({ "max_bytes": 2048, "max_per_message": 1, "kinds": ["pdf"] })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        // An agent sees the customers of the sessions they can see.
        route("GET", "/customers/{id}", &[Customer]).expect(NotFound, NotFound, NotFound),
        route("PATCH", "/customers/{id}", &[Customer])
            .body(|_| Some(json!({ "preferred_agent_id": null })))
            .expect(NotFound, SAME_ACCOUNT, NotFound),
        // Erasure: admins of the customer's account (A's target customer has
        // open sessions, so even they would get 409 here).
        route("DELETE", "/customers/{id}", &[Customer]).expect(NotFound, NotFound, NotFound),
        // ---- Blasts: admins of the account; customers refused before any lookup ----
        route("GET", "/blasts", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/blasts", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/blasts", &[])
            .body(|a| {
                Some(json!({ "account_id": a.account, "body": "Intruder blast",
                             "segment": { "kind": "support_type", "support_type_id": a.support_type } }))
            })
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/blasts/{id}", &[Blast]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // A blast's file: staged by the account's admins, checked before the
        // upload is read.
        route("POST", "/accounts/{id}/attachments", &[Account]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Imports: admins of the account, checked before the upload is read ----
        route("GET", "/imports", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/imports", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/imports", &[]).fixed("format=jsonl").query("account_id", Account).expect(
            NotFound,
            SAME_ACCOUNT,
            Forbidden,
        ),
        route("GET", "/imports/{id}", &[Import]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PUT", "/imports/{id}/mapping", &[Import])
            .body(|_| Some(json!({})))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/imports/{id}/apply", &[Import]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/imports/{id}/cancel", &[Import]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/blasts/{id}/cancel", &[Blast]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // ---- Webhooks (admins of the account) and notifications (the agent's own) ----
        route("GET", "/webhooks", &[]).expect(Own, SAME_ACCOUNT, Forbidden),
        route("GET", "/webhooks", &[]).query("account_id", Account).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/webhooks", &[])
            .body(|a| {
                Some(json!({ "account_id": a.account, "url": "https://intruder.example/hook",
                             "events": ["#"] }))
            })
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("PATCH", "/webhooks/{id}", &[Webhook])
            .body(|_| Some(json!({ "url": "https://intruder.example/hook" })))
            .expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("DELETE", "/webhooks/{id}", &[Webhook]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("GET", "/webhooks/{id}/deliveries", &[Webhook]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        route("POST", "/webhooks/{id}/test", &[Webhook]).expect(NotFound, SAME_ACCOUNT, Forbidden),
        // Notifications are the caller's own: another agent's are "not found".
        route("GET", "/notifications", &[]).expect(Own, Own, Forbidden),
        route("POST", "/notifications/{id}/read", &[Notification]).expect(NotFound, NotFound, Forbidden),
        route("GET", "/notifications/unread", &[]).expect(Own, Own, Forbidden),
        route("POST", "/notifications/read-all", &[]).expect(Own, Own, Forbidden),
    ]
}

// ---- The callers ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    OtherAccount,
    NoSkill,
    OtherCustomer,
    Anonymous,
}

impl Caller {
    fn name(self) -> &'static str {
        match self {
            Self::OtherAccount => "admin of account B",
            Self::NoSkill => "agent of A without the skill",
            Self::OtherCustomer => "customer of another session of A",
            Self::Anonymous => "anonymous",
        }
    }
}

struct Who {
    caller: Caller,
    token: Option<String>,
    /// Strings of A this caller must never be shown.
    secrets: Vec<String>,
    /// The account whose data the caller may list.
    account: String,
    /// The fields `/auth/me` must answer with.
    me: Value,
}

// Account A's texts: distinctive, so that finding one in a body means a leak.
const A_SLUG: &str = "alpha-zq";
const A_NAME: &str = "Alpha Zq Holdings";
const A_WIDGET_ORIGIN: &str = "https://shop.alpha-zq.example";
const A_TYPE_NAME: &str = "Alpha Zq Billing Desk";
const A_OTHER_TYPE_SLUG: &str = "alpha-zq-other";
const A_OTHER_TYPE_NAME: &str = "Alpha Zq Other Desk";
const A_REASON_LABEL: &str = "Alpha Zq refund issued";
const A_CUSTOMER_NAME: &str = "Zed Zq Customerson";
const A_CUSTOMER_EMAIL: &str = "zed.zq@alpha-customer.example";
const A_CUSTOMER_REF: &str = "alpha-zq-ext-77";
const A_PROJECT_REF: &str = "ALPHA-ZQ-PRJ-9";
const A_FIRST_MESSAGE: &str = "Alpha zq first message secret";
const A_AGENT_REPLY: &str = "Alpha zq agent reply secret";
const A_NOTE: &str = "Alpha zq internal note secret";
const A_CSAT_COMMENT: &str = "Alpha zq csat comment secret";
const A_SESSION_TAG: &str = "alpha-zq-session-tag";
const A_RULE_TAG: &str = "alpha-zq-rule-tag";
const A_RULE_PATTERN: &str = "alphazqpattern";
const A_CANNED_SHORTCUT: &str = "alphazqshort";
const A_CANNED_TITLE: &str = "Alpha zq canned title";
const A_CANNED_BODY: &str = "Alpha zq canned body secret";
const A_BLAST_BODY: &str = "Alpha zq blast body secret";
const A_PASSWORD: &str = "alpha zq correct horse";
const A_WEBHOOK_URL: &str = "https://hooks.alpha-zq.example/in";
const A_ALERT: &str = "Alpha zq alert secret";
const A_ATTACHMENT_NAME: &str = "alpha-zq-screenshot.png";
const CALLER_NAME: &str = "Cara Zq Caller";
const CALLER_EMAIL: &str = "cara.zq@caller.example";
const CALLER_MESSAGE: &str = "Cara zq own first message";

struct World {
    /// Account A's targets.
    a: Ids,
    /// Ids that exist nowhere, for the "looks like nothing" comparison.
    nowhere: Ids,
    callers: Vec<Who>,
}

async fn exec(pool: &PgPool, sql: &str, binds: &[Uuid]) {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(b);
    }
    query.execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn agent_email(pool: &PgPool, agent: Uuid) -> String {
    sqlx::query_scalar("SELECT email::text FROM agents WHERE id = $1")
        .bind(agent)
        .fetch_one(pool)
        .await
        .expect("email")
}

/// Opens a session of A's type for A's customer; returns its id.
async fn open_a_session(app: &Api, token: &str, type_slug: &str) -> (String, String) {
    let res = app
        .post(
            "/sessions",
            token,
            json!({ "support_type": type_slug, "message": A_FIRST_MESSAGE, "project_ref": A_PROJECT_REF,
                    "customer": { "name": A_CUSTOMER_NAME, "email": A_CUSTOMER_EMAIL,
                                  "external_ref": A_CUSTOMER_REF } }),
        )
        .await;
    let opened = expect(res, StatusCode::CREATED).await;
    (id(&opened["session"]).to_owned(), opened["customer_id"].as_str().expect("customer").to_owned())
}

impl World {
    /// Account A, fully populated, with an agent who lacks the skill and a
    /// customer of another session; account B with its admin and a little
    /// data of its own.
    async fn build(pool: &PgPool, app: &Api) -> Self {
        let a = seed_account(pool, A_SLUG).await;
        exec(pool, &format!("UPDATE accounts SET name = '{A_NAME}' WHERE id = $1"), &[a.id]).await;
        exec(
            pool,
            &format!(
                "UPDATE support_types SET name = '{A_TYPE_NAME}', escalation_priority_bump = 10 WHERE id = $1"
            ),
            &[a.type_id],
        )
        .await;
        exec(
            pool,
            &format!("UPDATE resolution_reasons SET label = '{A_REASON_LABEL}' WHERE id = $1"),
            &[a.reason_id],
        )
        .await;
        let other_type: Uuid = sqlx::query_scalar(
            "INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, $2, $3, 'manual') RETURNING id",
        )
        .bind(a.id)
        .bind(A_OTHER_TYPE_SLUG)
        .bind(A_OTHER_TYPE_NAME)
        .fetch_one(pool)
        .await
        .expect("other type");

        let (admin, admin_token) = seed_agent(pool, Some(&a), "admin", "alphazq-admin").await;
        let (alice, alice_token) = seed_agent(pool, Some(&a), "agent", "alicezq").await;
        let (nosk, nosk_token) = seed_agent(pool, Some(&a), "agent", "noskillzq").await;
        // The agent without the skill serves only the other type.
        exec(
            pool,
            "DELETE FROM agent_skills WHERE agent_id = $1 AND support_type_id = $2",
            &[nosk, a.type_id],
        )
        .await;
        let alice_token_id: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE agent_id = $1")
            .bind(alice)
            .fetch_one(pool)
            .await
            .expect("alice's token");
        domain::auth::change_password(
            pool,
            &Actor::System,
            AgentId(alice),
            None,
            A_PASSWORD.to_owned(),
            None,
        )
        .await
        .expect("alice's password");

        // The target sessions, all of A's customer.
        let (active, customer) = open_a_session(app, &admin_token, &a.type_slug).await;
        let assign = |session: &str| format!("/sessions/{session}/assign");
        expect(app.post(&assign(&active), &admin_token, json!({ "agent_id": alice })).await, StatusCode::OK)
            .await;
        let session_path = format!("/sessions/{active}");
        let reply = app
            .post(&format!("{session_path}/messages"), &alice_token, json!({ "body": A_AGENT_REPLY }))
            .await;
        expect(reply, StatusCode::CREATED).await;
        // An image Alice sends the customer.
        let mut shot = Vec::new();
        image::DynamicImage::new_rgb8(40, 30)
            .write_to(&mut std::io::Cursor::new(&mut shot), image::ImageFormat::Png)
            .expect("png");
        let part = reqwest::multipart::Part::bytes(shot).file_name(A_ATTACHMENT_NAME);
        let res = app
            .request(Method::POST, &format!("{session_path}/attachments"), &alice_token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("upload");
        let attachment = id(&expect(res, StatusCode::CREATED).await).to_owned();
        let res = app
            .post(
                &format!("{session_path}/messages"),
                &alice_token,
                json!({ "body": "see", "attachment_ids": [attachment] }),
            )
            .await;
        expect(res, StatusCode::CREATED).await;
        let note = app.post(&format!("{session_path}/notes"), &admin_token, json!({ "body": A_NOTE })).await;
        expect(note, StatusCode::CREATED).await;
        let tags =
            app.post(&format!("{session_path}/tags"), &admin_token, json!({ "name": A_SESSION_TAG })).await;
        let tag = expect(tags, StatusCode::OK).await[0]["tag_id"].as_str().expect("tag").to_owned();

        let (queued, _) = open_a_session(app, &admin_token, &a.type_slug).await;
        let mut resolved = Vec::new();
        for _ in 0..2 {
            let (session, _) = open_a_session(app, &admin_token, &a.type_slug).await;
            expect(app.post(&assign(&session), &alice_token, json!({})).await, StatusCode::OK).await;
            let resolve = format!("/sessions/{session}/resolve");
            let res = app.post(&resolve, &alice_token, json!({ "reason_id": a.reason_id })).await;
            expect(res, StatusCode::OK).await;
            resolved.push(session);
        }
        let (rated, unrated) = (resolved[0].clone(), resolved[1].clone());
        let rating = SubmitCsat { score: 2, comment: Some(A_CSAT_COMMENT.to_owned()) };
        domain::csat::submit(pool, &Actor::System, SessionId(rated.parse().expect("uuid")), rating)
            .await
            .expect("csat");

        let rule = app
            .post(
                "/tag-rules",
                &admin_token,
                json!({ "tag": A_RULE_TAG, "kind": "keyword", "pattern": A_RULE_PATTERN }),
            )
            .await;
        let rule = expect(rule, StatusCode::CREATED).await;
        let canned = app
            .post(
                "/canned-responses",
                &admin_token,
                json!({ "shortcut": A_CANNED_SHORTCUT, "title": A_CANNED_TITLE, "body": A_CANNED_BODY,
                        "support_type_id": a.type_id }),
            )
            .await;
        let canned = expect(canned, StatusCode::CREATED).await;
        let account_path = format!("/accounts/{}", a.id);
        let res =
            app.patch(&account_path, &admin_token, json!({ "widget_origins": [A_WIDGET_ORIGIN] })).await;
        expect(res, StatusCode::OK).await;
        let res = app.post(&format!("{account_path}/identity-secret"), &admin_token, json!({})).await;
        let identity_secret =
            expect(res, StatusCode::CREATED).await["secret"].as_str().expect("secret").to_owned();
        // A webhook on a topic nothing here emits (so no delivery runs in
        // the background), and an alert for Alice about the active session.
        let res = app
            .post("/webhooks", &admin_token, json!({ "url": A_WEBHOOK_URL, "events": ["alpha_zq.never"] }))
            .await;
        let created = expect(res, StatusCode::CREATED).await;
        let webhook = id(&created["webhook"]).to_owned();
        let webhook_secret = created["secret"].as_str().expect("webhook secret").to_owned();
        let mut conn = pool.acquire().await.expect("connection");
        let alert = domain::notifications::alert(
            &mut conn,
            AgentId(alice),
            "session.assigned",
            Some(SessionId(active.parse().expect("uuid"))),
            A_ALERT,
        )
        .await
        .expect("alert");
        let suggestion: i64 = sqlx::query_scalar(
            "INSERT INTO suggestions (session_id, agent_id, rank, body, confidence, method, sources)
             VALUES ($1, $2, 1, 'A suggested reply', 0.5, 'retrieval', '[]') RETURNING id",
        )
        .bind(SessionId(active.parse().expect("uuid")))
        .bind(AgentId(alice))
        .fetch_one(&mut *conn)
        .await
        .expect("suggestion");
        // A bot's draft waiting in the active session (mode `drafts`).
        let draft = sqlx::query_scalar!(
            "INSERT INTO bot_drafts (session_id, account_id, bot_id, kind, event_id, body)
             VALUES ($1, $2, $3, 'answer', gen_random_uuid(), 'A drafted reply') RETURNING id",
            active.parse::<Uuid>().expect("uuid"),
            a.id,
            alice,
        )
        .fetch_one(&mut *conn)
        .await
        .expect("draft");
        drop(conn);

        // An import run of A, uploaded and not applied.
        let import: Uuid = sqlx::query_scalar(
            "INSERT INTO import_runs (account_id, format, source, file_name, file_sha256, file_bytes)
             VALUES ($1, 'jsonl', 'jsonl', 'history.jsonl', sha256('x'), 1) RETURNING id",
        )
        .bind(a.id)
        .fetch_one(pool)
        .await
        .expect("import run");

        // The customer of another session of A (same type: the same queue).
        let res = app
            .app
            .client
            .post(format!("{}/api/v1/chat/{}/sessions", app.app.base, a.type_slug))
            .json(&json!({ "name": CALLER_NAME, "email": CALLER_EMAIL, "message": CALLER_MESSAGE }))
            .send()
            .await
            .expect("open chat");
        let chat = expect(res, StatusCode::CREATED).await;
        let caller_token = chat["token"].as_str().expect("token").to_owned();
        let caller_session = id(&chat["session"]).to_owned();
        let caller_customer = chat["customer_id"].as_str().expect("customer").to_owned();

        // Account B: an admin, a session, a tag.
        let b = seed_account(pool, "beta-yk").await;
        let (b_admin, b_token) = seed_agent(pool, Some(&b), "admin", "betayk-admin").await;
        let res = app
            .post(
                "/sessions",
                &b_token,
                json!({ "support_type": b.type_slug, "message": "Beta yk question",
                        "customer": { "name": "Beta Yk Customer" } }),
            )
            .await;
        expect(res, StatusCode::CREATED).await;
        expect(app.post("/tags", &b_token, json!({ "name": "beta-yk-tag" })).await, StatusCode::CREATED)
            .await;

        // A blast to the other type's customers (there are none, so it
        // messages nobody and leaves the snapshot alone).
        let res = app
            .post(
                "/blasts",
                &admin_token,
                json!({ "body": A_BLAST_BODY,
                        "segment": { "kind": "support_type", "support_type_id": other_type } }),
            )
            .await;
        let blast = id(&expect(res, StatusCode::CREATED).await).to_owned();

        let alice_email = agent_email(pool, alice).await;
        let ids = Ids {
            active_session: active.clone(),
            queued_session: queued.clone(),
            rated_session: rated.clone(),
            unrated_session: unrated.clone(),
            agent: alice.to_string(),
            agent_email: alice_email.clone(),
            support_type: a.type_id.to_string(),
            type_slug: a.type_slug.clone(),
            reason: a.reason_id.to_string(),
            tag: tag.clone(),
            tag_rule: id(&rule).to_owned(),
            canned: id(&canned).to_owned(),
            account: a.id.to_string(),
            customer: customer.clone(),
            token: alice_token_id.to_string(),
            blast: blast.clone(),
            webhook: webhook.clone(),
            notification: alert.id.to_string(),
            attachment: attachment.clone(),
            suggestion: suggestion.to_string(),
            draft: draft.to_string(),
            import: import.to_string(),
        };

        // What only those who work the target sessions may see.
        let session_private: Vec<String> = [
            &active,
            &queued,
            &rated,
            &unrated,
            &customer,
            A_CUSTOMER_NAME,
            A_CUSTOMER_EMAIL,
            A_CUSTOMER_REF,
            A_PROJECT_REF,
            A_FIRST_MESSAGE,
            A_AGENT_REPLY,
            A_NOTE,
            A_CSAT_COMMENT,
            &caller_session,
            &caller_customer,
            CALLER_NAME,
            CALLER_EMAIL,
            CALLER_MESSAGE,
            &caller_token,
            &identity_secret,
            &webhook_secret,
            A_ALERT,
            &attachment,
            A_ATTACHMENT_NAME,
            &admin_token,
            &alice_token,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Everything else of A.
        let mut everything = session_private.clone();
        for agent in [admin, alice, nosk] {
            everything.push(agent.to_string());
            everything.push(agent_email(pool, agent).await);
        }
        everything.extend([
            a.id.to_string(),
            A_SLUG.to_owned(),
            A_NAME.to_owned(),
            A_WIDGET_ORIGIN.to_owned(),
            a.type_id.to_string(),
            a.type_slug.clone(),
            A_TYPE_NAME.to_owned(),
            other_type.to_string(),
            A_OTHER_TYPE_SLUG.to_owned(),
            A_OTHER_TYPE_NAME.to_owned(),
            a.reason_id.to_string(),
            A_REASON_LABEL.to_owned(),
            "alphazq-admin".to_owned(),
            "alicezq".to_owned(),
            "noskillzq".to_owned(),
            nosk_token.clone(),
            alice_token_id.to_string(),
            tag,
            A_SESSION_TAG.to_owned(),
            id(&rule).to_owned(),
            rule["tag_id"].as_str().expect("rule's tag").to_owned(),
            A_RULE_TAG.to_owned(),
            A_RULE_PATTERN.to_owned(),
            id(&canned).to_owned(),
            A_CANNED_SHORTCUT.to_owned(),
            A_CANNED_TITLE.to_owned(),
            A_CANNED_BODY.to_owned(),
            blast,
            A_BLAST_BODY.to_owned(),
            webhook,
            A_WEBHOOK_URL.to_owned(),
        ]);
        // The other customer knows their own session, their account's id
        // (from /auth/me) and the chat page's slug; nothing else of A.
        let callers_own = [
            a.id.to_string(),
            a.type_slug.clone(),
            caller_session.clone(),
            caller_customer.clone(),
            CALLER_NAME.to_owned(),
            CALLER_EMAIL.to_owned(),
            CALLER_MESSAGE.to_owned(),
            caller_token.clone(),
        ];
        let for_customer: Vec<String> =
            everything.iter().filter(|s| !callers_own.contains(s)).cloned().collect();

        let callers = vec![
            Who {
                caller: Caller::OtherAccount,
                token: Some(b_token),
                secrets: everything.clone(),
                account: b.id.to_string(),
                me: json!({ "kind": "agent", "id": b_admin, "account_id": b.id, "role": "admin" }),
            },
            Who {
                caller: Caller::NoSkill,
                token: Some(nosk_token),
                secrets: session_private,
                account: a.id.to_string(),
                me: json!({ "kind": "agent", "id": nosk, "account_id": a.id, "role": "agent" }),
            },
            Who {
                caller: Caller::OtherCustomer,
                token: Some(caller_token),
                secrets: for_customer,
                account: a.id.to_string(),
                me: json!({ "kind": "customer", "session_id": caller_session, "customer_id": caller_customer,
                            "account_id": a.id }),
            },
            Who {
                caller: Caller::Anonymous,
                token: None,
                secrets: everything,
                account: String::new(),
                me: Value::Null,
            },
        ];
        Self { a: ids, nowhere: Ids::nowhere(), callers }
    }
}

// ---- Calling and checking ----

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The answer as one line for failure messages.
    fn show(&self) -> String {
        let text: String = self.text.chars().take(600).collect();
        format!("{} {text}", self.status.as_u16())
    }
}

/// Calls `route` with `ids` filled in; returns what was sent (URL and body)
/// and the answer. Every request names this site as its Origin, as a browser
/// on the site would: the CSRF check is not what is tested here.
async fn call(app: &Api, route: &Route, ids: &Ids, token: Option<&str>) -> (String, Answer) {
    let url = route.url(ids);
    let method = Method::from_bytes(route.method.as_bytes()).expect("method");
    let mut req = app
        .app
        .client
        .request(method, format!("{}/api/v1{url}", app.app.base))
        .header(header::ORIGIN, &app.app.base);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let body = (route.body)(ids);
    if let Some(body) = &body {
        req = req.json(body);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{}: {e}", route.label()));
    let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, www_authenticate) = (header(header::CONTENT_TYPE), header(header::WWW_AUTHENTICATE));
    let status = res.status();
    let text = res.text().await.expect("body");
    let sent = format!("{url} {}", body.map(|b| b.to_string()).unwrap_or_default());
    (sent, Answer { status, content_type, www_authenticate, text })
}

/// A JSON error of the common shape with this status, code (and field).
fn check_error(answer: &Answer, status: u16, code: &str, field: Option<&str>, problems: &mut Vec<String>) {
    let body = answer.json();
    let error = &body["error"];
    let ok = answer.status.as_u16() == status
        && answer.content_type.as_deref() == Some("application/json")
        && error["code"] == code
        && error["message"].as_str().is_some_and(|m| !m.is_empty())
        && field.is_none_or(|f| error["field"] == f);
    if !ok {
        let field = field.map(|f| format!(" on {f}")).unwrap_or_default();
        problems.push(format!("expected {status} {code}{field}, got {}", answer.show()));
    }
}

/// The caller's own data only: every `account_id` in the body is theirs (and
/// `/accounts` lists their account alone).
fn check_own(route: &Route, answer: &Answer, who: &Who, problems: &mut Vec<String>) {
    // An export is the caller's own rows; the leak check reads its text.
    if answer.status == StatusCode::OK
        && answer.content_type.as_deref().is_some_and(|t| t.starts_with("text/csv"))
    {
        return;
    }
    if answer.status != StatusCode::OK || answer.content_type.as_deref() != Some("application/json") {
        problems.push(format!("expected 200 with the caller's own data, got {}", answer.show()));
        return;
    }
    let body = answer.json();
    let mut accounts = Vec::new();
    collect_account_ids(&body, &mut accounts);
    if route.path == "/accounts" {
        accounts.extend(
            body.as_array().into_iter().flatten().map(|a| a["id"].as_str().unwrap_or("?").to_owned()),
        );
        if accounts.is_empty() {
            problems.push("the caller's own account is missing from /accounts".to_owned());
        }
    }
    let foreign: BTreeSet<&String> = accounts.iter().filter(|a| **a != who.account).collect();
    if !foreign.is_empty() {
        problems.push(format!("lists things of other accounts {foreign:?}: {}", answer.show()));
    }
}

fn collect_account_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "account_id"
                    && let Some(s) = value.as_str()
                {
                    out.push(s.to_owned());
                }
                collect_account_ids(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_account_ids(item, out)),
        _ => {}
    }
}

/// `/auth/me`: the caller themself.
fn check_me(answer: &Answer, who: &Who, problems: &mut Vec<String>) {
    let body = answer.json();
    let mismatched = who.me.as_object().expect("fields").iter().any(|(k, v)| body[k] != *v);
    if answer.status != StatusCode::OK || mismatched {
        problems.push(format!("expected the caller's own identity {}, got {}", who.me, answer.show()));
    }
}

/// A's strings in the answer, other than those the caller sent itself.
fn leaks<'a>(answer: &Answer, sent: &str, secrets: &'a [String]) -> Vec<&'a str> {
    let (text, sent) = (answer.text.to_lowercase(), sent.to_lowercase());
    secrets
        .iter()
        .map(|s| s.as_str())
        .filter(|s| {
            let s = s.to_lowercase();
            !sent.contains(&s) && text.contains(&s)
        })
        .collect()
}

/// The same call with ids that exist nowhere must be answered the same way
/// (after putting the sent values back where the answer echoes them).
async fn check_like_unknown(
    app: &Api,
    world: &World,
    route: &Route,
    who: &Who,
    answer: &Answer,
    problems: &mut Vec<String>,
) {
    let (_, unknown) = call(app, route, &world.nowhere, who.token.as_deref()).await;
    let mut text = unknown.text.clone();
    for (nowhere, real) in world.nowhere.values().iter().zip(world.a.values()) {
        text = text.replace(nowhere, real);
    }
    if unknown.status != answer.status || text != answer.text {
        problems.push(format!(
            "answered differently than for ids that exist nowhere, so A's ids can be probed:\n      A's ids: {}\n      \
             nowhere: {}",
            answer.show(),
            unknown.show()
        ));
    }
}

/// Calls `route` as `who` and returns what is wrong with the answer.
async fn check(app: &Api, world: &World, who: &Who, route: &Route) -> Vec<String> {
    let expect = route.expectation(who.caller);
    let (sent, answer) = call(app, route, &world.a, who.token.as_deref()).await;
    let mut problems = Vec::new();
    let mut leak_checked = true;
    match expect {
        NotFound => {
            check_error(&answer, 404, "not_found", None, &mut problems);
            check_like_unknown(app, world, route, who, &answer, &mut problems).await;
        }
        Forbidden => check_error(&answer, 403, "forbidden", None, &mut problems),
        UnknownReference(field) => {
            check_error(&answer, 422, "invalid", Some(field), &mut problems);
            check_like_unknown(app, world, route, who, &answer, &mut problems).await;
        }
        Unauthenticated => {
            check_error(&answer, 401, "unauthenticated", None, &mut problems);
            if answer.www_authenticate.as_deref() != Some("Bearer") {
                problems.push(format!("no WWW-Authenticate: Bearer ({:?})", answer.www_authenticate));
            }
        }
        Own => check_own(route, &answer, who, &mut problems),
        Me => check_me(&answer, who, &mut problems),
        Public { status, like_unknown, leak_checked: checked, .. } => {
            if answer.status.as_u16() != status {
                problems.push(format!("a public route: expected {status}, got {}", answer.show()));
            }
            if like_unknown {
                check_like_unknown(app, world, route, who, &answer, &mut problems).await;
            }
            leak_checked = checked;
        }
        NotApplicable(_) => return Vec::new(),
    }
    if leak_checked {
        let leaked = leaks(&answer, &sent, &who.secrets);
        if !leaked.is_empty() {
            problems.push(format!("LEAKS A's data {leaked:?}: {}", answer.show()));
        }
    }
    problems.into_iter().map(|p| format!("{} as {}: {p}", route.label(), who.caller.name())).collect()
}

/// The tables a refused call must leave alone, as JSON text (token
/// `last_used_at` excepted: authenticating touches it).
async fn snapshot(pool: &PgPool) -> BTreeMap<&'static str, String> {
    const TABLES: [&str; 21] = [
        "accounts",
        "support_types",
        "resolution_reasons",
        "agents",
        "agent_skills",
        "api_tokens",
        "auth_sessions",
        "customers",
        "customer_tokens",
        "sessions",
        "assignments",
        "messages",
        "notes",
        "tags",
        "session_tags",
        "tag_rules",
        "canned_responses",
        "csat",
        "webhooks",
        "webhook_deliveries",
        "notifications",
    ];
    let mut out = BTreeMap::new();
    for table in TABLES {
        let sql = format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'last_used_at' ORDER BY to_jsonb(t)::text), '[]')::text FROM {table} t"
        );
        let rows: String = sqlx::query_scalar(&sql).fetch_one(pool).await.expect(table);
        out.insert(table, rows);
    }
    out
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_route_lets_another_account_a_skill_less_agent_another_customer_or_nobody_in(pool: PgPool) {
    let app = api(pool.clone()).await;
    let world = World::build(&pool, &app).await;
    let routes = routes();
    // The background consumers (tagging, greetings) act on the events the
    // setup wrote; let them finish so the snapshot sees only the calls.
    wait_until_events_settle(&pool).await;
    let before = snapshot(&pool).await;

    let mut problems = Vec::new();
    let mut calls: BTreeMap<&str, usize> = BTreeMap::new();
    for who in &world.callers {
        for route in &routes {
            if matches!(route.expectation(who.caller), Public { .. } | NotApplicable(_)) {
                continue;
            }
            *calls.entry(who.caller.name()).or_default() += 1;
            problems.extend(check(&app, &world, who, route).await);
        }
    }
    wait_until_events_settle(&pool).await;
    let after = snapshot(&pool).await;
    for (table, rows) in &before {
        if after[table] != *rows {
            problems.push(format!(
                "a refused call changed table {table}:\n      before: {rows}\n      after:  {}",
                after[table]
            ));
        }
    }

    // The public routes last: they sign in and open chats.
    let anonymous = world.callers.iter().find(|w| w.caller == Caller::Anonymous).expect("anonymous");
    for route in routes.iter().filter(|r| matches!(r.anonymous, Public { .. })) {
        *calls.entry("anonymous, public routes").or_default() += 1;
        problems.extend(check(&app, &world, anonymous, route).await);
    }

    assert!(
        problems.is_empty(),
        "{} problem(s) in {calls:?} calls:\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---- The table is complete ----

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `{anything}` → `{}`, to compare paths whatever their parameters are called.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

/// The path literals of `server::api::router`, from its source.
fn router_paths() -> BTreeSet<String> {
    let source = include_str!("../src/api/mod.rs");
    let router = source.split_once("pub fn router()").expect("api::router in server/src/api/mod.rs").1;
    router
        .split(".route(")
        .skip(1)
        .map(|call| {
            let literal = call.split('"').nth(1).expect("a path literal");
            shape(literal)
        })
        .collect()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_route_has_an_entry(pool: PgPool) {
    let app = api(pool).await;
    let routes = routes();

    // The table itself is well formed.
    let mut rows = BTreeSet::new();
    for route in &routes {
        assert!(rows.insert(route.label()), "{} is listed twice", route.label());
        assert_eq!(route.placeholders(), route.args.len(), "{}: one Arg per path parameter", route.label());
        for caller in [Caller::OtherAccount, Caller::NoSkill, Caller::OtherCustomer, Caller::Anonymous] {
            let expect = route.expectation(caller);
            assert_ne!(expect, UNSET, "{}: no expectation for the {}", route.label(), caller.name());
            assert!(
                caller == Caller::Anonymous || !matches!(expect, Public { .. }),
                "{}: only the anonymous caller has a public expectation",
                route.label()
            );
        }
        assert!(
            matches!(route.anonymous, Unauthenticated | Public { .. }),
            "{}: without credentials a route is either public or 401",
            route.label()
        );
    }

    // Every documented operation has an entry, and every entry is a documented operation.
    let res = app.app.client.get(format!("{}/api/v1/openapi.json", app.app.base)).send().await.expect("doc");
    let doc = expect(res, StatusCode::OK).await;
    let mut served = BTreeSet::new();
    let mut public = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        let path = path.strip_prefix("/api/v1").unwrap_or_else(|| panic!("{path} is not under /api/v1"));
        for (method, operation) in operations.as_object().expect("operations") {
            let method = method.to_uppercase();
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            if operation["security"] == json!([{}]) {
                public.insert(format!("{method} {path}"));
            }
            served.insert(format!("{method} {path}"));
        }
    }
    // The document does not describe itself; it was just served.
    served.insert("GET /openapi.json".to_owned());
    public.insert("GET /openapi.json".to_owned());
    let listed: BTreeSet<String> = routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let missing: Vec<&String> = served.difference(&listed).collect();
    let stale: Vec<&String> = listed.difference(&served).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the cross-tenant table in server/tests/cross_tenant.rs is out of date:\n  \
         routes without an entry (add one to routes()): {missing:?}\n  \
         entries for routes the API does not serve: {stale:?}"
    );
    let listed_public: BTreeSet<String> = routes
        .iter()
        .filter(|r| matches!(r.anonymous, Public { .. }))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(listed_public, public, "the public routes of the table and of the OpenAPI document differ");

    // Undocumented routes: every path of the router has an entry…
    let router = router_paths();
    assert!(router.len() >= 30, "could not read the router's paths: {router:?}");
    let shapes: BTreeSet<String> = routes.iter().map(|r| shape(r.path)).collect();
    let undocumented: Vec<&String> = router.difference(&shapes).collect();
    assert!(undocumented.is_empty(), "routes of api::router without an entry: {undocumented:?}");
    // …and answers 405 to every method the table does not list for it.
    let nowhere = Ids::nowhere();
    let mut by_path: BTreeMap<&str, (Route, BTreeSet<&str>)> = BTreeMap::new();
    for route in &routes {
        by_path.entry(route.path).or_insert((*route, BTreeSet::new())).1.insert(route.method);
    }
    for (path, (route, methods)) in by_path {
        let url = Route { query: None, ..route }.url(&nowhere);
        for method in METHODS.iter().filter(|m| !methods.contains(*m)) {
            let res = app
                .app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{}/api/v1{url}", app.app.base),
                )
                .header(header::ORIGIN, &app.app.base)
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let status = res.status();
            let text = res.text().await.expect("body");
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is served but has no entry in the table (nor in the OpenAPI document): {text}"
            );
        }
    }
}
