//! **notifications**: tells people what happened.
//!
//! - `session.assigned` → an in-app alert for the assigned agent (not for
//!   bots), and an e-mail when the agent opted in (`agents.email_notifications`)
//!   and e-mail is configured (`SMTP_URL`);
//! - `session.handed_off` → an alert for the human who owns the session now,
//!   or else for every online human who serves its type;
//! - `message.created` by an agent or bot while the customer is **offline** →
//!   an e-mail to the customer (who has an address) with the reply.
//!   "Offline" is the domain's rule, `domain::notifications::customer_offline`:
//!   no live customer socket for the session, as the real-time hub records
//!   it; for customers who never had one, no message of theirs in the two
//!   minutes before the reply;
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
    types::{AgentId, Role},
    webhooks,
};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError, mail::Mailer};

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

    /// Its effects are quick database writes (alerts, webhook delivery rows and the e-mail outbox).
    fn shares_transactions(&self) -> bool {
        true
    }

    /// Its own topics (assignments, handoffs, and replies when it mails),
    /// and whatever a webhook of the event's account subscribes to.
    fn relevant<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a Event],
    ) -> BoxFuture<'a, Result<Vec<bool>, HandlerError>> {
        Box::pin(async move {
            let hooked = webhooks::subscribed(conn, events).await?;
            Ok(events
                .iter()
                .zip(hooked)
                .map(|(e, hooked)| {
                    hooked
                        || matches!(e.topic.as_str(), topic::SESSION_ASSIGNED | topic::SESSION_HANDED_OFF)
                        || (e.topic == topic::MESSAGE_CREATED && self.mailer.is_some())
                })
                .collect())
        })
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mail = match event.topic.as_str() {
                topic::SESSION_ASSIGNED => on_assigned(tx, event, self.mailer.is_some()).await?,
                topic::SESSION_HANDED_OFF => {
                    on_handed_off(tx, event).await?;
                    None
                }
                topic::MESSAGE_CREATED if self.mailer.is_some() => on_reply(tx, event).await?,
                _ => None,
            };
            let queued = webhooks::enqueue_deliveries(tx, event).await?;
            if queued > 0 {
                tracing::debug!(event = %event.event_id, topic = %event.topic, queued, "webhook deliveries queued");
            }
            if let Some(mail) = mail.filter(|_| self.mailer.is_some()) {
                mail_log::enqueue(tx, event.event_id, event.session_id, &mail.to, &mail.subject, &mail.body)
                    .await?;
            }
            Ok(())
        })
    }
}

use crate::handler::session_of;

/// The alert, and the agent's e-mail if they want one.
async fn on_assigned(
    tx: &mut PgConnection,
    event: &Event,
    mail_on: bool,
) -> Result<Option<Mail>, HandlerError> {
    let session = session_of(event)?;
    let agent: AgentId = serde_json::from_value(event.payload["agent_id"].clone())
        .map_err(|e| HandlerError::Permanent(format!("session.assigned without an agent: {e}")))?;
    let row = sqlx::query!(
        r#"SELECT a.email::text AS "email!", a.role AS "role: Role", a.email_notifications,
                  c.name AS customer, t.name AS support_type
           FROM agents a, sessions s JOIN customers c ON c.id = s.customer_id
                JOIN support_types t ON t.id = s.support_type_id
           WHERE a.id = $1 AND s.id = $2"#,
        agent.0,
        session.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(HandlerError::Permanent("the agent or the session no longer exists".into()));
    };
    let (email, role, wants_mail, customer, support_type) =
        (row.email, row.role, row.email_notifications, row.customer, row.support_type);
    if !domain::notifications::receives_alerts(role) {
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

/// Every handoff notifies someone: the human who owns the session now, or
/// else every online human who serves its type.
async fn on_handed_off(tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
    let session = session_of(event)?;
    // A person who took the session over is in it already.
    if event.payload["reason"].as_str() == Some(domain::types::HandoffReason::Takeover.as_str()) {
        return Ok(());
    }
    let ctx = domain::assist::handoff_context(tx, session).await?;
    let reason = event.payload["reason"].as_str().unwrap_or("handoff").replace('_', " ");
    let summary = event.payload["summary"].as_str().unwrap_or("").trim();
    let mut body = format!("A bot handed over a {} session ({reason}).", ctx.support_type);
    if !summary.is_empty() {
        body.push(' ');
        body.push_str(summary);
    }
    let to: Vec<AgentId> = match &ctx.owner {
        Some((owner, _)) => vec![*owner],
        None => ctx.online.clone(),
    };
    for agent in to {
        notifications::alert(tx, agent, kind::SESSION_HANDOFF, Some(session), &body).await?;
    }
    Ok(())
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
    let row = sqlx::query!(
        r#"SELECT c.email::text AS "email?", c.name, acc.name AS account
           FROM sessions s JOIN customers c ON c.id = s.customer_id JOIN accounts acc ON acc.id = s.account_id
           WHERE s.id = $1"#,
        session.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(email) = row.email else { return Ok(None) };
    let (name, account) = (row.name, row.account);
    if !domain::notifications::customer_offline(tx, session, sent_at).await? {
        return Ok(None);
    }
    let greeting =
        name.filter(|n| !n.trim().is_empty()).map_or("Hello,".to_owned(), |n| format!("Hello {n},"));
    // Files are named, never attached: they stay behind the conversation's access rules.
    let files: Vec<domain::attachments::Attachment> =
        serde_json::from_value(event.payload["attachments"].clone()).unwrap_or_default();
    let files = if files.is_empty() {
        String::new()
    } else {
        let names: Vec<String> =
            files.iter().map(|f| format!("- {} ({})", f.file_name, f.size_label())).collect();
        format!("\nWith {} file(s), to open in the conversation:\n{}\n", files.len(), names.join("\n"))
    };
    Ok(Some(Mail {
        to: email,
        subject: format!("New reply from {account} support"),
        body: format!("{greeting}\n\nYou have a new reply in your support conversation:\n\n{body}\n{files}"),
    }))
}
