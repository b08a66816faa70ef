//! The agent workspace's read models: the inbox and the waiting queue with
//! message previews and unread counts, a customer's other sessions, the
//! people who took part in a session, and where a session may be
//! transferred. Each is one query (no per-row round trips) over the same
//! scoping rules as the session core; the workspace changes nothing here,
//! it calls the session operations for that.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// How much of the newest message a list row shows.
pub const PREVIEW_CHARS: i32 = 140;
/// The most queued sessions the workspace lists.
pub const QUEUE_LIMIT: i64 = 50;
/// The most previous sessions of a customer the sidebar lists.
pub const PREVIOUS_LIMIT: i64 = 20;

/// A session as a row of the inbox or the waiting queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct WorkItem {
    pub id: SessionId,
    pub status: SessionStatus,
    pub support_type_id: SupportTypeId,
    pub support_type: String,
    /// The type's routing: agents pick `manual` sessions themselves.
    pub routing: Routing,
    pub owner_id: Option<AgentId>,
    pub customer_id: CustomerId,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub priority: i32,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub last_message_id: Option<i64>,
    /// The start of the newest message (at most [`PREVIEW_CHARS`]).
    pub last_message: Option<String>,
    pub last_sender: Option<SenderKind>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Customer messages after the owner's read position.
    pub unread: i64,
}

impl WorkItem {
    /// Its place in the waiting line ([`crate::scope::queue_order`]).
    pub fn queue_key(&self) -> crate::scope::QueueKey {
        crate::scope::QueueKey { priority: self.priority, queued_at: self.queued_at, id: self.id }
    }

    /// The customer as people call them: name, else e-mail, else anonymous.
    pub fn customer_label(&self) -> String {
        customer_label(self.customer_name.as_deref(), self.customer_email.as_deref())
    }
}

/// A customer's name for display: their name, their e-mail, or a neutral
/// placeholder.
pub fn customer_label(name: Option<&str>, email: Option<&str>) -> String {
    name.filter(|n| !n.trim().is_empty())
        .or(email.filter(|e| !e.trim().is_empty()))
        .map_or_else(|| "Anonymous customer".to_owned(), str::to_owned)
}

/// The start of a message for a list row, on one line.
pub fn preview(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = one_line.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS as usize).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

/// What the workspace shows in its left pane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub me: AgentId,
    pub presence: Presence,
    pub presence_reason: Option<String>,
    /// The caller's active sessions, oldest assignment first.
    pub inbox: Vec<WorkItem>,
    /// Queued sessions of the types the caller serves (every type of the
    /// account for supervisors), in pick order.
    pub queue: Vec<WorkItem>,
}

/// Another session of the same customer, for the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct PastSession {
    pub id: SessionId,
    pub support_type: String,
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// An agent who could take a transferred session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct TransferAgent {
    pub id: AgentId,
    pub display_name: String,
    pub presence: Presence,
    pub active_count: i32,
    pub max_concurrent: i32,
    /// Whether a transfer to this agent can succeed right now, by the
    /// [eligibility rule](crate::eligibility) (computed in the same query).
    pub can_take: bool,
}

impl TransferAgent {
    pub fn available(&self) -> bool {
        self.can_take
    }
}

/// A support type a session may be moved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeChoice {
    pub id: SupportTypeId,
    pub name: String,
}

/// Where a session can go: agents of its account who serve its type (not
/// the caller, not bots), available ones first; the account's active types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferTargets {
    pub session_id: SessionId,
    pub agents: Vec<TransferAgent>,
    pub support_types: Vec<TypeChoice>,
}

/// An agent's name, for messages and notes they wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: AgentId,
    pub display_name: String,
}

/// The hot queries, shared with the query-plan test.
#[cfg(feature = "server")]
pub mod sql {
    use super::PREVIEW_CHARS;
    use sqlx::{Postgres, QueryBuilder};

    /// Pushes `SELECT <the columns of a WorkItem> … WHERE true`: the
    /// session with its type and customer, the newest message, and the
    /// unread count (customer messages after `agent_read_message_id`,
    /// counted on the `messages_history` index). Callers append their
    /// conditions (`sessions::sql::push_inbox`, `push_queue`).
    pub fn push_select(q: &mut QueryBuilder<'_, Postgres>) {
        q.push(
            "SELECT s.id, s.status, s.support_type_id, t.name AS support_type, t.routing, s.owner_id,
                    s.customer_id, c.name AS customer_name, c.email::text AS customer_email, s.priority,
                    s.queued_at, s.assigned_at, m.id AS last_message_id, left(m.body, ",
        )
        .push_bind(PREVIEW_CHARS)
        .push(
            ") AS last_message, m.sender_kind AS last_sender, m.created_at AS last_message_at,
                    (SELECT count(*) FROM messages u
                     WHERE u.session_id = s.id AND u.id > s.agent_read_message_id
                       AND u.sender_kind = 'customer') AS unread
             FROM sessions s
             JOIN support_types t ON t.id = s.support_type_id
             JOIN customers c ON c.id = s.customer_id
             LEFT JOIN LATERAL (SELECT id, body, sender_kind, created_at FROM messages
                                WHERE session_id = s.id ORDER BY id DESC LIMIT 1) m ON true
             WHERE true",
        );
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        scope::Scope,
        sessions::{self, Lock, visible},
    };
    use sqlx::{PgPool, QueryBuilder};

    fn require_agent(actor: &Actor) -> Result<AgentId> {
        actor.agent_id().ok_or_else(|| Error::forbidden("the workspace is for agents"))
    }

    /// The caller's presence, inbox and queue (the queued sessions in
    /// their scope).
    pub async fn board(pool: &PgPool, actor: &Actor) -> Result<Board> {
        let me = require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        let me_row = sqlx::query!(
            r#"SELECT presence AS "presence: Presence", presence_reason FROM agents WHERE id = $1"#,
            me.0
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("agent"))?;
        let (presence, presence_reason) = (me_row.presence, me_row.presence_reason);
        let scope = Scope::of(&mut conn, actor).await?;
        // Runtime-built: the shared WorkItem select plus the scope's predicate, pushed by QueryBuilder.
        let mut q = QueryBuilder::new("");
        sql::push_select(&mut q);
        sessions::sql::push_inbox(&mut q, &scope, me);
        let inbox = q.build_query_as::<WorkItem>().fetch_all(&mut *conn).await?;
        let mut q = QueryBuilder::new("");
        sql::push_select(&mut q);
        sessions::sql::push_queue(&mut q, &scope, None, QUEUE_LIMIT);
        let queue = q.build_query_as::<WorkItem>().fetch_all(&mut *conn).await?;
        Ok(Board { me, presence, presence_reason, inbox, queue })
    }

    /// One session as a list row, for someone who may see it.
    pub async fn item(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<WorkItem> {
        require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        // Runtime-built: QueryBuilder pushes the shared WorkItem select (also run by the query-plan test).
        let mut q = QueryBuilder::new("");
        sql::push_select(&mut q);
        q.push(" AND s.id = ").push_bind(id);
        q.build_query_as::<WorkItem>()
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::not_found("session"))
    }

    /// The customer's other sessions that the caller may see, newest first.
    pub async fn previous_sessions(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<PastSession>> {
        require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        let session = visible(&mut conn, actor, id, Lock::None).await?;
        let scope = Scope::of(&mut conn, actor).await?;
        // Runtime-built: the scope's predicate is pushed by QueryBuilder.
        let mut q = QueryBuilder::new(
            "SELECT s.id, t.name AS support_type, s.status, s.created_at, s.resolved_at
             FROM sessions s JOIN support_types t ON t.id = s.support_type_id WHERE s.customer_id = ",
        );
        q.push_bind(session.customer_id).push(" AND s.id <> ").push_bind(id);
        scope.push_sql(&mut q);
        q.push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ").push_bind(PREVIOUS_LIMIT);
        Ok(q.build_query_as::<PastSession>().fetch_all(&mut *conn).await?)
    }

    /// The agents who took part in a session (owners, authors of messages
    /// and notes), for the names in its transcript and notes.
    pub async fn participants(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<Participant>> {
        require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        Ok(sqlx::query_as!(
            Participant,
            r#"SELECT a.id AS "id: AgentId", a.display_name FROM agents a
               WHERE a.id IN (SELECT agent_id FROM assignments WHERE session_id = $1
                              UNION SELECT author_id FROM notes WHERE session_id = $1
                              UNION SELECT sender_agent_id FROM messages
                                    WHERE session_id = $1 AND sender_agent_id IS NOT NULL)
               ORDER BY a.display_name, a.id"#,
            id.0
        )
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Where the caller could transfer a session: agents of its account who
    /// serve its type (humans, not the caller, not deactivated), available
    /// ones first; and the account's active support types.
    pub async fn transfer_targets(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<TransferTargets> {
        let me = require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        let session = visible(&mut conn, actor, id, Lock::None).await?;
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        let agents = sqlx::query_as::<_, TransferAgent>(concat!(
            "SELECT a.id, a.display_name, a.presence, a.active_count, a.max_concurrent, ",
            crate::can_take_sql!("$2", "$4::smallint", "$1"),
            " AS can_take
             FROM agents a JOIN agent_skills k ON k.agent_id = a.id AND k.support_type_id = $2
             WHERE a.account_id = $1 AND a.id <> $3 AND a.role <> 'bot' AND a.deactivated_at IS NULL
             ORDER BY 6 DESC, a.display_name, a.id"
        ))
        .bind(session.account_id)
        .bind(session.support_type_id)
        .bind(me)
        .bind(session.tier)
        .fetch_all(&mut *conn)
        .await?;
        let support_types = sqlx::query_as!(
            TypeChoice,
            r#"SELECT id AS "id: SupportTypeId", name FROM support_types
               WHERE account_id = $1 AND archived_at IS NULL ORDER BY name, id"#,
            session.account_id.0
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(TransferTargets { session_id: id, agents, support_types })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_named_by_what_is_known() {
        assert_eq!(customer_label(Some("Ana"), Some("ana@x.test")), "Ana");
        assert_eq!(customer_label(Some("  "), Some("ana@x.test")), "ana@x.test");
        assert_eq!(customer_label(None, None), "Anonymous customer");
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(preview("Hello\n\n  there"), "Hello there");
        let long = "x".repeat(PREVIEW_CHARS as usize + 5);
        let p = preview(&long);
        assert!(p.ends_with('…'));
        assert_eq!(p.chars().count(), PREVIEW_CHARS as usize + 1);
    }
}
