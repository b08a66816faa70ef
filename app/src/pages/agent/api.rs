//! The workspace's server functions. Each one authenticates the agent,
//! calls one or a few domain operations with `Actor::Agent`, and maps the
//! error; sessions outside the caller's scope are "not found" (404).

use domain::{
    config::CannedResponse,
    conversation::{Message, Note, SessionTag},
    customers::Customer,
    live::SessionBrief,
    sessions::Session,
    support_types::ResolutionReason,
    types::*,
    workspace::{Board, Participant, PastSession, TransferTargets, WorkItem},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// How many messages one history page holds.
pub const HISTORY_PAGE: i64 = 50;

/// An open conversation: the session, its newest messages (oldest first)
/// with the cursor for earlier ones, and what the composer and the actions
/// need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub session: SessionBrief,
    pub customer_email: Option<String>,
    pub routing: Routing,
    pub reason_required: bool,
    pub reasons: Vec<ResolutionReason>,
    pub messages: Vec<Message>,
    pub next_cursor: Option<String>,
    pub participants: Vec<Participant>,
    pub canned: Vec<CannedResponse>,
    /// Supervisors and admins of the account may act on any session in it.
    pub supervises: bool,
}

/// One page of earlier messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub session_id: SessionId,
    pub messages: Vec<Message>,
    pub next_cursor: Option<String>,
}

/// The sidebar: the customer, their other sessions, notes and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetails {
    pub session_id: SessionId,
    pub customer: Customer,
    pub previous: Vec<PastSession>,
    pub notes: Vec<Note>,
    pub participants: Vec<Participant>,
    pub tags: Vec<SessionTag>,
    /// The caller administers the customer's account, so may erase their data.
    pub may_erase: bool,
    /// Replies the session's bot (mode `drafts`) wrote, waiting for a person.
    pub drafts: Vec<domain::bot::Draft>,
}

/// What erasing the customer of the open session did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasedView {
    pub session_id: SessionId,
    pub erasure: domain::customers::Erasure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagsView {
    pub session_id: SessionId,
    pub tags: Vec<SessionTag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadState {
    pub session_id: SessionId,
    /// Whether the caller's read position moved (owners only).
    pub moved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceState {
    pub presence: Presence,
    pub reason: Option<String>,
}

/// Where a transfer goes, as the transfer dialog's `<select>` encodes it:
/// `agent:{uuid}` or `type:{uuid}`.
pub fn parse_target(target: &str) -> Result<domain::sessions::ReassignTarget, domain::Error> {
    use domain::sessions::ReassignTarget;
    let bad = || domain::Error::invalid("target", "choose an agent or a support type");
    let (kind, id) = target.split_once(':').ok_or_else(bad)?;
    let id: uuid::Uuid = id.parse().map_err(|_| bad())?;
    match kind {
        "agent" => Ok(ReassignTarget::Agent { agent_id: AgentId(id) }),
        "type" => Ok(ReassignTarget::SupportType { support_type_id: SupportTypeId(id) }),
        _ => Err(bad()),
    }
}

#[cfg(feature = "ssr")]
use crate::ssr::caller;

/// The caller's presence, inbox and waiting queue.
#[server(endpoint = "agent/board")]
pub async fn load_board() -> Result<Board, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::workspace::board(&pool, &actor).await?)
}

/// One session as a list row (after a live change brought it in).
#[server(endpoint = "agent/item")]
pub async fn item(id: SessionId) -> Result<WorkItem, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::workspace::item(&pool, &actor, id).await?)
}

/// Sets the caller's own presence: `online`, `away` (with an optional
/// reason) or `offline`.
#[server(endpoint = "agent/presence")]
pub async fn set_presence(presence: String, reason: Option<String>) -> Result<PresenceState, AppError> {
    let me = crate::ssr::require_agent().await?;
    let pool = crate::ssr::pool()?;
    let presence: Presence = presence.parse()?;
    let agent = domain::agents::set_presence(
        &pool,
        &domain::actor::Actor::Agent(me.actor),
        me.actor.id,
        presence,
        reason,
    )
    .await?;
    Ok(PresenceState { presence: agent.presence, reason: agent.presence_reason })
}

#[server(endpoint = "agent/conversation")]
pub async fn conversation(id: SessionId) -> Result<ConversationView, AppError> {
    use domain::{config, conversation, customers, live, support_types, workspace};
    let (pool, actor) = caller().await?;
    let session = live::brief(&pool, &actor, id).await?;
    let customer_email = customers::get(&pool, &actor, session.customer_id).await?.email;
    let ty = support_types::get(&pool, &actor, session.support_type_id).await?;
    let reasons = support_types::list_reasons(&pool, &actor, ty.id, false).await?;
    let page = conversation::history(&pool, &actor, id, None, Some(HISTORY_PAGE)).await?;
    let participants = workspace::participants(&pool, &actor, id).await?;
    let canned = config::list_canned(&pool, &actor, Some(session.account_id), Some(ty.id)).await?;
    let mut messages = page.items;
    messages.reverse();
    Ok(ConversationView {
        supervises: actor.supervises(session.account_id),
        session,
        customer_email,
        routing: ty.routing,
        reason_required: ty.reason_required,
        reasons,
        messages,
        next_cursor: page.next_cursor,
        participants,
        canned,
    })
}

/// Messages before the cursor of an earlier page.
/// Suggested replies to the customer's latest messages, best first, from
/// the type's canned replies and past answers (the same operation as `GET
/// /api/v1/sessions/{id}/suggestions`; each is logged for its outcome).
#[server(endpoint = "agent/suggestions")]
pub async fn suggestions(id: SessionId) -> Result<SuggestionList, AppError> {
    let (pool, actor) = caller().await?;
    Ok(SuggestionList { session_id: id, items: domain::assist::suggestions(&pool, &actor, id).await? })
}

/// A session's suggested replies, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestionList {
    pub session_id: SessionId,
    pub items: Vec<domain::assist::Suggestion>,
}

/// Records what the agent did with a suggestion shown to them: `accepted`,
/// `edited` or `dismissed`.
#[server(endpoint = "agent/suggestion-outcome")]
pub async fn suggestion_outcome(id: SessionId, suggestion_id: i64, outcome: String) -> Result<(), AppError> {
    let (pool, actor) = caller().await?;
    let outcome: domain::assist::Outcome = outcome.parse()?;
    domain::assist::record_outcome(&pool, &actor, id, suggestion_id, outcome).await?;
    Ok(())
}

/// Sends (`send`, with the person's edited `body` when it changed) or
/// discards a bot's draft: the same operation as `POST /api/v1/drafts/{id}`.
#[server(endpoint = "agent/draft")]
pub async fn decide_draft(
    id: SessionId,
    draft_id: i64,
    send: bool,
    body: Option<String>,
) -> Result<(), AppError> {
    use domain::bot::DraftDecision;
    let (pool, actor) = caller().await?;
    let decision = if send { DraftDecision::Send { body } } else { DraftDecision::Discard };
    let drafts = domain::bot::drafts(&pool, &actor, id).await?;
    if !drafts.iter().any(|d| d.id == draft_id) {
        return Err(domain::Error::conflict("draft_decided", "this draft is no longer waiting").into());
    }
    domain::bot::decide_draft(&pool, &actor, draft_id, decision).await?;
    Ok(())
}

#[server(endpoint = "agent/history")]
pub async fn history(id: SessionId, before: Option<String>) -> Result<HistoryPage, AppError> {
    let (pool, actor) = caller().await?;
    let page =
        domain::conversation::history(&pool, &actor, id, before.as_deref(), Some(HISTORY_PAGE)).await?;
    let mut messages = page.items;
    messages.reverse();
    Ok(HistoryPage { session_id: id, messages, next_cursor: page.next_cursor })
}

#[server(endpoint = "agent/details")]
pub async fn details(id: SessionId) -> Result<SessionDetails, AppError> {
    use domain::{conversation, customers, sessions, workspace};
    let (pool, actor) = caller().await?;
    let session = sessions::get(&pool, &actor, id).await?;
    let customer = customers::get(&pool, &actor, session.customer_id).await?;
    let previous = workspace::previous_sessions(&pool, &actor, id).await?;
    let notes = conversation::notes(&pool, &actor, id).await?;
    let participants = workspace::participants(&pool, &actor, id).await?;
    let tags = conversation::tags(&pool, &actor, id).await?;
    let may_erase = actor.is_admin_of(customer.account_id);
    let drafts = domain::bot::drafts(&pool, &actor, id).await?;
    Ok(SessionDetails { session_id: id, customer, previous, notes, participants, tags, may_erase, drafts })
}

/// Erases the data of the session's customer (`domain::customers::erase`:
/// admins of the account, once none of the customer's sessions is open).
#[server(endpoint = "agent/erase-customer")]
pub async fn erase_customer(id: SessionId) -> Result<ErasedView, AppError> {
    use domain::{customers, sessions};
    let (pool, actor) = caller().await?;
    let session = sessions::get(&pool, &actor, id).await?;
    let files = crate::ssr::files()?;
    let erasure = customers::erase(&pool, &files, &actor, session.customer_id).await?;
    Ok(ErasedView { session_id: id, erasure })
}

#[server(endpoint = "agent/targets")]
pub async fn load_transfer_targets(id: SessionId) -> Result<TransferTargets, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::workspace::transfer_targets(&pool, &actor, id).await?)
}

/// Sends a message. Idempotent by `client_message_id`: a retry returns the
/// message already stored.
#[server(endpoint = "agent/send")]
pub async fn send_message(
    id: SessionId,
    body: String,
    client_message_id: String,
    /// Uploads the message carries (`POST /api/v1/sessions/{id}/attachments`).
    attachment_ids: Option<Vec<AttachmentId>>,
) -> Result<Message, AppError> {
    let (pool, actor) = caller().await?;
    let input = domain::conversation::SendMessage {
        body,
        client_message_id: Some(client_message_id),
        attachment_ids: attachment_ids.unwrap_or_default(),
        ..Default::default()
    };
    Ok(domain::conversation::send(&pool, &actor, id, input).await?)
}

/// Marks the session read up to `message_id` (the fallback while the live
/// link is down; normally a `read` frame does this).
#[server(endpoint = "agent/read")]
pub async fn mark_read(id: SessionId, message_id: i64) -> Result<ReadState, AppError> {
    let (pool, actor) = caller().await?;
    let moved = domain::live::mark_read(&pool, &actor, id, message_id).await?;
    Ok(ReadState { session_id: id, moved: moved.is_some() })
}

/// Takes a queued session for oneself (manual routing).
#[server(endpoint = "agent/pick")]
pub async fn pick(id: SessionId) -> Result<Session, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::sessions::assign(&pool, &actor, id, None).await?)
}

#[server(endpoint = "agent/transfer")]
pub async fn transfer(id: SessionId, target: String) -> Result<Session, AppError> {
    let (pool, actor) = caller().await?;
    let target = parse_target(&target)?;
    Ok(domain::sessions::reassign(&pool, &actor, id, target, AssignReason::Transfer).await?)
}

#[server(endpoint = "agent/escalate")]
pub async fn escalate(id: SessionId) -> Result<Session, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::sessions::escalate(&pool, &actor, id).await?)
}

#[server(endpoint = "agent/resolve")]
pub async fn resolve(id: SessionId, reason_id: Option<String>) -> Result<Session, AppError> {
    let (pool, actor) = caller().await?;
    let reason = reason_id
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.parse::<ReasonId>().map_err(|_| {
                domain::Error::invalid("reason_id", "not a resolution reason of this support type")
            })
        })
        .transpose()?;
    Ok(domain::sessions::resolve(&pool, &actor, id, reason).await?)
}

#[server(endpoint = "agent/note")]
pub async fn add_note(id: SessionId, body: String) -> Result<Note, AppError> {
    let (pool, actor) = caller().await?;
    Ok(domain::conversation::add_note(&pool, &actor, id, &body).await?)
}

#[server(endpoint = "agent/tag")]
pub async fn add_tag(id: SessionId, name: String) -> Result<TagsView, AppError> {
    let (pool, actor) = caller().await?;
    let tags = domain::conversation::tag(&pool, &actor, id, &name, TagSource::Manual).await?;
    Ok(TagsView { session_id: id, tags })
}

#[server(endpoint = "agent/untag")]
pub async fn remove_tag(id: SessionId, tag_id: TagId) -> Result<TagsView, AppError> {
    let (pool, actor) = caller().await?;
    let tags = domain::conversation::untag(&pool, &actor, id, tag_id).await?;
    Ok(TagsView { session_id: id, tags })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::sessions::ReassignTarget;

    #[test]
    fn transfer_targets_are_read_from_the_select_value() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            parse_target(&format!("agent:{id}")).expect("agent"),
            ReassignTarget::Agent { agent_id: AgentId(id) }
        );
        assert_eq!(
            parse_target(&format!("type:{id}")).expect("type"),
            ReassignTarget::SupportType { support_type_id: SupportTypeId(id) }
        );
        for bad in ["", "agent:", "queue", &format!("bot:{id}"), "type:nope"] {
            assert_eq!(parse_target(bad).expect_err(bad).code(), "invalid", "{bad}");
        }
    }
}
