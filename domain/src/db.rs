//! Connecting to PostgreSQL and applying the migrations in `migrations/`.

use std::time::Duration;

use std::str::FromStr;

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// The migrations, embedded at compile time. Forward-only; never edit one
/// after it has landed.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Builds the pool without connecting, so that the process can start (and
/// report not-ready) while the database is down.
pub fn pool(database_url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy_with(connect_options(database_url)?))
}

/// The connection settings of every pool the application opens: the URL's,
/// with PostgreSQL's JIT compilation off. The queries here are short and
/// read by index, but the planner's cost estimate (which decides JIT) runs
/// high whenever a search word or a filter has no statistics, and compiling
/// then cost 30-40 ms on a query that runs in 5 (measured on the search over
/// 10M messages, `BENCH_ONLY=search`).
pub fn connect_options(database_url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(database_url)?.options([("jit", "off")]))
}

/// Whether the database answers a trivial query right now.
pub async fn ping(pool: &PgPool) -> crate::Result<()> {
    sqlx::query_scalar!("SELECT 1 AS \"one!\"").fetch_one(pool).await?;
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
