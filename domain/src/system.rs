//! What the running system reports about itself: the server's clock and the
//! schema version, read from PostgreSQL.

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
    /// The PostgreSQL server version string.
    pub database_version: String,
}

#[cfg(feature = "server")]
pub async fn status(pool: &sqlx::PgPool) -> crate::Result<SystemStatus> {
    let row = sqlx::query!(
        r#"SELECT now() AS "database_time!",
                  current_setting('server_version') AS "database_version!",
                  (SELECT version FROM _sqlx_migrations WHERE success ORDER BY version DESC LIMIT 1) AS schema_version,
                  (SELECT description FROM _sqlx_migrations WHERE success ORDER BY version DESC LIMIT 1) AS schema_description"#
    )
    .fetch_one(pool)
    .await?;
    Ok(SystemStatus {
        database_time: row.database_time,
        schema_version: row.schema_version,
        schema_description: row.schema_description,
        database_version: row.database_version,
    })
}
