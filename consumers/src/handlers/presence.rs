//! **presence**: when an agent goes away or offline (by their own toggle, a
//! supervisor, or heartbeat loss detected by the sweep), their sessions
//! without a reply from them yet go back to the queue with reason `away`, so
//! no customer waits on someone who is not there.

use domain::{outbox::Event, sessions, types::AgentId};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct Presence;

impl Handler for Presence {
    fn name(&self) -> &'static str {
        "presence"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &["agent.presence_changed"]
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let gone = matches!(event.payload["new"].as_str(), Some("away" | "offline"));
            if !gone {
                return Ok(());
            }
            let agent: AgentId = serde_json::from_value(event.payload["agent_id"].clone()).map_err(|e| {
                HandlerError::Permanent(format!("agent.presence_changed without an agent: {e}"))
            })?;
            // The agent may be back by now: only act if they are still gone.
            let still_gone = sqlx::query_scalar!(
                r#"SELECT presence <> 'online' AS "gone!" FROM agents WHERE id = $1"#,
                agent.0
            )
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(false);
            if still_gone {
                let moved = sessions::requeue_unanswered(tx, agent).await?;
                if !moved.is_empty() {
                    tracing::info!(agent = %agent, sessions = moved.len(), "requeued an absent agent's unanswered sessions");
                }
            }
            Ok(())
        })
    }
}
