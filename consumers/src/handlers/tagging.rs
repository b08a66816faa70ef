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

    /// Openings, and customers' messages (the rules read only theirs).
    fn relevant<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        events: &'a [&'a Event],
    ) -> BoxFuture<'a, Result<Vec<bool>, HandlerError>> {
        let keep = events.iter().map(|e| e.topic != "message.created" || e.from_customer()).collect();
        Box::pin(async move { Ok(keep) })
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
                "message.created" if event.from_customer() => {
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
