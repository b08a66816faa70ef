//! **tagging**: applies the account's tag rules (keyword, regex, project ref,
//! support type) when a session opens and on each customer message, and the
//! project tag from the session's project ref.

use domain::{config, outbox::Event};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct Tagging;

impl Handler for Tagging {
    fn name(&self) -> &'static str {
        "tagging"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &["session.opened", "message.created"]
    }

    /// Its effects are quick database writes (tag rows).
    fn shares_transactions(&self) -> bool {
        true
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let session = crate::handler::session_of(event)?;
            match event.topic.as_str() {
                "session.opened" => {
                    config::apply_tag_rules(tx, session, None).await?;
                }
                "message.created" if event.payload["sender_kind"] == "customer" => {
                    let body = event.payload["body"]
                        .as_str()
                        .ok_or_else(|| HandlerError::Permanent("message.created without a body".into()))?;
                    config::apply_tag_rules(tx, session, Some(body)).await?;
                }
                _ => {}
            }
            Ok(())
        })
    }
}
