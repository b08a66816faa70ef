//! Connecting to PostgreSQL and applying the migrations in `migrations/`.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgPoolOptions};

/// The migrations, embedded at compile time. Forward-only; never edit one
/// after it has landed.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Builds the pool without connecting, so that the process can start (and
/// report not-ready) while the database is down.
pub fn pool(database_url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(database_url)
}

/// Whether the database answers a trivial query right now.
pub async fn ping(pool: &PgPool) -> crate::Result<()> {
    sqlx::query_scalar!("SELECT 1 AS \"one!\"").fetch_one(pool).await?;
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
