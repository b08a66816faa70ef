//! Domain events. Each operation writes its events here in its own
//! transaction, so an event exists if and only if its change committed
//! (invariant 3). The relay publishes them to RabbitMQ or in-process.

use serde::{Deserialize, Serialize};

use crate::types::{AccountId, SessionId};

/// The event names (routing keys) the session core emits.
pub mod topic {
    pub const SESSION_OPENED: &str = "session.opened";
    pub const SESSION_ASSIGNED: &str = "session.assigned";
    pub const SESSION_REASSIGNED: &str = "session.reassigned";
    /// A bot handed a session to people (or a person took it over).
    pub const SESSION_HANDED_OFF: &str = "session.handed_off";
    pub const SESSION_ESCALATED: &str = "session.escalated";
    pub const SESSION_RESOLVED: &str = "session.resolved";
    pub const SESSION_REOPENED: &str = "session.reopened";
    pub const SESSION_ABANDONED: &str = "session.abandoned";
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const NOTE_ADDED: &str = "note.added";
    pub const SESSION_TAGGED: &str = "session.tagged";
    pub const SESSION_UNTAGGED: &str = "session.untagged";
    pub const CSAT_SUBMITTED: &str = "csat.submitted";
    pub const CSAT_REQUESTED: &str = "csat.requested";
    pub const AGENT_CREATED: &str = "agent.created";
    pub const AGENT_UPDATED: &str = "agent.updated";
    pub const AGENT_PRESENCE: &str = "agent.presence_changed";
    pub const CONFIG_CHANGED: &str = "config.changed";
    pub const CUSTOMER_UPDATED: &str = "customer.updated";
    /// A customer's data was erased (for webhook subscribers to erase theirs).
    pub const CUSTOMER_ERASED: &str = "customer.erased";
    pub const BLAST_CREATED: &str = "blast.created";
    /// A blast moved (every 2% of its recipients, and when it ends): for
    /// the account admins' blasts page only.
    pub const BLAST_PROGRESS: &str = "blast.progress";
    /// An import run moved (checkpoint, cancel, failure): for the account
    /// admins' import page only.
    pub const IMPORT_PROGRESS: &str = "import.progress";
    /// An in-app alert was written for an agent: for that agent's bell only.
    pub const NOTIFICATION_CREATED: &str = "notification.created";
    /// A bot's draft (mode `drafts`) was written, sent or discarded: for
    /// the people watching the session.
    pub const BOT_DRAFTED: &str = "bot.drafted";

    /// Every topic above, in order: what pickers offer (the webhooks page).
    pub const ALL: &[&str] = &[
        SESSION_OPENED,
        SESSION_ASSIGNED,
        SESSION_REASSIGNED,
        SESSION_HANDED_OFF,
        SESSION_ESCALATED,
        SESSION_RESOLVED,
        SESSION_REOPENED,
        SESSION_ABANDONED,
        MESSAGE_CREATED,
        NOTE_ADDED,
        SESSION_TAGGED,
        SESSION_UNTAGGED,
        CSAT_SUBMITTED,
        CSAT_REQUESTED,
        AGENT_CREATED,
        AGENT_UPDATED,
        AGENT_PRESENCE,
        CONFIG_CHANGED,
        CUSTOMER_UPDATED,
        CUSTOMER_ERASED,
        BLAST_CREATED,
        BLAST_PROGRESS,
        IMPORT_PROGRESS,
        NOTIFICATION_CREATED,
        BOT_DRAFTED,
    ];

    /// The topics a webhook can receive, in order.
    pub fn for_webhooks() -> impl Iterator<Item = &'static str> {
        ALL.iter().copied().filter(|t| delivered_to_webhooks(t))
    }

    /// Whether webhooks may receive the topic: not the internal `import.*`
    /// ones (imported history is quiet, and its progress is no business
    /// event), nor `notification.*` (one agent's own alerts, which repeat
    /// the business event they are about), nor `blast.progress` (a progress
    /// bar's ticks; every message the blast sends is its own event).
    pub fn delivered_to_webhooks(topic: &str) -> bool {
        !topic.starts_with("import.") && !topic.starts_with("notification.") && topic != BLAST_PROGRESS
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct Event {
    pub id: i64,
    pub event_id: uuid::Uuid,
    pub topic: String,
    pub account_id: Option<AccountId>,
    pub session_id: Option<SessionId>,
    pub payload: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Event {
    /// A `message.created` whose sender is the customer.
    pub fn from_customer(&self) -> bool {
        self.topic == topic::MESSAGE_CREATED
            && self.payload.get("sender_kind").and_then(|k| k.as_str()) == Some("customer")
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use sqlx::PgConnection;

    /// Writes one event inside the caller's transaction.
    pub async fn record(
        conn: &mut PgConnection,
        topic: &str,
        account_id: Option<AccountId>,
        session_id: Option<SessionId>,
        payload: serde_json::Value,
    ) -> crate::Result<()> {
        sqlx::query!(
            "INSERT INTO outbox (topic, account_id, session_id, payload) VALUES ($1, $2, $3, $4)",
            topic,
            account_id.map(|a| a.0),
            session_id.map(|s| s.0),
            payload
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Events after `after_id`, oldest first (tests, replay).
    pub async fn since(pool: &sqlx::PgPool, after_id: i64, limit: i64) -> crate::Result<Vec<Event>> {
        let rows = sqlx::query_as!(
            Event,
            r#"SELECT id, event_id, topic, account_id AS "account_id: AccountId",
                      session_id AS "session_id: SessionId", payload, created_at
               FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"#,
            after_id,
            limit
        )
        .fetch_all(pool)
        .await?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, topic};

    #[test]
    fn a_customers_message_is_one_the_customer_sent() {
        let event = |t: &str, sender: &str| Event {
            id: 1,
            event_id: uuid::Uuid::nil(),
            topic: t.to_owned(),
            account_id: None,
            session_id: None,
            payload: serde_json::json!({ "sender_kind": sender }),
            created_at: chrono::Utc::now(),
        };
        assert!(event(topic::MESSAGE_CREATED, "customer").from_customer());
        assert!(!event(topic::MESSAGE_CREATED, "agent").from_customer());
        assert!(!event(topic::MESSAGE_CREATED, "system").from_customer());
        assert!(!event(topic::SESSION_OPENED, "customer").from_customer());
    }

    /// `topic::ALL` lists every topic constant declared in `topic`.
    #[test]
    fn every_topic_is_listed() {
        let source = include_str!("outbox.rs");
        let module = source.split("pub mod topic {").nth(1).expect("the topic module");
        let module = module.split("\n}\n").next().expect("its end");
        let declared: Vec<&str> = module
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub const "))
            .filter(|l| l.contains(": &str = \""))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert!(declared.len() >= 20, "{declared:?}");
        for t in &declared {
            assert!(topic::ALL.contains(t), "{t} is missing from topic::ALL");
        }
        assert_eq!(declared.len(), topic::ALL.len());
        assert!(topic::for_webhooks().all(topic::delivered_to_webhooks));
        assert!(
            !topic::for_webhooks().any(|t| t == topic::IMPORT_PROGRESS || t == topic::NOTIFICATION_CREATED)
        );
    }
}
