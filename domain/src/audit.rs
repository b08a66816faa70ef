//! Reading the audit log: security-relevant actions (logins and their
//! failures, password changes, tokens, role changes, configuration) written by
//! the operations themselves in their own transactions. Admins read it: a
//! global admin all of it, an account admin their account's part.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// `None` for actions outside any account (a global admin's login, a
    /// failed login for an unknown address).
    pub account_id: Option<AccountId>,
    /// The agent who acted; `None` for the system and anonymous attempts.
    pub actor_id: Option<AgentId>,
    /// Such as `login.failed`, `password.changed`, `token.created`.
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Which entries to list: all of them by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    /// One account's entries (global admins; an account admin may name only
    /// their own).
    pub account: Option<AccountId>,
    /// What one agent did.
    pub actor: Option<AgentId>,
    /// Actions starting with this (`login.` for every sign-in entry, or a
    /// whole action such as `customer.erased`).
    pub action: Option<String>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub until: Option<DateTime<Utc>>,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        sessions::{Page, page_limit},
    };
    use sqlx::PgPool;

    /// The audit log, newest first, one page of `limit` entries older than
    /// the entry id `before` (the previous page's `next_cursor`), narrowed
    /// by `filter`.
    ///
    /// A global admin (or the system) reads every entry, or one account's
    /// with `filter.account`; an account admin reads their own account's
    /// only (another account is "not found"). Everyone else is refused.
    pub async fn list(
        pool: &PgPool,
        actor: &Actor,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Page<AuditEntry>> {
        let limit = page_limit(limit)?;
        let account = filter.account;
        let action = match filter.action.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) if a.len() <= 60 && a.chars().all(|c| c.is_ascii_lowercase() || "._".contains(c)) => {
                Some(a)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "action",
                    "an action is lowercase letters, dots and underscores, such as login.failed",
                ));
            }
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until <= since
        {
            return Err(Error::invalid("until", "must be after since"));
        }
        let scope = match actor {
            _ if actor.is_global() => account,
            Actor::Agent(a) => {
                let Some(own) = a.account_id else {
                    return Err(Error::forbidden("only admins may read the audit log"));
                };
                if account.is_some_and(|acc| acc != own) {
                    return Err(Error::not_found("account"));
                }
                if !actor.is_admin_of(own) {
                    return Err(Error::forbidden("only admins may read the audit log"));
                }
                Some(own)
            }
            _ => return Err(Error::forbidden("only admins may read the audit log")),
        };
        // Runtime-built: QueryBuilder adds only the filters present.
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT id, account_id, actor_id, action, target, details, created_at FROM audit_log WHERE true",
        );
        if let Some(acc) = scope {
            q.push(" AND account_id = ").push_bind(acc);
        }
        if let Some(agent) = filter.actor {
            q.push(" AND actor_id = ").push_bind(agent);
        }
        if let Some(action) = action {
            q.push(" AND starts_with(action, ").push_bind(action.to_owned()).push(")");
        }
        if let Some(since) = filter.since {
            q.push(" AND created_at >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            q.push(" AND created_at < ").push_bind(until);
        }
        if let Some(before) = before {
            q.push(" AND id < ").push_bind(before);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
        let rows = q.build_query_as::<AuditEntry>().fetch_all(pool).await?;
        Ok(crate::sessions::paginate(rows, limit, |e| e.id.to_string()))
    }
}
