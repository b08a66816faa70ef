//! The consumers' handlers.

pub mod automated_chat;
pub mod blast;
pub mod bot;
pub mod notifications;
pub mod presence;
pub mod reports;
pub mod tagging;

use std::sync::Arc;

use crate::Handler;

/// Every consumer this build has, by name. Fails, naming the variable, when
/// the environment configures one of them wrongly (`LLM_*`).
pub fn all() -> Result<Vec<Arc<dyn Handler>>, String> {
    Ok(vec![
        Arc::new(automated_chat::AutomatedChat),
        Arc::new(blast::Blast),
        Arc::new(bot::Bot::from_env()?),
        Arc::new(notifications::Notifications::from_env()),
        Arc::new(presence::Presence),
        Arc::new(reports::Reports),
        Arc::new(tagging::Tagging),
    ])
}
