//! The one mapping from failures to HTTP responses for the REST API. Every
//! error body has the same shape, `{"error": {"code", "message", "field"}}`,
//! whether it came from the domain, from a rejected request, or from
//! authentication.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] domain::Error),
    /// No bearer token, or one that is unknown, revoked or whose agent is
    /// deactivated. Deliberately says no more than that.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The request could not be read: malformed JSON, wrong content type, a
    /// path or query parameter of the wrong type.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed JSON of the wrong shape (missing field, wrong type).
    #[error("{0}")]
    Unprocessable(String),
    /// No such route under `/api/v1`.
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `not_found`, `forbidden`, `invalid`,
    /// `unauthenticated`, `bad_request`, `unavailable`, `internal`, or a
    /// conflict code such as `session_closed`.
    pub code: String,
    pub message: String,
    /// The offending input field, for `invalid`.
    pub field: Option<String>,
    /// For `internal`: the id under which the failure was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorDetail) {
        use domain::Error as E;
        let detail = |code: &str, message: String, field: Option<String>| ErrorDetail {
            code: code.to_owned(),
            message,
            field,
            reference: None,
        };
        match self {
            Self::Domain(err) => {
                let status =
                    StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let detail = match err {
                    E::Forbidden { message }
                    | E::Unauthenticated { message }
                    | E::Unavailable { message }
                    | E::TooLarge { message, .. }
                    | E::UnsupportedType { message, .. }
                    | E::Conflict { message, .. } => detail(err.code(), message.clone(), None),
                    E::Invalid { field, message } => detail(err.code(), message.clone(), Some(field.clone())),
                    E::NotFound { .. } | E::RateLimited { .. } => detail(err.code(), err.to_string(), None),
                    E::Internal { reference } => ErrorDetail {
                        code: err.code().to_owned(),
                        message: "internal error".to_owned(),
                        field: None,
                        reference: Some(reference.clone()),
                    },
                };
                (status, detail)
            }
            Self::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, detail("unauthenticated", self.to_string(), None))
            }
            Self::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, detail("bad_request", message.clone(), None))
            }
            Self::Unprocessable(message) => {
                (StatusCode::UNPROCESSABLE_ENTITY, detail("invalid", message.clone(), None))
            }
            Self::NoRoute => (StatusCode::NOT_FOUND, detail("not_found", self.to_string(), None)),
            Self::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, detail("method_not_allowed", self.to_string(), None))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::Domain(err) => err.retry_after_secs(),
            _ => None,
        };
        let (status, error) = self.parts();
        let mut response = (status, Json(ErrorBody { error })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::Unprocessable(e.body_text()),
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

pub async fn no_route() -> ApiError {
    ApiError::NoRoute
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
