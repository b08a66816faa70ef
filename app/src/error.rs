//! The error type of every server function: a domain error, or a failure of
//! the server-function transport itself. Both cross the wire as JSON.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error(transparent)]
    Domain(domain::Error),
    #[error("request failed: {0}")]
    Transport(String),
}

impl From<domain::Error> for AppError {
    fn from(err: domain::Error) -> Self {
        // A server function answering an error says so in its HTTP status
        // (401, 403, 404, 409, 422, 429, 503), not a blanket 500.
        #[cfg(feature = "ssr")]
        crate::ssr::set_error_status(&err);
        Self::Domain(err)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

impl AppError {
    /// A sentence a person can act on, for the error state of a page.
    pub fn user_message(&self) -> String {
        match self {
            Self::Domain(domain::Error::Unavailable { .. }) => {
                "The database is not reachable right now. Try again in a moment; if it persists, check that PostgreSQL is running.".to_owned()
            }
            Self::Domain(domain::Error::Internal { reference }) => {
                format!("Something went wrong on our side (reference {reference}). Try again, or report the reference.")
            }
            Self::Domain(domain::Error::Unauthenticated { message }) => {
                let mut chars = message.chars();
                let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
                format!("{first}{}.", chars.as_str())
            }
            Self::Domain(domain::Error::RateLimited { retry_after_secs }) => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            Self::Domain(err) => err.to_string(),
            Self::Transport(_) => {
                "The server could not be reached. Check your connection and try again.".to_owned()
            }
        }
    }
}
