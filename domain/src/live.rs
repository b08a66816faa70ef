//! The real-time protocol between browsers (or bots) and the WebSocket hub
//! at `/ws`. JSON text frames, tagged by `type`.
//!
//! A connection starts with [`ClientFrame::Hello`]. Agents are identified by
//! their session cookie (or a bearer API token); customers put their chat
//! token in the hello. `after` is the id of the last event the client
//! applied: the hub replays what it missed from the database before it
//! sends anything live. Every durable frame carries its `event_id` (the
//! outbox id), so a client applies each event once, whatever the source.
//!
//! Typing and read receipts are ephemeral: they do not go through the
//! outbox (read positions are stored on the session; typing is not kept).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{conversation::Message, types::*};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame. `token` is a customer's chat token; agents leave it
    /// out (their cookie identified them at the upgrade).
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
    },
    /// Agents: receive a session's conversation (messages, typing, notes).
    /// Checked by the same rules as `GET /sessions/{id}`.
    Subscribe {
        session_id: SessionId,
    },
    Unsubscribe {
        session_id: SessionId,
    },
    /// "I am typing" (`true`) or "I stopped" (`false`).
    Typing {
        session_id: SessionId,
        typing: bool,
    },
    /// Everything up to `message_id` has been seen.
    Read {
        session_id: SessionId,
        message_id: i64,
    },
    /// Keep-alive; for agents it is also the presence heartbeat.
    Ping,
}

/// What the hub sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Sent once the hello is accepted, after the replay. `last_event_id` is
    /// where the client stands now.
    Welcome {
        last_event_id: i64,
    },
    Message {
        event_id: i64,
        message: Message,
        sender_name: Option<String>,
    },
    /// A session changed: opened, assigned, transferred, escalated, resolved…
    Session {
        event_id: i64,
        topic: String,
        session: SessionBrief,
    },
    /// Notes or tags of a session changed (agents only).
    Details {
        event_id: i64,
        session_id: SessionId,
    },
    CsatSubmitted {
        event_id: i64,
        session_id: SessionId,
        score: i16,
    },
    /// An agent asked the customer to rate a resolved session.
    CsatRequested {
        event_id: i64,
        session_id: SessionId,
    },
    /// An agent's presence changed (for example set away after missed
    /// heartbeats). The agent themself gets it, and so do those whose scope
    /// covers the agent's account (the live queue monitor); a client checks
    /// `agent_id` before it treats the change as its own.
    Presence {
        event_id: i64,
        agent_id: AgentId,
        presence: Presence,
        reason: Option<String>,
    },
    /// A new in-app alert for the signed-in agent (the bell).
    Notification {
        event_id: i64,
        notification: crate::notifications::Notification,
    },
    Typing {
        session_id: SessionId,
        sender_kind: SenderKind,
        name: Option<String>,
        typing: bool,
    },
    Read {
        session_id: SessionId,
        reader: SenderKind,
        message_id: i64,
    },
    /// An import run moved (account admins only).
    ImportProgress {
        event_id: i64,
        run_id: uuid::Uuid,
        status: crate::import::RunStatus,
        position: i64,
        total: i64,
        created: i64,
        matched: i64,
        skipped: i64,
    },
    /// A blast moved (account admins only): its counters as they are now.
    BlastProgress {
        event_id: i64,
        blast_id: BlastId,
        status: BlastStatus,
        total: i32,
        sent: i32,
        failed: i32,
        skipped: i32,
    },
    /// A queued customer's place in line.
    Queue {
        session_id: SessionId,
        position: i64,
        eta_secs: i64,
    },
    /// Too much was missed to replay: reload the state, then carry on.
    Resync {
        last_event_id: i64,
    },
    Pong,
    Error {
        code: String,
        message: String,
    },
}

impl ServerFrame {
    /// The durable event behind the frame, if any.
    pub fn event_id(&self) -> Option<i64> {
        match self {
            Self::Message { event_id, .. }
            | Self::Session { event_id, .. }
            | Self::Details { event_id, .. }
            | Self::CsatSubmitted { event_id, .. }
            | Self::CsatRequested { event_id, .. }
            | Self::Presence { event_id, .. }
            | Self::Notification { event_id, .. }
            | Self::ImportProgress { event_id, .. }
            | Self::BlastProgress { event_id, .. } => Some(*event_id),
            _ => None,
        }
    }
}

/// A session as live clients see it. Customers get it without internal ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionBrief {
    pub id: SessionId,
    pub account_id: AccountId,
    pub support_type_id: SupportTypeId,
    pub support_type: String,
    pub status: SessionStatus,
    pub owner_id: Option<AgentId>,
    pub owner_name: Option<String>,
    /// The owner is a bot: the customer is offered "Talk to a person", and
    /// agents see the session as bot-handled.
    #[serde(default)]
    pub with_bot: bool,
    pub customer_id: CustomerId,
    pub customer_name: Option<String>,
    pub priority: i32,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub csat_enabled: bool,
    pub csat_requested: bool,
    pub agent_read_message_id: i64,
    pub customer_read_message_id: i64,
}

impl SessionBrief {
    /// What the [scope rule](crate::scope) looks at.
    pub fn facts(&self) -> crate::scope::SessionFacts {
        crate::scope::SessionFacts {
            id: self.id,
            account_id: self.account_id,
            support_type_id: self.support_type_id,
            owner_id: self.owner_id,
        }
    }

    /// What a customer may see: no internal ids of agents or the account's
    /// other records.
    pub fn for_customer(mut self) -> Self {
        self.owner_id = None;
        self
    }
}

/// How long a customer should expect to wait, in words ("about 2 min").
pub fn wait_in_words(eta_secs: i64) -> String {
    match eta_secs {
        s if s < 60 => "less than a minute".to_owned(),
        s if s < 3600 => format!("about {} min", (s + 30) / 60),
        s => format!("about {} h", (s + 1800) / 3600),
    }
}

/// A queued session's place in its type's line, and the estimated wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    pub session_id: SessionId,
    pub support_type_id: SupportTypeId,
    pub position: i64,
    pub eta_secs: i64,
}

/// The estimated wait for `position` in a line that assigned `per_hour`
/// sessions in the last hour; two minutes a place without recent data,
/// and never more than four hours.
pub fn estimate_wait(position: i64, per_hour: i64) -> i64 {
    let secs = if per_hour > 0 { position * 3600 / per_hour } else { position * 120 };
    secs.clamp(0, 4 * 3600)
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Result,
        actor::Actor,
        outbox::Event,
        sessions::{Lock, visible},
    };
    use sqlx::PgPool;

    /// A session's live view, for the hub (which applies the scoping rules
    /// per connection itself).
    pub async fn brief_unchecked<'e>(
        db: impl sqlx::PgExecutor<'e>,
        id: SessionId,
    ) -> Result<Option<SessionBrief>> {
        Ok(sqlx::query_as!(
            SessionBrief,
            r#"SELECT s.id AS "id: SessionId", s.account_id AS "account_id: AccountId",
                      s.support_type_id AS "support_type_id: SupportTypeId", t.name AS support_type,
                      s.status AS "status: SessionStatus", s.owner_id AS "owner_id: AgentId",
                      a.display_name AS "owner_name?", (a.role = 'bot') IS TRUE AS "with_bot!",
                      s.customer_id AS "customer_id: CustomerId",
                      c.name AS customer_name, s.priority, s.queued_at, s.assigned_at, s.resolved_at,
                      t.csat_enabled,
                      s.csat_requested_at IS NOT NULL AS "csat_requested!", s.agent_read_message_id,
                      s.customer_read_message_id
               FROM sessions s JOIN support_types t ON t.id = s.support_type_id
               JOIN customers c ON c.id = s.customer_id LEFT JOIN agents a ON a.id = s.owner_id
               WHERE s.id = $1"#,
            id.0
        )
        .fetch_optional(db)
        .await?)
    }

    /// A session's live view for someone who may see it; customers get the
    /// [customer's cut](SessionBrief::for_customer).
    pub async fn brief(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<SessionBrief> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        // On the same connection: a second one from the pool, while this
        // one is held, deadlocks a busy pool (the outside bench's agents
        // subscribing 100 at a time held all 20 and waited for a 21st).
        let brief =
            brief_unchecked(&mut *conn, id).await?.ok_or_else(|| crate::Error::not_found("session"))?;
        Ok(if matches!(actor, Actor::Customer(_)) { brief.for_customer() } else { brief })
    }

    /// Every queued session's place in line for the given types.
    pub async fn queue_positions(pool: &PgPool, types: &[SupportTypeId]) -> Result<Vec<QueuePosition>> {
        let ids: Vec<uuid::Uuid> = types.iter().map(|t| t.0).collect();
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        let rows: Vec<(SessionId, SupportTypeId, i64, i64)> = sqlx::query_as(concat!(
            "WITH line AS (
                 SELECT s.id, s.support_type_id,
                        row_number() OVER (PARTITION BY s.support_type_id ORDER BY ",
            crate::queue_order_sql!(),
            ") AS position
                 FROM sessions s WHERE s.status = 'queued' AND s.support_type_id = ANY($1)),
             rate AS (
                 SELECT support_type_id, count(*) AS per_hour FROM sessions
                 WHERE support_type_id = ANY($1) AND assigned_at > now() - interval '1 hour'
                 GROUP BY support_type_id)
             SELECT line.id, line.support_type_id, line.position, COALESCE(rate.per_hour, 0)
             FROM line LEFT JOIN rate USING (support_type_id)"
        ))
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(session_id, support_type_id, position, per_hour)| QueuePosition {
                session_id,
                support_type_id,
                position,
                eta_secs: estimate_wait(position, per_hour),
            })
            .collect())
    }

    /// One queued session's place in line (`None` once it is not queued):
    /// the same answer as [`queue_positions`], counting only the sessions
    /// ahead of it on the queue's index instead of ordering the whole
    /// queue, so a customer's connect costs its own position, not the
    /// type's queue.
    pub async fn queue_position(pool: &PgPool, session: SessionId) -> Result<Option<QueuePosition>> {
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        let row: Option<(SessionId, SupportTypeId, i64, i64)> = sqlx::query_as(concat!(
            "SELECT s.id, s.support_type_id,
                    1 + (SELECT count(*) FROM sessions q
                         WHERE q.status = 'queued' AND q.support_type_id = s.support_type_id AND ",
            crate::queue_ahead_sql!(),
            "),
                    (SELECT count(*) FROM sessions r
                     WHERE r.support_type_id = s.support_type_id AND r.assigned_at > now() - interval '1 hour')
             FROM sessions s WHERE s.id = $1 AND s.status = 'queued'"
        ))
        .bind(session)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|(session_id, support_type_id, position, per_hour)| QueuePosition {
            session_id,
            support_type_id,
            position,
            eta_secs: estimate_wait(position, per_hour),
        }))
    }

    /// Records that the caller has seen the session's messages up to
    /// `message_id`: the customer for their side; the owner for the agent
    /// side (a supervisor looking in does not clear the owner's unread).
    /// Returns the side that moved forward, if any.
    pub async fn mark_read(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        message_id: i64,
    ) -> Result<Option<SenderKind>> {
        let mut conn = pool.acquire().await?;
        let session = visible(&mut conn, actor, id, Lock::None).await?;
        let (column, side) = match actor {
            Actor::Customer(_) => ("customer_read_message_id", SenderKind::Customer),
            Actor::Agent(a) if session.owner_id == Some(a.id) => ("agent_read_message_id", SenderKind::Agent),
            _ => return Ok(None),
        };
        // Never past the newest message, never backwards.
        // Runtime-built: format! names the column (the customer's or the owner's read position).
        let moved = sqlx::query(&format!(
            "UPDATE sessions SET {column} = LEAST($2, (SELECT COALESCE(max(id), 0) FROM messages
                                                        WHERE session_id = $1))
             WHERE id = $1 AND {column} < LEAST($2, (SELECT COALESCE(max(id), 0) FROM messages
                                                      WHERE session_id = $1))"
        ))
        .bind(id)
        .bind(message_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok((moved > 0).then_some(side))
    }

    /// The newest event id: where a fresh client starts.
    pub async fn last_event_id(pool: &PgPool) -> Result<i64> {
        Ok(sqlx::query_scalar!("SELECT max(id) FROM outbox").fetch_one(pool).await?.unwrap_or(0))
    }

    /// How far back a replay also looks, in seconds, for events whose
    /// transaction committed after a later one was already delivered (ids
    /// are taken at insert, not at commit). Clients skip ids they applied.
    pub const REPLAY_LOOKBACK_SECS: f64 = 30.0;

    /// Events a client may have missed: after `after`, plus the lookback,
    /// of one session or of one account (`None`: every account), oldest
    /// first, at most `limit`.
    pub async fn replay(
        pool: &PgPool,
        session: Option<SessionId>,
        account: Option<AccountId>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let rows = sqlx::query_as!(
            Event,
            r#"SELECT id, event_id, topic, account_id AS "account_id: AccountId",
                      session_id AS "session_id: SessionId", payload, created_at
               FROM outbox
               WHERE ($1::uuid IS NULL OR session_id = $1)
                 AND ($2::uuid IS NULL OR account_id = $2)
                 AND (id > $3 OR (id > $3 - 10000
                                  AND created_at > (SELECT created_at FROM outbox WHERE id = $3)
                                                   - make_interval(secs => $5)))
               ORDER BY id LIMIT $4"#,
            session.map(|s| s.0),
            account.map(|a| a.0),
            after,
            limit,
            REPLAY_LOOKBACK_SECS
        )
        .fetch_all(pool)
        .await?;
        Ok(rows)
    }

    /// An agent as the hub knows them now: `None` once deactivated or
    /// gone (their live connections end).
    pub async fn agent_actor(pool: &PgPool, agent: AgentId) -> Result<Option<crate::actor::AgentActor>> {
        Ok(sqlx::query_as!(
            crate::actor::AgentActor,
            r#"SELECT id AS "id: AgentId", account_id AS "account_id: AccountId", role AS "role: Role"
               FROM agents WHERE id = $1 AND deactivated_at IS NULL"#,
            agent.0
        )
        .fetch_optional(pool)
        .await?)
    }

    /// An agent's display name (for "Dana joined" and typing indicators).
    pub async fn display_name(pool: &PgPool, agent: AgentId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar!("SELECT display_name FROM agents WHERE id = $1", agent.0)
            .fetch_optional(pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let hello: ClientFrame = serde_json::from_str(r#"{"type":"hello","after":12}"#).expect("hello");
        assert_eq!(hello, ClientFrame::Hello { token: None, after: Some(12) });
        assert_eq!(serde_json::to_string(&ClientFrame::Ping).expect("ping"), r#"{"type":"ping"}"#);
        let pong = serde_json::to_string(&ServerFrame::Pong).expect("pong");
        assert_eq!(pong, r#"{"type":"pong"}"#);
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
    }

    #[test]
    fn estimates_follow_the_recent_rate() {
        assert_eq!(estimate_wait(3, 0), 360);
        assert_eq!(estimate_wait(3, 60), 180);
        assert_eq!(estimate_wait(1000, 1), 4 * 3600);
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_in_words(20), "less than a minute");
        assert_eq!(wait_in_words(100), "about 2 min");
        assert_eq!(wait_in_words(7200), "about 2 h");
    }
}
