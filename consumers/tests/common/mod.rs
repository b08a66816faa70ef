//! Helpers shared by the consumers' test crates.

pub mod bots;
pub mod smtp;

use domain::{engine, sessions::Session, types::AgentId};
use sqlx::PgPool;

/// Who took a just-opened session: the open itself when somebody was free
/// (`engine::assign_at_open`), else the engine now.
#[allow(dead_code)]
pub async fn owner_now(pool: &PgPool, s: &Session) -> Option<AgentId> {
    match s.owner_id {
        Some(owner) => Some(owner),
        None => engine::assign_one(pool, s.id).await.expect("engine"),
    }
}
