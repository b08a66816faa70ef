//! `/audit-log`: security-relevant actions, for admins.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use domain::{
    audit::{AuditEntry, AuditFilter},
    sessions::Page,
    types::{AccountId, AgentId},
};
use serde::Deserialize;
use sqlx::PgPool;

use super::{ApiActor, ApiError, ApiQuery, error::ErrorBody};

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub account_id: Option<AccountId>,
    pub actor_id: Option<AgentId>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The audit log, newest first: logins and failures, password changes, API
/// tokens, role changes, supervisor reassignments. Global admins see every
/// account (or one, with `account_id`); account admins their own. Narrowed
/// by who acted (`actor_id`), the action or its start (`action=login.`), and
/// a time range (`since` inclusive, `until` exclusive, RFC 3339).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "accounts",
    params(("account_id" = Option<Uuid>, Query), ("actor_id" = Option<Uuid>, Query), ("action" = Option<String>, Query),
        ("since" = Option<String>, Query, format = DateTime), ("until" = Option<String>, Query, format = DateTime),
        ("cursor" = Option<String>, Query), ("limit" = Option<i64>, Query)),
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
    let filter = AuditFilter {
        account: q.account_id,
        actor: q.actor_id,
        action: q.action,
        since: q.since,
        until: q.until,
    };
    Ok(Json(domain::audit::list(&pool, &actor, &filter, before, q.limit).await?))
}
