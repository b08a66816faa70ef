//! **automated chat**: what the system itself says in a chat.
//! - `session.opened` → the support type's greeting, and the after-hours
//!   message when the type has business hours and is closed;
//! - `session.handed_off` → tells the customer what happens next: who joined,
//!   or their place in line, or, when nobody who serves the type is online,
//!   that they may leave an e-mail address for a reply;
//! - `session.resolved` → takes the session's question and answer pairs into
//!   the type's past answers, for retrieval ([`domain::assist::harvest`]).

use domain::{
    assist,
    business_hours::BusinessHours,
    conversation,
    outbox::{Event, topic},
    types::SessionId,
};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct AutomatedChat;

impl Handler for AutomatedChat {
    fn name(&self) -> &'static str {
        "automated_chat"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &[topic::SESSION_OPENED, topic::SESSION_HANDED_OFF, topic::SESSION_RESOLVED]
    }

    /// Handoffs and resolutions, and openings in a type with a greeting
    /// or business hours (which may post the after-hours notice).
    fn relevant<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a Event],
    ) -> BoxFuture<'a, Result<Vec<bool>, HandlerError>> {
        Box::pin(async move {
            let opened: Vec<uuid::Uuid> = events
                .iter()
                .filter(|e| e.topic == topic::SESSION_OPENED)
                .filter_map(|e| e.session_id.map(|s| s.0))
                .collect();
            let speaks = if opened.is_empty() {
                Vec::new()
            } else {
                sqlx::query_scalar!(
                    "SELECT s.id FROM sessions s JOIN support_types t ON t.id = s.support_type_id
                      WHERE s.id = ANY($1) AND (btrim(t.greeting) <> '' OR t.business_hours IS NOT NULL)",
                    &opened
                )
                .fetch_all(&mut *conn)
                .await?
            };
            Ok(events
                .iter()
                .map(|e| {
                    e.topic != topic::SESSION_OPENED || e.session_id.is_some_and(|s| speaks.contains(&s.0))
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
            let session = crate::handler::session_of(event)?;
            match event.topic.as_str() {
                topic::SESSION_HANDED_OFF => return handed_off(tx, event, session).await,
                topic::SESSION_RESOLVED => {
                    assist::harvest(tx, &[session]).await?;
                    return Ok(());
                }
                _ => {}
            }
            let ty = sqlx::query!(
                "SELECT t.greeting, t.business_hours FROM sessions s JOIN support_types t ON t.id = s.support_type_id
                 WHERE s.id = $1",
                session.0
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| HandlerError::Permanent("the session no longer exists".into()))?;
            let (greeting, hours) = (ty.greeting, ty.business_hours);
            if let Some(text) = greeting.filter(|g| !g.trim().is_empty()) {
                conversation::post_system_message(tx, session, &text, &format!("greeting:{session}")).await?;
            }
            let closed_notice = hours
                .as_ref()
                .and_then(|h| BusinessHours::parse(h).ok())
                .filter(|h| !h.is_open(event.created_at))
                .and_then(|h| h.after_hours_message);
            if let Some(text) = closed_notice.filter(|t| !t.trim().is_empty()) {
                conversation::post_system_message(tx, session, &text, &format!("after-hours:{session}"))
                    .await?;
            }
            Ok(())
        })
    }
}

/// The customer's system message after a handoff.
async fn handed_off(tx: &mut PgConnection, event: &Event, session: SessionId) -> Result<(), HandlerError> {
    let ctx = assist::handoff_context(tx, session).await?;
    let text = handoff_message(&ctx);
    conversation::post_system_message(tx, session, &text, &format!("handoff:{}", event.event_id)).await?;
    Ok(())
}

/// What the customer reads after a handoff.
pub fn handoff_message(ctx: &assist::HandoffContext) -> String {
    match (&ctx.owner, ctx.position) {
        (Some((_, name)), _) => format!("{name} has joined the chat and will take it from here."),
        (None, _) if ctx.online.is_empty() => {
            "You asked for a person, and nobody from our team is online right \
             now. Leave your e-mail address here and we will answer you by e-mail; your conversation stays \
             in line for the next person who comes online."
                .to_owned()
        }
        (None, Some(1)) => "A person will take over this chat. You are next in line.".to_owned(),
        (None, Some(n)) => format!("A person will take over this chat. You are number {n} in line."),
        (None, None) => "A person will take over this chat shortly.".to_owned(),
    }
}
