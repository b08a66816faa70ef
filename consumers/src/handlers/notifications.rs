//! **notifications**: tells people what happened.
//!
//! - `session.assigned` → an in-app alert for the assigned agent (not for
//!   bots), and an e-mail when the agent opted in (`agents.email_notifications`)
//!   and e-mail is configured (`SMTP_URL`);
//! - `message.created` by an agent or bot while the customer is **offline** →
//!   an e-mail to the customer with the reply. "Offline" means: the customer
//!   has an e-mail address, and their last message in the session is older
//!   than [`CUSTOMER_OFFLINE_AFTER_SECS`] at the time of the reply (or they
//!   never wrote). Measured against the reply's time, not the clock, so a
//!   redelivery decides the same way;
//! - every event of an account → one `webhook_deliveries` row per active
//!   webhook whose patterns match the topic (the delivery worker,
//!   [`crate::webhooks`], sends them).
//!
//! Alerts and deliveries are written in the transaction that records the
//! event, so they happen exactly once. E-mails are recorded in the e-mail
//! outbox (`mail_log`) in that transaction and sent after commit by the mail
//! worker ([`crate::mail`]): at-least-once, and no SMTP server is ever
//! waited on with the transaction open.

use domain::{
    mail_log,
    notifications::{self, kind},
    outbox::{Event, topic},
    types::{AgentId, SessionId},
    webhooks,
};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError, mail::Mailer};

/// A customer who has not written for this long is treated as offline.
pub const CUSTOMER_OFFLINE_AFTER_SECS: i64 = 120;

pub struct Notifications {
    /// Whether e-mail is on; the mail worker sends with its own mailer.
    mailer: Option<Mailer>,
}

impl Notifications {
    pub fn new(mailer: Option<Mailer>) -> Self {
        Self { mailer }
    }

    /// With e-mail when `SMTP_URL` is set.
    pub fn from_env() -> Self {
        Self::new(Mailer::from_env())
    }
}

/// An e-mail the handler decided to send.
struct Mail {
    to: String,
    subject: String,
    body: String,
}

impl Handler for Notifications {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn bindings(&self) -> &'static [&'static str] {
        // Webhooks may subscribe to any topic.
        &["#"]
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mail = match event.topic.as_str() {
                topic::SESSION_ASSIGNED => on_assigned(tx, event, self.mailer.is_some()).await?,
                topic::MESSAGE_CREATED if self.mailer.is_some() => on_reply(tx, event).await?,
                _ => None,
            };
            let queued = webhooks::enqueue_deliveries(tx, event).await?;
            if queued > 0 {
                tracing::debug!(event = %event.event_id, topic = %event.topic, queued, "webhook deliveries queued");
            }
            if let Some(mail) = mail.filter(|_| self.mailer.is_some()) {
                mail_log::enqueue(tx, event.event_id, &mail.to, &mail.subject, &mail.body).await?;
            }
            Ok(())
        })
    }
}

fn session_of(event: &Event) -> Result<SessionId, HandlerError> {
    event
        .session_id
        .ok_or_else(|| HandlerError::Permanent(format!("{} event without a session", event.topic)))
}

/// The alert, and the agent's e-mail if they want one.
async fn on_assigned(
    tx: &mut PgConnection,
    event: &Event,
    mail_on: bool,
) -> Result<Option<Mail>, HandlerError> {
    let session = session_of(event)?;
    let agent: AgentId = serde_json::from_value(event.payload["agent_id"].clone())
        .map_err(|e| HandlerError::Permanent(format!("session.assigned without an agent: {e}")))?;
    let row = sqlx::query_as::<_, (String, String, bool, Option<String>, String)>(
        "SELECT a.email::text, a.role, a.email_notifications, c.name, t.name
         FROM agents a, sessions s JOIN customers c ON c.id = s.customer_id
              JOIN support_types t ON t.id = s.support_type_id
         WHERE a.id = $1 AND s.id = $2",
    )
    .bind(agent)
    .bind(session)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, role, wants_mail, customer, support_type)) = row else {
        return Err(HandlerError::Permanent("the agent or the session no longer exists".into()));
    };
    if role == "bot" {
        return Ok(None);
    }
    let who = customer.filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "a customer".to_owned());
    let body = format!("New {support_type} session with {who} assigned to you.");
    notifications::alert(tx, agent, kind::SESSION_ASSIGNED, Some(session), &body).await?;
    Ok((mail_on && wants_mail).then(|| Mail {
        to: email,
        subject: format!("Session assigned: {support_type}"),
        body: format!("{body}\n\nSession: {session}\n"),
    }))
}

/// The customer's e-mail when an agent or bot replied while they are offline.
async fn on_reply(tx: &mut PgConnection, event: &Event) -> Result<Option<Mail>, HandlerError> {
    if !matches!(event.payload["sender_kind"].as_str(), Some("agent" | "bot")) {
        return Ok(None);
    }
    let session = session_of(event)?;
    let body = event.payload["body"]
        .as_str()
        .ok_or_else(|| HandlerError::Permanent("message.created without a body".into()))?;
    let sent_at = event.payload["created_at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or(event.created_at, |t| t.with_timezone(&chrono::Utc));
    let row = sqlx::query_as::<_, (Option<String>, Option<String>, String, bool)>(
        "SELECT c.email::text, c.name, acc.name,
                coalesce((SELECT max(m.created_at) FROM messages m
                          WHERE m.session_id = s.id AND m.sender_kind = 'customer')
                         < $2 - make_interval(secs => $3), true)
         FROM sessions s JOIN customers c ON c.id = s.customer_id JOIN accounts acc ON acc.id = s.account_id
         WHERE s.id = $1",
    )
    .bind(session)
    .bind(sent_at)
    .bind(CUSTOMER_OFFLINE_AFTER_SECS as f64)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(email), name, account, offline)) = row else { return Ok(None) };
    if !offline {
        return Ok(None);
    }
    let greeting =
        name.filter(|n| !n.trim().is_empty()).map_or("Hello,".to_owned(), |n| format!("Hello {n},"));
    Ok(Some(Mail {
        to: email,
        subject: format!("New reply from {account} support"),
        body: format!("{greeting}\n\nYou have a new reply in your support conversation:\n\n{body}\n"),
    }))
}
