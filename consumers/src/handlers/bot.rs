//! **bot**: the built-in bot speaks for the bots of `auto` types
//! ([`domain::bot`]): it greets on a bot's assignment and answers, asks or
//! hands off on each customer message. A consumer of its own, so that a slow
//! model delays only bots' replies, never the automated chat's notices or the
//! other consumers.

use std::sync::Arc;

use domain::{
    assist::TextProvider,
    bot,
    outbox::{Event, topic},
};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct Bot {
    provider: Arc<dyn TextProvider>,
}

impl Bot {
    pub fn new(provider: Arc<dyn TextProvider>) -> Self {
        Self { provider }
    }

    /// The OpenAI-compatible provider when `LLM_BASE_URL` and `LLM_MODEL`
    /// are set, else the built-in retrieval. A configuration error stops the
    /// process at start, naming the variable.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self::new(domain::llm::provider_from_env().map_err(|e| e.to_string())?))
    }
}

impl Handler for Bot {
    fn name(&self) -> &'static str {
        "bot"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &[topic::SESSION_ASSIGNED, topic::MESSAGE_CREATED]
    }

    /// Assignments to a bot, and customers' messages in bots' sessions.
    fn relevant<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a Event],
    ) -> BoxFuture<'a, Result<Vec<bool>, HandlerError>> {
        Box::pin(async move { Ok(bot::may_act(conn, events).await?) })
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            bot::on_event(tx, self.provider.as_ref(), event).await?;
            Ok(())
        })
    }
}
