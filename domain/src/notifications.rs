//! In-app notifications: alerts for an agent (a session was assigned to
//! them, …), written by the notifications consumer and read by the agent
//! themself, newest first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// An in-app alert for the calling agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: i64,
    pub agent_id: AgentId,
    /// What happened, e.g. `session.assigned`.
    pub kind: String,
    pub session_id: Option<SessionId>,
    /// Plain text. Clients render it escaped.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Notification kinds.
pub mod kind {
    pub const SESSION_ASSIGNED: &str = "session.assigned";
    /// A bot handed a session to people.
    pub const SESSION_HANDOFF: &str = "session.handoff";
    /// A bot in mode `drafts` wrote a reply that waits for a person.
    pub const BOT_DRAFT: &str = "bot.draft";
}

/// Without live-connection knowledge, a customer who has not written for
/// this long before a reply is treated as offline.
pub const CUSTOMER_QUIET_SECS: i64 = 120;

/// How long a customer's live connection counts after the hub last
/// confirmed it (the hub confirms every [`CUSTOMER_LIVE_REFRESH_SECS`]).
pub const CUSTOMER_LIVE_SECS: i64 = 90;
pub const CUSTOMER_LIVE_REFRESH_SECS: u64 = 30;

/// Whether a role gets in-app alerts and agent e-mail: people do, bots do
/// not (they learn of their sessions through the API and events).
pub fn receives_alerts(role: Role) -> bool {
    role != Role::Bot
}

/// An alert's body is cut to this many characters.
pub const MAX_BODY_CHARS: usize = 2000;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    /// Whether the customer of `session` is offline at `at` (a reply's
    /// time): the one rule, for reply e-mail. What the hub knows decides:
    /// no live customer socket for the session (`customer_live_until`
    /// passed). A customer who never had a live connection (API clients)
    /// is offline when they wrote nothing for [`CUSTOMER_QUIET_SECS`]
    /// before `at`.
    pub async fn customer_offline(
        conn: &mut sqlx::PgConnection,
        session: SessionId,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(sqlx::query_scalar!(
            r#"SELECT CASE WHEN s.customer_live_until IS NOT NULL THEN s.customer_live_until < now()
                           ELSE coalesce((SELECT max(m.created_at) FROM messages m
                                          WHERE m.session_id = s.id AND m.sender_kind = 'customer')
                                         < $2::timestamptz - make_interval(secs => $3), true) END AS "offline!"
               FROM sessions s WHERE s.id = $1"#,
            session.0,
            at,
            CUSTOMER_QUIET_SECS as f64
        )
        .fetch_optional(conn)
        .await?
        .unwrap_or(true))
    }

    /// The hub's view of live customers: these sessions have an open
    /// customer socket on the calling node (refreshed periodically).
    pub async fn customers_live(pool: &PgPool, sessions: &[SessionId]) -> Result<()> {
        let ids: Vec<uuid::Uuid> = sessions.iter().map(|s| s.0).collect();
        sqlx::query!(
            "UPDATE sessions SET customer_live_until = now() + make_interval(secs => $2)
             WHERE id = ANY($1)",
            &ids,
            CUSTOMER_LIVE_SECS as f64
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// The customer's last live socket for the session closed.
    pub async fn customer_left(pool: &PgPool, session: SessionId) -> Result<()> {
        sqlx::query!("UPDATE sessions SET customer_live_until = now() WHERE id = $1", session.0)
            .execute(pool)
            .await?;
        Ok(())
    }

    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        sessions::{Page, page_limit, paginate},
    };
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`Notification`]: its columns between `$before` and `$after`.
    macro_rules! notification_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Notification,
                $before
                    + r#"id, agent_id AS "agent_id: AgentId", kind, session_id AS "session_id: SessionId",
                         body, created_at, read_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    fn own_agent(actor: &Actor) -> Result<AgentId> {
        actor.agent_id().ok_or_else(|| Error::forbidden("notifications are for agents"))
    }

    /// Writes an alert for `agent` inside the caller's transaction (the
    /// consumer's, so that it is written exactly once per event), with its
    /// `notification.created` event, which brings it to the agent's bell
    /// live (and in a replay after a reconnect).
    pub async fn alert(
        conn: &mut PgConnection,
        agent: AgentId,
        kind: &str,
        session: Option<SessionId>,
        body: &str,
    ) -> Result<Notification> {
        let body: String = body.chars().take(MAX_BODY_CHARS).collect();
        let row = notification_query!(
            "INSERT INTO notifications (agent_id, kind, session_id, body) VALUES ($1, $2, $3, $4) RETURNING ",
            "",
            agent.0,
            kind,
            session.map(|s| s.0),
            &body
        )
        .fetch_one(&mut *conn)
        .await?;
        let account = sqlx::query_scalar!(
            r#"SELECT account_id AS "account_id: AccountId" FROM agents WHERE id = $1"#,
            agent.0
        )
        .fetch_one(&mut *conn)
        .await?;
        let payload = serde_json::to_value(&row).map_err(|e| Error::internal("notification event", e))?;
        crate::outbox::record(conn, crate::outbox::topic::NOTIFICATION_CREATED, account, session, payload)
            .await?;
        Ok(row)
    }

    /// How many of the caller's notifications are unread (the bell's
    /// count). Agents only.
    pub async fn unread_count(pool: &PgPool, actor: &Actor) -> Result<i64> {
        let agent = own_agent(actor)?;
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM notifications WHERE agent_id = $1 AND read_at IS NULL"#,
            agent.0
        )
        .fetch_one(pool)
        .await?)
    }

    /// Marks every unread notification of the caller read; returns how
    /// many were. Agents only.
    pub async fn mark_all_read(pool: &PgPool, actor: &Actor) -> Result<u64> {
        let agent = own_agent(actor)?;
        Ok(sqlx::query!(
            "UPDATE notifications SET read_at = now() WHERE agent_id = $1 AND read_at IS NULL",
            agent.0
        )
        .execute(pool)
        .await?
        .rows_affected())
    }

    /// The caller's own notifications, newest first; `cursor` is the
    /// `next_cursor` of the previous page. Agents only.
    pub async fn list(
        pool: &PgPool,
        actor: &Actor,
        cursor: Option<&str>,
        limit: Option<i64>,
        unread_only: bool,
    ) -> Result<Page<Notification>> {
        let agent = own_agent(actor)?;
        let limit = page_limit(limit)?;
        let before = cursor
            .map(|c| {
                c.parse::<i64>().map_err(|_| Error::invalid("cursor", "not a cursor returned by this API"))
            })
            .transpose()?;
        let rows = notification_query!(
            "SELECT ",
            " FROM notifications
             WHERE agent_id = $1 AND id < $2 AND (NOT $3 OR read_at IS NULL)
             ORDER BY id DESC LIMIT $4",
            agent.0,
            before.unwrap_or(i64::MAX),
            unread_only,
            limit + 1
        )
        .fetch_all(pool)
        .await?;
        Ok(paginate(rows, limit, |n| n.id.to_string()))
    }

    /// Marks one of the caller's notifications read (again: no change).
    /// Someone else's is "not found".
    pub async fn mark_read(pool: &PgPool, actor: &Actor, id: i64) -> Result<()> {
        let agent = own_agent(actor)?;
        let found = sqlx::query!(
            "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND agent_id = $2",
            id,
            agent.0
        )
        .execute(pool)
        .await?
        .rows_affected();
        if found == 0 { Err(Error::not_found("notification")) } else { Ok(()) }
    }
}
