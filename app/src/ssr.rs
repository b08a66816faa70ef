//! Server-only helpers for server functions: reading what the server provided
//! as context.

use crate::AppError;

/// The database pool the server provides to every render and server function.
pub fn pool() -> Result<sqlx::PgPool, AppError> {
    leptos::prelude::use_context::<sqlx::PgPool>()
        .ok_or_else(|| AppError::Domain(domain::Error::internal("context", "no PgPool in context")))
}
