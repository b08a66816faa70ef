//! The conversation inside a session: messages (idempotent by client message
//! id, paged by cursor), internal notes, and tags.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{attachments::Attachment, types::*};

/// A message of the conversation (plain text; render it escaped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub session_id: SessionId,
    pub sender_kind: SenderKind,
    pub sender_agent_id: Option<AgentId>,
    /// Plain text. Clients render it escaped.
    pub body: String,
    pub client_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The files the message carries, in the order they were attached.
    #[serde(default)]
    #[cfg_attr(feature = "server", sqlx(skip))]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    /// The text; it may be empty when the message carries attachments.
    #[serde(default)]
    pub body: String,
    /// Sending the same id twice stores one message and returns it.
    pub client_message_id: Option<String>,
    /// Uploads (`POST /sessions/{id}/attachments`) this message carries:
    /// the sender's own, in this session, not yet sent.
    #[serde(default)]
    pub attachment_ids: Vec<AttachmentId>,
    /// The client's address, from the request (never from its JSON): a
    /// customer's messages count against the per-address limit too.
    #[serde(skip)]
    pub ip: Option<std::net::IpAddr>,
}

/// An internal note, visible to agents only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: i64,
    pub session_id: SessionId,
    pub author_id: AgentId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A tag on a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionTag {
    pub tag_id: TagId,
    pub name: String,
    pub color: String,
    pub source: TagSource,
}

/// A message as its customer sees it: who wrote it by display name, never
/// an agent's internal id. (Notes are another table and never reach them.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerMessage {
    pub id: i64,
    pub session_id: SessionId,
    pub sender_kind: SenderKind,
    /// The agent's or bot's display name; `None` for the customer and the system.
    pub sender_name: Option<String>,
    /// Plain text. Clients render it escaped.
    pub body: String,
    pub client_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    #[cfg_attr(feature = "server", sqlx(skip))]
    pub attachments: Vec<Attachment>,
}

/// The hot queries, shared with the query-plan test.
pub mod sql {
    /// One page of history, newest first, before a message id.
    pub const HISTORY: &str =
        "SELECT * FROM messages WHERE session_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
    /// The same page as the customer sees it, names resolved in the query.
    pub const CUSTOMER_HISTORY: &str =
        "SELECT m.id, m.session_id, m.sender_kind, a.display_name AS sender_name,
                m.body, m.client_message_id, m.created_at
         FROM messages m LEFT JOIN agents a ON a.id = m.sender_agent_id
         WHERE m.session_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3";
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        attachments,
        outbox::{self, topic},
        sessions::{Lock, Page, Session, page_limit, paginate, visible},
        text::{optional_text, required_text},
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// A message row, before its attachments are added.
    struct MessageRow {
        id: i64,
        session_id: SessionId,
        sender_kind: SenderKind,
        sender_agent_id: Option<AgentId>,
        body: String,
        client_message_id: Option<String>,
        created_at: DateTime<Utc>,
    }

    impl MessageRow {
        fn message(self, attachments: Vec<Attachment>) -> Message {
            Message {
                id: self.id,
                session_id: self.session_id,
                sender_kind: self.sender_kind,
                sender_agent_id: self.sender_agent_id,
                body: self.body,
                client_message_id: self.client_message_id,
                created_at: self.created_at,
                attachments,
            }
        }
    }

    /// `query_as!` for [`MessageRow`]: its columns between `$before` and `$after`.
    macro_rules! message_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                MessageRow,
                $before
                    + r#"id, session_id AS "session_id: SessionId", sender_kind AS "sender_kind: SenderKind",
                         sender_agent_id AS "sender_agent_id: AgentId", body, client_message_id, created_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// The stored message under a client message id, with its attachments.
    async fn by_client_id(
        conn: &mut PgConnection,
        session: SessionId,
        client_message_id: &str,
    ) -> Result<Option<Message>> {
        let row = message_query!(
            "SELECT ",
            " FROM messages WHERE session_id = $1 AND client_message_id = $2",
            session.0,
            client_message_id
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut files = attachments::of_messages(conn, &[row.id]).await?;
        let id = row.id;
        Ok(Some(row.message(files.remove(&id).unwrap_or_default())))
    }

    /// Stores a message carrying `attachments` (claimed by the caller), or
    /// returns the one already stored under the same client message id
    /// (then `created` is false and no event is written).
    pub(crate) async fn insert_message(
        conn: &mut PgConnection,
        session: &Session,
        kind: SenderKind,
        agent: Option<AgentId>,
        body: &str,
        client_message_id: Option<&str>,
        mut attachments: Vec<Attachment>,
    ) -> Result<(Message, bool)> {
        let inserted = message_query!(
            "INSERT INTO messages (session_id, sender_kind, sender_agent_id, body, client_message_id, attachment_count)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (session_id, client_message_id) DO NOTHING
             RETURNING ",
            "",
            session.id.0,
            kind.as_str(),
            agent.map(|a| a.0),
            body,
            client_message_id,
            attachments.len() as i16
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = inserted else {
            let existing = match client_message_id {
                Some(cid) => by_client_id(conn, session.id, cid).await?,
                None => None,
            };
            let existing = existing
                .ok_or_else(|| Error::internal("message insert", "conflict without a stored message"))?;
            return Ok((existing, false));
        };
        attachments::link(conn, row.id, &mut attachments).await?;
        let message = row.message(attachments);
        outbox::record(
            conn,
            topic::MESSAGE_CREATED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "support_type_id": session.support_type_id,
                    "owner_id": session.owner_id, "message_id": message.id, "sender_kind": kind,
                    "sender_agent_id": agent, "body": message.body,
                    "client_message_id": message.client_message_id, "created_at": message.created_at,
                    "attachments": message.attachments }),
        )
        .await?;
        Ok((message, true))
    }

    /// Posts a system message (a type's greeting, an after-hours notice)
    /// into an open session, inside the caller's transaction (a consumer's).
    /// Idempotent by `client_message_id`. `None` when the session is closed.
    pub async fn post_system_message(
        conn: &mut PgConnection,
        id: SessionId,
        body: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>> {
        let body = required_text("body", body, 10_000)?;
        let session = crate::sessions::load(conn, id, Lock::Share).await?;
        if !session.status.is_open() {
            return Ok(None);
        }
        let (message, _) = insert_message(
            conn,
            &session,
            SenderKind::System,
            None,
            &body,
            Some(client_message_id),
            Vec::new(),
        )
        .await?;
        Ok(Some(message))
    }

    /// Posts a message attributed to `agent` (a blast's author) into an
    /// open session, inside the caller's transaction, without the checks of
    /// [`send`] (the caller has authorised it) and without touching the
    /// first-response clock (it is not a reply), carrying `attachments`
    /// (rows of this session that no message carries yet). Idempotent by
    /// `client_message_id`. `None` when the session is closed.
    pub async fn post_agent_message(
        conn: &mut PgConnection,
        id: SessionId,
        agent: AgentId,
        body: &str,
        client_message_id: &str,
        attachments: Vec<Attachment>,
    ) -> Result<Option<Message>> {
        let body = required_text("body", body, 10_000)?;
        let session = crate::sessions::load(conn, id, Lock::Share).await?;
        if !session.status.is_open() {
            return Ok(None);
        }
        let (message, _) = insert_message(
            conn,
            &session,
            SenderKind::Agent,
            Some(agent),
            &body,
            Some(client_message_id),
            attachments,
        )
        .await?;
        Ok(Some(message))
    }

    /// Sends a message into an open session. Customers write into their own
    /// session; agents into sessions they own (supervisors into any in their
    /// account). The owner's first reply stops the first-response clock.
    pub async fn send(pool: &PgPool, actor: &Actor, id: SessionId, input: SendMessage) -> Result<Message> {
        let checked = checked_input(&input)?;
        // Customers are rate-limited here, whoever calls (REST, the chat
        // page, the widget): per session and per client address.
        if let Actor::Customer(customer) = actor {
            crate::auth::chat_message_limits(pool, customer, input.ip).await?;
        }
        let mut tx = pool.begin().await?;
        let message = send_checked(&mut tx, actor, id, checked, &input.attachment_ids).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// [`send`] inside the caller's transaction (the built-in bot's, in its
    /// consumer), for an agent or a bot: customers' rate limits are checked
    /// by [`send`] only. The same rules, under the same session lock.
    pub async fn send_in(
        conn: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        input: SendMessage,
    ) -> Result<Message> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::internal("send_in", "customers send through send, which rate-limits them"));
        }
        let checked = checked_input(&input)?;
        send_checked(conn, actor, id, checked, &input.attachment_ids).await
    }

    /// The text (empty only when files go with it) and the client's id.
    fn checked_input(input: &SendMessage) -> Result<(String, Option<String>)> {
        let body = if input.attachment_ids.is_empty() || !input.body.trim().is_empty() {
            required_text("body", &input.body, 10_000)?
        } else {
            String::new()
        };
        let client_id = optional_text("client_message_id", input.client_message_id.as_deref(), 100)?;
        Ok((body, client_id))
    }

    async fn send_checked(
        tx: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        (body, client_id): (String, Option<String>),
        attachment_ids: &[AttachmentId],
    ) -> Result<Message> {
        // A share lock keeps a concurrent resolve waiting for this message
        // without making customers queue behind each other. Agents take the
        // update lock: their first reply also updates the session row.
        let lock = if actor.agent_id().is_some() { Lock::Update } else { Lock::Share };
        let session = visible(tx, actor, id, lock).await?;
        if let Some(cid) = &client_id
            && let Some(existing) = by_client_id(tx, id, cid).await?
        {
            return Ok(existing);
        }
        if !session.status.is_open() {
            return Err(Error::conflict(
                "session_closed",
                format!("the session is {}; reopen it to write again", session.status),
            ));
        }
        // A person writing into a bot's session takes it over first, under
        // the lock: the bot's next send then gets 409 not_owner.
        let session = match (actor.agent(), session.owner_id) {
            (Some(me), Some(owner))
                if me.role != Role::Bot && owner != me.id && is_bot(tx, owner).await? =>
            {
                crate::sessions::take_over_from_bot(tx, actor, &session, owner).await?
            }
            _ => session,
        };
        let (kind, agent) = sender(actor, &session)?;
        let files = attachments::claim(tx, &session, (kind, agent), attachment_ids).await?;
        let (message, created) =
            insert_message(tx, &session, kind, agent, &body, client_id.as_deref(), files).await?;
        if created && agent.is_some() && agent == session.owner_id {
            sqlx::query!(
                "UPDATE assignments SET responded_at = $2 WHERE session_id = $1 AND ended_at IS NULL AND responded_at IS NULL",
                id.0,
                message.created_at
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "UPDATE sessions SET first_response_at = $2 WHERE id = $1 AND first_response_at IS NULL",
                id.0,
                message.created_at
            )
            .execute(&mut *tx)
            .await?;
        }
        Ok(message)
    }

    /// Who a message from `actor` into `session` is from, if they may write
    /// there: its customer, the system, its owner or a supervisor.
    pub(crate) fn sender(actor: &Actor, session: &Session) -> Result<(SenderKind, Option<AgentId>)> {
        Ok(match actor {
            Actor::Customer(_) => (SenderKind::Customer, None),
            Actor::System => (SenderKind::System, None),
            Actor::Agent(a) => {
                // Exactly one owner speaks: a bot that no longer owns the
                // session (a handoff or a takeover committed) is refused.
                if a.role == Role::Bot && session.owner_id != Some(a.id) {
                    return Err(Error::conflict(
                        "not_owner",
                        "this bot no longer owns the session; it was handed to a person",
                    ));
                }
                if session.owner_id != Some(a.id) && !actor.supervises(session.account_id) {
                    return Err(Error::forbidden(
                        "only the session's owner may reply; take or be assigned the session first",
                    ));
                }
                (if a.role == Role::Bot { SenderKind::Bot } else { SenderKind::Agent }, Some(a.id))
            }
        })
    }

    pub(crate) async fn is_bot(conn: &mut PgConnection, agent: AgentId) -> Result<bool> {
        Ok(sqlx::query_scalar!(r#"SELECT role = 'bot' AS "bot!" FROM agents WHERE id = $1"#, agent.0)
            .fetch_optional(conn)
            .await?
            .unwrap_or(false))
    }

    /// Messages newest first; `before` is the cursor (a message id) from the
    /// previous page.
    pub async fn history(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        before: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<Message>> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers read their chat with history_for_customer"));
        }
        history_page(pool, actor, id, before, limit, sql::HISTORY).await
    }

    /// The history as the session's customer sees it ([`CustomerMessage`]).
    pub async fn history_for_customer(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        before: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<CustomerMessage>> {
        history_page(pool, actor, id, before, limit, sql::CUSTOMER_HISTORY).await
    }

    async fn history_page<T>(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        before: Option<&str>,
        limit: Option<i64>,
        query: &'static str,
    ) -> Result<Page<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + HasAttachments,
    {
        let limit = page_limit(limit)?;
        let before = before
            .map(|c| {
                c.parse::<i64>().map_err(|_| Error::invalid("cursor", "not a cursor returned by this API"))
            })
            .transpose()?;
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        // Runtime-checked: one of two static texts (agents' or the customer's view), chosen by the caller.
        let mut rows = sqlx::query_as::<_, T>(query)
            .bind(id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|m| m.id()).collect();
        let mut files = attachments::of_messages(&mut conn, &ids).await?;
        for row in &mut rows {
            if let Some(list) = files.remove(&row.id()) {
                row.set_attachments(list);
            }
        }
        Ok(paginate(rows, limit, |m| m.id().to_string()))
    }

    /// A history row: its id (the cursor) and its attachments.
    trait HasAttachments {
        fn id(&self) -> i64;
        fn set_attachments(&mut self, attachments: Vec<Attachment>);
    }
    impl HasAttachments for Message {
        fn id(&self) -> i64 {
            self.id
        }
        fn set_attachments(&mut self, attachments: Vec<Attachment>) {
            self.attachments = attachments;
        }
    }
    impl HasAttachments for CustomerMessage {
        fn id(&self) -> i64 {
            self.id
        }
        fn set_attachments(&mut self, attachments: Vec<Attachment>) {
            self.attachments = attachments;
        }
    }

    fn require_agent(actor: &Actor) -> Result<AgentId> {
        actor.agent_id().ok_or_else(|| Error::forbidden("notes and tags are for agents"))
    }

    /// Internal notes, visible to agents only.
    pub async fn add_note(pool: &PgPool, actor: &Actor, id: SessionId, body: &str) -> Result<Note> {
        let author = require_agent(actor)?;
        let body = required_text("body", body, 10_000)?;
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::None).await?;
        let note = sqlx::query_as!(
            Note,
            r#"INSERT INTO notes (session_id, author_id, body) VALUES ($1, $2, $3)
               RETURNING id, session_id AS "session_id: SessionId", author_id AS "author_id: AgentId", body,
                         created_at"#,
            id.0,
            author.0,
            &body
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut tx,
            topic::NOTE_ADDED,
            Some(session.account_id),
            Some(id),
            json!({ "session_id": id, "note_id": note.id, "author_id": author }),
        )
        .await?;
        tx.commit().await?;
        Ok(note)
    }

    pub async fn notes(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<Note>> {
        require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        Ok(sqlx::query_as!(
            Note,
            r#"SELECT id, session_id AS "session_id: SessionId", author_id AS "author_id: AgentId", body,
                      created_at
               FROM notes WHERE session_id = $1 ORDER BY id"#,
            id.0
        )
        .fetch_all(&mut *conn)
        .await?)
    }

    pub async fn tags(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<SessionTag>> {
        require_agent(actor)?;
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        session_tags(&mut conn, id).await
    }

    async fn session_tags(conn: &mut PgConnection, id: SessionId) -> Result<Vec<SessionTag>> {
        Ok(sqlx::query_as!(
            SessionTag,
            r#"SELECT t.id AS "tag_id: TagId", t.name::text AS "name!", t.color,
                      st.source AS "source: TagSource"
               FROM session_tags st JOIN tags t ON t.id = st.tag_id
               WHERE st.session_id = $1 ORDER BY t.name"#,
            id.0
        )
        .fetch_all(conn)
        .await?)
    }

    /// Tags a session by tag name, creating the tag in the account if it is
    /// new. Tagging twice is a no-op.
    pub async fn tag(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        name: &str,
        source: TagSource,
    ) -> Result<Vec<SessionTag>> {
        if source == TagSource::Manual {
            require_agent(actor)?;
        }
        let name = crate::config::validate_tag_name(name)?;
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::None).await?;
        let tag_id = crate::config::ensure_tag(&mut tx, session.account_id, &name).await?;
        let added = sqlx::query!(
            "INSERT INTO session_tags (session_id, tag_id, source, added_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            id.0,
            tag_id.0,
            source.as_str(),
            actor.agent_id().map(|a| a.0)
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            outbox::record(
                &mut tx,
                topic::SESSION_TAGGED,
                Some(session.account_id),
                Some(id),
                json!({ "session_id": id, "tag_id": tag_id, "name": name, "source": source }),
            )
            .await?;
        }
        let tags = session_tags(&mut tx, id).await?;
        tx.commit().await?;
        Ok(tags)
    }

    pub async fn untag(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        tag_id: TagId,
    ) -> Result<Vec<SessionTag>> {
        require_agent(actor)?;
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::None).await?;
        let removed =
            sqlx::query!("DELETE FROM session_tags WHERE session_id = $1 AND tag_id = $2", id.0, tag_id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if removed == 0 {
            return Err(Error::not_found("tag on this session"));
        }
        outbox::record(
            &mut tx,
            topic::SESSION_UNTAGGED,
            Some(session.account_id),
            Some(id),
            json!({ "session_id": id, "tag_id": tag_id }),
        )
        .await?;
        let tags = session_tags(&mut tx, id).await?;
        tx.commit().await?;
        Ok(tags)
    }
}
