//! **automated chat**: when a session opens, posts its support type's
//! greeting, and the after-hours message when the type has business hours
//! and is closed. (Bot replies through the AI provider arrive with the bots
//! issue; bots already reply through the session API.)

use domain::{business_hours::BusinessHours, conversation, outbox::Event, types::SessionId};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct AutomatedChat;

impl Handler for AutomatedChat {
    fn name(&self) -> &'static str {
        "automated_chat"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &["session.opened"]
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let session: SessionId = event
                .session_id
                .ok_or_else(|| HandlerError::Permanent("session.opened without a session".into()))?;
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
