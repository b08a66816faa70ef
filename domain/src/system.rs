//! What the running system reports about itself: the server's clock and the
//! schema version, read from PostgreSQL. Anyone may read it (the home page
//! shows it), so it names no software or version of the server's (no
//! PostgreSQL version: that only helps an attacker pick an exploit).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// The database server's clock (`now()`), so the value proves a round trip.
    pub database_time: DateTime<Utc>,
    /// The newest applied migration, or `None` before the first one.
    pub schema_version: Option<i64>,
    /// The description of that migration.
    pub schema_description: Option<String>,
}

#[cfg(feature = "server")]
pub async fn status(pool: &sqlx::PgPool) -> crate::Result<SystemStatus> {
    let row = sqlx::query!(
        r#"SELECT now() AS "database_time!",
                  (SELECT version FROM _sqlx_migrations WHERE success ORDER BY version DESC LIMIT 1) AS schema_version,
                  (SELECT description FROM _sqlx_migrations WHERE success ORDER BY version DESC LIMIT 1) AS schema_description"#
    )
    .fetch_one(pool)
    .await?;
    Ok(SystemStatus {
        database_time: row.database_time,
        schema_version: row.schema_version,
        schema_description: row.schema_description,
    })
}

/// The work waiting, for the operators' metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Sessions waiting for an agent (the assignment engine's queue depth).
    pub queued_sessions: i64,
    /// Committed events the outbox relay has not handed on yet.
    pub unpublished_events: i64,
    /// How long the oldest of those has waited (the relay's lag), in
    /// seconds; 0 when none waits.
    pub relay_lag_secs: f64,
}

#[cfg(feature = "server")]
pub async fn backlog(pool: &sqlx::PgPool) -> crate::Result<Backlog> {
    let row = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM sessions WHERE status = 'queued') AS "queued!",
                  (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS "unpublished!",
                  coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox
                            WHERE published_at IS NULL ORDER BY id LIMIT 1), 0) AS "lag!""#
    )
    .fetch_one(pool)
    .await?;
    Ok(Backlog { queued_sessions: row.queued, unpublished_events: row.unpublished, relay_lag_secs: row.lag })
}
