//! The one error type of the domain layer. Each variant names what went wrong
//! in domain terms; the HTTP layer and the server-function layer each map it once.

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Error {
    /// The thing asked for does not exist, or the caller may not know it exists.
    #[error("{entity} not found")]
    NotFound { entity: String },
    /// The caller is known but may not do this.
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// The request is well formed but conflicts with the current state.
    #[error("{message}")]
    Conflict { code: String, message: String },
    /// A field of the input is invalid.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The caller could not be identified: wrong credentials, an expired or
    /// unknown session. The message never says which part was wrong.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// The input is larger than the limit (an upload over the account's
    /// attachment size, say). The message names the limit.
    #[error("{message}")]
    TooLarge { limit_bytes: u64, message: String },
    /// The input's type is not accepted (a file type the account does not
    /// allow, or bytes that do not match the file's name). The message names the type.
    #[error("{message}")]
    UnsupportedType { content_type: String, message: String },
    /// Too many attempts in the current window; retry after this many seconds.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency (the database, the broker) is not reachable right now.
    #[error("service unavailable: {message}")]
    Unavailable { message: String },
    /// Something failed that the caller cannot fix. The details are logged
    /// server-side under `reference`; only the reference goes to the client.
    #[error("internal error (reference {reference})")]
    Internal { reference: String },
}

impl Error {
    pub fn not_found(entity: impl Into<String>) -> Self {
        Self::NotFound { entity: entity.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { message: message.into() }
    }

    pub fn conflict(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { code: code.into(), message: message.into() }
    }

    pub fn too_large(limit_bytes: u64, message: impl Into<String>) -> Self {
        Self::TooLarge { limit_bytes, message: message.into() }
    }

    pub fn unsupported_type(content_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self::UnsupportedType { content_type: content_type.into(), message: message.into() }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated { message: message.into() }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// A stable, machine-readable code for API clients.
    pub fn code(&self) -> &str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Forbidden { .. } => "forbidden",
            Self::Conflict { code, .. } => code,
            Self::Invalid { .. } => "invalid",
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedType { .. } => "unsupported_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal { .. } => "internal",
        }
    }

    /// The HTTP status for this error: the one mapping, used by the REST
    /// API and by server functions alike.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::Forbidden { .. } => 403,
            Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::Unauthenticated { .. } => 401,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedType { .. } => 415,
            Self::RateLimited { .. } => 429,
            Self::Unavailable { .. } => 503,
            Self::Internal { .. } => 500,
        }
    }

    /// Seconds for a `Retry-After` header, where the error has one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Logs an unexpected failure with its context and returns the opaque
    /// error that is safe to show a client.
    #[cfg(feature = "server")]
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        tracing::error!(%reference, context, error = %err, "internal error");
        Self::Internal { reference }
    }
}

#[cfg(feature = "server")]
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable { message: "the database is not reachable".into() }
            }
            sqlx::Error::RowNotFound => Self::not_found("record"),
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().unwrap_or_default().to_owned();
                match db.code().as_deref() {
                    // unique_violation
                    Some("23505") => {
                        Self::conflict("already_exists", format!("that already exists ({constraint})"))
                    }
                    // check_violation, not_null_violation
                    Some("23514") | Some("23502") => {
                        Self::invalid(constraint, "the value breaks a rule of the data model")
                    }
                    // foreign_key_violation
                    Some("23503") => Self::invalid(
                        constraint,
                        "refers to something that does not exist or is still in use",
                    ),
                    // serialization_failure, deadlock_detected
                    Some("40001") | Some("40P01") => {
                        Self::conflict("retry", "the request collided with a concurrent change; try again")
                    }
                    _ => Self::internal("database", err),
                }
            }
            _ => Self::internal("database", err),
        }
    }
}
