//! `/audit-log`: security-relevant actions, for admins.

use axum::{Json, extract::State};
use domain::{audit::AuditEntry, sessions::Page, types::AccountId};
use serde::Deserialize;
use sqlx::PgPool;

use super::{ApiActor, ApiError, ApiQuery, error::ErrorBody};

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub account_id: Option<AccountId>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The audit log, newest first: logins and failures, password changes, API
/// tokens, role changes, supervisor reassignments. Global admins see every
/// account (or one, with `account_id`); account admins their own.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "accounts",
    params(("account_id" = Option<Uuid>, Query), ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = domain::sessions::Page<domain::audit::AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let before = q
        .cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| domain::Error::invalid("cursor", "not a cursor returned by this API"))
        })
        .transpose()?;
    Ok(Json(domain::audit::list(&pool, &actor, q.account_id, before, q.limit).await?))
}
