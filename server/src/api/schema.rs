//! OpenAPI schemas of the domain types the API sends and receives. The domain
//! crate stays free of server dependencies, so these mirror its serde output
//! for documentation only: requests are parsed and responses written with the
//! domain types themselves. A test checks that served JSON has exactly the
//! fields documented here.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(ToSchema)]
#[schema(as = SessionStatus)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatusSchema {
    Queued,
    Active,
    Resolved,
    Abandoned,
}

#[derive(ToSchema)]
#[schema(as = AssignReason)]
#[serde(rename_all = "snake_case")]
pub enum AssignReasonSchema {
    Manual,
    Transfer,
    Escalation,
    Handoff,
    Away,
    Sla,
}

#[derive(ToSchema)]
#[schema(as = SenderKind)]
#[serde(rename_all = "snake_case")]
pub enum SenderKindSchema {
    Customer,
    Agent,
    Bot,
    System,
}

#[derive(ToSchema)]
#[schema(as = TagSource)]
#[serde(rename_all = "snake_case")]
pub enum TagSourceSchema {
    Manual,
    Rule,
    Project,
}

/// A support session.
#[derive(ToSchema)]
#[schema(as = Session)]
pub struct SessionSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    pub support_type_id: Uuid,
    pub customer_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub previous_owner_id: Option<Uuid>,
    pub status: SessionStatusSchema,
    pub priority: i32,
    pub tier: Option<i16>,
    pub project_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by_id: Option<Uuid>,
    pub resolution_reason_id: Option<Uuid>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub escalation_count: i32,
    pub updated_at: DateTime<Utc>,
}

/// A session as its customer sees it (what a chat token reads): no
/// internal ids of agents.
#[derive(ToSchema)]
#[schema(as = CustomerSession)]
pub struct CustomerSessionSchema {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub support_type_id: Uuid,
    /// The support type's name.
    pub support_type: String,
    pub status: SessionStatusSchema,
    /// Who is helping, by display name.
    pub agent_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A session: the full record for agents, the customer's view for a chat token.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum SessionViewSchema {
    Session(SessionSchema),
    Customer(CustomerSessionSchema),
}

/// One page of sessions, newest first.
#[derive(ToSchema)]
#[schema(as = SessionPage)]
pub struct SessionPageSchema {
    pub items: Vec<SessionSchema>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A message of the conversation (plain text; render it escaped).
#[derive(ToSchema)]
#[schema(as = Message)]
pub struct MessageSchema {
    pub id: i64,
    pub session_id: Uuid,
    pub sender_kind: SenderKindSchema,
    pub sender_agent_id: Option<Uuid>,
    pub body: String,
    pub client_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A message as its customer sees it: the sender's display name, no
/// internal ids of agents.
#[derive(ToSchema)]
#[schema(as = CustomerMessage)]
pub struct CustomerMessageSchema {
    pub id: i64,
    pub session_id: Uuid,
    pub sender_kind: SenderKindSchema,
    pub sender_name: Option<String>,
    pub body: String,
    pub client_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One page of the customer's view of the messages, newest first.
#[derive(ToSchema)]
#[schema(as = CustomerMessagePage)]
pub struct CustomerMessagePageSchema {
    pub items: Vec<CustomerMessageSchema>,
    pub next_cursor: Option<String>,
}

/// Messages: the agents' page, or the customer's view for a chat token.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum MessagePageViewSchema {
    Agents(MessagePageSchema),
    Customer(CustomerMessagePageSchema),
}

/// One page of messages, newest first.
#[derive(ToSchema)]
#[schema(as = MessagePage)]
pub struct MessagePageSchema {
    pub items: Vec<MessageSchema>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An internal note, visible to agents only.
#[derive(ToSchema)]
#[schema(as = Note)]
pub struct NoteSchema {
    pub id: i64,
    pub session_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A tag on a session.
#[derive(ToSchema)]
#[schema(as = SessionTag)]
pub struct SessionTagSchema {
    pub tag_id: Uuid,
    pub name: String,
    pub color: String,
    pub source: TagSourceSchema,
}

/// Who the session is for. With an `external_ref` the customer is looked up
/// (and updated) in the support type's account; otherwise a new one is created.
#[derive(ToSchema)]
#[schema(as = CustomerInput)]
pub struct CustomerInputSchema {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_ref: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = OpenSession)]
pub struct OpenSessionSchema {
    /// The support type, by slug.
    pub support_type: String,
    pub customer: Option<CustomerInputSchema>,
    /// The customer's first message.
    pub message: Option<String>,
    pub project_ref: Option<String>,
    /// 0 to 1000; default 0.
    pub priority: Option<i32>,
}

#[derive(ToSchema)]
#[schema(as = SendMessage)]
pub struct SendMessageSchema {
    pub body: String,
    /// Sending the same id twice stores one message and returns it.
    pub client_message_id: Option<String>,
}

/// Where a session goes.
#[derive(ToSchema)]
#[schema(as = ReassignTarget)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReassignTargetSchema {
    /// To this agent, who must serve the session's type, be online and have room.
    Agent { agent_id: Uuid },
    /// Into this support type's queue (same account).
    SupportType { support_type_id: Uuid },
    /// Back into the current type's queue.
    Queue,
}

#[derive(ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
pub enum RoleSchema {
    Admin,
    Supervisor,
    Agent,
    Bot,
}

#[derive(ToSchema)]
#[schema(as = Presence)]
#[serde(rename_all = "snake_case")]
pub enum PresenceSchema {
    Online,
    Away,
    Offline,
}

#[derive(ToSchema)]
#[schema(as = Routing)]
#[serde(rename_all = "snake_case")]
pub enum RoutingSchema {
    RoundRobin,
    LeastLoaded,
    Manual,
    BotFirst,
}

#[derive(ToSchema)]
#[schema(as = TagRuleKind)]
#[serde(rename_all = "snake_case")]
pub enum TagRuleKindSchema {
    Keyword,
    Regex,
    ProjectRef,
    SupportType,
}

/// A human agent, supervisor, admin or bot.
#[derive(ToSchema)]
#[schema(as = Agent)]
pub struct AgentSchema {
    pub id: Uuid,
    /// Null only for global admins.
    pub account_id: Option<Uuid>,
    pub email: String,
    pub display_name: String,
    pub role: RoleSchema,
    pub max_concurrent: i32,
    /// Open assignments.
    pub active_count: i32,
    pub presence: PresenceSchema,
    pub presence_reason: Option<String>,
    pub presence_changed_at: DateTime<Utc>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub last_assigned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// E-mail about the agent's own assignments (when e-mail is configured).
    pub email_notifications: bool,
}

#[derive(ToSchema)]
#[schema(as = NewAgent)]
pub struct NewAgentSchema {
    /// Defaults to the caller's account. A global admin names one (or none,
    /// to create another global admin).
    pub account_id: Option<Uuid>,
    pub email: String,
    pub display_name: String,
    pub role: RoleSchema,
    /// 0 to 1000; default 5.
    pub max_concurrent: Option<i32>,
    /// Humans only; at least 12 characters.
    pub password: Option<String>,
}

/// Absent fields are left unchanged.
#[derive(ToSchema)]
#[schema(as = UpdateAgent)]
pub struct UpdateAgentSchema {
    pub display_name: Option<String>,
    pub role: Option<RoleSchema>,
    pub max_concurrent: Option<i32>,
    /// `true` deactivates (and sets the agent offline); `false` reactivates.
    pub deactivated: Option<bool>,
    /// E-mail about the agent's own assignments. The agent may change this
    /// one themself; the other fields are for admins.
    pub email_notifications: Option<bool>,
}

/// A support type an agent serves.
#[derive(ToSchema)]
#[schema(as = Skill)]
pub struct SkillSchema {
    pub support_type_id: Uuid,
    /// 1 to 9.
    pub tier: Option<i16>,
}

/// What a customer asks for, and how it is routed, timed and escalated.
#[derive(ToSchema)]
#[schema(as = SupportType)]
pub struct SupportTypeSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    pub slug: String,
    pub name: String,
    pub routing: RoutingSchema,
    /// Longest wait in the queue before the session escalates.
    pub queue_sla_secs: Option<i32>,
    /// Longest time an owner may take to reply before the session is requeued.
    pub first_response_sla_secs: Option<i32>,
    pub escalation_target_id: Option<Uuid>,
    pub escalation_priority_bump: i32,
    /// How long a session waits for the customer's preferred agent.
    pub preferred_wait_secs: i32,
    /// The bot that takes sessions first under `bot_first` routing.
    pub bot_agent_id: Option<Uuid>,
    pub csat_enabled: bool,
    pub reason_required: bool,
    pub greeting: Option<String>,
    /// Business hours: `{"time_zone": "Europe/Berlin", "open": {"mon": ["09:00", "17:00"], "sat": null},
    /// "after_hours_message": "…"}`. Times are wall-clock times in `time_zone` (an IANA name; daylight
    /// saving is followed; default `UTC`). Days not listed are closed. The deprecated fixed
    /// `utc_offset_minutes` is still accepted (not together with `time_zone`) and stored as the
    /// equivalent `Etc/GMT±N` zone when it is a whole number of hours.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[schema(as = NewSupportType)]
pub struct NewSupportTypeSchema {
    /// Global admins only; others create in their own account.
    pub account_id: Option<Uuid>,
    /// Global; the customer chat lives at `/chat/{slug}`.
    pub slug: String,
    pub name: String,
    /// Default `round_robin`.
    pub routing: Option<RoutingSchema>,
    pub queue_sla_secs: Option<i32>,
    pub first_response_sla_secs: Option<i32>,
    pub escalation_target_id: Option<Uuid>,
    /// Default 0.
    pub escalation_priority_bump: Option<i32>,
    /// Default 60.
    pub preferred_wait_secs: Option<i32>,
    pub bot_agent_id: Option<Uuid>,
    /// Default true.
    pub csat_enabled: Option<bool>,
    /// Default true.
    pub reason_required: Option<bool>,
    pub greeting: Option<String>,
    /// Business hours: `{"time_zone": "Europe/Berlin", "open": {"mon": ["09:00", "17:00"], "sat": null},
    /// "after_hours_message": "…"}`. Times are wall-clock times in `time_zone` (an IANA name; daylight
    /// saving is followed; default `UTC`). Days not listed are closed. The deprecated fixed
    /// `utc_offset_minutes` is still accepted (not together with `time_zone`) and stored as the
    /// equivalent `Etc/GMT±N` zone when it is a whole number of hours.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<serde_json::Value>,
}

/// Absent fields are left unchanged; nullable fields are cleared with their
/// `clear_*` flag; a blank `greeting` clears the greeting.
#[derive(ToSchema)]
#[schema(as = UpdateSupportType)]
pub struct UpdateSupportTypeSchema {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub routing: Option<RoutingSchema>,
    pub queue_sla_secs: Option<i32>,
    pub clear_queue_sla: Option<bool>,
    pub first_response_sla_secs: Option<i32>,
    pub clear_first_response_sla: Option<bool>,
    pub escalation_target_id: Option<Uuid>,
    pub clear_escalation_target: Option<bool>,
    pub escalation_priority_bump: Option<i32>,
    pub preferred_wait_secs: Option<i32>,
    pub bot_agent_id: Option<Uuid>,
    pub clear_bot_agent: Option<bool>,
    pub csat_enabled: Option<bool>,
    pub reason_required: Option<bool>,
    pub greeting: Option<String>,
    /// Business hours: `{"time_zone": "Europe/Berlin", "open": {"mon": ["09:00", "17:00"], "sat": null},
    /// "after_hours_message": "…"}`. Times are wall-clock times in `time_zone` (an IANA name; daylight
    /// saving is followed; default `UTC`). Days not listed are closed. The deprecated fixed
    /// `utc_offset_minutes` is still accepted (not together with `time_zone`) and stored as the
    /// equivalent `Etc/GMT±N` zone when it is a whole number of hours.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<serde_json::Value>,
    pub clear_business_hours: Option<bool>,
}

/// Why a session of a support type was resolved.
#[derive(ToSchema)]
#[schema(as = ResolutionReason)]
pub struct ResolutionReasonSchema {
    pub id: Uuid,
    pub support_type_id: Uuid,
    pub label: String,
    /// 1-based order among the type's reasons (archived ones included).
    pub position: i32,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A customer's rating of a resolved session.
#[derive(ToSchema)]
#[schema(as = Csat)]
pub struct CsatSchema {
    pub session_id: Uuid,
    /// 1 (worst) to 5 (best).
    pub score: i16,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = SubmitCsat)]
pub struct SubmitCsatSchema {
    /// 1 (worst) to 5 (best).
    pub score: i16,
    pub comment: Option<String>,
}

/// A tag of an account.
#[derive(ToSchema)]
#[schema(as = Tag)]
pub struct TagSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub color: String,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = NewTag)]
pub struct NewTagSchema {
    /// Global admins only; others create in their own account.
    pub account_id: Option<Uuid>,
    pub name: String,
    /// slate, indigo, emerald, amber, rose, sky or violet; default slate.
    pub color: Option<String>,
}

/// Tags sessions automatically.
#[derive(ToSchema)]
#[schema(as = TagRule)]
pub struct TagRuleSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    pub tag_id: Uuid,
    pub kind: TagRuleKindSchema,
    /// The keyword, regex or project reference; empty for `support_type`.
    pub pattern: String,
    /// For `support_type` rules, the type; otherwise an optional restriction.
    pub support_type_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = NewTagRule)]
pub struct NewTagRuleSchema {
    pub account_id: Option<Uuid>,
    /// The tag's name; created if the account does not have it.
    pub tag: String,
    pub kind: TagRuleKindSchema,
    pub pattern: Option<String>,
    pub support_type_id: Option<Uuid>,
}

/// A reply agents insert by shortcut.
#[derive(ToSchema)]
#[schema(as = CannedResponse)]
pub struct CannedResponseSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Null: offered for every type of the account.
    pub support_type_id: Option<Uuid>,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = NewCannedResponse)]
pub struct NewCannedResponseSchema {
    pub account_id: Option<Uuid>,
    pub support_type_id: Option<Uuid>,
    /// 1-40 lowercase letters, digits, `_` or `-`.
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

/// Absent fields are left unchanged; `clear_support_type` makes the response
/// account-wide.
#[derive(ToSchema)]
#[schema(as = UpdateCannedResponse)]
pub struct UpdateCannedResponseSchema {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub support_type_id: Option<Uuid>,
    pub clear_support_type: Option<bool>,
}

/// An enterprise client.
#[derive(ToSchema)]
#[schema(as = Account)]
pub struct AccountSchema {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Origins allowed to embed the customer chat widget.
    pub widget_origins: Vec<String>,
    /// Whether an identity secret is set (the secret itself is never returned).
    pub identity_verification: bool,
    /// Seconds without a heartbeat before an agent is set away.
    pub presence_grace_secs: i32,
}

#[derive(ToSchema)]
#[schema(as = UpdateAccount)]
pub struct UpdateAccountSchema {
    pub name: Option<String>,
    /// Replaces the whole list; each `https://host[:port]`.
    pub widget_origins: Option<Vec<String>>,
    /// Seconds without a heartbeat before an agent is set away (10-3600).
    pub presence_grace_secs: Option<i32>,
}

#[derive(ToSchema)]
#[schema(as = Identity)]
pub struct IdentitySchema {
    /// The host site's own id for the customer.
    pub external_id: String,
    pub email: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `"{external_id}:{email}"` with the account's identity secret.
    pub signature: String,
}

#[derive(ToSchema)]
#[schema(as = OpenChat)]
pub struct OpenChatSchema {
    pub name: Option<String>,
    pub email: Option<String>,
    /// The customer's first message.
    pub message: Option<String>,
    pub identity: Option<IdentitySchema>,
}

#[derive(ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntrySchema {
    pub id: i64,
    pub account_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPageSchema {
    pub items: Vec<AuditEntrySchema>,
    pub next_cursor: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = NewAccount)]
pub struct NewAccountSchema {
    pub slug: String,
    pub name: String,
}

/// A person who opens sessions.
#[derive(ToSchema)]
#[schema(as = Customer)]
pub struct CustomerSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_ref: Option<String>,
    /// Tried first by the assignment engine when eligible.
    pub preferred_agent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// An API token (never its secret).
#[derive(ToSchema)]
#[schema(as = ApiToken)]
pub struct ApiTokenSchema {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[schema(as = BlastStatus)]
#[serde(rename_all = "snake_case")]
pub enum BlastStatusSchema {
    Pending,
    Running,
    Done,
    Cancelled,
}

/// Who a blast goes to.
#[derive(ToSchema)]
#[schema(as = Segment)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SegmentSchema {
    /// Customers who have had a session of this support type.
    SupportType { support_type_id: Uuid },
    /// Every customer of the account.
    Account,
    /// Customers with a session opened in the last `days` days (1-365).
    Recent { days: i32 },
}

/// A blast with its progress counters.
#[derive(ToSchema)]
#[schema(as = Blast)]
pub struct BlastSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    /// The admin who created it; the messages are posted in their name.
    pub created_by: Uuid,
    pub body: String,
    pub segment: SegmentSchema,
    /// The type of the outbound sessions opened for customers without an open one.
    pub support_type_id: Uuid,
    pub status: BlastStatusSchema,
    pub rate_per_minute: i32,
    /// Recipients, fixed when the blast was created.
    pub total: i32,
    pub sent: i32,
    pub failed: i32,
    /// Not sent because the blast was cancelled.
    pub skipped: i32,
    /// Not attempted yet.
    pub pending: i32,
    /// Recipients who were offline with an e-mail address, still to be e-mailed.
    pub email_pending: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[schema(as = NewBlast)]
pub struct NewBlastSchema {
    /// Global admins only; others blast their own account.
    pub account_id: Option<Uuid>,
    /// At most 10,000 characters.
    pub body: String,
    pub segment: SegmentSchema,
    /// The type of outbound sessions; defaults to the segment's type (required otherwise).
    pub support_type_id: Option<Uuid>,
    /// Default 600; at most 1,000,000.
    pub rate_per_minute: Option<i32>,
}

/// An outgoing webhook (never its secret).
#[derive(ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookSchema {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Receives a signed `POST` per matching event.
    pub url: String,
    /// Topic patterns (`*` one word, `#` zero or more), e.g. `session.*`.
    pub events: Vec<String>,
    /// `false` once disabled (by an admin, or after 5 consecutive failed deliveries).
    pub active: bool,
    pub consecutive_failures: i32,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = NewWebhook)]
pub struct NewWebhookSchema {
    /// Global admins only; defaults to the caller's account.
    pub account_id: Option<Uuid>,
    /// `http://` or `https://`.
    pub url: String,
    /// 1 to 50 topic patterns.
    pub events: Vec<String>,
}

#[derive(ToSchema)]
#[schema(as = UpdateWebhook)]
pub struct UpdateWebhookSchema {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `true` re-enables the webhook and resets its failure count.
    pub active: Option<bool>,
}

/// One event's delivery to a webhook.
#[derive(ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliverySchema {
    pub id: i64,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub topic: String,
    /// Attempts made so far.
    pub attempt: i32,
    /// The receiver's last HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due; null once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One page of deliveries, newest first.
#[derive(ToSchema)]
#[schema(as = WebhookDeliveryPage)]
pub struct DeliveryPageSchema {
    pub items: Vec<DeliverySchema>,
    pub next_cursor: Option<String>,
}

/// An in-app alert for the calling agent.
#[derive(ToSchema)]
#[schema(as = Notification)]
pub struct NotificationSchema {
    pub id: i64,
    pub agent_id: Uuid,
    /// What happened, e.g. `session.assigned`.
    pub kind: String,
    pub session_id: Option<Uuid>,
    /// Plain text.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// One page of notifications, newest first.
#[derive(ToSchema)]
#[schema(as = NotificationPage)]
pub struct NotificationPageSchema {
    pub items: Vec<NotificationSchema>,
    pub next_cursor: Option<String>,
}
