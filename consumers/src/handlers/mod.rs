//! The consumers' handlers.

pub mod automated_chat;
pub mod blast;
pub mod notifications;
pub mod presence;
pub mod reports;
pub mod tagging;

use std::sync::Arc;

use crate::Handler;

/// Every consumer this build has, by name.
pub fn all() -> Vec<Arc<dyn Handler>> {
    vec![
        Arc::new(automated_chat::AutomatedChat),
        Arc::new(blast::Blast),
        Arc::new(notifications::Notifications::from_env()),
        Arc::new(presence::Presence),
        Arc::new(reports::Reports),
        Arc::new(tagging::Tagging),
    ]
}
