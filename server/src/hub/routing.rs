//! From an outbox event to a frame and the rule that says who gets it. The
//! rules are the REST scoping rules (`domain::actor`): a customer gets their
//! own session; an agent gets the sessions of the types they serve in their
//! account and the ones they own, supervisors and admins their account.
//! Conversation traffic (messages, typing, notes) goes to agents only for
//! sessions they own or have subscribed to.

use chrono::{DateTime, Utc};
use domain::{
    conversation::Message,
    live::ServerFrame,
    outbox::{Event, topic},
    scope::{Scope, SessionFacts},
    types::{AccountId, AgentId, Presence, SenderKind, SessionId, SupportTypeId},
};
use serde::Deserialize;

use super::{Ephemeral, Hub, Who};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Session state: the customer and every agent who may see the session.
    Lifecycle,
    /// Messages, typing, read receipts: the customer, the owner and
    /// subscribed agents.
    Conversation,
    /// Notes and tags: the owner and subscribed agents, never the customer.
    AgentConversation,
    /// An agent's presence: the agent, and those whose scope covers the
    /// agent's whole account (the live queue monitor).
    PresenceOf(AgentId),
    /// One agent only (their bell).
    OneAgent(AgentId),
    /// The account's admins (import and blast progress).
    AccountAdmins,
    /// No frame; only refreshes what the hub keeps about an agent.
    Nobody,
}

/// An event, ready to dispatch.
#[derive(Debug, Clone)]
pub struct Routed {
    pub account_id: Option<AccountId>,
    pub session_id: Option<SessionId>,
    pub support_type_id: Option<SupportTypeId>,
    pub owner_id: Option<AgentId>,
    /// Agents who just lost the session hear that they did.
    pub former_owners: Vec<AgentId>,
    audience: Audience,
    pub frame: ServerFrame,
    /// An agent whose role, account, skills or activation may have changed:
    /// their connections' scopes are rebuilt before anything else is sent.
    pub refresh_scope_of: Option<AgentId>,
    /// Queue lines that moved (customers there get new positions).
    pub queue_changed: Option<SupportTypeId>,
    pub queue_changed_also: Option<SupportTypeId>,
}

impl Routed {
    pub fn ephemeral(e: Ephemeral) -> Self {
        Self {
            session_id: Some(e.session_id),
            support_type_id: Some(e.support_type_id),
            owner_id: e.owner_id,
            ..Self::new(Some(e.account_id), Audience::Conversation, e.frame)
        }
    }

    /// Nothing about a session yet; callers fill in what they know.
    fn new(account_id: Option<AccountId>, audience: Audience, frame: ServerFrame) -> Self {
        Self {
            account_id,
            session_id: None,
            support_type_id: None,
            owner_id: None,
            former_owners: Vec::new(),
            audience,
            frame,
            refresh_scope_of: None,
            queue_changed: None,
            queue_changed_also: None,
        }
    }

    pub fn has_frame(&self) -> bool {
        self.audience != Audience::Nobody
    }

    /// The session this is about, as the scope rule sees it.
    fn facts(&self) -> Option<SessionFacts> {
        Some(SessionFacts {
            id: self.session_id?,
            account_id: self.account_id?,
            support_type_id: self.support_type_id?,
            owner_id: self.owner_id,
        })
    }

    /// Whether this reaches a connection whose caller has `scope`: the
    /// session must be in the scope (the one rule, `domain::scope`), and the
    /// audience must include them. An agent who just lost the session hears
    /// that last lifecycle event.
    pub fn reaches(&self, who: &Who, scope: &Scope, subscribed: impl Fn(SessionId) -> bool) -> bool {
        match (self.audience, who) {
            (Audience::OneAgent(id), Who::Agent(a)) => return a.id == id,
            (Audience::PresenceOf(id), Who::Agent(a)) => {
                return a.id == id || self.account_id.is_some_and(|account| scope.covers_account(account));
            }
            (Audience::AccountAdmins, Who::Agent(a)) => {
                return self
                    .account_id
                    .is_some_and(|account| domain::actor::Actor::Agent(*a).is_admin_of(account));
            }
            (Audience::AccountAdmins, Who::Customer(_)) => return false,
            (Audience::Nobody | Audience::PresenceOf(_) | Audience::OneAgent(_), _) => return false,
            (Audience::AgentConversation, Who::Customer(_)) => return false,
            _ => {}
        }
        let Some(facts) = self.facts() else { return false };
        match who {
            Who::Customer(_) => scope.sees(&facts),
            Who::Agent(a) => {
                let owns = facts.owner_id == Some(a.id);
                match self.audience {
                    Audience::Lifecycle => scope.sees(&facts) || self.former_owners.contains(&a.id),
                    _ => scope.sees(&facts) && (owns || subscribed(facts.id)),
                }
            }
        }
    }

    /// The frame as the customer sees it: no internal agent ids.
    pub fn customer_frame(&self) -> ServerFrame {
        match &self.frame {
            ServerFrame::Session { event_id, topic, session } => ServerFrame::Session {
                event_id: *event_id,
                topic: topic.clone(),
                session: session.clone().for_customer(),
            },
            ServerFrame::Message { event_id, message, sender_name } => ServerFrame::Message {
                event_id: *event_id,
                message: Message { sender_agent_id: None, ..message.clone() },
                sender_name: sender_name.clone(),
            },
            other => other.clone(),
        }
    }

    fn session(
        event: &Event,
        brief: &domain::live::SessionBrief,
        audience: Audience,
        frame: ServerFrame,
    ) -> Self {
        Self {
            session_id: Some(brief.id),
            support_type_id: Some(brief.support_type_id),
            owner_id: brief.owner_id,
            ..Self::new(event.account_id.or(Some(brief.account_id)), audience, frame)
        }
    }
}

#[derive(Deserialize)]
struct MessagePayload {
    session_id: SessionId,
    support_type_id: Option<SupportTypeId>,
    owner_id: Option<AgentId>,
    message_id: i64,
    sender_kind: SenderKind,
    sender_agent_id: Option<AgentId>,
    body: String,
    client_message_id: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    attachments: Vec<domain::attachments::Attachment>,
}

#[derive(Deserialize, Default)]
struct SessionPayload {
    from_agent_id: Option<AgentId>,
    previous_owner_id: Option<AgentId>,
    agent_id: Option<AgentId>,
    from_support_type_id: Option<SupportTypeId>,
    score: Option<i16>,
}

#[derive(Deserialize)]
struct PresencePayload {
    agent_id: AgentId,
    new: Presence,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ImportPayload {
    run_id: uuid::Uuid,
    status: domain::import::RunStatus,
    position: i64,
    total: i64,
    created: i64,
    matched: i64,
    skipped: i64,
}

#[derive(Deserialize)]
struct BlastPayload {
    blast_id: domain::types::BlastId,
    status: domain::types::BlastStatus,
    total: i32,
    sent: i32,
    failed: i32,
    skipped: i32,
}

#[derive(Deserialize)]
struct AgentPayload {
    agent_id: AgentId,
}

/// Turns an event into a frame and its audience; `None` for events no
/// live client shows.
pub async fn route(hub: &Hub, event: &Event) -> domain::Result<Option<Routed>> {
    let pool = hub.pool();
    let topic = event.topic.as_str();
    let bad = |e: serde_json::Error| domain::Error::internal("event payload", e);
    match topic {
        topic::MESSAGE_CREATED => {
            let p: MessagePayload = serde_json::from_value(event.payload.clone()).map_err(bad)?;
            let (support_type_id, owner_id) = match p.support_type_id {
                Some(t) => (t, p.owner_id),
                None => match domain::live::brief_unchecked(pool, p.session_id).await? {
                    Some(b) => (b.support_type_id, b.owner_id),
                    None => return Ok(None),
                },
            };
            let sender_name = match p.sender_agent_id {
                Some(agent) => hub.name_of(agent).await,
                None => None,
            };
            let Some(account_id) = event.account_id else { return Ok(None) };
            let message = Message {
                id: p.message_id,
                session_id: p.session_id,
                sender_kind: p.sender_kind,
                sender_agent_id: p.sender_agent_id,
                body: p.body,
                client_message_id: p.client_message_id,
                created_at: p.created_at,
                attachments: p.attachments,
            };
            Ok(Some(Routed {
                session_id: Some(p.session_id),
                support_type_id: Some(support_type_id),
                owner_id,
                ..Routed::new(
                    Some(account_id),
                    Audience::Conversation,
                    ServerFrame::Message { event_id: event.id, message, sender_name },
                )
            }))
        }
        topic::SESSION_OPENED
        | topic::SESSION_ASSIGNED
        | topic::SESSION_REASSIGNED
        | topic::SESSION_ESCALATED
        | topic::SESSION_RESOLVED
        | topic::SESSION_REOPENED
        | topic::SESSION_ABANDONED
        | topic::NOTE_ADDED
        | topic::BOT_DRAFTED
        | topic::SESSION_TAGGED
        | topic::SESSION_UNTAGGED
        | topic::CSAT_SUBMITTED
        | topic::CSAT_REQUESTED => {
            let Some(session_id) = event.session_id else { return Ok(None) };
            let Some(brief) = domain::live::brief_unchecked(pool, session_id).await? else { return Ok(None) };
            let p: SessionPayload = serde_json::from_value(event.payload.clone()).unwrap_or_default();
            let (audience, frame) = match topic {
                // A bot's draft waits (or was decided): everyone who may
                // see the session, so the people of its type and the live
                // monitor hear of it, not only those who have it open.
                topic::BOT_DRAFTED => {
                    (Audience::Lifecycle, ServerFrame::Details { event_id: event.id, session_id })
                }
                topic::NOTE_ADDED | topic::SESSION_TAGGED | topic::SESSION_UNTAGGED => {
                    (Audience::AgentConversation, ServerFrame::Details { event_id: event.id, session_id })
                }
                topic::CSAT_SUBMITTED => (
                    Audience::Lifecycle,
                    ServerFrame::CsatSubmitted {
                        event_id: event.id,
                        session_id,
                        score: p.score.unwrap_or(0),
                    },
                ),
                topic::CSAT_REQUESTED => {
                    (Audience::Lifecycle, ServerFrame::CsatRequested { event_id: event.id, session_id })
                }
                _ => (
                    Audience::Lifecycle,
                    ServerFrame::Session {
                        event_id: event.id,
                        topic: topic.to_owned(),
                        session: brief.clone(),
                    },
                ),
            };
            let mut routed = Routed::session(event, &brief, audience, frame);
            if audience == Audience::Lifecycle && topic.starts_with("session.") {
                routed.former_owners = [p.from_agent_id, p.previous_owner_id, p.agent_id]
                    .into_iter()
                    .flatten()
                    .filter(|a| Some(*a) != brief.owner_id)
                    .collect();
                routed.queue_changed = Some(brief.support_type_id);
                routed.queue_changed_also = p.from_support_type_id;
            }
            Ok(Some(routed))
        }
        topic::AGENT_PRESENCE => {
            let p: PresencePayload = serde_json::from_value(event.payload.clone()).map_err(bad)?;
            Ok(Some(Routed::new(
                event.account_id,
                Audience::PresenceOf(p.agent_id),
                ServerFrame::Presence {
                    event_id: event.id,
                    agent_id: p.agent_id,
                    presence: p.new,
                    reason: p.reason,
                },
            )))
        }
        topic::NOTIFICATION_CREATED => {
            let notification: domain::notifications::Notification =
                serde_json::from_value(event.payload.clone()).map_err(bad)?;
            Ok(Some(Routed::new(
                event.account_id,
                Audience::OneAgent(notification.agent_id),
                ServerFrame::Notification { event_id: event.id, notification },
            )))
        }
        topic::AGENT_UPDATED => {
            let Ok(p) = serde_json::from_value::<AgentPayload>(event.payload.clone()) else {
                return Ok(None);
            };
            hub.forget_name(p.agent_id);
            Ok(Some(Routed {
                refresh_scope_of: Some(p.agent_id),
                ..Routed::new(event.account_id, Audience::Nobody, ServerFrame::Pong)
            }))
        }
        topic::BLAST_PROGRESS => {
            let p: BlastPayload = serde_json::from_value(event.payload.clone()).map_err(bad)?;
            Ok(Some(Routed::new(
                event.account_id,
                Audience::AccountAdmins,
                ServerFrame::BlastProgress {
                    event_id: event.id,
                    blast_id: p.blast_id,
                    status: p.status,
                    total: p.total,
                    sent: p.sent,
                    failed: p.failed,
                    skipped: p.skipped,
                },
            )))
        }
        topic::IMPORT_PROGRESS => {
            let p: ImportPayload = serde_json::from_value(event.payload.clone()).map_err(bad)?;
            Ok(Some(Routed::new(
                event.account_id,
                Audience::AccountAdmins,
                ServerFrame::ImportProgress {
                    event_id: event.id,
                    run_id: p.run_id,
                    status: p.status,
                    position: p.position,
                    total: p.total,
                    created: p.created,
                    matched: p.matched,
                    skipped: p.skipped,
                },
            )))
        }
        _ => Ok(None),
    }
}
