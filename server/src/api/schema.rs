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
